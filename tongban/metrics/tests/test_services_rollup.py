"""The roll-up, over cases that went through the real case engine."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases import services as case_services
from tongban.cases.models import Application
from tongban.cases.tests.conftest import birth_case
from tongban.cases.tests.test_halls_handout import conclude
from tongban.catalog.models import Department
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.metrics import selectors, services
from tongban.metrics.models import (
    ActiveDay,
    ActiveUsers,
    DailyCaseFact,
    MonthlyCaseFact,
    RolledUpDay,
)

pytestmark = pytest.mark.django_db


def _accepted_and_concluded(resident, staff, key="birth"):
    case = birth_case(resident, key=key)  # accepted by the machine checks
    return conclude(case, staff)


def test_a_concluded_case_is_counted_once_filed_and_once_concluded(resident, staff):
    case = _accepted_and_concluded(resident, staff)
    today = timezone.localdate()
    assert case.status == "archived"  # concluded, delivered online

    result = services.rollup_day(day=today)

    row = DailyCaseFact.objects.get(day=today)
    assert (row.service_kind, row.service_code, row.channel) == ("bundle", "birth", "online")
    assert row.department_id == case.lead_department_id
    assert (row.submitted, row.concluded, row.approved) == (1, 1, 1)
    assert (row.concluded_same_day, row.concluded_on_time, row.concluded_late) == (1, 1, 0)
    assert row.full_online == 1
    assert row.working_days_total == 0
    assert row.working_days_histogram == {"0": 1}
    # Two materials uploaded (出生医学证明, the child's photo); the rest of the plan spared.
    assert row.materials_uploaded == 2
    required = [m for m in case.plan["materials"] if m["required"]]
    assert row.materials_required == len(required)
    assert row.materials_single_path == sum(len(m["items"]) for m in required)
    assert row.visits == 0
    assert row.steps_single_path > row.steps
    assert result.cases == 1 and result.case_rows == 1
    month = MonthlyCaseFact.objects.get(month=today.replace(day=1))
    assert (month.submitted, month.concluded, month.materials_uploaded) == (1, 1, 2)
    assert RolledUpDay.objects.get(day=today).cases == 1
    assert (
        AuditEvent.objects.filter(action="metrics.rollup_day", object_id=today.isoformat()).count()
        == 1
    )


def test_computing_a_day_again_gives_the_same_rows_not_twice_the_counts(resident, staff):
    _accepted_and_concluded(resident, staff)
    today = timezone.localdate()
    services.rollup_day(day=today)
    services.rollup_day(day=today)
    assert DailyCaseFact.objects.filter(day=today).count() == 1
    assert DailyCaseFact.objects.get(day=today).submitted == 1
    assert MonthlyCaseFact.objects.get(month=today.replace(day=1)).submitted == 1


def test_the_sweep_computes_today_when_stale_and_a_past_day_when_a_case_of_it_changed(
    resident, staff
):
    now = timezone.now()
    today = timezone.localdate(now)
    assert services.rollup_sweep(now=now)["days"] == 1  # today, empty
    case = birth_case(resident)
    # Today was computed a minute ago: it waits for TONGBAN_METRICS_REFRESH_SECONDS.
    assert services.rollup_sweep(now=now + dt.timedelta(minutes=1))["days"] == 0
    assert RolledUpDay.objects.get(day=today).cases == 0
    assert services.rollup_sweep(now=now + dt.timedelta(minutes=16))["days"] == 1
    assert RolledUpDay.objects.get(day=today).cases == 1
    # A record of yesterday arrives late (an import, a counter system catching up).
    yesterday = today - dt.timedelta(days=1)
    Application.objects.filter(pk=case.pk).update(
        submitted_at=case.submitted_at - dt.timedelta(days=1), updated_at=timezone.now()
    )
    assert services.rollup_sweep(now=now + dt.timedelta(minutes=17))["days"] == 1
    assert RolledUpDay.objects.get(day=yesterday).cases == 1
    # Sweeps read the last WATERMARK_OVERLAP again (a transaction may commit late): the
    # day may be computed again, never counted twice.
    services.rollup_sweep(now=now + dt.timedelta(minutes=18))
    assert RolledUpDay.objects.get(day=yesterday).cases == 1
    assert DailyCaseFact.objects.get(day=yesterday).submitted == 1


def test_activity_counts_each_person_once_a_day_and_the_month_distinct(resident, other_resident):
    day = dt.date(2026, 11, 3)
    for _ in range(3):
        services.activity_record(
            user_ids=[resident.user_id], channel="web", audience="resident", day=day
        )
    services.activity_record(
        user_ids=[resident.user_id], channel="mobile", audience="resident", day=day
    )
    services.activity_record(
        user_ids=[resident.user_id, other_resident.user_id],
        channel="web",
        audience="resident",
        day=day + dt.timedelta(days=1),
    )
    assert ActiveDay.objects.count() == 4
    # The key is not the account id, and changes with the month.
    keys = set(ActiveDay.objects.values_list("person_key", flat=True))
    assert str(resident.user_id) not in keys
    assert services.person_key(user_id=resident.user_id, day=day) != services.person_key(
        user_id=resident.user_id, day=dt.date(2026, 12, 3)
    )
    services.rollup_day(day=day)
    services.rollup_day(day=day + dt.timedelta(days=1))
    daily = {
        (a.channel, a.audience): a.users
        for a in ActiveUsers.objects.filter(period="day", start=day)
    }
    assert daily == {
        ("web", "resident"): 1,
        ("mobile", "resident"): 1,
        ("web", "all"): 1,
        ("mobile", "all"): 1,
        ("all", "resident"): 1,
        ("all", "all"): 1,
    }
    monthly = ActiveUsers.objects.get(
        period="month", start=dt.date(2026, 11, 1), channel="all", audience="all"
    )
    assert monthly.users == 2


def test_marks_of_months_before_last_are_purged(resident):
    services.activity_record(
        user_ids=[resident.user_id], channel="web", audience="resident", day=dt.date(2026, 9, 30)
    )
    services.activity_record(
        user_ids=[resident.user_id], channel="web", audience="resident", day=dt.date(2026, 10, 1)
    )
    assert services.activity_purge(today=dt.date(2026, 11, 15)) == 1
    assert list(ActiveDay.objects.values_list("day", flat=True)) == [dt.date(2026, 10, 1)]


def test_a_counter_case_counts_a_visit_and_the_person_at_the_counter(resident, staff):
    from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials

    case_services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key="counter-1",
        channel="counter",
        filed_by=staff.clerk,
    )
    today = timezone.localdate()
    services.rollup_day(day=today)
    row = DailyCaseFact.objects.get(day=today)
    assert (row.channel, row.visits, row.hall_id, row.submitted) == ("counter", 1, staff.hall.id, 1)
    counter = ActiveUsers.objects.get(
        period="day", start=today, channel="counter", audience="resident"
    )
    assert counter.users == 1
    # The clerk who filed it is staff: not an active user.
    assert ActiveDay.objects.count() == 1


def test_a_department_lead_reads_only_their_department(resident, staff):
    _accepted_and_concluded(resident, staff)
    services.rollup_day(day=timezone.localdate())
    police = Department.objects.get(code="police")
    other = Department.objects.exclude(code="police").order_by("code").first()
    lead = StaffFactory(department=police, role=StaffRole.DEPARTMENT_LEAD)
    allowed = selectors.metrics_access(lead)
    assert allowed == (police.id,)
    assert selectors.metrics_access(staff.reviewer["police"]) is False
    with pytest.raises(InvalidInput) as refused:
        selectors.scope_from(allowed=allowed, department=other.code)
    assert refused.value.code == "METRICS_DEPARTMENT_FORBIDDEN"
    scope = selectors.scope_from(allowed=allowed)
    assert scope.departments == (police.id,)
