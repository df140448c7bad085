"""Every write of 告知承诺事后核查 (after-the-fact checks of commitments).

Flow: a case concludes with at least one approved item whose material was satisfied by a
signed commitment → the sweep screens it once (commitment_checks_select): a commitment whose
material a data source can prove is always re-checked, any other is drawn with the item's
`commitment_check_share` → checks with a data source ask it (commitment_check_source_try;
retried with backoff while it cannot answer) → found and proven: 属实 by the platform; anything
else goes to a person of the item's department (commitment_check_decide) → 不实 opens the
department's follow-up (失信处置) and a credit record, and tells the applicant → the follow-up
revokes the results the case issued on that material (followup_revoke) and closes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.cases.models import (
    Application,
    CaseOutcome,
    CaseStatus,
    MaterialHow,
    TaskStatus,
)
from tongban.catalog.models import Department
from tongban.catalog.selectors import item_definition
from tongban.commitment_checks.errors import (
    CheckDecided,
    CheckNotFound,
    FollowUpClosed,
    FollowUpNotAllowed,
    FollowUpNotFound,
    NoteRequired,
    NoteTooLong,
    VerdictInvalid,
)
from tongban.commitment_checks.models import (
    CaseScreening,
    CheckReason,
    CheckStage,
    CheckStatus,
    CommitmentCheck,
    CreditKind,
    CreditRecord,
    FollowUp,
    FollowUpStatus,
)
from tongban.common.errors import DomainError
from tongban.common.services import audit_record

logger = logging.getLogger(__name__)

SYSTEM = "system:commitment_check"
NOTE_MAX = 500
# A case-handling post decides a check; a post that may revoke results (as the certificates
# service requires) carries out the follow-up. Both see the department's queue.
DECIDER_ROLES = frozenset({StaffRole.REVIEWER, StaffRole.DEPARTMENT_LEAD})
REVOKER_ROLES = frozenset({StaffRole.ISSUER, StaffRole.DEPARTMENT_LEAD})
VIEWER_ROLES = DECIDER_ROLES | REVOKER_ROLES
# Asking a source again after it could not answer: 5 minutes, doubling, at most 6 hours.
RETRY_FIRST = dt.timedelta(minutes=5)
RETRY_MAX = dt.timedelta(hours=6)
SWEEP_BATCH = 200
CONCLUDED = (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED)
APPROVED = (CaseOutcome.APPROVED, CaseOutcome.PARTLY_APPROVED)
OBJECTION = (
    "如对核查结论有异议，可自收到本通知之日起60日内向{department}提出异议并提交证明材料，"
    "也可依法申请行政复议或者提起行政诉讼。"
)


def _now() -> dt.datetime:
    return timezone.now()


# ---------------------------------------------------------------- permissions


def _roles_in(user: User | None, department_id: int) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return set(
        StaffAssignment.objects.filter(user=user, department_id=department_id).values_list(
            "role", flat=True
        )
    )


def may_view(user: User | None, department_id: int) -> bool:
    return bool(_roles_in(user, department_id) & VIEWER_ROLES)


def may_decide(user: User | None, department_id: int) -> bool:
    return bool(_roles_in(user, department_id) & DECIDER_ROLES)


def may_revoke(user: User | None, department_id: int) -> bool:
    return bool(_roles_in(user, department_id) & REVOKER_ROLES)


# ---------------------------------------------------------------- selection


def draw(receipt_no: str, material_code: str) -> float:
    """A number in [0, 1) fixed by the case and the material: the same case is drawn the same
    way on every run and every machine, and nobody can steer it after submitting."""
    digest = hashlib.sha256(f"{receipt_no}:{material_code}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_sampled(receipt_no: str, material_code: str, share: float) -> bool:
    # share 0 never draws (no number is below 0); share 1 always does (every number is < 1).
    return draw(receipt_no, material_code) < share


@dataclass(frozen=True)
class _Candidate:
    material_code: str
    material_name: str
    item_code: str
    item_name: str
    department_code: str
    commitment_text: str
    reason: str
    source_name: str


def _candidates(case: Application) -> list[_Candidate]:
    """The commitments of CASE to check: those of items that were approved (a refused item's
    commitment gave the applicant nothing to take back)."""
    signed = {
        m.material_code: m.note
        for m in case.materials.filter(how=MaterialHow.COMMITMENT).order_by("pk")
    }
    if not signed:
        return []
    approved = set(
        case.tasks.filter(status=TaskStatus.APPROVED).values_list("item_code", flat=True)
    )
    items = {i["code"]: i for i in case.plan.get("items", [])}
    out: list[_Candidate] = []
    for m in case.plan.get("materials", []):
        code = m["code"]
        if code not in signed:
            continue
        uses = [items[c] for c in m.get("items", []) if c in items and c in approved]
        if not uses:
            continue
        share = 0.0
        source_name = ""
        for use in uses:
            definition = item_definition(use["code"], use["version"])
            share = max(share, definition.commitment_check_share)
            material = next((x for x in definition.materials if x.code == code), None)
            if material is not None and not source_name:
                source_name = next(
                    (w.data_source for w in material.waivable_by if w.kind == "data_source"), ""
                )
        if source_name:
            reason = CheckReason.SOURCE
        elif is_sampled(case.receipt_no, code, share):
            reason = CheckReason.SAMPLED
        else:
            continue
        owner = uses[0]  # the first item (plan order) that asked for it: its department checks
        out.append(
            _Candidate(
                material_code=code,
                material_name=m.get("name", code)[:120],
                item_code=owner["code"],
                item_name=owner.get("name", owner["code"])[:80],
                department_code=owner["department"],
                commitment_text=signed[code] or m.get("commitment", ""),
                reason=reason,
                source_name=source_name[:40],
            )
        )
    return out


def commitment_checks_select(*, case_id: int, now: dt.datetime | None = None) -> int:
    """Screen one concluded case once: create its checks. Returns how many were created (0
    when the case was screened before, is not concluded approved, or nothing was drawn)."""
    now = now or _now()
    with transaction.atomic():
        case = Application.objects.select_for_update().filter(pk=case_id).first()
        if case is None or case.status not in CONCLUDED or case.outcome not in APPROVED:
            return 0
        if CaseScreening.objects.filter(case=case).exists():
            return 0
        chosen = _candidates(case)
        departments = {
            d.code: d
            for d in Department.objects.filter(code__in={c.department_code for c in chosen})
        }
        created = []
        for c in chosen:
            department = departments.get(c.department_code)
            if department is None:
                logger.warning("commitment check: department %s unknown", c.department_code)
                continue
            with_source = c.reason == CheckReason.SOURCE
            created.append(
                CommitmentCheck.objects.create(
                    case=case,
                    material_code=c.material_code,
                    material_name=c.material_name,
                    item_code=c.item_code,
                    item_name=c.item_name,
                    department=department,
                    commitment_text=c.commitment_text,
                    reason=c.reason,
                    source_name=c.source_name,
                    stage=CheckStage.SOURCE if with_source else CheckStage.PERSON,
                    next_attempt_at=now if with_source else None,
                    created_at=now,
                )
            )
        CaseScreening.objects.create(case=case, screened_at=now, selected=len(created))
        if created:
            audit_record(
                actor_label=SYSTEM,
                action="commitment_check.select",
                object_type="case",
                object_id=case.receipt_no,
                data={
                    "checks": [
                        {"id": c.pk, "material": c.material_code, "reason": c.reason}
                        for c in created
                    ]
                },
            )
    return len(created)


def commitment_checks_select_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Screen concluded approved cases with a commitment that were not screened yet."""
    ids = list(
        Application.objects.filter(
            status__in=CONCLUDED,
            outcome__in=APPROVED,
            materials__how=MaterialHow.COMMITMENT,
            commitment_screening__isnull=True,
        )
        .order_by("concluded_at", "pk")
        .values_list("pk", flat=True)
        .distinct()[:SWEEP_BATCH]
    )
    selected = 0
    for pk in ids:
        selected += commitment_checks_select(case_id=pk, now=now)
    return {"screened": len(ids), "selected": selected}


