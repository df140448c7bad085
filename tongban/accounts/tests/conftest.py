import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    ResidentProfileFactory,
    StaffFactory,
)


@pytest.fixture
def resident(db):
    """A resident with a login and a known identity (31010419900307123X, 13812345678)."""
    return ResidentProfileFactory(
        name="王小明",
        id_number="31010419900307123X",
        phone="13812345678",
        residence_address="上海市徐汇区示例路100弄1号101室",
        is_low_income=True,
    )


@pytest.fixture
def other_resident(db):
    return ResidentProfileFactory(name="赵六")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="civil-affairs", name="民政局")


@pytest.fixture
def reviewer(department):
    return StaffFactory(username="reviewer1", department=department, role=StaffRole.REVIEWER)


@pytest.fixture
def operator(department):
    return StaffFactory(username="operator1", department=department, role=StaffRole.CITY_OPERATOR)
