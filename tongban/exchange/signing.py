"""Signed requests between the platform and a department system (数据共享交换).

The platform signs each request body with a secret it shares with the department system: an
HMAC-SHA256 over the timestamp, the method, the path and the body's SHA-256. The body itself
carries who asks (requesting department, item, case, purpose, legal basis), so the signature
covers them. The department system refuses a request whose signature does not verify or
whose timestamp is more than MAX_SKEW_SECONDS away from its clock (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings

MAX_SKEW_SECONDS = 300
TIMESTAMP_HEADER = "X-Tongban-Timestamp"
SIGNATURE_HEADER = "X-Tongban-Signature"


def source_secret(source_code: str, secret_env: str = "") -> bytes:
    """The secret shared with SOURCE_CODE's system: the environment variable the definition
    names, or, in the demo city, one derived from SECRET_KEY (the demo department systems run
    with the same settings, so both sides derive the same one)."""
    if secret_env:
        value = os.environ.get(secret_env, "")
        if value:
            return value.encode()
    material = f"tongban.exchange.demo-source:{source_code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).digest()


def _message(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{timestamp}\n{method.upper()}\n{path}\n{digest}".encode()


def sign(secret: bytes, *, timestamp: str, method: str, path: str, body: bytes) -> str:
    return hmac.new(secret, _message(timestamp, method, path, body), hashlib.sha256).hexdigest()


def signature_valid(
    secret: bytes,
    *,
    timestamp: str,
    method: str,
    path: str,
    body: bytes,
    signature: str,
    now: float,
) -> bool:
    """True when SIGNATURE is this body's and TIMESTAMP is within MAX_SKEW_SECONDS of NOW."""
    try:
        at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - at) > MAX_SKEW_SECONDS:
        return False
    expected = sign(secret, timestamp=timestamp, method=method, path=path, body=body)
    return hmac.compare_digest(expected, signature or "")