# ---------------------------------------------------------------- asking the source


def _exchange():
    """The exchange's query API, or None while it is not installed in this build."""
    try:
        from tongban.exchange import selectors as exchange_selectors
        from tongban.exchange import services as exchange_services
    except ImportError:  # pragma: no cover - only before the exchange app exists
        return None
    return exchange_services, exchange_selectors


def _source_for(selectors_module, name: str, about: str):
    """The registered source of that Chinese name whose key fits whom the material is about
    (two sources may share a name, one per key)."""
    found = selectors_module.data_sources()
    defs = list(found.values()) if isinstance(found, dict) else list(found)
    named = [d for d in defs if d.name == name]
    wanted = "uscc" if about == "enterprise" else "id_number"
    return next((d for d in named if d.key == wanted), named[0] if named else None)


def _subject(case: Application, about: str, key_kind: str) -> tuple[str, int | None, int | None]:
    """(key, profile id, enterprise id) of whom the material is about, as the source is keyed."""
    from tongban.accounts.models import ResidentProfile
    from tongban.accounts.selectors import resident_id_number_hash

    form = case.form_data
    if key_kind == "uscc":
        if case.enterprise is not None:
            return case.enterprise.uscc, None, case.enterprise.pk
        return str(form.get("enterprise.uscc") or ""), None, None
    if key_kind != "id_number":
        return "", None, None
    if about in ("", "applicant") and case.applicant_profile is not None:
        return case.applicant_profile.id_number, case.applicant_profile.pk, None
    number = str(form.get(f"{about or 'applicant'}.id_number") or "").strip().upper()
    if not number:
        return "", None, None
    profile = ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(number)).first()
    return number, profile.pk if profile else None, None


