"""Every read of cases and tasks for pages and the API.

Who sees a case: its applicant; an agent of its enterprise; staff of a department that has a
task in it, or of its lead department when they are its acceptor, or a counter clerk. To
everyone else it does not exist (404 CASE_NOT_FOUND, never 403 that would confirm it does).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from tongban.accounts.models import (
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.cases.errors import CaseNotFound, TaskNotFound
from tongban.cases.models import (
    OPEN_TASK_STATUSES,
    Application,
    CaseEvent,
    Draft,
    MaterialSubmission,
    Task,
    TaskStatus,
)
from tongban.cases.receipt import receipt_display, receipt_normalise
from tongban.catalog.guide import guide_for_bundle, guide_for_item
from tongban.catalog.selectors import element_definitions, item_definition
from tongban.common.services import audit_record

WORKBENCH_LIMIT = 200


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def case_visible_to(user: User | None, case: Application) -> bool:
    if not _active(user):
        return False
    if case.applicant_id == user.pk:
        return True
    if (
        case.enterprise_id
        and EnterpriseMembership.objects.filter(
            user=user, enterprise_id=case.enterprise_id
        ).exists()
    ):
        return True
    posts = StaffAssignment.objects.filter(user=user)
    if posts.filter(role=StaffRole.COUNTER_CLERK).exists():
        return True
    if posts.filter(role=StaffRole.ACCEPTOR, department_id=case.lead_department_id).exists():
        return True
    departments = posts.filter(role=StaffRole.REVIEWER).values("department_id")
    return case.tasks.filter(department_id__in=departments).exists()


def case_for(*, user: User | None, receipt_no: str) -> Application:
    number = receipt_normalise(receipt_no)
    if number is None or not _active(user):
        raise CaseNotFound()
    case = Application.objects.select_related("lead_department").filter(receipt_no=number).first()
    if case is None or not case_visible_to(user, case):
        raise CaseNotFound()
    return case


def case_detail(*, user: User | None, receipt_no: str) -> dict[str, Any]:
    """Status, the events timeline, and what each department is doing, with due dates."""
    case = case_for(user=user, receipt_no=receipt_no)
    events = list(case.events.order_by("seq"))
    tasks = list(case.tasks.select_related("department").order_by("pk"))
    return {
        "receipt_no": case.receipt_no,
        "receipt_display": receipt_display(case.receipt_no),
        "kind": case.kind,
        "code": case.code,
        "version": case.version,
        "name": case.name,
        "status": case.status,
        "status_label": case.get_status_display(),
        "outcome": case.outcome,
        "channel": case.channel,
        "delivery": case.delivery,
        "lead_department": case.lead_department.name,
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "concluded_at": case.concluded_at,
        "promised_date": case.promised_date,
        "events": [_event_view(e) for e in events],
        "tasks": [_task_row(t) for t in tasks],
        "supplement": _open_supplement(case),
    }


def _open_supplement(case: Application) -> dict[str, Any] | None:
    request = case.supplements.filter(fulfilled_at__isnull=True).order_by("-pk").first()
    if request is None:
        return None
    return {
        "materials": request.material_codes,
        "fields": request.field_codes,
        "reason": request.reason,
        "deadline": request.deadline,
    }


def _event_view(e: CaseEvent) -> dict[str, Any]:
    # Staff names are not the applicant's business; the post is.
    label = e.actor_label if e.actor_label.startswith("system") else ""
    return {
        "seq": e.seq,
        "at": e.at,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "reason": e.reason,
        "actor": label or ("staff" if e.actor and e.actor.kind == User.Kind.STAFF else "user"),
    }


def _task_row(t: Task) -> dict[str, Any]:
    return {
        "id": t.pk,
        "receipt_no": t.case.receipt_no if "case" in t._state.fields_cache else "",
        "item_code": t.item_code,
        "item_name": t.item_name,
        "department": t.department.code,
        "department_name": t.department.name,
        "status": t.status,
        "status_label": t.get_status_display(),
        "due_date": t.due_date,
        "decided_at": t.decided_at,
        "reason": t.reason,
        "automatic": t.decided_by_label == "system:auto",
        "row_version": t.row_version,
    }


def cases_for_applicant(*, user: User | None, limit: int = 50) -> list[dict[str, Any]]:
    """我的办件: own cases and those of enterprises the user acts for, newest first."""
    if not _active(user):
        return []
    enterprises = EnterpriseMembership.objects.filter(user=user).values("enterprise_id")
    rows = (
        Application.objects.filter(Q(applicant=user) | Q(enterprise_id__in=enterprises))
        .order_by("-submitted_at", "-pk")
        .values("receipt_no", "name", "kind", "code", "status", "outcome", "submitted_at",
                "promised_date")[: max(1, min(limit, 200))]
    )  # fmt: skip
    return list(rows)


def reviewer_departments(user: User | None) -> list[int]:
    if not _active(user):
        return []
    return list(
        StaffAssignment.objects.filter(user=user, role=StaffRole.REVIEWER).values_list(
            "department_id", flat=True
        )
    )


def workbench_tasks(
    *,
    user: User | None,
    status: str | None = None,
    due_before: dt.date | None = None,
    item: str | None = None,
    limit: int = WORKBENCH_LIMIT,
) -> list[dict[str, Any]]:
    """The reviewer's departments' queue, soonest due first. Served by the (department,
    status, due_date) index: the cost follows the queue's length, not the number of cases."""
    departments = reviewer_departments(user)
    if not departments:
        return []
    qs: QuerySet[Task] = Task.objects.filter(department_id__in=departments)
    if status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=(TaskStatus.PENDING, TaskStatus.CLAIMED))
    if due_before:
        qs = qs.filter(due_date__lte=due_before)
    if item:
        qs = qs.filter(item_code=item)
    qs = qs.select_related("department", "case").order_by("due_date", "pk")
    return [_task_row(t) for t in qs[: max(1, min(limit, WORKBENCH_LIMIT))]]


