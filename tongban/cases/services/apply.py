"""Stage 1, applying (申请): form and material checks, the plan a guide yields, drafts (草稿)
and their uploads, the duplicate check, case_submit, and the 综合窗口 walk-in registration.

A submission whose intake checks are all machine-verifiable is accepted at once (_after_submit)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.models import (
    District,
    Enterprise,
    ResidentProfile,
    StaffAssignment,
    StaffRole,
    User,
)
from tongban.accounts.selectors import NEED_APPLY, enterprise_authority
from tongban.accounts.validators import parse_credit_code, parse_id_number
from tongban.appointments.models import Hall, Slot
from tongban.appointments.selectors.queue import clerk_window
from tongban.appointments.services.queue import ticket_case_link
from tongban.cases.errors import (
    CaseDuplicateOpen,
    CaseFormInvalid,
    CaseMaterialsInvalid,
    CounterHallRequired,
    DraftNotFound,
    DraftUploadNotFound,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    NotAnAcceptor,
    NotForApplicant,
    UploadRefused,
)
from tongban.cases.models import (
    Application,
    CaseKind,
    CaseStatus,
    Channel,
    Delivery,
    Draft,
    DraftUpload,
    MaterialHow,
    MaterialSubmission,
)
from tongban.cases.receipt import receipt_display, receipt_new
from tongban.cases.selectors import case_subject_key, open_duplicates
from tongban.cases.services._common import (
    DRAFT_MAX_CHARS,
    IDEMPOTENCY_KEY_MAX,
    MAX_FILES_PER_CASE,
    MAX_UPLOAD_BYTES,
    SYSTEM_AUTO,
    MaterialInput,
    Upload,
    _event,
    _now,
    upload_sniff,
)
from tongban.catalog.guide import GuideResult, guide_for_bundle, guide_for_item
from tongban.catalog.models import Department
from tongban.catalog.selectors import bundle_definition, element_definitions, item_definition
from tongban.common.errors import InvalidInput
from tongban.common.files import StagedFiles, delete_after_commit
from tongban.common.services import audit_record
from tongban.identity.selectors import assurance_require


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
    raise InvalidInput("申请类型只能是一件事（bundle）或单个事项（item）", code="CASE_KIND_INVALID")


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
    if t == "slot" and isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # the API may send the slot's id as a number
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
    elif t == "slot":
        # 预约时段: the id of a booking slot; whether it can still be booked is checked, and
        # the place taken, when the case is created (`_slots_chosen`, `_slots_book`).
        if not value.isdigit() or not 0 < int(value) < 2**62:
            return None, "请从列出的时段中选择"
        return int(value), None
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
        elif given.how == MaterialHow.SOURCE_RETRY:
            if m["spared"]:
                continue  # the source answered meanwhile: recorded as waived
            # Only where a data source could spare it and did not answer at submission.
            if not m.get("unavailable_source_code"):
                errors.append({"field": code, "message": f"{m['name']}不适用平台稍后核验"})
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
    case: Application, provided: list[tuple[str, MaterialInput, str]], stored: StagedFiles
) -> None:
    for code, given, note in provided:
        if given.how == MaterialHow.UPLOAD:
            for f in given.files:
                content_type, ext = upload_sniff(f.content)  # type: ignore[misc]
                digest = hashlib.sha256(f.content).hexdigest()
                name = stored.save(  # removed again if the transaction fails
                    f"cases/{case.receipt_no}/{code}-{digest[:16]}{ext}", ContentFile(f.content)
                )
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
        elif given.how == MaterialHow.SOURCE_RETRY:
            m = next(m for m in case.plan["materials"] if m["code"] == code)
            MaterialSubmission.objects.create(
                case=case,
                material_code=code,
                how=given.how,
                note=f"{m['unavailable_source']}暂时无法核验，由平台在审核前再次核验",
                source_code=m["unavailable_source_code"],
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
        by_source = spared_by.get("kind") == "data_source"
        answered_at = spared_by.get("answered_at") if by_source else None
        MaterialSubmission.objects.create(
            case=case,
            material_code=m["code"],
            how=MaterialHow.WAIVED,
            note=m["spared_reason"],
            certificate_serial=spared_by.get("serial", "")
            if spared_by.get("kind") == "certificate"
            else "",
            source_code=spared_by.get("source", "") if by_source else "",
            source_lookup_id=spared_by.get("lookup_id") if by_source else None,
            source_value_hash=spared_by.get("value_hash", "") if by_source else "",
            source_answered_at=dt.datetime.fromisoformat(answered_at) if answered_at else None,
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
                # A data source that could spare it did not answer (平台稍后核验 possible).
                "unavailable_source": m.unavailable_source,
                "unavailable_source_code": m.unavailable_source_code,
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
    delegation: Any = _UNCHANGED,
) -> Draft:
    """Keep the form as typed so far (草稿): not validated, encrypted at rest, one per service.
    The step-by-step form also keeps whom an agent acts for, 送达方式, how each material is
    satisfied and which steps were seen; arguments left out keep what the draft holds."""
    if kind not in CaseKind.values:
        raise InvalidInput(
            "申请类型只能是一件事（bundle）或单个事项（item）", code="CASE_KIND_INVALID"
        )
    if not isinstance(answers, dict) or not isinstance(form_data, dict):
        raise InvalidInput("草稿格式不正确")
    extra = [material_how or {}, steps_seen or []]
    if (
        len(json.dumps([answers, form_data, *extra], ensure_ascii=False, default=str))
        > DRAFT_MAX_CHARS
    ):
        raise InvalidInput("草稿内容过长", code="DRAFT_TOO_LARGE")
    if delivery not in (None, "", *Delivery.values):
        raise InvalidInput(
            "送达方式只能是网上领取（online）、窗口领取（counter）或邮寄（post）",
            code="DELIVERY_INVALID",
        )
    if material_how is not None and any(
        v
        not in (
            "",
            MaterialHow.UPLOAD,
            MaterialHow.COMMITMENT,
            MaterialHow.DEFERRED,
            MaterialHow.SOURCE_RETRY,
        )
        for v in material_how.values()
    ):
        raise InvalidInput("提交方式只能是上传、告知承诺或容缺后补", code="MATERIAL_HOW_INVALID")
    if enterprise is not _UNCHANGED and enterprise is not None:
        _check_applicant(applicant, enterprise, code)
    if delegation is not _UNCHANGED and delegation is not None:
        from tongban.delegation.selectors import delegation_for_acting

        delegation_for_acting(user=applicant, delegation_id=delegation.pk, code=code)
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
        if delegation is not _UNCHANGED and draft.delegation_id != getattr(delegation, "pk", None):
            # 亲友代办: filled in for someone else now, so a new submit (and case) is meant,
            # and nothing chosen or uploaded for one person goes with the other's case.
            draft.delegation = delegation
            draft.idempotency_key = ""
            draft.material_how, draft.steps_seen = {}, []
            if draft.pk is not None:
                names = list(draft.uploads.values_list("file", flat=True))
                draft.uploads.all().delete()
                delete_after_commit(names)
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
    stored = StagedFiles()
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
                name = stored.save(
                    f"drafts/{applicant.pk}/{draft.pk}/{material_code}-{digest[:16]}{ext}",
                    ContentFile(f.content),
                )
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
        stored.discard()
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
        delete_after_commit([name])


def _draft_discard(applicant: User, kind: str, code: str) -> None:
    """Delete the applicant's draft of this service with its files (after commit)."""
    names = list(
        DraftUpload.objects.filter(
            draft__applicant=applicant, draft__kind=kind, draft__code=code
        ).values_list("file", flat=True)
    )
    Draft.objects.filter(applicant=applicant, kind=kind, code=code).delete()
    delete_after_commit(names)


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


