"""统一发证: certificates issued from a case, item by item.

When an item of a case is approved (and again when the case concludes), the case engine calls
`issuance_hook` on commit; the hook only queues `certificates.tasks.case_certificates_issue`,
so no signing happens inside the request. The task calls `case_certificates_issue`, which
issues one certificate per output of every approved item, each in its own transaction, and
never twice: the certificate's `issuance_key` (case, item, type, holder) is unique. Issuing
at the item's approval, not at the case's end, is what lets a later item of the same 一件事
use it: 出生登记's reviewer sees the 出生医学证明 the hospital has just signed.
Claims are filled from the sources the certificate type names
(`source:` in its YAML), never guessed; a certificate whose required claims cannot be filled
is not issued and the case's log says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import Enterprise, EnterpriseMembership, ResidentProfile, User
from tongban.accounts.selectors import live_memberships, resident_id_number_hash
from tongban.accounts.services import (
    enterprise_create,
    enterprise_membership_grant,
    resident_profile_create,
)
from tongban.accounts.validators import parse_id_number
from tongban.cases.models import Application, TaskStatus
from tongban.cases.services import case_note_issued
from tongban.catalog.selectors import element_definitions, item_definition
from tongban.certificates.models import Certificate, CertificateType
from tongban.certificates.schemas import CertificateTypeDef
from tongban.certificates.selectors import certificate_type_definition
from tongban.certificates.services import certificate_issue
from tongban.common.errors import DomainError

ACTOR = "system:issuance"


@dataclass
class IssuanceReport:
    issued: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    already: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"issued": len(self.issued), "skipped": len(self.skipped), "already": self.already}


class _NotIssued(Exception):
    """This certificate cannot be issued; the message says why, for the case's log."""


def issuance_hook(case: Application) -> None:
    """Registered with the case engine (CertificatesConfig.ready); runs on commit."""
    from tongban.certificates.tasks import case_certificates_issue_task

    case_certificates_issue_task.enqueue(receipt_no=case.receipt_no)


def case_certificates_issue(*, receipt_no: str) -> IssuanceReport:
    """Issue what the approved items of case RECEIPT_NO entitle its applicant to. Safe to run
    again: certificates already issued are left alone and nothing new is recorded."""
    report = IssuanceReport()
    case = (
        Application.objects.select_related("applicant", "applicant_profile", "enterprise")
        .filter(receipt_no=receipt_no)
        .first()
    )
    if case is None or case.accepted_at is None:
        return report
    form = case.form_data
    for task in case.tasks.filter(status=TaskStatus.APPROVED).order_by("item_code"):
        item = item_definition(task.item_code, task.item_version)
        for output in item.outputs:
            entry = {"item": task.item_code, "type": output.certificate_type, "name": output.name}
            try:
                cert = _issue_one(case, form, task, output)
            except _NotIssued as exc:
                # Before the case ends, what cannot be issued yet may become issuable: the
                # newborn's 出生医学证明 waits for the ID number 出生登记 gives. Only the run
                # at conclusion reports what was not issued.
                if case.concluded_at is not None:
                    report.skipped.append({**entry, "reason": str(exc)})
                continue
            if cert is None:
                report.already += 1
            else:
                report.issued.append({**entry, "serial": cert.serial})
    if report.issued or (report.skipped and not _noted_before(case)):
        case_note_issued(
            receipt_no=case.receipt_no, certificates=report.issued, skipped=report.skipped
        )
    return report


def _noted_before(case: Application) -> bool:
    return case.events.filter(action="certificates_issued").exists()


