"""行政协助 services: ask, answer, withdraw, the sweep. Exact values and side effects; every
refusal leaves the database as it was."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.assistance import selectors, services
from tongban.assistance.errors import (
    AssistanceAlreadyOpen,
    AssistanceClosed,
    AssistanceInvalid,
    AssistanceNotAllowed,
    AssistanceNotFound,
    AssistanceSameDepartment,
    AssistanceTaskNotOpen,
)
from tongban.assistance.models import AssistanceRequest, AssistanceStatus
from tongban.cases import selectors as case_selectors
from tongban.cases.models import CaseEvent, Task
from tongban.cases.services import Upload
from tongban.cases.tests.conftest import PDF
from tongban.catalog.models import Department
from tongban.common.calendar import add_working_days, is_working_day
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

QUESTION = "请核实申请人赫某的出生医学证明签发记录（示例）"


def ask(task, actor, **kwargs):
    args = {
        "actor": actor,
        "task_id": task.pk,
        "target_department": "health",
        "subject_role": "applicant",
        "question": QUESTION,
        "due_days": 5,
    }
    args.update(kwargs)
    return services.assistance_request(**args)


def written():
    """Everything a refused call must leave unchanged."""
    return (
        AssistanceRequest.objects.count(),
        list(AssistanceRequest.objects.values_list("status", "answer", "reminders_sent")),
        CaseEvent.objects.count(),
        AuditEvent.objects.count(),
        Notice.objects.count(),
    )


# ---------------------------------------------------------------- asking


def test_a_reviewer_asks_another_department(case, task, staff, resident):
    reviewer = staff.reviewer["police"]
    today = timezone.localdate()
    r = ask(task, reviewer, material_codes=["birth_medical_certificate"])

    r.refresh_from_db()
    assert r.case == case and r.task == task
    assert r.requesting_department.code == "police"
    assert r.requested_by == reviewer
    assert r.requested_by_label == "市公安局（审核岗）"
    assert r.target_department.code == "health"
    assert r.subject_role == "applicant"
    assert r.subject_label == f"申请人本人：{resident.name}"
    assert r.subject_identifier == resident.id_number
    assert r.question == QUESTION
    assert r.materials == [{"code": "birth_medical_certificate", "name": "出生医学证明"}]
    assert r.due_days == 5
    assert r.due_date == add_working_days(today, 5)
    assert r.status == AssistanceStatus.OPEN
    assert (r.answer, r.answered_at, r.reminders_sent) == ("", None, 0)

    case.refresh_from_db()
    assert case.status == "accepted"  # the case's own status is untouched
    event = case.events.order_by("-seq").first()
    assert event.action == "assistance_requested"
    assert event.actor == reviewer
    assert event.reason == "向市卫生健康委员会核实有关情况，等待答复"
    assert event.to_status == ""
    assert event.data == {
        "task": task.pk,
        "assistance": r.pk,
        "department": "health",
        "due_date": r.due_date.isoformat(),
    }
    audit = AuditEvent.objects.get(action="assistance.requested")
    assert audit.actor == reviewer
    assert audit.object_id == str(r.pk)
    assert audit.subject_resident_id == resident.pk
    assert audit.data["target_department"] == "health"
    notices = Notice.objects.filter(category="assistance_requested").order_by("recipient_id")
    assert [n.recipient for n in notices] == sorted(
        [staff.reviewer["health"], staff.acceptor["health"]], key=lambda u: u.pk
    )
    assert notices[0].title == "市公安局请求行政协助"
    assert notices[0].link == f"/staff/assistance/{r.pk}/"
    assert QUESTION not in notices[0].body


def test_the_subjects_offered_are_the_people_the_case_names(case, resident):
    options = selectors.subject_options(case)
    assert [(o["role"], o["label"]) for o in options] == [
        ("applicant", f"申请人本人：{resident.name}"),
        ("child", "子女：张小宝"),
    ]
    assert options[1]["identifier"] == ""  # the child has no ID number yet


@pytest.mark.parametrize("who", ["resident", "health_reviewer", "police_acceptor", "clerk"])
def test_only_a_reviewer_of_the_tasks_department_may_ask(who, task, staff, resident):
    actor = {
        "resident": resident.user,
        "health_reviewer": staff.reviewer["health"],
        "police_acceptor": staff.acceptor["police"],
        "clerk": staff.clerk,
    }[who]
    before = written()
    with pytest.raises(AssistanceNotAllowed) as exc:
        ask(task, actor)
    assert exc.value.code == "ASSISTANCE_NOT_ALLOWED"
    assert exc.value.http_status == 403
    assert written() == before


def test_a_department_does_not_ask_itself(task, staff):
    before = written()
    with pytest.raises(AssistanceSameDepartment) as exc:
        ask(task, staff.reviewer["police"], target_department="police")
    assert (exc.value.code, exc.value.http_status) == ("ASSISTANCE_SAME_DEPARTMENT", 400)
    assert written() == before


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"due_days": 0}, "ASSISTANCE_DUE_DAYS_INVALID"),
        ({"due_days": 21}, "ASSISTANCE_DUE_DAYS_INVALID"),
        ({"due_days": True}, "ASSISTANCE_DUE_DAYS_INVALID"),
        ({"question": "  "}, "ASSISTANCE_QUESTION_REQUIRED"),
        ({"question": "查" * 501}, "ASSISTANCE_QUESTION_TOO_LONG"),
        ({"subject_role": "mother"}, "ASSISTANCE_SUBJECT_UNKNOWN"),
        ({"subject_role": "enterprise"}, "ASSISTANCE_SUBJECT_UNKNOWN"),
        ({"target_department": "nowhere"}, "ASSISTANCE_DEPARTMENT_UNKNOWN"),
        ({"material_codes": ["business_licence"]}, "ASSISTANCE_MATERIAL_UNKNOWN"),
    ],
)
def test_bad_input_is_refused_with_its_code(change, code, task, staff):
    before = written()
    with pytest.raises(AssistanceInvalid) as exc:
        ask(task, staff.reviewer["police"], **change)
    assert (exc.value.code, exc.value.http_status) == (code, 422)
    assert written() == before


def test_an_inactive_department_cannot_be_asked(task, staff):
    Department.objects.filter(code="health").update(is_active=False)
    with pytest.raises(AssistanceInvalid) as exc:
        ask(task, staff.reviewer["police"])
    assert exc.value.code == "ASSISTANCE_DEPARTMENT_UNKNOWN"
    assert AssistanceRequest.objects.count() == 0


def test_a_decided_task_asks_no_more(case, staff):
    approved = Task.objects.get(case=case, item_code="vaccination_certificate")
    before = written()
    with pytest.raises(AssistanceTaskNotOpen) as exc:
        ask(approved, staff.reviewer["health"], target_department="police")
    assert (exc.value.code, exc.value.http_status) == ("ASSISTANCE_TASK_NOT_OPEN", 409)
    assert written() == before


def test_the_same_question_is_not_sent_twice_while_waited_on(task, staff):
    ask(task, staff.reviewer["police"])
    before = written()
    with pytest.raises(AssistanceAlreadyOpen):
        ask(task, staff.reviewer["police"])
    assert written() == before
    # About someone else, or to another department: a request of its own.
    ask(task, staff.reviewer["police"], subject_role="child")
    ask(task, staff.reviewer["police"], target_department="hrss")
    assert AssistanceRequest.objects.count() == 3


# ---------------------------------------------------------------- answering


def test_the_target_department_answers_with_a_file(case, task, staff, media):
    r = ask(task, staff.reviewer["police"])
    answerer = staff.acceptor["health"]
    services.assistance_answer(
        actor=answerer, request_id=r.pk, answer="经核实，签发记录存在。", file=Upload("a.pdf", PDF)
    )
    r.refresh_from_db()
    assert r.status == AssistanceStatus.ANSWERED
    assert r.answer == "经核实，签发记录存在。"
    assert r.answered_by == answerer
    assert r.answered_by_label == "市卫生健康委员会（受理岗）"
    assert r.answered_at is not None
    assert r.answer_file_type == "application/pdf"
    assert r.answer_file_size == len(PDF)
    assert r.answer_file.read() == PDF
    event = case.events.order_by("-seq").first()
    assert (event.action, event.actor, event.actor_label) == (
        "assistance_answered",
        answerer,
        "system:assistance",
    )
    assert event.reason == "市卫生健康委员会已答复"
    assert AuditEvent.objects.filter(action="assistance.answered", actor=answerer).count() == 1
    told = Notice.objects.get(category="assistance_answered")
    assert told.recipient == staff.reviewer["police"]
    assert told.title == "市卫生健康委员会已答复行政协助"
    assert told.link == f"/staff/tasks/{task.pk}/"


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("requester", AssistanceNotAllowed),
        ("other_department", AssistanceNotAllowed),  # 人社 has a task on the case: sees it
        ("resident", AssistanceNotFound),
        ("health_clerkless", AssistanceNotFound),
        ("market", AssistanceNotFound),  # no task on the case: it does not exist for them
    ],
)
def test_only_the_target_departments_case_posts_answer(who, error, task, staff, resident):
    r = ask(task, staff.reviewer["police"])
    actor = {
        "requester": staff.reviewer["police"],
        "other_department": staff.reviewer["hrss"],
        "resident": resident.user,
        # A post in the department that does not handle cases.
        "health_clerkless": StaffFactory(
            department=Department.objects.get(code="health"), role=StaffRole.SERVICE_OWNER
        ),
        "market": staff.reviewer["market"],
    }[who]
    before = written()
    with pytest.raises(error):
        services.assistance_answer(actor=actor, request_id=r.pk, answer="答复")
    assert written() == before


def test_an_answer_is_given_once(task, staff):
    r = ask(task, staff.reviewer["police"])
    services.assistance_answer(actor=staff.reviewer["health"], request_id=r.pk, answer="已核实")
    before = written()
    with pytest.raises(AssistanceClosed) as exc:
        services.assistance_answer(actor=staff.acceptor["health"], request_id=r.pk, answer="再答")
    assert (exc.value.code, exc.value.http_status) == ("ASSISTANCE_CLOSED", 409)
    assert written() == before


@pytest.mark.parametrize(
    ("answer", "file", "code"),
    [
        ("", None, "ASSISTANCE_ANSWER_REQUIRED"),
        ("答" * 2001, None, "ASSISTANCE_ANSWER_TOO_LONG"),
        ("已核实", Upload("a.pdf", b"not a pdf at all"), "ASSISTANCE_FILE_REFUSED"),
    ],
)
def test_a_bad_answer_is_refused(answer, file, code, task, staff, media):
    r = ask(task, staff.reviewer["police"])
    before = written()
    with pytest.raises(AssistanceInvalid) as exc:
        services.assistance_answer(
            actor=staff.reviewer["health"], request_id=r.pk, answer=answer, file=file
        )
    assert exc.value.code == code
    assert written() == before
    assert not list((media / "assistance").rglob("*.*"))  # no answer file stored


# ---------------------------------------------------------------- withdrawing


def test_the_requesting_department_withdraws(case, task, staff):
    r = ask(task, staff.reviewer["police"])
    before_notices = Notice.objects.count()
    with pytest.raises(AssistanceNotAllowed):
        services.assistance_withdraw(actor=staff.reviewer["health"], request_id=r.pk)
    with pytest.raises(AssistanceNotFound):
        services.assistance_withdraw(actor=staff.reviewer["market"], request_id=r.pk)
    assert Notice.objects.count() == before_notices
    services.assistance_withdraw(
        actor=staff.reviewer["police"], request_id=r.pk, reason="申请人已补交材料"
    )
    r.refresh_from_db()
    assert r.status == AssistanceStatus.WITHDRAWN
    assert r.withdrawn_by == staff.reviewer["police"]
    assert r.withdraw_reason == "申请人已补交材料"
    event = case.events.order_by("-seq").first()
    assert (event.action, event.reason) == ("assistance_withdrawn", "申请人已补交材料")
    assert Notice.objects.filter(category="assistance_withdrawn").count() == 2
    with pytest.raises(AssistanceClosed):
        services.assistance_withdraw(actor=staff.reviewer["police"], request_id=r.pk)
    with pytest.raises(AssistanceClosed):
        services.assistance_answer(actor=staff.reviewer["health"], request_id=r.pk, answer="晚了")


# ---------------------------------------------------------------- the sweep


def _working_day_before(day: dt.date) -> dt.date:
    d = day - dt.timedelta(days=1)
    while not is_working_day(d):
        d -= dt.timedelta(days=1)
    return d


def test_the_sweep_reminds_the_day_before_and_on_the_day_then_marks_overdue(case, task, staff):
    r = ask(task, staff.reviewer["police"], due_days=3)
    due = r.due_date
    eve = _working_day_before(due)
    events_before = case.events.count()

    # Earlier than the working day before: nothing.
    assert services.assistance_sweep(today=_working_day_before(eve)) == {
        "reminded": 0,
        "overdue": 0,
    }
    assert services.assistance_sweep(today=eve) == {"reminded": 1, "overdue": 0}
    assert services.assistance_sweep(today=eve) == {"reminded": 0, "overdue": 0}  # once a day
    reminders = Notice.objects.filter(category="assistance_reminder")
    assert sorted(n.recipient_id for n in reminders) == sorted(
        [staff.reviewer["health"].pk, staff.acceptor["health"].pk]
    )
    assert {n.title for n in reminders} == {"行政协助下一个工作日到期：市公安局"}

    assert services.assistance_sweep(today=due) == {"reminded": 1, "overdue": 0}
    assert (
        Notice.objects.filter(
            category="assistance_reminder", title="行政协助今天到期：市公安局"
        ).count()
        == 2
    )
    r.refresh_from_db()
    assert (r.reminders_sent, r.last_reminded_on, r.status) == (2, due, AssistanceStatus.OPEN)
    assert case.events.count() == events_before  # reminders are not steps of the case

    after = due + dt.timedelta(days=1)
    assert services.assistance_sweep(today=after) == {"reminded": 0, "overdue": 1}
    assert services.assistance_sweep(today=after) == {"reminded": 0, "overdue": 0}
    r.refresh_from_db()
    assert r.status == AssistanceStatus.OVERDUE
    assert r.overdue_at is not None
    event = case.events.order_by("-seq").first()
    assert (event.action, event.actor, event.actor_label) == (
        "assistance_overdue",
        None,
        "system:assistance",
    )
    # No 部门负责人 in the fixture: the department's acceptors stand in; and the requester.
    overdue = Notice.objects.filter(category="assistance_overdue")
    assert sorted(n.recipient_id for n in overdue) == sorted(
        [staff.acceptor["health"].pk, staff.reviewer["police"].pk]
    )
    assert AuditEvent.objects.filter(action="assistance.reminded").count() == 2
    assert AuditEvent.objects.filter(action="assistance.overdue").count() == 1

    # Overdue is still waited on, and can still be answered.
    assert selectors.waiting_receipts([case.receipt_no]) == {case.receipt_no}
    services.assistance_answer(actor=staff.reviewer["health"], request_id=r.pk, answer="已核实")
    assert selectors.waiting_receipts([case.receipt_no]) == set()


def test_the_sweep_leaves_answered_and_withdrawn_requests_alone(task, staff):
    answered = ask(task, staff.reviewer["police"], due_days=1)
    services.assistance_answer(actor=staff.reviewer["health"], request_id=answered.pk, answer="有")
    withdrawn = ask(task, staff.reviewer["police"], due_days=1, target_department="hrss")
    services.assistance_withdraw(actor=staff.reviewer["police"], request_id=withdrawn.pk)
    later = answered.due_date + dt.timedelta(days=3)
    assert services.assistance_sweep(today=later) == {"reminded": 0, "overdue": 0}


def test_the_sweep_runs_in_the_maintenance_tick():
    from tongban.cases.schedule import _registered_sweeps

    assert _registered_sweeps["assistance"] is services.maintenance_sweep


# ---------------------------------------------------------------- the resident's timeline


def test_the_applicant_reads_which_department_is_asked_but_not_the_question(
    case, task, staff, resident
):
    r = ask(task, staff.reviewer["police"])
    detail = case_selectors.case_detail(user=resident.user, receipt_no=case.receipt_no)
    asked = [e for e in detail["events"] if e["action"] == "assistance_requested"]
    assert len(asked) == 1
    assert asked[0]["label"] == "发起行政协助"
    assert asked[0]["reason"] == "向市卫生健康委员会核实有关情况，等待答复"
    assert asked[0]["actor"] == "staff"
    assert QUESTION not in str(detail)

    services.assistance_answer(actor=staff.reviewer["health"], request_id=r.pk, answer="核实无误")
    detail = case_selectors.case_detail(user=resident.user, receipt_no=case.receipt_no)
    answered = detail["events"][-1]
    assert (answered["label"], answered["actor"], answered["reason"]) == (
        "收到行政协助答复",
        "system:assistance",
        "市卫生健康委员会已答复",
    )
    assert "核实无误" not in str(detail)