def _counter_window(clerk: User | None, hall: Hall | None):
    """The window CLERK is signed in at in HALL (窗口签到), recorded on a counter case so
    that 好差评 knows the window that served (三对应); None when not signed in there."""
    if clerk is None or hall is None:
        return None
    window = clerk_window(clerk=clerk)
    return window if window is not None and window.hall_id == hall.pk else None


def _check_applicant(
    applicant: User, enterprise: Enterprise | None, code: str = ""
) -> ResidentProfile | None:
    """Applicants are people (an enterprise acts through its 经办人, whose authority must be
    live and cover the service CODE). An enterprise item may be applied for without an
    enterprise: 企业开办 founds the enterprise it concerns."""
    if applicant is None or not applicant.is_authenticated or not applicant.is_active:
        raise NotForApplicant()
    if applicant.kind != User.Kind.PERSON:
        raise NotForApplicant("工作人员账号不能作为申请人")
    if enterprise is not None:
        _check_enterprise_authority(applicant, enterprise, code)
    return ResidentProfile.objects.filter(user=applicant).first()


def _check_enterprise_authority(
    applicant: User, enterprise: Enterprise, code: str, *, lock: bool = False
) -> None:
    """A live 企业授权 of APPLICANT's covering CODE (accounts.selectors decides); LOCK holds it
    to the end of the caller's transaction, so a revocation cannot slip in between."""
    try:
        enterprise_authority(
            user=applicant, enterprise_id=enterprise.pk, need=NEED_APPLY, code=code, lock=lock
        )
    except EnterpriseNotFound as exc:
        raise NotForApplicant("您不是该企业的经办人，或授权已撤销、已过期") from exc


