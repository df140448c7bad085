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
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import User
from tongban.certificates import cose
from tongban.certificates import verify as v
from tongban.certificates.errors import CertificateNotFound
from tongban.certificates.keys import signing_key
from tongban.certificates.models import (
    Certificate,
    CertificateType,
    CertificateTypeVersion,
    IssuingKey,
    StatusList,
)
from tongban.certificates.schemas import CertificateTypeDef

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
    enterprises = Q(holder_enterprise__memberships__user=user)
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
    """The TrustList built from the database, kept per process. Rotation in this process
    clears it; a kid it does not know makes it reload (at most once a second), so a key made
    by another process is trusted without a restart."""

    def __init__(self):
        self.lock = threading.Lock()
        self.trust: v.TrustList | None = None
        self.loaded_at = 0.0

    def get(self) -> v.TrustList:
        trust = self.trust
        if trust is None:
            trust = self.reload()
        return trust

    def reload(self) -> v.TrustList:
        trust = _trust_list_from_db()
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
    _status_tokens.clear()


def _trusted_key(key: IssuingKey) -> v.TrustedKey:
    return v.TrustedKey(
        kid=bytes.fromhex(key.kid),
        alg=key.alg,
        public_key=cose.load_public_pem(key.public_key_pem),
        issuer=key.department.code if key.department_id else v.ROOT_ISSUER,
        issuer_name=key.department.name if key.department_id else "根密钥",
        valid_from=int(key.created_at.timestamp()),
        retired_at=int(key.retired_at.timestamp()) if key.retired_at else None,
    )


def _trust_list_from_db() -> v.TrustList:
    keys = IssuingKey.objects.select_related("department").order_by("id")
    return v.TrustList.of([_trusted_key(k) for k in keys])


def trust_list_current() -> v.TrustList:
    return _trust_cache.get()


def status_lookup_db(list_id: int, index: int) -> bool | None:
    """This instance's own revocation bits, read at the moment of verification."""
    if not 0 <= index < 2**31:
        return None
    # One byte of the 16 KiB list, not the list: substr works on SQLite blobs and PostgreSQL
    # bytea alike (1-based).
    table = StatusList._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT substr(bits, %s, 1), size FROM {table} WHERE id = %s",  # noqa: S608
            [(index >> 3) + 1, list_id],
        )
        row = cursor.fetchone()
    if row is None or index >= row[1]:
        return None
    return v.StatusBits(bytes(row[0])).is_set(index & 7)


def certificate_verify(text: Any, *, at: dt.datetime | None = None) -> v.VerificationResult:
    """Verify TEXT against this instance's keys and status lists (the API and the public
    verification page)."""
    moment = at or timezone.now()
    result = v.verify_text(text, trust_list_current(), moment, status_lookup_db)
    if result.code == v.UNKNOWN_ISSUER and result.kid and result.kid not in _trust_cache.get().keys:
        fresh = _trust_cache.reload_if_stale()
        if fresh is not None:
            result = v.verify_text(text, fresh, moment, status_lookup_db)
    return result


# ---------------------------------------------------------------- published documents


@dataclass(frozen=True)
class Published:
    body: bytes
    etag: str
    content_type: str
    max_age: int


_published: dict[str, Published] = {}
_status_tokens: dict[tuple[int, str], tuple[float, Published]] = {}


def _key_entry(key: IssuingKey) -> dict[str, Any]:
    public = cose.load_public_pem(key.public_key_pem)
    return {
        "kid": key.kid,
        "alg": cose.ALGORITHMS[key.alg].name,
        "issuer": key.department.code if key.department_id else v.ROOT_ISSUER,
        "issuer_name": key.department.name if key.department_id else "根密钥",
        "public_key_spki": base64.b64encode(cose.public_key_spki(public)).decode("ascii"),
        "jwk": cose.ALGORITHMS[key.alg].jwk(public),
        "valid_from": _iso(key.created_at),
        "retired_at": _iso(key.retired_at),
        "state": key.state,
    }


def root_key_active() -> IssuingKey | None:
    return IssuingKey.objects.filter(
        role=IssuingKey.Role.ROOT, state=IssuingKey.State.ACTIVE
    ).first()


def trust_list_content() -> dict[str, Any]:
    keys = IssuingKey.objects.select_related("department").order_by("id")
    issuers = [_key_entry(k) for k in keys if k.role == IssuingKey.Role.ISSUER]
    roots = [_key_entry(k) for k in keys if k.role == IssuingKey.Role.ROOT]
    changes = [k.created_at for k in keys] + [k.retired_at for k in keys if k.retired_at]
    return {
        "format": "tongban-trust-list",
        "version": 1,
        "updated_at": _iso(max(changes)) if changes else None,
        "issuer_keys": issuers,
        "root_keys": roots,
        "status_lists": [
            {"id": pk, "path": STATUS_LIST_PATH.format(id=pk), "size": size}
            for pk, size in StatusList.objects.order_by("id").values_list("pk", "size")
        ],
    }


def trust_list_document() -> Published | None:
    """The trust list, signed with the root key as a detached JWS over its JCS form. None
    while there is no root key. The same content is served as the same bytes (one
    signature), so ETags and caches work."""
    root = root_key_active()
    if root is None:
        return None
    content = trust_list_content()
    canonical = v.canonical_json(content)
    etag = hashlib.sha256(canonical + root.kid.encode()).hexdigest()[:32]
    found = _published.get(etag)
    if found is None:
        signature = v.jws_detached_sign(
            canonical, private_key=signing_key(root), kid=bytes.fromhex(root.kid)
        )
        body = v.canonical_json({"signature": signature, "trust_list": content})
        found = Published(body, f'"{etag}"', "application/json", TRUST_LIST_MAX_AGE)
        _published.clear()  # only the newest is ever served
        _published[etag] = found
    return found


def root_key_document() -> dict[str, Any] | None:
    root = root_key_active()
    if root is None:
        return None
    entry = _key_entry(root)
    entry["public_key_pem"] = root.public_key_pem
    return entry


def status_list_token(list_id: int) -> Published | None:
    """The status list as a COSE_Sign1 (signed by the root key) holding the deflated bits.
    Re-signed when the bits change or the token is past half its life."""
    row = StatusList.objects.filter(pk=list_id).values_list("bits", flat=True).first()
    root = root_key_active()
    if row is None or root is None:
        return None
    bits = bytes(row)
    digest = hashlib.sha256(bits + root.kid.encode()).hexdigest()[:32]
    cached = _status_tokens.get((list_id, digest))
    now = time.time()
    if cached is not None and now - cached[0] < STATUS_TOKEN_SECONDS / 2:
        return cached[1]
    issued = int(now)
    payload = v.status_list_payload(
        list_id=list_id, bits=bits, issued_at=issued, expires_at=issued + STATUS_TOKEN_SECONDS
    )
    body = cose.sign1(payload, private_key=signing_key(root), kid=bytes.fromhex(root.kid))
    published = Published(body, f'"{digest}-{issued}"', "application/cwt", STATUS_MAX_AGE)
    for key in [k for k in _status_tokens if k[0] == list_id]:
        del _status_tokens[key]
    _status_tokens[(list_id, digest)] = (now, published)
    return published
