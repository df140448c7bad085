"""Rules compiled for a whole population at once, to two targets that must agree with each
other and with tongban.policies.rules.evaluate:

- Polars expressions, for the batch run in process over a frame of the population;
- SQL (a WHERE clause with parameters), for a city whose data stays in its PostgreSQL-
  compatible database instead of being copied out.

Both follow the evaluator's three-valued logic: an unknown fact (NULL) makes a comparison
unknown, unknown is never eligible, `not` of unknown stays unknown, `any` holds if one
branch holds. Ages become date comparisons (age ≥ N on TODAY ⟺ born on or before the day N
years earlier), which both targets do without computing anyone's age. Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from tongban.policies.rules import ElementInfo


@dataclass(frozen=True)
class Column:
    """Where an element's value is in the population table, and what the element is."""

    name: str
    info: ElementInfo
    # The stored value is a number while the element compares text (a grade stored as 2,
    # chosen as "2"): both targets compare it as text.
    as_text: bool = False


class NotCompilable(Exception):
    """The rule reads an element that is not a plain column of the population table."""


def born_by(years: int, today: dt.date) -> dt.date:
    """The latest birth date of someone who is at least YEARS old on TODAY (a 29 February
    birthday is reached on 1 March in other years, as age_on counts it)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # today is 29 February; that year has none
        return dt.date(today.year - years, 2, 28)


def _age_range(op: str, years: int, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(born after, born on or before) bounds for an age comparison; None is unbounded."""
    if op == "ge":
        return None, born_by(years, today)
    if op == "gt":
        return None, born_by(years + 1, today)
    if op == "lt":
        return born_by(years, today), None
    if op == "le":
        return born_by(years + 1, today), None
    return born_by(years + 1, today), born_by(years, today)  # eq


def _column(node: dict, columns: dict[str, Column]) -> Column:
    code = node.get("element") or node["age_of"]
    found = columns.get(code)
    if found is None:
        raise NotCompilable(f"数据元 {code} 不是人口表中的列，无法批量比对")
    return found


# ---------------------------------------------------------------- Polars


def to_polars(node: dict, columns: dict[str, Column], today: dt.date) -> pl.Expr:
    if "all" in node:
        exprs = [to_polars(c, columns, today) for c in node["all"]]
        return pl.all_horizontal(exprs) if len(exprs) > 1 else exprs[0]
    if "any" in node:
        exprs = [to_polars(c, columns, today) for c in node["any"]]
        return pl.any_horizontal(exprs) if len(exprs) > 1 else exprs[0]
    if "not" in node:
        return ~to_polars(node["not"], columns, today)
    column = _column(node, columns)
    value = pl.col(column.name)
    op = node["op"]
    if "age_of" in node:
        after, by = _age_range(op, node["value"], today)
        parts = []
        if after is not None:
            parts.append(value > pl.lit(after))
        if by is not None:
            parts.append(value <= pl.lit(by))
        return pl.all_horizontal(parts) if len(parts) > 1 else parts[0]
    if column.as_text or column.info.type in ("choice", "district", "text"):
        value = value.cast(pl.String)
        value = pl.when(value == "").then(None).otherwise(value)
    if op == "is_true":
        return value == pl.lit(True)
    if op == "is_false":
        return value == pl.lit(False)
    right = node.get("value")
    if op in ("in", "not_in"):
        inside = value.is_in(list(right), nulls_equal=False)
        # is_in gives false, not null, for a null value: keep unknown unknown.
        inside = pl.when(value.is_null()).then(None).otherwise(inside)
        return inside if op == "in" else ~inside
    literal = pl.lit(_sql_value(column, right))
    return {
        "eq": value == literal,
        "ne": value != literal,
        "lt": value < literal,
        "le": value <= literal,
        "gt": value > literal,
        "ge": value >= literal,
    }[op]


# ---------------------------------------------------------------- SQL


def _sql_value(column: Column, value: Any) -> Any:
    if column.info.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def to_sql(
    node: dict, columns: dict[str, Column], today: dt.date, table: str = "p"
) -> tuple[str, list[Any]]:
    """A boolean SQL expression over TABLE's columns, with %s parameters."""
    if "all" in node or "any" in node:
        joiner = " AND " if "all" in node else " OR "
        parts, params = [], []
        for child in node.get("all") or node["any"]:
            sql, more = to_sql(child, columns, today, table)
            parts.append(f"({sql})")
            params += more
        return joiner.join(parts), params
    if "not" in node:
        sql, params = to_sql(node["not"], columns, today, table)
        return f"NOT ({sql})", params
    column = _column(node, columns)
    name = f"{table}.{column.name}"
    op = node["op"]
    if "age_of" in node:
        after, by = _age_range(op, node["value"], today)
        parts, params = [], []
        if after is not None:
            parts.append(f"{name} > %s")
            params.append(after)
        if by is not None:
            parts.append(f"{name} <= %s")
            params.append(by)
        return " AND ".join(parts), params
    if column.as_text or column.info.type in ("choice", "district", "text"):
        name = f"NULLIF(CAST({name} AS VARCHAR(200)), '')"
    if op in ("is_true", "is_false"):
        return f"{name} = %s", [op == "is_true"]
    right = node.get("value")
    if op in ("in", "not_in"):
        marks = ", ".join(["%s"] * len(right))
        return f"{name} {'NOT IN' if op == 'not_in' else 'IN'} ({marks})", list(right)
    symbol = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
    return f"{name} {symbol} %s", [_sql_value(column, right)]
