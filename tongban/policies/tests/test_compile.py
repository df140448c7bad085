"""The two compiled targets (Polars, SQL) agree with the evaluator, person for person, on a
random population that includes unknown facts and the edges of every age band."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3

import polars as pl
import pytest

from tongban.policies.compile import (
    Column,
    NotCompilable,
    born_by,
    to_polars,
    to_sql,
    to_sql_query,
)
from tongban.policies.rules import HOUSEHOLD, ElementInfo, evaluate

TODAY = dt.date(2028, 2, 29)  # a leap day: the hardest day for ages
INFO = {
    "applicant.birth_date": ElementInfo("出生日期", "date", 3),
    "resident.hukou_is_local": ElementInfo("本市户籍", "boolean", 2),
    "resident.is_low_income": ElementInfo("低收入", "boolean", 3),
    "disability.grade": ElementInfo(
        "残疾等级", "choice", 4, {str(g): f"{g}级" for g in range(1, 5)}
    ),
    "applicant.hukou_district": ElementInfo(
        "户籍区", "choice", 2, {"310101": "黄浦", "310104": "徐汇"}
    ),
    "resident.monthly_income": ElementInfo("月收入", "decimal", 3),
}
COLUMNS = {
    "applicant.birth_date": Column("birth_date", INFO["applicant.birth_date"]),
    "resident.hukou_is_local": Column("hukou_is_local", INFO["resident.hukou_is_local"]),
    "resident.is_low_income": Column("is_low_income", INFO["resident.is_low_income"]),
    "disability.grade": Column("disability_grade", INFO["disability.grade"], as_text=True),
    "applicant.hukou_district": Column("hukou_district", INFO["applicant.hukou_district"]),
    "resident.monthly_income": Column("monthly_income", INFO["resident.monthly_income"]),
}
FIELD = {code: column.name for code, column in COLUMNS.items()}
RULES = {
    "elder_band": {
        "all": [
            {"age_of": "applicant.birth_date", "op": "ge", "value": 70, "text": "a"},
            {"age_of": "applicant.birth_date", "op": "lt", "value": 80, "text": "b"},
            {"element": "resident.hukou_is_local", "op": "is_true", "text": "c"},
        ]
    },
    "exact_age": {"age_of": "applicant.birth_date", "op": "eq", "value": 6, "text": "a"},
    "older_than": {"age_of": "applicant.birth_date", "op": "gt", "value": 64, "text": "a"},
    "at_most": {"age_of": "applicant.birth_date", "op": "le", "value": 17, "text": "a"},
    "disabled_poor": {
        "all": [
            {"element": "disability.grade", "op": "in", "value": ["1", "2"], "text": "a"},
            {
                "any": [
                    {"element": "resident.is_low_income", "op": "is_true", "text": "b"},
                    {
                        "element": "applicant.hukou_district",
                        "op": "eq",
                        "value": "310101",
                        "text": "c",
                    },
                ]
            },
        ]
    },
    "not_low_income_elsewhere": {
        "all": [
            {
                "not": {"element": "resident.is_low_income", "op": "is_true", "text": "a"},
                "text": "na",
            },
            {"element": "applicant.hukou_district", "op": "ne", "value": "310104", "text": "b"},
            {"element": "disability.grade", "op": "not_in", "value": ["4"], "text": "c"},
        ]
    },
    # 入学: a child of the household six years old by the next 31 August.
    "school_starter_at_home": {
        "all": [
            {"age_of": "applicant.birth_date", "op": "ge", "value": 18, "text": "a"},
            {
                "household": {
                    "count": {
                        "age_of": "applicant.birth_date",
                        "as_of": "08-31",
                        "op": "eq",
                        "value": 6,
                        "text": "b",
                    }
                },
                "op": "ge",
                "value": 1,
                "text": "c",
            },
        ]
    },
    "poor_household": {
        "household": {"mean": "resident.monthly_income"},
        "op": "le",
        "value": 1510,
        "text": "a",
    },
    "big_household_low_total": {
        "all": [
            {"household": {"count": "all"}, "op": "ge", "value": 3, "text": "a"},
            {
                "household": {"sum": "resident.monthly_income"},
                "op": "lt",
                "value": 9000,
                "text": "b",
            },
            {
                "not": {
                    "household": {
                        "count": {"element": "resident.is_low_income", "op": "is_true", "text": "c"}
                    },
                    "op": "eq",
                    "value": 0,
                    "text": "d",
                },
                "text": "e",
            },
        ]
    },
}


def _population(n: int) -> list[dict]:
    rng = random.Random(11)
    edges = [
        born_by(y, TODAY) + dt.timedelta(days=d)
        for y in (6, 7, 17, 18, 64, 65, 70, 80)
        for d in (-1, 0, 1)
    ]
    edges += [dt.date(2020, 2, 29), dt.date(2021, 3, 1), dt.date(2022, 2, 28)]
    people = []
    for i in range(n):
        birth = (
            edges[i]
            if i < len(edges)
            else dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(36000))
        )
        people.append(
            {
                "id": i + 1,
                "birth_date": None if rng.random() < 0.03 else birth,
                "hukou_is_local": rng.choice([True, False, None]),
                "is_low_income": rng.choice([True, False, False, None]),
                "disability_grade": rng.choice([None, None, 1, 2, 3, 4]),
                "hukou_district": rng.choice(["310101", "310104", "", None]),
                # Households of one to about five; a few people with none recorded.
                "household_id": None if rng.random() < 0.05 else rng.randrange(1, n // 3),
                "monthly_income": (
                    None if rng.random() < 0.02 else float(rng.choice([0, 800, 1510, 2400, 6000]))
                ),
            }
        )
    return people


def _own_facts(person: dict) -> dict:
    facts = {code: person[field] for code, field in FIELD.items()}
    grade = facts["disability.grade"]
    facts["disability.grade"] = None if grade is None else str(grade)
    facts["applicant.hukou_district"] = facts["applicant.hukou_district"] or None
    return facts


def _facts(person: dict, households: dict) -> dict:
    facts = _own_facts(person)
    key = person["household_id"]
    facts[HOUSEHOLD] = None if key is None else [_own_facts(m) for m in households[key]]
    return facts


@pytest.fixture(scope="module")
def people():
    return _population(3000)


@pytest.mark.parametrize("name", sorted(RULES))
def test_polars_and_sql_agree_with_the_evaluator(people, name):
    rule = RULES[name]
    households: dict[int, list] = {}
    for p in people:
        households.setdefault(p["household_id"], []).append(p)
    expected = {p["id"] for p in people if evaluate(rule, _facts(p, households), INFO, TODAY).holds}
    assert expected, "a rule nobody meets proves nothing"
    frame = pl.DataFrame(
        people,
        schema={
            "id": pl.Int64,
            "birth_date": pl.Date,
            "hukou_is_local": pl.Boolean,
            "is_low_income": pl.Boolean,
            "disability_grade": pl.Int16,
            "hukou_district": pl.String,
            "household_id": pl.Int64,
            "monthly_income": pl.Float64,
        },
    )
    found = set(frame.filter(to_polars(rule, COLUMNS, TODAY))["id"].to_list())
    assert found == expected
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE people (id INTEGER, birth_date TEXT, hukou_is_local BOOL, is_low_income BOOL,"
        " disability_grade INTEGER, hukou_district TEXT, household_id INTEGER,"
        " monthly_income DECIMAL)"
    )
    db.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p["id"],
                p["birth_date"] and p["birth_date"].isoformat(),
                p["hukou_is_local"],
                p["is_low_income"],
                p["disability_grade"],
                p["hukou_district"],
                p["household_id"],
                p["monthly_income"],
            )
            for p in people
        ],
    )
    sql, params = to_sql_query(rule, COLUMNS, TODAY, "people")
    params = [v.isoformat() if isinstance(v, dt.date) else v for v in params]
    rows = db.execute(sql.replace("%s", "?"), params)
    assert {r[0] for r in rows} == expected


def test_born_by_on_a_leap_day():
    assert born_by(70, TODAY) == dt.date(1958, 2, 28)
    assert born_by(4, TODAY) == dt.date(2024, 2, 29)


def test_an_element_outside_the_table_is_refused():
    rule = {"element": "household.size", "op": "ge", "value": 3, "text": "t"}
    with pytest.raises(NotCompilable):
        to_polars(rule, COLUMNS, TODAY)
    with pytest.raises(NotCompilable):
        to_sql(rule, COLUMNS, TODAY)
