"""The 随申码 token: a COSE_Sign1 CWT carrying only an opaque sealed subject, and its pure
verification. No Django and no database here, so the benchmark and any offline scanner run
the same code as the API.

Text form: "SSM1:" + Base45(tagged COSE_Sign1). Not deflated: the payload is mostly random
bytes and a signature, which do not compress.

Claims (RFC 8392): 1 iss "tongban-idcode", 2 sub (the sealed subject, base64url text; see
tongban.idcode.subject), 4 exp, 6 iat, 7 cti (16 random bytes, the replay nonce). Nothing
else: no name, ID number or phone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from tongban.certificates import cose
from tongban.certificates.cose import Malformed

PREFIX = "SSM1:"
ISSUER = "tongban-idcode"
CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI = 1, 2, 4, 6, 7
CLAIM_KEYS = frozenset({CLAIM_ISS, CLAIM_SUB, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI})
NONCE_BYTES = 16
# A code is a few hundred characters; anything much longer is not one and is not decoded.
MAX_TEXT_CHARS = 1024
# A scanner's clock a little behind the issuer's is not an attack.
CLOCK_SKEW_SECONDS = 60
# Longest lifetime a verifier accepts, whatever the token says: a leaked signing key still
# cannot mint long-lived codes past a careful verifier.
MAX_LIFETIME_SECONDS = 3600

OK = "ok"
FORGED = "forged"
EXPIRED = "expired"
REPLAYED = "replayed"
MALFORMED = "malformed"
SCENARIO_NOT_ALLOWED = "scenario_not_allowed"
NOT_APPLICABLE = "not_applicable"
SUBJECT_UNKNOWN = "subject_unknown"

MESSAGES = {
    OK: "核验通过。",
    FORGED: "二维码签名无效：不是本平台签发的随申码，或内容已被改动。",
    EXPIRED: "二维码已过期，请持码人刷新后重新出示。",
    REPLAYED: "此二维码已被扫描过，请持码人刷新后重新出示。",
    MALFORMED: "无法识别：这不是一个完整的随申码。",
    SCENARIO_NOT_ALLOWED: "本扫码终端未获授权使用此场景。",
    NOT_APPLICABLE: "此场景不适用于该类随申码（个人码或企业码）。",
    SUBJECT_UNKNOWN: "无法确认持码人，请持码人刷新后重新出示。",
}
RESULT_CODES = tuple(MESSAGES)
# What the holder reads in their own scan log: what happened to their code, in a few words.
RESULT_LABELS = {
    OK: "已读取",
    FORGED: "未读取：二维码无效",
    EXPIRED: "未读取：二维码已过期",
    REPLAYED: "未读取：二维码已被扫描过",
    MALFORMED: "未读取：二维码不完整",
    SCENARIO_NOT_ALLOWED: "未读取：扫码终端未获授权",
    NOT_APPLICABLE: "未读取：此场景不适用",
    SUBJECT_UNKNOWN: "未读取：无法确认持码人",
}


@dataclass(frozen=True)
class Claims:
    subject: str
    issued_at: int
    expires_at: int
    cti: bytes


@dataclass(frozen=True)
class Verified:
    result: str
    claims: Claims | None = None

    @property
    def message(self) -> str:
        return MESSAGES[self.result]


def subject_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def subject_bytes(text: str) -> bytes:
    """The bytes behind a subject text, or b"" unless TEXT is exactly what subject_text
    writes (base64's decoder would let other texts stand for the same bytes)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""
    return raw if subject_text(raw) == text else b""


def payload_for(claims: Claims) -> bytes:
    return cbor2.dumps(
        {
            CLAIM_ISS: ISSUER,
            CLAIM_SUB: claims.subject,
            CLAIM_EXP: claims.expires_at,
            CLAIM_IAT: claims.issued_at,
            CLAIM_CTI: claims.cti,
        },
        canonical=True,
    )


def encode(claims: Claims, *, private_key: Any, kid: bytes) -> str:
    cose_bytes = cose.sign1(payload_for(claims), private_key=private_key, kid=kid)
    return PREFIX + cose.base45_encode(cose_bytes)


def decode_cose(text: Any) -> cose.Sign1:
    """Parse TEXT down to its COSE_Sign1, strictly: only the exact bytes this module writes
    are accepted, so no byte of a code can change without the decoder noticing. Raises
    Malformed and nothing else."""
    if not isinstance(text, str):
        raise Malformed("输入不是文本")
    if len(text) > MAX_TEXT_CHARS:
        raise Malformed("文本过长")
    if not text.startswith(PREFIX):
        raise Malformed("缺少 SSM1: 前缀")
    data = cose.base45_decode(text[len(PREFIX) :])
    if not data or data[0] != 0xD2:  # tag 18, COSE_Sign1; a code is never deflated
        raise Malformed("不是带标签的 COSE_Sign1")
    # Tag 18 only, deterministic CBOR, a low-S 64-byte signature: one code, one text.
    return cose.sign1_decode(data)


def _int(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**40


def parse_payload(payload: bytes) -> Claims:
    value = cose.cbor_loads_exact(payload)
    if not isinstance(value, dict) or set(value) != CLAIM_KEYS:
        raise Malformed("声明集合不正确")
    cose.require_deterministic(payload, value, "声明")
    sub, exp, iat, cti = value[CLAIM_SUB], value[CLAIM_EXP], value[CLAIM_IAT], value[CLAIM_CTI]
    if value[CLAIM_ISS] != ISSUER:
        raise Malformed("签发者不正确")
    if not isinstance(sub, str) or not 1 <= len(sub) <= 64:
        raise Malformed("sub 不正确")
    if not (_int(exp) and _int(iat)) or not 0 < exp - iat <= MAX_LIFETIME_SECONDS:
        raise Malformed("有效期不正确")
    if not isinstance(cti, bytes) or len(cti) != NONCE_BYTES:
        raise Malformed("cti 不正确")
    return Claims(subject=sub, issued_at=iat, expires_at=exp, cti=cti)


def verify(text: Any, *, public_key_for: Callable[[bytes], Any | None], now: int) -> Verified:
    """Signature, then claims, then time. Never raises on any input."""
    try:
        sign1 = decode_cose(text)
    except Malformed:
        return Verified(MALFORMED)
    public_key = public_key_for(sign1.kid)
    if public_key is None or not sign1.verify(public_key):
        return Verified(FORGED)
    try:
        claims = parse_payload(sign1.payload)
    except Malformed:
        return Verified(MALFORMED)
    if now >= claims.expires_at:
        return Verified(EXPIRED, claims)
    if claims.issued_at > now + CLOCK_SKEW_SECONDS:
        return Verified(MALFORMED)
    return Verified(OK, claims)
