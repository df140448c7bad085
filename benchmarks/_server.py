"""Shared helpers for benchmarks: a fresh data folder, a production server (gunicorn) on
loopback, and wrk as the load generator."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
RESULTS = ROOT / "benchmarks" / "results"
# Benchmarks drop and recreate the PostgreSQL database they are given: never one of these.
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}


def postgres_admin(url: str, *, create: bool) -> None:
    """Drop the scratch database URL names (and create it afresh when CREATE)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        sys.exit(f"refusing to drop the database {name!r}: name a scratch database in --postgres")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def django_in_process(*, prefix: str, postgres: str | None) -> str:
    """Set up Django in this process on a fresh data folder (and, with POSTGRES, a fresh
    scratch database), migrated; returns the database vendor. For in-process benchmarks."""
    os.environ["TONGBAN_DATA_DIR"] = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("TONGBAN_LOG_LEVEL", "ERROR")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tongban.settings"
    if postgres:
        postgres_admin(postgres, create=True)
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed (Debian package 'wrk'); install it and run again")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepared_env(database_url: str | None, *, residents: int = 2000) -> tuple[dict[str, str], Path]:
    """A fresh data folder and database with the demo city loaded."""
    data_dir = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_LOG_LEVEL": "ERROR"}
    env["TONGBAN_FAST_PASSWORD_HASHER"] = "1"
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "city_setup", "--residents", str(residents), "--no-progress")
    return env, data_dir


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, workers: int, threads: int = 1):
    """Sync workers (gthread when THREADS > 1)."""
    port = free_port()
    proc = subprocess.Popen(
        [GUNICORN, "tongban.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "error"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    threads: int = 1,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> dict:
    env = {**os.environ, "WRK_BODY": body}
    extra = [arg for k, v in (headers or {}).items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(
        [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         *extra, "-s", str(ROOT / "benchmarks" / "wrk_report.lua"), url],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    fields = dict(part.split("=") for part in line.split()[1:])
    return {k: float(v) for k, v in fields.items()}