def _proven(values: dict[str, Any], elements: list[str]) -> bool:
    return bool(elements) and all(
        values.get(e) is not None and values.get(e) != "" and values.get(e) is not False
        for e in elements
    )


def _retry_at(now: dt.datetime, attempts: int) -> dt.datetime:
    return now + min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def _settle_source(
    check_id: int,
    now: dt.datetime,
    *,
    retry: str = "",
    to_person: str = "",
    verified: bool = False,
    evidence: dict[str, Any] | None = None,
) -> str:
    """Record one attempt's result under the check's lock; the outcome, or "" when a person
    decided the check meanwhile."""
    with transaction.atomic():
        check = CommitmentCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None or check.status != CheckStatus.PENDING or check.stage != CheckStage.SOURCE:
            return ""
        check.attempts += 1
        if evidence:
            check.evidence = evidence
        if retry:
            check.last_error = retry[:200]
            check.next_attempt_at = _retry_at(now, check.attempts)
            check.save()
            return "retry"
        check.next_attempt_at = None
        if verified:
            check.status = CheckStatus.TRUE
            check.checked_by_label = SYSTEM
            check.checked_at = now
            check.last_error = ""
            check.note = f"经{check.source_name}核验，承诺事项属实"
            outcome = "verified"
        else:
            check.stage = CheckStage.PERSON
            check.last_error = to_person[:200]
            outcome = "to_person"
        check.save()
        audit_record(
            actor_label=SYSTEM,
            action=f"commitment_check.source_{outcome}",
            object_type="commitment_check",
            object_id=check.pk,
            data={
                "receipt_no": check.case.receipt_no,
                "material": check.material_code,
                "source": check.source_name,
                **({"why": check.last_error} if outcome == "to_person" else {}),
                **({"lookup_id": evidence.get("lookup_id")} if evidence else {}),
            },
        )
        return outcome


