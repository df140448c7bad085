"""Every read of 行政协助 for pages and the API: who may ask and answer, the queues, a case's
requests as evidence, and the answer file (audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.accounts.selectors import is_staff_member
from tongban.assistance.errors import AssistanceNotFound
from tongban.assistance.models import WAITING_STATUSES, AssistanceRequest, AssistanceStatus
from tongban.cases.models import Application, Task, TaskStatus
from tongban.cases.receipt import receipt_display
from tongban.cases.selectors import case_visible_to
from tongban.catalog.models import Department
from tongban.catalog.schemas import PERSON_ROLE_LABELS, ROLE_IDENTITY
from tongban.common.services import audit_record

# Who answers for a department: the posts that handle its cases.
ANSWER_ROLES = (StaffRole.REVIEWER, StaffRole.ACCEPTOR)
OPEN_TASK_STATUSES = (TaskStatus.PENDING, TaskStatus.CLAIMED)
LIST_LIMIT = 200
DONE_LIMIT = 50


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def answer_departments(user: User | None) -> list[int]:
    """Departments whose incoming requests USER may answer."""
    if not _active(user):
        return []
    return list(
        StaffAssignment.objects.filter(user=user, role__in=ANSWER_ROLES)
        .values_list("department_id", flat=True)
        .distinct()
    )


def reviewer_departments(user: User | None) -> list[int]:
    """Departments USER reviews for: the same post the case review itself asks for."""
    if not _active(user):
        return []
    return list(
        StaffAssignment.objects.filter(user=user, role=StaffRole.REVIEWER).values_list(
            "department_id", flat=True
        )
    )


def may_request_for(user: User | None, task: Task) -> bool:
    return task.department_id in reviewer_departments(user)


def may_answer(user: User | None, request: AssistanceRequest) -> bool:
    return request.target_department_id in answer_departments(user)


def may_open_assistance(user: User | None) -> bool:
    """The 行政协助 page: for anyone who answers for a department or asks as a reviewer."""
    return bool(answer_departments(user))


def department_answerers(department_id: int) -> list[User]:
    """Who is told of a request and reminded of its deadline: the department's case posts."""
    ids = StaffAssignment.objects.filter(department_id=department_id, role__in=ANSWER_ROLES).values(
        "user_id"
    )
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def target_departments(*, exclude_id: int | None = None) -> list[Department]:
    """Departments a request can go to: every active one but the requester's own."""
    qs = Department.objects.filter(is_active=True).order_by("code")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs)


def subject_options(case: Application) -> list[dict[str, Any]]:
    """Whom a request can be about: the people and enterprise the case names, each with a
    label the other department recognises them by and their identifier (ID number or credit
    code), which the request keeps encrypted. Nobody the case does not name."""
    form = case.form_data
    options: list[dict[str, Any]] = []
    if case.applicant_profile_id is not None:
        profile = case.applicant_profile
        name, identifier = profile.name, profile.id_number
    else:
        name, identifier = form.get("applicant.name", ""), form.get("applicant.id_number", "")
    if name:
        options.append(
            {
                "role": "applicant",
                "label": f"{PERSON_ROLE_LABELS['applicant']}：{name}",
                "identifier": str(identifier or ""),
            }
        )
    for role, (id_code, name_code) in ROLE_IDENTITY.items():
        if role == "legal_representative" and case.enterprise_id is None:
            continue
        person = str(form.get(name_code) or "").strip()
        if person:
            options.append(
                {
                    "role": role,
                    "label": f"{PERSON_ROLE_LABELS[role]}：{person}"[:120],
                    "identifier": str(form.get(id_code) or ""),
                }
            )
    if case.enterprise_id is not None:
        enterprise = case.enterprise
        options.append(
            {
                "role": "enterprise",
                "label": f"{PERSON_ROLE_LABELS['enterprise']}：{enterprise.name}"[:120],
                "identifier": enterprise.uscc or "",
            }
        )
    return options


