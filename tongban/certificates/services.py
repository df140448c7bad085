"""Every write of the e-certificate module: type definitions, issuing keys (电子印章),
issuance, revocation and presentations."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile, StaffRole, User
from tongban.accounts.selectors import staff_roles_in, staff_roles_of
from tongban.catalog.loader import DefinitionsLoadReport, versioned_definitions_apply
from tongban.catalog.models import Department
from tongban.certificates import cose
from tongban.certificates import verify as v
from tongban.certificates.errors import (
    CertificateRevoked,
    CertificateTypeUnknown,
    ClaimNotDisclosable,
    ClaimsInvalid,
    HolderInvalid,
    RevocationReasonRequired,
)
from tongban.certificates.keys import signing_key
from tongban.certificates.loader import read_certificate_types
from tongban.certificates.models import (
    STATUS_LIST_FILL,
    STATUS_LIST_SIZE,
    Certificate,
    CertificateType,
    CertificateTypeVersion,
    IssuingKey,
    StatusList,
    TrustListIssue,
)
from tongban.certificates.schemas import claims_problems
from tongban.certificates.selectors import (
    STATUS_MAX_AGE,
    STATUS_TOKEN_SECONDS,
    Published,
    certificate_for,
    certificate_type_definition,
    iso_time,
    root_key_active,
    status_cache_clear,
    status_token_stored,
    trust_list_cache_clear,
    trust_list_content,
    trust_list_content_sha256,
    trust_list_issue_latest,
)
from tongban.common.errors import InvalidInput, PermissionDenied
from tongban.common.services import actor_label_for, audit_record

PRESENTATION_TTL_RANGE = (30, 3600)
REVOKERS = {StaffRole.ISSUER, StaffRole.DEPARTMENT_LEAD}
KEY_ADMINS = {StaffRole.DEPARTMENT_LEAD, StaffRole.ADMINISTRATOR}


def default_types_directory() -> Path:
    return Path(settings.TONGBAN_CATALOG_DIR) / "certificate_types"


# ---------------------------------------------------------------- certificate types


TypesLoadReport = DefinitionsLoadReport


def certificate_types_load(
    *,
    directory: Path | str | None = None,
    actor_label: str = "system:certificate_types_load",
    dry_run: bool = False,
) -> TypesLoadReport:
    """Validate a folder of certificate types and bring the database in line, all or nothing.

    A changed definition gets a new version (certificates keep the version they were issued
    under); an unchanged one none; one that left the folder is deactivated, never deleted."""
    path = Path(directory) if directory is not None else default_types_directory()
    definitions = read_certificate_types(path)
    report = TypesLoadReport(path=str(path), dry_run=dry_run)
    departments = {d.code: d for d in Department.objects.filter(is_active=True)}
    with transaction.atomic():
        versioned_definitions_apply(
            definitions=definitions,
            version_model=CertificateTypeVersion,
            current_model=CertificateType,
            row_values=lambda d, _v: {"name": d.name, "department": departments[d.department]},
            report=report,
            actor_label=actor_label,
        )
        audit_record(
            actor_label=actor_label,
            action="certificates.types_load",
            object_type="certificate_types",
            object_id=path.name,
            data={"path": str(path), "dry_run": dry_run, "counts": report.as_dict()},
        )
        if dry_run:
            transaction.set_rollback(True)
    return report


# ---------------------------------------------------------------- keys (电子印章)


def _key_create(*, role: str, department: Department | None) -> IssuingKey:
    private = cose.ES256.generate()
    public = private.public_key()
    return IssuingKey.objects.create(
        role=role,
        department=department,
        kid=cose.kid_for(public).hex(),
        alg=cose.ES256.cose_id,
        public_key_pem=cose.public_key_pem(public),
        private_key_pem=cose.private_key_pem(private),
    )


def _active_key(
    *, role: str, department: Department | None, actor_label: str, publish: bool = True
) -> IssuingKey:
    """The active key, made on first use — and with it a new edition of the trust list, in
    the same transaction, so no certificate it signs is ever unknown to the list. Two
    processes making it at once: the unique constraint lets one win and the other reads the
    winner's."""
    filters = {"role": role, "state": IssuingKey.State.ACTIVE}
    if role == IssuingKey.Role.ISSUER:
        filters["department"] = department
    key = IssuingKey.objects.filter(**filters).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            key = _key_create(role=role, department=department)
            audit_record(
                actor_label=actor_label,
                action="certificates.key_create",
                object_type="issuing_key",
                object_id=key.kid,
                data={"role": role, "department": department.code if department else ""},
            )
            if publish:
                trust_list_publish(actor_label=actor_label)
    except IntegrityError:
        return IssuingKey.objects.get(**filters)
    trust_list_cache_clear()
    transaction.on_commit(trust_list_cache_clear)
    return key


