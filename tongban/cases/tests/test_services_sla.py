"""SLA: due dates from the working-day calendar, reminders, breach flag, escalation; notices."""

from __future__ import annotations

import datetime as dt

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases import services
from tongban.cases.models import Task
from tongban.cases.selectors import tasks_breached
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials
from tongban.catalog.models import Department
from tongban.common.calendar import add_working_days
from tongban.notifications.models import Notice


def _submit(resident):
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key="sla",
    )


def test_due_dates_count_working_days_from_the_calendar(resident, staff):
    case = _submit(resident)
    reg = Task.objects.get(case=case, item_code="birth_registration")
    released = reg.released_at
    assert reg.due_date == add_working_days(released, 5)
    assert case.promised_date == add_working_days(case.accepted_at, 10)


def test_reminder_then_breach_and_escalation_with_a_frozen_clock(resident, staff):
    lead = StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.ADMINISTRATOR
    )
    case = _submit(resident)
    reg = Task.objects.get(case=case, item_code="birth_registration")
    police_reviewer = staff.reviewer["police"]

    # The morning the task falls due: its reviewers are reminded, once.
    result = services.task_sla_sweep(today=reg.due_date)
    assert (result.reminded, result.escalated) == (1, 0)
    assert Notice.objects.filter(recipient=police_reviewer, category="sla_reminder").count() == 1
    assert services.task_sla_sweep(today=reg.due_date).reminded == 0

    day_after = reg.due_date + dt.timedelta(days=1)
    assert list(tasks_breached(today=reg.due_date)) == []
    assert list(tasks_breached(today=day_after)) == [reg]
    result = services.task_sla_sweep(today=day_after)
    assert (result.reminded, result.escalated) == (0, 1)
    assert Notice.objects.filter(recipient=lead, category="sla_escalation").count() == 1
    assert case.events.filter(action="task_overdue").count() == 1
    assert services.task_sla_sweep(today=day_after).escalated == 0

    # Decided tasks are not breaches any more.
    reg.refresh_from_db()
    services.task_decide(
        reviewer=police_reviewer,
        task_id=reg.pk,
        decision="approved",
        reason="",
        expected_row_version=reg.row_version,
    )
    police = Department.objects.get(code="police")
    assert list(tasks_breached(today=day_after, department_id=police.pk)) == []


def test_the_applicant_gets_a_notice_on_every_status_change(resident, staff):
    case = _submit(resident)
    titles = list(
        Notice.objects.filter(recipient=resident.user, category="case")
        .order_by("pk")
        .values_list("title", flat=True)
    )
    assert titles == ["您的办件“出生一件事”已提交，待受理", "您的办件“出生一件事”已受理，办理中"]
    assert case.events.exclude(to_status="").count() == 2
