"""Helpdesk fixtures: the test catalog, a resident, helpdesk staff in a 政务服务中心, staff of
another post, and a clock fixed inside or outside service hours."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.cases.tests.conftest import catalog  # noqa: F401 — fixture
from tongban.common.calendar import LOCAL_TZ
from tongban.helpdesk import services

# Wednesday 2 December 2026, a working day; Saturday 5 December; 国庆节 1 October.
WORKDAY_10 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)
WORKDAY_18 = dt.datetime(2026, 12, 2, 18, 0, tzinfo=LOCAL_TZ)
SATURDAY_10 = dt.datetime(2026, 12, 5, 10, 0, tzinfo=LOCAL_TZ)
SATURDAY_14 = dt.datetime(2026, 12, 5, 14, 0, tzinfo=LOCAL_TZ)
NATIONAL_DAY_10 = dt.datetime(2026, 10, 1, 10, 0, tzinfo=LOCAL_TZ)


class Clock:
    def __init__(self, monkeypatch):
        self.now = WORKDAY_10
        monkeypatch.setattr(services, "_now", lambda: self.now)

    def set(self, value: dt.datetime) -> None:
        self.now = value


@pytest.fixture
def clock(monkeypatch, settings):
    settings.TONGBAN_HELPDESK_HOURS = "workday=09:00-17:00;weekend=09:00-12:00"
    return Clock(monkeypatch)


@pytest.fixture
def resident(catalog):  # noqa: F811
    return ResidentProfileFactory()


@pytest.fixture
def other_resident(catalog):  # noqa: F811
    return ResidentProfileFactory()


@pytest.fixture
def centre(catalog):  # noqa: F811
    return DepartmentFactory(code="test-zwfw", name="示例市政务服务中心", short_name="政务服务中心")


@pytest.fixture
def agent(centre):
    return StaffFactory(department=centre, role=StaffRole.HELPDESK)


@pytest.fixture
def other_agent(centre):
    return StaffFactory(department=centre, role=StaffRole.HELPDESK)


@pytest.fixture
def reviewer(centre):
    return StaffFactory(department=centre, role=StaffRole.REVIEWER)


HISTORY = [
    {"role": "resident", "text": "新生儿落户要带什么？", "at": "2026-12-02T09:58:00+08:00"},
    {"role": "assistant", "text": "请参阅出生一件事办事指南。", "at": "2026-12-02T09:58:05+08:00"},
    {"role": "resident", "text": "我想问问人工", "at": "2026-12-02T09:59:00+08:00"},
]


def hand_over(user, *, session_key="", assistant_id=None, item_code="birth_registration"):
    return services.conversation_hand_over(
        user=user,
        session_key=session_key,
        transcript=HISTORY,
        item_code=item_code,
        assistant_conversation_id=assistant_id,
    )
