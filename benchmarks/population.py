"""How fast the demo city's synthetic population loads: residents/second at 10k, 100k and 1M.

    .venv/bin/python benchmarks/population.py [--sizes 10000 100000 1000000]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME] [--no-sqlite] [--batch-size 5000]

Each size runs in a process of its own against a fresh, migrated database: a new SQLite file
in a temporary folder, and with --postgres the database DBNAME, dropped and created again
first (so name one that holds nothing else; "test" and "postgres" are refused). The clock
covers `generate_residents` only: building rows, encrypting three columns, the keyed hash and
`bulk_create`, with the same code `city_setup` runs. Enterprises (a tenth of the size) are
timed separately. Peak RSS shows memory stays flat as the size grows.

Prints a Markdown table and merges the figures into benchmarks/results/population.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import PY, RESULTS, ROOT

OUTPUT = RESULTS / "population.json"
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}
SEED = 2026


def worker(size: int, batch_size: int) -> None:
    """Runs inside the fresh environment the parent prepared; prints one JSON line."""
    import resource

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tongban.demo.population import generate_enterprises, generate_residents

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    residents = generate_residents(count=size, seed=SEED, batch_size=batch_size, progress=False)
    resident_seconds = time.perf_counter() - started
    started = time.perf_counter()
    enterprises = generate_enterprises(
        count=size // 10, seed=SEED, batch_size=batch_size, progress=False
    )
    enterprise_seconds = time.perf_counter() - started

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            db_bytes = cursor.fetchone()[0]
    else:
        connection.close()  # checkpoints the WAL into the main file before we measure it
        db_file = Path(connection.settings_dict["NAME"])
        db_bytes = sum(
            p.stat().st_size for p in db_file.parent.glob(db_file.name + "*") if p.is_file()
        )
    print(
        json.dumps(
            {
                "residents": residents,
                "resident_seconds": round(resident_seconds, 3),
                "residents_per_second": round(residents / resident_seconds),
                "enterprises": enterprises,
                "enterprise_seconds": round(enterprise_seconds, 3),
                "enterprises_per_second": round(enterprises / enterprise_seconds)
                if enterprises
                else None,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "database_mb": round(db_bytes / 2**20, 1),
            }
        )
    )


def fresh_postgres(url: str) -> str:
    """Drop and create the database named in URL; returns URL."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        sys.exit(f"refusing to drop the database {name!r}: name a scratch database in --postgres")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def run_one(backend: str, size: int, batch_size: int, postgres_url: str) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="tongban-popbench-"))
    env = {
        **os.environ,
        "TONGBAN_DATA_DIR": str(data_dir),
        "TONGBAN_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(ROOT),
    }
    if backend == "postgresql":
        env["DATABASE_URL"] = fresh_postgres(postgres_url)
    else:
        env.pop("DATABASE_URL", None)
    try:
        proc = subprocess.run(
            [PY, __file__, "--worker", str(size), "--batch-size", str(batch_size)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stderr)
        raise
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"backend": backend, "size": size, **json.loads(proc.stdout.strip().splitlines()[-1])}


def markdown(rows: list[dict]) -> str:
    lines = [
        "| backend | residents | seconds | residents/s | enterprises | enterprises/s "
        "| peak RSS (MB) | database (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['residents']:,} | {r['resident_seconds']:.1f} "
            f"| {r['residents_per_second']:,} | {r['enterprises']:,} "
            f"| {r['enterprises_per_second'] or 0:,} | {r['peak_rss_mb']} | {r['database_mb']} |"
        )
    return "\n".join(lines)


def save(rows: list[dict], batch_size: int) -> None:
    """Merge into the results file, so a PostgreSQL run keeps the SQLite figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
    kept = [
        r
        for r in previous.get("runs", [])
        if (r["backend"], r["size"]) not in {(n["backend"], n["size"]) for n in rows}
    ]
    runs = sorted(kept + rows, key=lambda r: (r["backend"], r["size"]))
    OUTPUT.write_text(
        json.dumps(
            {
                "benchmark": "synthetic population generation (generate_residents)",
                "command": "benchmarks/population.py",
                "seed": SEED,
                "batch_size": batch_size,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "runs": runs,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--postgres", default="", help="URL of a scratch database to recreate")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.batch_size)
        return

    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    rows = []
    for backend in backends:
        for size in args.sizes:
            print(f"… {backend} {size:,}", file=sys.stderr, flush=True)
            rows.append(run_one(backend, size, args.batch_size, args.postgres))
    print(markdown(rows))
    save(rows, args.batch_size)
    print(f"\nwritten to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
