"""The token format and the pure verification function: no database."""

from __future__ import annotations

import time
import zlib

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongban.certificates import cose
from tongban.certificates import verify as v

NOW = 1_800_000_000  # 2027-01-15, explicit: verification is a function of time
YEAR = 365 * 86400


class Issuer:
    def __init__(self, code: str = "SH-GA", *, retired_at: int | None = None):
        self.private = cose.ES256.generate()
        self.kid = cose.kid_for(self.private.public_key())
        self.code = code
        self.trusted = v.TrustedKey(
            kid=self.kid,
            alg=-7,
            public_key=self.private.public_key(),
            issuer=code,
            issuer_name="示例市公安局",
            valid_from=NOW - 10 * YEAR,
            retired_at=retired_at,
        )

    def token(self, **overrides) -> v.CertificateToken:
        fields = {
            "issuer": self.code,
            "issued_at": NOW - 100,
            "expires_at": NOW + YEAR,
            "cti": bytes(range(16)),
            "type_code": "resident_id_card",
            "type_version": 1,
            "claims": {
                "name": "张三",
                "id_number": "310104199001011234",
                "birth_date": "1990-01-01",
                "address": "上海市徐汇区示例路100弄1号101室",
            },
            "status_list": 1,
            "status_index": 4242,
        }
        return v.CertificateToken(**{**fields, **overrides})

    def cose(self, **overrides) -> bytes:
        return cose.sign1(
            v.token_payload(self.token(**overrides)), private_key=self.private, kid=self.kid
        )

    def text(self, **overrides) -> str:
        return cose.encode_text(self.cose(**overrides))


ISSUER = Issuer()
TRUST = v.TrustList.of([ISSUER.trusted])
NO_REVOCATIONS = v.status_lookup({1: v.StatusBits(bytes(16384))})


def check(text, *, trust=TRUST, at=NOW, status=NO_REVOCATIONS) -> v.VerificationResult:
    return v.verify_text(text, trust, at, status)


def raw_text(body: bytes) -> str:
    return cose.PREFIX + base45.b45encode(body).decode()


# ---------------------------------------------------------------- round trip


def test_round_trip_gives_back_every_claim():
    text = ISSUER.text()
    assert text.startswith("TB1:")
    result = check(text)
    assert result.code == "valid"
    assert result.message == "证照有效：签名正确，在有效期内，未被撤销。"
    assert result.issuer == "SH-GA"
    assert result.kid == ISSUER.kid
    assert result.token == ISSUER.token()


def test_kid_is_first_8_bytes_of_sha256_of_der_spki():
    import hashlib

    spki = cose.public_key_spki(ISSUER.private.public_key())
    assert spki[:2] == b"\x30\x59"  # SEQUENCE of 89 bytes: a P-256 SubjectPublicKeyInfo
    assert ISSUER.kid == hashlib.sha256(spki).digest()[:8]


def test_cose_structure_is_tagged_sign1_with_protected_alg_and_kid():
    decoded = cbor2.loads(ISSUER.cose())
    assert decoded.tag == 18
    protected, unprotected, payload, signature = decoded.value
    assert cbor2.loads(protected) == {1: -7, 4: ISSUER.kid}
    assert unprotected == {}
    assert len(signature) == 64
    claims = cbor2.loads(payload)
    assert claims[1] == "SH-GA" and claims[6] == NOW - 100 and claims[4] == NOW + YEAR
    assert claims[-65537]["t"] == "resident_id_card"
    assert claims[-65537]["s"] == [1, 4242]


def test_deflate_is_used_only_where_it_is_shorter():
    short = ISSUER.cose(claims={"name": "张三"})
    assert cose.base45_decode(cose.encode_text(short)[4:]) == short
    long = ISSUER.cose(claims={"note": "示例" * 100})
    body = cose.base45_decode(cose.encode_text(long)[4:])
    assert body[:2] == b"\x78\xda"
    assert zlib.decompress(body) == long
    assert check(cose.encode_text(long)).code == "valid"


