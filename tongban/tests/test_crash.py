"""Nothing is lost when a process dies (issue 17): the short form of scripts/crash_test.py.

A real gunicorn and task worker on a scratch SQLite database; four residents submit
出生一件事 with uploads while gunicorn workers are SIGKILLed every 0.5–1 s for 15 s; every
unanswered submission is retried with its key until answered. Then the script's checks:
one case per answered key, every case complete, every stored file named by a row and
intact, every notice delivered or queued, no stale staging note. Zero violations.

The script runs as a subprocess (its own Django, on its own data folder). To spare it the
half minute of migrations, it starts from a copy of this worker's test database, which
pytest-django has migrated already and which every test leaves empty.

The second test does the same on a PostgreSQL cluster of its own (initdb and pg_ctl on
another port, never the machine's shared server) and restarts that cluster mid-run: the
requests during the outage get 503 and are retried, the task worker resumes by itself, and
nothing is lost. Both run in the suite's SQLite pass only (they start their own databases;
the PostgreSQL pass of scripts/test.sh would run the same thing twice)."""

from __future__ import annotations

import glob
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crash_test.py"

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="the crash test's short form runs on SQLite; scripts/crash_test.py --postgres "
        "runs it on PostgreSQL",
    ),
    # Only so that pytest-django creates (migrates) the test database; transaction=True so
    # that no transaction holds it while it is copied.
    pytest.mark.django_db(transaction=True),
]


def _copy_test_database(target: Path) -> None:
    """This worker's test database, migrated and empty, copied to a file."""
    connection.ensure_connection()
    name = str(connection.settings_dict["NAME"])
    assert connection.is_in_memory_db() or "test" in name, f"not a test database: {name}"
    assert not connection.in_atomic_block  # the backup would wait on it for ever
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)


def test_nothing_is_lost_when_gunicorn_workers_die(tmp_path):
    template = tmp_path / "migrated.sqlite3"
    _copy_test_database(template)
    result_file = tmp_path / "crash.json"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    argv = [
        sys.executable,
        str(SCRIPT),
        "--setup", "minimal",
        "--residents", "4",
        "--duration", "15",
        "--sqlite-template", str(template),
        "--settle-timeout", "40",
        "--drain-timeout", "60",
        "--json", str(result_file),
    ]  # fmt: skip
    proc = subprocess.run(  # noqa: S603 — our own script
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    output = f"{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    assert result_file.exists(), output
    result = json.loads(result_file.read_text())

    assert result["kills"]["workers"] >= 10, output
    assert result["requests"]["retries"] >= 1, output
    assert result["requests"]["answered"] == result["requests"]["keys"] > 0, output
    assert result["violations"] == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, output
    assert proc.returncode == 0, output


def _run(argv: list[str], result_file: Path, timeout: int) -> tuple[dict, str, int]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.run(  # noqa: S603 — our own script
        [sys.executable, str(SCRIPT), *argv, "--json", str(result_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = f"{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    assert result_file.exists(), output
    return json.loads(result_file.read_text()), output, proc.returncode


def test_nothing_is_lost_when_the_database_restarts(tmp_path):
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs the PostgreSQL server binaries (initdb, pg_ctl)")
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    argv = [
        "--postgres", "--restart-db", "1",
        "--setup", "minimal",
        "--residents", "3",
        "--duration", "15",
        "--settle-timeout", "40",
        "--drain-timeout", "60",
    ]  # fmt: skip
    result, output, returncode = _run(argv, tmp_path / "crash-pg.json", timeout=300)
    assert result["database"] == "PostgreSQL", output
    assert result["kills"]["db_restarts"] == 1, output
    assert result["kills"]["workers"] >= 10, output
    assert result["requests"]["answered"] == result["requests"]["keys"] > 0, output
    assert result["violations"] == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}, output
    assert returncode == 0, output
