"""政策找人 at city scale: every demo policy over a synthetic population, in process (Polars)
and inside PostgreSQL (the SQL target), plus one person re-evaluated.

    .venv/bin/python benchmarks/policies.py [--residents 1000000 3000000] [--repeat 3]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

The population is generated straight into frames (numpy, fixed seed): residents with every
column the demo policies read (by element type; households of one to six in consecutive runs,
head, spouse, children) and a tenth as many enterprises with theirs. Django is set up on a temporary SQLite file only to read
and check the policy definitions as the platform does (tongban.catalog.loader).

Reported per population size: load (read + validate the definitions, compile every rule),
evaluate (every resident policy over every resident, every enterprise policy over every
enterprise: the ids of the eligible), end to end (the two),
matches, matches per second of evaluation, and this process's peak memory. With --postgres
the same population is copied into a scratch table and every rule runs there as SQL
(`SELECT id … WHERE <rule>`): evaluate time only, the copy is not counted. One person:
their facts and their household's, then tongban.policies.rules.evaluate over every resident
policy, p50 / p95 of 2,000 people.

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


def population(n: int, columns, households: bool = True):
    from tongban.policies.sample import sample_frame

    return sample_frame(n, columns, TODAY, households=households)


def load_rules():
    """Read and check the demo definitions, and compile: what a run does before evaluating.
    Returns {subject: (policies, columns)}."""
    from tongban.policies.sample import definition_rules

    return definition_rules(Path(__file__).resolve().parent.parent / "tongban/demo/definitions")


def in_process(frame, policies, columns) -> dict:
    from tongban.policies.compile import eligible_ids, to_polars

    started = time.perf_counter()
    expressions = [to_polars(p.eligibility, columns, TODAY) for p in policies]
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    found = eligible_ids(frame, {p.code: e for p, e in zip(policies, expressions, strict=True)})
    matches = sum(len(ids) for ids in found.values())
    evaluated = time.perf_counter() - started
    return {"compile_s": compiled, "evaluate_s": evaluated, "matches": matches}


def in_postgres(url: str, frames, rules) -> dict:
    """Copy each frame into a scratch table, then run every rule there as SQL."""
    import psycopg

    from tongban.policies.compile import to_sql_query
    from tongban.policies.sample import table_ddl

    postgres_admin(url, create=True)
    copied = evaluated = 0.0
    matches = 0
    with psycopg.connect(url, autocommit=True) as conn:
        for subject, frame in frames.items():
            table = f"bench_{subject}"
            conn.execute(table_ddl(table, frame))
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False, null_value="")
            buffer.seek(0)
            started = time.perf_counter()
            with conn.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, NULL '')") as copy:
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
            if "household_id" in frame.columns:
                conn.execute(f"CREATE INDEX ON {table} (household_id)")
            conn.execute(f"ANALYZE {table}")
            copied += time.perf_counter() - started
            policies, cols = rules[subject]
            started = time.perf_counter()
            for policy in policies:
                query, params = to_sql_query(policy.eligibility, cols, TODAY, table)
                rows = conn.execute(f"SELECT count(*) FROM ({query}) q", params)  # noqa: S608
                matches += rows.fetchone()[0]
            evaluated += time.perf_counter() - started
    postgres_admin(url, create=False)
    return {"copy_s": copied, "evaluate_s": evaluated, "matches": matches}


def one_person(frame, policies, columns) -> dict:
    """Every resident policy for one person, as the event-driven path does: the person's
    facts and their household's members' (read from the frame, as the platform reads them
    from 一人一档), then the evaluator."""
    from tongban.policies.rules import HOUSEHOLD, evaluate

    infos = {code: c.info for code, c in columns.items()}
    sample = frame.head(2000).to_dicts()

    def facts_of(row):
        facts = {}
        for code, column in columns.items():
            value = row[column.name]
            facts[code] = str(value) if column.as_text and value is not None else value
        return facts

    members: dict[int, list] = {}
    for row in sample:
        members.setdefault(row["household_id"], []).append(row)
    times = []
    for row in sample:
        started = time.perf_counter()
        facts = facts_of(row)
        facts[HOUSEHOLD] = [facts_of(m) for m in members[row["household_id"]]]
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
        rules = load_rules()
        enterprises = max(1, n // 10)
        frames = {
            "resident": population(n, rules["resident"][1]),
            "enterprise": population(enterprises, rules["enterprise"][1], households=False),
        }
        best = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            rules = load_rules()
            loaded = time.perf_counter() - started
            compiled = evaluated = 0.0
            matches = 0
            for subject, frame in frames.items():
                run = in_process(frame, *rules[subject])
                compiled += run["compile_s"]
                evaluated += run["evaluate_s"]
                matches += run["matches"]
            total = loaded + compiled + evaluated
            if best is None or total < best["end_to_end_s"]:
                count = sum(len(p) for p, _ in rules.values())
                checks = n * len(rules["resident"][0]) + enterprises * len(rules["enterprise"][0])
                best = {
                    "residents": n,
                    "enterprises": enterprises,
                    "policies": count,
                    "resident_policies": len(rules["resident"][0]),
                    "enterprise_policies": len(rules["enterprise"][0]),
                    "load_s": round(loaded + compiled, 3),
                    "evaluate_s": round(evaluated, 3),
                    "end_to_end_s": round(total, 3),
                    "matches": matches,
                    "matches_per_second": round(matches / evaluated),
                    "policy_checks_per_second": round(checks / evaluated),
                }
        best["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        best["one_person_all_policies"] = one_person(frames["resident"], *rules["resident"])
        if args.postgres:
            sql = in_postgres(args.postgres, frames, rules)
            assert sql["matches"] == best["matches"], (sql["matches"], best["matches"])
            best["postgres"] = {
                k: round(v, 3) if isinstance(v, float) else v for k, v in sql.items()
            }
        results.append(best)
        print(json.dumps(best, ensure_ascii=False), flush=True)
        del frames

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
