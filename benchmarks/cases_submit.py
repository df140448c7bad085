"""出生一件事 submissions per second and latency, N distinct logged-in residents at once.

    .venv/bin/python benchmarks/cases_submit.py [--concurrency 20 50] [--seconds 20]
        [--workers 4] [--threads 1]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh data folder (migrate + city_setup), then N resident logins, each linked to a synthetic
居民档案 (benchmarks/_cases_setup.py). gunicorn serves the app on loopback; the load generator
is Python (one thread per applicant on http.client): each virtual applicant logs in through the
login page, then POSTs /api/v1/cases back to back for SECONDS — multipart, a `payload` JSON
field and one tiny PDF per required material the profile does not spare, a fresh
Idempotency-Key each time, the session cookie and X-CSRFToken of its own login. Latency is
measured per request by the client. The client's own CPU time is reported (`client cores`) so
the reader can see its share of the machine.

Afterwards the cases in the database are counted: they must equal the 201 responses.
With --postgres the database DBNAME is dropped and created first and dropped at the end (name
one that holds nothing else; "test" and "postgres" are refused).
Writes benchmarks/results/cases-submit-<db>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _client import Session, multipart
from _server import PY, RESULTS, ROOT, gunicorn, postgres_admin, prepared_env

PDF = b"%PDF-1.4\n% bench\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
WARM = 4  # applicants that warm the workers up, not measured


def setup(env: dict[str, str], *args: str) -> dict:
    env = {**env, "DJANGO_SETTINGS_MODULE": "tongban.settings", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "_cases_setup.py"), *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def applicant_loop(base, applicant, password, stop_at, barrier, out, lock):
    session = Session(base)
    session.login(applicant["username"], password)
    headers = session.api_headers()
    files = {
        f"material.{code}": (f"{code}.pdf", PDF, "application/pdf") for code in applicant["uploads"]
    }
    payload = json.dumps(applicant["payload"], ensure_ascii=False)
    latencies, statuses = [], {}
    barrier.wait()
    while time.monotonic() < stop_at():
        body, ctype = multipart({"payload": payload}, files)
        started = time.perf_counter()
        status, data = session.request(
            "POST",
            "/api/v1/cases",
            body,
            {**headers, "Content-Type": ctype, "Idempotency-Key": uuid.uuid4().hex},
        )
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status not in (200, 201) and statuses[status] == 1:
            print(f"  {applicant['username']}: {status} {data[:300]!r}", file=sys.stderr)
    with lock:
        out["latencies"] += latencies
        for k, v in statuses.items():
            out["statuses"][k] = out["statuses"].get(k, 0) + v


def run_level(base: str, applicants: list[dict], password: str, seconds: int) -> dict:
    out = {"latencies": [], "statuses": {}}
    lock = threading.Lock()
    barrier = threading.Barrier(len(applicants) + 1)
    window = {"stop": float("inf")}
    threads = [
        threading.Thread(
            target=applicant_loop,
            args=(base, a, password, lambda: window["stop"], barrier, out, lock),
        )
        for a in applicants
    ]
    for t in threads:
        t.start()
    barrier.wait()  # everyone logged in
    cpu0, wall0 = time.process_time(), time.monotonic()
    window["stop"] = wall0 + seconds
    for t in threads:
        t.join()
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    ok = sum(v for k, v in out["statuses"].items() if k in (200, 201))
    return {
        "concurrency": len(applicants),
        "seconds": round(wall, 2),
        "requests": len(out["latencies"]),
        "created": out["statuses"].get(201, 0),
        "ok": ok,
        "errors": len(out["latencies"]) - ok,
        "statuses": {str(k): v for k, v in sorted(out["statuses"].items())},
        "rps": round(ok / wall, 1),
        "p50": round(percentile(out["latencies"], 50), 1),
        "p95": round(percentile(out["latencies"], 95), 1),
        "p99": round(percentile(out["latencies"], 99), 1),
        "client_cores": round(cpu / wall, 2),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--postgres", default="", help="URL of a scratch database to recreate")
    args = parser.parse_args()

    # No department system (demo_sources) runs beside this server: the guide must not count on
    # one to spare a material, neither when the payloads are made nor at submission, or every
    # submit is refused for the material it left out.
    os.environ["TONGBAN_EXCHANGE_ENABLED"] = "0"
    if args.postgres:
        postgres_admin(args.postgres, create=True)
    env, data_dir = prepared_env(
        args.postgres or None, residents=max(2000, 2 * max(args.concurrency))
    )
    db = "PostgreSQL" if args.postgres else "SQLite"
    rows = []
    try:
        setup_started = time.perf_counter()
        made = setup(env, "applicants", str(WARM + sum(args.concurrency)))
        print(f"… {len(made['applicants'])} resident logins in "
              f"{time.perf_counter() - setup_started:.1f}s", file=sys.stderr)  # fmt: skip
        pool = made["applicants"]
        before = setup(env, "count")["cases"]
        with gunicorn(env, workers=args.workers, threads=args.threads) as base:
            # Warm every worker (catalog definitions, guide) with a few submits, not counted.
            warm = run_level(base, pool[:WARM], made["password"], 3)
            before += warm["created"]
            offset = WARM
            for n in args.concurrency:
                applicants = pool[offset : offset + n]
                offset += n
                load_before = loadavg()
                row = run_level(base, applicants, made["password"], args.seconds)
                row["load_before"] = load_before
                row["load_after"] = loadavg()
                rows.append(row)
                print(f"… {db} c={n}: {row['rps']}/s p95 {row['p95']} ms", file=sys.stderr)
        after = setup(env, "count")["cases"]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            postgres_admin(args.postgres, create=False)

    created = sum(r["created"] for r in rows)
    counted = after - before
    print(f"\n出生一件事 submissions — {db}, gunicorn {args.workers} workers × {args.threads} "
          f"thread(s), Python client (1 thread per applicant) {args.seconds}s per level, "
          f"{os.cpu_count()} cores shared with the client, Python {platform.python_version()}\n")  # fmt: skip
    print("| concurrency | DB | submits/s | p50 ms | p95 ms | p99 ms | errors | client cores "
          "| load avg before → after |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {db} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | "
              f"{r['p99']:.0f} | {r['errors']} | {r['client_cores']:.2f} | "
              f"{r['load_before'][0]} → {r['load_after'][0]} |")  # fmt: skip
    print(f"\ncases counted in the database: {counted}; 201 responses: {created} — "
          f"{'match' if counted == created else 'MISMATCH'}")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"cases-submit-{db.lower()}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "出生一件事 POST /api/v1/cases, distinct logged-in residents",
                "command": "benchmarks/cases_submit.py " + " ".join(sys.argv[1:]),
                "database": db,
                "args": {k: v for k, v in vars(args).items() if k != "postgres"},
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "cases_counted": counted,
                "created_responses": created,
                "rows": rows,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )
    print(f"written: {out.relative_to(ROOT)}")
    if counted != created:
        sys.exit("the cases in the database do not match the 201 responses")


if __name__ == "__main__":
    main()