@given(st.binary(max_size=600))
def test_fast_base45_decoder_agrees_with_reference(data):
    encoded = base45.b45encode(data).decode()
    assert cose.base45_decode(encoded) == base45.b45decode(encoded) == data


@given(st.binary(max_size=600))
def test_fast_base45_encoder_agrees_with_reference(data):
    assert cose.base45_encode(data) == base45.b45encode(data).decode()


@pytest.mark.parametrize(
    ("data", "text"),
    # RFC 9285 §4.3's examples, and the largest values of a pair and of a single byte.
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"", ""),
        (b"\xff\xff", "FGW"),
        (b"\xff", "U5"),
    ],
)
def test_base45_encoder_on_known_values(data, text):
    assert cose.base45_encode(data) == text


@pytest.mark.parametrize("text", ["A", "GGW", "ab", ":::", "AB\n", "ÄB"])
def test_base45_refuses_non_canonical_or_foreign_text(text):
    with pytest.raises(cose.Malformed):
        cose.base45_decode(text)


# ---------------------------------------------------------------- tampering


def test_flipping_any_bit_pattern_of_any_cose_byte_is_never_valid():
    signed = ISSUER.cose()
    for position in range(len(signed)):
        for mask in (0x01, 0x80, 0xFF):
            changed = bytearray(signed)
            changed[position] ^= mask
            result = check(raw_text(bytes(changed)))
            assert result.code != "valid", (position, mask)


@pytest.mark.parametrize("deflated", [False, True], ids=["plain", "deflated"])
def test_changing_any_character_of_the_text_is_never_valid(deflated):
    claims = {"note": "示例" * 100} if deflated else ISSUER.token().claims
    text = ISSUER.text(claims=claims)
    body = cose.base45_decode(text[4:])
    assert (body[:1] == b"\x78") is deflated
    alphabet = cose.BASE45_ALPHABET
    for position in range(len(text)):
        replacement = "T" if text[position] != "T" else "U"
        if position >= 4:
            replacement = alphabet[(alphabet.index(text[position]) + 1) % 45]
        changed = text[:position] + replacement + text[position + 1 :]
        assert check(changed).code != "valid", position


def test_other_zlib_headers_and_trailing_bytes_are_refused():
    signed = ISSUER.cose(claims={"note": "示例" * 100})
    body = zlib.compress(signed, 9)
    assert check(raw_text(body)).code == "valid"
    # 78 01 is a valid zlib header that decodes to the same bytes.
    assert zlib.decompress(b"\x78\x01" + body[2:]) == signed
    assert check(raw_text(b"\x78\x01" + body[2:])).code == "malformed"
    assert check(raw_text(body + b"\x00")).code == "malformed"  # trailing byte


def _padding_bits(body: bytes, signed: bytes) -> list[bytes]:
    """Variants of BODY with one bit of the last deflate byte flipped that still decode."""
    at = len(body) - 5
    found = []
    for bit in range(8):
        probe = bytearray(body)
        probe[at] ^= 1 << bit
        try:
            if zlib.decompress(bytes(probe)) == signed:
                found.append(bytes(probe))
        except zlib.error:
            pass
    return found


def test_set_padding_bits_in_the_last_deflate_byte_are_refused():
    # Whether the stream ends mid-byte depends on the (random) signature; try until it does.
    for serial in range(50):
        signed = ISSUER.cose(claims={"note": "示例" * 100}, cti=bytes([serial]) * 16)
        body = zlib.compress(signed, 9)
        variants = _padding_bits(body, signed)
        if variants:
            break
    assert variants
    for variant in variants:
        assert check(raw_text(variant)).code == "malformed"


def test_trailing_bytes_after_cose_are_refused():
    assert check(raw_text(ISSUER.cose() + b"\x00")).code == "malformed"


def test_zip_bomb_is_refused_without_inflating_it_all():
    bomb = zlib.compress(b"\x00" * (2 * 1024 * 1024), 9)  # 1,000 : 1
    text = raw_text(bomb)
    assert len(text) <= cose.MAX_TEXT_CHARS
    result = check(text)
    assert result.code == "malformed"
    assert result.detail == "解压后超过大小上限"