def issuing_key_for(*, department: Department, actor_label: str = "system") -> IssuingKey:
    return _active_key(role=IssuingKey.Role.ISSUER, department=department, actor_label=actor_label)


def root_key_ensure(*, actor_label: str = "system") -> IssuingKey:
    return _active_key(role=IssuingKey.Role.ROOT, department=None, actor_label=actor_label)


def _may_manage_keys(actor: User | None, department: Department | None) -> bool:
    if actor is None:
        return True  # system jobs (key rotation schedule, management commands)
    if actor.is_superuser:
        return True
    if StaffRole.ADMINISTRATOR in staff_roles_of(actor):
        return True
    return department is not None and bool(KEY_ADMINS & staff_roles_in(actor, department))


def issuing_key_rotate(*, department: Department | None, actor: User | None) -> IssuingKey:
    """A new active key for DEPARTMENT (the root key when None); the old one is retired but
    stays in the trust list, so certificates it signed keep verifying."""
    if not _may_manage_keys(actor, department):
        raise PermissionDenied()
    role = IssuingKey.Role.ROOT if department is None else IssuingKey.Role.ISSUER
    label = actor_label_for(actor) if actor is not None else "system"
    with transaction.atomic():
        new = _rotate(role=role, department=department, actor=actor, label=label)
        trust_list_publish(actor_label=label)
        trust_list_cache_clear()  # this process, at once; on_commit again after commit
        transaction.on_commit(trust_list_cache_clear)
    return new


def _rotate(
    *, role: str, department: Department | None, actor: User | None, label: str
) -> IssuingKey:
    with transaction.atomic():
        old = (
            IssuingKey.objects.select_for_update()
            .filter(role=role, department=department, state=IssuingKey.State.ACTIVE)
            .first()
        )
        if old is not None:
            old.state = IssuingKey.State.RETIRED
            old.retired_at = timezone.now()
            old.save(update_fields=["state", "retired_at"])
        new = _key_create(role=role, department=department)
        audit_record(
            actor=actor,
            actor_label=label,
            action="certificates.key_rotate",
            object_type="issuing_key",
            object_id=new.kid,
            data={
                "role": role,
                "department": department.code if department else "",
                "retired": old.kid if old else "",
            },
        )
    return new


