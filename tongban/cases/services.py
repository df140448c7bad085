"""Every write of the case engine. Keyword-only; each call is one transaction that appends a
CaseEvent naming the actor; side effects run on commit.

Flow: case_submit → (auto) case_accept | case_request_supplement → case_supplement |
case_refuse_intake → tasks (waiting/pending) → task_claim / task_decide (or auto-decided by
review points) → conclusion → issuance hooks → archived (delivery online) or, for counter
pick-up and post, case_hand_out (统一窗口出件) → archived.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import (
    District,
    Enterprise,
    EnterpriseMembership,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.validators import parse_credit_code, parse_id_number
from tongban.appointments.models import Hall
from tongban.cases import sla
from tongban.cases.errors import (
    CaseAlreadyHandedOut,
    CaseDuplicateOpen,
    CaseFormInvalid,
    CaseMaterialsInvalid,
    CaseNotAcceptable,
    CaseNotAwaitingHandout,
    CounterHallRequired,
    DraftNotFound,
    DraftUploadNotFound,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    NotAnAcceptor,
    NotAnIssuer,
    NotAReviewer,
    NotForApplicant,
    TaskConflict,
    TaskNotFound,
    TaskNotOpen,
    UploadRefused,
)
from tongban.cases.models import (
    DECIDED_TASK_STATUSES,
    Application,
    CaseEvent,
    CaseKind,
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
from tongban.cases.receipt import receipt_display, receipt_new
from tongban.cases.selectors import (
    acceptor_may_handle,
    case_subject_key,
    hand_out_may_handle,
    open_duplicates,
    reason_for_applicant,
)
from tongban.catalog.guide import GuideResult, guide_for_bundle, guide_for_item
from tongban.catalog.models import Department
from tongban.catalog.schemas import ReviewPoint
from tongban.catalog.selectors import (
    bundle_definition,
    element_definitions,
    item_definition,
)
from tongban.common.errors import InvalidInput
from tongban.common.services import actor_label_for, audit_record
from tongban.notifications.services import notice_send

SYSTEM_AUTO = "system:auto"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_CASE = 20
REASON_MAX = 1000
DRAFT_MAX_CHARS = 64_000
IDEMPOTENCY_KEY_MAX = 128

# 统一发证: the certificates app appends callables here at start-up; each is called on commit
# with the concluded case. Kept as a plain list so the cases app never imports certificates.
IssuanceHook = Callable[[Application], None]
issuance_hooks: list[IssuanceHook] = []


def register_issuance_hook(hook: IssuanceHook) -> None:
    if hook not in issuance_hooks:
        issuance_hooks.append(hook)


# An item with outputs was approved: the certificates app issues what it can at once, so the
# items after it in the same case can use it. Called on commit with the (open) case.
item_approved_hooks: list[IssuanceHook] = []


def register_item_approved_hook(hook: IssuanceHook) -> None:
    if hook not in item_approved_hooks:
        item_approved_hooks.append(hook)


# 好差评 一次一评: the reviews app appends callables here; each is called on commit with a case
# just handed out at the window, so the case engine never imports reviews.
handout_hooks: list[IssuanceHook] = []


def register_handout_hook(hook: IssuanceHook) -> None:
    if hook not in handout_hooks:
        handout_hooks.append(hook)


# ---------------------------------------------------------------- uploads


@dataclass(frozen=True)
class Upload:
    """One file as received: the API turns a request's file into this, tests build it."""

    name: str
    content: bytes


_MAGIC = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def upload_sniff(content: bytes) -> tuple[str, str] | None:
    """(content type, extension) by magic bytes; the name a browser sends proves nothing."""
    for magic, content_type, ext in _MAGIC:
        if content.startswith(magic):
            return content_type, ext
    return None


@dataclass(frozen=True)
class MaterialInput:
    """How the applicant satisfies one material: upload (files), commitment or deferred."""

    how: str
    files: tuple[Upload, ...] = ()
    # Files already kept with the applicant's own draft (DraftUpload ids), as the
    # step-by-step form hands them over; case_submit reads them only from that draft.
    draft_uploads: tuple[int, ...] = ()


# ---------------------------------------------------------------- helpers


def _now() -> dt.datetime:
    return timezone.now()


def _today() -> dt.date:
    return timezone.localdate()


def _actor_label(actor: User | None, label: str | None = None) -> str:
    return label or actor_label_for(actor)


_INTAKE_ACTIONS = frozenset({"accepted", "accepted_deferred", "refused", "supplement_requested"})


def _intake_post(actor: User, case: Application) -> str:
    lead = StaffAssignment.objects.filter(
        user=actor, role=StaffRole.ACCEPTOR, department_id=case.lead_department_id
    ).exists()
    return "department" if lead else "counter"


