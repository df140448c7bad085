"""The sealed subject of a 随申码: who a code stands for, readable by the platform alone.

A code's `sub` is one AES-256 block (16 bytes, base64url text of 22 characters):

    byte 0      kind: 1 a person (一人一档), 2 an enterprise (一企一档)
    bytes 1–5   the holder's id (profile or enterprise), big-endian
    bytes 6–10  the id of the account that asked for the code (the resident, or the agent)
    bytes 11–15 the first five bytes of the code's cti

Sealing instead of a random pseudonym looked up in a table is what lets issuing a code write
nothing: the page asks for a fresh code every few minutes for every resident who has it open,
and a row per code was most of the cost. Unlinkable as before: every block holds 40 random
bits of its own cti, so two codes of one holder share no byte, and only the key opens them.

One raw AES block is the whole construction because the code's signature already protects
the claims. The cti check is a second lock for the day a signing key leaks: a forger who can
sign still cannot aim a code at a chosen holder without this key, and a sub lifted from one
code does not open under another code's cti. Rotating the key (it is derived from the
field-encryption secret) makes the codes then on screens unknown; they refresh within
minutes. Pure: no Django, no database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PERSON, ENTERPRISE = 1, 2
KINDS = {PERSON: "person", ENTERPRISE: "enterprise"}
BLOCK = 16
ID_BYTES = 5
MAX_ID = 2 ** (8 * ID_BYTES) - 1
CHECK_BYTES = BLOCK - 1 - 2 * ID_BYTES


@dataclass(frozen=True)
class Subject:
    kind: int
    holder_id: int
    requested_by_id: int


# A context is one object: threads of one process take turns (uncontended, a lock costs
# almost nothing next to the rest of a scan).
_lock = threading.Lock()


@lru_cache(maxsize=4)
def _contexts(key: bytes) -> tuple[Any, Any]:
    """An encryptor and a decryptor for KEY, kept open: ECB treats every 16-byte update on
    its own, so one context serves every code, and making one costs more than using it.
    ECB over exactly one block is the AES permutation itself (no pattern across blocks,
    since each code has one)."""
    cipher = Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305
    return cipher.encryptor(), cipher.decryptor()


def seal(subject: Subject, *, cti: bytes, key: bytes) -> bytes:
    if subject.kind not in KINDS:
        raise ValueError("unknown subject kind")
    if not (0 < subject.holder_id <= MAX_ID and 0 < subject.requested_by_id <= MAX_ID):
        raise ValueError("id out of range")
    block = (
        bytes([subject.kind])
        + subject.holder_id.to_bytes(ID_BYTES, "big")
        + subject.requested_by_id.to_bytes(ID_BYTES, "big")
        + cti[:CHECK_BYTES]
    )
    with _lock:
        return _contexts(key)[0].update(block)


def unseal(sealed: bytes, *, cti: bytes, key: bytes) -> Subject | None:
    """The subject, or None when the block was not sealed for this cti with this key."""
    if len(sealed) != BLOCK or len(cti) < CHECK_BYTES:
        return None
    with _lock:
        block = _contexts(key)[1].update(sealed)
    if block[1 + 2 * ID_BYTES :] != cti[:CHECK_BYTES] or block[0] not in KINDS:
        return None
    holder_id = int.from_bytes(block[1 : 1 + ID_BYTES], "big")
    requested_by_id = int.from_bytes(block[1 + ID_BYTES : 1 + 2 * ID_BYTES], "big")
    if not (holder_id and requested_by_id):
        return None
    return Subject(block[0], holder_id, requested_by_id)
