"""Every read of cases and tasks for pages and the API.

Who sees a case: its applicant; an agent of its enterprise; staff of a department that has a
task in it; whoever may handle its intake (acceptor_may_handle: the lead department's
acceptors, the clerks of the hall it was filed at); once concluded, whoever may hand it out
(hand_out_may_handle). To everyone else it does not exist (404 CASE_NOT_FOUND, never 403
that would confirm it does).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import (
    Enterprise,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import (
    enterprise_profile_for,
    id_number_unused,
    live_memberships,
    staff_post_label,
)
from tongban.accounts.validators import mask_name, parse_credit_code, parse_id_number
from tongban.cases.errors import CaseNotFound, MaterialFileNotFound, TaskNotFound
from tongban.cases.models import (
    APPLICANT_TASK_LABELS,
    OPEN_TASK_STATUSES,
    Application,
    CaseEvent,
    CaseOutcome,
    CaseStatus,
    Channel,
    Delivery,
    Draft,
    DraftUpload,
    MaterialHow,
    MaterialSubmission,
    SupplementRequest,
    Task,
    TaskStatus,
)
from tongban.cases.receipt import receipt_display, receipt_normalise
from tongban.catalog.guide import (
    applicant_person,
    evidence_providers,
    guide_for_bundle,
    guide_for_item,
)
from tongban.catalog.selectors import element_definitions, form_display, item_definition
from tongban.common.crypto import lookup_hash
from tongban.common.errors import DomainError
from tongban.common.services import audit_record

WORKBENCH_LIMIT = 200


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def case_visible_to(user: User | None, case: Application) -> bool:
    if not _active(user):
        return False
    if case.applicant_id == user.pk:
        return True
    if _granted_to(user, case):
        return True
    if _acted_for(user, case):
        return True
    if (
        case.enterprise_id
        and live_memberships().filter(user=user, enterprise_id=case.enterprise_id).exists()
    ):
        return True
    if acceptor_may_handle(user, case):
        return True
    if (
        case.status in (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED)
        and case.delivery in AWAITING_HANDOUT_DELIVERIES
        and hand_out_may_handle(user, case)
    ):
        return True
    departments = StaffAssignment.objects.filter(user=user, role=StaffRole.REVIEWER).values(
        "department_id"
    )
    return case.tasks.filter(department_id__in=departments).exists()


def _granted_to(user: User, case: Application) -> bool:
    """免申即享: a case the platform concluded for this person is theirs to read, though they
    did not file it (its applicant is the platform's own account)."""
    return (
        case.channel == Channel.AUTOMATIC
        and case.applicant_profile_id is not None
        and ResidentProfile.objects.filter(pk=case.applicant_profile_id, user=user).exists()
    )


def _acted_for(user: User, case: Application) -> bool:
    """亲友代办: the relative who filed this case follows it while their authorisation is
    live; once it is revoked or expired the case is the 被代办人's alone."""
    if case.acted_by_id != user.pk or case.delegation_id is None:
        return False
    from tongban.delegation.errors import DelegationNotValid
    from tongban.delegation.selectors import delegation_for_acting

    try:
        delegation_for_acting(user=user, delegation_id=case.delegation_id)
    except DelegationNotValid:
        return False
    return True


def case_for(*, user: User | None, receipt_no: str) -> Application:
    number = receipt_normalise(receipt_no)
    if number is None or not _active(user):
        raise CaseNotFound()
    case = (
        Application.objects.select_related("lead_department", "hall")
        .filter(receipt_no=number)
        .first()
    )
    if case is None or not case_visible_to(user, case):
        raise CaseNotFound()
    return case


def case_detail(*, user: User | None, receipt_no: str) -> dict[str, Any]:
    """Status, the events timeline, and what each department is doing, with due dates."""
    case = case_for(user=user, receipt_no=receipt_no)
    events = list(case.events.order_by("seq"))
    tasks = list(case.tasks.select_related("department").order_by("pk"))
    staff = _viewer_is_staff(user)
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
        "outcome_label": case.get_outcome_display() if case.outcome else "",
        "channel": case.channel,
        "channel_label": case.get_channel_display(),
        "delivery": case.delivery,
        "delivery_label": case.get_delivery_display(),
        "lead_department": case.lead_department.name,
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "concluded_at": case.concluded_at,
        "promised_date": case.promised_date,
        "hall": case.hall.name if case.hall_id else "",
        "handout": handout_state(case),
        "events": [_event_view(e, staff=staff) for e in events],
        "tasks": [_task_row(t, staff=staff) for t in tasks],
        "supplement": _open_supplement(case),
        "material_counts": material_counts(case),
        # 亲友代办: who filed it for whom (the applicant reads 由 X 代办, the relative 为 X).
        **_acting_names(case, user),
    }


def _acting_names(case: Application, user: User | None) -> dict[str, Any]:
    if case.acted_by_id is None:
        return {"acted_by_name": "", "acted_for_name": "", "acted_by_me": False}
    names = dict(
        ResidentProfile.objects.filter(
            Q(user_id=case.acted_by_id) | Q(pk=case.applicant_profile_id)
        ).values_list("pk", "name")
    )
    by = ResidentProfile.objects.filter(user_id=case.acted_by_id).values_list("pk", flat=True)
    return {
        "acted_by_name": names.get(next(iter(by), None), ""),
        "acted_for_name": names.get(case.applicant_profile_id, ""),
        "acted_by_me": user is not None and case.acted_by_id == user.pk,
    }


def case_answers_for_applicant(*, user: User | None, case: Application) -> list[dict[str, Any]]:
    """申请信息: what the applicant (or an agent of the enterprise) submitted, each value with
    its label as people read it. Empty for anyone else, staff included: staff read a case's
    data on their own, audited pages, only what their work needs."""
    if not _active(user) or user.kind == User.Kind.STAFF:
        return []
    own = (
        case.applicant_id == user.pk
        or _granted_to(user, case)
        or _acted_for(user, case)
        or (
            case.enterprise_id is not None
            and live_memberships().filter(user=user, enterprise_id=case.enterprise_id).exists()
        )
    )
    if not own:
        return []
    form = case.form_data
    display = form_display(form)
    rows = [
        {"code": f["code"], "label": f["label"], "display": display.get(f["code"], "")}
        for f in case.plan.get("fields", [])
        if display.get(f["code"])
    ]
    if case.acted_by_id == user.pk and case.applicant_id != user.pk:
        # 亲友代办: the relative reads the 被代办人's case data; the 被代办人 is shown it.
        audit_record(
            actor=user,
            action="personal_data.read",
            object_type="case",
            object_id=case.receipt_no,
            subject_resident_id=case.applicant_profile_id,
            purpose="亲友代办：查看代为提交的办件",
            data={
                "use": "delegation_case",
                "fields": [r["code"] for r in rows],
                "receipt_no": case.receipt_no,
                "post": "代办人" + (_acting_names(case, user)["acted_by_name"]),
            },
        )
    return rows


def _open_supplement(case: Application) -> dict[str, Any] | None:
    # A request that expired (视为放弃 / 逾期未补正) stays unfulfilled but is no longer open.
    if case.status != CaseStatus.SUPPLEMENT_REQUESTED:
        return None
    request = case.supplements.filter(fulfilled_at__isnull=True).order_by("-pk").first()
    if request is None:
        return None
    return {
        "materials": request.material_codes,
        "fields": request.field_codes,
        "reason": request.reason,
        "deadline": request.deadline,
    }


