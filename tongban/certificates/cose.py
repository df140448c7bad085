"""COSE_Sign1 (RFC 9052) and the TB1 text form of a signed token. No Django here.

The hot path of every verification runs through this module, so it does only what the format
needs: one protected header {1: alg, 4: kid}, an empty unprotected header, a Sig_structure of
["Signature1", protected, b"", payload], and the raw r||s signature COSE prescribes for ECDSA.

Text form (docs/formats.md): "TB1:" + Base45(body), where body is the tagged COSE_Sign1, or
its zlib (RFC 1950) deflation when that is shorter. A zlib stream always starts with 0x78 and
a tagged COSE_Sign1 with 0xD2, so the first byte tells a decoder which it holds.

One certificate has exactly one text: the decoder refuses every other encoding of the same
signed bytes (untagged or 55799-wrapped COSE, non-minimal or indefinite-length CBOR heads, a
high-S or wrongly sized signature, a deflate stream other than the one zlib level 9 writes,
a deflated body where the plain one is no longer, and the reverse). A text that could be
rewritten without the key would let one certificate be shown, logged or counted as two.

Everything that reads untrusted input raises Malformed and nothing else; decompression and
sizes are bounded before any work is spent on them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2
import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

PREFIX = "TB1:"
COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
KID_BYTES = 8

# A QR code of version 40 holds at most 4,296 alphanumeric characters; nothing longer can be
# one of ours, so nothing longer is decoded.
MAX_TEXT_CHARS = 4296
# The largest COSE_Sign1 a decoder will inflate to. A typical certificate is a few hundred
# bytes; the bound is what stops a small deflate stream from expanding without limit.
MAX_COSE_BYTES = 16 * 1024
# What zlib writes at level 9 (CMF 0x78: deflate, 32 KiB window; FLG 0xDA). Other valid
# headers decode to the same bytes, so accepting them would let a byte change go unnoticed.
ZLIB_HEADER = b"\x78\xda"
ZLIB_LEVEL = 9
# The order n of the P-256 base point (SEC 2 §2.4.2). (r, s) and (r, n - s) are both valid
# ECDSA signatures of the same message; only s <= n / 2 ("low S") is the canonical one.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_TEXT = re.compile(r"[0-9A-Z $%*+\-./:]*")
_BASE45_VALUE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(BASE45_ALPHABET):
    _BASE45_VALUE[ord(_c)] = _i
_BASE45_WEIGHTS = np.array([1, 45, 45 * 45], dtype=np.uint32)
_BASE45_CHARS = np.frombuffer(BASE45_ALPHABET.encode("ascii"), dtype=np.uint8)


class Malformed(Exception):
    """The input is not a well-formed token; the message says which layer refused it."""


# ---------------------------------------------------------------- algorithms


@dataclass(frozen=True)
class Algorithm:
    """One COSE signature algorithm. Registering another (SM2 with a C-backed library, say)
    adds it to signing and verification without touching the format code."""

    cose_id: int
    name: str
    generate: Callable[[], Any]
    sign: Callable[[Any, bytes], bytes]
    verify: Callable[[Any, bytes, bytes], bool]
    # The public key as a JWK (RFC 7517) for the trust list.
    jwk: Callable[[Any], dict[str, str]]
    # Whether a signature is in the one form this algorithm's signer writes; the decoder
    # refuses any other as malformed, before any key is looked up.
    signature_canonical: Callable[[bytes], bool]


ALGORITHMS: dict[int, Algorithm] = {}


def register_algorithm(algorithm: Algorithm) -> None:
    ALGORITHMS[algorithm.cose_id] = algorithm


def _es256_sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Raw r || s with s normalised to the lower half of the group order, since the decoder
    accepts only that one of the two equivalent signatures."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    if s > P256_HALF_ORDER:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _es256_canonical(signature: bytes) -> bool:
    """Exactly 64 bytes of r || s with 0 < r < n and 0 < s <= n / 2."""
    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    return 0 < r < P256_ORDER and 0 < s <= P256_HALF_ORDER


def _es256_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """The mathematics only, either S: the trust list's JWS from another instance may have
    been signed before signers normalised S. Token decoders check the form separately."""
    if len(signature) != 64:
        return False
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _ec_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


ES256 = Algorithm(
    cose_id=-7,
    name="ES256",
    generate=lambda: ec.generate_private_key(ec.SECP256R1()),
    sign=_es256_sign,
    verify=_es256_verify,
    jwk=_ec_jwk,
    signature_canonical=_es256_canonical,
)
register_algorithm(ES256)
ALGORITHMS_BY_NAME = {a.name: a for a in ALGORITHMS.values()}


def algorithm_for_key(public_key: Any) -> Algorithm:
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        return ES256
    raise ValueError("unsupported key type")


# ---------------------------------------------------------------- keys


def public_key_spki(public_key: Any) -> bytes:
    """The DER SubjectPublicKeyInfo (RFC 5280) of a public key: the bytes the kid hashes."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kid_for(public_key: Any) -> bytes:
    """Key identifier: the first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(public_key_spki(public_key)).digest()[:KID_BYTES]


def public_key_pem(public_key: Any) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def private_key_pem(private_key: Any) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_public_pem(pem: str) -> Any:
    return serialization.load_pem_public_key(pem.encode("ascii"))


def load_private_pem(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode("ascii"), password=None)


# ---------------------------------------------------------------- COSE_Sign1


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed (RFC 9052 §4.4), with no external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign1(payload: bytes, *, private_key: Any, kid: bytes, alg: int = ES256.cose_id) -> bytes:
    """A tagged COSE_Sign1 over PAYLOAD with {1: alg, 4: kid} protected."""
    algorithm = ALGORITHMS[alg]
    protected = cbor2.dumps({HEADER_ALG: alg, HEADER_KID: kid})
    signature = algorithm.sign(private_key, sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


@dataclass(frozen=True)
class Sign1:
    protected: bytes
    alg: int
    kid: bytes
    payload: bytes
    signature: bytes

    def verify(self, public_key: Any) -> bool:
        algorithm = ALGORITHMS.get(self.alg)
        if algorithm is None:
            return False
        return algorithm.verify(
            public_key, self.signature, sig_structure(self.protected, self.payload)
        )


def cbor_loads_exact(data: bytes) -> Any:
    """Decode one CBOR item that spans DATA exactly: trailing bytes are not ignored, since
    bytes a verifier skips are bytes an attacker could change unnoticed."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types on hostile input; all mean the same
        raise Malformed("CBOR 解码失败") from exc
    if stream.tell() != len(data):
        raise Malformed("CBOR 之后有多余字节")
    return value


