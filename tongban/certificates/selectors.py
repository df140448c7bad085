"""Every read of the e-certificate module: the wallet's lists, the JSON view, the trust list and
status lists as published, and verification against this instance's own keys."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import threading
import time
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import User
from tongban.accounts.selectors import NEED_CERTIFICATES, enterprise_ids_with_authority
from tongban.certificates import cose
from tongban.certificates import verify as v
from tongban.certificates.errors import CertificateNotFound
from tongban.certificates.models import (
    Certificate,
    CertificateType,
    CertificateTypeVersion,
    IssuingKey,
    StatusList,
    TrustListIssue,
)
from tongban.certificates.schemas import CertificateTypeDef
from tongban.idcode.models import IdCodeKey

TRUST_LIST_PATH = "/.well-known/tongban/trust-list"
ROOT_KEY_PATH = "/.well-known/tongban/root-key"
STATUS_LIST_PATH = "/.well-known/tongban/status/{id}"
# A published status list token stays valid for a day; HTTP caches keep it a minute, so a
# revocation reaches verifiers that refetch within a minute.
STATUS_TOKEN_SECONDS = 86400
STATUS_MAX_AGE = 60
TRUST_LIST_MAX_AGE = 300


# Keyed by content too: a rolled-back test database hands the same id out again.
_definitions: dict[tuple[int, str], CertificateTypeDef] = {}


def certificate_type_definition(version: CertificateTypeVersion) -> CertificateTypeDef:
    """The validated definition a version stores; versions are immutable, so parsed once."""
    found = _definitions.get((version.pk, version.content_sha256))
    if found is None:
        found = CertificateTypeDef.model_validate(version.content)
        _definitions[(version.pk, version.content_sha256)] = found
    return found


def certificate_type_labels(code: str) -> tuple[str, dict[str, str]]:
    """A type's name and its claims' labels, for showing a verified token to people."""
    ctype = CertificateType.objects.select_related("current").filter(code=code).first()
    if ctype is None:
        return "", {}
    definition = certificate_type_definition(ctype.current)
    return definition.name, {c.name: c.label for c in definition.claims}


# ---------------------------------------------------------------- the wallet


def certificates_for(*, user: User | None) -> QuerySet[Certificate]:
    """The person's own certificates and those of the enterprises they act for."""
    if user is None or not user.is_authenticated:
        return Certificate.objects.none()
    own = Q(holder_user=user) | Q(holder_profile__user=user)
    # An enterprise's certificates only while the authority is live and covers them.
    enterprises = Q(
        holder_enterprise_id__in=enterprise_ids_with_authority(user=user, need=NEED_CERTIFICATES)
    )
    return (
        Certificate.objects.filter(own | enterprises)
        .select_related("type", "type__department", "type_version", "issuer_key")
        .distinct()
        .order_by("-issued_at", "-id")
    )


def certificate_for(*, user: User | None, pk: int) -> Certificate:
    if not 0 < pk < 2**31:  # beyond any id, and beyond what SQLite can bind
        raise CertificateNotFound()
    found = certificates_for(user=user).filter(pk=pk).first()
    if found is None:
        raise CertificateNotFound()
    return found


def certificate_by_serial(serial: str) -> Certificate:
    """For staff actions that name a certificate by its serial; who may act is the service's
    rule."""
    found = (
        Certificate.objects.select_related("type", "type__department", "type_version")
        .filter(serial=str(serial)[:64].lower())
        .first()
    )
    if found is None:
        raise CertificateNotFound()
    return found


