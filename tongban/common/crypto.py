"""Field encryption at rest (AES-256-GCM) and keyed hashes for finding encrypted values.

Ciphertext is stored as text: "v1:" + base64(nonce || ciphertext+tag). The version prefix
leaves room to rotate keys without a flag day.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_PREFIX = "v1:"


@lru_cache(maxsize=4)
def _aead(secret: str) -> AESGCM:
    key = hashlib.sha256(b"tongban-field-encryption\x00" + secret.encode()).digest()
    return AESGCM(key)


@lru_cache(maxsize=4)
def _lookup_key(secret: str) -> bytes:
    return hashlib.sha256(b"tongban-lookup-hash\x00" + secret.encode()).digest()


class DecryptionError(Exception):
    pass


def encrypt_text(plaintext: str, *, context: str = "") -> str:
    """Encrypt PLAINTEXT; CONTEXT (e.g. "resident.id_number") is bound as associated data so a
    ciphertext copied into another column does not decrypt there."""
    nonce = os.urandom(12)
    sealed = _aead(settings.FIELD_ENCRYPTION_KEY).encrypt(
        nonce, plaintext.encode("utf-8"), context.encode()
    )
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt_text(stored: str, *, context: str = "") -> str:
    if not stored.startswith(_PREFIX):
        raise DecryptionError("unknown ciphertext version")
    raw = base64.b64decode(stored[len(_PREFIX) :])
    try:
        plain = _aead(settings.FIELD_ENCRYPTION_KEY).decrypt(raw[:12], raw[12:], context.encode())
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not match key or context") from exc
    return plain.decode("utf-8")


def lookup_hash(value: str, *, context: str) -> str:
    """A keyed, deterministic hash so an encrypted column can still be searched for equality."""
    digest = hmac.new(
        _lookup_key(settings.LOOKUP_HASH_KEY), f"{context}\x00{value}".encode(), hashlib.sha256
    )
    return digest.hexdigest()


@lru_cache(maxsize=16)
def _derived_key(secret: str, label: str) -> bytes:
    return hashlib.sha256(
        b"tongban-derived\x00" + label.encode() + b"\x00" + secret.encode()
    ).digest()


def derived_key(label: str) -> bytes:
    """A 256-bit key of its own for LABEL, from the field-encryption secret: one secret to
    keep, and a key used for one purpose only."""
    return _derived_key(settings.FIELD_ENCRYPTION_KEY, label)