def _event(
    case: Application,
    *,
    actor: User | None,
    action: str,
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> CaseEvent:
    """Append an event; when TO_STATUS is given, set the case's status in the same breath so
    the denormalised column can never disagree with the log."""
    last = case.events.order_by("-seq").values_list("seq", flat=True).first() or 0
    if action in _INTAKE_ACTIONS and actor is not None and getattr(actor, "is_staff_member", False):
        # Which desk acted (前台综合受理 or the lead department), for the applicant's timeline.
        data = {**(data or {}), "post": _intake_post(actor, case)}
    from_status = case.status
    if to_status:
        case.status = to_status
        case.save(update_fields=["status", "outcome", "accepted_at", "concluded_at", "updated_at"])
        told = reason_for_applicant(action=action, actor_label=_actor_label(actor, actor_label))
        _notify_applicant(case, reason=reason if told else "")
    return CaseEvent.objects.create(
        case=case,
        seq=last + 1,
        at=_now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=_actor_label(actor, actor_label),
        action=action,
        from_status=from_status if to_status else "",
        to_status=to_status,
        reason=reason,
        data=data or {},
    )


def _notify_applicant(case: Application, *, reason: str) -> None:
    """An in-app notice on every status change (一体管理); joins the caller's transaction."""
    label = case.get_status_display()
    if case.status == CaseStatus.CONCLUDED and case.outcome:
        label = f"已办结（{case.get_outcome_display()}）"
        if case.delivery == Delivery.COUNTER:
            label += "，请到窗口领取"
        elif case.delivery == Delivery.POST:
            label += "，待邮寄"
    elif case.status == CaseStatus.ARCHIVED and case.handed_out_at is not None:
        label = "已寄出" if case.delivery == Delivery.POST else "已领取"
    template = {
        CaseStatus.ACCEPTED: "case_accepted",
        CaseStatus.SUPPLEMENT_REQUESTED: "case_supplement_requested",
        CaseStatus.CONCLUDED: "case_concluded",
        CaseStatus.REFUSED: "case_refused",
    }.get(case.status, "case_status")
    notice_send(
        recipient=case.applicant,
        template=template,
        context={
            "case_name": case.name,
            "status_label": label,
            "receipt": receipt_display(case.receipt_no),
            "reason": reason,
        },
        link=f"/me/cases/{case.receipt_no}/",  # the page people read, not the JSON
        category="case",
    )


def _guide(
    kind: str, code: str, answers: dict[str, str], profile, enterprise=None, form_values=None
) -> GuideResult:
    # KNOWN (the submitted form) names the persons materials are about, so only their own
    # certificates spare their documents.
    run = {CaseKind.BUNDLE: guide_for_bundle, CaseKind.ITEM: guide_for_item}.get(kind)
    if run is not None:
        return run(
            code=code,
            answers=answers,
            applicant=profile,
            enterprise=enterprise,
            form_values=form_values,
        )
    raise InvalidInput("申请类型只能是 bundle 或 item", code="CASE_KIND_INVALID")


def _clean_reason(reason: str, *, required: bool = True) -> str:
    value = (reason or "").strip()
    if required and not value:
        raise InvalidInput("请填写理由", code="REASON_REQUIRED")
    if len(value) > REASON_MAX:
        raise InvalidInput(f"理由不得超过{REASON_MAX}字", code="REASON_TOO_LONG")
    return value


# ---------------------------------------------------------------- form validation

_PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DISTRICTS = {c.value for c in District}


def _validate_value(element, raw: Any) -> tuple[Any, str | None]:
    """(normalised value, None) or (None, Chinese message) for one data element."""
    t = element.type
    if t == "boolean":
        if isinstance(raw, bool):
            return raw, None
        return None, "请选择是或否"
    if t in ("integer", "decimal"):
        if isinstance(raw, bool):
            return None, "请填写数字"
        try:
            number = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError):
            return None, "请填写数字"
        if not number.is_finite():
            return None, "请填写数字"
        if t == "integer" and number != number.to_integral_value():
            return None, "请填写整数"
        if element.min_value is not None and number < Decimal(str(element.min_value)):
            return None, f"不得小于{element.min_value:g}"
        if element.max_value is not None and number > Decimal(str(element.max_value)):
            return None, f"不得大于{element.max_value:g}"
        return (int(number) if t == "integer" else str(number)), None
    if not isinstance(raw, str):
        return None, "请填写文字"
    value = raw.strip()
    max_length = element.max_length or 500
    if len(value) > max_length:
        return None, f"不得超过{max_length}个字"
    if t == "id_number":
        try:
            value = parse_id_number(value).number
        except InvalidInput as exc:
            return None, exc.message
    elif t == "uscc":
        try:
            value = parse_credit_code(value).code
        except InvalidInput as exc:
            return None, exc.message
    elif t == "date":
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            return None, "请按 YYYY-MM-DD 填写日期"
        value = parsed.isoformat()
    elif t == "phone":
        if not _PHONE.match(value):
            return None, "请填写11位手机号码或带区号的固定电话"
    elif t == "email":
        if not _EMAIL.match(value):
            return None, "电子邮箱格式不正确"
    elif t == "district":
        if value not in _DISTRICTS:
            return None, "请选择本市的区"
    elif t == "choice" and value not in {c.value for c in element.choices}:
        return None, "请从给定选项中选择"
    if element.pattern and not re.fullmatch(element.pattern, value):
        return None, "格式不正确"
    return value, None


def form_validate(
    plan: dict[str, Any], form_data: Any, *, only: set[str] | None = None
) -> dict[str, Any]:
    """Every field of the plan (the guide's result, pinned on the case) checked against its
    data element; ALL problems at once as CASE_FORM_INVALID details. Fields not asked for are
    refused: a department must not receive data it has no use for. ONLY limits the check to
    those fields (补正)."""
    if not isinstance(form_data, dict):
        raise CaseFormInvalid(details=[{"field": "", "message": "申请表应为字段到取值的对象"}])
    wanted = {f["code"]: f for f in plan["fields"] if only is None or f["code"] in only}
    elements = element_definitions(list(wanted))
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for key in form_data:
        if key not in wanted:
            errors.append({"field": str(key)[:100], "message": "本次申请不需要填写此项"})
    for code, field in wanted.items():
        raw = form_data.get(code)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if field["required"]:
                errors.append({"field": code, "message": f"请填写{field['label']}"})
            continue
        element = elements.get(code)
        if element is None:  # defensive: the loader refuses items naming unknown elements
            errors.append({"field": code, "message": "未知数据元"})
            continue
        value, problem = _validate_value(element, raw)
        if problem:
            errors.append({"field": code, "message": f"{field['label']}：{problem}"})
        else:
            clean[code] = value
    if errors:
        raise CaseFormInvalid(details=errors)
    return clean