def iso_time(moment: dt.datetime | None) -> str | None:
    return _iso(moment)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def certificate_state(cert: Certificate, *, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if cert.revoked_at is not None:
        return v.REVOKED
    if cert.expires_at is not None and now >= cert.expires_at:
        return v.EXPIRED
    return v.VALID


def certificate_json(cert: Certificate) -> dict[str, Any]:
    """The JSON view of one certificate (for its holder): claims with their labels, in the
    type's order, and the signed text that QR codes and verifiers use."""
    definition = certificate_type_definition(cert.type_version)
    stored = cert.claims
    holder: dict[str, Any]
    if cert.holder_enterprise_id:
        holder = {"kind": "enterprise", "name": cert.holder_enterprise.name}
    else:
        holder = {"kind": "person", "name": cert.holder_profile.name if cert.holder_profile else ""}
    return {
        "id": cert.pk,
        "serial": cert.serial,
        "type": {
            "code": cert.type.code,
            "name": definition.name,
            "version": cert.type_version.version,
        },
        "issuer": {"code": cert.type.department.code, "name": cert.type.department.name},
        "holder": holder,
        "claims": [
            {"name": c.name, "label": c.label, "type": c.type, "value": stored[c.name]}
            for c in definition.claims
            if c.name in stored
        ],
        "display": definition.display,
        "disclosable": definition.disclosable,
        "issued_at": _iso(cert.issued_at),
        "expires_at": _iso(cert.expires_at),
        "state": certificate_state(cert),
        "revoked_at": _iso(cert.revoked_at),
        "kid": cert.issuer_key.kid,
        "text": cert.text,
    }


def certificate_qr_svg(text: str, *, scale: int = 4, title: str = "电子证照二维码") -> str:
    """An SVG QR code of TEXT with error correction level Q (25% of the symbol may be lost)."""
    qr = segno.make_qr(text, error="q", boost_error=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, title=title, border=4)
    # A viewBox beside width/height lets a phone shrink the code to its screen as a whole,
    # quiet zone included; without it the browser crops the symbol instead.
    width, height = qr.symbol_size(scale=scale, border=4)
    return (
        out.getvalue().decode("utf-8").replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)
    )


def certificate_qr_version(text: str) -> int:
    return segno.make_qr(text, error="q", boost_error=False).version


# ---------------------------------------------------------------- trust list (in process)


class _TrustCache:
    """The newest published trust list, checked as any verifier checks it, kept per process.
    Key changes in this process clear it; a kid it does not know makes it reload (at most
    once a second), so a key made by another process is trusted without a restart; past half
    its life it is reloaded (a new edition signed if need be). A reload never replaces the
    list held by an older edition (a lagging replica, a restored backup): the verifier does
    not go back in sequence. Only clear() — after this process's own key change, and between
    tests — forgets the sequence seen."""

    def __init__(self):
        self.lock = threading.Lock()
        self.trust: v.TrustList | None = None
        self.loaded_at = 0.0

    def get(self) -> v.TrustList:
        trust = self.trust
        if trust is None or _past_half_life(trust):
            trust = self.reload()
        return trust

    def reload(self) -> v.TrustList:
        held = self.trust
        try:
            trust = _trust_list_from_db(seen_sequence=held.sequence if held else 0)
        except v.StaleTrustList:
            assert held is not None
            trust = held
        with self.lock:
            self.trust, self.loaded_at = trust, time.monotonic()
        return trust

    def reload_if_stale(self) -> v.TrustList | None:
        interval = getattr(settings, "TONGBAN_CATALOG_REFRESH_SECONDS", 1.0)
        if time.monotonic() - self.loaded_at < max(interval, 0.0):
            return None
        return self.reload()

    def clear(self) -> None:
        with self.lock:
            self.trust = None


_trust_cache = _TrustCache()


def trust_list_cache_clear() -> None:
    _trust_cache.clear()
    _published.clear()


def status_cache_clear() -> None:
    _status_bits.clear()


def _past_half_life(trust: v.TrustList) -> bool:
    if trust.issued_at is None or trust.expires_at is None:
        return False
    return time.time() >= (trust.issued_at + trust.expires_at) / 2


def _trust_list_from_db(*, seen_sequence: int = 0) -> v.TrustList:
    """The newest edition, read back through its signature like any verifier reads it. The
    platform signs a new edition first when keys changed or the newest is past half its life
    (a write, hence the late import: services import this module)."""
    from tongban.certificates.services import trust_list_publish

    row = trust_list_publish()
    root = IssuingKey.objects.get(kid=row.root_kid)
    return v.trust_list_from_document(
        bytes(row.body), cose.load_public_pem(root.public_key_pem), seen_sequence=seen_sequence
    )


