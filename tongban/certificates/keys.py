"""Parsed private keys, per kid. Decrypting the stored PEM and parsing it costs more than one
signature, so each process does it once per key."""

from __future__ import annotations

import threading
from typing import Any

from tongban.certificates import cose
from tongban.certificates.models import IssuingKey

_loaded: dict[str, Any] = {}
_lock = threading.Lock()


def signing_key(key: IssuingKey) -> Any:
    found = _loaded.get(key.kid)
    if found is None:
        found = cose.load_private_pem(key.private_key_pem)
        with _lock:
            _loaded[key.kid] = found
    return found