def test_overlong_text_is_refused_before_decoding():
    assert check("TB1:" + "0" * cose.MAX_TEXT_CHARS).detail == "文本过长"


# ---------------------------------------------------------------- hostile input never raises


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_is_malformed(text):
    assert check(text).code == "malformed"


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_random_bytes_behind_the_prefix_are_malformed(data):
    assert check(raw_text(data)).code == "malformed"
    assert check(raw_text(zlib.compress(data, 9))).code == "malformed"


cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.floats(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-70000, 10) | st.text(max_size=3), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(cbor_values, cbor_values)
def test_random_cbor_in_a_validly_signed_envelope_never_crashes(header, payload):
    protected = cbor2.dumps(header)
    body = cbor2.dumps(payload)
    sig = cose.ES256.sign(ISSUER.private, cose.sig_structure(protected, body))
    envelope = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, sig]))
    assert check(raw_text(envelope)).code in v.REASON_CODES
    # The same claims behind a well-formed header: only a well-shaped CWT may pass.
    good = ISSUER.private
    signed = cose.sign1(body, private_key=good, kid=ISSUER.kid)
    assert check(raw_text(signed)).code == "malformed"


@pytest.mark.parametrize("value", [None, b"TB1:", 42, ["TB1:"], "TB1:\x00", "tb1:ABC"])
def test_values_that_are_not_tb1_text_are_malformed(value):
    assert check(value).code == "malformed"


def test_cbor_cycles_and_odd_tags_are_malformed():
    # Tag 28/29 (shared references) can build a cycle; tag 35 a regular expression.
    payload = bytes.fromhex("d81ca1016a53482d4741") + b""
    signed = cose.sign1(payload, private_key=ISSUER.private, kid=ISSUER.kid)
    assert check(raw_text(signed)).code == "malformed"
    regex = cbor2.dumps(cbor2.CBORTag(35, "(a+)+$"))
    signed = cose.sign1(regex, private_key=ISSUER.private, kid=ISSUER.kid)
    assert check(raw_text(signed)).code == "malformed"


# ---------------------------------------------------------------- reasons


def test_expired_and_not_yet_valid_follow_the_given_time():
    text = ISSUER.text(issued_at=NOW, expires_at=NOW + 1000, not_before=NOW + 10)
    assert check(text, at=NOW + 9).code == "not_yet_valid"
    assert check(text, at=NOW + 10).code == "valid"
    assert check(text, at=NOW + 999).code == "valid"
    assert check(text, at=NOW + 1000).code == "expired"
    assert check(text, at=NOW + 1000).message == "证照已超过有效期。"


def test_issued_in_the_future_beyond_clock_skew_is_not_yet_valid():
    text = ISSUER.text(issued_at=NOW + 301)
    assert check(text).code == "not_yet_valid"
    assert check(ISSUER.text(issued_at=NOW + 299)).code == "valid"


def test_permanent_certificates_do_not_expire():
    assert check(ISSUER.text(expires_at=None), at=NOW + 50 * YEAR).code == "valid"


def test_unknown_issuer_shows_no_claims():
    stranger = Issuer()
    result = check(stranger.text())
    assert result.code == "unknown_issuer"
    assert result.token is None


def test_issuer_claim_must_match_the_key_owner():
    assert check(ISSUER.text(issuer="SH-MZJ")).code == "unknown_issuer"


def test_root_key_cannot_sign_certificates():
    root = Issuer(v.ROOT_ISSUER)
    trust = v.TrustList.of([ISSUER.trusted, root.trusted])
    assert check(root.text(issuer=v.ROOT_ISSUER), trust=trust).code == "unknown_issuer"


def test_signature_by_another_key_with_a_trusted_kid_is_bad_signature():
    forger = cose.ES256.generate()
    payload = v.token_payload(ISSUER.token(claims={"name": "李四"}))
    forged = cose.sign1(payload, private_key=forger, kid=ISSUER.kid)
    result = check(cose.encode_text(forged))
    assert result.code == "bad_signature"
    assert result.token is None