# ---------------------------------------------------------------- materials


def deferrable_days_for(plan_items: list[dict], code: str) -> int | None:
    """The shortest 容缺 period any item including material CODE allows, or None when one of
    them does not allow deferral at all."""
    days: list[int] = []
    found = False
    for item in plan_items:
        definition = item_definition(item["code"], item["version"])
        for m in definition.materials:
            if m.code == code:
                found = True
                if not m.deferrable:
                    return None
                days.append(m.deferrable_days)
    return min(days) if found and days else None


def _check_materials(
    plan: dict[str, Any], materials: Any, *, only: set[str] | None = None
) -> list[tuple[str, MaterialInput, str]]:
    """Check every material of the plan (or ONLY those) is uploaded, committed, waived or,
    where allowed, deferred. Returns (code, input, note) for those the applicant provided.
    Nothing is stored here, so a refusal stores nothing."""
    if not isinstance(materials, dict):
        raise CaseMaterialsInvalid(details=[{"field": "", "message": "材料应为编码到提交方式"}])
    wanted = {m["code"]: m for m in plan["materials"] if only is None or m["code"] in only}
    errors: list[dict[str, str]] = []
    out: list[tuple[str, MaterialInput, str]] = []
    total_files = 0
    for code in materials:
        if code not in wanted:
            errors.append({"field": str(code)[:100], "message": "本次申请不需要此材料"})
    for code, m in wanted.items():
        given = materials.get(code)
        if given is None:
            if m["required"] and not (m["spared"] and only is None):
                errors.append({"field": code, "message": f"请提交{m['name']}"})
            continue
        if not isinstance(given, MaterialInput):
            errors.append({"field": code, "message": "提交方式不正确"})
            continue
        if given.how == MaterialHow.UPLOAD:
            if not given.files and not given.draft_uploads:
                errors.append({"field": code, "message": f"请上传{m['name']}"})
                continue
            # Draft files were checked when kept; case_submit reads them in as files.
            total_files += len(given.files) + len(given.draft_uploads)
            for f in given.files:
                if len(f.content) > MAX_UPLOAD_BYTES:
                    errors.append(
                        {"field": code, "message": f"文件“{f.name[:60]}”超过10MB，请压缩后上传"}
                    )
                elif upload_sniff(f.content) is None:
                    errors.append(
                        {"field": code, "message": f"文件“{f.name[:60]}”不是PDF、JPG或PNG格式"}
                    )
            out.append((code, given, ""))
        elif given.how == MaterialHow.COMMITMENT:
            text = m.get("commitment")
            if not text:
                errors.append({"field": code, "message": f"{m['name']}不适用告知承诺"})
            else:
                out.append((code, given, text))
        elif given.how == MaterialHow.DEFERRED:
            if deferrable_days_for(plan["items"], code) is None:
                errors.append({"field": code, "message": f"{m['name']}不适用容缺受理"})
            else:
                out.append((code, given, ""))
        else:
            errors.append({"field": code, "message": "提交方式只能是上传、告知承诺或容缺后补"})
    if total_files > MAX_FILES_PER_CASE:
        errors.append({"field": "", "message": f"一次最多上传{MAX_FILES_PER_CASE}个文件"})
    if errors:
        if any("PDF" in e["message"] or "10MB" in e["message"] for e in errors):
            raise UploadRefused(details=errors)
        raise CaseMaterialsInvalid(details=errors)
    return out


def materials_check(plan: dict[str, Any], materials: dict[str, MaterialInput]) -> list[dict]:
    """The problems case_submit would name with these materials (none: they are complete),
    for the form's 申请材料 step and 核对信息 page to say before submitting."""
    try:
        _check_materials(plan, materials)
    except (CaseMaterialsInvalid, UploadRefused) as exc:
        return list(exc.details)
    return []


def _store_materials(
    case: Application, provided: list[tuple[str, MaterialInput, str]], stored: list[str]
) -> None:
    for code, given, note in provided:
        if given.how == MaterialHow.UPLOAD:
            for f in given.files:
                content_type, ext = upload_sniff(f.content)  # type: ignore[misc]
                digest = hashlib.sha256(f.content).hexdigest()
                name = default_storage.save(
                    f"cases/{case.receipt_no}/{code}-{digest[:16]}{ext}", ContentFile(f.content)
                )
                stored.append(name)  # removed again if the transaction fails
                MaterialSubmission.objects.create(
                    case=case,
                    material_code=code,
                    how=MaterialHow.UPLOAD,
                    file=name,
                    original_name=f.name[:200],
                    content_type=content_type,
                    size=len(f.content),
                    sha256=digest,
                )
        else:
            MaterialSubmission.objects.create(
                case=case, material_code=code, how=given.how, note=note
            )