# A 补正 supplied at a counter by the clerk serving the applicant (窗口补正).
COUNTER_SUPPLEMENT_LABEL = "窗口补正（原件已当面核验）"
# 办理记录: each event as the applicant reads it (pages and the API's `label`).
EVENT_LABELS = {
    "submitted": "提交申请",
    "granted_automatically": "经数据比对符合条件，免申即享",
    "accepted": "受理",
    "accepted_auto": "自动受理",
    "accepted_deferred": "容缺受理",
    "refused": "不予受理",
    "supplement_requested": "要求补正",
    "supplemented": "提交补正",
    "deferred_material_submitted": "补交容缺材料",
    "task_released": "开始办理",
    "task_claimed": "开始审核",
    "task_approved": "准予办理",
    "task_denied": "不予办理",
    "task_overdue": "超过办理期限",
    "supplement_reminder": "补正期限提醒",
    "supplement_expired": "逾期未补正",
    "deferred_material_overdue": "容缺材料逾期未补交",
    "concluded": "办结",
    "handed_out": "出件",
    "archived": "归档",
    "certificates_issued": "发证",
    # 行政协助 (tongban.assistance): the case waits on another department's answer.
    "assistance_requested": "发起行政协助",
    "assistance_answered": "收到行政协助答复",
    "assistance_withdrawn": "撤回行政协助",
    "assistance_overdue": "行政协助逾期未答复",
}


# Staff-typed text addressed to the applicant: why the case was refused, what to supplement,
# why an item was denied, who collected the results or the tracking number. Anything else staff
# type (受理意见, an approval's remark) is an internal note (内部备注) for staff only: not on
# the applicant's pages, in the API they read, or in their notices.
_APPLICANT_REASON_ACTIONS = frozenset(
    {"refused", "supplement_requested", "task_denied", "handed_out", "archived",
     # 行政协助: the service writes which department is asked, never the question.
     "assistance_requested"}
)  # fmt: skip


def reason_for_applicant(*, action: str, actor_label: str) -> bool:
    """Whether an event's reason may reach the applicant (the system's own reasons always
    may: they are written for them)."""
    return action in _APPLICANT_REASON_ACTIONS or actor_label.startswith("system")


def _viewer_is_staff(user: User | None) -> bool:
    return _active(user) and user.kind == User.Kind.STAFF


def _event_view(e: CaseEvent, *, staff: bool = True) -> dict[str, Any]:
    # Staff names are not the applicant's business; the post is.
    label = e.actor_label if e.actor_label.startswith("system") else ""
    shown = staff or reason_for_applicant(action=e.action, actor_label=e.actor_label)
    return {
        "seq": e.seq,
        "at": e.at,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "label": (
            COUNTER_SUPPLEMENT_LABEL
            if isinstance(e.data, dict) and e.data.get("at_counter")
            else EVENT_LABELS.get(e.action, "")
        ),
        "reason": e.reason if shown else "",
        "actor": label or ("staff" if e.actor and e.actor.kind == User.Kind.STAFF else "user"),
        "task": e.data.get("task") if isinstance(e.data, dict) else None,
        "post": e.data.get("post", "") if isinstance(e.data, dict) else "",
    }


_TASK_ROW_FIELDS = (
    "item_code", "item_name", "department", "case", "status", "due_date", "decided_at",
    "reason", "decided_by_label", "row_version",
)  # fmt: skip


def _task_row(t: Task, *, staff: bool = True) -> dict[str, Any]:
    # An approval's remark is an internal note; a denial's reason is told to the applicant.
    shown = staff or t.status == TaskStatus.DENIED or t.decided_by_label.startswith("system")
    return {
        "id": t.pk,
        "receipt_no": t.case.receipt_no if "case" in t._state.fields_cache else "",
        "item_code": t.item_code,
        "item_name": t.item_name,
        "department": t.department.code,
        "department_name": t.department.name,
        "status": t.status,
        "status_label": t.get_status_display(),
        "applicant_status_label": APPLICANT_TASK_LABELS.get(t.status, t.get_status_display()),
        "due_date": t.due_date,
        "decided_at": t.decided_at,
        "reason": t.reason if shown else "",
        "automatic": t.decided_by_label == "system:auto",
        "row_version": t.row_version,
    }


def cases_for_applicant(*, user: User | None, limit: int = 50) -> list[dict[str, Any]]:
    """我的办件: own cases and those of enterprises the user acts for, newest first.

    Two queries, each served by its own index (applicant, -submitted_at) and (enterprise,
    -submitted_at), merged here: one query with `applicant OR enterprise IN (...)` cannot use
    either index and scans every case in the city (measured: linear in the number of cases).
    """
    if not _active(user):
        return []
    n = max(1, min(limit, 200))
    columns = ("receipt_no", "name", "kind", "code", "status", "outcome", "submitted_at",
               "promised_date", "enterprise_id", "delivery", "handed_out_at", "pk",
               "acted_by_id", "applicant_profile_id")  # fmt: skip
    newest = ("-submitted_at", "-pk")
    rows = list(Application.objects.filter(applicant=user).order_by(*newest).values(*columns)[:n])
    profile_id = ResidentProfile.objects.filter(user=user).values_list("id", flat=True).first()
    if profile_id is not None:
        # 免申即享: what the platform concluded for them (by the FK's own index).
        rows += (
            Application.objects.filter(applicant_profile_id=profile_id, channel=Channel.AUTOMATIC)
            .order_by(*newest)
            .values(*columns)[:n]
        )
    enterprise_ids = list(
        live_memberships().filter(user=user).values_list("enterprise_id", flat=True)
    )
    if enterprise_ids:
        rows += (
            Application.objects.filter(enterprise_id__in=enterprise_ids)
            .exclude(applicant=user)
            .order_by(*newest)
            .values(*columns)[:n]
        )
    rows += _acted_for_rows(user, columns, newest, n)
    rows.sort(key=lambda r: (r["submitted_at"], r["pk"]), reverse=True)
    _name_acting(user, rows)
    statuses, outcomes = dict(CaseStatus.choices), dict(CaseOutcome.choices)
    for row in rows:
        del row["pk"]
        row["status_label"] = statuses.get(row["status"], "")
        row["outcome_label"] = outcomes.get(row["outcome"], "")
        # 统一出件: a concluded case whose results wait at the window or for the post says so.
        handed_out_at, delivery = row.pop("handed_out_at"), row.pop("delivery")
        awaiting = row["status"] == CaseStatus.CONCLUDED and handed_out_at is None
        row["handout"] = (
            {Delivery.COUNTER: "待领取", Delivery.POST: "待邮寄"}.get(delivery, "")
            if awaiting
            else ""
        )
    return rows[:n]


def _acted_for_rows(user: User, columns, newest, n: int) -> list[dict[str, Any]]:
    """亲友代办: the cases USER filed for someone, under authorisations still live."""
    from tongban.delegation.selectors import today

    return list(
        Application.objects.filter(
            acted_by=user,
            delegation__agent_user=user,
            delegation__state="active",
            delegation__valid_until__gte=today(),
        )
        .exclude(applicant=user)
        .order_by(*newest)
        .values(*columns)[:n]
    )


def _name_acting(user: User, rows: list[dict[str, Any]]) -> None:
    """Mark each row filed by a relative (由 X 代办) or for a relative (为 X 代办)."""
    acting_ids = {r["acted_by_id"] for r in rows if r["acted_by_id"]}
    if not acting_ids:
        for r in rows:
            r.pop("acted_by_id", None)
            r.pop("applicant_profile_id", None)
            r["acted_by_name"] = r["acted_for_name"] = ""
        return
    names = dict(
        ResidentProfile.objects.filter(user_id__in=acting_ids).values_list("user_id", "name")
    )
    for_ids = {r["applicant_profile_id"] for r in rows if r["acted_by_id"] == user.pk}
    for_names = dict(ResidentProfile.objects.filter(pk__in=for_ids).values_list("pk", "name"))
    for r in rows:
        acted_by, profile_id = r.pop("acted_by_id", None), r.pop("applicant_profile_id", None)
        mine = acted_by == user.pk
        r["acted_by_name"] = names.get(acted_by, "") if acted_by and not mine else ""
        r["acted_for_name"] = for_names.get(profile_id, "") if mine else ""