def commitment_check_source_try(*, check_id: int, now: dt.datetime | None = None) -> str:
    """Ask the check's data source once (no lock is held while the source is asked). Returns
    "verified", "to_person", "retry" or "" (nothing to do)."""
    from django.conf import settings

    now = now or _now()
    check = (
        CommitmentCheck.objects.select_related("case", "department")
        .filter(pk=check_id, status=CheckStatus.PENDING, stage=CheckStage.SOURCE)
        .first()
    )
    if check is None:
        return ""
    exchange = _exchange()
    if exchange is None or not settings.TONGBAN_EXCHANGE_ENABLED:
        return _settle_source(check.pk, now, retry="数据共享交换未开启，稍后重试")
    services_module, selectors_module = exchange
    case = check.case
    about = next(
        (
            m.get("about") or "applicant"
            for m in case.plan.get("materials", [])
            if m["code"] == check.material_code
        ),
        "applicant",
    )
    source = _source_for(selectors_module, check.source_name, about)
    if source is None:
        # "When the source becomes able to answer": a source not yet connected may be later.
        return _settle_source(check.pk, now, retry=f"数据源“{check.source_name}”尚未接入")
    proof = next((p for p in source.proves if p.material == check.material_code), None)
    if proof is None:
        return _settle_source(check.pk, now, to_person="数据源未声明可证明此材料，请人工核查")
    key, profile_id, enterprise_id = _subject(case, about, source.key)
    if not key:
        return _settle_source(check.pk, now, to_person="无法确定核验对象，请人工核查")
    requester = services_module.Requester(
        department=check.department.code,
        purpose=f"告知承诺事后核查：{check.material_name}",
        legal_basis=source.legal_bases[0],
        item=check.item_code,
        receipt_no=case.receipt_no,
        actor=None,
        actor_label=SYSTEM,
        post=f"{check.department.name} 告知承诺核查",
    )
    try:
        answer = services_module.source_query(
            source=source.code,
            key=key,
            elements=list(proof.elements),
            requester=requester,
            subject_profile_id=profile_id,
            subject_enterprise_id=enterprise_id,
        )
    except DomainError as exc:
        if exc.code == "EXCHANGE_NOT_ALLOWED":
            return _settle_source(
                check.pk, now, to_person=f"数据源不允许本次核验（{exc.message}），请人工核查"
            )
        # Unavailable, unknown for now, or any other refusal: ask again later.
        return _settle_source(check.pk, now, retry=exc.message)
    evidence = {
        "source": source.code,
        "source_name": source.name,
        "lookup_id": answer.lookup_id,
        "value_hash": answer.value_hash,
        "found": answer.found,
        "as_of": answer.as_of.isoformat() if answer.as_of else None,
    }
    if answer.found and _proven(answer.values, list(proof.elements)):
        return _settle_source(check.pk, now, verified=True, evidence=evidence)
    # The source saying "no record" (or not confirming) is not by itself proof that the
    # commitment was false: its data may lag or be keyed differently. A person of the
    # department looks at it and decides, with a reason.
    why = "数据源未查到相关记录" if not answer.found else "数据源记录未能证明承诺事项"
    return _settle_source(check.pk, now, to_person=f"{why}，请人工核查", evidence=evidence)