def _store_waived(case: Application, provided: list[tuple[str, MaterialInput, str]]) -> None:
    """减材料, recorded: one row per material the guide spared and the applicant did not
    provide anyway, naming the certificate that proved it when one did."""
    given = {code for code, _, _ in provided}
    for m in case.plan["materials"]:
        if not m["spared"] or m["code"] in given:
            continue
        spared_by = m.get("spared_by") or {}
        MaterialSubmission.objects.create(
            case=case,
            material_code=m["code"],
            how=MaterialHow.WAIVED,
            note=m["spared_reason"],
            certificate_serial=spared_by.get("serial", "")
            if spared_by.get("kind") == "certificate"
            else "",
        )


def _fingerprint(kind, code, answers, form_data, materials, delivery, enterprise_id) -> str:
    mats = {
        k: [v.how, [hashlib.sha256(f.content).hexdigest() for f in v.files]]
        if isinstance(v, MaterialInput)
        else repr(v)
        for k, v in (materials.items() if isinstance(materials, dict) else [])
    }
    body = [kind, code, answers, form_data, mats, delivery, enterprise_id]
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_from_guide(guide: GuideResult) -> dict[str, Any]:
    """What the guide decided at submission, kept on the case: the case pins its definition
    version, so intake, 补正 and review read this and never today's definitions."""
    # The text signed for 告知承诺 is the item's own wording, kept with the case as signed.
    commitments: dict[str, str] = {}
    for i in guide.items:
        for m in item_definition(i.code, i.version).materials:
            for w in m.waivable_by:
                if w.kind == "commitment":
                    commitments.setdefault(m.code, w.commitment_text)
    return {
        "items": [
            {
                "code": i.code,
                "name": i.name,
                "version": i.version,
                "department": i.department,
                "after": list(i.after),
                "promised_days": i.promised_days,
            }
            for i in guide.items
        ],
        "materials": [
            {
                "code": m.code,
                "name": m.name,
                "items": list(m.items),
                "spared": m.spared,
                "spared_reason": m.spared_reason,
                # Which evidence spared it ({"kind": "certificate", "type", "serial"}), if any.
                "spared_by": dict(m.evidence) or None,
                # Whose document it is, and the earlier item of this case that issues it.
                "about": m.about,
                "produced_by": m.produced_by,
                "required": m.required,
                "commitment": commitments.get(m.code, ""),
            }
            for m in guide.materials
        ],
        "fields": [
            {"code": f.code, "label": f.label, "required": f.required, "items": list(f.items)}
            for f in guide.fields
        ],
        "promised_days": guide.promised_days,
        # Values an item's approval creates for the items after it (not asked on the form).
        "produced": [
            {"code": p.code, "label": p.label, "by_item": p.by_item, "items": list(p.items)}
            for p in guide.produced
        ],
    }


# ---------------------------------------------------------------- drafts


_UNCHANGED: Any = object()


def draft_save(
    *,
    applicant: User,
    kind: str,
    code: str,
    answers: dict[str, str],
    form_data: dict[str, Any],
    enterprise: Enterprise | None = _UNCHANGED,
    delivery: str | None = None,
    material_how: dict[str, str] | None = None,
    steps_seen: list[str] | None = None,
) -> Draft:
    """Keep the form as typed so far (草稿): not validated, encrypted at rest, one per service.
    The step-by-step form also keeps whom an agent acts for, 送达方式, how each material is
    satisfied and which steps were seen; arguments left out keep what the draft holds."""
    if kind not in CaseKind.values:
        raise InvalidInput("申请类型只能是 bundle 或 item", code="CASE_KIND_INVALID")
    if not isinstance(answers, dict) or not isinstance(form_data, dict):
        raise InvalidInput("草稿格式不正确")
    extra = [material_how or {}, steps_seen or []]
    if (
        len(json.dumps([answers, form_data, *extra], ensure_ascii=False, default=str))
        > DRAFT_MAX_CHARS
    ):
        raise InvalidInput("草稿内容过长", code="DRAFT_TOO_LARGE")
    if delivery not in (None, "", *Delivery.values):
        raise InvalidInput("送达方式只能是 online、counter 或 post", code="DELIVERY_INVALID")
    if material_how is not None and any(
        v not in ("", MaterialHow.UPLOAD, MaterialHow.COMMITMENT, MaterialHow.DEFERRED)
        for v in material_how.values()
    ):
        raise InvalidInput("提交方式只能是上传、告知承诺或容缺后补", code="MATERIAL_HOW_INVALID")
    if enterprise is not _UNCHANGED and enterprise is not None:
        _check_applicant(applicant, enterprise)
    version = _current_version(kind, code)  # also refuses an unknown service
    with transaction.atomic():
        draft, _ = Draft.objects.select_for_update().get_or_create(
            applicant=applicant, kind=kind, code=code, defaults={"version": version}
        )
        draft.version = version
        draft.answers = answers
        draft.form_data = form_data
        if enterprise is not _UNCHANGED:
            draft.enterprise = enterprise
        if delivery is not None:
            draft.delivery = delivery
        if material_how is not None:
            draft.material_how = material_how
        if steps_seen is not None:
            draft.steps_seen = list(dict.fromkeys(steps_seen))
        if not draft.idempotency_key:
            # The one submit this draft can become; a double submit is the same case.
            draft.idempotency_key = str(uuid.uuid4())
        draft.save()
    return draft


@dataclass(frozen=True)
class DraftUploadResult:
    kept: list[DraftUpload]
    refused: list[dict[str, str]]  # [{"field": material code, "message": why}]


