"""What a scenario may see, computed from 一人一档 / 一企一档. Each attribute is one small
function, so the registry can name exactly which ones a scenario gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tongban.accounts.validators import mask_name

SENIOR_FREE_RIDE_AGE = 70


def age_on(birth_date: dt.date, today: dt.date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def _is_resident(p) -> bool:
    # 本市户籍, or a 居住证 holder: who the city's services treat as its residents.
    return bool(p.hukou_is_local or p.has_residence_permit)


# The columns the functions below read: a scan loads these and nothing else (not the
# encrypted ones). A function that reads another field still works, with one more query.
PERSON_FIELDS = ("name", "hukou_is_local", "has_residence_permit", "is_veteran", "birth_date")
ENTERPRISE_FIELDS = ("name", "status")

PERSON_ATTRIBUTES: dict[str, Callable[[Any, dt.date], Any]] = {
    "display_name": lambda p, today: p.name,
    "display_name_masked": lambda p, today: mask_name(p.name),
    "is_resident": lambda p, today: _is_resident(p),
    "is_veteran": lambda p, today: bool(p.is_veteran),
    "library_eligible": lambda p, today: _is_resident(p),
    "is_senior_free_ride": lambda p, today: age_on(p.birth_date, today) >= SENIOR_FREE_RIDE_AGE,
}

ENTERPRISE_ATTRIBUTES: dict[str, Callable[[Any, dt.date], Any]] = {
    "enterprise_name": lambda e, today: e.name,
    "enterprise_status": lambda e, today: e.get_status_display(),
}


def attributes_for(subject: Any, names: tuple[str, ...], *, enterprise: bool, today: dt.date):
    table = ENTERPRISE_ATTRIBUTES if enterprise else PERSON_ATTRIBUTES
    return {name: table[name](subject, today) for name in names}