def reviewer_departments(user: User | None) -> list[int]:
    if not _active(user):
        return []
    return list(
        StaffAssignment.objects.filter(user=user, role=StaffRole.REVIEWER).values_list(
            "department_id", flat=True
        )
    )


def lead_departments(user: User | None) -> list[int]:
    """Departments USER leads (部门负责人): they read its queue, they do not work it."""
    if not _active(user):
        return []
    return list(
        StaffAssignment.objects.filter(user=user, role=StaffRole.DEPARTMENT_LEAD).values_list(
            "department_id", flat=True
        )
    )


def workbench_departments(user: User | None) -> list[int]:
    """Departments whose queue USER may read: those they review for and those they lead."""
    return sorted({*reviewer_departments(user), *lead_departments(user)})


def workbench_tasks(
    *,
    user: User | None,
    status: str | None = None,
    due_before: dt.date | None = None,
    item: str | None = None,
    overdue: bool = False,
    today: dt.date | None = None,
    limit: int = WORKBENCH_LIMIT,
) -> list[dict[str, Any]]:
    """The queue of the departments USER reviews for or leads, soonest due first. Served by
    the (department, status, due_date) index: the cost follows the queue's length, not the
    number of cases. OVERDUE keeps open tasks (pending or claimed) due before TODAY (已超期),
    whatever STATUS says. Each row says whether USER may work it (`reviewable`)."""
    departments = workbench_departments(user)
    if not departments:
        return []
    qs: QuerySet[Task] = Task.objects.filter(department_id__in=departments)
    if overdue:
        today = today or timezone.localdate()
        qs = qs.filter(status__in=(TaskStatus.PENDING, TaskStatus.CLAIMED), due_date__lt=today)
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=(TaskStatus.PENDING, TaskStatus.CLAIMED))
    if due_before:
        qs = qs.filter(due_date__lte=due_before)
    if item:
        qs = qs.filter(item_code=item)
    # Only what a queue row shows: loading each case whole would decrypt its form data and
    # parse its plan 200 times per page.
    qs = (
        qs.select_related("department", "case")
        .only(*_TASK_ROW_FIELDS, "case__receipt_no", "department__code", "department__name")
        .order_by("due_date", "pk")
    )
    reviews = set(reviewer_departments(user))
    return [
        {**_task_row(t), "reviewable": t.department_id in reviews}
        for t in qs[: max(1, min(limit, WORKBENCH_LIMIT))]
    ]


def tasks_breached(*, today: dt.date, department_id: int | None = None) -> QuerySet[Task]:
    """Open tasks past their due date (the SLA breach flag)."""
    qs = Task.objects.filter(status__in=OPEN_TASK_STATUSES, due_date__lt=today)
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    return qs


def task_material_file(*, user: User | None, task_id: int, submission_id: int):
    """An uploaded material a reviewer may open: one of THEIR task's item's materials, on that
    task's case. Anything else is "not found". Every opening is audited against the resident,
    as reading the form is."""
    departments = reviewer_departments(user)
    task = (
        Task.objects.select_related("case")
        .filter(pk=task_id, department_id__in=departments)
        .first()
        if departments and 0 < task_id < 2**62
        else None
    )
    if task is None:
        raise TaskNotFound()
    case = task.case
    materials = {m["code"]: m["name"] for m in case.plan.get("materials", [])
                 if task.item_code in m["items"]}  # fmt: skip
    submission = (
        MaterialSubmission.objects.filter(
            pk=submission_id if 0 < submission_id < 2**62 else 0,
            case=case,
            material_code__in=materials,
        )
        .exclude(file="")
        .first()
    )
    if submission is None:
        raise MaterialFileNotFound()
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=case.applicant_profile_id,
        purpose=f"查看材料：{materials[submission.material_code]}（审核{task.item_name}）",
        data={
            "task": task.pk,
            "material": submission.material_code,
            "material_name": materials[submission.material_code],
            "submission": submission.pk,
            "post": staff_post_label(user, task.department),
        },
    )
    return submission


def intake_material_file(*, user: User | None, receipt_no: str, submission_id: int):
    """An uploaded material the intake desk may open: one of the case's own uploads, for
    whoever may handle its intake (CASE_NOT_FOUND for anyone else, MATERIAL_NOT_FOUND for
    a file not of this case). Audited against the resident like the reviewer's opening,
    with the intake's own purpose."""
    case = case_for_intake(user=user, receipt_no=receipt_no)
    names = {m["code"]: m["name"] for m in case.plan.get("materials", [])}
    submission = (
        MaterialSubmission.objects.filter(
            pk=submission_id if 0 < submission_id < 2**62 else 0, case=case
        )
        .exclude(file="")
        .first()
    )
    if submission is None:
        raise MaterialFileNotFound()
    name = names.get(submission.material_code, submission.material_code)
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=case.applicant_profile_id,
        purpose=f"查看材料：{name}（受理审查）",
        data={
            "material": submission.material_code,
            "material_name": name,
            "submission": submission.pk,
            "post": staff_post_label(user, case.lead_department),
        },
    )
    return submission


