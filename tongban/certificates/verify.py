"""Certificate tokens and their verification: a pure function of (text, trust list, time,
status lookup). No Django and no database here, so the same code runs in the API, in the
benchmark, and in any offline verifier that holds the published trust and status lists.

docs/formats.md describes every byte; the constants below are the ones it names.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives.serialization import load_der_public_key

from tongban.certificates import cose
from tongban.certificates.cose import Malformed

# CWT claim keys (RFC 8392 §4).
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_CTI = 7
# Private-use claim keys (RFC 8392 §9.1: integers below -65536 are for private use).
CLAIM_CERTIFICATE = -65537
CLAIM_STATUS_LIST = -65538

ROOT_ISSUER = "tongban-root"
# An issuing clock a few minutes ahead of the verifier's is not an attack.
CLOCK_SKEW_SECONDS = 300
MAX_CLAIMS = 64
MAX_TEXT_VALUE = 512
# A status list of 2^20 entries inflates to 128 KiB; nothing bigger is accepted.
MAX_STATUS_BYTES = 128 * 1024

VALID = "valid"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_ISSUER = "unknown_issuer"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
REVOKED = "revoked"
STATUS_UNAVAILABLE = "status_unavailable"
MALFORMED = "malformed"
KEY_COMPROMISED = "key_compromised"
TRUST_LIST_EXPIRED = "trust_list_expired"

MESSAGES = {
    VALID: "证照有效：签名正确，在有效期内，未被撤销。",
    BAD_SIGNATURE: "签名无效：证照内容已被改动，或并非由所示机构签发。",
    UNKNOWN_ISSUER: "签发机构或其印章不在信任列表中。",
    EXPIRED: "证照已超过有效期。",
    NOT_YET_VALID: "证照尚未生效。",
    REVOKED: "证照已被撤销。",
    STATUS_UNAVAILABLE: "暂时无法取得撤销状态，不能确认证照有效，请稍后再试。",
    MALFORMED: "无法识别：这不是一份完整的电子证照。",
    KEY_COMPROMISED: "签发印章已报告泄露，该证照不能再凭此印章确认，请向签发机构申请换发。",
    TRUST_LIST_EXPIRED: "信任列表已过期，暂时无法核验证照，请更新信任列表后再试。",
}
REASON_CODES = tuple(MESSAGES)


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class CertificateToken:
    """The claims of one certificate (or of a presentation of one)."""

    issuer: str
    issued_at: int
    cti: bytes
    type_code: str
    type_version: int
    claims: dict[str, str | int]
    status_list: int
    status_index: int
    expires_at: int | None = None
    not_before: int | None = None
    # Set on a presentation (选择性出示): the cti of the certificate it shows claims of.
    presented_cti: bytes | None = None


def token_payload(token: CertificateToken) -> bytes:
    """The CWT claims set of TOKEN, deterministically encoded (RFC 8949 §4.2.1)."""
    private: dict[str, Any] = {
        "t": token.type_code,
        "v": token.type_version,
        "c": dict(token.claims),
        "s": [token.status_list, token.status_index],
    }
    if token.presented_cti is not None:
        private["p"] = token.presented_cti
    claims: dict[int, Any] = {
        CLAIM_ISS: token.issuer,
        CLAIM_IAT: token.issued_at,
        CLAIM_CTI: token.cti,
        CLAIM_CERTIFICATE: private,
    }
    if token.expires_at is not None:
        claims[CLAIM_EXP] = token.expires_at
    if token.not_before is not None:
        claims[CLAIM_NBF] = token.not_before
    return cbor2.dumps(claims, canonical=True)


def _is_int(value: Any) -> bool:
    return type(value) is int  # CBOR true/false decode to bool, a subclass of int


def _uint(value: Any, what: str) -> int:
    if not _is_int(value) or value < 0 or value >= 2**63:
        raise Malformed(f"{what} 应为非负整数")
    return value


def _text(value: Any, what: str, limit: int = 64) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Malformed(f"{what} 应为文本")
    return value


def token_from_payload(payload: bytes) -> CertificateToken:
    """Parse and check the shape and the deterministic encoding of a CWT claims set. Raises
    Malformed."""
    claims = cose.cbor_loads_exact(payload)
    if not isinstance(claims, dict):
        raise Malformed("CWT 应为映射")
    allowed = {CLAIM_ISS, CLAIM_IAT, CLAIM_CTI, CLAIM_CERTIFICATE, CLAIM_EXP, CLAIM_NBF}
    if not {CLAIM_ISS, CLAIM_IAT, CLAIM_CTI, CLAIM_CERTIFICATE} <= set(claims) <= allowed:
        raise Malformed("CWT 声明不完整或含未知声明")
    cti = claims[CLAIM_CTI]
    if not isinstance(cti, bytes) or not 1 <= len(cti) <= 32:
        raise Malformed("cti 格式不正确")
    private = claims[CLAIM_CERTIFICATE]
    if not isinstance(private, dict) or not {"t", "v", "c", "s"} <= set(private) <= {
        "t",
        "v",
        "c",
        "s",
        "p",
    }:
        raise Malformed("证照声明格式不正确")
    body = private["c"]
    if not isinstance(body, dict) or len(body) > MAX_CLAIMS:
        raise Malformed("证照内容格式不正确")
    values: dict[str, str | int] = {}
    for name, value in body.items():
        _text(name, "声明名称")
        if isinstance(value, str):
            if len(value) > MAX_TEXT_VALUE:
                raise Malformed("声明值过长")
        elif not _is_int(value):
            raise Malformed("声明值应为文本或整数")
        values[name] = value
    status = private["s"]
    if not isinstance(status, list) or len(status) != 2:
        raise Malformed("状态引用格式不正确")
    presented = private.get("p")
    if presented is not None and (
        not isinstance(presented, bytes) or not 1 <= len(presented) <= 32
    ):
        raise Malformed("出示引用格式不正确")
    expires_at = claims.get(CLAIM_EXP)
    not_before = claims.get(CLAIM_NBF)
    # Last, once the shape is known to be ours: the payload's one re-encoding per verification.
    cose.require_deterministic(payload, claims, "CWT")
    return CertificateToken(
        issuer=_text(claims[CLAIM_ISS], "iss"),
        issued_at=_uint(claims[CLAIM_IAT], "iat"),
        cti=cti,
        type_code=_text(private["t"], "证照类型"),
        type_version=_uint(private["v"], "类型版本"),
        claims=values,
        status_list=_uint(status[0], "状态列表"),
        status_index=_uint(status[1], "状态序号"),
        expires_at=None if expires_at is None else _uint(expires_at, "exp"),
        not_before=None if not_before is None else _uint(not_before, "nbf"),
        presented_cti=presented,
    )


# ---------------------------------------------------------------- trust list


@dataclass(frozen=True)
class TrustedKey:
    kid: bytes
    alg: int
    public_key: Any
    issuer: str  # department code, or ROOT_ISSUER
    issuer_name: str
    valid_from: int
    retired_at: int | None = None
    # Set when the key is marked compromised: the cut-off (docs/formats.md §4.2).
    compromised_at: int | None = None

    @property
    def is_root(self) -> bool:
        return self.issuer == ROOT_ISSUER


@dataclass(frozen=True)
class TrustList:
    keys: Mapping[bytes, TrustedKey] = field(default_factory=dict)
    # The edition (docs/formats.md §4.1): higher is newer; a list is refused from expires_at
    # on. A list built in code for a test or a benchmark has neither.
    sequence: int = 0
    issued_at: int | None = None
    expires_at: int | None = None

    @classmethod
    def of(
        cls,
        keys: list[TrustedKey],
        *,
        sequence: int = 0,
        issued_at: int | None = None,
        expires_at: int | None = None,
    ) -> TrustList:
        return cls({k.kid: k for k in keys}, sequence, issued_at, expires_at)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) for the values a trust list holds (text, integers, null, booleans,
    arrays, objects with ASCII keys): sorted keys, no whitespace, UTF-8, minimal escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jws_detached_sign(payload: bytes, *, private_key: Any, kid: bytes) -> str:
    """A JWS (RFC 7515) compact serialisation with a detached payload (Appendix F):
    BASE64URL(header) + ".." + BASE64URL(signature)."""
    header = b64url(canonical_json({"alg": "ES256", "kid": kid.hex()}))
    signing_input = f"{header}.{b64url(payload)}".encode("ascii")
    return f"{header}..{b64url(cose.ES256.sign(private_key, signing_input))}"


def jws_detached_verify(jws: str, payload: bytes, public_key: Any) -> bool:
    try:
        header, empty, signature = jws.split(".")
        parsed = json.loads(b64url_decode(header))
        if empty or parsed.get("alg") != "ES256":
            return False
        signing_input = f"{header}.{b64url(payload)}".encode("ascii")
        return cose.ES256.verify(public_key, b64url_decode(signature), signing_input)
    except (ValueError, TypeError, AttributeError):
        return False


def _epoch(iso: str | None) -> int | None:
    if iso is None:
        return None
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class StaleTrustList(ValueError):
    """A trust list older than one the verifier has already accepted."""


def trust_list_from_document(
    document: bytes, root_public_key: Any, *, seen_sequence: int = 0
) -> TrustList:
    """Check a published trust list against the root key and build the TrustList from it.
    Raises ValueError when the signature does not hold, StaleTrustList when its sequence is
    lower than SEEN_SEQUENCE (the highest the caller has accepted). Expiry is checked at
    verification time (`verify_text`), against the moment verified."""
    outer = json.loads(document)
    inner = outer["trust_list"]
    if not jws_detached_verify(outer["signature"], canonical_json(inner), root_public_key):
        raise ValueError("trust list signature does not verify")
    sequence = inner["sequence"]
    if not _is_int(sequence) or sequence < seen_sequence:
        raise StaleTrustList(f"trust list {sequence} is older than {seen_sequence}")
    keys = []
    # Certificate keys only: a 随申码 key (idcode_keys) signs nothing a certificate verifier
    # may accept.
    for entry in inner["issuer_keys"] + inner["root_keys"]:
        spki = base64.b64decode(entry["public_key_spki"])
        keys.append(
            TrustedKey(
                kid=bytes.fromhex(entry["kid"]),
                alg=cose.ALGORITHMS_BY_NAME[entry["alg"]].cose_id,
                public_key=load_der_public_key(spki),
                issuer=entry["issuer"],
                issuer_name=entry["issuer_name"],
                valid_from=_epoch(entry["valid_from"]) or 0,
                retired_at=_epoch(entry.get("retired_at")),
                compromised_at=_epoch(entry.get("compromised_at")),
            )
        )
    return TrustList.of(
        keys,
        sequence=sequence,
        issued_at=_epoch(inner["issued_at"]),
        expires_at=_epoch(inner["expires_at"]),
    )


# ---------------------------------------------------------------- status lists

StatusLookup = Callable[[int, int], bool | None]
# (kid, cti) → whether the issuer's own register holds that certificate as signed by that key.
# Only the issuing platform has one; an offline verifier passes None.
IssuedLookup = Callable[[bytes, bytes], bool]


class StatusBits:
    """A revocation bitstring. Entry i is bit (i mod 8) of byte (i div 8), least significant
    bit first — the order of the IETF Token Status List draft. 1 means revoked."""

    __slots__ = ("bits",)

    def __init__(self, bits: bytes):
        self.bits = bytes(bits)

    def __len__(self) -> int:
        return len(self.bits) * 8

    def is_set(self, index: int) -> bool | None:
        if not 0 <= index < len(self.bits) * 8:
            return None
        return bool(self.bits[index >> 3] >> (index & 7) & 1)


def set_bit(bits: bytearray, index: int, value: bool = True) -> None:
    if value:
        bits[index >> 3] |= 1 << (index & 7)
    else:
        bits[index >> 3] &= ~(1 << (index & 7)) & 0xFF


def status_lookup(lists: Mapping[int, StatusBits]) -> StatusLookup:
    """A lookup over status lists already fetched (and checked) by the caller."""

    def lookup(list_id: int, index: int) -> bool | None:
        found = lists.get(list_id)
        return None if found is None else found.is_set(index)

    return lookup


def status_list_payload(*, list_id: int, bits: bytes, issued_at: int, expires_at: int) -> bytes:
    return cbor2.dumps(
        {
            CLAIM_ISS: ROOT_ISSUER,
            CLAIM_IAT: issued_at,
            CLAIM_EXP: expires_at,
            CLAIM_STATUS_LIST: {"id": list_id, "bits": 1, "lst": zlib.compress(bits, 9)},
        },
        canonical=True,
    )


def status_list_from_token(data: bytes, trust: TrustList, *, at: int) -> tuple[int, StatusBits]:
    """Check a published status list token (signed by the root key, not expired) and return
    its id and bits. Raises Malformed or ValueError."""
    sign1 = cose.sign1_decode(data)
    key = trust.keys.get(sign1.kid)
    if key is None or not key.is_root or not sign1.verify(key.public_key):
        raise ValueError("status list not signed by the root key")
    claims = cose.cbor_loads_exact(sign1.payload)
    try:
        body = claims[CLAIM_STATUS_LIST]
        expires_at, list_id, deflated = claims[CLAIM_EXP], body["id"], body["lst"]
        if claims[CLAIM_ISS] != ROOT_ISSUER or body["bits"] != 1:
            raise Malformed("not a tongban status list")
        inflater = zlib.decompressobj()
        bits = inflater.decompress(deflated, MAX_STATUS_BYTES + 1)
    except (KeyError, TypeError, zlib.error) as exc:
        raise Malformed("status list token malformed") from exc
    if len(bits) > MAX_STATUS_BYTES or not inflater.eof or not _is_int(list_id):
        raise Malformed("status list too large, truncated or without id")
    if not _is_int(expires_at) or expires_at <= at:
        raise ValueError("status list expired")
    return list_id, StatusBits(bits)


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerificationResult:
    code: str
    kid: bytes | None = None
    issuer: str = ""
    issuer_name: str = ""
    # The decoded token when its signature held; None otherwise, so nobody reads claims that
    # no trusted key vouches for.
    token: CertificateToken | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    @property
    def is_valid(self) -> bool:
        return self.code == VALID


def _seconds(at: dt.datetime | int | float) -> int:
    if isinstance(at, dt.datetime):
        return int(at.timestamp())
    return int(at)


def verify_text(
    text: Any,
    trust: TrustList,
    at: dt.datetime | int,
    status: StatusLookup,
    issued: IssuedLookup | None = None,
) -> VerificationResult:
    """Verify one TB1 text at time AT. Never raises: every outcome is a reason code.

    Order (docs/formats.md §7): well-formed → trust list current → issuer known → signature →
    issuer claim and signing time fit the key → key not compromised → revocation → validity
    period. ISSUED is the issuer's register (the platform's own verifier only): with it, a
    certificate a compromised key signed before the cut-off stays valid when the register
    holds it; without it, nothing a compromised key signed is accepted.
    """
    try:
        return _verify(text, trust, _seconds(at), status, issued)
    except Exception as exc:  # the decoder's contract is a result for any input, whatever it is
        return VerificationResult(MALFORMED, detail=type(exc).__name__)


def _registered(issued: IssuedLookup, kid: bytes, cti: bytes) -> bool:
    try:
        return bool(issued(kid, cti))
    except Exception:  # a register that cannot answer vouches for nothing
        return False


def _verify(
    text: Any, trust: TrustList, now: int, status: StatusLookup, issued: IssuedLookup | None
) -> VerificationResult:
    try:
        sign1 = cose.sign1_decode(cose.decode_text(text))
        token = token_from_payload(sign1.payload)
    except Malformed as exc:
        return VerificationResult(MALFORMED, detail=str(exc))
    if trust.expires_at is not None and now >= trust.expires_at:
        return VerificationResult(TRUST_LIST_EXPIRED, kid=sign1.kid)
    key = trust.keys.get(sign1.kid)
    if key is None or key.is_root:
        return VerificationResult(UNKNOWN_ISSUER, kid=sign1.kid, issuer=token.issuer)
    known = {"kid": sign1.kid, "issuer": key.issuer, "issuer_name": key.issuer_name}
    if sign1.alg != key.alg or not sign1.verify(key.public_key):
        return VerificationResult(BAD_SIGNATURE, **known)
    if token.issuer != key.issuer:
        return VerificationResult(UNKNOWN_ISSUER, detail="iss 与印章所属机构不符", **known)
    if token.issued_at < key.valid_from - CLOCK_SKEW_SECONDS:
        return VerificationResult(UNKNOWN_ISSUER, detail="印章启用前签发", **known)
    if key.retired_at is not None and token.issued_at > key.retired_at + CLOCK_SKEW_SECONDS:
        return VerificationResult(UNKNOWN_ISSUER, detail="印章停用后签发", **known)
    if key.compromised_at is not None and (
        # Whoever holds a stolen key can write any iat, so an iat before the cut-off proves
        # nothing by itself: only the issuer's register can vouch for such a certificate, and
        # a presentation (never registered) is never vouched for.
        token.issued_at >= key.compromised_at
        or issued is None
        or token.presented_cti is not None
        or not _registered(issued, sign1.kid, token.cti)
    ):
        return VerificationResult(KEY_COMPROMISED, detail="印章已泄露", **known)
    try:
        revoked = status(token.status_list, token.status_index)
    except Exception:  # a status source that fails is a status not known, not a bad token
        revoked = None
    if revoked is None:
        return VerificationResult(STATUS_UNAVAILABLE, token=token, **known)
    if revoked:
        return VerificationResult(REVOKED, token=token, **known)
    if token.expires_at is not None and now >= token.expires_at:
        return VerificationResult(EXPIRED, token=token, **known)
    if (token.not_before is not None and now < token.not_before) or (
        token.issued_at > now + CLOCK_SKEW_SECONDS
    ):
        return VerificationResult(NOT_YET_VALID, token=token, **known)
    return VerificationResult(VALID, token=token, **known)
