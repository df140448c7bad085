"""The two batch engines agree on a 100,000-person sample (and 10,000 enterprises): every
demo policy compiled to Polars over a frame and to SQL over the same rows in the test
database (SQLite, and PostgreSQL when the suite runs there) finds exactly the same ids. The
sample has households and a few percent of every fact unknown."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from tongban.policies.compile import to_polars, to_sql_query
from tongban.policies.sample import definition_rules, sample_frame, table_ddl
from tongban.policies.tests.conftest import DEMO

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)
SIZES = {"resident": 100_000, "enterprise": 10_000}


@pytest.mark.parametrize("subject", ["resident", "enterprise"])
def test_polars_and_sql_find_the_same_ids_on_a_large_sample(subject):
    policies, columns = definition_rules(DEMO)[subject]
    frame = sample_frame(SIZES[subject], columns, TODAY, households=subject == "resident")
    table = f"agreement_{subject}"
    with connection.cursor() as cursor:
        cursor.execute(table_ddl(table, frame))
        marks = ", ".join(["%s"] * frame.width)
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", frame.rows())  # noqa: S608
        if "household_id" in frame.columns:
            cursor.execute(f"CREATE INDEX {table}_household ON {table} (household_id)")
        found_somebody = 0
        for policy in policies:
            by_polars = set(frame.filter(to_polars(policy.eligibility, columns, TODAY))["id"])
            query, params = to_sql_query(policy.eligibility, columns, TODAY, table)
            cursor.execute(query, params)
            by_sql = {row[0] for row in cursor.fetchall()}
            assert by_sql == by_polars, policy.code
            found_somebody += bool(by_polars)
    # Rules nobody meets would agree trivially: nearly every policy finds someone here.
    assert found_somebody >= len(policies) - 2, (found_somebody, len(policies))