def draft_upload_add(
    *, applicant: User, kind: str, code: str, material_code: str, files: list[Upload]
) -> DraftUploadResult:
    """Keep FILES for MATERIAL_CODE with the applicant's draft (it must exist), checked as a
    case's materials are: PDF, JPG or PNG by content, at most 10MB each and 20 per draft.
    Each good file is kept; each bad one is named in `refused` (nothing of it stored)."""
    draft = Draft.objects.filter(applicant=applicant, kind=kind, code=code).first()
    if draft is None:
        raise DraftNotFound()
    if not isinstance(material_code, str) or not re.fullmatch(r"[a-z0-9_]{1,64}", material_code):
        raise InvalidInput("材料编码不正确", code="MATERIAL_CODE_INVALID")
    refused: list[dict[str, str]] = []
    kept: list[DraftUpload] = []
    stored: list[str] = []
    try:
        with transaction.atomic():
            draft = Draft.objects.select_for_update().get(pk=draft.pk)
            count = draft.uploads.count()
            for f in files:
                label = f.name[:60]
                sniffed = upload_sniff(f.content)
                if len(f.content) > MAX_UPLOAD_BYTES:
                    refused.append(
                        {"field": material_code, "message": f"文件“{label}”超过10MB，请压缩后上传"}
                    )
                    continue
                if sniffed is None:
                    refused.append(
                        {"field": material_code, "message": f"文件“{label}”不是PDF、JPG或PNG格式"}
                    )
                    continue
                if count >= MAX_FILES_PER_CASE:
                    refused.append(
                        {
                            "field": material_code,
                            "message": f"一次申请最多上传{MAX_FILES_PER_CASE}个文件，"
                            f"文件“{label}”未保存",
                        }
                    )
                    continue
                content_type, ext = sniffed
                digest = hashlib.sha256(f.content).hexdigest()
                name = default_storage.save(
                    f"drafts/{applicant.pk}/{draft.pk}/{material_code}-{digest[:16]}{ext}",
                    ContentFile(f.content),
                )
                stored.append(name)
                kept.append(
                    DraftUpload.objects.create(
                        draft=draft,
                        material_code=material_code,
                        file=name,
                        original_name=(f.name or "未命名文件")[:200],
                        content_type=content_type,
                        size=len(f.content),
                        sha256=digest,
                    )
                )
                count += 1
            if kept:
                audit_record(
                    actor=applicant,
                    action="case.draft_upload_add",
                    object_type="draft",
                    object_id=draft.pk,
                    purpose="一表申请：保存材料文件",
                    data={"material": material_code, "files": len(kept)},
                )
    except BaseException:
        _discard(stored)
        raise
    return DraftUploadResult(kept=kept, refused=refused)


def draft_upload_remove(*, applicant: User, upload_id: Any) -> None:
    """删除 one file kept with the applicant's own draft. Anyone else's is not found."""
    try:
        pk = int(upload_id)
    except (TypeError, ValueError):
        raise DraftUploadNotFound() from None
    with transaction.atomic():
        upload = (
            DraftUpload.objects.select_for_update()
            .filter(pk=pk, draft__applicant=applicant)
            .first()
        )
        if upload is None:
            raise DraftUploadNotFound()
        name = upload.file.name
        audit_record(
            actor=applicant,
            action="case.draft_upload_remove",
            object_type="draft",
            object_id=upload.draft_id,
            purpose="一表申请：删除材料文件",
            data={"material": upload.material_code},
        )
        upload.delete()
        transaction.on_commit(lambda: _discard([name]))


def _draft_discard(applicant: User, kind: str, code: str) -> None:
    """Delete the applicant's draft of this service with its files (after commit)."""
    names = list(
        DraftUpload.objects.filter(
            draft__applicant=applicant, draft__kind=kind, draft__code=code
        ).values_list("file", flat=True)
    )
    Draft.objects.filter(applicant=applicant, kind=kind, code=code).delete()
    if names:
        transaction.on_commit(lambda: _discard(names))


def _with_draft_files(applicant: User, kind: str, code: str, materials: Any) -> Any:
    """Materials naming draft files, with those files read in: only files kept with this
    applicant's own draft of this service, for that same material, are found."""
    if not isinstance(materials, dict):
        return materials
    out = {}
    for mcode, given in materials.items():
        if not isinstance(given, MaterialInput) or not given.draft_uploads:
            out[mcode] = given
            continue
        wanted = set(given.draft_uploads)
        rows = list(
            DraftUpload.objects.filter(
                pk__in=wanted,
                draft__applicant=applicant,
                draft__kind=kind,
                draft__code=code,
                material_code=mcode,
            ).order_by("pk")
        )
        if len(rows) != len(wanted):
            raise DraftUploadNotFound()
        files = list(given.files)
        for row in rows:
            with default_storage.open(row.file.name, "rb") as fh:
                files.append(Upload(name=row.original_name, content=fh.read()))
        out[mcode] = MaterialInput(how=given.how, files=tuple(files))
    return out


def _current_version(kind: str, code: str) -> int:
    from tongban.catalog.selectors import bundle_detail, item_detail

    detail = bundle_detail(code) if kind == CaseKind.BUNDLE else item_detail(code)
    return detail.version


# ---------------------------------------------------------------- submit


def _clerk_hall(clerk: User, hall: Hall | None) -> Hall:
    """The hall a counter case is filed at: HALL if the clerk sits there, else the clerk's
    only hall. A clerk with no hall cannot file: nobody would be able to accept the case."""
    halls = list(
        Hall.objects.filter(
            staff_assignments__user=clerk, staff_assignments__role=StaffRole.COUNTER_CLERK
        ).distinct()
    )
    if hall is not None:
        if hall not in halls:
            raise CounterHallRequired("您不在该大厅的综合窗口岗位，不能以该大厅名义代为提交")
        return hall
    if not halls:
        raise CounterHallRequired()
    if len(halls) > 1:
        raise CounterHallRequired("您在多个大厅设有综合窗口岗位，请选择本次办理的大厅")
    return halls[0]