def _issue_one(case: Application, form: dict, task, output) -> Certificate | None:
    item_code = task.item_code
    ctype = (
        CertificateType.objects.select_related("current", "department")
        .filter(code=output.certificate_type, is_active=True)
        .first()
    )
    if ctype is None:
        raise _NotIssued("证照类型未加载或已停用")
    definition = certificate_type_definition(ctype.current)
    try:
        with transaction.atomic():
            profile, enterprise, holder_user = _holder(case, form, output.holder, definition, task)
            ref = f"p{profile.pk}" if profile is not None else f"e{enterprise.pk}"
            key = f"case:{case.receipt_no}:{item_code}:{ctype.code}:{ref}"
            if Certificate.objects.filter(issuance_key=key).exists():
                transaction.set_rollback(True)
                return None
            claims = _claims(definition, case, form, task, profile, enterprise, ctype)
            missing = [
                c.label for c in definition.claims if c.required and claims.get(c.name) is None
            ]
            if missing:
                raise _NotIssued(f"缺少必填内容：{'、'.join(missing)}")
            cert = certificate_issue(
                type_code=ctype.code,
                holder_profile=profile,
                holder_enterprise=enterprise,
                claims=claims,
                actor_label=ACTOR,
                source_case=case,
            )
            # The constraint is the guard: a concurrent run of the same issuance fails here
            # and its whole transaction (certificate included) rolls back.
            Certificate.objects.filter(pk=cert.pk).update(issuance_key=key, holder_user=holder_user)
    except IntegrityError:
        return None
    except DomainError as exc:
        raise _NotIssued(exc.message) from exc
    return cert


def _holder(
    case: Application, form: dict, holder: str, definition: CertificateTypeDef, task
) -> tuple[ResidentProfile | None, Enterprise | None, User | None]:
    if definition.holder == "enterprise":
        if holder != "enterprise":
            raise _NotIssued("办理结果的持证主体与证照类型不符")
        return None, _enterprise(case, form, task), None
    if holder == "applicant":
        profile = (
            case.applicant_profile or ResidentProfile.objects.filter(user=case.applicant).first()
        )
        if profile is None:
            raise _NotIssued("申请人没有居民档案")
        # The person's own account holds it: the applicant, or (免申即享, filed by the
        # platform) whoever the profile belongs to, if anyone yet.
        return profile, None, profile.user
    if holder == "child":
        # The guardian holds a minor's certificates in their wallet.
        return _person(form, "child"), None, case.applicant
    if holder == "spouse":
        profile = _person(form, "spouse")
        return profile, None, profile.user
    raise _NotIssued("无法确定持证人")


def _person(form: dict, prefix: str) -> ResidentProfile:
    """一人一档: the person the form names by `<prefix>.id_number`, opened if new."""
    number = form.get(f"{prefix}.id_number")
    if not number:
        raise _NotIssued("表单中没有持证人的公民身份号码")
    try:
        number = parse_id_number(str(number)).number
    except DomainError as exc:
        raise _NotIssued("持证人的公民身份号码无效") from exc
    found = ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(number)).first()
    if found is not None:
        return found
    return resident_profile_create(
        actor=ACTOR,
        name=str(form.get(f"{prefix}.name") or ""),
        id_number=number,
        hukou_district=str(form.get(f"{prefix}.hukou_district") or ""),
        residence_address=str(form.get(f"{prefix}.residence_address") or ""),
    )


