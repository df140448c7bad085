"""小数抑制: counts under the threshold are left empty, and so is every rate one of them feeds."""

from __future__ import annotations

import pytest

from tongban.opendata.suppression import Rate, published_count, rate_of, suppressed_row

RATES = (Rate("online_rate", "online", "submitted"), Rate("late_rate", "late", "concluded"))


@pytest.mark.parametrize(
    ("value", "expected"), [(0, None), (1, None), (9, None), (10, 10), (11, 11), (250, 250)]
)
def test_a_count_is_published_from_the_threshold_up(value, expected):
    assert published_count(value, threshold=10) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (12, 13, 0.9231),
        (1, 3, 0.3333),
        (2, 3, 0.6667),
        (1, 8, 0.125),
        (5, 160000, 0.0),  # 0.00003125 rounds to 0.0000
        (15, 200000, 0.0001),  # 0.000075 rounds half-up to 0.0001
        (13, 13, 1.0),
        (None, 13, None),
        (12, None, None),
        (0, 0, None),
    ],
)
def test_rates_are_four_places_rounded_half_up_or_none(numerator, denominator, expected):
    assert rate_of(numerator, denominator) == expected


def test_a_row_keeps_its_keys_suppresses_small_counts_and_the_rates_resting_on_them():
    row = {
        "month": "2026-11",
        "code": "birth",
        "submitted": 40,
        "online": 37,
        "concluded": 9,
        "late": 0,
        "person_id": 123,  # never declared, never published
    }
    assert suppressed_row(
        row, keys=("month", "code"), counts=("submitted", "online", "concluded", "late"),
        rates=RATES, threshold=10,
    ) == {
        "month": "2026-11",
        "code": "birth",
        "submitted": 40,
        "online": 37,
        "concluded": None,
        "late": None,
        "online_rate": 0.925,
        "late_rate": None,
    }  # fmt: skip


def test_a_suppressed_numerator_hides_the_rate_too_so_it_cannot_be_multiplied_back():
    row = {"submitted": 50, "online": 3, "concluded": 20, "late": 12}
    out = suppressed_row(
        row, keys=(), counts=("submitted", "online", "concluded", "late"), rates=RATES,
        threshold=10,
    )  # fmt: skip
    assert out == {
        "submitted": 50,
        "online": None,
        "concluded": 20,
        "late": 12,
        "online_rate": None,
        "late_rate": 0.6,
    }


def test_the_threshold_is_whatever_is_configured():
    row = {"submitted": 4, "online": 3, "concluded": 0, "late": 0}
    out = suppressed_row(
        row, keys=(), counts=("submitted", "online", "concluded", "late"), rates=RATES,
        threshold=3,
    )  # fmt: skip
    assert out == {
        "submitted": 4,
        "online": 3,
        "concluded": None,
        "late": None,
        "online_rate": 0.75,
        "late_rate": None,
    }