def task_materials(task: Task) -> dict[str, str]:
    """The requesting item's materials (code → name), as pinned in the case's plan."""
    return {
        m["code"]: m["name"]
        for m in task.case.plan.get("materials", [])
        if task.item_code in m.get("items", [])
    }


def _is_overdue(r: AssistanceRequest, today: dt.date) -> bool:
    return r.status in WAITING_STATUSES and r.due_date < today


def _row(r: AssistanceRequest, *, today: dt.date) -> dict[str, Any]:
    case = r.case
    return {
        "id": r.pk,
        "receipt_no": case.receipt_no,
        "receipt_display": receipt_display(case.receipt_no),
        "case_name": case.name,
        "task_id": r.task_id,
        "item_name": r.task.item_name,
        "requesting_department": r.requesting_department.name,
        "requested_by_label": r.requested_by_label,
        "target_department": r.target_department.code,
        "target_department_name": r.target_department.name,
        "subject_role": r.subject_role,
        "subject_label": r.subject_label,
        "question": r.question,
        "materials": r.materials,
        "due_days": r.due_days,
        "due_date": r.due_date,
        "status": r.status,
        "status_label": r.get_status_display(),
        "waiting": r.status in WAITING_STATUSES,
        "overdue": _is_overdue(r, today),
        "answer": r.answer,
        "answered_by_label": r.answered_by_label,
        "answered_at": r.answered_at,
        "has_file": bool(r.answer_file),
        "file_type": r.answer_file_type,
        "file_size": r.answer_file_size,
        "withdrawn_at": r.withdrawn_at,
        "withdraw_reason": r.withdraw_reason,
        "reminders_sent": r.reminders_sent,
        "created_at": r.created_at,
    }


def _rows(qs: QuerySet[AssistanceRequest], *, today: dt.date | None = None) -> list[dict]:
    today = today or timezone.localdate()
    qs = qs.select_related("case", "task", "requesting_department", "target_department")
    return [_row(r, today=today) for r in qs]


