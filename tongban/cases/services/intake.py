"""Stage 2, intake (受理): accept, refuse, ask for 补正 (from the window or from a reviewer's
task) and take the applicant's answer, and take a 容缺 material delivered later.

Accepting releases the tasks of the review stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.appointments.services.booking import bookings_release_for_case
from tongban.cases import sla
from tongban.cases.errors import CaseMaterialsInvalid, CaseNotAcceptable, NotAnAcceptor
from tongban.cases.models import (
    Application,
    CaseStatus,
    MaterialHow,
    MaterialSubmission,
    SupplementRequest,
    Task,
    TaskStatus,
)
from tongban.cases.selectors import acceptor_may_handle
from tongban.cases.services._common import (
    MaterialInput,
    Upload,
    _clean_reason,
    _event,
    _lock_case,
    _now,
    _today,
)
from tongban.cases.services.apply import (
    _check_materials,
    _store_materials,
    deferrable_days_for,
    form_validate,
)
from tongban.cases.services.review import _lock_open_task, _release_tasks
from tongban.catalog.models import Department
from tongban.common.errors import InvalidInput
from tongban.common.files import StagedFiles, delete_after_commit
from tongban.common.services import audit_record

# ---------------------------------------------------------------- intake


def _require_acceptor(user: User, case: Application) -> None:
    if not acceptor_may_handle(user, case):
        raise NotAnAcceptor()


def _accept(
    case: Application, *, actor: User | None, actor_label: str | None, action: str, reason: str = ""
) -> None:
    now = _now()
    today = timezone.localdate(now)
    case.accepted_at = now
    case.promised_date = sla.due_date(today, case.plan.get("promised_days", 0))
    case.save(update_fields=["accepted_at", "promised_date"])
    deferred = []
    for m in case.materials.filter(how=MaterialHow.DEFERRED):
        days = deferrable_days_for(case.plan["items"], m.material_code) or 0
        m.due_date = sla.due_date(today, days)
        m.save(update_fields=["due_date"])
        deferred.append({"material": m.material_code, "due_date": m.due_date.isoformat()})
    _event(
        case,
        actor=actor,
        actor_label=actor_label,
        action=action,
        to_status=CaseStatus.ACCEPTED,
        reason=reason,
        data={"deferred": deferred} if deferred else {},
    )
    departments = {
        d.code: d
        for d in Department.objects.filter(code__in=[i["department"] for i in case.plan["items"]])
    }
    for item in case.plan["items"]:
        Task.objects.create(
            case=case,
            item_code=item["code"],
            item_version=item["version"],
            item_name=item["name"],
            department=departments[item["department"]],
            after=item["after"],
            status=TaskStatus.WAITING,
            promised_days=item["promised_days"],
        )
    _release_tasks(case)


def case_accept(*, actor: User, receipt_no: str, reason: str = "") -> Application:
    """一口受理 by a person: an acceptor of the lead department or a counter clerk. Deferred
    materials (容缺) get their due dates now."""
    with transaction.atomic():
        case = _lock_case(receipt_no)
        _require_acceptor(actor, case)
        if case.status != CaseStatus.SUBMITTED:
            raise CaseNotAcceptable()
        action = (
            "accepted_deferred"
            if case.materials.filter(how=MaterialHow.DEFERRED).exists()
            else "accepted"
        )
        _accept(
            case,
            actor=actor,
            actor_label=None,
            action=action,
            reason=_clean_reason(reason, required=False),
        )
    return case


def case_refuse_intake(*, actor: User, receipt_no: str, reason: str) -> Application:
    """不予受理, with the reason the applicant reads."""
    with transaction.atomic():
        case = _lock_case(receipt_no)
        _require_acceptor(actor, case)
        if case.status not in (CaseStatus.SUBMITTED, CaseStatus.SUPPLEMENT_REQUESTED):
            raise CaseNotAcceptable()
        text = _clean_reason(reason)
        _event(case, actor=actor, action="refused", to_status=CaseStatus.REFUSED, reason=text)
        # 银行开户预约 in a refused 企业开办: the desk's place goes back to others.
        bookings_release_for_case(case=case, actor=actor, reason="不予受理")
    return case


def case_request_supplement(
    *,
    actor: User,
    receipt_no: str,
    material_codes: list[str],
    field_codes: list[str],
    reason: str,
    deadline: dt.date | None = None,
) -> SupplementRequest:
    """补正 at intake: exactly which materials and fields, and by when (default 5 working
    days)."""
    with transaction.atomic():
        case = _lock_case(receipt_no)
        _require_acceptor(actor, case)
        if case.status != CaseStatus.SUBMITTED:
            raise CaseNotAcceptable()
        return _supplement_request_create(
            case,
            actor=actor,
            material_codes=material_codes,
            field_codes=field_codes,
            reason=reason,
            deadline=deadline,
            item=None,
        )


def _supplement_request_create(
    case: Application,
    *,
    actor: User,
    material_codes: list[str],
    field_codes: list[str],
    reason: str,
    deadline: dt.date | None,
    item: str | None,
) -> SupplementRequest:
    """ITEM limits what may be asked to what that item needs: a reviewer asks only for the
    data their own item uses."""
    if not all(isinstance(c, str) for c in [*material_codes, *field_codes]):
        raise InvalidInput("补正要求有误", code="SUPPLEMENT_REQUEST_INVALID")
    text = _clean_reason(reason)
    known_m = {m["code"] for m in case.plan["materials"] if item is None or item in m["items"]}
    known_f = {f["code"] for f in case.plan["fields"] if item is None or item in f["items"]}
    errors = [
        {"field": c, "message": "该办件没有此材料"} for c in material_codes if c not in known_m
    ]
    errors += [{"field": c, "message": "该办件没有此字段"} for c in field_codes if c not in known_f]
    if not material_codes and not field_codes:
        errors.append({"field": "", "message": "请指明需补正的材料或字段"})
    today = _today()
    if deadline is None:
        deadline = sla.due_date(today, 5)
    elif deadline <= today:
        errors.append({"field": "deadline", "message": "补正期限应晚于今天"})
    if errors:
        raise InvalidInput("补正要求有误", code="SUPPLEMENT_REQUEST_INVALID", details=errors)
    request = SupplementRequest.objects.create(
        case=case,
        material_codes=sorted(set(material_codes)),
        field_codes=sorted(set(field_codes)),
        reason=text,
        deadline=deadline,
        requested_by=actor,
        requested_at=_now(),
    )
    _event(
        case,
        actor=actor,
        action="supplement_requested",
        to_status=CaseStatus.SUPPLEMENT_REQUESTED,
        reason=text,
        data={
            "materials": request.material_codes,
            "fields": request.field_codes,
            "deadline": deadline.isoformat(),
            **({"item": item} if item else {}),
        },
    )
    return request


def task_request_supplement(
    *,
    reviewer: User,
    task_id: int,
    material_codes: list[str],
    field_codes: list[str],
    reason: str,
    expected_row_version: int,
    deadline: dt.date | None = None,
) -> SupplementRequest:
    """A reviewer asks for supplements through the case (补正), limited to what their item
    needs. The task waits; when the applicant supplements it returns to the reviewer."""
    with transaction.atomic():
        task = _lock_open_task(reviewer, task_id, expected_row_version)
        case = task.case
        if case.status != CaseStatus.ACCEPTED:
            raise CaseNotAcceptable("该办件已有待补正事项，请待申请人补正后再提出")
        request = _supplement_request_create(
            case,
            actor=reviewer,
            material_codes=material_codes,
            field_codes=field_codes,
            reason=reason,
            deadline=deadline,
            item=task.item_code,
        )
        task.status = TaskStatus.SUPPLEMENT_REQUESTED
        task.claimed_by = task.claimed_by or reviewer
        task.row_version += 1
        task.save()
    return request


def case_supplement(
    *,
    applicant: User,
    receipt_no: str,
    form_data: dict[str, Any],
    materials: dict[str, MaterialInput],
) -> Application:
    """The applicant supplies exactly what was asked, once, in place; the case returns to
    intake. Anything not asked for is refused."""
    from tongban.cases.errors import CaseNotFound

    def check(case: Application) -> None:
        if case.applicant_id != getattr(applicant, "pk", None):
            raise CaseNotFound()  # another person's case does not exist for them

    return _supplement(receipt_no, form_data, materials, check=check, actor=applicant, counter=None)


COUNTER_SUPPLEMENT_NOTE = "原件已在{hall}{window}号窗口当面核验，窗口扫描件附后"


def case_supplement_at_counter(
    *,
    clerk: User,
    receipt_no: str,
    form_data: dict[str, Any],
    materials: dict[str, MaterialInput],
    originals_seen: bool,
    identified_profile_id: int | None = None,
) -> Application:
    """窗口补正: the person brought what a 补正 asked for (an original to be seen) to a
    counter. The clerk who is serving them right now — their called or serving ticket is the
    applicant's — checks the original, scans it and types any asked data; the case returns
    to intake as if the applicant had supplied it, the event and audit naming the clerk and
    the window, each material noting the original was seen. Anyone else: refused, nothing
    written. ORIGINALS_SEEN: the clerk confirms they saw the originals (required). A
    walk-in ticket taken without a login names nobody: it serves when the clerk identified
    the applicant at this counter (IDENTIFIED_PROFILE_ID, by ID card or 随申码)."""
    from tongban.cases.errors import CaseNotFound
    from tongban.cases.selectors import serving_ticket

    box: dict[str, Any] = {}

    def check(case: Application) -> None:
        ticket = serving_ticket(clerk, case, identified_profile_id)
        if ticket is None:
            # Not serving this person: the case is not theirs to see.
            raise CaseNotFound()
        if originals_seen is not True:
            raise InvalidInput(
                "请当面核验原件后勾选“原件已当面核验”", code="CASE_ORIGINALS_NOT_SEEN"
            )
        box["ticket"] = ticket

    def note() -> str:
        t = box["ticket"]
        return COUNTER_SUPPLEMENT_NOTE.format(hall=t.hall.name, window=t.window.number)

    return _supplement(receipt_no, form_data, materials, check=check, actor=clerk, counter=note)


def _supplement(receipt_no, form_data, materials, *, check, actor: User, counter) -> Application:
    """补正 in place: CHECK refuses whoever may not; COUNTER (a note for each material) when a
    clerk records it at the window."""
    stored = StagedFiles()
    try:
        with transaction.atomic():
            case = _lock_case(receipt_no)
            check(case)
            if case.status != CaseStatus.SUPPLEMENT_REQUESTED:
                raise CaseNotAcceptable()
            request = case.supplements.filter(fulfilled_at__isnull=True).order_by("-pk").first()
            if request is None:
                raise CaseNotAcceptable()
            profile = case.applicant_profile
            clean = form_validate(case.plan, form_data, only=set(request.field_codes))
            provided = _check_materials(case.plan, materials, only=set(request.material_codes))
            missing = [c for c in request.material_codes if c not in (materials or {})]
            if missing:
                raise CaseMaterialsInvalid(
                    details=[{"field": c, "message": "请提交补正材料"} for c in missing]
                )
            merged = case.form_data
            merged.update(clean)
            case.form_data = merged
            case.save(update_fields=["form_data_text", "updated_at"])
            # The papers replaced go with their rows (after the commit): nobody could reach them.
            replaced = case.materials.filter(material_code__in=request.material_codes)
            delete_after_commit(n for n in replaced.values_list("file", flat=True) if n)
            replaced.delete()
            _store_materials(case, provided, stored)
            extra: dict[str, Any] = {}
            if counter is not None:
                text = counter()
                case.materials.filter(material_code__in=request.material_codes).update(note=text)
                # "post": the case page names the 综合窗口 as the one who supplied it.
                extra = {"at_counter": text, "post": "counter"}
            request.fulfilled_at = _now()
            request.save(update_fields=["fulfilled_at"])
            # Intake 补正 returns the case to intake; a reviewer's returns it to their desk.
            back_to = CaseStatus.ACCEPTED if case.accepted_at else CaseStatus.SUBMITTED
            for task in case.tasks.select_for_update().filter(
                status=TaskStatus.SUPPLEMENT_REQUESTED
            ):
                task.status = TaskStatus.CLAIMED
                task.row_version += 1
                task.save(update_fields=["status", "row_version"])
            _event(
                case,
                actor=actor,
                action="supplemented",
                to_status=back_to,
                data={"fields": sorted(clean), "materials": request.material_codes, **extra},
            )
            audit_record(
                actor=actor,
                action="case.supplement",
                object_type="case",
                object_id=case.receipt_no,
                purpose="窗口补正" if counter is not None else "补正",
                subject_resident_id=profile.pk if profile else None,
                data={"fields": sorted(clean), **extra},
            )
    except BaseException:
        stored.discard()
        raise
    return case


def case_deferred_material_submit(
    *, applicant: User, receipt_no: str, material_code: str, files: list[Upload]
) -> MaterialSubmission:
    """容缺后补: the applicant delivers a material the case was accepted without."""
    from tongban.cases.errors import CaseNotFound

    stored = StagedFiles()
    try:
        with transaction.atomic():
            case = _lock_case(receipt_no)
            if case.applicant_id != getattr(applicant, "pk", None):
                raise CaseNotFound()
            deferred = case.materials.filter(
                material_code=material_code, how=MaterialHow.DEFERRED
            ).first()
            if deferred is None:
                raise CaseNotAcceptable("该材料不是容缺后补材料，或已补交")
            provided = _check_materials(
                case.plan,
                {material_code: MaterialInput(how=MaterialHow.UPLOAD, files=tuple(files))},
                only={material_code},
            )
            due = deferred.due_date
            deferred.delete()
            _store_materials(case, provided, stored)
            _event(
                case,
                actor=applicant,
                action="deferred_material_submitted",
                data={
                    "material": material_code,
                    "due_date": due.isoformat() if due else None,
                    "late": bool(due and _today() > due),
                },
            )
    except BaseException:
        stored.discard()
        raise
    return case.materials.filter(material_code=material_code).order_by("-pk").first()
