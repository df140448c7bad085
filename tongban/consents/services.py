"""Writes of 授权数据使用: registering institutions, granting and revoking consents, and the
institution's read, which asks the sources through the exchange and records every read."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from tongban.accounts.models import User
from tongban.accounts.validators import InvalidCreditCode, parse_credit_code
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.connect.models import ClientKind, ConnectedClient
from tongban.connect.selectors import may_manage_clients
from tongban.consents.errors import (
    ConsentExpired,
    ConsentInvalid,
    ConsentNotFound,
    ConsentRevoked,
    InstitutionInvalid,
    NotPlatformAdministrator,
)
from tongban.consents.models import (
    ConsentRead,
    DataConsent,
    Institution,
    InstitutionKind,
    ReadOutcome,
)
from tongban.consents.selectors import (
    ACTIVE,
    EXPIRED,
    MAX_VALIDITY_DAYS,
    PURPOSE_MAX_LENGTH,
    REVOKED,
    Holder,
    consent_of_holder,
    consent_state,
    consentable_elements,
    holder_display,
    today,
)
from tongban.exchange.errors import SourceUnavailable
from tongban.exchange.selectors import data_source
from tongban.exchange.services import Requester, source_query

INSTITUTION_SCOPE = "consented_data"
# The platform relays an institution's read to the department systems; the wire protocol
# names a requesting department, and for a consented read that is the city's 政务服务中心,
# which runs the platform. Who really reads is in the post, the actor label and the consent.
RELAY_DEPARTMENT = "SH-ZWFW"
# A legal basis that names the holder's consent, when the source lists one.
_CONSENT_BASIS = re.compile(r"授权|同意")
_PUBLIC_ID = re.compile(r"^c_[A-Za-z0-9_-]{16,40}$")


# ---------------------------------------------------------------- institutions


@dataclass(frozen=True)
class RegisteredInstitution:
    institution: Institution
    client_id: str
    # Shown once to whoever registered it; stored only hashed.
    client_secret: str


def _require_platform_admin(actor: User | str) -> None:
    if isinstance(actor, str):
        if not actor.startswith("system:"):
            raise ValueError(f"a system actor is named 'system:<process>', got {actor!r}")
        return
    if not may_manage_clients(actor):
        raise NotPlatformAdministrator()


def institution_register(
    *,
    actor: User | str,
    name: str,
    kind: str,
    uscc: str,
    is_synthetic: bool = False,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> RegisteredInstitution:
    """登记授权使用机构, with the OAuth client it reads with: confidential, client
    credentials only, scope `consented_data` and nothing else.

    connect's client_register makes websites, apps and department systems (each with a
    staff service account); an institution is none of these, and a new client kind would need
    a connect migration, so the DOT application and its ConnectedClient row (which the token
    endpoint requires) are made here. Its kind reads 部门系统 on the 接入管理 page, with no
    service account, so its token opens no staff or resident operation."""
    _require_platform_admin(actor)
    name = (name or "").strip()
    problems = []
    if not name or len(name) > 100:
        problems.append({"field": "name", "message": "请填写机构名称（不超过100字）"})
    if kind not in InstitutionKind.values:
        problems.append({"field": "kind", "message": "请选择机构类型"})
    try:
        uscc = parse_credit_code(uscc).code
    except InvalidCreditCode as exc:
        problems.append({"field": "uscc", "message": exc.message})
    else:
        if Institution.objects.filter(uscc=uscc).exists():
            problems.append({"field": "uscc", "message": "该机构已登记"})
    if problems:
        raise InstitutionInvalid(details=problems)
    Application = get_application_model()
    secret = client_secret or secrets.token_urlsafe(36)
    with transaction.atomic():
        application = Application(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            redirect_uris="",
            post_logout_redirect_uris="",
            algorithm=Application.NO_ALGORITHM,
            skip_authorization=False,
            hash_client_secret=True,
            client_secret=secret,
            **({"client_id": client_id} if client_id else {}),
        )
        application.save()
        ConnectedClient.objects.create(
            application=application,
            kind=ClientKind.DEPARTMENT_SYSTEM,
            allowed_scopes=INSTITUTION_SCOPE,
            legal_basis="",
            service_account=None,
            registered_by=None if isinstance(actor, str) else actor,
            is_synthetic=is_synthetic,
        )
        institution = Institution.objects.create(
            name=name,
            kind=kind,
            uscc=uscc,
            application=application,
            registered_by=None if isinstance(actor, str) else actor,
            is_synthetic=is_synthetic,
        )
        audit_record(
            **({"actor_label": actor} if isinstance(actor, str) else {"actor": actor}),
            action="consents.institution_register",
            object_type="consent_institution",
            object_id=institution.pk,
            data={"name": name, "kind": kind, "uscc": uscc, "client_id": application.client_id},
        )
    return RegisteredInstitution(
        institution=institution, client_id=application.client_id, client_secret=secret
    )


def institution_deactivate(*, actor: User | str, institution_id: int) -> Institution:
    """停用: the institution reads nothing more; its live tokens are revoked now."""
    _require_platform_admin(actor)
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(pk=institution_id).first()
        if institution is None:
            raise InvalidInput("未找到该机构", code="INSTITUTION_NOT_FOUND")
        if not institution.is_active:
            return institution
        institution.is_active = False
        institution.save(update_fields=["is_active"])
        # The token endpoint issues nothing more to it either.
        ConnectedClient.objects.filter(
            application=institution.application, disabled_at__isnull=True
        ).update(disabled_at=timezone.now())
        revoked, _ = (
            get_access_token_model().objects.filter(application=institution.application).delete()
        )
        audit_record(
            **({"actor_label": actor} if isinstance(actor, str) else {"actor": actor}),
            action="consents.institution_deactivate",
            object_type="consent_institution",
            object_id=institution.pk,
            data={"tokens_revoked": revoked},
        )
    return institution


# ---------------------------------------------------------------- the holder's consents


def consent_problems(
    *,
    holder: Holder,
    institution_id: Any,
    elements: list[str],
    purpose: str,
    valid_until: Any,
    on: dt.date | None = None,
) -> list[dict[str, str]]:
    """Every problem with a consent at once, as {field, message}, for the form and the API."""
    on = on or today()
    problems = []
    try:
        institution_pk = int(institution_id)
    except (TypeError, ValueError):
        institution_pk = 0
    if not Institution.objects.filter(pk=institution_pk, is_active=True).exists():
        problems.append({"field": "institution", "message": "请选择授权使用机构"})
    offered = {e.code for e in consentable_elements(holder_kind=holder.kind)}
    chosen = list(dict.fromkeys(elements or []))
    if not chosen:
        problems.append({"field": "elements", "message": "请至少勾选一项授权查询的数据"})
    elif any(code not in offered for code in chosen):
        problems.append({"field": "elements", "message": "所选数据项不可授权查询，请重新选择"})
    purpose = (purpose or "").strip()
    if len(purpose) < 2:
        problems.append({"field": "purpose", "message": "请写明使用目的，例如：申请信易贷贷款"})
    elif len(purpose) > PURPOSE_MAX_LENGTH:
        problems.append({"field": "purpose", "message": "使用目的不超过200字"})
    if isinstance(valid_until, str):
        try:
            valid_until = dt.date.fromisoformat(valid_until)
        except ValueError:
            valid_until = None
    if not isinstance(valid_until, dt.date):
        problems.append({"field": "valid_until", "message": "请按 年-月-日 填写授权截止日期"})
    elif valid_until < on:
        problems.append({"field": "valid_until", "message": "授权截止日期不能早于今天"})
    elif valid_until > on + dt.timedelta(days=MAX_VALIDITY_DAYS):
        problems.append({"field": "valid_until", "message": "授权期限最长一年"})
    return problems


def consent_grant(
    *,
    user: User,
    holder: Holder,
    institution_id: int,
    elements: list[str],
    purpose: str,
    valid_until: dt.date,
) -> DataConsent:
    """授权: HOLDER lets the institution read ELEMENTS for PURPOSE until VALID_UNTIL. USER is
    who gave it (the resident, or the enterprise's 法定代表人/管理员: consent_holder has
    checked that)."""
    problems = consent_problems(
        holder=holder,
        institution_id=institution_id,
        elements=elements,
        purpose=purpose,
        valid_until=valid_until,
    )
    if problems:
        raise ConsentInvalid(details=problems)
    if isinstance(valid_until, str):
        valid_until = dt.date.fromisoformat(valid_until)
    chosen = list(dict.fromkeys(elements))
    with transaction.atomic():
        consent = DataConsent.objects.create(
            public_id="c_" + secrets.token_urlsafe(18),
            **holder.filter,
            institution_id=int(institution_id),
            elements=chosen,
            purpose=purpose.strip(),
            valid_until=valid_until,
            created_by=user,
        )
        audit_record(
            actor=user,
            action="consents.grant",
            object_type="data_consent",
            object_id=consent.pk,
            **_subject(holder),
            data={
                "consent": consent.public_id,
                "institution": consent.institution_id,
                "elements": chosen,
                "purpose": consent.purpose,
                "valid_until": valid_until.isoformat(),
            },
        )
    return consent


def _subject(holder: Holder) -> dict[str, int | None]:
    if holder.profile is not None:
        return {"subject_resident_id": holder.profile.pk}
    return {"subject_enterprise_id": holder.enterprise.pk}


def consent_revoke(*, user: User, holder: Holder, consent_id: int) -> DataConsent:
    """撤销授权, at once: the institution's next read is refused. Revoking twice is a no-op."""
    consent_of_holder(holder=holder, consent_id=consent_id)  # not the holder's: not found
    with transaction.atomic():
        consent = DataConsent.objects.select_for_update().get(pk=consent_id)
        if consent.revoked_at is not None:
            return consent
        consent.revoked_at = timezone.now()
        consent.revoked_by = user
        consent.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=user,
            action="consents.revoke",
            object_type="data_consent",
            object_id=consent.pk,
            **_subject(holder),
            data={"consent": consent.public_id, "institution": consent.institution_id},
        )
    return consent


