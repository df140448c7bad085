"""减材料 by e-certificate: a material whose waiver names a certificate type is spared when the
person or body the material is about (`about`) holds a valid certificate of that type, and
the case records which one.

Whose certificates count, by `about`:
- applicant: those issued to the applicant's own profile (holder_profile) — never those
  their account holds for a child in their care (holder_user);
- mother, father, child, spouse, legal_representative: those issued to the person the form
  identifies by that role's 公民身份号码 (and, when the form gives one, the same name), found
  in 一人一档 — the 核验 a department does by ID number. Until the form names the person,
  nothing is spared. The legal representative of the enterprise an agent acts for is known
  from its 一企一档;
- enterprise: the enterprise's own, only when the applicant acts for it (the guide's
  `enterprise`, an agent's membership checked by the case engine).
So the mother's ID card never spares the father's, and an agent's own card never spares the
legal representative's.

Valid means: not revoked, not expired, and the stored signed text verifies now against this
instance's keys and status list. The signature check is cached per process by serial and
text digest (a signed text never changes); revocation and expiry are read from the row on
every guide run, so a revoked certificate stops sparing at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import ResidentProfile
from tongban.accounts.selectors import resident_id_number_hash
from tongban.accounts.validators import parse_id_number
from tongban.catalog.guide import Spared, register_evidence_provider
from tongban.catalog.schemas import PERSON_ROLE_LABELS, MaterialDef, Waiver
from tongban.certificates.models import Certificate, CertificateType
from tongban.certificates.selectors import (
    certificate_state,
    certificate_type_definition,
    certificate_verify,
)
from tongban.common.errors import DomainError

KIND = "certificate"

_verified: set[tuple[str, str]] = set()
_verified_lock = threading.Lock()
_VERIFIED_MAX = 100_000


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _signature_holds(cert: Certificate, *, at: dt.datetime) -> bool:
    """certificate_verify on the stored text, remembered only when it held."""
    key = (cert.serial, _digest(cert.text))
    if key in _verified:
        return True
    if not certificate_verify(cert.text, at=at).is_valid:
        return False
    with _verified_lock:
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified.add(key)
    return True


def verified_cache_clear() -> None:
    with _verified_lock:
        _verified.clear()


def valid_certificates(
    *,
    applicant: Any,
    type_codes: Iterable[str],
    at: dt.datetime | None = None,
    enterprise: Any = None,
) -> dict[str, Certificate]:
    """Type code → the applicant's newest valid person certificate of that type, or, when
    they act for ENTERPRISE (an agent's membership is checked by the caller), the
    enterprise's own. One query (served by the holder indexes), then a signature check each."""
    person = applicant.pk if getattr(applicant, "pk", None) is not None else None
    enterprise_pk = getattr(enterprise, "pk", None)
    return _valid_held(
        profile_id=person,
        enterprise_id=enterprise_pk if person is not None else None,
        type_codes=type_codes,
        at=at,
    )


def _valid_held(
    *,
    profile_id: int | None,
    enterprise_id: int | None,
    type_codes: Iterable[str],
    at: dt.datetime | None = None,
) -> dict[str, Certificate]:
    codes = sorted({c for c in type_codes if c})
    if (profile_id is None and enterprise_id is None) or not codes:
        return {}
    now = at or timezone.now()
    # Certificates issued to the person themself only. Those a parent holds for a child
    # (holder_user) do not count as the parent's: an older child's 出生医学证明 must never
    # spare the newborn's.
    held = Q(pk__in=[])
    if profile_id is not None:
        held |= Q(holder_profile_id=profile_id, holder_enterprise__isnull=True)
    if enterprise_id is not None:
        held |= Q(holder_enterprise_id=enterprise_id)
    rows = (
        Certificate.objects.filter(held, type__code__in=codes)
        .filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("type", "type__department", "type_version")
        .order_by("-issued_at", "-id")
    )
    found: dict[str, Certificate] = {}
    for cert in rows:
        code = cert.type.code
        if code not in found and _signature_holds(cert, at=now):
            found[code] = cert
    return found


def _until(cert: Certificate) -> str:
    if cert.expires_at is None:
        return "长期有效"
    day = timezone.localtime(cert.expires_at).date()
    return f"有效期至{day.year}年{day.month}月{day.day}日"


def spared_reason(cert: Certificate, role: str = "applicant") -> str:
    if cert.holder_enterprise_id is not None:
        return f"企业已有电子证照「{cert.type.name}」（{_until(cert)}），无需提交"
    if role == "applicant":
        return f"您已有电子证照「{cert.type.name}」（{_until(cert)}），无需提交"
    who = PERSON_ROLE_LABELS.get(role, "该人员")
    return f"已按{who}的公民身份号码核验其电子证照「{cert.type.name}」（{_until(cert)}），无需提交"


def _profile_for(person: dict[str, str]) -> ResidentProfile | None:
    """The 一人一档 a role's 公民身份号码 names, when the name given (if any) is theirs too;
    None for an invalid or unknown number, or a name that does not match."""
    try:
        number = parse_id_number(person.get("id_number", "")).number
    except DomainError:
        return None
    profile = ResidentProfile.objects.filter(id_number_hash=resident_id_number_hash(number)).first()
    if profile is None:
        return None
    name = (person.get("name") or "").strip()
    if name and name != profile.name:
        return None
    return profile


class _Bound:
    """The provider for one guide run: each role's valid certificates, fetched once."""

    def __init__(self, found: dict[str, dict[str, Certificate]]):
        self.found = found  # role → type code → certificate

    def spares(self, *, waiver: Waiver, material: MaterialDef, applicant: Any) -> Spared | None:
        if waiver.kind != KIND:
            return None
        role = getattr(material, "about", "applicant")
        cert = self.found.get(role, {}).get(waiver.certificate_type)
        if cert is None:
            return None
        return Spared(
            reason=spared_reason(cert, role),
            evidence={
                "kind": KIND,
                "type": cert.type.code,
                "serial": cert.serial,
                "holder_role": role,
            },
        )


class CertificateEvidence:
    """The e-certificate evidence provider (registered by CertificatesConfig.ready)."""

    kind = KIND

    def bind(
        self,
        *,
        applicant: Any,
        waivers: Iterable[Waiver],
        enterprise: Any = None,
        persons: dict[str, dict[str, str]] | None = None,
    ) -> _Bound:
        codes = [w.certificate_type for w in waivers if w.kind == KIND]
        own_id = getattr(applicant, "pk", None)
        found: dict[str, dict[str, Certificate]] = {}
        if own_id is None or not codes:
            return _Bound(found)
        found["applicant"] = _valid_held(profile_id=own_id, enterprise_id=None, type_codes=codes)
        if getattr(enterprise, "pk", None) is not None:
            found["enterprise"] = _valid_held(
                profile_id=None, enterprise_id=enterprise.pk, type_codes=codes
            )
        named = dict(persons or {})
        if "legal_representative" not in named and enterprise is not None:
            number = getattr(enterprise, "legal_representative_id_number", "")
            if number:
                named["legal_representative"] = {
                    "id_number": number,
                    "name": getattr(enterprise, "legal_representative", ""),
                }
        for role, person in named.items():
            profile = _profile_for(person)
            if profile is None:
                continue
            found[role] = (
                found["applicant"]
                if profile.pk == own_id
                else _valid_held(profile_id=profile.pk, enterprise_id=None, type_codes=codes)
            )
        return _Bound(found)

    def spares(self, *, waiver: Waiver, material: MaterialDef, applicant: Any) -> Spared | None:
        # Called without bind() only by callers that ask about one waiver at a time.
        if waiver.kind != KIND or applicant is None:
            return None
        return self.bind(applicant=applicant, waivers=[waiver]).spares(
            waiver=waiver, material=material, applicant=applicant
        )

    def describe(self, *, evidence: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Serial → the certificate as a reviewer sees it, verified now: type, issuer,
        validity, the verification result and the claims with their labels. One query."""
        serials = sorted({e.get("serial", "") for e in evidence if e.get("kind") == KIND} - {""})
        if not serials:
            return {}
        now = timezone.now()
        out: dict[str, dict[str, Any]] = {}
        rows = Certificate.objects.filter(serial__in=serials).select_related(
            "type", "type__department", "type_version"
        )
        for cert in rows:
            definition = certificate_type_definition(cert.type_version)
            result = certificate_verify(cert.text, at=now)
            stored = cert.claims
            out[cert.serial] = {
                "serial": cert.serial,
                "type": cert.type.code,
                "type_name": definition.name,
                "issuer": cert.type.department.name,
                "issued_at": cert.issued_at,
                "expires_at": cert.expires_at,
                "validity": _until(cert),
                "state": certificate_state(cert, now=now),
                "verification": result.code,
                "verification_message": result.message,
                "verified": result.is_valid,
                "claims": [
                    {"name": c.name, "label": c.label, "value": stored[c.name]}
                    for c in definition.claims
                    if c.name in stored
                ],
            }
        return out

    def issued_in_case(self, *, receipt_no: str, types: Iterable[str]) -> list[dict[str, Any]]:
        """What an earlier item of case RECEIPT_NO has issued, of these types, as evidence
        entries (`describe` takes them): the materials that case spares as produced."""
        rows = Certificate.objects.filter(
            source_receipt_no=receipt_no, type__code__in=sorted(set(types))
        ).order_by("issued_at", "id")
        found: dict[str, str] = {}
        for code, serial in rows.values_list("type__code", "serial"):
            found.setdefault(code, serial)
        return [{"kind": KIND, "type": t, "serial": s} for t, s in found.items()]

    def prefill(self, *, applicant: Any, wanted: Iterable[tuple[str, str]]) -> dict[tuple, Any]:
        """(certificate type, claim) → the claim's value on the applicant's valid certificate
        of that type. One query for all of them."""
        pairs = list(wanted)
        found = valid_certificates(applicant=applicant, type_codes=[t for t, _ in pairs])
        values: dict[tuple, Any] = {}
        for type_code, claim in pairs:
            cert = found.get(type_code)
            if cert is not None:
                value = cert.claims.get(claim)
                if value not in (None, ""):
                    values[(type_code, claim)] = value
        return values

    def type_names(self, codes: Iterable[str]) -> dict[str, str]:
        """Certificate type code → its name, for saying where a prefilled value came from."""
        return dict(
            CertificateType.objects.filter(code__in=list(codes)).values_list("code", "name")
        )


provider = CertificateEvidence()


def register() -> None:
    register_evidence_provider(provider)
