"""A synthetic population for checking and measuring the compiled rules at scale: residents
with every column the policies read (households of one to six in consecutive runs: head,
spouse, children) and enterprises with theirs, drawn with numpy from a fixed seed, a few
percent of every column unknown. Used by the engine-agreement test and benchmarks/policies.py;
the demo city's own people come from tongban.demo.population."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from tongban.policies.compile import HOUSEHOLD_KEY, Column
from tongban.policies.schemas import PolicyDef

DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112"]
INDUSTRIES = ["6513", "6520", "6210", "5212", "7320", "3670", "7243", "5292"]
UNKNOWN_SHARE = 0.03
# Rough shares for the booleans the policies read; others are rare (3%).
TRUE_SHARE = {"hukou_is_local": 0.6, "has_residence_permit": 0.3, "is_high_tech": 0.05}
# Typical magnitudes of numbers (exponentially spread).
SCALE = {"monthly_income": 6000, "annual_revenue": 1500, "insured_headcount": 30}


def _households(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.33, 0.33, 0.2, 0.09, 0.04, 0.01])
    ids = np.repeat(np.arange(1, n + 1, dtype=np.int64), sizes)[:n]
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1]
    position = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    relation = np.array(["head", "spouse", "child"])[np.minimum(position, 2)]
    return ids, relation


def _values(rng: np.random.Generator, n: int, column: Column, today: dt.date) -> pl.Series:
    name, info = column.name, column.info
    if info.type == "date":
        span = 100 * 365 if name == "birth_date" else 40 * 365
        days = rng.integers(0, span, n)
        series = pl.Series(np.datetime64(today) - days.astype("timedelta64[D]"))
    elif info.type == "boolean":
        series = pl.Series(rng.random(n) < TRUE_SHARE.get(name, 0.03))
    elif name == "disability_grade":
        grade = rng.choice([0, 1, 2, 3, 4], n, p=[0.95, 0.01, 0.01, 0.015, 0.015])
        return pl.Series(grade.astype(np.int16)).replace(0, None)
    elif info.type in ("integer", "decimal"):
        values = rng.exponential(SCALE.get(name, 5), n)
        if info.type == "integer":
            series = pl.Series(values.astype(np.int64))
        else:
            series = pl.Series(values.round(2))
    elif info.choices:
        series = pl.Series(np.array(list(info.choices))[rng.integers(0, len(info.choices), n)])
    elif name == "industry_code":
        series = pl.Series(np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), n)])
    else:
        series = pl.Series(np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)])
    unknown = pl.Series(rng.random(n) < UNKNOWN_SHARE)
    return pl.select(pl.when(unknown).then(None).otherwise(series)).to_series()


def sample_frame(
    n: int, columns: dict[str, Column], today: dt.date, *, seed: int = 7, households: bool = True
) -> pl.DataFrame:
    """N residents (or, without HOUSEHOLDS, enterprises) with every column in COLUMNS."""
    rng = np.random.default_rng(seed)
    data = {"id": pl.Series(np.arange(1, n + 1, dtype=np.int64))}
    for column in sorted(columns.values(), key=lambda c: c.name):
        if column.name not in data:
            data[column.name] = _values(rng, n, column, today).alias(column.name)
    if households:
        ids, relation = _households(rng, n)
        # A few people with no household recorded: household conditions are unknown for them.
        data[HOUSEHOLD_KEY] = pl.Series(np.where(rng.random(n) < UNKNOWN_SHARE, -1, ids)).replace(
            -1, None
        )
        if "household_relation" in data:
            data["household_relation"] = pl.Series(relation)
    return pl.DataFrame(data)


def definition_rules(path: Path) -> dict[str, tuple[list[PolicyDef], dict[str, Column]]]:
    """Every policy in the definition folder PATH, by subject, with the columns of the
    population table its rules read: {subject: (policies, columns)}. Reads and checks the
    definitions as the catalog loader does."""
    from tongban.accounts.models import Enterprise, ResidentProfile
    from tongban.catalog.loader import element_info, read_definitions
    from tongban.policies.rules import elements_used

    defs = read_definitions(path)
    found = {}
    for subject, source, model in (
        ("resident", "profile", ResidentProfile),
        ("enterprise", "enterprise", Enterprise),
    ):
        policies = [p.definition for p in defs.policies.values() if p.definition.subject == subject]
        codes = set().union(*(elements_used(p.eligibility) for p in policies))
        columns = {}
        for code in sorted(codes):
            element = defs.elements[code].definition
            field = next(
                f.field for f in element.prefill if f.source == source and not f.applicant_is
            )
            model_field = model._meta.get_field(field)
            numeric = model_field.get_internal_type().endswith("IntegerField")
            as_text = numeric and element.type in ("choice", "district", "text")
            columns[code] = Column(model_field.column, element_info(element), as_text=as_text)
        found[subject] = (policies, columns)
    return found


SQL_TYPES = {
    "Int64": "bigint",
    "Int16": "smallint",
    "Boolean": "boolean",
    "Date": "date",
    "Float64": "numeric(14,2)",
    "String": "varchar(20)",
}


def table_ddl(table: str, frame: pl.DataFrame) -> str:
    columns = ", ".join(f"{name} {SQL_TYPES[str(dtype)]}" for name, dtype in frame.schema.items())
    return f"CREATE TABLE {table} ({columns}, PRIMARY KEY (id))"
