"""Small-cell suppression (小数抑制) for the published figures.

A count below the threshold (TONGBAN_OPENDATA_MIN_CELL) is published as empty: a month in
which three people rated a service could otherwise tell a neighbour who it was. A rate is
published only when both its counts are: with a suppressed denominator it would rest on a
handful of people, and with a suppressed numerator rate × denominator would give the hidden
count back. Zero is below any threshold of one or more and is suppressed like the rest, so
"none of them" is never published either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Rate:
    """A derived column: NUMERATOR / DENOMINATOR, both count columns of the same row."""

    name: str
    numerator: str
    denominator: str


def published_count(value: int, *, threshold: int) -> int | None:
    return value if value >= threshold else None


def rate_of(numerator: int | None, denominator: int | None) -> float | None:
    """The share as a decimal rounded half-up to four places (as 好差评 publishes its rates),
    or None when either side is not published or there is nothing to divide."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float((Decimal(numerator) / Decimal(denominator)).quantize(_FOUR_PLACES, ROUND_HALF_UP))


def suppressed_row(
    row: Mapping[str, Any],
    *,
    keys: Iterable[str],
    counts: Iterable[str],
    rates: Iterable[Rate],
    threshold: int,
) -> dict[str, Any]:
    """KEYS copied as they are, COUNTS suppressed below THRESHOLD, RATES computed from the
    published counts. Anything else in ROW is dropped: only declared columns are published."""
    out: dict[str, Any] = {key: row[key] for key in keys}
    for name in counts:
        out[name] = published_count(int(row[name]), threshold=threshold)
    for rate in rates:
        out[rate.name] = rate_of(out[rate.numerator], out[rate.denominator])
    return out