def commitment_checks_source_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or _now()
    ids = list(
        CommitmentCheck.objects.filter(
            status=CheckStatus.PENDING, stage=CheckStage.SOURCE, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    counts = {"verified": 0, "to_person": 0, "retry": 0}
    for pk in ids:
        try:
            outcome = commitment_check_source_try(check_id=pk, now=now)
        except Exception:
            # One check failing must not stop the others; it is retried on the next round.
            logger.exception("commitment check %s: source attempt failed", pk)
            outcome = _settle_source(pk, now, retry="核验时发生内部错误，稍后重试")
        if outcome in counts:
            counts[outcome] += 1
    return counts


def commitment_checks_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The maintenance sweep: screen newly concluded cases, then ask the sources that are due."""
    return {**commitment_checks_select_due(now=now), **commitment_checks_source_due(now=now)}


# ---------------------------------------------------------------- a person decides


def _clean_note(note: str, *, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise NoteRequired()
    if len(text) > NOTE_MAX:
        raise NoteTooLong()
    return text


def _lock_check(check_id: int) -> CommitmentCheck:
    if not isinstance(check_id, int) or isinstance(check_id, bool) or not 0 < check_id < 2**62:
        raise CheckNotFound()
    check = (
        CommitmentCheck.objects.select_for_update(of=("self",))
        .select_related("case", "department", "case__applicant", "case__enterprise")
        .filter(pk=check_id)
        .first()
    )
    if check is None:
        raise CheckNotFound()
    return check


def commitment_check_decide(
    *, actor: User, check_id: int, verdict: str, note: str = ""
) -> CommitmentCheck:
    """属实 / 不实 / 无法核查, by a case-handling post of the item's department. 不实 opens the
    follow-up (失信处置), writes the credit record and tells the applicant, in this one
    transaction; the note is the reason they read."""
    with transaction.atomic():
        check = _lock_check(check_id)
        if not may_decide(actor, check.department_id):
            raise CheckNotFound()  # other departments' checks do not exist for them
        if verdict not in (CheckStatus.TRUE, CheckStatus.FALSE, CheckStatus.UNVERIFIABLE):
            raise VerdictInvalid()
        if check.status != CheckStatus.PENDING:
            raise CheckDecided()
        text = _clean_note(note, required=verdict != CheckStatus.TRUE)
        now = _now()
        check.status = verdict
        check.checked_by = actor
        check.checked_by_label = ""
        check.checked_at = now
        check.note = text
        check.next_attempt_at = None
        check.save()
        data: dict[str, Any] = {
            "receipt_no": check.case.receipt_no,
            "material": check.material_code,
            "verdict": verdict,
            "note": text,
        }
        if verdict == CheckStatus.FALSE:
            data.update(_open_follow_up(check, now))
        audit_record(
            actor=actor,
            action="commitment_check.decide",
            object_type="commitment_check",
            object_id=check.pk,
            purpose="告知承诺事后核查",
            data=data,
        )
    return check


def _open_follow_up(check: CommitmentCheck, now: dt.datetime) -> dict[str, Any]:
    from tongban.notifications.services import notice_send

    case = check.case
    follow_up = FollowUp.objects.create(check_row=check, department=check.department, opened_at=now)
    on_enterprise = case.enterprise_id is not None
    record = (
        CreditRecord.objects.create(
            profile=None if on_enterprise else case.applicant_profile,
            enterprise=case.enterprise if on_enterprise else None,
            kind=CreditKind.COMMITMENT_FALSE,
            case=case,
            check_row=check,
            department=check.department,
            recorded_on=timezone.localdate(now),
            reason=f"{check.item_name}：{check.material_name}的告知承诺经核查不实。{check.note}"[
                :1000
            ],
            created_at=now,
        )
        if (on_enterprise or case.applicant_profile_id)
        else None
    )
    notice_send(
        recipient=case.applicant,
        template="commitment_check_false",
        link="/me/credit/",
        context={
            "case_name": case.name,
            "receipt": case.receipt_no,
            "material_name": check.material_name,
            "department": check.department.name,
            "reason": check.note,
            "objection": OBJECTION.format(department=check.department.name),
        },
    )
    return {"follow_up": follow_up.pk, "credit_record": record.pk if record else None}


def followup_revoke(*, actor: User, follow_up_id: int, reason: str = "") -> FollowUp:
    """失信处置: revoke every live certificate the case issued for the items that relied on the
    false commitment (through the certificates service, which audits each), then close."""
    from tongban.certificates.models import Certificate
    from tongban.certificates.services import certificate_revoke

    if not isinstance(follow_up_id, int) or not 0 < follow_up_id < 2**62:
        raise FollowUpNotFound()
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("check_row", "check_row__case", "department")
            .filter(pk=follow_up_id)
            .first()
        )
        if follow_up is None or not may_view(actor, follow_up.department_id):
            raise FollowUpNotFound()
        if follow_up.status != FollowUpStatus.OPEN:
            raise FollowUpClosed()
        if not may_revoke(actor, follow_up.department_id):
            raise FollowUpNotAllowed()
        check = follow_up.check_row
        case = check.case
        text = (reason or "").strip() or (
            f"告知承诺不实（受理编号 {case.receipt_no}，{check.material_name}），依法撤销"
        )
        text = text[:200]
        items = next(
            (
                m.get("items", [])
                for m in case.plan.get("materials", [])
                if m["code"] == check.material_code
            ),
            [check.item_code],
        ) or [check.item_code]
        serials = []
        for item in items:
            live = Certificate.objects.filter(
                issuance_key__startswith=f"case:{case.receipt_no}:{item}:",
                revoked_at__isnull=True,
            ).order_by("pk")
            for certificate in live:
                certificate_revoke(certificate=certificate, actor=actor, reason=text)
                serials.append(certificate.serial)
        follow_up.status = FollowUpStatus.CLOSED
        follow_up.closed_at = _now()
        follow_up.closed_by = actor
        follow_up.revoked_serials = serials
        follow_up.note = text if serials else "本办件未发放电子证照，无须撤销"
        follow_up.save()
        audit_record(
            actor=actor,
            action="commitment_check.follow_up_close",
            object_type="commitment_follow_up",
            object_id=follow_up.pk,
            purpose="失信处置",
            data={"receipt_no": case.receipt_no, "revoked": serials, "reason": text},
        )
    return follow_up
