"""Rules compiled for a whole population at once, to two targets that must agree with each
other and with tongban.policies.rules.evaluate:

- Polars expressions, for the batch run in process over a frame of the population;
- SQL (a WHERE clause with parameters), for a city whose data stays in its PostgreSQL-
  compatible database instead of being copied out.

Both follow the evaluator's three-valued logic: an unknown fact (NULL) makes a comparison
unknown, unknown is never eligible, `not` of unknown stays unknown, `any` holds if one
branch holds. Ages become date comparisons (age ≥ N on TODAY ⟺ born on or before the day N
years earlier), which both targets do without computing anyone's age. Household counts and
sums are window aggregates over the household key in Polars and correlated subqueries in SQL.
Pure: no Django.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from tongban.policies.rules import ElementInfo, age_reference

# The population table's column that groups people into households (户).
HOUSEHOLD_KEY = "household_id"


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
    if "household" in node:
        return _compare_polars(node["op"], _household_polars(node, columns, today), node["value"])
    column = _column(node, columns)
    value = pl.col(column.name)
    op = node["op"]
    if "age_of" in node:
        after, by = _age_range(op, node["value"], age_reference(node, today))
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
    return _compare_polars(op, value, _sql_value(column, right))


def _compare_polars(op: str, value: pl.Expr, right: Any) -> pl.Expr:
    literal = pl.lit(right)
    return {
        "eq": value == literal,
        "ne": value != literal,
        "lt": value < literal,
        "le": value <= literal,
        "gt": value > literal,
        "ge": value >= literal,
    }[op]


def _household_polars(node: dict, columns: dict[str, Column], today: dt.date) -> pl.Expr:
    spec = node["household"]
    key = pl.col(HOUSEHOLD_KEY)
    if "count" in spec:
        if spec["count"] == "all":
            value = pl.len().over(HOUSEHOLD_KEY)
        else:
            holds = to_polars(spec["count"], columns, today).fill_null(False)
            value = holds.cast(pl.Int64).sum().over(HOUSEHOLD_KEY)
    else:
        kind = "sum" if "sum" in spec else "mean"
        number = pl.col(_column({"element": spec[kind]}, columns).name).cast(pl.Float64)
        value = number.sum().over(HOUSEHOLD_KEY)
        if kind == "mean":
            value = value / pl.len().over(HOUSEHOLD_KEY)
        value = pl.when(number.is_null().any().over(HOUSEHOLD_KEY)).then(None).otherwise(value)
    return pl.when(key.is_null()).then(None).otherwise(value)


def eligible_ids(frame: pl.DataFrame, expressions: dict[str, pl.Expr]) -> dict[str, Any]:
    """The ids each rule in EXPRESSIONS (code → compiled rule) finds in FRAME, all evaluated
    in one lazy query, so that what rules share (a household's size, an age bound) is worked
    out once and the rules run in parallel. A rule that fails to evaluate gets its exception
    instead of ids, and does not stop the others."""
    if not expressions:
        return {}
    names = {code: f"rule_{i}" for i, code in enumerate(expressions)}
    query = frame.lazy().select(
        pl.col("id"), *(expr.alias(names[code]) for code, expr in expressions.items())
    )
    try:
        masks = query.collect()
    except pl.exceptions.PolarsError:
        found: dict[str, Any] = {}
        for code, expr in expressions.items():  # one of them fails: find which, alone
            try:
                found[code] = set(frame.filter(expr)["id"].to_list())
            except pl.exceptions.PolarsError as exc:
                found[code] = exc
        return found
    return {code: set(masks.filter(pl.col(name))["id"].to_list()) for code, name in names.items()}


# ---------------------------------------------------------------- SQL


def _sql_value(column: Column, value: Any) -> Any:
    if column.info.type == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


SYMBOLS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def to_sql_query(
    node: dict, columns: dict[str, Column], today: dt.date, relation: str
) -> tuple[str, list[Any]]:
    """`SELECT p.id FROM RELATION p WHERE <rule>`, with %s parameters. Household conditions
    become window aggregates over the household key, computed once in a derived table."""
    windows: list[tuple[str, list[Any]]] = []
    where, params = to_sql(node, columns, today, "p", windows)
    if not windows:
        return f"SELECT p.id FROM {relation} p WHERE {where}", params  # noqa: S608
    derived = ", ".join(f"{sql} AS _h{i}" for i, (sql, _) in enumerate(windows))
    inner = f"SELECT p.*, {derived} FROM {relation} p"  # noqa: S608
    window_params = [value for _, values in windows for value in values]
    return f"SELECT p.id FROM ({inner}) p WHERE {where}", window_params + params  # noqa: S608


def to_sql(
    node: dict,
    columns: dict[str, Column],
    today: dt.date,
    table: str = "p",
    windows: list | None = None,
) -> tuple[str, list[Any]]:
    """A boolean SQL expression over TABLE's columns, with %s parameters. A household
    condition adds its aggregate to WINDOWS (to_sql_query selects them) and compares the
    derived column."""
    if "all" in node or "any" in node:
        joiner = " AND " if "all" in node else " OR "
        parts, params = [], []
        for child in node.get("all") or node["any"]:
            sql, more = to_sql(child, columns, today, table, windows)
            parts.append(f"({sql})")
            params += more
        return joiner.join(parts), params
    if "not" in node:
        sql, params = to_sql(node["not"], columns, today, table, windows)
        return f"NOT ({sql})", params
    if "household" in node:
        if windows is None:
            raise NotCompilable("家庭成员统计需要整条查询（to_sql_query）")
        windows.append(_household_sql(node["household"], columns, today, table))
        return f"{table}._h{len(windows) - 1} {SYMBOLS[node['op']]} %s", [node["value"]]
    column = _column(node, columns)
    name = f"{table}.{column.name}"
    op = node["op"]
    if "age_of" in node:
        after, by = _age_range(op, node["value"], age_reference(node, today))
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
    return f"{name} {SYMBOLS[op]} %s", [_sql_value(column, right)]


def _household_sql(
    spec: dict, columns: dict[str, Column], today: dt.date, table: str
) -> tuple[str, list[Any]]:
    """The aggregate over TABLE's household as a window expression (NULL without one)."""
    over = f"OVER (PARTITION BY {table}.{HOUSEHOLD_KEY})"
    params: list[Any] = []
    if "count" in spec:
        if spec["count"] == "all":
            aggregate = f"COUNT(*) {over}"
        else:
            condition, params = to_sql(spec["count"], columns, today, table)
            aggregate = f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) {over}"
    else:
        kind = "sum" if "sum" in spec else "mean"
        number = f"{table}.{_column({'element': spec[kind]}, columns).name}"
        total = f"SUM({number}) {over}"
        if kind == "mean":
            total = f"{total} * 1.0 / COUNT(*) {over}"
        aggregate = f"CASE WHEN COUNT({number}) {over} < COUNT(*) {over} THEN NULL ELSE {total} END"
    return f"CASE WHEN {table}.{HOUSEHOLD_KEY} IS NULL THEN NULL ELSE {aggregate} END", params