def _acting_delegation(actor, on_behalf, code, channel, enterprise, *, lock=False):
    """亲友代办: the authorisation (ON_BEHALF, a row or its id), if ACTOR holds it live and
    covering CODE and its 被代办人 has an account; DELEGATION_NOT_VALID (403) otherwise."""
    from tongban.delegation.errors import DelegationNotValid
    from tongban.delegation.selectors import delegation_for_acting

    if channel != Channel.ONLINE or enterprise is not None:
        raise InvalidInput("亲友代办只能在网上为个人办理", code="CHANNEL_INVALID")
    if actor is None or not actor.is_authenticated or actor.kind != User.Kind.PERSON:
        raise NotForApplicant()
    found = delegation_for_acting(
        user=actor, delegation_id=getattr(on_behalf, "pk", on_behalf), code=code, lock=lock
    )
    if found.principal.user_id is None:  # recorded before the 被代办人 had an account
        raise DelegationNotValid("被代办人尚未开通办件账号，请其本人到综合窗口办理")
    return found


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
    on_behalf: Any = None,
) -> Application:
    """一表申请: validate everything, then create the case in one transaction. The same
    applicant and key return the same case; a different payload under a used key is a 409.
    A second open case for the same person and service (重复申请) is a 409 CASE_DUPLICATE_OPEN
    naming the earlier one, unless the applicant ACKNOWLEDGE_DUPLICATE (仍然提交).

    A counter case (帮办) records the hall it was filed at: HALL, which must be one the
    clerk sits in, or the clerk's only hall. Its clerks accept it and hand out its results.

    亲友代办: ON_BEHALF (a delegation.Delegation) makes the case its 被代办人's, filed by
    APPLICANT (the signed-in relative, recorded as acted_by), from APPLICANT's draft. The
    authority is checked before anything and again, locked, inside the transaction."""
    key = (idempotency_key or "").strip()
    if not key:
        raise IdempotencyKeyRequired()
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise InvalidInput("Idempotency-Key 过长或含不可见字符", code="IDEMPOTENCY_KEY_INVALID")
    if delivery not in Delivery.values:
        raise InvalidInput(
            "送达方式只能是网上领取（online）、窗口领取（counter）或邮寄（post）",
            code="DELIVERY_INVALID",
        )
    if channel not in (Channel.ONLINE, Channel.COUNTER):
        raise InvalidInput(
            "渠道只能是网上申请（online）或窗口帮办（counter）", code="CHANNEL_INVALID"
        )
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

    drafter = applicant  # whose draft (and draft files) the submission comes from
    if on_behalf is not None:
        on_behalf = _acting_delegation(drafter, on_behalf, code, channel, enterprise)
        applicant = on_behalf.principal.user
    profile = _check_applicant(applicant, enterprise, code)
    materials = _with_draft_files(drafter, kind, code, materials)
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
    if channel == Channel.ONLINE:
        # 身份核验等级 of the account at the keyboard (for 亲友代办, the relative's); a counter
        # filing meets any level, the clerk having checked the person's 身份证 there.
        assurance_require(user=drafter, level_name=guide.assurance_level, service_name=guide.name)
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
    chosen = _slots_chosen(plan, clean, errors) if not errors else []
    if errors:
        raise CaseFormInvalid(details=errors)
    subject_key = _duplicate_check(
        kind, code, plan, clean, applicant, enterprise, acknowledged=acknowledge_duplicate
    )

    stored = StagedFiles()
    try:
        with transaction.atomic():
            if on_behalf is not None:  # a revocation committed since the check above wins
                _acting_delegation(drafter, on_behalf, code, channel, enterprise, lock=True)
            if enterprise is not None:  # likewise for an enterprise authority (企业授权)
                _check_enterprise_authority(applicant, enterprise, code, lock=True)
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
                acted_by=drafter if on_behalf is not None else None,
                delegation=on_behalf,
            )
            if channel == Channel.COUNTER:  # the ticket being served at the window
                ticket_case_link(clerk=filed_by, case=case)
            _slots_book(case, chosen, actor=filed_by or drafter, key=key)
            _store_materials(case, provided, stored)
            _store_waived(case, provided)
            # The draft has become a case; resuming it would start a second application.
            # Its files are the case's now (copied above); the draft's own go with it.
            _draft_discard(drafter, kind, code)
            _after_submit(case, actor=filed_by or drafter)
    except IntegrityError:
        stored.discard()
        # A concurrent submit with the same key won the race: answer with its case.
        existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, fingerprint)
    except BaseException:
        stored.discard()
        raise
    return case


