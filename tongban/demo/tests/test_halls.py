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
    # A second run writes nothing; the city's halls of three levels, the first three kept.
    assert AuditEvent.objects.count() == audits
    assert {CITY_CENTRE, PUDONG, XUHUI} <= set(first)
    assert {h.code: (h.district, h.level) for h in Hall.objects.filter(code__in=first)} == {
        CITY_CENTRE: ("310101", "city"),
        PUDONG: ("310115", "district"),
        XUHUI: ("310104", "district"),
        "SH-PD-LJZ": ("310115", "street"),
        "SH-XH-TLQ": ("310104", "street"),
        "SH-HP-WT": ("310101", "street"),
    }
    assert all("示例" in h.name and "示例" in h.address for h in Hall.objects.all())
    assert list(
        Window.objects.filter(hall__code=PUDONG).values_list("number", "kind").order_by("number")
    ) == [("A01", "comprehensive"), ("A02", "comprehensive"), ("A03", "comprehensive"),
          ("C01", "handout")]  # fmt: skip
    assert (
        AuditEvent.objects.filter(action="hall.create", actor_label="system:demo_halls").count()
        == 6
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