def _check_applicant(applicant: User, enterprise: Enterprise | None) -> ResidentProfile | None:
    """Applicants are people (an enterprise acts through its 经办人). An enterprise item may
    be applied for without an enterprise: 企业开办 founds the enterprise it concerns."""
    if applicant is None or not applicant.is_authenticated or not applicant.is_active:
        raise NotForApplicant()
    if applicant.kind != User.Kind.PERSON:
        raise NotForApplicant("工作人员账号不能作为申请人")
    if (
        enterprise is not None
        and not EnterpriseMembership.objects.filter(user=applicant, enterprise=enterprise).exists()
    ):
        raise NotForApplicant("您不是该企业的经办人")
    return ResidentProfile.objects.filter(user=applicant).first()


def case_submit(
    *,
    applicant: User,
    kind: str,
    code: str,
    answers: dict[str, str],
    form_data: dict[str, Any],
    materials: dict[str, MaterialInput],
    idempotency_key: str,
    channel: str = Channel.ONLINE,
    filed_by: User | None = None,
    enterprise: Enterprise | None = None,
    delivery: str = Delivery.ONLINE,
    hall: Hall | None = None,
    acknowledge_duplicate: bool = False,
) -> Application:
    """一表申请: validate everything, then create the case in one transaction. The same
    applicant and key return the same case; a different payload under a used key is a 409.
    A second open case for the same person and service (重复申请) is a 409 CASE_DUPLICATE_OPEN
    naming the earlier one, unless the applicant ACKNOWLEDGE_DUPLICATE (仍然提交).

    A counter case (帮办) records the hall it was filed at: HALL, which must be one the
    clerk sits in, or the clerk's only hall. Its clerks accept it and hand out its results."""
    key = (idempotency_key or "").strip()
    if not key:
        raise IdempotencyKeyRequired()
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise InvalidInput("Idempotency-Key 过长或含不可见字符", code="IDEMPOTENCY_KEY_INVALID")
    if delivery not in Delivery.values:
        raise InvalidInput("送达方式只能是 online、counter 或 post", code="DELIVERY_INVALID")
    if channel not in Channel.values:
        raise InvalidInput("渠道只能是 online 或 counter", code="CHANNEL_INVALID")
    if not isinstance(answers, dict):
        raise InvalidInput("情形回答应为对象", code="GUIDE_ANSWERS_INVALID")
    if channel == Channel.COUNTER:
        if (
            filed_by is None
            or not StaffAssignment.objects.filter(
                user=filed_by, role=StaffRole.COUNTER_CLERK
            ).exists()
        ):
            raise NotAnAcceptor("只有综合窗口人员可以代为提交")
        hall = _clerk_hall(filed_by, hall)
    elif filed_by is not None or hall is not None:
        raise InvalidInput("网上申请不应有代办人员或大厅", code="CHANNEL_INVALID")

    profile = _check_applicant(applicant, enterprise)
    materials = _with_draft_files(applicant, kind, code, materials)
    fingerprint = _fingerprint(
        kind, code, answers, form_data, materials, delivery, enterprise.pk if enterprise else None
    )
    existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
    if existing is not None:
        return _same_or_conflict(existing, fingerprint)

    # The enterprise's membership was checked by _check_applicant above.
    guide = _guide(
        kind, code, answers, profile, enterprise, form_data if isinstance(form_data, dict) else {}
    )
    plan = plan_from_guide(guide)
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    try:
        clean = form_validate(plan, form_data)
    except CaseFormInvalid as exc:
        errors += exc.details
    try:
        provided = _check_materials(plan, materials)
    except (CaseMaterialsInvalid, UploadRefused) as exc:
        if not errors and isinstance(exc, UploadRefused):
            raise
        errors += exc.details
        provided = []
    if errors:
        raise CaseFormInvalid(details=errors)
    subject_key = _duplicate_check(
        kind, code, plan, clean, applicant, enterprise, acknowledged=acknowledge_duplicate
    )

    stored: list[str] = []
    try:
        with transaction.atomic():
            case = _case_create(
                applicant=applicant,
                profile=profile,
                enterprise=enterprise,
                kind=kind,
                guide=guide,
                plan=plan,
                clean=clean,
                key=key,
                fingerprint=fingerprint,
                channel=channel,
                filed_by=filed_by,
                delivery=delivery,
                hall=hall,
                subject_key=subject_key,
            )
            _store_materials(case, provided, stored)
            _store_waived(case, provided)
            # The draft has become a case; resuming it would start a second application.
            # Its files are the case's now (copied above); the draft's own go with it.
            _draft_discard(applicant, kind, code)
            _after_submit(case, actor=filed_by or applicant)
    except IntegrityError:
        _discard(stored)
        # A concurrent submit with the same key won the race: answer with its case.
        existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, fingerprint)
    except BaseException:
        _discard(stored)
        raise
    return case


