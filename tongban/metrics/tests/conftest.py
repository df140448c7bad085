"""The case fixtures (catalog test fixture, residents, staff of every department, halls)."""

from tongban.cases.tests.conftest import catalog, media, other_resident, resident, staff  # noqa: F401