def tasks_breached(*, today: dt.date, department_id: int | None = None) -> QuerySet[Task]:
    """Open tasks past their due date (the SLA breach flag)."""
    qs = Task.objects.filter(status__in=OPEN_TASK_STATUSES, due_date__lt=today)
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    return qs


def task_view_for_reviewer(*, user: User | None, task_id: int) -> dict[str, Any]:
    """What a reviewer sees of a case: only the data elements and materials THIS item
    needs (data minimisation). The read is audited against the resident."""
    departments = reviewer_departments(user)
    task = (
        Task.objects.select_related("case", "department")
        .filter(pk=task_id, department_id__in=departments)
        .first()
        if departments and 0 < task_id < 2**62
        else None
    )
    if task is None:
        raise TaskNotFound()
    case = task.case
    fields = {f["code"] for f in case.plan.get("fields", []) if task.item_code in f["items"]}
    materials = {m["code"] for m in case.plan.get("materials", []) if task.item_code in m["items"]}
    form = {k: v for k, v in case.form_data.items() if k in fields}
    submitted = MaterialSubmission.objects.filter(case=case, material_code__in=materials)
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=case.applicant_profile_id,
        purpose=f"审核{task.item_name}",
        data={"task": task.pk, "fields": sorted(form)},
    )
    definition = item_definition(task.item_code, task.item_version)
    return {
        **_task_row(task),
        "receipt_no": case.receipt_no,
        "form": form,
        "materials": [
            {
                "code": m.material_code,
                "how": m.how,
                "content_type": m.content_type,
                "size": m.size,
                "sha256": m.sha256,
                "due_date": m.due_date,
            }
            for m in submitted
        ],
        "spared_materials": [
            {"code": m["code"], "reason": m["spared_reason"]}
            for m in case.plan.get("materials", [])
            if m["code"] in materials and m["spared"]
        ],
        "review_points": task.auto_decision.get("rules", []),
        "conditions": list(definition.conditions),
    }


def form_prefill(
    *,
    user: User | None,
    kind: str,
    code: str,
    answers: dict[str, str],
    enterprise: Enterprise | None = None,
) -> dict[str, Any]:
    """Values for the merged form from what the platform already holds: the applicant's own
    profile (一人一档) and, for an enterprise they act for, its profile (一企一档). Certificate
    claims and data sources plug in here later through the same element `prefill` entries."""
    if not _active(user):
        return {}
    profile = ResidentProfile.objects.filter(user=user).first()
    if (
        enterprise is not None
        and not EnterpriseMembership.objects.filter(user=user, enterprise=enterprise).exists()
    ):
        enterprise = None
    run = guide_for_bundle if kind == "bundle" else guide_for_item
    guide = run(code=code, answers=answers, applicant=profile)
    elements = element_definitions([f.code for f in guide.fields])
    values: dict[str, Any] = {}
    for f in guide.fields:
        element = elements.get(f.code)
        for source in element.prefill if element else []:
            holder = {"profile": profile, "enterprise": enterprise}.get(source.source)
            value = getattr(holder, source.field, None) if holder is not None else None
            if value not in (None, ""):
                values[f.code] = value.isoformat() if isinstance(value, dt.date) else value
                break
    return values


def draft_for(*, user: User | None, kind: str, code: str) -> Draft | None:
    if not _active(user):
        return None
    return Draft.objects.filter(applicant=user, kind=kind, code=code).first()
