"""The token on its own: round trip, every byte guarded, no personal data, hostile text."""

from __future__ import annotations

import datetime as dt
import zlib

import base45
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.certificates import cose
from tongban.common.crypto import derived_key
from tongban.idcode import keys, services, subject
from tongban.idcode import token as t
from tongban.idcode.services import idcode_issue, qr_version

PRIVATE = cose.ES256.generate()
PUBLIC = PRIVATE.public_key()
KID = cose.kid_for(PUBLIC)
NOW = 1_800_000_000
CLAIMS = t.Claims(
    subject="c3ViamVjdC1wc2V1ZG9ueW0", issued_at=NOW, expires_at=NOW + 300, cti=b"n" * 16
)


def _keys(kid):
    return PUBLIC if kid == KID else None


def _text():
    return t.encode(CLAIMS, private_key=PRIVATE, kid=KID)


def test_round_trip_returns_the_claims():
    result = t.verify(_text(), public_key_for=_keys, now=NOW + 10)
    assert result.result == t.OK
    assert result.claims == CLAIMS
    assert _text().startswith("SSM1:")


def test_expiry_is_checked_against_the_given_time():
    assert t.verify(_text(), public_key_for=_keys, now=NOW + 299).result == t.OK
    assert t.verify(_text(), public_key_for=_keys, now=NOW + 300).result == t.EXPIRED
    # issued well in the future of the scanner's clock
    assert t.verify(_text(), public_key_for=_keys, now=NOW - 120).result == t.MALFORMED


def test_unknown_kid_and_other_key_are_forged():
    other = cose.ES256.generate()
    text = t.encode(CLAIMS, private_key=other, kid=KID)
    assert t.verify(text, public_key_for=_keys, now=NOW).result == t.FORGED
    assert t.verify(_text(), public_key_for=lambda kid: None, now=NOW).result == t.FORGED


def test_changing_any_byte_of_the_code_is_detected():
    raw = base45.b45decode(_text()[len(t.PREFIX) :])
    for i in range(len(raw)):
        for flip in (0x01, 0x80, 0xFF):
            changed = raw[:i] + bytes((raw[i] ^ flip,)) + raw[i + 1 :]
            text = t.PREFIX + base45.b45encode(changed).decode()
            assert t.verify(text, public_key_for=_keys, now=NOW).result != t.OK, (i, flip)


def test_changing_any_character_of_the_text_is_detected():
    text = _text()
    for i in range(len(text)):
        for c in "0Z:%":
            if text[i] != c:
                changed = text[:i] + c + text[i + 1 :]
                assert t.verify(changed, public_key_for=_keys, now=NOW).result != t.OK


N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _variants(text: str) -> dict[str, str]:
    """Other encodings of the same signed code, each of which a lenient decoder accepts."""
    raw = base45.b45decode(text[len(t.PREFIX) :])
    protected, _, payload, signature = cbor2.loads(raw).value
    twin = signature[:32] + (N - int.from_bytes(signature[32:], "big")).to_bytes(32, "big")
    wide_payload = b"\x59" + len(payload).to_bytes(2, "big") + payload
    bodies = {
        "high S": cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, twin])),
        "untagged": raw[1:],
        "self-describe 55799": b"\xd9\xd9\xf7" + raw,
        "payload length in a wider head": raw[:2]
        + cbor2.dumps(protected)
        + b"\xa0"
        + wide_payload
        + cbor2.dumps(signature),
        "indefinite-length array": b"\xd2\x9f" + raw[2:] + b"\xff",
        "deflated": zlib.compress(raw, 9),
        "trailing byte": raw + b"\x00",
    }
    out = {name: t.PREFIX + base45.b45encode(body).decode() for name, body in bodies.items()}
    out.update({"leading space": " " + text, "trailing newline": text + "\n"})
    return out


def test_every_other_encoding_of_a_code_is_malformed():
    text = _text()
    for name, variant in _variants(text).items():
        assert variant != text
        assert t.verify(variant, public_key_for=_keys, now=NOW).result == t.MALFORMED, name
    assert t.verify(text, public_key_for=_keys, now=NOW).result == t.OK


def test_codes_are_signed_with_low_s():
    for _ in range(50):
        raw = base45.b45decode(_text()[len(t.PREFIX) :])
        assert int.from_bytes(cbor2.loads(raw).value[3][32:], "big") <= N // 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_is_malformed_and_never_raises(text):
    assert t.verify(text, public_key_for=_keys, now=NOW).result == t.MALFORMED


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_behind_the_prefix_never_raise(data):
    text = t.PREFIX + base45.b45encode(data).decode()
    assert t.verify(text, public_key_for=_keys, now=NOW).result in (t.MALFORMED, t.FORGED)


@pytest.mark.parametrize("value", [None, 12, b"SSM1:", ["SSM1:"], "SSM1:" + "0" * 5000])
def test_non_text_and_oversized_input_is_malformed(value):
    assert t.verify(value, public_key_for=_keys, now=NOW).result == t.MALFORMED


@pytest.mark.django_db
def test_an_issued_code_holds_no_personal_data(resident):
    now = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    issued = idcode_issue(user=resident.user, now=now)
    sign1 = t.decode_cose(issued.text)
    claims = t.parse_payload(sign1.payload)
    raw = base45.b45decode(issued.text[len(t.PREFIX) :])
    for value in (
        resident.name,
        resident.id_number,
        resident.phone,
        resident.birth_date.isoformat(),
        resident.birth_date.strftime("%Y%m%d"),
        resident.user.username,
    ):
        assert value.encode() not in raw
        assert value not in issued.text
    assert claims.expires_at - claims.issued_at == 300
    assert issued.expires_at == now + dt.timedelta(seconds=300)
    assert issued.refresh_after == 270
    sealed = subject.unseal(
        t.subject_bytes(claims.subject),
        cti=claims.cti,
        key=derived_key(services.SUBJECT_KEY_LABEL),
    )
    assert sealed == subject.Subject(subject.PERSON, resident.pk, resident.user_id)
    assert t.verify(issued.text, public_key_for=keys.public_key_for, now=int(now.timestamp()))
    # Every field has a fixed size, so every code is the same length (docs: README 随申码).
    assert (len(issued.text), qr_version(issued.text)) == (239, 11)


@pytest.mark.django_db
def test_each_code_has_a_subject_of_its_own(resident):
    first = t.parse_payload(t.decode_cose(idcode_issue(user=resident.user).text).payload)
    second = t.parse_payload(t.decode_cose(idcode_issue(user=resident.user).text).payload)
    assert first.subject != second.subject and first.cti != second.cti
    assert len(t.subject_bytes(first.subject)) == 16
