"""Scheduled sweeps: SLA (办理时限) reminders and escalation, 补正 deadlines and 容缺
deadlines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.cases import sla
from tongban.cases.errors import TaskNotFound
from tongban.cases.models import (
    Application,
    CaseStatus,
    MaterialHow,
    MaterialSubmission,
    SupplementRequest,
    Task,
    TaskStatus,
)
from tongban.cases.receipt import receipt_display
from tongban.cases.services._common import _event, _now, _today
from tongban.cases.services.review import _decide, _lock_task, _release_tasks
from tongban.notifications.services import notice_send

# ---------------------------------------------------------------- SLA


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    escalated: int


def _department_staff(department_id: int, roles: tuple[str, ...]) -> list[User]:
    ids = StaffAssignment.objects.filter(department_id=department_id, role__in=roles).values(
        "user_id"
    )
    return list(User.objects.filter(pk__in=ids, is_active=True))


def department_leads(department_id: int) -> list[User]:
    """Who an overdue task is escalated to: the department's 部门负责人 posts. A department
    that has not appointed one (a new one, or its lead just left) falls back to its
    administrator posts, then to its acceptors: an escalation nobody receives is a breach
    nobody answers for, so somebody of that department must always get it."""
    for role in (StaffRole.DEPARTMENT_LEAD, StaffRole.ADMINISTRATOR, StaffRole.ACCEPTOR):
        people = _department_staff(department_id, (role,))
        if people:
            return people
    return []


def task_sla_sweep(*, today: dt.date | None = None) -> SweepResult:
    """Remind a department's reviewers (and, for a claimed task, its claimant) of open tasks
    due today or on the next working day, and escalate tasks past due to the department's
    lead (see `department_leads`). Each task is reminded and escalated at most once, each in
    its own short transaction, so a sweep never holds a queue's locks for long."""
    today = today or _today()
    remind_until = sla.due_date(today, 1)
    open_statuses = (TaskStatus.PENDING, TaskStatus.CLAIMED)
    due_soon = Q(reminded_at__isnull=True, due_date__gte=today, due_date__lte=remind_until)
    overdue = Q(escalated_at__isnull=True, due_date__lt=today)
    reminded = escalated = 0
    ids = list(
        Task.objects.filter(due_soon | overdue, status__in=open_statuses)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for task_id in ids:
        with transaction.atomic():
            try:
                task = _lock_task(task_id)
            except TaskNotFound:
                continue
            if task.status not in open_statuses or task.due_date is None:
                continue
            receipt = receipt_display(task.case.receipt_no)
            if task.due_date < today and task.escalated_at is None:
                for user in department_leads(task.department_id):
                    notice_send(
                        recipient=user,
                        template="sla_escalation",
                        context={
                            "item_name": task.item_name,
                            "receipt": receipt,
                            "due_date": task.due_date,
                        },
                        # The lead reads the queue, filtered to what is late.
                        link="/staff/tasks/?status=overdue",
                    )
                task.escalated_at = _now()
                task.save(update_fields=["escalated_at"])
                _event(
                    task.case,
                    actor=None,
                    actor_label="system:sla",
                    action="task_overdue",
                    data={
                        "task": task.pk,
                        "item": task.item_code,
                        "due_date": task.due_date.isoformat(),
                    },
                )
                escalated += 1
            elif today <= task.due_date <= remind_until and task.reminded_at is None:
                reviewers = _department_staff(task.department_id, (StaffRole.REVIEWER,))
                # The claimant is the one who must finish it, even if they have since left
                # the department's reviewer posts.
                claimant = task.claimed_by_id if task.status == TaskStatus.CLAIMED else None
                if claimant and all(u.pk != claimant for u in reviewers):
                    reviewers += list(User.objects.filter(pk=claimant, is_active=True))
                for user in reviewers:
                    notice_send(
                        recipient=user,
                        template="sla_reminder",
                        context={
                            "item_name": task.item_name,
                            "receipt": receipt,
                            "due_date": task.due_date,
                        },
                        link=f"/staff/tasks/{task.pk}/",
                    )
                task.reminded_at = _now()
                task.save(update_fields=["reminded_at"])
                reminded += 1
    return SweepResult(reminded=reminded, escalated=escalated)


# ---------------------------------------------------------------- 补正 and 容缺 deadlines

SYSTEM_SLA = "system:sla"
SUPPLEMENT_EXPIRED_TASK_REASON = "逾期未补正"


@dataclass(frozen=True)
class SupplementSweepResult:
    reminded: int
    expired: int


def _current_supplement(case: Application) -> SupplementRequest | None:
    """The request the case waits on: the newest unfulfilled one (as `case_supplement`
    reads it). An older unfulfilled one belongs to a 补正 that already expired."""
    if case.status != CaseStatus.SUPPLEMENT_REQUESTED:
        return None
    return case.supplements.filter(fulfilled_at__isnull=True).order_by("-pk").first()


def case_supplement_sweep(*, today: dt.date | None = None) -> SupplementSweepResult:
    """补正 deadlines. On the working day before the deadline (or on the day, if the sweep
    first runs then) the applicant is reminded once. After the deadline:

    - at intake (the case was never accepted) the application is treated as withdrawn
      (视为放弃申请): the case is refused by system:sla, naming the deadline;
    - asked for by a reviewer, that reviewer's task is decided "not granted" (逾期未补正) and
      the case goes on like after any decision, concluding when every task is decided.

    Each case is handled in its own transaction under its row lock, re-reading its state, so
    two sweeps at once (two workers) act once: the second finds the case no longer waiting, or
    the reminder event already written."""
    today = today or _today()
    remind_until = sla.due_date(today, 1)
    case_ids = list(
        SupplementRequest.objects.filter(
            fulfilled_at__isnull=True,
            case__status=CaseStatus.SUPPLEMENT_REQUESTED,
            deadline__lte=remind_until,
        )
        .order_by("case_id")
        .values_list("case_id", flat=True)
        .distinct()
    )
    reminded = expired = 0
    for case_id in case_ids:
        with transaction.atomic():
            case = Application.objects.select_for_update().filter(pk=case_id).first()
            request = _current_supplement(case) if case is not None else None
            if request is None:
                continue
            if request.deadline < today:
                _supplement_expire(case, request)
                expired += 1
            elif (
                request.deadline <= remind_until
                and not case.events.filter(
                    action="supplement_reminder", data__supplement=request.pk
                ).exists()
            ):
                _supplement_remind(case, request)
                reminded += 1
    return SupplementSweepResult(reminded=reminded, expired=expired)


def _supplement_remind(case: Application, request: SupplementRequest) -> None:
    notice_send(
        recipient=case.applicant,
        template="supplement_reminder",
        context={
            "case_name": case.name,
            "deadline_text": f"{request.deadline:%Y年%m月%d日}",
            "deadline": request.deadline,
            "receipt": receipt_display(case.receipt_no),
        },
        link=f"/me/cases/{case.receipt_no}/#supplement",
    )
    _event(
        case,
        actor=None,
        actor_label=SYSTEM_SLA,
        action="supplement_reminder",
        data={"supplement": request.pk, "deadline": request.deadline.isoformat()},
    )


def _supplement_expire(case: Application, request: SupplementRequest) -> None:
    data = {"supplement": request.pk, "deadline": request.deadline.isoformat()}
    waiting = list(case.tasks.select_for_update().filter(status=TaskStatus.SUPPLEMENT_REQUESTED))
    if case.accepted_at is None:
        # Before acceptance there are no tasks: the application itself lapses.
        _event(
            case,
            actor=None,
            actor_label=SYSTEM_SLA,
            action="supplement_expired",
            to_status=CaseStatus.REFUSED,
            reason=f"申请人未在补正期限（{request.deadline}）内补正，视为放弃申请。",
            data=data,
        )
        return
    # A reviewer's 补正: the case returns to processing and the waiting task is decided the
    # way its reviewer would have, through the same decision and conclusion path.
    _event(
        case,
        actor=None,
        actor_label=SYSTEM_SLA,
        action="supplement_expired",
        to_status=CaseStatus.ACCEPTED,
        reason=f"申请人未在补正期限（{request.deadline}）内补正，相关事项不予办理。",
        data={**data, "tasks": [t.pk for t in waiting]},
    )
    for task in waiting:
        task.case = case
        _decide(
            case,
            task,
            actor=None,
            actor_label=SYSTEM_SLA,
            decision=TaskStatus.DENIED,
            reason=SUPPLEMENT_EXPIRED_TASK_REASON,
        )
    _release_tasks(case)


def case_deferred_material_sweep(*, today: dt.date | None = None) -> int:
    """容缺 materials past their due date: the applicant and the lead department's acceptors
    are told once per material (event `deferred_material_overdue`); reviewers see the flag on
    their task page. Nothing is decided automatically: whether a late material ends the
    matter is the department's call (容缺受理 rules leave it to the accepting department), so
    the sweep informs and a person decides. Returns how many materials were flagged."""
    today = today or _today()
    open_statuses = (CaseStatus.ACCEPTED, CaseStatus.SUPPLEMENT_REQUESTED)
    rows = list(
        MaterialSubmission.objects.filter(
            how=MaterialHow.DEFERRED, due_date__lt=today, case__status__in=open_statuses
        )
        .order_by("case_id", "material_code")
        .values_list("case_id", "material_code")
        .distinct()
    )
    flagged = 0
    for case_id, code in rows:
        with transaction.atomic():
            case = Application.objects.select_for_update().filter(pk=case_id).first()
            if case is None or case.status not in open_statuses:
                continue
            material = case.materials.filter(
                material_code=code, how=MaterialHow.DEFERRED, due_date__lt=today
            ).first()
            if (
                material is None
                or case.events.filter(
                    action="deferred_material_overdue", data__material=code
                ).exists()
            ):
                continue
            name = next((m["name"] for m in case.plan["materials"] if m["code"] == code), code)
            receipt = receipt_display(case.receipt_no)
            notice_send(
                recipient=case.applicant,
                template="deferred_overdue",
                context={"material": name, "receipt": receipt, "due_date": material.due_date},
                link=f"/me/cases/{case.receipt_no}/#deferred",
            )
            for user in _department_staff(case.lead_department_id, (StaffRole.ACCEPTOR,)):
                notice_send(
                    recipient=user,
                    title=f"容缺材料已逾期：{name}"[:200],
                    body=f"办件 {receipt} 的{name}应于 {material.due_date} 前补交，尚未补交。",
                    link=f"/staff/intake/{case.receipt_no}/",
                    category="deferred_overdue",
                )
            _event(
                case,
                actor=None,
                actor_label=SYSTEM_SLA,
                action="deferred_material_overdue",
                data={"material": code, "due_date": material.due_date.isoformat()},
            )
            flagged += 1
    return flagged