def trust_list_current() -> v.TrustList:
    return _trust_cache.get()


class _StatusBitsCache:
    """Each status list's bits as this process last read them, with the list's version then.
    Verification looks bits up here, not in the database. At most every
    TONGBAN_STATUS_REFRESH_SECONDS one query reads the versions of the lists held and drops
    those that changed, so a revocation made by another process is seen within that time; the
    process that revokes clears it at once (services._revoke)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lists: dict[int, tuple[int, v.StatusBits, int]] = {}  # id → (version, bits, size)
        self.checked_at = 0.0

    def get(self, list_id: int) -> tuple[int, v.StatusBits, int] | None:
        now = time.monotonic()
        if now - self.checked_at >= settings.TONGBAN_STATUS_REFRESH_SECONDS:
            self._drop_changed(now)
        held = self.lists.get(list_id)
        if held is None:
            row = StatusList.objects.filter(pk=list_id).values_list("version", "bits", "size")
            found = row.first()
            if found is None:
                return None
            held = (found[0], v.StatusBits(bytes(found[1])), found[2])
            with self.lock:
                self.lists[list_id] = held
        return held

    def _drop_changed(self, now: float) -> None:
        held = dict(self.lists)
        if held:
            current = dict(StatusList.objects.filter(pk__in=held).values_list("pk", "version"))
            with self.lock:
                for pk, (version, _bits, _size) in held.items():
                    if current.get(pk) != version:
                        self.lists.pop(pk, None)
        self.checked_at = now

    def clear(self) -> None:
        with self.lock:
            self.lists.clear()
            self.checked_at = 0.0


_status_bits = _StatusBitsCache()


def status_lookup_db(list_id: int, index: int) -> bool | None:
    """This instance's own revocation bits: the process's copy of the list, at most
    TONGBAN_STATUS_REFRESH_SECONDS behind a revocation made by another process."""
    if not 0 <= index < 2**31 or not 0 < list_id < 2**31:
        return None
    held = _status_bits.get(list_id)
    if held is None or index >= held[2]:
        return None
    return held[1].is_set(index)


def issued_by_db(kid: bytes, cti: bytes) -> bool:
    """This instance's register: did key KID sign the certificate with serial CTI?"""
    return Certificate.objects.filter(serial=cti.hex(), issuer_key__kid=kid.hex()).exists()


def certificate_verify(text: Any, *, at: dt.datetime | None = None) -> v.VerificationResult:
    """Verify TEXT against this instance's published trust list, status lists and register
    (the API and the public verification page)."""
    moment = at or timezone.now()
    result = v.verify_text(text, trust_list_current(), moment, status_lookup_db, issued_by_db)
    if result.code == v.UNKNOWN_ISSUER and result.kid and result.kid not in _trust_cache.get().keys:
        fresh = _trust_cache.reload_if_stale()
        if fresh is not None:
            result = v.verify_text(text, fresh, moment, status_lookup_db, issued_by_db)
    return result


# ---------------------------------------------------------------- published documents


@dataclass(frozen=True)
class Published:
    body: bytes
    etag: str
    content_type: str
    max_age: int


_published: dict[str, Published] = {}


# What the trust list says each key may be used for (docs/formats.md §4).
ROLE_ISSUER, ROLE_ROOT, ROLE_IDCODE = "issuer", "root", "idcode"
IDCODE_ISSUER = "tongban-idcode"


def _key_entry(key: IssuingKey) -> dict[str, Any]:
    public = cose.load_public_pem(key.public_key_pem)
    return {
        "kid": key.kid,
        "alg": cose.ALGORITHMS[key.alg].name,
        "role": ROLE_ROOT if key.role == IssuingKey.Role.ROOT else ROLE_ISSUER,
        "issuer": key.department.code if key.department_id else v.ROOT_ISSUER,
        "issuer_name": key.department.name if key.department_id else "根密钥",
        "public_key_spki": base64.b64encode(cose.public_key_spki(public)).decode("ascii"),
        "jwk": cose.ALGORITHMS[key.alg].jwk(public),
        "valid_from": _iso(key.created_at),
        "retired_at": _iso(key.retired_at),
        "compromised_at": _iso(key.compromised_at),
        "state": key.state,
    }


