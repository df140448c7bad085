"""The active signing key, and every key's public half, parsed once per process: parsing a
PEM costs more than the signature it is used for."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import IntegrityError, transaction

from tongban.certificates import cose
from tongban.certificates.services import trust_list_publish
from tongban.common.services import audit_record
from tongban.idcode.models import IdCodeKey

# A code is valid for minutes; a key that stops being the active one may sign this much longer.
ACTIVE_KEY_SECONDS = 60.0

_active: tuple[float, IdCodeKey] | None = None
_private: dict[str, Any] = {}
_public: dict[bytes, Any] = {}
_lock = threading.Lock()


def active_key() -> IdCodeKey:
    """The active key, made on first use; two processes racing let the unique constraint pick
    one and the other reads the winner's. Read from the database at most every
    ACTIVE_KEY_SECONDS: a key retired elsewhere signs a little longer here, which is harmless,
    since codes of retired keys still verify."""
    global _active
    if _active is not None and time.monotonic() - _active[0] < ACTIVE_KEY_SECONDS:
        return _active[1]
    key = IdCodeKey.objects.filter(state=IdCodeKey.State.ACTIVE).first()
    if key is not None:
        _active = (time.monotonic(), key)
        return key
    private = cose.ES256.generate()
    public = private.public_key()
    try:
        with transaction.atomic():
            key = IdCodeKey.objects.create(
                kid=cose.kid_for(public).hex(),
                alg=cose.ES256.cose_id,
                public_key_pem=cose.public_key_pem(public),
                private_key_pem=cose.private_key_pem(private),
            )
            audit_record(
                actor_label="system",
                action="idcode.key_create",
                object_type="idcode_key",
                object_id=key.kid,
            )
            # Its public half is published in the trust list (idcode_keys), so scanners can
            # check a code's signature offline.
            trust_list_publish(actor_label="system")
    except IntegrityError:
        key = IdCodeKey.objects.get(state=IdCodeKey.State.ACTIVE)
    _active = (time.monotonic(), key)
    return key


def private_key_of(key: IdCodeKey) -> Any:
    found = _private.get(key.kid)
    if found is None:
        found = cose.load_private_pem(key.private_key_pem)
        with _lock:
            _private[key.kid] = found
    return found


def public_key_for(kid: bytes) -> Any | None:
    """The public key with this kid, or None. Unknown kids are not cached, so a key made by
    another process is found on its first code."""
    found = _public.get(kid)
    if found is None:
        pem = IdCodeKey.objects.filter(kid=kid.hex()).values_list("public_key_pem", flat=True)
        pem = pem.first()
        if pem is None:
            return None
        found = cose.load_public_pem(pem)
        with _lock:
            _public[kid] = found
    return found


def cache_clear() -> None:
    global _active
    with _lock:
        _active = None
        _private.clear()
        _public.clear()
