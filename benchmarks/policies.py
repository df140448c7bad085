"""政策找人 at city scale: every demo policy over a synthetic population, in process (Polars)
and inside PostgreSQL (the SQL target), plus one person re-evaluated.

    .venv/bin/python benchmarks/policies.py [--residents 1000000 3000000] [--repeat 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

The population is generated straight into a frame (numpy, fixed seed): the columns the demo
policies read (birth date, 本市户籍, 居住证, 残疾等级, 低保, 低收入, 退役军人, 户籍区), with
the demo city's proportions roughly. Django is set up on a temporary SQLite file only to read
and check the policy definitions as the platform does (tongban.catalog.loader).

Reported per population size: load (read + validate the definitions, compile every rule),
evaluate (every policy over every resident: the ids of the eligible), end to end (the two),
matches, matches per second of evaluation, and this process's peak memory. With --postgres
the same population is copied into a scratch table and every rule runs there as SQL
(`SELECT id … WHERE <rule>`): evaluate time only, the copy is not counted. One person:
tongban.policies.rules.evaluate over all policies, p50 / p95 of 2,000 people.

Writes benchmarks/results/policies.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, django_in_process, postgres_admin

TODAY = dt.date(2026, 12, 3)
DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112"]


def population(n: int, seed: int = 7):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    days = rng.integers(0, 100 * 365, n)  # born in the last hundred years
    birth = np.datetime64(TODAY) - days.astype("timedelta64[D]")
    grade = rng.choice([0, 1, 2, 3, 4], n, p=[0.95, 0.01, 0.01, 0.015, 0.015]).astype(np.int16)
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "birth_date": birth,
            "hukou_is_local": rng.random(n) < 0.6,
            "has_residence_permit": rng.random(n) < 0.3,
            "disability_grade": pl.Series(grade).replace(0, None),
            "is_minimum_living_allowance": rng.random(n) < 0.01,
            "is_low_income": rng.random(n) < 0.03,
            "is_veteran": rng.random(n) < 0.02,
            "hukou_district": np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)],
        }
    )


def load_rules():
    """Read and check the demo definitions, and compile: what a run does before evaluating."""
    from tongban.accounts.models import ResidentProfile
    from tongban.catalog.loader import element_info, read_definitions
    from tongban.policies.compile import Column
    from tongban.policies.rules import elements_used

    defs = read_definitions(Path(__file__).resolve().parent.parent / "tongban/demo/definitions")
    policies = [p.definition for p in defs.policies.values() if p.definition.subject == "resident"]
    codes = set().union(*(elements_used(p.eligibility) for p in policies))
    columns = {}
    for code in codes:
        element = defs.elements[code].definition
        field = next(f.field for f in element.prefill if f.source == "profile")
        model_field = ResidentProfile._meta.get_field(field)
        numeric = model_field.get_internal_type().endswith("IntegerField")
        as_text = numeric and element.type in ("choice", "district", "text")
        columns[code] = Column(model_field.column, element_info(element), as_text=as_text)
    return policies, columns


def in_process(frame, policies, columns) -> dict:
    from tongban.policies.compile import to_polars

    started = time.perf_counter()
    expressions = [to_polars(p.eligibility, columns, TODAY) for p in policies]
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    matches = sum(frame.filter(e).height for e in expressions)
    evaluated = time.perf_counter() - started
    return {"compile_s": compiled, "evaluate_s": evaluated, "matches": matches}


def in_postgres(url: str, frame, policies, columns) -> dict:
    import psycopg

    from tongban.policies.compile import to_sql

    postgres_admin(url, create=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE p (id bigint PRIMARY KEY, birth_date date, hukou_is_local boolean,"
            " has_residence_permit boolean, disability_grade smallint,"
            " is_minimum_living_allowance boolean, is_low_income boolean, is_veteran boolean,"
            " hukou_district varchar(6))"
        )
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="")
        buffer.seek(0)
        started = time.perf_counter()
        with conn.cursor().copy("COPY p FROM STDIN WITH (FORMAT csv, NULL '')") as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        conn.execute("ANALYZE p")
        copied = time.perf_counter() - started
        started = time.perf_counter()
        matches = 0
        for policy in policies:
            where, params = to_sql(policy.eligibility, columns, TODAY, table="p")
            rows = conn.execute(f"SELECT count(*) FROM p WHERE {where}", params)  # noqa: S608
            matches += rows.fetchone()[0]
        evaluated = time.perf_counter() - started
    postgres_admin(url, create=False)
    return {"copy_s": copied, "evaluate_s": evaluated, "matches": matches}


def one_person(frame, policies, columns) -> dict:
    from tongban.policies.rules import evaluate

    infos = {code: c.info for code, c in columns.items()}
    sample = frame.head(2000).to_dicts()
    times = []
    for row in sample:
        facts = {}
        for code, column in columns.items():
            value = row[column.name]
            facts[code] = str(value) if column.as_text and value is not None else value
        started = time.perf_counter()
        for policy in policies:
            evaluate(policy.eligibility, facts, infos, TODAY)
        times.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(times, n=20)
    return {"p50_ms": round(quantiles[9], 4), "p95_ms": round(quantiles[18], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    django_in_process(prefix="tongban-bench-policies-", postgres=None)

    results = []
    for n in args.residents:
        frame = population(n)
        best = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            policies, columns = load_rules()
            loaded = time.perf_counter() - started
            run = in_process(frame, policies, columns)
            total = loaded + run["compile_s"] + run["evaluate_s"]
            if best is None or total < best["end_to_end_s"]:
                best = {
                    "residents": n,
                    "policies": len(policies),
                    "load_s": round(loaded + run["compile_s"], 3),
                    "evaluate_s": round(run["evaluate_s"], 3),
                    "end_to_end_s": round(total, 3),
                    "matches": run["matches"],
                    "matches_per_second": round(run["matches"] / run["evaluate_s"]),
                    "person_policy_checks_per_second": round(n * len(policies) / run["evaluate_s"]),
                }
        best["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        best["one_person_all_policies"] = one_person(frame, policies, columns)
        if args.postgres:
            sql = in_postgres(args.postgres, frame, policies, columns)
            assert sql["matches"] == best["matches"], (sql["matches"], best["matches"])
            best["postgres"] = {
                k: round(v, 3) if isinstance(v, float) else v for k, v in sql.items()
            }
        results.append(best)
        print(json.dumps(best, ensure_ascii=False), flush=True)

    out = {
        "benchmark": "policies",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "evaluated_on": TODAY.isoformat(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "policies.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
