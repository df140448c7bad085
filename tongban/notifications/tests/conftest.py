# The account fixtures (resident, other_resident, department, reviewer, operator) are shared.
from tongban.accounts.tests.conftest import (  # noqa: F401
    department,
    operator,
    other_resident,
    resident,
    reviewer,
)
