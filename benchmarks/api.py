"""Catalog search and guide API against the framework's ceiling, in one run.

    .venv/bin/python benchmarks/api.py [--seconds 10] [--connections 16] [--workers 2]
                                       [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

Serves the app with gunicorn (sync workers) on loopback and drives each endpoint with wrk.
The ceiling is GET /api/v1/health: same app, same middleware, no database. The ratio column is
each endpoint's requests/s divided by the ceiling's. Writes benchmarks/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import RESULTS, gunicorn, prepared_env, wrk

ENDPOINTS = [
    ("ceiling: GET /api/v1/health", "/api/v1/health", ""),
    ("search: GET catalog/items?q=上户口", "/api/v1/catalog/items?q=" + urllib.parse.quote("上户口"), ""),
    ("search: GET catalog/items?q=开公司", "/api/v1/catalog/items?q=" + urllib.parse.quote("开公司"), ""),
    ("list: GET catalog/bundles", "/api/v1/catalog/bundles", ""),
    ("guide page data: GET catalog/bundles/birth", "/api/v1/catalog/bundles/birth", ""),
    (
        "guide: POST catalog/bundles/birth/guide",
        "/api/v1/catalog/bundles/birth/guide",
        "BIRTH_ANSWERS",
    ),
]  # fmt: skip


def birth_answers(base: str) -> str:
    """Answer every question of 出生一件事 with its first option, as a client would."""
    import urllib.request

    with urllib.request.urlopen(base + "/api/v1/catalog/bundles/birth") as r:
        bundle = json.load(r)
    answers: dict[str, str] = {}
    # Questions may appear only after earlier answers; ask the guide until it stops complaining.
    for _ in range(10):
        req = urllib.request.Request(
            base + "/api/v1/catalog/bundles/birth/guide",
            data=json.dumps({"answers": answers}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req) as r:
                r.read()
                return json.dumps({"answers": answers})
        except urllib.error.HTTPError as exc:
            detail = json.load(exc)
            situations = {s["code"]: s for s in bundle.get("situations", [])}
            for d in detail.get("details", []):
                code = d["field"].split(".")[-1]
                options = situations.get(code, {}).get("options") or []
                answers[code] = options[0]["value"] if options else "yes"
    raise SystemExit("could not find a valid answer set for the birth bundle")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()

    env, data_dir = prepared_env(args.postgres or None)
    rows = []
    with gunicorn(env, workers=args.workers) as base:
        body_for = {"BIRTH_ANSWERS": birth_answers(base)}
        # Warm every worker's caches (search index, definitions) before measuring.
        for _, path, body in ENDPOINTS:
            wrk(base + path, seconds=2, connections=4, body=body_for.get(body, body))
        for label, path, body in ENDPOINTS:
            r = wrk(
                base + path,
                seconds=args.seconds,
                connections=args.connections,
                body=body_for.get(body, body),
            )
            rows.append({"endpoint": label, **r})
    shutil.rmtree(data_dir, ignore_errors=True)

    ceiling = rows[0]["rps"]
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nCatalog API vs ceiling — {db}, gunicorn {args.workers} sync workers, "
          f"wrk 1 thread {args.connections} connections {args.seconds}s, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")  # fmt: skip
    print("| endpoint | req/s | p50 ms | p95 ms | ratio to ceiling | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        errors = int(r["errors"] + r["non2xx"])
        print(f"| {r['endpoint']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['rps'] / ceiling:.2f} | {errors} |")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api-{db.lower()}.json"
    out.write_text(json.dumps({"database": db, "args": vars(args), "rows": rows}, indent=2))
    print(f"\nwritten: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