def require_deterministic(data: bytes, value: Any, what: str) -> None:
    """DATA must be the deterministic encoding (RFC 8949 §4.2.1: shortest heads, definite
    lengths, sorted map keys, no duplicate keys) of the VALUE decoded from it. One re-encoding
    does it: any other encoding of the same value comes out different. (cbor2's canonical
    order sorts keys by length first; for the keys this format allows, all integers of one
    width or all text, that is the same order as RFC 8949's bytewise one.)"""
    try:
        again = cbor2.dumps(value, canonical=True)
    except Exception as exc:  # values cbor2 decodes but cannot encode are not ours either
        raise Malformed(f"{what} 无法重新编码") from exc
    if again != data:
        raise Malformed(f"{what} 不是确定性编码")


def sign1_decode(data: bytes) -> Sign1:
    """Parse a COSE_Sign1 with the header shape this format uses, in its one encoding:
    tag 18 (no other tag, no untagged form), deterministic CBOR, the signature in its
    algorithm's canonical form."""
    value = cbor_loads_exact(data)
    # cbor2 strips a self-describe tag (55799) while decoding, so the first byte is what
    # tells a tagged COSE_Sign1 from one wrapped in anything else.
    if data[:1] != b"\xd2" or not isinstance(value, cbor2.CBORTag):
        raise Malformed("不是带标签 18 的 COSE_Sign1")
    if value.tag != COSE_SIGN1_TAG:
        raise Malformed("不是 COSE_Sign1 标签")
    value = value.value
    if not isinstance(value, list) or len(value) != 4:
        raise Malformed("COSE_Sign1 应为四元素数组")
    protected, unprotected, payload, signature = value
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, dict)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise Malformed("COSE_Sign1 元素类型不正确")
    if unprotected:
        raise Malformed("不接受非保护头部")
    # The envelope rebuilt from its parts: copies the payload bytes, does not re-encode them.
    if cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])) != data:
        raise Malformed("COSE_Sign1 不是确定性编码")
    header = cbor_loads_exact(protected)
    if not isinstance(header, dict) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise Malformed("保护头部应只含 alg 与 kid")
    alg, kid = header[HEADER_ALG], header[HEADER_KID]
    if type(alg) is not int or not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise Malformed("alg 或 kid 格式不正确")
    require_deterministic(protected, header, "保护头部")
    algorithm = ALGORITHMS.get(alg)
    # An algorithm this code does not know is left to the key check (bad_signature).
    if algorithm is not None and not algorithm.signature_canonical(signature):
        raise Malformed("签名格式不规范")
    return Sign1(protected, alg, kid, payload, signature)