def test_revoked_and_unavailable_status():
    bits = bytearray(16384)
    v.set_bit(bits, 4242)
    assert bits[4242 // 8] == 1 << (4242 % 8)  # least significant bit first
    revoked = v.status_lookup({1: v.StatusBits(bytes(bits))})
    assert check(ISSUER.text(), status=revoked).code == "revoked"
    assert check(ISSUER.text(status_index=4243), status=revoked).code == "valid"
    assert check(ISSUER.text(status_list=2), status=revoked).code == "status_unavailable"
    assert check(ISSUER.text(status_index=16384 * 8), status=revoked).code == "status_unavailable"


def test_retired_key_verifies_what_it_signed_before_retirement_only():
    old = Issuer(retired_at=NOW - 50)
    trust = v.TrustList.of([old.trusted])
    assert check(old.text(issued_at=NOW - 1000), trust=trust).code == "valid"
    assert check(old.text(issued_at=NOW - 50 + 301), trust=trust).code == "unknown_issuer"


def test_status_list_token_round_trip():
    root = Issuer(v.ROOT_ISSUER)
    bits = bytearray(16384)
    v.set_bit(bits, 7)
    payload = v.status_list_payload(list_id=3, bits=bytes(bits), issued_at=NOW, expires_at=NOW + 60)
    token = cose.sign1(payload, private_key=root.private, kid=root.kid)
    trust = v.TrustList.of([root.trusted])
    list_id, status = v.status_list_from_token(token, trust, at=NOW)
    assert list_id == 3 and status.is_set(7) is True and status.is_set(8) is False
    with pytest.raises(ValueError, match="expired"):
        v.status_list_from_token(token, trust, at=NOW + 60)
    issuer_signed = cose.sign1(payload, private_key=ISSUER.private, kid=ISSUER.kid)
    with pytest.raises(ValueError, match="root"):
        v.status_list_from_token(issuer_signed, TRUST, at=NOW)


# ---------------------------------------------------------------- interoperability


def test_an_independent_cwt_library_verifies_our_token_with_the_published_jwk():
    import cwt
    from cwt import COSEKey

    issuer = Issuer()
    now = int(time.time())
    signed = issuer.cose(issued_at=now, expires_at=now + 3600)
    # The trust list publishes the key as SPKI (here as PEM) and its kid as hex; cwt matches
    # keys by the kid bytes of the protected header.
    key = COSEKey.from_pem(
        cose.public_key_pem(issuer.private.public_key()), alg="ES256", kid=issuer.kid
    )
    claims = cwt.decode(signed, keys=key)
    assert claims[1] == "SH-GA"
    assert claims[-65537]["c"]["name"] == "张三"
    tampered = bytearray(signed)
    tampered[-1] ^= 1
    with pytest.raises(cwt.VerifyError):
        cwt.decode(bytes(tampered), keys=key)


def test_a_failing_status_source_means_status_unavailable():
    def broken(list_id, index):
        raise ConnectionError("status list server down")

    assert check(ISSUER.text(), status=broken).code == "status_unavailable"


# ---------------------------------------------------------------- one certificate, one text

# The order of the P-256 group, written out here rather than taken from the code under test.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIGNED = ISSUER.cose()
PROTECTED, _, PAYLOAD, SIGNATURE = cbor2.loads(SIGNED).value


def head(major: int, value: int, width: int) -> bytes:
    """A CBOR head whose argument takes WIDTH bytes (1, 2, 4 or 8), needed or not."""
    code = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes((major << 5 | code,)) + value.to_bytes(width, "big")


def bstr(data: bytes, width: int = 0) -> bytes:
    if width:
        return head(2, len(data), width) + data
    return cbor2.dumps(data)


def envelope(
    *,
    tag=b"\xd2",
    array=b"\x84",
    protected=None,
    unprotected=b"\xa0",
    payload=None,
    signature=None,
    end=b"",
) -> bytes:
    return (
        tag
        + array
        + (protected if protected is not None else bstr(PROTECTED))
        + unprotected
        + (payload if payload is not None else bstr(PAYLOAD))
        + (signature if signature is not None else bstr(SIGNATURE))
        + end
    )


def high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:], "big")
    return signature[:32] + (N - s).to_bytes(32, "big")