def issuing_key_mark_compromised(
    *, key: IssuingKey, cut_off: dt.datetime, actor: User | None, reason: str = ""
) -> IssuingKey:
    """泄露: KEY's private half may be in other hands since CUT_OFF. From the next trust list
    edition on (signed here, in the same transaction) every verifier refuses what KEY signed
    at or after CUT_OFF, and offline verifiers refuse all of it (docs/formats.md §4.2); this
    platform still accepts a certificate signed before CUT_OFF that its register holds. The
    department (or the root) gets a new active key at once. For those who may rotate keys."""
    if not _may_manage_keys(actor, key.department):
        raise PermissionDenied()
    now = timezone.now()
    if cut_off > now:
        raise InvalidInput("泄露时点不能晚于现在", code="CERTIFICATE_KEY_CUT_OFF_IN_FUTURE")
    if key.role == IssuingKey.Role.ROOT and key.state == IssuingKey.State.ACTIVE:
        # The root signs the trust list itself: replacing it is the city's out-of-band step
        # (a new pinned root), not something the old root can announce.
        raise InvalidInput(
            "根密钥泄露须更换根密钥并重新分发", code="CERTIFICATE_ROOT_KEY_COMPROMISE"
        )
    label = actor_label_for(actor) if actor is not None else "system"
    with transaction.atomic():
        row = IssuingKey.objects.select_for_update().get(pk=key.pk)
        if row.state == IssuingKey.State.COMPROMISED:
            raise InvalidInput("该印章已标记为泄露", code="CERTIFICATE_KEY_ALREADY_COMPROMISED")
        replacement = None
        if row.state == IssuingKey.State.ACTIVE:
            replacement = _rotate(
                role=row.role, department=row.department, actor=actor, label=label
            )
        row.refresh_from_db()
        row.state = IssuingKey.State.COMPROMISED
        row.compromised_at = cut_off
        row.retired_at = row.retired_at or now
        row.save(update_fields=["state", "compromised_at", "retired_at"])
        audit_record(
            actor=actor,
            actor_label=label,
            action="certificates.key_compromised",
            object_type="issuing_key",
            object_id=row.kid,
            purpose=reason[:200],
            data={
                "department": row.department.code if row.department_id else "",
                "cut_off": iso_time(row.compromised_at),
                "replacement": replacement.kid if replacement else "",
            },
        )
        trust_list_publish(actor_label=label)
        trust_list_cache_clear()
        transaction.on_commit(trust_list_cache_clear)
    return row


# ---------------------------------------------------------------- the trust list


def _trust_list_lifetime() -> dt.timedelta:
    return dt.timedelta(days=max(1, int(settings.TONGBAN_TRUST_LIST_DAYS)))


def trust_list_publish(
    *, now: dt.datetime | None = None, actor_label: str = "system"
) -> TrustListIssue:
    """The newest edition of the trust list, signing a new one (sequence + 1) when the keys,
    key states, status lists or root changed since, or when half its life has passed — so a
    list fetched at any time has at least half its life ahead. Called by every key change
    (same transaction), by serving the list, by the platform's own verifier when it loads
    the list, and by the maintenance tick."""
    now = now or timezone.now()
    root = _active_key(
        role=IssuingKey.Role.ROOT, department=None, actor_label=actor_label, publish=False
    )
    content = trust_list_content()
    digest = trust_list_content_sha256(content, root.kid)
    for _ in range(3):  # another process may take the next sequence first: read and retry
        latest = trust_list_issue_latest()
        if (
            latest is not None
            and latest.content_sha256 == digest
            and latest.root_kid == root.kid
            and now < latest.issued_at + (latest.expires_at - latest.issued_at) / 2
        ):
            return latest
        sequence = (latest.sequence if latest else 0) + 1
        issued = now.replace(microsecond=0)
        expires = issued + _trust_list_lifetime()
        edition = {
            **content,
            "sequence": sequence,
            "issued_at": iso_time(issued),
            "expires_at": iso_time(expires),
        }
        canonical = v.canonical_json(edition)
        signature = v.jws_detached_sign(
            canonical, private_key=signing_key(root), kid=bytes.fromhex(root.kid)
        )
        body = v.canonical_json({"signature": signature, "trust_list": edition})
        try:
            with transaction.atomic():
                row = TrustListIssue.objects.create(
                    sequence=sequence,
                    content_sha256=digest,
                    root_kid=root.kid,
                    issued_at=issued,
                    expires_at=expires,
                    body=body,
                )
                audit_record(
                    actor_label=actor_label,
                    action="certificates.trust_list_publish",
                    object_type="trust_list",
                    object_id=str(sequence),
                    data={"sequence": sequence, "expires_at": iso_time(expires)},
                )
        except IntegrityError:
            continue
        return row
    raise RuntimeError("trust list sequence contended three times")