def task_produces(*, task_id: int) -> list[dict[str, str]]:
    """Labels of the data approving this task creates (no personal data: the form's shape)."""
    if not isinstance(task_id, int) or not 0 < task_id < 2**62:
        return []
    row = Task.objects.filter(pk=task_id).values_list("item_code", "case__plan").first()
    if row is None:
        return []
    item_code, plan = row
    return [
        {"code": p["code"], "label": p["label"]}
        for p in (plan or {}).get("produced", [])
        if p["by_item"] == item_code
    ]


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
    # Values an earlier item created (出生登记 → child's ID number) count as this item's data.
    plan_fields = [*case.plan.get("fields", []), *case.plan.get("produced", [])]
    fields = {f["code"] for f in plan_fields if task.item_code in f["items"]}
    materials = {m["code"] for m in case.plan.get("materials", []) if task.item_code in m["items"]}
    form = {k: v for k, v in case.form_data.items() if k in fields}
    # Waived rows are shown with the evidence that spared them, not as submissions.
    submitted = MaterialSubmission.objects.filter(case=case, material_code__in=materials).exclude(
        how=MaterialHow.WAIVED
    )
    # Spared by a data source only after submission (平台稍后核验) counts as spared too.
    sourced = {
        s.material_code: s
        for s in MaterialSubmission.objects.filter(
            case=case, material_code__in=materials, how=MaterialHow.WAIVED
        ).exclude(source_code="")
    }
    spared = [
        m
        for m in case.plan.get("materials", [])
        if m["code"] in materials and (m["spared"] or m["code"] in sourced)
    ]
    # What an earlier item of this case issued stands in for the material once it exists.
    made = _issued_in_case(case, spared)
    spared_by = {
        m["code"]: made.get((m.get("spared_by") or {}).get("certificate_type", ""))
        if (m.get("spared_by") or {}).get("kind") == "produced"
        else m.get("spared_by")
        for m in spared
    }
    evidence = _spared_evidence([e or {} for e in spared_by.values()])
    read = {
        "task": task.pk,
        "fields": sorted(form),
        "post": staff_post_label(user, task.department),
    }
    serials = sorted(
        (e or {}).get("serial", "")
        for e in spared_by.values()
        if (e or {}).get("kind") == "certificate"
    )
    if serials:  # the certificate data shown below is personal data read too
        read["certificates"] = serials
    audit_record(
        actor=user,
        action="personal_data.read",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=case.applicant_profile_id,
        purpose=f"审核{task.item_name}",
        data=read,
    )
    definition = item_definition(task.item_code, task.item_version)
    produced_names = {i["code"]: i["name"] for i in case.plan.get("items", [])}
    produced = [p for p in case.plan.get("produced", []) if p["by_item"] == task.item_code]
    suggested = (
        produced_suggestions(case, [p["code"] for p in produced])
        if task.status in OPEN_TASK_STATUSES
        else {}
    )
    labels = {f["code"]: f["label"] for f in plan_fields}
    names = {m["code"]: m["name"] for m in case.plan.get("materials", [])}
    display = form_display(form)
    return {
        **_task_row(task),
        "receipt_no": case.receipt_no,
        "receipt_display": receipt_display(case.receipt_no),
        "case_name": case.name,
        "form": form,
        "form_display": display,
        # The same data as `form`, in the plan's order with the labels people read.
        "fields": [
            {
                "code": f["code"],
                "label": f["label"],
                "value": form.get(f["code"]),
                "display": display.get(f["code"], ""),
            }
            for f in plan_fields
            if f["code"] in fields
        ],
        # What approving this task must record for the items after it, with a value the
        # platform can offer (a newborn's 公民身份号码) where it can.
        "produces": [
            {"code": p["code"], "label": p["label"], "suggested": suggested.get(p["code"], "")}
            for p in produced
        ],
        "material_names": {c: names.get(c, c) for c in sorted(materials)},
        "field_labels": {c: labels.get(c, c) for c in sorted(fields)},
        "materials": [
            {
                "id": m.pk,
                "code": m.material_code,
                "name": names.get(m.material_code, m.material_code),
                "how": m.how,
                "how_label": m.get_how_display(),
                "content_type": m.content_type,
                "size": m.size,
                "sha256": m.sha256,
                "due_date": m.due_date,
                "overdue": deferred_overdue(m),
                # 待平台核验: the source the platform still waits for.
                "source_name": next(
                    (
                        _source_name(p, m)
                        for p in case.plan.get("materials", [])
                        if p["code"] == m.material_code
                    ),
                    "",
                )
                if m.how == MaterialHow.SOURCE_RETRY
                else "",
            }
            for m in submitted
        ],
        # Each with the evidence that spared it, verified now (a certificate's type, issuer,
        # validity, verification result and claims), or None for evidence without a record.
        "spared_materials": [
            {
                "code": m["code"],
                "name": m["name"],
                "reason": m["spared_reason"] or getattr(sourced.get(m["code"]), "note", ""),
                "certificate": _evidence_of(evidence, spared_by[m["code"]]),
                # 已核验共享数据：公安人口库 · time (when the case was submitted, or later).
                "source": _source_evidence(m, sourced.get(m["code"])),
                # Issued by an earlier item of this case: which, and whether it has been.
                "produced_by": m.get("produced_by", ""),
                "produced_by_name": produced_names.get(m.get("produced_by", ""), ""),
            }
            for m in spared
        ],
        "claimed": task.claimed_by_id is not None,
        "claimed_by_me": task.claimed_by_id == user.pk,
        "review_points": task.auto_decision.get("rules", []),
        "conditions": list(definition.conditions),
    }


def produced_suggestions(case: Application, codes: list[str]) -> dict[str, str]:
    """Values the platform can offer the reviewer who records CODES: for a person's ID
    number (出生登记 → child.id_number), one built from that person's birth date and sex on
    the form and their household's district, that no profile holds. The reviewer checks it
    and may change it; task_decide validates whatever is recorded."""
    elements = element_definitions(codes)
    wanted = [c for c in codes if getattr(elements.get(c), "type", "") == "id_number"]
    if not wanted:
        return {}
    form = case.form_data
    given = _numbers_given_out(case, wanted)
    out: dict[str, str] = {}
    for code in wanted:
        person = code.rsplit(".", 1)[0]
        sex = form.get(f"{person}.sex")
        try:
            born = dt.date.fromisoformat(str(form.get(f"{person}.birth_date") or ""))
        except ValueError:
            continue
        if sex not in ("M", "F"):
            continue
        districts = (f"{person}.hukou_district", "mother.hukou_district",
                     "applicant.hukou_district")  # fmt: skip
        region = next((str(form[k]) for k in districts if form.get(k)), "")
        if not region and case.applicant_profile_id:
            region = case.applicant_profile.hukou_district or ""
        # The same case is offered the same number each time its page is opened.
        seed = int(hashlib.sha256(f"{case.receipt_no}:{code}".encode()).hexdigest()[:8], 16)
        number = id_number_unused(
            region_code=region, birth_date=born, sex=sex, seed=seed, also_taken=given
        )
        if number:
            out[code] = number
    return out


def _numbers_given_out(case: Application, codes: list[str]) -> frozenset[str]:
    """Numbers already recorded on other open cases of the same service: the person gets a
    profile only when their case concludes, and until then the number must not be offered
    twice. The most recent few hundred are enough: a number is offered for a birth date."""
    others = (
        Application.objects.filter(kind=case.kind, code=case.code, status=CaseStatus.ACCEPTED)
        .exclude(pk=case.pk)
        .order_by("-pk")
        .only("form_data_text")[:500]
    )
    return frozenset(str(v) for other in others for c in codes if (v := other.form_data.get(c)))


