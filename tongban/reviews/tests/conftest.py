"""Review fixtures: the case fixtures (catalog, staff, halls, resident) plus department
leads, a city operator, and concluded cases made directly as rows (fast; the case engine's
own flow is exercised in test_services_loop's invitation test)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases.models import Application, Task, TaskStatus
from tongban.cases.receipt import receipt_new
from tongban.cases.tests.conftest import (  # noqa: F401 — fixtures
    catalog,
    media,
    other_resident,
    resident,
    staff,
)
from tongban.catalog.models import Department

_keys = itertools.count(1)


@pytest.fixture
def people(staff):  # noqa: F811 — the imported fixture
    """Leads of police and health, and a city operator."""
    police = Department.objects.get(code="police")
    health = Department.objects.get(code="health")
    staff.lead = StaffFactory(department=police, role=StaffRole.DEPARTMENT_LEAD)
    staff.other_lead = StaffFactory(department=health, role=StaffRole.DEPARTMENT_LEAD)
    staff.operator = StaffFactory(department=police, role=StaffRole.CITY_OPERATOR)
    return staff


def make_case(
    resident,  # noqa: F811
    *,
    channel="online",
    lead="police",
    tasks=(("item_a", "事项甲", "police"),),
    concluded_at=None,
    filed_by=None,
    hall=None,
    handed_out_by=None,
):
    """A concluded case as rows: status archived, every task approved."""
    now = timezone.now()
    concluded_at = concluded_at or now
    case = Application.objects.create(
        receipt_no=receipt_new(on=timezone.localdate()),
        kind="item",
        code=tasks[0][0],
        version=1,
        name="示例办件",
        applicant=resident.user,
        applicant_profile=resident,
        channel=channel,
        filed_by=filed_by,
        hall=hall,
        lead_department=Department.objects.get(code=lead),
        status="archived",
        outcome="approved",
        idempotency_key=f"rv-{next(_keys)}",
        request_fingerprint="x",
        submitted_at=concluded_at - dt.timedelta(days=3),
        concluded_at=concluded_at,
        handed_out_at=concluded_at if handed_out_by else None,
        handed_out_by=handed_out_by,
    )
    for code, name, dept in tasks:
        Task.objects.create(
            case=case,
            item_code=code,
            item_version=1,
            item_name=name,
            department=Department.objects.get(code=dept),
            status=TaskStatus.APPROVED,
        )
    return case