# ---------------------------------------------------------------- status lists


def _status_entry() -> tuple[StatusList, int]:
    """A random free index in an open status list. Random, so the index says nothing about
    the order of issuance; recorded in `allocated`, so it is never handed out twice."""
    limit = int(STATUS_LIST_SIZE * STATUS_LIST_FILL)
    status_list = (
        StatusList.objects.select_for_update()
        .filter(purpose="revocation", allocated_count__lt=limit)
        .order_by("id")
        .first()
    )
    if status_list is None:
        empty = bytes(STATUS_LIST_SIZE // 8)
        status_list = StatusList.objects.create(size=STATUS_LIST_SIZE, bits=empty, allocated=empty)
        # The trust list names every status list: a verifier must be able to find the new one
        # before the first certificate pointing at it reaches them.
        trust_list_publish()
        trust_list_cache_clear()
        transaction.on_commit(trust_list_cache_clear)
    allocated = bytearray(status_list.allocated)
    taken = v.StatusBits(allocated)
    while True:
        index = secrets.randbelow(status_list.size)
        if not taken.is_set(index):
            break
    v.set_bit(allocated, index)
    status_list.allocated = bytes(allocated)
    status_list.allocated_count += 1
    status_list.save(update_fields=["allocated", "allocated_count", "updated_at"])
    return status_list, index


# ---------------------------------------------------------------- issuance


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def certificate_issue(
    *,
    type_code: str,
    holder_profile: ResidentProfile | None = None,
    holder_enterprise: Enterprise | None = None,
    claims: dict[str, Any],
    actor_label: str,
    source_case: Any = None,
    valid_from: dt.datetime | None = None,
) -> Certificate:
    """Sign and store one certificate of TYPE_CODE. The token's `iat` is always the moment of
    signing (a key vouches for nothing before it existed, docs/formats.md §4). VALID_FROM is
    for a certificate that existed on paper before the platform (存量证照): its validity
    (`exp`) counts from that day, which the claims state in the type's own date claim."""
    ctype = (
        CertificateType.objects.select_related("current", "department")
        .filter(code=type_code, is_active=True)
        .first()
    )
    if ctype is None:
        raise CertificateTypeUnknown()
    definition = certificate_type_definition(ctype.current)
    if definition.holder == "person":
        if holder_profile is None or holder_enterprise is not None:
            raise HolderInvalid("该证照的持证人应为个人")
    elif holder_enterprise is None or holder_profile is not None:
        raise HolderInvalid("该证照的持证主体应为企业")
    problems = claims_problems(definition, claims)
    if problems:
        raise ClaimsInvalid(details=problems)
    clean = {k: val for k, val in claims.items() if val is not None and val != ""}
    now = timezone.now()
    if valid_from is not None and valid_from > now:
        raise InvalidInput("有效期起始不能晚于签发时间", code="CERTIFICATE_VALID_FROM_IN_FUTURE")
    issued = _epoch(now)
    starts = _epoch(valid_from) if valid_from is not None else issued
    expires = starts + definition.validity_days * 86400 if definition.validity_days else None
    with transaction.atomic():
        key = issuing_key_for(department=ctype.department, actor_label=actor_label)
        status_list, index = _status_entry()
        cti = secrets.token_bytes(16)
        token = v.CertificateToken(
            issuer=ctype.department.code,
            issued_at=issued,
            expires_at=expires,
            cti=cti,
            type_code=ctype.code,
            type_version=ctype.current.version,
            claims=clean,
            status_list=status_list.pk,
            status_index=index,
        )
        signed = cose.sign1(
            v.token_payload(token), private_key=signing_key(key), kid=bytes.fromhex(key.kid)
        )
        certificate = Certificate.objects.create(
            type=ctype,
            type_version=ctype.current,
            holder_profile=holder_profile,
            holder_enterprise=holder_enterprise,
            holder_user=holder_profile.user if holder_profile is not None else None,
            claims_json=json.dumps(clean, ensure_ascii=False, sort_keys=True),
            issuer_key=key,
            serial=cti.hex(),
            issued_at=_at(issued),
            valid_from=_at(starts),
            expires_at=_at(expires) if expires else None,
            status_list=status_list,
            status_index=index,
            source_receipt_no=getattr(source_case, "receipt_no", "") or "",
            text=cose.encode_text(signed),
        )
        audit_record(
            actor_label=actor_label,
            action="certificates.issue",
            object_type="certificate",
            object_id=certificate.serial,
            subject_resident_id=holder_profile.pk if holder_profile else None,
            data={
                "type": ctype.code,
                "version": ctype.current.version,
                "kid": key.kid,
                "enterprise_id": holder_enterprise.pk if holder_enterprise else None,
                "source": certificate.source_receipt_no,
            },
        )
        if definition.replaces_earlier:
            earlier = Certificate.objects.filter(
                type=ctype,
                holder_profile=holder_profile,
                holder_enterprise=holder_enterprise,
                revoked_at__isnull=True,
                # A card in force from an earlier day (a paper one brought in) ends no newer one.
                valid_from__lte=certificate.valid_from,
            ).exclude(pk=certificate.pk)
            for pk in earlier.values_list("pk", flat=True):
                _revoke(
                    pk,
                    reason=f"已换发新证（证照编号 {certificate.serial}）",
                    actor_label=actor_label,
                )
    return certificate


def _may_revoke(actor: User | None, certificate: Certificate) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    return bool(REVOKERS & staff_roles_in(actor, certificate.type.department))


def certificate_revoke(*, certificate: Certificate, actor: User, reason: str) -> Certificate:
    """撤销: set the certificate's bit in its status list. Staff of the issuing department
    (出件 or 部门负责人) only, always with a reason, always audited."""
    reason = (reason or "").strip()
    if not reason:
        raise RevocationReasonRequired()
    if len(reason) > 200:
        raise InvalidInput("撤销原因最多 200 个字", code="CERTIFICATE_REVOCATION_REASON_TOO_LONG")
    if not _may_revoke(actor, certificate):
        raise PermissionDenied()
    _revoke(certificate.pk, reason=reason, actor=actor)
    certificate.refresh_from_db()
    return certificate


def _revoke(pk: int, *, reason: str, actor: User | None = None, actor_label: str = "") -> None:
    """Set certificate PK's status bit, record why and who (a person, or the system when a
    renewal replaces it), audited; in the caller's transaction when there is one."""
    with transaction.atomic():
        row = Certificate.objects.select_for_update().get(pk=pk)
        if row.revoked_at is not None:
            raise CertificateRevoked("该证照已于此前撤销")
        status_list = StatusList.objects.select_for_update().get(pk=row.status_list_id)
        bits = bytearray(status_list.bits)
        v.set_bit(bits, row.status_index)
        status_list.bits = bytes(bits)
        status_list.version += 1
        status_list.save(update_fields=["bits", "version", "updated_at"])
        row.revoked_at = timezone.now()
        row.revocation_reason = reason
        row.save(update_fields=["revoked_at", "revocation_reason"])
        audit_record(
            actor=actor,
            actor_label=actor_label or None,
            action="certificates.revoke",
            object_type="certificate",
            object_id=row.serial,
            subject_resident_id=row.holder_profile_id,
            purpose=reason,
            data={
                "type": row.type.code,
                "reason": reason,
                "status": [status_list.pk, row.status_index],
            },
        )
        # This process sees the revocation at once (its own transaction reads its own write);
        # after the commit, once more, in case a verification in between cached the old bits.
        status_cache_clear()
        transaction.on_commit(status_cache_clear)


def status_list_token(*, list_id: int) -> Published | None:
    """The status list as published: a COSE_Sign1 (signed by the root key) holding the
    deflated bits. Signed once per version of the bits, root key and half-life, and stored with
    the list, so every process serves the same bytes and the same ETag; the row lock makes two
    processes that find it stale at once sign it once. None without the list or a root key."""
    if not 0 < list_id < 2**31:
        return None
    root = root_key_active()
    if root is None:
        return None
    now = int(time.time())
    found = status_token_stored(list_id, root_kid=root.kid, now=now)
    if found is not None:
        return found
    with transaction.atomic():
        row = StatusList.objects.select_for_update().filter(pk=list_id).first()
        if row is None:
            return None
        found = status_token_stored(list_id, root_kid=root.kid, now=now)
        if found is not None:  # signed by another process while this one waited for the lock
            return found
        payload = v.status_list_payload(
            list_id=list_id,
            bits=bytes(row.bits),
            issued_at=now,
            expires_at=now + STATUS_TOKEN_SECONDS,
        )
        body = cose.sign1(payload, private_key=signing_key(root), kid=bytes.fromhex(root.kid))
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        # update(), not save(): updated_at and the bits stay as they were.
        StatusList.objects.filter(pk=list_id).update(
            token=body,
            token_etag=etag,
            token_version=row.version,
            token_kid=root.kid,
            token_issued_at=now,
        )
    return Published(body, etag, "application/cwt", STATUS_MAX_AGE)


# ---------------------------------------------------------------- presentations


@dataclass(frozen=True)
class Presentation:
    text: str
    expires_at: dt.datetime
    claims: dict[str, Any]


def presentation_create(
    *,
    certificate: Certificate,
    holder_user: User,
    claims: list[str],
    ttl_seconds: int = 300,
) -> Presentation:
    """选择性出示: a short-lived token carrying only CLAIMS (each disclosable by the type),
    signed by the issuing department's current key and naming the certificate's cti, so
    revoking the certificate revokes every presentation of it."""
    own = certificate_for(user=holder_user, pk=certificate.pk)
    if own.revoked_at is not None:
        raise CertificateRevoked()
    definition = certificate_type_definition(own.type_version)
    names = list(dict.fromkeys(claims))
    if not names:
        raise InvalidInput("请至少选择一项出示内容", code="CERTIFICATE_PRESENTATION_EMPTY")
    refused = [n for n in names if n not in definition.disclosable]
    if refused:
        raise ClaimNotDisclosable(
            details=[{"field": n, "message": "该项不允许单独出示"} for n in refused]
        )
    low, high = PRESENTATION_TTL_RANGE
    if not low <= ttl_seconds <= high:
        raise InvalidInput(
            f"出示有效期应在 {low} 至 {high} 秒之间", code="CERTIFICATE_PRESENTATION_TTL"
        )
    stored = own.claims
    shown = {n: stored[n] for n in names if n in stored}
    now = _epoch(timezone.now())
    expires = now + ttl_seconds
    if own.expires_at is not None:
        expires = min(expires, _epoch(own.expires_at))
    key = issuing_key_for(department=own.type.department)
    token = v.CertificateToken(
        issuer=own.type.department.code,
        issued_at=now,
        expires_at=expires,
        cti=secrets.token_bytes(16),
        type_code=own.type.code,
        type_version=own.type_version.version,
        claims=shown,
        status_list=own.status_list_id,
        status_index=own.status_index,
        presented_cti=bytes.fromhex(own.serial),
    )
    signed = cose.sign1(
        v.token_payload(token), private_key=signing_key(key), kid=bytes.fromhex(key.kid)
    )
    with transaction.atomic():
        audit_record(
            actor=holder_user,
            action="certificates.present",
            object_type="certificate",
            object_id=own.serial,
            subject_resident_id=own.holder_profile_id,
            data={"claims": names, "ttl_seconds": ttl_seconds},
        )
    return Presentation(text=cose.encode_text(signed), expires_at=_at(expires), claims=shown)
