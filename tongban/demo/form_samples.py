"""Valid sample values for data elements, so tests and benchmarks can fill any merged form of
the demo catalog without knowing its fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tongban.accounts.validators import make_credit_code, make_id_number
from tongban.catalog.schemas import DataElementDef

# Patterns the demo catalog uses, with a value each one accepts.
_PATTERNED = {r"^([01]\d|2[0-3]):[0-5]\d$": "08:30", r"^\d{12,19}$": "6222020000000000"}


def sample_value(element: DataElementDef, *, n: int, today: dt.date) -> Any:
    """A value ELEMENT accepts — its own 示例值 where the definition gives one; `n` varies
    identity numbers so several samples do not clash."""
    if element.example is not None:
        return element.example
    if element.type == "slot":
        # A 预约时段 is a place in the city's booking slots, not a value anyone makes up:
        # callers choose one of the slots the form lists.
        return None
    if element.type == "id_number":
        return make_id_number("310104", dt.date(1990, 1, 1) + dt.timedelta(days=n), 100 + n)
    if element.type == "uscc":
        return make_credit_code(region="310115", seq=n + 1)
    if element.type == "date":
        return (today - dt.timedelta(days=5)).isoformat()
    if element.type == "phone":
        return "13912345678"
    if element.type == "choice":
        return element.choices[0].value
    if element.type in ("integer", "decimal"):
        low = element.min_value if element.min_value is not None else 1
        return int(low) if element.type == "integer" else str(low)
    if element.type == "boolean":
        return True
    if element.type == "district":
        return "310104"
    if element.type == "email":
        return "a@example.cn"
    if element.pattern:
        return _PATTERNED.get(element.pattern, "2026-01")
    return "示例"[: element.max_length or 60]