def _duplicate_check(kind, code, plan, clean, applicant, enterprise, *, acknowledged) -> str:
    """The case's subject key; refuses a second open case the applicant can see for the same
    person and service unless they acknowledged it."""
    key = case_subject_key(
        kind=kind,
        code=code,
        field_codes=[f["code"] for f in plan["fields"]],
        produced_codes=[p["code"] for p in plan.get("produced", [])],
        form=clean,
        applicant_id=applicant.pk,
        enterprise_id=enterprise.pk if enterprise else None,
    )
    earlier = open_duplicates(subject_key=key, applicant=applicant, enterprise=enterprise)
    if earlier and not acknowledged:
        first = earlier[0]
        raise CaseDuplicateOpen(
            f"您已有一件相同的申请正在办理（受理编号 {receipt_display(first.receipt_no)}，"
            f"{first.get_status_display()}），如确需再次申请，请确认后提交",
            details=[
                {
                    "field": "",
                    "receipt_no": c.receipt_no,
                    "message": f"受理编号 {receipt_display(c.receipt_no)}",
                }
                for c in earlier
            ],
        )
    return key


def _discard(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _same_or_conflict(existing: Application, fingerprint: str) -> Application:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return existing


def _case_create(
    *,
    applicant,
    profile,
    enterprise,
    kind,
    guide,
    plan,
    clean,
    key,
    fingerprint,
    channel,
    filed_by,
    delivery,
    hall=None,
    subject_key="",
) -> Application:
    if kind == CaseKind.BUNDLE:
        lead_code = bundle_definition(guide.code, guide.version).lead_department
    else:
        lead_code = item_definition(guide.code, guide.version).department
    lead = Department.objects.get(code=lead_code)
    now = _now()
    for _attempt in range(5):
        receipt = receipt_new(on=timezone.localdate(now))
        if not Application.objects.filter(receipt_no=receipt).exists():
            break
    case = Application(
        receipt_no=receipt,
        kind=kind,
        code=guide.code,
        version=guide.version,
        name=guide.name,
        applicant=applicant,
        applicant_profile=profile,
        enterprise=enterprise,
        channel=channel,
        filed_by=filed_by,
        hall=hall,
        lead_department=lead,
        status="",
        answers=guide.answers,
        plan=plan,
        delivery=delivery,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        subject_key=subject_key,
        submitted_at=now,
    )
    case.form_data = clean
    case.save()
    _event(
        case,
        actor=filed_by or applicant,
        action="submitted",
        to_status=CaseStatus.SUBMITTED,
        data={"channel": channel, **({"hall": hall.code} if hall is not None else {})},
    )
    audit_record(
        actor=filed_by or applicant,
        action="case.submit",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=profile.pk if profile else None,
        purpose="一表申请",
        data={"fields": sorted(clean)},
    )
    return case


def _after_submit(case: Application, *, actor: User) -> None:
    """Accept at once when every intake check of every item is machine-verifiable and no
    material was deferred (容缺 is a person's judgement)."""
    if case.materials.filter(how=MaterialHow.DEFERRED).exists():
        return
    for item in case.plan["items"]:
        checks = item_definition(item["code"], item["version"]).intake_checks
        if not checks or not all(c.machine for c in checks):
            return
    _accept(case, actor=None, actor_label=SYSTEM_AUTO, action="accepted_auto")


# ---------------------------------------------------------------- intake


def _lock_case(receipt_no: str) -> Application:
    from tongban.cases.errors import CaseNotFound

    case = Application.objects.select_for_update().filter(receipt_no=receipt_no).first()
    if case is None:
        raise CaseNotFound()
    return case


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

    stored: list[str] = []
    try:
        with transaction.atomic():
            case = _lock_case(receipt_no)
            if case.applicant_id != getattr(applicant, "pk", None):
                raise CaseNotFound()  # another person's case does not exist for them
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
            case.materials.filter(material_code__in=request.material_codes).delete()
            _store_materials(case, provided, stored)
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
                actor=applicant,
                action="supplemented",
                to_status=back_to,
                data={"fields": sorted(clean), "materials": request.material_codes},
            )
            audit_record(
                actor=applicant,
                action="case.supplement",
                object_type="case",
                object_id=case.receipt_no,
                purpose="补正",
                subject_resident_id=profile.pk if profile else None,
                data={"fields": sorted(clean)},
            )
    except BaseException:
        _discard(stored)
        raise
    return case


def case_deferred_material_submit(
    *, applicant: User, receipt_no: str, material_code: str, files: list[Upload]
) -> MaterialSubmission:
    """容缺后补: the applicant delivers a material the case was accepted without."""
    from tongban.cases.errors import CaseNotFound

    stored: list[str] = []
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
        _discard(stored)
        raise
    return case.materials.filter(material_code=material_code).order_by("-pk").first()


# ---------------------------------------------------------------- 综合窗口: walk-in residents

WALK_IN_PURPOSE = "综合窗口帮办"


def counter_resident_register(
    *, clerk: User, id_number: str, name: str = "", phone: str = ""
) -> ResidentProfile:
    """The resident a counter clerk files for (帮办), identified by ID number, made ready to
    be an applicant: an existing 一人一档 with a login as it is; a profile without a login
    gets a login-less account (accounts.services.resident_account_open_at_counter); no
    profile at all, the clerk types NAME and PHONE and the profile is opened (actor the
    clerk) together with that account. Only a counter clerk sitting in a hall may do this;
    anyone else is refused before anything is looked up or written."""
    from tongban.accounts.errors import ResidentExists
    from tongban.accounts.selectors import resident_profile_by_id_number
    from tongban.accounts.services import resident_account_open_at_counter, resident_profile_create

    if clerk is None or not clerk.is_authenticated or not clerk.is_active:
        raise NotAnAcceptor("只有综合窗口人员可以为来办群众建档")
    if not StaffAssignment.objects.filter(
        user=clerk, role=StaffRole.COUNTER_CLERK, hall__isnull=False
    ).exists():
        raise CounterHallRequired()
    with transaction.atomic():
        profile = resident_profile_by_id_number(id_number=id_number)
        if profile is None:
            name, phone = (name or "").strip(), (phone or "").strip()
            errors = []
            if not name:
                errors.append({"field": "name", "message": "请填写姓名"})
            if not _PHONE.match(phone):
                errors.append({"field": "phone", "message": "请填写11位手机号码或带区号的固定电话"})
            if errors:
                raise InvalidInput(
                    "未找到该居民的档案，请填写姓名和联系电话为其建档",
                    code="RESIDENT_DETAILS_REQUIRED",
                    details=errors,
                )
            try:
                profile = resident_profile_create(
                    actor=clerk, name=name[:60], id_number=id_number, phone=phone
                )
            except ResidentExists:  # opened by someone else a moment ago
                profile = resident_profile_by_id_number(id_number=id_number)
        if profile.user_id is None:
            resident_account_open_at_counter(actor=clerk, profile=profile)
            profile.refresh_from_db()
    return profile


