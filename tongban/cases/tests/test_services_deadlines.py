"""SLA and 补正/容缺 deadlines with a frozen clock (explicit `today=`) on the real 2026
calendar: 国庆 2026-10-01..07 off, 2026-09-30 (Wed) and 2026-10-08/09 (Thu/Fri) working,
2026-10-10 a Saturday worked instead (调休上班日)."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.models import StaffAssignment, StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases import services
from tongban.cases.models import CaseEvent, MaterialSubmission, SupplementRequest, Task
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials
from tongban.catalog.models import Department
from tongban.common.calendar import add_working_days
from tongban.notifications.models import Notice

SEP_29, SEP_30 = dt.date(2026, 9, 29), dt.date(2026, 9, 30)
OCT_7, OCT_8, OCT_9, OCT_10, OCT_11 = (dt.date(2026, 10, d) for d in (7, 8, 9, 10, 11))


def test_the_calendar_facts_these_tests_rely_on():
    assert add_working_days(SEP_29, 1) == SEP_30
    assert add_working_days(SEP_30, 1) == OCT_8  # the whole 国庆 week skipped
    assert add_working_days(OCT_9, 1) == OCT_10  # a Saturday that is worked
    assert add_working_days(OCT_10, 1) == dt.date(2026, 10, 12)


def _submit(resident, **kwargs):
    args = {
        "applicant": resident.user,
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": birth_form(resident),
        "materials": birth_materials(),
        "idempotency_key": "deadlines",
    }
    args.update(kwargs)
    return services.case_submit(**args)


def _registration(case) -> Task:
    return Task.objects.get(case=case, item_code="birth_registration")


def _notices(user, category):
    return list(
        Notice.objects.filter(recipient=user, category=category).values_list("title", flat=True)
    )


def _police():
    return Department.objects.get(code="police")


# ---------------------------------------------------------------- tasks


def test_a_task_due_after_the_holiday_is_reminded_on_the_last_working_day_before_it(
    resident, staff
):
    case = _submit(resident)
    reg = _registration(case)
    Task.objects.filter(pk=reg.pk).update(due_date=OCT_8)
    reviewer = staff.reviewer["police"]

    assert services.task_sla_sweep(today=SEP_29) == services.SweepResult(reminded=0, escalated=0)
    assert _notices(reviewer, "sla_reminder") == []
    # 2026-09-30: eight calendar days ahead, but the next working day.
    assert services.task_sla_sweep(today=SEP_30) == services.SweepResult(reminded=1, escalated=0)
    assert _notices(reviewer, "sla_reminder") == ["任务即将到期：出生登记"]
    assert services.task_sla_sweep(today=OCT_8) == services.SweepResult(reminded=0, escalated=0)
    assert _notices(reviewer, "sla_reminder") == ["任务即将到期：出生登记"]


def test_a_claimed_task_reminds_its_claimant_even_after_they_left_the_reviewer_post(
    resident, staff
):
    case = _submit(resident)
    reg = _registration(case)
    claimant = StaffFactory(department=_police(), role=StaffRole.REVIEWER)
    services.task_claim(reviewer=claimant, task_id=reg.pk)
    StaffAssignment.objects.filter(user=claimant).delete()
    Task.objects.filter(pk=reg.pk).update(due_date=OCT_8)

    assert services.task_sla_sweep(today=SEP_30).reminded == 1
    assert _notices(claimant, "sla_reminder") == ["任务即将到期：出生登记"]
    assert _notices(staff.reviewer["police"], "sla_reminder") == ["任务即将到期：出生登记"]


def test_breach_is_escalated_to_the_department_lead_once(resident, staff):
    lead = StaffFactory(department=_police(), role=StaffRole.DEPARTMENT_LEAD)
    admin = StaffFactory(department=_police(), role=StaffRole.ADMINISTRATOR)
    case = _submit(resident)
    reg = _registration(case)
    Task.objects.filter(pk=reg.pk).update(due_date=OCT_8, reminded_at=reg.released_at)

    # On the due date itself: not yet a breach.
    assert services.task_sla_sweep(today=OCT_8) == services.SweepResult(reminded=0, escalated=0)
    assert case.events.filter(action="task_overdue").count() == 0

    for _ in range(2):  # twice, as two workers would: one notice, one event
        services.task_sla_sweep(today=OCT_9)
    assert _notices(lead, "sla_escalation") == ["任务已超期：出生登记"]
    assert Notice.objects.get(recipient=lead, category="sla_escalation").body == (
        f"办件 {services.receipt_display(case.receipt_no)} 应于 2026-10-08 办结。"
    )
    assert Notice.objects.get(recipient=lead).link == "/staff/tasks/?status=overdue"
    assert _notices(admin, "sla_escalation") == []
    assert _notices(staff.acceptor["police"], "sla_escalation") == []
    event = case.events.get(action="task_overdue")
    assert (event.actor_label, event.data) == (
        "system:sla",
        {"task": reg.pk, "item": "birth_registration", "due_date": "2026-10-08"},
    )
    reg.refresh_from_db()
    assert reg.escalated_at is not None


@pytest.mark.parametrize("with_admin", [True, False])
def test_without_a_lead_the_escalation_falls_back(resident, staff, with_admin):
    admin = StaffFactory(department=_police(), role=StaffRole.ADMINISTRATOR) if with_admin else None
    case = _submit(resident)
    reg = _registration(case)
    Task.objects.filter(pk=reg.pk).update(due_date=OCT_8)

    assert services.task_sla_sweep(today=OCT_9).escalated == 1
    acceptor_notices = _notices(staff.acceptor["police"], "sla_escalation")
    if with_admin:
        assert _notices(admin, "sla_escalation") == ["任务已超期：出生登记"]
        assert acceptor_notices == []
    else:
        assert acceptor_notices == ["任务已超期：出生登记"]
    assert Notice.objects.filter(category="sla_escalation").count() == 1


# ---------------------------------------------------------------- 补正


def _intake_supplement(resident, staff, *, deadline):
    case = _submit(resident, materials=birth_materials(photo="deferred"))
    request = services.case_request_supplement(
        actor=staff.acceptor["police"],
        receipt_no=case.receipt_no,
        material_codes=["child_photo"],
        field_codes=[],
        reason="请补交证件照",
    )
    SupplementRequest.objects.filter(pk=request.pk).update(deadline=deadline)
    request.refresh_from_db()
    return case, request


def test_intake_supplement_reminder_then_expiry_closes_the_case(resident, staff):
    case, request = _intake_supplement(resident, staff, deadline=OCT_8)
    applicant = resident.user

    assert services.case_supplement_sweep(today=SEP_29) == services.SupplementSweepResult(0, 0)
    assert services.case_supplement_sweep(today=SEP_30) == services.SupplementSweepResult(1, 0)
    assert services.case_supplement_sweep(today=OCT_8) == services.SupplementSweepResult(0, 0)
    assert _notices(applicant, "supplement_reminder") == ["请于2026年10月08日前补正：出生一件事"]
    reminder = case.events.get(action="supplement_reminder")
    assert (reminder.actor_label, reminder.to_status, reminder.data) == (
        "system:sla",
        "",
        {"supplement": request.pk, "deadline": "2026-10-08"},
    )
    case.refresh_from_db()
    assert case.status == "supplement_requested"

    assert services.case_supplement_sweep(today=OCT_9) == services.SupplementSweepResult(0, 1)
    assert services.case_supplement_sweep(today=OCT_9) == services.SupplementSweepResult(0, 0)
    case.refresh_from_db()
    assert case.status == "refused"
    expired = case.events.get(action="supplement_expired")
    assert (expired.actor_label, expired.from_status, expired.to_status, expired.reason) == (
        "system:sla",
        "supplement_requested",
        "refused",
        "申请人未在补正期限（2026-10-08）内补正，视为放弃申请。",
    )
    assert expired.data == {"supplement": request.pk, "deadline": "2026-10-08"}
    assert (
        Notice.objects.filter(recipient=applicant, title="您的办件“出生一件事”不予受理").count()
        == 1
    )
    assert Task.objects.filter(case=case).count() == 0
    # The lapsed request is no longer offered to the applicant.
    from tongban.cases.selectors import case_detail

    assert case_detail(user=applicant, receipt_no=case.receipt_no)["supplement"] is None


def test_a_supplied_supplement_is_left_alone(resident, staff):
    case, _ = _intake_supplement(resident, staff, deadline=OCT_8)
    services.case_supplement(
        applicant=resident.user,
        receipt_no=case.receipt_no,
        form_data={},
        materials={"child_photo": birth_materials()["child_photo"]},
    )
    assert services.case_supplement_sweep(today=OCT_11) == services.SupplementSweepResult(0, 0)
    case.refresh_from_db()
    assert case.status == "submitted"
    assert case.events.filter(action__startswith="supplement_").count() == 1  # the request


def test_a_reviewers_supplement_expires_into_a_denial_and_the_case_concludes(resident, staff):
    case = _submit(resident)
    reg = _registration(case)
    police = staff.reviewer["police"]
    request = services.task_request_supplement(
        reviewer=police,
        task_id=reg.pk,
        material_codes=[],
        field_codes=["child.name"],
        reason="姓名与出生医学证明不一致",
        expected_row_version=reg.row_version,
    )
    SupplementRequest.objects.filter(pk=request.pk).update(deadline=OCT_10)

    assert services.case_supplement_sweep(today=OCT_8) == services.SupplementSweepResult(0, 0)
    # Friday 10-09: the deadline, Saturday 10-10, is the next working day.
    assert services.case_supplement_sweep(today=OCT_9) == services.SupplementSweepResult(1, 0)
    assert services.case_supplement_sweep(today=OCT_10) == services.SupplementSweepResult(0, 0)
    reg.refresh_from_db()
    assert reg.status == "supplement_requested"

    assert services.case_supplement_sweep(today=OCT_11) == services.SupplementSweepResult(0, 1)
    assert services.case_supplement_sweep(today=OCT_11) == services.SupplementSweepResult(0, 0)
    reg.refresh_from_db()
    case.refresh_from_db()
    assert (reg.status, reg.reason, reg.decided_by_label, reg.decided_by) == (
        "denied",
        "逾期未补正",
        "system:sla",
        None,
    )
    # As after any denial of 出生登记: the items after it cannot be done; 预防接种证 stands.
    statuses = dict(Task.objects.filter(case=case).values_list("item_code", "status"))
    assert statuses == {
        "birth_registration": "denied",
        "vaccination_certificate": "approved",
        "medical_insurance_enrolment": "denied",
        "social_security_card": "denied",
    }
    assert (case.status, case.outcome) == ("archived", "partly_approved")
    actions = list(
        case.events.filter(seq__gt=case.events.get(action="supplement_reminder").seq)
        .order_by("seq")
        .values_list("action", "actor_label")
    )
    assert actions == [
        ("supplement_expired", "system:sla"),
        ("task_denied", "system:sla"),
        ("task_denied", "system:prerequisite"),
        ("task_denied", "system:prerequisite"),
        ("concluded", "system"),
        ("archived", "system"),
    ]
    assert case.events.get(action="supplement_expired").data == {
        "supplement": request.pk,
        "deadline": "2026-10-10",
        "tasks": [reg.pk],
    }
    assert _notices(resident.user, "supplement_reminder") == [
        "请于2026年10月10日前补正：出生一件事"
    ]


# ---------------------------------------------------------------- 容缺


def test_an_overdue_deferred_material_is_flagged_once_and_not_decided(resident, staff):
    case = _submit(resident, materials=birth_materials(photo="deferred"))
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    MaterialSubmission.objects.filter(case=case, how="deferred").update(due_date=OCT_8)
    before = list(Task.objects.filter(case=case).values_list("status", "row_version"))

    assert services.case_deferred_material_sweep(today=OCT_8) == 0
    assert services.case_deferred_material_sweep(today=OCT_9) == 1
    assert services.case_deferred_material_sweep(today=OCT_11) == 0

    assert _notices(resident.user, "deferred_overdue") == ["容缺材料已逾期：新生儿证件照"]
    assert _notices(staff.acceptor["police"], "deferred_overdue") == [
        "容缺材料已逾期：新生儿证件照"
    ]
    assert Notice.objects.filter(category="deferred_overdue").count() == 2
    event = CaseEvent.objects.get(case=case, action="deferred_material_overdue")
    assert (event.actor_label, event.to_status, event.data) == (
        "system:sla",
        "",
        {"material": "child_photo", "due_date": "2026-10-08"},
    )
    # Informs, never decides: the department does.
    assert list(Task.objects.filter(case=case).values_list("status", "row_version")) == before
    case.refresh_from_db()
    assert case.status == "accepted"


def test_a_deferred_material_delivered_in_time_is_not_flagged(resident, staff):
    case = _submit(resident, materials=birth_materials(photo="deferred"))
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    services.case_deferred_material_submit(
        applicant=resident.user,
        receipt_no=case.receipt_no,
        material_code="child_photo",
        files=list(birth_materials()["child_photo"].files),
    )
    assert services.case_deferred_material_sweep(today=dt.date(2027, 12, 31)) == 0
    assert Notice.objects.filter(category="deferred_overdue").count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_act_once(resident, staff):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers for the whole database; row locks need PostgreSQL")
    case, _ = _intake_supplement(resident, staff, deadline=OCT_8)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(services.case_supplement_sweep(today=OCT_9))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(r.expired for r in results) == [0, 1]
    assert case.events.filter(action="supplement_expired").count() == 1
    assert Notice.objects.filter(recipient=resident.user, title__endswith="不予受理").count() == 1
