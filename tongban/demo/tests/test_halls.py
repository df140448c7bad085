"""Demo halls and the staff who sit in them."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffAssignment, StaffRole
from tongban.appointments.models import Hall, Window
from tongban.catalog.models import Department
from tongban.common.models import AuditEvent
from tongban.demo.accounts import ensure_demo_accounts
from tongban.demo.halls import CITY_CENTRE, PUDONG, XUHUI, ensure_demo_halls


@pytest.fixture
def departments(db):
    return [
        Department.objects.create(code="SH-ZWFW", name="示例市政务服务中心", region_code="310000"),
        Department.objects.create(
            code="SH-PD-ZWFW", name="示例市浦东新区政务服务中心", region_code="310115"
        ),
    ]


def test_ensure_demo_halls_is_idempotent_and_labelled(db):
    first = ensure_demo_halls()
    audits = AuditEvent.objects.count()
    second = ensure_demo_halls()
    assert first == second
    assert AuditEvent.objects.count() == audits == 3 + 10  # 3 halls, 10 windows
    assert sorted(first) == sorted([CITY_CENTRE, PUDONG, XUHUI])
    assert {h.code: (h.district, h.is_active) for h in Hall.objects.all()} == {
        CITY_CENTRE: ("310101", True),
        PUDONG: ("310115", True),
        XUHUI: ("310104", True),
    }
    assert all("示例" in h.name and "示例" in h.address for h in Hall.objects.all())
    assert list(
        Window.objects.filter(hall__code=PUDONG).values_list("number", "name").order_by("number")
    ) == [("A01", "综合受理"), ("A02", "综合受理"), ("C01", "统一出件")]
    assert (
        AuditEvent.objects.filter(action="hall.create", actor_label="system:demo_halls").count()
        == 3
    )


def test_demo_counter_staff_and_issuers_sit_in_their_halls(departments):
    ensure_demo_accounts()
    posts = {
        a.user.username: (a.role, a.department.code, a.hall.code)
        for a in StaffAssignment.objects.filter(hall__isnull=False).select_related(
            "user", "department", "hall"
        )
    }
    assert posts == {
        "counter": (StaffRole.COUNTER_CLERK, "SH-ZWFW", CITY_CENTRE),
        "counter_pd": (StaffRole.COUNTER_CLERK, "SH-PD-ZWFW", PUDONG),
        "issuer": (StaffRole.ISSUER, "SH-ZWFW", CITY_CENTRE),
        "issuer_pd": (StaffRole.ISSUER, "SH-PD-ZWFW", PUDONG),
        "issuer_xh": (StaffRole.ISSUER, "SH-ZWFW", XUHUI),
    }


def test_a_counter_post_made_before_halls_is_given_its_hall(departments):
    ensure_demo_accounts()
    StaffAssignment.objects.filter(user__username="counter").update(hall=None)
    ensure_demo_accounts()
    post = StaffAssignment.objects.get(user__username="counter")
    assert post.hall.code == CITY_CENTRE
    changed = AuditEvent.objects.get(action="staff.hall_set")
    assert (changed.actor_label, changed.data["previous_hall_id"]) == (
        "system:demo_accounts",
        None,
    )
