"""Every write of 行政协助: ask, answer, withdraw, and the sweep that reminds and marks overdue.

Each call is one transaction that locks the case first (the case engine's lock order: case,
then what hangs off it), appends one CaseEvent on the case and one audit row naming the
actor; notices join the same transaction (tongban.notifications delivers them after commit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.accounts.selectors import staff_post_label
from tongban.assistance import selectors
from tongban.assistance.errors import (
    AssistanceAlreadyOpen,
    AssistanceClosed,
    AssistanceInvalid,
    AssistanceNotAllowed,
    AssistanceNotFound,
    AssistanceSameDepartment,
    AssistanceTaskNotOpen,
)
from tongban.assistance.models import WAITING_STATUSES, AssistanceRequest, AssistanceStatus
from tongban.cases import sla
from tongban.cases.errors import TaskNotFound
from tongban.cases.models import Application, Task
from tongban.cases.receipt import receipt_display

# The case engine's one event writer (sequence numbers, status column): a second copy here
# would drift from it.
from tongban.cases.services import MAX_UPLOAD_BYTES, Upload, department_leads, upload_sniff
from tongban.cases.services._common import _event
from tongban.catalog.models import Department
from tongban.common.calendar import is_working_day
from tongban.common.files import StagedFiles
from tongban.common.services import audit_record
from tongban.notifications.services import notice_send

QUESTION_MAX = 500
ANSWER_MAX = 2000
WITHDRAW_REASON_MAX = 200
DUE_DAYS_DEFAULT = 5
DUE_DAYS_MIN = 1
DUE_DAYS_MAX = 20
SYSTEM_ASSISTANCE = "system:assistance"


def _lock_case_of_task(task_id: int) -> Task:
    if not isinstance(task_id, int) or isinstance(task_id, bool) or not 0 < task_id < 2**62:
        raise TaskNotFound()
    case_id = Task.objects.filter(pk=task_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise TaskNotFound()
    case = Application.objects.select_for_update().get(pk=case_id)
    task = Task.objects.select_for_update().get(pk=task_id)
    task.case = case
    return task


def _lock_request(request_id: int) -> AssistanceRequest:
    if (
        not isinstance(request_id, int)
        or isinstance(request_id, bool)
        or not 0 < request_id < 2**62
    ):
        raise AssistanceNotFound()
    case_id = (
        AssistanceRequest.objects.filter(pk=request_id).values_list("case_id", flat=True).first()
    )
    if case_id is None:
        raise AssistanceNotFound()
    case = Application.objects.select_for_update().get(pk=case_id)
    request = AssistanceRequest.objects.select_for_update().get(pk=request_id)
    request.case = case
    return request


def _department(value: Department | str) -> Department:
    if isinstance(value, Department):
        return value
    department = Department.objects.filter(code=str(value or ""), is_active=True).first()
    if department is None:
        raise AssistanceInvalid("请选择协助部门", code="ASSISTANCE_DEPARTMENT_UNKNOWN")
    return department


def _text(value: str, *, limit: int, required_code: str, long_code: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise AssistanceInvalid(f"请填写{what}", code=required_code)
    if len(text) > limit:
        raise AssistanceInvalid(f"{what}不得超过{limit}字", code=long_code)
    return text


def _link(request: AssistanceRequest) -> str:
    return f"/staff/assistance/{request.pk}/"


def _tell_answerers(request: AssistanceRequest, *, template: str, **context) -> int:
    people = selectors.department_answerers(request.target_department_id)
    for user in people:
        notice_send(
            recipient=user,
            template=template,
            context={
                "receipt": receipt_display(request.case.receipt_no),
                "from_department": request.requesting_department.name,
                "due_date": request.due_date.isoformat(),
                **context,
            },
            link=_link(request),
        )
    return len(people)


def assistance_request(
    *,
    actor: User,
    task_id: int,
    target_department: Department | str,
    subject_role: str,
    question: str,
    due_days: int = DUE_DAYS_DEFAULT,
    material_codes: Iterable[str] = (),
    ip_address: str | None = None,
) -> AssistanceRequest:
    """发起行政协助: a reviewer of the task's department asks TARGET_DEPARTMENT about one
    person or the enterprise of the case, to be answered within DUE_DAYS working days."""
    with transaction.atomic():
        task = _lock_case_of_task(task_id)
        case = task.case
        # The case review's own check: a reviewer post in the task's department.
        if not selectors.may_request_for(actor, task):
            raise AssistanceNotAllowed()
        if task.status not in selectors.OPEN_TASK_STATUSES:
            raise AssistanceTaskNotOpen()
        target = _department(target_department)
        if target.pk == task.department_id:
            raise AssistanceSameDepartment()
        text = _text(
            question,
            limit=QUESTION_MAX,
            required_code="ASSISTANCE_QUESTION_REQUIRED",
            long_code="ASSISTANCE_QUESTION_TOO_LONG",
            what="协助事项",
        )
        if (
            not isinstance(due_days, int)
            or isinstance(due_days, bool)
            or not DUE_DAYS_MIN <= due_days <= DUE_DAYS_MAX
        ):
            raise AssistanceInvalid(
                f"答复时限应为{DUE_DAYS_MIN}至{DUE_DAYS_MAX}个工作日",
                code="ASSISTANCE_DUE_DAYS_INVALID",
            )
        subject = next(
            (s for s in selectors.subject_options(case) if s["role"] == subject_role), None
        )
        if subject is None:
            raise AssistanceInvalid("请选择本办件中的协助对象", code="ASSISTANCE_SUBJECT_UNKNOWN")
        names = selectors.task_materials(task)
        codes = list(dict.fromkeys(material_codes or ()))
        unknown = [c for c in codes if c not in names]
        if unknown:
            raise AssistanceInvalid(
                "只能选择本事项的材料",
                code="ASSISTANCE_MATERIAL_UNKNOWN",
                details=[{"field": "material_codes", "message": c[:64]} for c in unknown[:10]],
            )
        if AssistanceRequest.objects.filter(
            case=case,
            target_department=target,
            subject_role=subject_role,
            status__in=WAITING_STATUSES,
        ).exists():
            raise AssistanceAlreadyOpen()
        now = timezone.now()
        due = sla.due_date(timezone.localdate(now), due_days)
        request = AssistanceRequest.objects.create(
            case=case,
            task=task,
            requesting_department_id=task.department_id,
            requested_by=actor,
            requested_by_label=staff_post_label(actor, task.department),
            target_department=target,
            subject_role=subject_role,
            subject_label=subject["label"],
            subject_identifier=subject["identifier"],
            question=text,
            materials=[{"code": c, "name": names[c]} for c in codes],
            due_days=due_days,
            due_date=due,
            created_at=now,
        )
        # What the applicant reads: which department is asked, never the question (it may
        # be about someone else) nor who asked.
        _event(
            case,
            actor=actor,
            action="assistance_requested",
            reason=f"向{target.name}核实有关情况，等待答复",
            data={
                "task": task.pk,
                "assistance": request.pk,
                "department": target.code,
                "due_date": due.isoformat(),
            },
        )
        audit_record(
            actor=actor,
            action="assistance.requested",
            object_type="assistance",
            object_id=request.pk,
            subject_resident_id=case.applicant_profile_id if subject_role == "applicant" else None,
            subject_enterprise_id=case.enterprise_id if subject_role == "enterprise" else None,
            purpose=f"行政协助：{task.item_name}",
            ip_address=ip_address,
            data={
                "case": case.receipt_no,
                "task": task.pk,
                "target_department": target.code,
                "subject_role": subject_role,
                "due_date": due.isoformat(),
            },
        )
        _tell_answerers(request, template="assistance_requested")
    return request


def assistance_answer(
    *,
    actor: User,
    request_id: int,
    answer: str,
    file: Upload | None = None,
    ip_address: str | None = None,
) -> AssistanceRequest:
    """答复: staff of the target department (a case-handling post) answer; the answer, and
    its file if any, become evidence of the case."""
    staged = StagedFiles()
    try:
        return _answer(
            actor=actor,
            request_id=request_id,
            answer=answer,
            file=file,
            ip_address=ip_address,
            staged=staged,
        )
    except BaseException:
        staged.discard()
        raise


def _answer(
    *,
    actor: User,
    request_id: int,
    answer: str,
    file: Upload | None,
    ip_address: str | None,
    staged: StagedFiles,
) -> AssistanceRequest:
    with transaction.atomic():
        request = _lock_request(request_id)
        if not selectors.may_answer(actor, request):
            # Whoever may not even see it is told it does not exist.
            if not selectors.sees_request(actor, request):
                raise AssistanceNotFound()
            raise AssistanceNotAllowed()
        if request.status not in WAITING_STATUSES:
            raise AssistanceClosed()
        text = _text(
            answer,
            limit=ANSWER_MAX,
            required_code="ASSISTANCE_ANSWER_REQUIRED",
            long_code="ASSISTANCE_ANSWER_TOO_LONG",
            what="答复意见",
        )
        if file is not None:
            if len(file.content) > MAX_UPLOAD_BYTES:
                raise AssistanceInvalid(
                    "文件超过10MB，请压缩后上传", code="ASSISTANCE_FILE_REFUSED"
                )
            sniffed = upload_sniff(file.content)
            if sniffed is None:
                raise AssistanceInvalid("只接受PDF、JPG、PNG文件", code="ASSISTANCE_FILE_REFUSED")
            content_type, ext = sniffed
            digest = hashlib.sha256(file.content).hexdigest()
            field = request.answer_file.field
            request.answer_file.name = staged.save(
                field.generate_filename(
                    request, f"{request.case.receipt_no}-{request.pk}-{digest[:16]}{ext}"
                ),
                ContentFile(file.content),
            )
            request.answer_file_type = content_type
            request.answer_file_size = len(file.content)
            request.answer_file_sha256 = digest
        request.status = AssistanceStatus.ANSWERED
        request.answer = text
        request.answered_by = actor
        request.answered_by_label = staff_post_label(actor, request.target_department)
        request.answered_at = timezone.now()
        request.save()
        # The platform hands the answer to the case: the applicant reads 系统 and the
        # department, never the answering person; the event's actor and the audit name them.
        _event(
            request.case,
            actor=actor,
            actor_label=SYSTEM_ASSISTANCE,
            action="assistance_answered",
            reason=f"{request.target_department.name}已答复",
            data={
                "task": request.task_id,
                "assistance": request.pk,
                "department": request.target_department.code,
            },
        )
        audit_record(
            actor=actor,
            action="assistance.answered",
            object_type="assistance",
            object_id=request.pk,
            ip_address=ip_address,
            data={
                "case": request.case.receipt_no,
                "file_sha256": request.answer_file_sha256,
            },
        )
        notice_send(
            recipient=request.requested_by,
            template="assistance_answered",
            context={
                "receipt": receipt_display(request.case.receipt_no),
                "department": request.target_department.name,
            },
            link=f"/staff/tasks/{request.task_id}/",
        )
    return request


def assistance_withdraw(
    *, actor: User, request_id: int, reason: str = "", ip_address: str | None = None
) -> AssistanceRequest:
    """撤回: a reviewer of the requesting department withdraws a request still waited on."""
    with transaction.atomic():
        request = _lock_request(request_id)
        if request.requesting_department_id not in selectors.reviewer_departments(actor):
            if not selectors.sees_request(actor, request):
                raise AssistanceNotFound()
            raise AssistanceNotAllowed()
        if request.status not in WAITING_STATUSES:
            raise AssistanceClosed()
        why = (reason or "").strip()
        if len(why) > WITHDRAW_REASON_MAX:
            raise AssistanceInvalid(
                f"撤回理由不得超过{WITHDRAW_REASON_MAX}字", code="ASSISTANCE_REASON_TOO_LONG"
            )
        request.status = AssistanceStatus.WITHDRAWN
        request.withdrawn_by = actor
        request.withdrawn_at = timezone.now()
        request.withdraw_reason = why
        request.save()
        _event(
            request.case,
            actor=actor,
            action="assistance_withdrawn",
            reason=why,
            data={"task": request.task_id, "assistance": request.pk},
        )
        audit_record(
            actor=actor,
            action="assistance.withdrawn",
            object_type="assistance",
            object_id=request.pk,
            ip_address=ip_address,
            data={"case": request.case.receipt_no, "reason": why},
        )
        _tell_answerers(request, template="assistance_withdrawn")
    return request


def assistance_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Remind the target department on the working day before the due date and on the due
    date (once each), and mark a request overdue the day after it, telling the department's
    lead and the requester. One short transaction per request; safe to run any number of
    times and on several workers (each row is re-read under its lock)."""
    today = today or timezone.localdate()
    remind_until = sla.due_date(today, 1)
    ids = list(
        AssistanceRequest.objects.filter(status=AssistanceStatus.OPEN, due_date__lte=remind_until)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    reminded = overdue = 0
    for request_id in ids:
        with transaction.atomic():
            request = _lock_request(request_id)
            if request.status != AssistanceStatus.OPEN:
                continue
            if request.due_date < today:
                request.status = AssistanceStatus.OVERDUE
                request.overdue_at = timezone.now()
                request.save(update_fields=["status", "overdue_at"])
                _event(
                    request.case,
                    actor=None,
                    actor_label=SYSTEM_ASSISTANCE,
                    action="assistance_overdue",
                    reason=f"{request.target_department.name}未在期限内答复",
                    data={"task": request.task_id, "assistance": request.pk},
                )
                audit_record(
                    actor_label=SYSTEM_ASSISTANCE,
                    action="assistance.overdue",
                    object_type="assistance",
                    object_id=request.pk,
                    data={"case": request.case.receipt_no, "due_date": str(request.due_date)},
                )
                context = {
                    "receipt": receipt_display(request.case.receipt_no),
                    "from_department": request.requesting_department.name,
                    "department": request.target_department.name,
                    "due_date": request.due_date.isoformat(),
                }
                people = department_leads(request.target_department_id)
                if all(u.pk != request.requested_by_id for u in people):
                    people.append(request.requested_by)
                for user in people:
                    notice_send(
                        recipient=user,
                        template="assistance_overdue",
                        context=context,
                        link=_link(request),
                    )
                overdue += 1
            elif is_working_day(today) and request.last_reminded_on != today:
                request.reminders_sent += 1
                request.last_reminded_on = today
                request.save(update_fields=["reminders_sent", "last_reminded_on"])
                audit_record(
                    actor_label=SYSTEM_ASSISTANCE,
                    action="assistance.reminded",
                    object_type="assistance",
                    object_id=request.pk,
                    data={"case": request.case.receipt_no, "due_date": str(request.due_date)},
                )
                _tell_answerers(
                    request,
                    template="assistance_reminder",
                    when="今天" if request.due_date == today else "下一个工作日",
                )
                reminded += 1
    return {"reminded": reminded, "overdue": overdue}


def maintenance_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The maintenance tick's entry (tongban.cases.schedule)."""
    return assistance_sweep(today=today)
