"""Reads of 授权数据使用 for the holder's pages, the API and the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile, User
from tongban.accounts.selectors import (
    MANAGER_ROLES,
    enterprise_membership_live,
    resident_profile_of,
)
from tongban.accounts.validators import mask_id_number, mask_name
from tongban.consents.errors import ConsentNotFound, NotConsentHolder, ProfileRequired
from tongban.consents.models import ConsentRead, DataConsent, Institution, ReadOutcome
from tongban.exchange.selectors import data_sources

RESIDENT = "resident"
ENTERPRISE = "enterprise"
# A source answers about whom its key names: a person by ID number, an enterprise by its
# credit code. A holder may consent only to sources keyed by what identifies them.
HOLDER_KEYS = {RESIDENT: "id_number", ENTERPRISE: "uscc"}
MAX_VALIDITY_DAYS = 365
PURPOSE_MAX_LENGTH = 200

ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"
STATE_LABELS = {ACTIVE: "生效中", REVOKED: "已撤销", EXPIRED: "已过期"}


def today() -> dt.date:
    """Dates of consents are the holder's calendar days (Asia/Shanghai)."""
    return timezone.localdate()


@dataclass(frozen=True)
class Holder:
    """授权人: the resident themself, or an enterprise as its 法定代表人/管理员 acts for it."""

    kind: str
    profile: ResidentProfile | None = None
    enterprise: Enterprise | None = None

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else self.enterprise.name

    @property
    def filter(self) -> dict[str, Any]:
        if self.profile is not None:
            return {"holder_profile": self.profile}
        return {"holder_enterprise": self.enterprise}


def consent_holder(*, user: User | None, enterprise_id: int | None = None) -> Holder:
    """Whose consents USER manages here: their own (no ENTERPRISE_ID), or the enterprise's
    when they are its 法定代表人 or 管理员. Without a live membership the enterprise is
    ENTERPRISE_NOT_FOUND (ids cannot be probed); an 经办人 is refused (NOT_CONSENT_HOLDER)."""
    if enterprise_id is None:
        profile = resident_profile_of(user) if user is not None else None
        if profile is None:
            raise ProfileRequired()
        return Holder(kind=RESIDENT, profile=profile)
    membership = enterprise_membership_live(user=user, enterprise_id=enterprise_id)
    if membership.role not in MANAGER_ROLES:
        raise NotConsentHolder()
    return Holder(kind=ENTERPRISE, enterprise=membership.enterprise)


@dataclass(frozen=True)
class ConsentableElement:
    code: str  # "source.element", as a consent stores it
    source: str
    element: str
    label: str  # the element's plain Chinese label
    source_name: str


def consentable_elements(*, holder_kind: str) -> list[ConsentableElement]:
    """What a holder of this kind may let an institution read: the `consentable` elements of
    the active sources keyed by what identifies them, source by source."""
    key = HOLDER_KEYS[holder_kind]
    found = []
    for source in data_sources():
        if source.key != key:
            continue
        for code in source.consentable:
            element = source.element(code)
            found.append(
                ConsentableElement(
                    code=f"{source.code}.{code}",
                    source=source.code,
                    element=code,
                    label=element.label if element else code,
                    source_name=source.name,
                )
            )
    return found


def element_labels(codes: list[str]) -> list[dict[str, str]]:
    """[{code, label, source_name}] for stored codes, in their order; an element a source
    no longer offers keeps its code and says so."""
    known = {}
    for source in data_sources():
        for element in source.elements:
            known[f"{source.code}.{element.code}"] = (element.label, source.name)
    rows = []
    for code in codes:
        label, source_name = known.get(code, ("已停用的数据项", ""))
        rows.append({"code": code, "label": label, "source_name": source_name})
    return rows


def active_institutions() -> list[Institution]:
    return list(
        Institution.objects.filter(is_active=True, application__connected__disabled_at__isnull=True)
        .select_related("application")
        .order_by("name", "pk")
    )


def consent_state(consent: DataConsent, *, on: dt.date | None = None) -> str:
    if consent.revoked_at is not None:
        return REVOKED
    if consent.valid_until < (on or today()):
        return EXPIRED
    return ACTIVE


def holder_display(consent: DataConsent) -> dict[str, str]:
    """The holder as an institution is shown them: masked, enough to match its own file."""
    if consent.holder_profile_id is not None:
        profile = consent.holder_profile
        return {
            "kind": RESIDENT,
            "name": mask_name(profile.name),
            "id": mask_id_number(profile.id_number),
        }
    enterprise = consent.holder_enterprise
    return {"kind": ENTERPRISE, "name": enterprise.name, "id": mask_id_number(enterprise.uscc)}


def _read_row(read: ConsentRead) -> dict[str, Any]:
    return {
        "at": read.at,
        "elements": element_labels(list(read.elements)),
        "outcome": read.outcome,
        "outcome_label": read.get_outcome_display(),
        "answered": read.outcome == ReadOutcome.ANSWERED,
    }


def consent_row(consent: DataConsent, *, reads: int = 20) -> dict[str, Any]:
    state = consent_state(consent)
    institution = consent.institution
    return {
        "id": consent.pk,
        "public_id": consent.public_id,
        "institution": institution.name,
        "institution_kind": institution.get_kind_display(),
        "elements": element_labels(list(consent.elements)),
        "purpose": consent.purpose,
        "valid_until": consent.valid_until,
        "created_at": consent.created_at,
        "revoked_at": consent.revoked_at,
        "state": state,
        "state_label": STATE_LABELS[state],
        "active": state == ACTIVE,
        "read_count": consent.reads.count(),
        "reads": [_read_row(r) for r in consent.reads.all()[:reads]],
    }


def consents_of(*, holder: Holder) -> dict[str, list[dict[str, Any]]]:
    """The holder's consents, newest first, grouped: 生效中 / 已撤销 / 已过期."""
    rows = (
        DataConsent.objects.filter(**holder.filter)
        .select_related("institution")
        .order_by("-created_at", "-pk")
    )
    grouped: dict[str, list[dict[str, Any]]] = {ACTIVE: [], REVOKED: [], EXPIRED: []}
    for consent in rows:
        row = consent_row(consent)
        grouped[row["state"]].append(row)
    return grouped


def consent_of_holder(*, holder: Holder, consent_id: int) -> DataConsent:
    """One of the holder's consents; anyone else's is CONSENT_NOT_FOUND."""
    consent = (
        DataConsent.objects.filter(pk=consent_id, **holder.filter)
        .select_related("institution")
        .first()
    )
    if consent is None:
        raise ConsentNotFound()
    return consent