def _spared_evidence(spared_by: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """kind → {key → what the provider of that kind shows a reviewer}: asked of the evidence
    providers that can describe what they spared (certificates), never imported from here."""
    wanted = [e for e in spared_by if e.get("kind")]
    out: dict[str, dict[str, Any]] = {}
    if not wanted:
        return out
    for provider in evidence_providers():
        kind = getattr(provider, "kind", "")
        describe = getattr(provider, "describe", None)
        mine = [e for e in wanted if e["kind"] == kind]
        if describe is not None and mine:
            out[kind] = describe(evidence=mine)
    return out


def _issued_in_case(case: Application, spared: list[dict[str, Any]]) -> dict[str, dict]:
    """certificate type → the evidence entry of the certificate an earlier item of CASE has
    issued, for the materials spared as produced; asked of the providers that know."""
    types = [
        (m.get("spared_by") or {}).get("certificate_type", "")
        for m in spared
        if (m.get("spared_by") or {}).get("kind") == "produced"
    ]
    found: dict[str, dict] = {}
    if not any(types):
        return found
    for provider in evidence_providers():
        issued = getattr(provider, "issued_in_case", None)
        if issued is not None:
            for entry in issued(receipt_no=case.receipt_no, types=[t for t in types if t]):
                found.setdefault(entry["type"], entry)
    return found


def _source_name(planned: dict[str, Any], row: MaterialSubmission | None) -> str:
    """The data source's name for a material, from what the case recorded."""
    by = planned.get("spared_by") or {}
    if by.get("kind") == "data_source":
        return by.get("source_name", "")
    return planned.get("unavailable_source", "") or (row.source_code if row else "")


def _source_evidence(
    planned: dict[str, Any], row: MaterialSubmission | None
) -> dict[str, Any] | None:
    """数据共享核验 as the reviewer sees it: the source, its department, when it answered,
    the look-up record and the hash of what it answered."""
    by = planned.get("spared_by") or {}
    if row is not None and row.source_code:
        return {
            "name": _source_name(planned, row),
            "department": by.get("department", ""),
            "answered_at": row.source_answered_at,
            "lookup_id": row.source_lookup_id,
            "value_hash": row.source_value_hash,
        }
    if by.get("kind") != "data_source":
        return None
    answered = by.get("answered_at") or ""
    return {
        "name": by.get("source_name", ""),
        "department": by.get("department", ""),
        "answered_at": dt.datetime.fromisoformat(answered) if answered else None,
        "lookup_id": by.get("lookup_id"),
        "value_hash": by.get("value_hash", ""),
    }


def _evidence_of(evidence: dict[str, dict[str, Any]], spared_by: Any) -> dict[str, Any] | None:
    if not isinstance(spared_by, dict) or spared_by.get("kind") != "certificate":
        return None
    return evidence.get("certificate", {}).get(spared_by.get("serial", ""))


def material_counts(case: Application) -> dict[str, int]:
    """减材料, counted: materials the plan requires, and how many were uploaded, waived,
    committed (告知承诺) or deferred (容缺), each counted once per material. One query."""
    by_how: dict[str, set[str]] = {}
    for how, code in case.materials.values_list("how", "material_code"):
        by_how.setdefault(how, set()).add(code)
    return {
        "required": sum(1 for m in case.plan.get("materials", []) if m.get("required")),
        "submitted": len(by_how.get(MaterialHow.UPLOAD, ())),
        "waived": len(by_how.get(MaterialHow.WAIVED, ())),
        "committed": len(by_how.get(MaterialHow.COMMITMENT, ())),
        "deferred": len(by_how.get(MaterialHow.DEFERRED, ())),
        # 平台稍后核验: waiting for a department system that did not answer at submission.
        "source_retry": len(by_how.get(MaterialHow.SOURCE_RETRY, ())),
    }


def form_prefill(
    *,
    user: User | None,
    kind: str,
    code: str,
    answers: dict[str, str],
    enterprise: Enterprise | None = None,
    for_profile: ResidentProfile | None = None,
) -> dict[str, Any]:
    """Values for the merged form from what the platform already holds: the applicant's own
    profile (一人一档), for an enterprise they act for its profile (一企一档), and the claims
    of the applicant's valid e-certificates (one query for all of them, through the evidence
    providers that can prefill). An element's `prefill` entries are tried in their order."""
    if not _active(user):
        return {}
    # 亲友代办: FOR_PROFILE is the 被代办人, whose authorisation the caller has checked.
    profile = for_profile or ResidentProfile.objects.filter(user=user).first()
    if (
        enterprise is not None
        and not live_memberships().filter(user=user, enterprise=enterprise).exists()
    ):
        enterprise = None
    run = guide_for_bundle if kind == "bundle" else guide_for_item
    guide = run(code=code, answers=answers, applicant=profile, enterprise=enterprise)
    elements = element_definitions([f.code for f in guide.fields])
    claims = _certificate_claims(profile, [elements.get(f.code) for f in guide.fields])
    shared = _shared_values(
        profile, enterprise, [elements.get(f.code) for f in guide.fields], guide.items
    )
    # Which person of the case the applicant is (the mother applying): a prefill marked
    # `applicant_is` counts only for that person, so nobody's data lands in another's fields.
    role = applicant_person(kind=kind, code=code, answers=guide.answers)
    values = PrefillValues()
    names = _certificate_type_names({t for t, _ in claims})
    # What the member may see of the enterprise, by the one rule of 一企一档 (a plain 经办人
    # sees the legal representative's name masked): a masked value is not offered at all.
    shown = enterprise_profile_for(viewer=user, enterprise=enterprise) if enterprise else {}
    for f in guide.fields:
        element = elements.get(f.code)
        for source in element.prefill if element else []:
            if source.applicant_is and source.applicant_is != role:
                continue
            if source.source == "certificate":
                value = claims.get((source.certificate_type, source.field))
            elif source.source == "data_source":
                value = shared.get((source.data_source, source.field))
            else:
                holder = {"profile": profile, "enterprise": enterprise}.get(source.source)
                value = getattr(holder, source.field, None) if holder is not None else None
                if holder is enterprise and source.field in shown and shown[source.field] != value:
                    value = None
            if value not in (None, "") and _prefill_fits(element, value):
                values[f.code] = value.isoformat() if isinstance(value, dt.date) else value
                values.sources[f.code] = (
                    f"您的电子证照「{names.get(source.certificate_type, '')}」"
                    if source.source == "certificate"
                    else f"{source.data_source}（部门共享数据）"
                    if source.source == "data_source"
                    else {"enterprise": "企业档案"}.get(source.source, "您的档案")
                )
                if for_profile is not None:  # the form says whose record it is
                    values.sources[f.code] = values.sources[f.code].replace(
                        "您的", f"{for_profile.name}的", 1
                    )
                break
    return values


class PrefillValues(dict):
    """Prefilled values by element code; `sources` says, for each, where it came from in the
    words the form shows (您的档案, 企业档案, 您的电子证照「结婚证」)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources: dict[str, str] = {}


def _certificate_type_names(codes: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for provider in evidence_providers():
        known = getattr(provider, "type_names", None)
        if getattr(provider, "kind", "") == "certificate" and known is not None and codes:
            names.update(known(codes))
    return names


def _prefill_fits(element, value: Any) -> bool:
    """A record's value offered for a field must be one the field accepts: a 结婚证 of the
    synthetic population names no spouse (（示例）未登记), which is no 公民身份号码."""
    parse = {"id_number": parse_id_number, "uscc": parse_credit_code}.get(element.type)
    if parse is None:
        return True
    try:
        parse(str(value))
    except DomainError:
        return False
    return True


def _shared_values(profile, enterprise, elements: list, items) -> dict[tuple, Any]:
    """(source name, element) → what the department systems hold about the applicant (or
    their enterprise), through the evidence providers that can prefill from data sources."""
    wanted = [
        (p.data_source, p.field)
        for el in elements
        if el is not None
        for p in el.prefill
        if p.source == "data_source" and p.data_source
    ]
    if profile is None or not wanted:
        return {}
    values: dict[tuple, Any] = {}
    for provider in evidence_providers():
        if getattr(provider, "kind", "") == "data_source" and hasattr(provider, "prefill"):
            values.update(
                provider.prefill(
                    applicant=profile,
                    enterprise=enterprise,
                    wanted=wanted,
                    items=[i.code for i in items],
                )
            )
    return values


def _certificate_claims(profile: ResidentProfile | None, elements: list) -> dict[tuple, Any]:
    wanted = [
        (p.certificate_type, p.field)
        for el in elements
        if el is not None
        for p in el.prefill
        if p.source == "certificate" and p.certificate_type
    ]
    if profile is None or not wanted:
        return {}
    values: dict[tuple, Any] = {}
    for provider in evidence_providers():
        prefill = getattr(provider, "prefill", None)
        if getattr(provider, "kind", "") == "certificate" and prefill is not None:
            values.update(prefill(applicant=profile, wanted=wanted))
    return values


def draft_for(*, user: User | None, kind: str, code: str) -> Draft | None:
    if not _active(user):
        return None
    return Draft.objects.filter(applicant=user, kind=kind, code=code).first()


def draft_uploads_for(*, draft: Draft) -> list[DraftUpload]:
    """The files kept with a draft (the caller holds the user's own draft), oldest first."""
    return list(draft.uploads.order_by("pk"))


def case_receipt_for_key(*, user: User | None, idempotency_key: str) -> str | None:
    """The receipt number of the user's own case submitted under IDEMPOTENCY_KEY, if any: a
    second press of 提交申请 shows the case the first one made."""
    key = (idempotency_key or "").strip()
    if not key or not _active(user):
        return None
    return (
        Application.objects.filter(applicant=user, idempotency_key=key)
        .values_list("receipt_no", flat=True)
        .first()
    )


def case_receipt_acted_for_key(*, user: User | None, idempotency_key: str) -> str | None:
    """亲友代办: the same for a case USER filed for someone under a still-live authorisation
    (a press after revocation is a new request, and refused as one)."""
    key = (idempotency_key or "").strip()
    if not key or not _active(user):
        return None
    for case in Application.objects.filter(acted_by=user, idempotency_key=key)[:1]:
        return case.receipt_no if _acted_for(user, case) else None
    return None


# ---------------------------------------------------------------- 重复申请

OPEN_CASE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.SUPPLEMENT_REQUESTED, CaseStatus.ACCEPTED)
SUBJECT_KEY_CONTEXT = "case.subject"


def case_subject_key(
    *,
    kind: str,
    code: str,
    field_codes: list[str],
    produced_codes: list[str],
    form: dict[str, Any],
    applicant_id: int,
    enterprise_id: int | None,
) -> str:
    """Whom a case is for, as a keyed hash with its service: the person or enterprise the
    form is about (the holder of an ID number the case produces comes first: a newborn in
    出生一件事, a company in 企业开办), known by ID number or credit code, else by name and
    birth date; with no such person, the enterprise acted for, else the applicant."""
    prefixes: list[str] = []
    for c in [*produced_codes, *field_codes]:
        prefix = c.split(".", 1)[0]
        if prefix != "applicant" and prefix not in prefixes:
            prefixes.append(prefix)
    produced_prefixes = {c.split(".", 1)[0] for c in produced_codes}
    subject = ""
    for prefix in prefixes:
        number = form.get(f"{prefix}.id_number") or form.get(f"{prefix}.uscc")
        name, born = form.get(f"{prefix}.name"), form.get(f"{prefix}.birth_date")
        if number:
            subject = f"{prefix}:number:{number}"
        elif name and (born or prefix in produced_prefixes):
            subject = f"{prefix}:name:{str(name).strip()}:{born or ''}"
        if subject:
            break
    if not subject:
        subject = f"enterprise:{enterprise_id}" if enterprise_id else f"applicant:{applicant_id}"
    return lookup_hash(f"{kind}:{code}:{subject}", context=SUBJECT_KEY_CONTEXT)


def open_duplicates(
    *, subject_key: str, exclude_pk: int | None = None, applicant=None, enterprise=None
) -> list[Application]:
    """Open cases (submitted, awaiting 补正, accepted) with SUBJECT_KEY, oldest first. With
    APPLICANT, only those the applicant may see (their own, or ENTERPRISE's): an applicant
    learns nothing of another person's applications."""
    if not subject_key:
        return []
    qs = Application.objects.filter(subject_key=subject_key, status__in=OPEN_CASE_STATUSES)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if applicant is not None:
        mine = Q(applicant=applicant)
        if enterprise is not None:
            mine |= Q(enterprise=enterprise)
        qs = qs.filter(mine)
    return list(qs.order_by("submitted_at", "pk")[:10])


# ---------------------------------------------------------------- intake (一口受理)


def _clerk_hall_ids(user: User) -> list[int]:
    return list(
        StaffAssignment.objects.filter(
            user=user, role=StaffRole.COUNTER_CLERK, hall__isnull=False
        ).values_list("hall_id", flat=True)
    )


def acceptor_may_handle(user: User | None, case: Application) -> bool:
    """Who may accept, refuse or ask for supplements at intake (前台综合受理): an acceptor of
    the case's lead department, any of its cases; a counter clerk, the cases filed at their
    own hall (channel counter, case.hall one of the halls they sit in). Online cases are the
    lead department's alone. The one statement of the rule: the services enforce it through
    here, the pages and intake_queue use it to decide what exists."""
    if not _active(user):
        return False
    posts = StaffAssignment.objects.filter(user=user)
    rule = Q(role=StaffRole.ACCEPTOR, department_id=case.lead_department_id)
    if case.channel == Channel.COUNTER and case.hall_id is not None:
        rule |= Q(role=StaffRole.COUNTER_CLERK, hall_id=case.hall_id)
    return posts.filter(rule).exists()


def intake_roles(user: User | None) -> tuple[list[int], list[int]]:
    """(halls the user is a counter clerk in, departments the user is an acceptor of): the
    two halves of acceptor_may_handle, as ids for a queue query."""
    if not _active(user):
        return [], []
    departments = list(
        StaffAssignment.objects.filter(user=user, role=StaffRole.ACCEPTOR).values_list(
            "department_id", flat=True
        )
    )
    return _clerk_hall_ids(user), departments


def intake_queue(*, user: User | None, limit: int = WORKBENCH_LIMIT) -> list[dict[str, Any]]:
    """Cases awaiting acceptance (submitted, or back from 补正), oldest first: the lead
    department's for its acceptors, those filed at their hall for counter clerks (the same
    rule as acceptor_may_handle)."""
    halls, departments = intake_roles(user)
    if not halls and not departments:
        return []
    mine = Q(lead_department_id__in=departments) | Q(channel=Channel.COUNTER, hall_id__in=halls)
    qs = Application.objects.filter(mine, status=CaseStatus.SUBMITTED)
    supplemented = SupplementRequest.objects.filter(case=OuterRef("pk"), fulfilled_at__isnull=False)
    qs = (
        qs.annotate(supplemented=Exists(supplemented))
        .select_related("lead_department", "hall")
        .order_by("submitted_at", "pk")
    )
    cases = list(qs[: max(1, min(limit, WORKBENCH_LIMIT))])
    duplicates = _duplicates_of(cases, mine)
    return [
        {
            "receipt_no": c.receipt_no,
            "receipt_display": receipt_display(c.receipt_no),
            "name": c.name,
            "duplicates": duplicates.get(c.pk, []),
            "items": [i["name"] for i in c.plan.get("items", [])],
            "lead_department": c.lead_department.name,
            "channel": c.channel,
            "channel_label": c.get_channel_display(),
            "hall": c.hall.name if c.hall else "",
            "submitted_at": c.submitted_at,
            "supplemented": c.supplemented,
        }
        for c in cases
    ]


def _duplicates_of(cases: list[Application], mine: Q) -> dict[int, list[dict[str, Any]]]:
    """case pk → the other open cases for the same person and service (one query), each
    linked only when the viewer may open its intake page (MINE, the queue's own rule)."""
    keys = {c.subject_key for c in cases if c.subject_key}
    if not keys:
        return {}
    others = list(
        Application.objects.filter(subject_key__in=keys, status__in=OPEN_CASE_STATUSES)
        .annotate(linkable=Exists(Application.objects.filter(mine, pk=OuterRef("pk"))))
        .order_by("submitted_at", "pk")
        .values("pk", "receipt_no", "subject_key", "status", "linkable")
    )
    labels = dict(CaseStatus.choices)
    out: dict[int, list[dict[str, Any]]] = {}
    for c in cases:
        out[c.pk] = [
            {
                "receipt_no": o["receipt_no"],
                "receipt_display": receipt_display(o["receipt_no"]),
                "status_label": labels.get(o["status"], ""),
                "linkable": o["linkable"],
            }
            for o in others
            if o["subject_key"] == c.subject_key and o["pk"] != c.pk
        ]
    return out


# ---------------------------------------------------------------- 统一窗口出件

AWAITING_HANDOUT_DELIVERIES = (Delivery.COUNTER, Delivery.POST)


def handout_halls(user: User | None) -> tuple[list[int], bool]:
    """(halls where USER is an issuer or counter clerk, whether USER is an issuer anywhere)."""
    if not _active(user):
        return [], False
    posts = StaffAssignment.objects.filter(
        user=user, role__in=(StaffRole.ISSUER, StaffRole.COUNTER_CLERK), hall__isnull=False
    )
    halls = sorted(set(posts.values_list("hall_id", flat=True)))
    issuer = posts.filter(role=StaffRole.ISSUER).exists()
    return halls, issuer


# ---------------------------------------------------------------- who may open which page
# The gates of the staff pages. Each page refuses on its own predicate and the 工作台 shows a
# link on the same one, so no link a person sees leads to 403.


def may_open_intake(user: User | None) -> bool:
    """受理队列: acceptors of a lead department, counter clerks with a hall."""
    halls, departments = intake_roles(user)
    return bool(halls or departments)


def may_open_workbench(user: User | None) -> bool:
    """部门任务: reviewers and department leads."""
    return bool(workbench_departments(user))


def may_open_handout(user: User | None) -> bool:
    """出件队列: issuers and counter clerks who sit in a hall."""
    halls, issuer = handout_halls(user)
    return bool(halls or issuer)


def may_open_counter(user: User | None) -> bool:
    """综合窗口帮办: counter clerks who sit in a hall (the case is filed at that hall)."""
    return _active(user) and bool(_clerk_hall_ids(user))


def _handout_rule(halls: list[int], issuer: bool) -> Q:
    rule = Q(hall_id__in=halls)
    if issuer:
        rule |= Q(hall__isnull=True)
    return rule


def hand_out_may_handle(user: User | None, case: Application) -> bool:
    """Who may hand out a concluded case's results (统一窗口出件): for a case filed at a hall,
    an issuer (出件) or counter clerk sitting in that hall; for a case filed online (no hall)
    whose applicant chose counter pick-up or post, an issuer of any hall. The one statement
    of the rule, used by case_hand_out, the 出件 queue and case visibility. Whether the case
    is waiting for a hand-out at all is the caller's question."""
    halls, issuer = handout_halls(user)
    if case.hall_id is not None:
        return case.hall_id in halls
    return issuer


def handout_queue(*, user: User | None, limit: int = WORKBENCH_LIMIT) -> list[dict[str, Any]]:
    """出件队列: concluded cases awaiting hand-out that USER may hand out, oldest first."""
    halls, issuer = handout_halls(user)
    if not halls and not issuer:
        return []
    qs = (
        Application.objects.filter(
            _handout_rule(halls, issuer),
            status=CaseStatus.CONCLUDED,
            delivery__in=AWAITING_HANDOUT_DELIVERIES,
        )
        .select_related("hall", "applicant_profile")
        .order_by("concluded_at", "pk")
    )
    return [
        {
            "receipt_no": c.receipt_no,
            "receipt_display": receipt_display(c.receipt_no),
            "name": c.name,
            # Masked: the full record is read, audited, on the hand-out page itself.
            "applicant": mask_name(c.applicant_profile.name) if c.applicant_profile else "",
            "outcome": c.outcome,
            "outcome_label": c.get_outcome_display(),
            "delivery": c.delivery,
            "delivery_label": c.get_delivery_display(),
            "hall": c.hall.name if c.hall else "",
            "concluded_at": c.concluded_at,
        }
        for c in qs[: max(1, min(limit, WORKBENCH_LIMIT))]
    ]


def handout_state(case: Application) -> dict[str, Any] | None:
    """Where the results are, for the applicant and staff: None when delivered online;
    otherwise awaiting (待领取/待邮寄) or done (已领取/已寄出), with the note for post."""
    if case.delivery not in AWAITING_HANDOUT_DELIVERIES or case.status not in (
        CaseStatus.CONCLUDED,
        CaseStatus.ARCHIVED,
    ):
        return None
    post = case.delivery == Delivery.POST
    done = case.handed_out_at is not None
    labels = {(False, False): "待领取", (True, False): "待邮寄",
              (False, True): "已领取", (True, True): "已寄出"}  # fmt: skip
    return {
        "done": done,
        "label": labels[(post, done)],
        "at": case.handed_out_at,
        "note": case.handout_note if post else "",
        "hall": case.hall.name if case.hall_id else "",
    }


def case_for_intake(*, user: User | None, receipt_no: str) -> Application:
    """The case as an intake desk sees it; CASE_NOT_FOUND for anyone who may not handle its
    intake (an acceptor of another department learns nothing, not even that it exists)."""
    number = receipt_normalise(receipt_no)
    if number is None or not _active(user):
        raise CaseNotFound()
    case = (
        Application.objects.select_related("lead_department", "applicant_profile", "filed_by")
        .filter(receipt_no=number)
        .first()
    )
    if case is None or not acceptor_may_handle(user, case):
        raise CaseNotFound()
    return case


def case_intake_view(
    *, user: User | None, receipt_no: str, ip_address: str | None = None
) -> dict[str, Any]:
    """What an intake desk needs to decide: the applicant (through the audited profile read,
    purpose 受理审查), the whole form, every material and how it was satisfied, the timeline.
    CASE_NOT_FOUND for anyone who may not handle this case's intake."""
    from tongban.accounts.selectors import resident_profile_for_work

    case = case_for_intake(user=user, receipt_no=receipt_no)
    applicant = None
    if case.applicant_profile is not None:
        applicant = resident_profile_for_work(
            viewer=user,
            profile=case.applicant_profile,
            use="intake_review",
            receipt_no=case.receipt_no,
            department=case.lead_department,
            ip_address=ip_address,
        )
    form = case.form_data
    display = form_display(form)
    submitted: dict[str, list[MaterialSubmission]] = {}
    for m in case.materials.order_by("pk"):
        submitted.setdefault(m.material_code, []).append(m)
    materials = []
    for m in case.plan.get("materials", []):
        rows = submitted.get(m["code"], [])
        materials.append(
            {
                **m,
                "submissions": [
                    {
                        "id": s.pk,
                        "has_file": bool(s.file),
                        "how": s.how,
                        "how_label": s.get_how_display(),
                        "original_name": s.original_name,
                        "content_type": s.content_type,
                        "size": s.size,
                        "sha256": s.sha256,
                        "due_date": s.due_date,
                        "overdue": deferred_overdue(s),
                        # 免提交: why, and the certificate that proved it.
                        "note": s.note if s.how == MaterialHow.WAIVED else "",
                        "certificate_serial": s.certificate_serial,
                        # 数据共享核验: which source answered, and when; or, 平台稍后核验,
                        # which one the platform is still waiting for.
                        "source_name": _source_name(m, s) if s.source_code else "",
                        "source_answered_at": s.source_answered_at,
                    }
                    for s in rows
                ],
                "deferred": any(s.how == "deferred" for s in rows),
                "deferred_overdue": any(deferred_overdue(s) for s in rows),
            }
        )
    detail = case_detail(user=user, receipt_no=case.receipt_no)
    halls, departments = intake_roles(user)
    mine = Q(lead_department_id__in=departments) | Q(channel=Channel.COUNTER, hall_id__in=halls)
    return {
        **detail,
        "duplicates": _duplicates_of([case], mine).get(case.pk, []),
        "applicant": applicant,
        "channel_label": case.get_channel_display(),
        "delivery_label": case.get_delivery_display(),
        "filed_by": case.filed_by.display_name if case.filed_by else "",
        "plan": case.plan,
        "items": case.plan.get("items", []),
        "fields": [
            {**f, "value": form.get(f["code"]), "display": display.get(f["code"], "")}
            for f in case.plan.get("fields", [])
        ],
        "materials": materials,
        "has_deferred": any(m["deferred"] for m in materials),
        "can_accept": case.status == CaseStatus.SUBMITTED,
        "can_refuse": case.status in (CaseStatus.SUBMITTED, CaseStatus.SUPPLEMENT_REQUESTED),
    }


def deferred_overdue(material: MaterialSubmission, *, today: dt.date | None = None) -> bool:
    """容缺材料已逾期: deferred, not yet delivered, and its due date has passed."""
    return (
        material.how == MaterialHow.DEFERRED
        and material.due_date is not None
        and material.due_date < (today or timezone.localdate())
    )


def workbench_department_codes(user: User | None) -> list[str]:
    """Codes of the departments whose queue USER may read, for the workbench's item filter."""
    if not _active(user):
        return []
    roles = (StaffRole.REVIEWER, StaffRole.DEPARTMENT_LEAD)
    return sorted(
        StaffAssignment.objects.filter(user=user, role__in=roles)
        .values_list("department__code", flat=True)
        .distinct()
    )


def reviewer_department_codes(user: User | None) -> list[str]:
    """Codes of the departments USER reviews for, for the workbench's item filter."""
    if not _active(user):
        return []
    return sorted(
        StaffAssignment.objects.filter(user=user, role=StaffRole.REVIEWER)
        .values_list("department__code", flat=True)
        .distinct()
    )


def counter_resident(*, user: User | None, profile_id: Any) -> ResidentProfile | None:
    """The resident a counter clerk identified (综合窗口帮办); None for anyone but a clerk, or
    a profile without an account (there is nobody to file for)."""
    if not isinstance(profile_id, int) or not _active(user):
        return None
    if not StaffAssignment.objects.filter(user=user, role=StaffRole.COUNTER_CLERK).exists():
        return None
    return (
        ResidentProfile.objects.filter(pk=profile_id, user__isnull=False)
        .select_related("user")
        .first()
    )


# ---------------------------------------------------------------- 窗口补正


def counter_supplement_cases(*, clerk: User | None, user_id: int) -> list[dict[str, Any]]:
    """The resident's cases waiting for a 补正, for the counter clerk who identified them:
    receipt, name, what was asked and by when (no form values)."""
    if not may_open_counter(clerk):
        return []
    rows = []
    for case in Application.objects.filter(
        applicant_id=user_id, status=CaseStatus.SUPPLEMENT_REQUESTED
    ).order_by("submitted_at"):
        open_request = _open_supplement(case)
        if open_request is not None:
            rows.append({"receipt_no": case.receipt_no, "name": case.name, **open_request})
    return rows


def serving_ticket(clerk, case: Application, identified_profile_id: int | None = None):
    """The ticket CLERK is serving at their window today for CASE's applicant: called or
    being served, and the applicant's own — or a walk-in naming nobody while the clerk has
    identified the applicant at the counter (IDENTIFIED_PROFILE_ID). None otherwise."""
    from tongban.appointments.models import Ticket, TicketStatus

    whose = Q(user_id=case.applicant_id)
    if identified_profile_id is not None and identified_profile_id == case.applicant_profile_id:
        whose |= Q(user__isnull=True)
    return (
        Ticket.objects.select_related("hall", "window")
        .filter(
            whose,
            clerk=clerk,
            day=timezone.localdate(),
            status__in=(TicketStatus.CALLED, TicketStatus.SERVING),
            window__isnull=False,
        )
        .order_by("-called_at")
        .first()
    )


def counter_supplement_for(
    *,
    clerk: User | None,
    receipt_no: str,
    identified_profile_id: int | None = None,
    ip_address: str | None = None,
) -> tuple[Application, dict[str, Any]]:
    """窗口补正: the case and its open 补正 request, for the clerk now serving its applicant
    (see serving_ticket). The asked fields' current values
    are shown to the clerk: that read is logged for the applicant. Anyone else, or a case
    with nothing to supply: CASE_NOT_FOUND."""
    case = (
        Application.objects.filter(receipt_no=receipt_no).first()
        if may_open_counter(clerk) and isinstance(receipt_no, str)
        else None
    )
    serving = case is not None and serving_ticket(clerk, case, identified_profile_id) is not None
    open_request = _open_supplement(case) if serving else None
    if open_request is None:
        raise CaseNotFound()
    if open_request["fields"]:
        audit_record(
            actor=clerk,
            action="personal_data.read",
            object_type="case",
            object_id=case.receipt_no,
            subject_resident_id=case.applicant_profile_id,
            purpose="窗口补正",
            ip_address=ip_address,
            data={"use": "counter_supplement", "fields": open_request["fields"]},
        )
    return case, open_request


# ------------------------------------------------ 窗口智能辅助: what went wrong before

# How far back the review aid looks: long enough to find a pattern, short enough that a
# changed guide or practice soon shows in it.
REVIEW_HISTORY_DAYS = 90
# A reason written at least this often is a pattern (a desk's standard wording), not one
# person's circumstances; reasons written once are counted, not shown.
REPEATED_REASON = 2
REVIEW_HISTORY_TOP = 5


def _top(counter, names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = counter.most_common()
    if names is None:
        rows = [(text, n) for text, n in rows if n >= REPEATED_REASON]
    return [
        {"text": names.get(key, key) if names is not None else key, "count": n}
        for key, n in rows[:REVIEW_HISTORY_TOP]
    ]


def _history(
    events: QuerySet, denials: list[str], decided: int, names: dict[str, str]
) -> dict[str, Any]:
    from collections import Counter

    asked: Counter = Counter()
    supplement_reasons: Counter = Counter()
    supplements = 0
    for data, reason in events.values_list("data", "reason"):
        supplements += 1
        asked.update(c for c in [*data.get("materials", []), *data.get("fields", [])] if c in names)
        supplement_reasons[reason.strip()] += 1
    denial_reasons = Counter(r.strip() for r in denials if r.strip())
    shown_denials = _top(denial_reasons)
    return {
        "days": REVIEW_HISTORY_DAYS,
        "decided": decided,
        "denied": len(denials),
        "denial_reasons": shown_denials,
        "denials_unlisted": len(denials) - sum(r["count"] for r in shown_denials),
        "supplements": supplements,
        "supplement_asks": _top(asked, names),
        "supplement_reasons": _top(supplement_reasons),
        "empty": decided == 0 and supplements == 0 and not denials,
    }


def task_review_history(*, user: User | None, task_id: int, now=None) -> dict[str, Any]:
    """常见不予和补正原因: for the reviewer of TASK, what their department refused and asked
    to supplement for the same item in the last REVIEW_HISTORY_DAYS days — counts, the
    materials and fields asked for most, and reasons written repeatedly. Aggregates only:
    a reason given once may describe one applicant and is counted, never shown."""
    departments = reviewer_departments(user)
    row = (
        Task.objects.filter(pk=task_id, department_id__in=departments)
        .values("item_code", "department_id", "case__plan")
        .first()
        if departments and 0 < task_id < 2**62
        else None
    )
    if row is None:
        raise TaskNotFound()
    item, department = row["item_code"], row["department_id"]
    plan = row["case__plan"] or {}
    names = {m["code"]: m["name"] for m in plan.get("materials", []) if item in m["items"]}
    names |= {f["code"]: f["label"] for f in plan.get("fields", []) if item in f["items"]}
    since = (now or timezone.now()) - dt.timedelta(days=REVIEW_HISTORY_DAYS)
    tasks = Task.objects.filter(item_code=item, department_id=department, decided_at__gte=since)
    denials = list(tasks.filter(status=TaskStatus.DENIED).values_list("reason", flat=True))
    decided = tasks.filter(status__in=(TaskStatus.APPROVED, TaskStatus.DENIED)).count()
    events = CaseEvent.objects.filter(
        action="supplement_requested",
        data__item=item,
        at__gte=since,
        case__tasks__item_code=item,
        case__tasks__department_id=department,
    )
    return _history(events, denials, decided, names)


def intake_review_history(
    *, kind: str, code: str, names: dict[str, str], now=None
) -> dict[str, Any]:
    """The same for an intake desk: what intake refused (不予受理) and asked to supplement
    for this service (item or 一件事) in the last REVIEW_HISTORY_DAYS days, every hall.
    NAMES labels the material and field codes (the page's own plan)."""
    since = (now or timezone.now()) - dt.timedelta(days=REVIEW_HISTORY_DAYS)
    cases = CaseEvent.objects.filter(case__kind=kind, case__code=code, at__gte=since)
    denials = list(cases.filter(action="refused").values_list("reason", flat=True))
    decided = cases.filter(action__in=("accepted", "accepted_deferred", "refused")).count()
    events = cases.filter(action="supplement_requested").exclude(data__has_key="item")
    return _history(events, denials, decided, names)