def _waiting_first(qs: QuerySet[AssistanceRequest]) -> QuerySet[AssistanceRequest]:
    # Overdue first (set by the sweep), then soonest due.
    rank = Case(
        When(status=AssistanceStatus.OVERDUE, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return qs.filter(status__in=WAITING_STATUSES).order_by(rank, "due_date", "pk")


def assistance_inbox(*, user: User | None, today: dt.date | None = None) -> dict[str, list]:
    """/staff/assistance/: what USER's departments are asked (waiting, overdue first; the
    latest answered or withdrawn) and what their reviewer posts asked of others."""
    incoming = AssistanceRequest.objects.filter(target_department_id__in=answer_departments(user))
    outgoing = AssistanceRequest.objects.filter(
        requesting_department_id__in=reviewer_departments(user)
    )
    return {
        "waiting": _rows(_waiting_first(incoming)[:LIST_LIMIT], today=today),
        "done": _rows(
            incoming.exclude(status__in=WAITING_STATUSES).order_by("-answered_at", "-pk")[
                :DONE_LIMIT
            ],
            today=today,
        ),
        "sent": _rows(outgoing.order_by("-created_at", "-pk")[:LIST_LIMIT], today=today),
    }


def assistance_list(
    *, user: User | None, box: str = "incoming", waiting_only: bool = False
) -> list[dict[str, Any]]:
    """The API's list: requests to USER's departments (incoming) or from them (sent)."""
    if box == "sent":
        qs = AssistanceRequest.objects.filter(
            requesting_department_id__in=reviewer_departments(user)
        )
    else:
        qs = AssistanceRequest.objects.filter(target_department_id__in=answer_departments(user))
    if waiting_only:
        return _rows(_waiting_first(qs)[:LIST_LIMIT])
    return _rows(qs.order_by("-created_at", "-pk")[:LIST_LIMIT])


def waiting_count(user: User | None) -> int:
    """How many requests USER's departments have yet to answer (the 工作台 card)."""
    departments = answer_departments(user)
    if not departments:
        return 0
    return AssistanceRequest.objects.filter(
        target_department_id__in=departments, status__in=WAITING_STATUSES
    ).count()


def waiting_receipts(receipt_nos: list[str]) -> set[str]:
    """Of these cases, those waiting on a request (等待行政协助), in one query."""
    if not receipt_nos:
        return set()
    return set(
        AssistanceRequest.objects.filter(
            case__receipt_no__in=receipt_nos, status__in=WAITING_STATUSES
        ).values_list("case__receipt_no", flat=True)
    )


def _staff_sees_case(user: User | None, case: Application) -> bool:
    return is_staff_member(user) and case_visible_to(user, case)


def case_assistance(*, user: User | None, task_id: int) -> dict[str, Any] | None:
    """The panel on a task page: the case's requests (answers are 审查依据), whether the case
    waits on one, and whether USER may ask. None when USER may not see the case."""
    task = Task.objects.select_related("case").filter(pk=task_id).first()
    if task is None or not _staff_sees_case(user, task.case):
        return None
    rows = _rows(AssistanceRequest.objects.filter(case=task.case).order_by("created_at", "pk"))
    return {
        "task_id": task.pk,
        "requests": rows,
        "waiting": [r for r in rows if r["waiting"]],
        "answered": [r for r in rows if r["status"] == AssistanceStatus.ANSWERED],
        "may_request": task.status in OPEN_TASK_STATUSES and may_request_for(user, task),
    }


def sees_request(user: User | None, request: AssistanceRequest) -> bool:
    """Whether the request exists for USER: its answerers, and staff who may see its case."""
    return may_answer(user, request) or _staff_sees_case(user, request.case)


def _request_for(user: User | None, request_id: int) -> tuple[AssistanceRequest, bool]:
    """The request and whether USER answers for it. Anyone else who may not see the case
    is told it does not exist."""
    r = (
        AssistanceRequest.objects.select_related(
            "case", "task", "requesting_department", "target_department"
        )
        .filter(pk=request_id if 0 < request_id < 2**62 else 0)
        .first()
    )
    if r is None:
        raise AssistanceNotFound()
    answers = may_answer(user, r)
    if not answers and not _staff_sees_case(user, r.case):
        raise AssistanceNotFound()
    return r, answers


def assistance_detail(
    *, user: User | None, request_id: int, ip_address: str | None = None, reveal: bool = True
) -> dict[str, Any]:
    """One request. Its answerers also read whom it is about (the identifier, unless REVEAL
    is off), and that read is recorded against the resident like any staff read of their
    data."""
    r, answers = _request_for(user, request_id)
    row = _row(r, today=timezone.localdate())
    row["may_answer"] = answers and r.status in WAITING_STATUSES
    row["may_withdraw"] = r.status in WAITING_STATUSES and (
        r.requesting_department_id in reviewer_departments(user)
    )
    row["subject_identifier"] = ""
    if reveal and answers and r.subject_identifier:
        row["subject_identifier"] = r.subject_identifier
        audit_record(
            actor=user,
            action="personal_data.read",
            object_type="case",
            object_id=r.case.receipt_no,
            subject_resident_id=r.case.applicant_profile_id
            if r.subject_role == "applicant"
            else None,
            subject_enterprise_id=r.case.enterprise_id if r.subject_role == "enterprise" else None,
            purpose=f"答复行政协助（{r.requesting_department.name}）",
            ip_address=ip_address,
            data={"assistance": r.pk, "subject_role": r.subject_role},
        )
    return row


def answer_file(*, user: User | None, request_id: int, ip_address: str | None = None):
    """The answer's file, for staff who may see the case or answered it; every opening is
    audited against the case's applicant, as opening a material is."""
    r, _answers = _request_for(user, request_id)
    if not r.answer_file:
        raise AssistanceNotFound()
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="case",
        object_id=r.case.receipt_no,
        subject_resident_id=r.case.applicant_profile_id,
        purpose=f"查看行政协助答复（{r.target_department.name}）",
        ip_address=ip_address,
        data={"assistance": r.pk},
    )
    return r
