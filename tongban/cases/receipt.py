"""受理编号: digits only, read aloud in groups of four, ending in a Damm check digit.

Damm catches every single-digit error and every swap of two adjacent digits, the two mistakes
people make reading a number over the phone, without the letter X that ISO 7064 MOD 11 needs.
"""

from __future__ import annotations

import datetime as dt
import secrets

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
RECEIPT_LENGTH = 13


def damm_digit(digits: str) -> str:
    interim = 0
    for d in digits:
        interim = _DAMM[interim][int(d)]
    return str(interim)


def receipt_new(*, on: dt.date) -> str:
    """YYMMDD + six random digits + check digit: 13 digits, e.g. 2611270123456."""
    body = on.strftime("%y%m%d") + f"{secrets.randbelow(10**6):06d}"
    return body + damm_digit(body)


def receipt_normalise(raw: str) -> str | None:
    """The bare digits of RAW if it is a well-formed receipt number (spaces and dashes
    allowed, as people copy them), else None."""
    value = "".join(ch for ch in (raw or "") if ch not in " -")
    if len(value) != RECEIPT_LENGTH or not value.isascii() or not value.isdigit():
        return None
    if damm_digit(value) != "0":
        return None
    return value


def receipt_display(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
