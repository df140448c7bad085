"""Workbench queue and 我的办件 latency as the number of cases grows: 10k, 100k, 1M.

    .venv/bin/python benchmarks/cases_reads.py [--sizes 10000 100000 1000000] [--seconds 10]
        [--connections 4] [--workers 2]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

One fresh data folder (migrate + city_setup). Cases are seeded in bulk through the ORM
(benchmarks/_cases_setup.py `seed`), not through case_submit: each size adds OLDER concluded
cases, so history grows while the live part stays what a city has on any day — the newest
3,000 cases are in progress with 3 open tasks each. Tasks spread over 15 departments, so
ga_reviewer's department (市公安局) holds ~1/15 of all tasks and ~600 open ones (more than the
workbench's 200-row page); resident1 has 5 cases of their own among 200k+ synthetic applicants.

ga_reviewer logs in once through the login pages with password and TOTP, resident1 with
password; wrk then drives GET /api/v1/workbench/tasks and GET /api/v1/me/cases with each
session's cookie. After every size the SQL both selectors run is EXPLAINed (SQLite: EXPLAIN
QUERY PLAN; PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)) and stored with the figures.

With --postgres the database DBNAME is dropped and created first and dropped at the end (name
one that holds nothing else; "test" and "postgres" are refused).
Writes benchmarks/results/cases-reads-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _client import Session
from _server import RESULTS, ROOT, gunicorn, postgres_admin, prepared_env, wrk
from cases_submit import loadavg, setup

REVIEWER = "ga_reviewer"
RESIDENT = "resident1"
ENDPOINTS = [
    ("workbench: GET /api/v1/workbench/tasks (ga_reviewer)", "/api/v1/workbench/tasks", REVIEWER),
    ("我的办件: GET /api/v1/me/cases (resident1)", "/api/v1/me/cases", RESIDENT),
]  # fmt: skip


def login(env: dict[str, str], base: str, username: str) -> Session:
    """Through the login pages; staff with TOTP (each login once: a code cannot be replayed)."""
    import pyotp

    known = setup(env, "totp_secret", username)
    session = Session(base)
    code = pyotp.TOTP(known["secret"]).now if username.endswith("_reviewer") else None
    session.login(username, known["password"], totp_code=code)
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="", help="URL of a scratch database to recreate")
    args = parser.parse_args()

    if args.postgres:
        postgres_admin(args.postgres, create=True)
    env, data_dir = prepared_env(args.postgres or None)
    db = "PostgreSQL" if args.postgres else "SQLite"
    rows, seeding, plans = [], [], {}
    try:
        with gunicorn(env, workers=args.workers) as base:
            sessions = {u: login(env, base, u) for u in (REVIEWER, RESIDENT)}
            seeded = 0
            for size in sorted(args.sizes):
                print(f"… {db}: seeding up to {size:,} cases", file=sys.stderr, flush=True)
                seeding.append(setup(env, "seed", str(size - seeded)))
                seeded = size
                print(f"  {seeding[-1]}", file=sys.stderr, flush=True)
                plans[str(size)] = setup(env, "explain", REVIEWER, RESIDENT)
                for label, path, user in ENDPOINTS:
                    session = sessions[user]
                    status, body = session.request("GET", path)
                    if status != 200:
                        sys.exit(f"{path} as {user}: {status} {body[:200]!r}")
                    returned = len(json.loads(body))
                    headers = {"Cookie": session.cookie_header()}
                    wrk(base + path, seconds=2, connections=args.connections, headers=headers)
                    load_before = loadavg()
                    r = wrk(
                        base + path,
                        seconds=args.seconds,
                        connections=args.connections,
                        headers=headers,
                    )
                    rows.append({"size": size, "endpoint": label, "rows_returned": returned,
                                 **r, "load_before": load_before, "load_after": loadavg()})  # fmt: skip
                    print(f"  {label}: p95 {r['p95']:.1f} ms, {returned} rows", file=sys.stderr)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            postgres_admin(args.postgres, create=False)

    print(f"\nCase reads vs cases in the database — {db}, gunicorn {args.workers} sync workers, "
          f"wrk 1 thread {args.connections} connections {args.seconds}s, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")  # fmt: skip
    print("| cases | endpoint | rows | req/s | p50 ms | p95 ms | p99 ms | errors "
          "| load avg before → after |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        errors = int(r["errors"] + r["non2xx"])
        print(f"| {r['size']:,} | {r['endpoint']} | {r['rows_returned']} | {r['rps']:.0f} | "
              f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {errors} | "
              f"{r['load_before'][0]} → {r['load_after'][0]} |")  # fmt: skip
    print("\n| cases | added | seconds | cases/s seeded (3 tasks + 2 events each) |")
    print("|---:|---:|---:|---:|")
    for s in seeding:
        print(
            f"| {s['cases']:,} | {s['added']:,} | {s['seconds']:.1f} | {s['cases_per_second']:,} |"
        )
    last = plans[str(max(args.sizes))]
    for label, queries in last.items():
        print(f"\nplan at {max(args.sizes):,} cases — {label}:")
        for q in queries:
            print("  " + "\n  ".join(q["plan"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"cases-reads-{db.lower()}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "workbench queue and 我的办件 latency vs number of cases",
                "command": "benchmarks/cases_reads.py "
                + " ".join(a for a in sys.argv[1:] if "://" not in a),
                "database": db,
                "args": {k: v for k, v in vars(args).items() if k != "postgres"},
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "rows": rows,
                "seeding": seeding,
                "plans": plans,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
