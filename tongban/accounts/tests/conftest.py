import datetime as dt

import pytest
from django.utils import timezone

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


class Clock:
    def __init__(self, at: dt.datetime):
        self.at = at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    """Holds django.utils.timezone.now at one instant, moved only by advance(), so the
    throttle's waits seen through pages and API are exact. Rows stamped on save read the same
    clock. Starts at the real time so TOTP codes from pyotp still match."""
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: frozen.at)
    return frozen