def test_the_canonical_envelope_is_what_the_helpers_rebuild():
    assert envelope() == SIGNED
    assert check(cose.encode_text(SIGNED)).code == "valid"
    text = ISSUER.text()
    assert cose.encode_text(cose.decode_text(text)) == text


NON_CANONICAL_ENVELOPES = {
    "untagged": lambda: SIGNED[1:],
    "self-describe 55799 around tag 18": lambda: b"\xd9\xd9\xf7" + SIGNED,
    "tag 18 in a two-byte head": lambda: envelope(tag=b"\xd8\x12"),
    "array length in a two-byte head": lambda: envelope(array=b"\x98\x04"),
    "protected length in a wider head": lambda: envelope(protected=bstr(PROTECTED, 2)),
    "payload length in a wider head": lambda: envelope(payload=bstr(PAYLOAD, 4)),
    "signature length in a wider head": lambda: envelope(signature=bstr(SIGNATURE, 2)),
    "indefinite-length array": lambda: envelope(array=b"\x9f", end=b"\xff"),
    "indefinite-length unprotected map": lambda: envelope(unprotected=b"\xbf\xff"),
    "payload as indefinite-length chunks": lambda: envelope(
        payload=b"\x5f" + bstr(PAYLOAD[:100]) + bstr(PAYLOAD[100:]) + b"\xff"
    ),
    "signature with s replaced by n - s": lambda: envelope(signature=bstr(high_s(SIGNATURE))),
    "trailing byte": lambda: SIGNED + b"\x00",
}


@pytest.mark.parametrize("variant", sorted(NON_CANONICAL_ENVELOPES))
def test_another_encoding_of_the_same_signed_bytes_is_malformed(variant):
    body = NON_CANONICAL_ENVELOPES[variant]()
    assert body != SIGNED
    # Each variant still carries the same signed bytes; a lenient decoder would accept it.
    assert cbor2.loads(body[3:] if variant.startswith("self") else body) is not None
    # encode_text makes the right deflate choice for these bytes, so only the CBOR is at fault.
    result = check(cose.encode_text(body))
    assert result.code == "malformed", result.detail
    assert result.token is None


def test_high_s_copy_verifies_mathematically_but_is_malformed():
    twin = high_s(SIGNATURE)
    sign1 = cose.Sign1(PROTECTED, -7, ISSUER.kid, PAYLOAD, twin)
    assert sign1.verify(ISSUER.private.public_key())  # the bypass the rule closes
    result = check(cose.encode_text(envelope(signature=bstr(twin))))
    assert (result.code, result.detail) == ("malformed", "签名格式不规范")


def _resigned(protected: bytes, payload: bytes) -> bytes:
    sig = cose.ES256.sign(ISSUER.private, cose.sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, sig]))


def test_signed_but_non_deterministic_protected_header_or_claims_are_malformed():
    reversed_header = b"\xa2\x04" + bstr(ISSUER.kid) + b"\x01\x26"  # {4: kid, 1: -7}
    assert cbor2.loads(reversed_header) == cbor2.loads(PROTECTED)
    wide_alg = b"\xa2\x01\x38\x06\x04" + bstr(ISSUER.kid)  # -7 as 0x38 0x06
    assert cbor2.loads(wide_alg) == cbor2.loads(PROTECTED)
    claims = cbor2.loads(PAYLOAD)
    unsorted = cbor2.dumps(dict(reversed(list(claims.items()))))
    assert unsorted != PAYLOAD and cbor2.loads(unsorted) == claims
    for protected, payload in [
        (reversed_header, PAYLOAD),
        (wide_alg, PAYLOAD),
        (PROTECTED, unsorted),
    ]:
        result = check(cose.encode_text(_resigned(protected, payload)))
        assert result.code == "malformed", result.detail
    assert check(cose.encode_text(_resigned(PROTECTED, PAYLOAD))).code == "valid"