def _enterprise(case: Application, form: dict, task=None) -> Enterprise:
    if case.enterprise is not None:
        return case.enterprise
    uscc = form.get("enterprise.uscc")
    if not uscc:
        raise _NotIssued("办件没有企业，表单中也没有统一社会信用代码")
    # Only a code a reviewer recorded on approval (设立登记 `produces` it) founds an enterprise;
    # a code the applicant typed proves nothing about who may act for that enterprise.
    if "enterprise.uscc" not in {p["code"] for p in case.plan.get("produced", [])}:
        raise _NotIssued("办件没有企业，统一社会信用代码不是由审批产生的")
    enterprise = Enterprise.objects.filter(uscc=str(uscc).strip().upper()).first()
    if enterprise is not None:
        if not live_memberships().filter(enterprise=enterprise, user=case.applicant).exists():
            raise _NotIssued("该统一社会信用代码已属于其他企业，申请人不是其经办人")
        return enterprise
    if enterprise is None:
        # 企业开办: 设立登记 produced the code; this opens the 企业档案 (一企一档).
        enterprise = enterprise_create(
            actor=ACTOR,
            uscc=str(uscc),
            name=str(form.get("enterprise.name") or ""),
            type=str(form.get("enterprise.type") or Enterprise.Type.LLC),
            legal_representative=str(form.get("enterprise.legal_representative") or ""),
            legal_representative_id_number=str(form.get("enterprise.legal_rep_id_number") or ""),
            registered_capital=Decimal(str(form.get("enterprise.registered_capital") or 0)),
            industry_code=str(form.get("enterprise.industry_code") or ""),
            district=str(form.get("enterprise.district") or ""),
            address=str(form.get("enterprise.address") or ""),
            founded_on=_decided_on(task),
            employees=int(form.get("enterprise.employees") or 0),
        )
        # The founder acts for it: as its 法定代表人 when the form names them as such, else as
        # its first 管理员, who can then name the legal representative's agents (企业授权).
        founder = case.applicant_profile
        is_rep = (
            founder is not None
            and str(form.get("enterprise.legal_rep_id_number") or "").upper()
            == (founder.id_number or "").upper()
        )
        enterprise_membership_grant(
            actor=ACTOR,
            enterprise=enterprise,
            user=case.applicant,
            role=(
                EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
                if is_rep
                else EnterpriseMembership.Role.ADMINISTRATOR
            ),
        )
    return enterprise


def _decided_on(task) -> dt.date:
    """The day the item was approved: its certificate's date (办结日期 of that item)."""
    decided = getattr(task, "decided_at", None)
    return timezone.localtime(decided or timezone.now()).date()


def _claims(
    definition: CertificateTypeDef,
    case: Application,
    form: dict,
    task,
    profile: ResidentProfile | None,
    enterprise: Enterprise | None,
    ctype: CertificateType,
) -> dict[str, Any]:
    item_code = task.item_code
    codes = {s[8:] for c in definition.claims for s in c.source if s.startswith("element:")}
    elements = element_definitions(codes)
    applicant = (
        case.applicant_profile or ResidentProfile.objects.filter(user=case.applicant).first()
    )
    claims: dict[str, Any] = {}
    for claim in definition.claims:
        for source in claim.source:
            kind, _, key = source.partition(":")
            if kind == "element":
                value = _element_value(elements.get(key), form.get(key), claim.type)
            elif kind == "profile":
                value = _row_value(profile, key)
            elif kind == "applicant":
                value = _row_value(applicant, key)
            elif kind == "enterprise":
                value = _row_value(enterprise, key)
            elif kind == "case":
                value = {
                    "receipt_no": case.receipt_no,
                    "concluded_on": _decided_on(task).isoformat(),
                    # The last day of validity, counted like certificate_issue counts it.
                    "expires_on": (
                        _decided_on(task) + dt.timedelta(days=definition.validity_days - 1)
                    ).isoformat()
                    if definition.validity_days
                    else None,
                    "number": f"{case.receipt_no}-{item_code}",
                }[key]
            elif kind == "issuer":
                value = ctype.department.name
            else:  # value:
                value = key
            value = _typed(value, claim.type)
            if value is not None:
                claims[claim.name] = value
                break
    return claims


def _element_value(element, raw: Any, claim_type: str) -> Any:
    if raw is None or raw == "" or raw == []:
        return None
    # A number chosen from a list (缴存比例 "5" shown as "5%", 残疾等级 "1" as "一级") is its
    # value; the label is for text claims.
    if element is not None and element.choices and claim_type != "integer":
        labels = {c.value: c.label for c in element.choices}
        return labels.get(str(raw), str(raw))
    return raw


def _row_value(row, name: str) -> Any:
    if row is None or not hasattr(row, name):
        return None
    display = getattr(row, f"get_{name}_display", None)
    return display() if display is not None else getattr(row, name)


def _typed(value: Any, claim_type: str) -> Any:
    if value is None or value == "":
        return None
    if claim_type == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
