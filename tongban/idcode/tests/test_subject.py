"""The sealed subject on its own: what it hides, what it refuses."""

from __future__ import annotations

import pytest

from tongban.idcode import subject
from tongban.idcode.subject import ENTERPRISE, PERSON, Subject, seal, unseal

KEY = bytes(range(32))
CTI = bytes.fromhex("00112233445566778899aabbccddeeff")


def test_a_sealed_subject_opens_under_its_cti_and_key_only():
    sealed = seal(Subject(PERSON, 4321, 765), cti=CTI, key=KEY)
    assert len(sealed) == 16
    assert unseal(sealed, cti=CTI, key=KEY) == Subject(PERSON, 4321, 765)
    other_cti = bytes([CTI[0] ^ 1]) + CTI[1:]
    assert unseal(sealed, cti=other_cti, key=KEY) is None
    assert unseal(sealed, cti=CTI, key=bytes(32)) is None
    # Only the first five bytes of the cti are bound: the rest does not matter to it.
    assert unseal(sealed, cti=CTI[:5] + bytes(11), key=KEY) == Subject(PERSON, 4321, 765)


def test_two_codes_of_one_holder_share_no_byte_position_by_design():
    first = seal(Subject(ENTERPRISE, 9, 10), cti=CTI, key=KEY)
    second = seal(Subject(ENTERPRISE, 9, 10), cti=bytes(5) + CTI[5:], key=KEY)
    assert first != second
    assert unseal(second, cti=bytes(16), key=KEY) == Subject(ENTERPRISE, 9, 10)


@pytest.mark.parametrize(
    "tampered",
    [b"", b"\x00" * 15, b"\x00" * 17],
)
def test_anything_but_one_block_is_refused(tampered):
    assert unseal(tampered, cti=CTI, key=KEY) is None


def test_every_flipped_bit_is_refused():
    sealed = seal(Subject(PERSON, 1, 1), cti=CTI, key=KEY)
    for i in range(16 * 8):
        flipped = bytearray(sealed)
        flipped[i // 8] ^= 1 << (i % 8)
        assert unseal(bytes(flipped), cti=CTI, key=KEY) is None


@pytest.mark.parametrize(
    "value",
    [Subject(3, 1, 1), Subject(PERSON, 0, 1), Subject(PERSON, 1, 0), Subject(PERSON, 2**40, 1)],
)
def test_what_cannot_be_sealed_is_refused(value):
    with pytest.raises(ValueError):
        seal(value, cti=CTI, key=KEY)


def test_the_largest_ids_round_trip():
    big = Subject(PERSON, subject.MAX_ID, subject.MAX_ID)
    assert unseal(seal(big, cti=CTI, key=KEY), cti=CTI, key=KEY) == big