# ---------------------------------------------------------------- text form


def _deflate(cose: bytes) -> bytes:
    return zlib.compress(cose, ZLIB_LEVEL)


def encode_text(cose: bytes) -> str:
    """TB1 text of a COSE_Sign1: deflated only where that makes it strictly shorter."""
    deflated = _deflate(cose)
    body = deflated if len(deflated) < len(cose) else cose
    return PREFIX + base45_encode(body)


def base45_encode(data: bytes) -> str:
    """RFC 9285 encoding; the same output as the `base45` package, vectorised because a
    随申码 is encoded every time a resident opens it and the package's loop cost a fifth of
    issuing one."""
    whole = len(data) - len(data) % 2
    groups = np.frombuffer(data[:whole], dtype=">u2").astype(np.uint32)
    digits = np.empty((len(groups), 3), dtype=np.uint32)
    digits[:, 0] = groups % 45
    digits[:, 1] = groups // 45 % 45
    digits[:, 2] = groups // 2025
    out = _BASE45_CHARS[digits.ravel()].tobytes()
    if len(data) % 2:
        out += _BASE45_CHARS[[data[-1] % 45, data[-1] // 45]].tobytes()
    return out.decode("ascii")


def base45_decode(text: str) -> bytes:
    """RFC 9285 decoding, strict: only the 45 characters, canonical groups.

    Vectorised because it runs once per verification and a per-character loop costs half as
    much as the signature check itself."""
    if not _BASE45_TEXT.fullmatch(text):
        raise Malformed("Base45 含有不允许的字符")
    n = len(text)
    if n % 3 == 1:
        raise Malformed("Base45 长度不正确")
    values = _BASE45_VALUE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    whole = n - n % 3
    groups = values[:whole].reshape(-1, 3).astype(np.uint32) @ _BASE45_WEIGHTS
    if groups.size and int(groups.max()) > 0xFFFF:
        raise Malformed("Base45 数值越界")
    out = groups.astype(">u2").tobytes()
    if n % 3 == 2:
        last = int(values[-2]) + int(values[-1]) * 45
        if last > 0xFF:
            raise Malformed("Base45 数值越界")
        out += bytes((last,))
    return out


def _inflate(body: bytes) -> bytes:
    """The COSE_Sign1 inside a deflated body, which must be byte for byte what `_deflate`
    writes for it and shorter than it. Re-deflating once covers the header, the block
    choices, the padding bits and trailing bytes together."""
    if body[:2] != ZLIB_HEADER:
        raise Malformed("zlib 头部不正确")
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, MAX_COSE_BYTES + 1)
    except zlib.error as exc:
        raise Malformed("解压失败") from exc
    if len(out) > MAX_COSE_BYTES or inflater.unconsumed_tail:
        raise Malformed("解压后超过大小上限")
    if not inflater.eof or inflater.unused_data:
        raise Malformed("压缩数据不完整或有多余字节")
    if len(body) >= len(out):
        raise Malformed("压缩后并未更短，应不压缩")
    if _deflate(out) != body:
        raise Malformed("压缩数据不是规范形式")
    return out


def decode_text(text: str) -> bytes:
    """The COSE_Sign1 bytes inside a TB1 text, exactly as written: no whitespace is trimmed.
    Raises Malformed."""
    if not isinstance(text, str):
        raise Malformed("输入不是文本")
    if len(text) > MAX_TEXT_CHARS:
        raise Malformed("文本过长")
    if not text.startswith(PREFIX):
        raise Malformed("缺少 TB1: 前缀")
    body = base45_decode(text[len(PREFIX) :])
    if not body:
        raise Malformed("内容为空")
    if body[0] == 0x78:
        return _inflate(body)
    if body[0] != 0xD2:
        raise Malformed("内容既不是 COSE_Sign1 也不是 zlib 流")
    if len(_deflate(body)) < len(body):
        raise Malformed("压缩后更短，应压缩")
    return body
