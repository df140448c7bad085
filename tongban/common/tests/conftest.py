"""The case fixtures (catalog, residents, staff, media) for the effects and files tests."""

from tongban.cases.tests.conftest import catalog, media, resident, staff  # noqa: F401