def _idcode_key_entry(key: IdCodeKey) -> dict[str, Any]:
    public = cose.load_public_pem(key.public_key_pem)
    return {
        "kid": key.kid,
        "alg": cose.ALGORITHMS[key.alg].name,
        "role": ROLE_IDCODE,
        "issuer": IDCODE_ISSUER,
        "issuer_name": "随申码",
        "public_key_spki": base64.b64encode(cose.public_key_spki(public)).decode("ascii"),
        "jwk": cose.ALGORITHMS[key.alg].jwk(public),
        "valid_from": _iso(key.created_at),
        "retired_at": None,
        "compromised_at": None,
        "state": key.state,
    }


def root_key_active() -> IssuingKey | None:
    return IssuingKey.objects.filter(
        role=IssuingKey.Role.ROOT, state=IssuingKey.State.ACTIVE
    ).first()


def trust_list_content() -> dict[str, Any]:
    """The keys and status lists the trust list states, without its edition (sequence and
    times), which the service that signs it adds."""
    keys = IssuingKey.objects.select_related("department").order_by("id")
    return {
        "format": "tongban-trust-list",
        "version": 2,
        "issuer_keys": [_key_entry(k) for k in keys if k.role == IssuingKey.Role.ISSUER],
        "root_keys": [_key_entry(k) for k in keys if k.role == IssuingKey.Role.ROOT],
        "idcode_keys": [_idcode_key_entry(k) for k in IdCodeKey.objects.order_by("id")],
        "status_lists": [
            {"id": pk, "path": STATUS_LIST_PATH.format(id=pk), "size": size}
            for pk, size in StatusList.objects.order_by("id").values_list("pk", "size")
        ],
    }


def trust_list_content_sha256(content: dict[str, Any], root_kid: str) -> str:
    return hashlib.sha256(v.canonical_json(content) + root_kid.encode()).hexdigest()


def trust_list_issue_latest() -> TrustListIssue | None:
    return TrustListIssue.objects.order_by("-sequence").first()


def trust_list_document() -> Published | None:
    """The newest signed edition of the trust list, as stored: every process serves the same
    bytes, so ETags and caches work. None before the first edition is signed."""
    row = trust_list_issue_latest()
    if row is None:
        return None
    # Keyed by content too: a rolled-back test database hands the same sequence out again.
    edition = f"{row.sequence}:{row.content_sha256}:{row.issued_at.isoformat()}"
    found = _published.get(edition)
    if found is None:
        body = bytes(row.body)
        etag = hashlib.sha256(body).hexdigest()[:32]
        found = Published(body, f'"{etag}"', "application/json", TRUST_LIST_MAX_AGE)
        _published.clear()  # only the newest is ever served
        _published[edition] = found
    return found


def root_key_document() -> dict[str, Any] | None:
    root = root_key_active()
    if root is None:
        return None
    entry = _key_entry(root)
    entry["public_key_pem"] = root.public_key_pem
    return entry


def status_token_stored(list_id: int, *, root_kid: str, now: int) -> Published | None:
    """The status list's token as stored, when it was signed for the list's current bits, by
    the current root key, and is not past half its life; else None (services signs anew)."""
    row = (
        StatusList.objects.filter(pk=list_id)
        .values("version", "token", "token_etag", "token_version", "token_kid", "token_issued_at")
        .first()
    )
    return _status_token_of(row, root_kid=root_kid, now=now) if row else None


def _status_token_of(row: dict[str, Any], *, root_kid: str, now: int) -> Published | None:
    fresh = (
        row["token"]
        and row["token_version"] == row["version"]
        and row["token_kid"] == root_kid
        and now - (row["token_issued_at"] or 0) < STATUS_TOKEN_SECONDS // 2
    )
    if not fresh:
        return None
    return Published(bytes(row["token"]), row["token_etag"], "application/cwt", STATUS_MAX_AGE)