def _slots_chosen(plan, clean, errors: list[dict[str, str]]) -> list[tuple[str, str, Any]]:
    """统一预约 on the form (婚姻登记预约, 银行开户预约): for each 预约时段 field, the slot it
    names — one of an item asking for it, not started, open for booking, with a place left
    now (the place itself is taken in the case's transaction). The case keeps the choice as
    people read it (place, day, time); the booking made for the case holds the slot.
    Returns [(field code, item code, slot)]; problems go to ERRORS."""
    from tongban.appointments.selectors.booking import slot_summary

    fields = {f["code"]: f for f in plan["fields"] if f["code"] in clean}
    elements = element_definitions(list(fields))
    chosen: list[tuple[str, str, Any]] = []
    now = _now()
    for code, field in fields.items():
        if getattr(elements.get(code), "type", "") != "slot":
            continue
        slot = (
            Slot.objects.select_related("rule", "hall")
            .filter(pk=clean[code], hall__isnull=False, item_code__in=field["items"])
            .first()
        )
        if slot is None:
            errors.append({"field": code, "message": f"{field['label']}：请从列出的时段中选择"})
            continue
        if slot.starts_at <= now or not slot.rule.is_active:
            errors.append(
                {"field": code, "message": f"{field['label']}：该时段已不可预约，请另选时段"}
            )
            continue
        if slot.booked >= slot.capacity:
            errors.append({"field": code, "message": f"{field['label']}：该时段已约满，请另选时段"})
            continue
        clean[code] = slot_summary(slot)
        chosen.append((code, slot.item_code, slot))
    return chosen


def _slots_book(case: Application, chosen, *, actor: User, key: str) -> None:
    """Take each chosen place for the case, inside its transaction: a slot filled since the
    check (the last place went to someone else), a booking limit or a second booking that
    day refuses the whole submission, and nothing of it is kept."""
    from tongban.appointments.services.booking import booking_make
    from tongban.common.errors import DomainError

    for code, item_code, slot in chosen:
        try:
            booking_make(
                user=case.applicant,
                slot_id=slot.pk,
                actor=actor,
                enterprise=case.enterprise,
                case=case,
                now=case.submitted_at,
                idempotency_key=f"case:{key}:{item_code}"[:128],
            )
        except DomainError as exc:
            label = next((f["label"] for f in case.plan["fields"] if f["code"] == code), code)
            raise CaseFormInvalid(
                details=[{"field": code, "message": f"{label}：{exc.message}"}]
            ) from exc


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
    acted_by=None,
    delegation=None,
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
        window=_counter_window(filed_by, hall),
        acted_by=acted_by,
        delegation=delegation,
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
    # 亲友代办: the relative acts; the event and the audit row name both.
    on_behalf = (
        {"acted_by": acted_by.pk, "on_behalf_of": profile.pk if profile else None}
        | {"delegation": delegation.pk}
        if acted_by is not None
        else {}
    )
    _event(
        case,
        actor=filed_by or acted_by or applicant,
        action="submitted",
        to_status=CaseStatus.SUBMITTED,
        data={"channel": channel, **({"hall": hall.code} if hall is not None else {}), **on_behalf},
    )
    audit_record(
        actor=filed_by or acted_by or applicant,
        action="case.submit",
        object_type="case",
        object_id=case.receipt_no,
        subject_resident_id=profile.pk if profile else None,
        purpose="亲友代办：一表申请" if acted_by is not None else "一表申请",
        data={"fields": sorted(clean), **on_behalf},
    )
    return case


def _after_submit(case: Application, *, actor: User) -> None:
    """Accept at once when every intake check of every item is machine-verifiable and no
    material was deferred (容缺 is a person's judgement)."""
    if case.materials.filter(how__in=[MaterialHow.DEFERRED, MaterialHow.SOURCE_RETRY]).exists():
        return
    for item in case.plan["items"]:
        checks = item_definition(item["code"], item["version"]).intake_checks
        if not checks or not all(c.machine for c in checks):
            return
    from tongban.cases.services.intake import _accept  # intake imports this stage at load

    _accept(case, actor=None, actor_label=SYSTEM_AUTO, action="accepted_auto")


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