# ---------------------------------------------------------------- 统一窗口出件

HANDOUT_NOTE_MAX = 200


def case_hand_out(*, actor: User, receipt_no: str, note: str = "") -> Application:
    """统一窗口出件: hand out a concluded case's results (counter pick-up or post) and
    archive it.

    Who may (selectors.hand_out_may_handle): for a case filed at a hall, an issuer (出件) or
    counter clerk sitting in that hall; for a case filed online with counter pick-up or post
    chosen, an issuer of any hall. Anyone else is refused (NOT_AN_ISSUER) and nothing
    changes. NOTE says who collected it, or, for post, the tracking number (required).
    A case not concluded, delivered online, or already handed out is a conflict."""
    text = (note or "").strip()
    if len(text) > HANDOUT_NOTE_MAX:
        raise InvalidInput(f"出件说明不得超过{HANDOUT_NOTE_MAX}字", code="HANDOUT_NOTE_TOO_LONG")
    with transaction.atomic():
        case = _lock_case(receipt_no)
        if actor is None or not actor.is_authenticated or not hand_out_may_handle(actor, case):
            raise NotAnIssuer()
        if case.handed_out_at is not None:
            raise CaseAlreadyHandedOut()
        if case.status != CaseStatus.CONCLUDED or case.delivery == Delivery.ONLINE:
            raise CaseNotAwaitingHandout()
        if case.delivery == Delivery.POST and not text:
            raise InvalidInput(
                "邮寄送达须填写快递单号",
                code="HANDOUT_NOTE_REQUIRED",
                details=[{"field": "note", "message": "请填写快递单号"}],
            )
        case.handed_out_at = _now()
        case.handed_out_by = actor
        case.handout_note = text
        case.save(update_fields=["handed_out_at", "handed_out_by", "handout_note", "updated_at"])
        _event(
            case,
            actor=actor,
            action="handed_out",
            reason=text,
            data={"delivery": case.delivery, "hall": case.hall.code if case.hall_id else None},
        )
        # The archive event sends the applicant's notice (已领取 / 已寄出, with the note).
        told = f"快递单号：{text}" if case.delivery == Delivery.POST else text
        _event(case, actor=actor, action="archived", to_status=CaseStatus.ARCHIVED, reason=told)
        pk = case.pk
        transaction.on_commit(
            lambda: [hook(Application.objects.get(pk=pk)) for hook in list(handout_hooks)]
        )
    return case


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
    if (
        decision == TaskStatus.APPROVED
        and item_definition(task.item_code, task.item_version).outputs
    ):
        # What the item issues exists from now on: a later item of the case can use it.
        _hooks_after_commit(case, item_approved_hooks)
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


def _hooks_after_commit(case: Application, hooks: list[IssuanceHook]) -> None:
    """Call HOOKS with CASE (as committed) once this transaction commits."""
    pk = case.pk

    def run() -> None:
        current = Application.objects.get(pk=pk)
        for hook in list(hooks):
            hook(current)

    transaction.on_commit(run)


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
    _hooks_after_commit(case, issuance_hooks)
    # 统一出件: results delivered online are in the applicant's hands now and the file is
    # closed; counter pick-up and post wait for a person at the window (case_hand_out).
    if case.delivery == Delivery.ONLINE:
        _event(
            case, actor=None, actor_label="system", action="archived", to_status=CaseStatus.ARCHIVED
        )


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


# ---------------------------------------------------------------- 统一发证 (recorded)


def case_note_issued(
    *, receipt_no: str, certificates: list[dict], skipped: list[dict] | None = None
) -> CaseEvent:
    """Record on the case which certificates issuance produced (serials and type codes, never
    claims) and which it could not issue and why; tell the applicant what they received."""
    with transaction.atomic():
        case = _lock_case(receipt_no)
        issued = [
            {"serial": c["serial"], "type": c["type"], "name": c.get("name", "")}
            for c in certificates
        ]
        not_issued = [
            {"type": s["type"], "name": s.get("name", ""), "reason": s.get("reason", "")}
            for s in skipped or []
        ]
        event = _event(
            case,
            actor=None,
            actor_label="system:issuance",
            action="certificates_issued",
            data={"certificates": issued, "skipped": not_issued},
        )
        if issued:
            names = "、".join(dict.fromkeys(c["name"] or c["type"] for c in issued))
            notice_send(
                recipient=case.applicant,
                template="certificate_issued",
                context={"names": names, "receipt": receipt_display(case.receipt_no)},
                link="/me/certificates/",
                category="certificate",
            )
    return event
