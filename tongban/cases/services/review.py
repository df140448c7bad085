"""Stage 3, review (审核): task release, review points (auto-decided items), claim and decide,
the values an item produces for the items after it, and the case's conclusion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.accounts.services import enterprise_update
from tongban.appointments.services.booking import bookings_release_for_case
from tongban.cases import sla
from tongban.cases.errors import (
    CaseFormInvalid,
    NotAReviewer,
    TaskConflict,
    TaskNotFound,
    TaskNotOpen,
)
from tongban.cases.models import (
    DECIDED_TASK_STATUSES,
    Application,
    CaseOutcome,
    CaseStatus,
    Delivery,
    Task,
    TaskStatus,
)
from tongban.cases.services._common import (
    SYSTEM_AUTO,
    _actor_label,
    _clean_reason,
    _event,
    _hooks_after_commit,
    _now,
)
from tongban.cases.services.apply import _validate_value
from tongban.catalog.schemas import ReviewPoint
from tongban.catalog.selectors import element_definitions, item_definition
from tongban.common.errors import InvalidInput

# ---------------------------------------------------------------- tasks


def _release_tasks(case: Application) -> None:
    """Move waiting tasks whose prerequisites are approved to pending (with a due date), and
    decide automatically those whose review points all hold. Repeats, since an automatic
    approval can release the next task in the chain."""
    while True:
        tasks = list(case.tasks.select_for_update().order_by("pk"))
        approved = {t.item_code for t in tasks if t.status == TaskStatus.APPROVED}
        denied = {t.item_code for t in tasks if t.status == TaskStatus.DENIED}
        changed = False
        for task in tasks:
            if task.status != TaskStatus.WAITING:
                continue
            if any(a in denied for a in task.after):
                # Its prerequisite was refused: it cannot be done (e.g. no 户口, no 社保卡).
                task.status = TaskStatus.DENIED
                task.decided_by_label = "system:prerequisite"
                task.reason = "前序事项未获准予，本事项无法办理"
                task.decided_at = _now()
                task.row_version += 1
                task.save()
                _event(
                    case,
                    actor=None,
                    actor_label="system:prerequisite",
                    action="task_denied",
                    reason=task.reason,
                    data={"task": task.pk, "item": task.item_code},
                )
                changed = True
                continue
            if not all(a in approved for a in task.after):
                continue
            now = _now()
            task.status = TaskStatus.PENDING
            task.released_at = now
            task.due_date = sla.due_date(timezone.localdate(now), task.promised_days)
            task.row_version += 1
            results = review_points_evaluate(
                item_definition(task.item_code, task.item_version).review_points,
                case.form_data,
                submitted_on=timezone.localdate(case.submitted_at),
            )
            if results["all_hold"] and produced_by(case, task.item_code):
                # Rules cannot create the child's ID number: a person records it.
                results = {**results, "all_hold": False, "needs_person": "须录入本事项产生的数据"}
            task.auto_decision = results
            task.save()
            _event(
                case,
                actor=None,
                actor_label="system",
                action="task_released",
                data={
                    "task": task.pk,
                    "item": task.item_code,
                    "due_date": task.due_date.isoformat() if task.due_date else None,
                },
            )
            if results["all_hold"]:
                _decide(
                    case,
                    task,
                    actor=None,
                    actor_label=SYSTEM_AUTO,
                    decision=TaskStatus.APPROVED,
                    reason="审查要点全部满足，系统自动办理",
                )
            changed = True
        if not changed:
            break
    _maybe_conclude(case)


def review_points_evaluate(
    points: list[ReviewPoint], form_data: dict[str, Any], *, submitted_on: dt.date
) -> dict[str, Any]:
    """Each rule's result: true, false, or null when it cannot be checked (value missing or
    unreadable). `all_hold` only when there is at least one point and every one is true."""
    results = []
    for p in points:
        value = form_data.get(p.field)
        outcome: bool | None
        try:
            outcome = _rule(p, value, submitted_on)
        except (TypeError, ValueError, InvalidOperation):
            outcome = None
        results.append(
            {"field": p.field, "rule": p.rule, "value": p.value, "label": p.label, "holds": outcome}
        )
    return {
        "rules": results,
        "all_hold": bool(results) and all(r["holds"] is True for r in results),
    }


def _rule(p: ReviewPoint, value: Any, submitted_on: dt.date) -> bool | None:
    if p.rule == "present":
        return value not in (None, "")
    if value is None or value == "":
        return None
    if p.rule == "equals":
        return value == p.value
    if p.rule == "in":
        return value in (p.value or [])
    if p.rule == "within_days_before_submission":
        day = dt.date.fromisoformat(str(value))
        return 0 <= (submitted_on - day).days <= int(p.value)
    if p.rule == "at_most":
        return Decimal(str(value)) <= Decimal(str(p.value))
    if p.rule == "at_least":
        return Decimal(str(value)) >= Decimal(str(p.value))
    return None


def _require_reviewer(user: User, task: Task) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAReviewer()
    if not StaffAssignment.objects.filter(
        user=user, role=StaffRole.REVIEWER, department_id=task.department_id
    ).exists():
        raise NotAReviewer()


def _lock_task(task_id: int) -> Task:
    """Lock the task's case, then the task. Every writer locks in this order (case before
    its tasks), so a decision, a release and the SLA sweep never deadlock each other."""
    if not isinstance(task_id, int) or isinstance(task_id, bool) or not 0 < task_id < 2**62:
        raise TaskNotFound()
    case_id = Task.objects.filter(pk=task_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise TaskNotFound()
    case = Application.objects.select_for_update().get(pk=case_id)
    task = Task.objects.select_for_update().get(pk=task_id)
    task.case = case
    return task


def _lock_open_task(reviewer: User, task_id: int, expected_row_version: int) -> Task:
    """Lock a task this reviewer may act on, as the reviewer last saw it and still open.
    A task outside their departments is "not found", never "forbidden": it does not exist
    for them."""
    task = _lock_task(task_id)
    try:
        _require_reviewer(reviewer, task)
    except NotAReviewer:
        raise TaskNotFound() from None
    if task.row_version != expected_row_version:
        raise TaskConflict()
    if task.status not in (TaskStatus.PENDING, TaskStatus.CLAIMED):
        raise TaskNotOpen()
    return task


def task_claim(*, reviewer: User, task_id: int, expected_row_version: int | None = None) -> Task:
    """认领: the reviewer takes a pending task of their department."""
    with transaction.atomic():
        task = _lock_task(task_id)
        try:
            _require_reviewer(reviewer, task)
        except NotAReviewer:
            raise TaskNotFound() from None  # other departments' tasks do not exist for them
        if expected_row_version is not None and task.row_version != expected_row_version:
            raise TaskConflict()
        if task.status != TaskStatus.PENDING:
            raise TaskConflict() if task.status == TaskStatus.CLAIMED else TaskNotOpen()
        task.status = TaskStatus.CLAIMED
        task.claimed_by = reviewer
        task.row_version += 1
        task.save()
        _event(
            task.case,
            actor=reviewer,
            action="task_claimed",
            data={"task": task.pk, "item": task.item_code},
        )
    return task


def task_decide(
    *,
    reviewer: User,
    task_id: int,
    decision: str,
    reason: str,
    expected_row_version: int,
    produced: dict[str, Any] | None = None,
) -> Task:
    """Approve or deny one task. The row is locked and its version compared, so of two
    reviewers deciding at once exactly one wins; the other gets TASK_CONFLICT.

    Approving an item that creates data for later items of the 一件事 (its `produces`, e.g.
    出生登记 → the child's ID number) takes those values in PRODUCED; they join the case's
    form data, so the departments after it read them instead of asking the applicant."""
    if decision not in (TaskStatus.APPROVED, TaskStatus.DENIED):
        raise InvalidInput("决定只能是 approved 或 denied", code="DECISION_INVALID")
    if produced is not None and not isinstance(produced, dict):
        raise InvalidInput("产生的数据应为字段到取值的对象", code="PRODUCED_INVALID")
    with transaction.atomic():
        task = _lock_open_task(reviewer, task_id, expected_row_version)
        if task.status == TaskStatus.CLAIMED and task.claimed_by_id != reviewer.pk:
            raise TaskConflict("该任务已由其他审核人员认领")
        text = _clean_reason(reason, required=decision == TaskStatus.DENIED)
        case = task.case
        codes: list[str] = []
        if decision == TaskStatus.APPROVED:
            codes = _record_produced(case, task, produced or {})
        elif produced:
            raise InvalidInput("不予办理时不产生数据", code="PRODUCED_INVALID")
        _decide(
            case,
            task,
            actor=reviewer,
            actor_label=None,
            decision=decision,
            reason=text,
            produced=codes,
        )
        if decision == TaskStatus.DENIED:
            # 银行开户预约 denied by the bank: its desk's place goes back to others.
            bookings_release_for_case(
                case=case, actor=reviewer, reason="不予办理", item_code=task.item_code
            )
        _release_tasks(case)
    return task


def produced_by(case: Application, item_code: str) -> list[dict[str, Any]]:
    """The values the approval of ITEM_CODE must create in this case (from its pinned plan)."""
    return [p for p in case.plan.get("produced", []) if p["by_item"] == item_code]


def _record_produced(case: Application, task: Task, given: dict[str, Any]) -> list[str]:
    """Validate the values this item creates, exactly those, each against its data element,
    and add them to the case's form data. Returns the codes recorded."""
    wanted = {p["code"]: p for p in produced_by(case, task.item_code)}
    errors = [
        {"field": str(k)[:100], "message": "本事项不产生此项数据"} for k in given if k not in wanted
    ]
    elements = element_definitions(list(wanted))
    clean: dict[str, Any] = {}
    for code, spec in wanted.items():
        raw = given.get(code)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            errors.append({"field": code, "message": f"准予办理时请录入{spec['label']}"})
            continue
        value, problem = _validate_value(elements[code], raw)
        if problem:
            errors.append({"field": code, "message": f"{spec['label']}：{problem}"})
        else:
            clean[code] = value
    if errors:
        raise CaseFormInvalid(details=errors)
    if clean:
        case.form_data = {**case.form_data, **clean}
        case.save(update_fields=["form_data_text", "updated_at"])
    return sorted(clean)


def _decide(case, task, *, actor, actor_label, decision, reason, produced=()) -> None:
    task.status = decision
    task.decided_by = actor
    task.decided_by_label = _actor_label(actor, actor_label)
    task.reason = reason
    task.decided_at = _now()
    task.row_version += 1
    task.save()
    definition = item_definition(task.item_code, task.item_version)
    if (
        decision == TaskStatus.APPROVED
        and definition.enterprise_status_on_approval
        and case.enterprise is not None
    ):
        enterprise_update(
            actor=actor or actor_label,
            enterprise=case.enterprise,
            changes={"status": definition.enterprise_status_on_approval},
        )
    if decision == TaskStatus.APPROVED and definition.outputs:
        # What the item issues exists from now on: a later item of the case can use it.
        _hooks_after_commit(case, "item_approved")
    _event(
        case,
        actor=actor,
        actor_label=actor_label,
        action="task_approved" if decision == TaskStatus.APPROVED else "task_denied",
        reason=reason,
        data={
            "task": task.pk,
            "item": task.item_code,
            "auto": actor_label == SYSTEM_AUTO,
            # Which values were created, never the values: the event log is read widely.
            **({"produced": list(produced)} if produced else {}),
        },
    )


def _maybe_conclude(case: Application) -> None:
    if case.status != CaseStatus.ACCEPTED:
        return
    statuses = list(case.tasks.values_list("status", flat=True))
    if not statuses or any(s not in DECIDED_TASK_STATUSES for s in statuses):
        return
    if all(s == TaskStatus.APPROVED for s in statuses):
        case.outcome = CaseOutcome.APPROVED
    elif all(s == TaskStatus.DENIED for s in statuses):
        case.outcome = CaseOutcome.DENIED
    else:
        case.outcome = CaseOutcome.PARTLY_APPROVED
    case.concluded_at = _now()
    _event(
        case,
        actor=None,
        actor_label="system",
        action="concluded",
        to_status=CaseStatus.CONCLUDED,
        data={"outcome": case.outcome, "delivery": case.delivery},
    )
    _hooks_after_commit(case, "issuance")
    # 统一出件: results delivered online are in the applicant's hands now and the file is
    # closed; counter pick-up and post wait for a person at the window (case_hand_out).
    if case.delivery == Delivery.ONLINE:
        _event(
            case, actor=None, actor_label="system", action="archived", to_status=CaseStatus.ARCHIVED
        )