# ---------------------------------------------------------------- the institution's read


def _legal_basis(legal_bases: list[str]) -> str:
    # Only the holder's consent allows this read; a source that lists no such basis refuses
    # it (source_query: EXCHANGE_NOT_ALLOWED) rather than borrowing another basis.
    return next((b for b in legal_bases if _CONSENT_BASIS.search(b)), "")


def _refuse(*, institution: Institution, actor_label: str, public_id: str, consent, error):
    """A refused read is audited (who tried, what was refused) but is no read: nothing is
    asked of a source and no ConsentRead is written."""
    audit_record(
        actor_label=actor_label,
        action="consents.read_refused",
        object_type="data_consent",
        object_id=consent.pk if consent is not None else "",
        data={
            "consent": public_id[:64],
            "institution": institution.pk,
            "code": error.code,
        },
    )
    raise error


_REFUSALS = {REVOKED: ConsentRevoked, EXPIRED: ConsentExpired}


def consented_data_read(
    *, institution: Institution, public_id: str, actor_label: str
) -> dict[str, Any]:
    """The institution reads what the consent lets it: one source_query per source named by
    the consent's elements, keyed by the holder's ID number or credit code. Refused when the
    consent is not this institution's (CONSENT_NOT_FOUND), revoked or expired; a source that
    does not answer makes the whole read EXCHANGE_SOURCE_UNAVAILABLE (503)."""
    consent = None
    if _PUBLIC_ID.match(public_id or ""):
        consent = (
            DataConsent.objects.filter(public_id=public_id)
            .select_related("institution", "holder_profile", "holder_enterprise")
            .first()
        )
    refuse = {"institution": institution, "actor_label": actor_label, "public_id": public_id}
    if consent is None or consent.institution_id != institution.pk:
        _refuse(**refuse, consent=consent, error=ConsentNotFound())
    state = consent_state(consent)
    if state != ACTIVE:
        _refuse(**refuse, consent=consent, error=_REFUSALS[state]())

    profile, enterprise = consent.holder_profile, consent.holder_enterprise
    by_source: dict[str, list[str]] = {}
    for code in consent.elements:
        source, _, element = code.partition(".")
        by_source.setdefault(source, []).append(element)
    values: dict[str, Any] = {code: None for code in consent.elements}
    as_of: list[dt.datetime] = []
    lookup_ids: list[int] = []
    post = f"{institution.name}（{institution.get_kind_display()}，经授权查询）"
    for source, elements in by_source.items():
        definition = data_source(source)
        if definition is None:
            continue  # the source left the registry: its elements stay None
        requester = Requester(
            department=RELAY_DEPARTMENT,
            purpose=consent.purpose,
            legal_basis=_legal_basis(definition.legal_bases),
            consent=consent.public_id,
            actor_label=actor_label,
            post=post,
        )
        try:
            answer = source_query(
                source=source,
                key=profile.id_number if profile is not None else enterprise.uscc,
                elements=elements,
                requester=requester,
                subject_profile_id=profile.pk if profile is not None else None,
                subject_enterprise_id=enterprise.pk if enterprise is not None else None,
            )
        except SourceUnavailable as exc:
            if exc.lookup_id:
                lookup_ids.append(exc.lookup_id)
            _read_record(
                consent=consent,
                actor_label=actor_label,
                elements=[],
                outcome=ReadOutcome.UNAVAILABLE,
                lookup_ids=lookup_ids,
            )
            raise
        lookup_ids.append(answer.lookup_id)
        as_of.append(answer.as_of)
        for element in elements:
            values[f"{source}.{element}"] = answer.values.get(element)

    read = None
    with transaction.atomic():
        # Revoked while the sources answered: the revocation wins, nothing is handed over.
        current = DataConsent.objects.select_for_update().get(pk=consent.pk)
        state = consent_state(current)
        if state == ACTIVE:
            read = _read_record(
                consent=current,
                actor_label=actor_label,
                elements=list(consent.elements),
                outcome=ReadOutcome.ANSWERED,
                lookup_ids=lookup_ids,
            )
    if read is None:
        _refuse(**refuse, consent=consent, error=_REFUSALS[state]())
    return {
        "consent": consent.public_id,
        "purpose": consent.purpose,
        "valid_until": consent.valid_until,
        "holder": holder_display(consent),
        "values": values,
        "as_of": min(as_of) if as_of else None,
        "read_at": read.at,
    }


def _read_record(
    *,
    consent: DataConsent,
    actor_label: str,
    elements: list[str],
    outcome: str,
    lookup_ids: list[int],
) -> ConsentRead:
    with transaction.atomic():
        read = ConsentRead.objects.create(
            consent=consent, elements=elements, outcome=outcome, lookup_ids=lookup_ids
        )
        audit_record(
            actor_label=actor_label,
            action="consents.read",
            object_type="data_consent",
            object_id=consent.pk,
            data={
                "consent": consent.public_id,
                "read": read.pk,
                "elements": elements,
                "outcome": outcome,
                "lookups": lookup_ids,
            },
        )
    return read