def _with_signature(signature: bytes) -> str:
    return cose.encode_text(envelope(signature=bstr(signature)))


def test_signature_of_any_other_length_or_range_is_malformed_not_bad_signature():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    der = ISSUER.private.sign(cose.sig_structure(PROTECTED, PAYLOAD), ec.ECDSA(hashes.SHA256()))
    assert 68 <= len(der) <= 72 and der[0] == 0x30
    r = SIGNATURE[:32]
    for signature in [
        der,
        SIGNATURE[:63],
        SIGNATURE + b"\x00",
        b"\x00" + SIGNATURE,
        bytes(32) + SIGNATURE[32:],  # r = 0
        N.to_bytes(32, "big") + SIGNATURE[32:],  # r = n
        r + bytes(32),  # s = 0
        r + (N // 2 + 1).to_bytes(32, "big"),  # smallest high s
    ]:
        assert check(_with_signature(signature)).code == "malformed", signature.hex()
    # A well-formed signature that does not verify is still bad_signature.
    wrong = r + (N // 2).to_bytes(32, "big")
    assert check(_with_signature(wrong)).code == "bad_signature"


def test_signer_writes_low_s_only():
    key = cose.ES256.generate()
    for i in range(200):
        data = i.to_bytes(2, "big")
        signature = cose.ES256.sign(key, data)
        assert len(signature) == 64
        assert 0 < int.from_bytes(signature[32:], "big") <= N // 2, i
        assert cose.ES256.verify(key.public_key(), signature, data)


@pytest.mark.parametrize("padded", [" {}", "{} ", "{}\n", "\t{}", "{}\r\n", "\ufeff{}", "{}\x00"])
def test_verifier_takes_the_text_exactly_as_given(padded):
    text = ISSUER.text()
    assert check(text).code == "valid"
    assert check(padded.format(text)).code == "malformed"


def test_deflating_a_body_that_does_not_shrink_is_malformed():
    assert len(zlib.compress(SIGNED, 9)) >= len(SIGNED)
    result = check(raw_text(zlib.compress(SIGNED, 9)))
    assert (result.code, result.detail) == ("malformed", "压缩后并未更短，应不压缩")


def test_leaving_plain_a_body_that_deflate_shortens_is_malformed():
    signed = ISSUER.cose(claims={"note": "示例" * 100})
    assert len(zlib.compress(signed, 9)) < len(signed)
    assert check(raw_text(zlib.compress(signed, 9))).code == "valid"
    result = check(raw_text(signed))
    assert (result.code, result.detail) == ("malformed", "压缩后更短，应压缩")


def _stream(signed: bytes, how: str) -> bytes:
    if how == "level 1":
        return zlib.compress(signed, 1)
    if how == "two blocks":
        packer = zlib.compressobj(9)
        return (
            packer.compress(signed[:100])
            + packer.flush(zlib.Z_FULL_FLUSH)
            + (packer.compress(signed[100:]) + packer.flush())
        )
    memory, strategy = {"memLevel 1": (1, 0), "Huffman only": (9, zlib.Z_HUFFMAN_ONLY)}[how]
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, memory, strategy)
    return packer.compress(signed) + packer.flush()


@pytest.mark.parametrize("how", ["level 1", "two blocks", "memLevel 1", "Huffman only"])
def test_another_deflate_stream_of_the_same_bytes_is_malformed(how):
    signed = ISSUER.cose(claims={"note": "示例" * 100})
    # The expected header in front, so only the deflate data differs from zlib level 9's.
    body = b"\x78\xda" + _stream(signed, how)[2:]
    assert body[:2] == b"\x78\xda" and zlib.decompress(body) == signed
    assert body != zlib.compress(signed, 9) and len(body) < len(signed)
    result = check(raw_text(body))
    assert (result.code, result.detail) == ("malformed", "压缩数据不是规范形式")


def test_a_body_that_is_neither_cose_nor_zlib_is_malformed():
    result = check(raw_text(b"\x84" + SIGNED[2:]))
    assert result.code == "malformed"
