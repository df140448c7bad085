"""`manage.py tasks_worker`: the background worker outlives a database outage, runs again the
task of a worker that died once its lease has expired, and on SIGTERM finishes its task and
exits 0.

These tests commit for real (transaction=True): the worker claims and records in its own
transactions, as in `make run`. The outage is simulated by making the connection refuse to
connect, as psycopg does while the server restarts (the restart itself is checked by hand and
by the crash test)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import OperationalError, connection, connections
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from tongban.cases.management.commands.tasks_worker import ResilientWorker

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_LOG = "tongban.cases.management.commands.tasks_worker"
REFUSED = "connection failed: connection to server at 127.0.0.1, port 5432 failed: refused"
LEASE = dt.timedelta(seconds=600)

# Set by a test while "the database is down"; read by the patched connection and by the task.
_outage = {"down": False, "after_task": False}


@task()
def marker_task(path: str, seconds: float = 0.0) -> str:
    """Idempotent test task: notes its start, waits, appends one line per run."""
    Path(path + ".started").touch()
    time.sleep(seconds)
    with open(path, "a") as f:
        f.write("ran\n")
    if _outage["after_task"]:
        # The database goes away after the work is done, before the result is written.
        _outage["down"] = True
    return "ran"


@pytest.fixture
def outage():
    """Connections refuse while `_outage["down"]`; restored before the test database is
    flushed."""
    conn = connections["default"]
    connect = conn.ensure_connection

    def maybe_refuse():
        if _outage["down"]:
            raise OperationalError(REFUSED)
        connect()

    _outage.update(down=False, after_task=False)
    with mock.patch.object(conn, "ensure_connection", maybe_refuse):
        yield _outage
    _outage.update(down=False, after_task=False)


class FakeTime:
    """sleep() and monotonic() for the worker: sleeping advances the clock and is recorded;
    `on_sleep` may change the world after a given number of sleeps."""

    def __init__(self, on_sleep=None):
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))

    def clock(self) -> float:
        return self.now


def _worker(fake: FakeTime, *, worker_id: str = "worker-test", batch: bool = True):
    return ResilientWorker(
        lease=LEASE,
        reclaim_every=60.0,
        sleep=fake.sleep,
        clock=fake.clock,
        queue_names=["default"],
        interval=1.0,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WORKER_LOG]


def test_the_worker_waits_out_an_outage_with_capped_backoff_then_runs_the_task(
    outage, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger=WORKER_LOG)
    path = str(tmp_path / "marker")
    queued = marker_task.enqueue(path)
    outage["down"] = True

    def back_after_six(sleeps: int) -> None:
        if sleeps == 6:
            outage["down"] = False

    fake = FakeTime(on_sleep=back_after_six)
    _worker(fake).run()

    # 0.5 s doubling, capped at 5 s; then no more waiting: the task ran and the queue was empty.
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    row = DBTaskResult.objects.get(pk=queued.id)
    assert (row.status, row.return_value, row.worker_ids) == ("SUCCESSFUL", "ran", ["worker-test"])
    assert Path(path).read_text() == "ran\n"
    # One line when the outage starts, one when it ends, whatever the number of retries.
    assert _lines(caplog) == [
        "Starting worker worker_id=worker-test queues=default lease=600s",
        f"Database unavailable (OperationalError: {REFUSED}); worker_id=worker-test retries "
        "every 0.5-5.0s until it is back",
        "Database reachable again after 17.5s; worker_id=worker-test resumes",
        "No more tasks to run for worker_id=worker-test - exiting.",
    ]


def test_a_second_outage_starts_again_from_the_shortest_wait(outage, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger=WORKER_LOG)
    fake = FakeTime()
    worker = _worker(fake)
    outage["down"] = True
    fake.on_sleep = lambda n: outage.update(down=n not in (3, 5))
    # Down for 3 tries, up once (an empty queue: batch mode ends), then a new worker run.
    worker.run()
    assert fake.sleeps == [0.5, 1.0, 2.0]
    outage["down"] = True
    worker.run()
    assert fake.sleeps == [0.5, 1.0, 2.0, 0.5, 1.0]
    assert [line.split(" (")[0].split(" after")[0] for line in _lines(caplog)] == [
        "Database unavailable",
        "Database reachable again",
        "Database unavailable",
        "Database reachable again",
    ]


def test_a_result_that_cannot_be_written_is_run_again_after_the_lease(outage, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger=WORKER_LOG)
    path = str(tmp_path / "marker")
    queued = marker_task.enqueue(path)
    outage["after_task"] = True
    # The database comes back after the first wait.
    fake = FakeTime(on_sleep=lambda n: outage.update(down=False, after_task=False))
    _worker(fake).run()

    row = DBTaskResult.objects.get(pk=queued.id)
    assert row.status == "RUNNING"  # ran, but nobody could write that down
    assert Path(path).read_text() == "ran\n"
    assert _lines(caplog)[0] == (
        f"Could not record the result of task id={queued.id} "
        "(tongban.cases.tests.test_tasks_worker.marker_task); it stays RUNNING and runs "
        "again after the lease"
    )

    # Still inside its lease: another worker leaves it alone.
    assert _worker(FakeTime()).reclaim_expired() == []
    later = timezone.now() + LEASE + dt.timedelta(seconds=1)
    assert _worker(FakeTime(), worker_id="worker-2").reclaim_expired(now=later) == [queued.id]
    _worker(FakeTime(), worker_id="worker-2").run()
    row.refresh_from_db()
    assert (row.status, row.worker_ids) == ("SUCCESSFUL", ["worker-test", "worker-2"])
    assert Path(path).read_text() == "ran\nran\n"  # idempotent tasks: twice is harmless


def _running_since(path: str, started_at: dt.datetime, worker_id: str) -> str:
    result = marker_task.enqueue(path)
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", started_at=started_at, worker_ids=[worker_id]
    )
    return result.id


def test_a_task_of_a_dead_worker_is_reclaimed_on_start_up_and_run(tmp_path, settings):
    settings.TONGBAN_TASK_LEASE_SECONDS = 600
    now = timezone.now()
    dead = _running_since(str(tmp_path / "dead"), now - dt.timedelta(seconds=601), "dead-worker")
    alive = _running_since(str(tmp_path / "alive"), now - dt.timedelta(seconds=30), "busy-worker")

    call_command(
        "tasks_worker",
        "--batch",
        "--no-startup-delay",
        "--no-reload",
        "--worker-id",
        "w-new",
        verbosity=0,
    )

    dead_row = DBTaskResult.objects.get(pk=dead)
    assert (dead_row.status, dead_row.return_value) == ("SUCCESSFUL", "ran")
    assert dead_row.worker_ids == ["dead-worker", "w-new"]
    assert (tmp_path / "dead").read_text() == "ran\n"
    # A task inside its lease belongs to a worker still at it: neither requeued nor run.
    alive_row = DBTaskResult.objects.get(pk=alive)
    assert (alive_row.status, alive_row.worker_ids) == ("RUNNING", ["busy-worker"])
    assert not (tmp_path / "alive").exists()


def test_reclaiming_is_logged_and_happens_once_between_two_workers(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger=WORKER_LOG)
    started = timezone.now() - dt.timedelta(seconds=700)
    stale = _running_since(str(tmp_path / "stale"), started, "dead-worker")

    assert _worker(FakeTime(), worker_id="a").reclaim_expired() == [stale]
    # The second worker's pass comes too late: the row is READY, no longer RUNNING.
    assert _worker(FakeTime(), worker_id="b").reclaim_expired() == []
    row = DBTaskResult.objects.get(pk=stale)
    assert (row.status, row.started_at, row.worker_ids) == ("READY", started, ["dead-worker"])
    assert _lines(caplog) == [
        f"Reclaimed task id={stale} (tongban.cases.tests.test_tasks_worker.marker_task): "
        f"RUNNING since {started.isoformat()}, longer than the 600s lease; its worker "
        "(dead-worker) is presumed dead, the task is READY again"
    ]


def test_reclaiming_runs_at_start_up_then_at_most_every_reclaim_interval(tmp_path):
    fake = FakeTime()
    worker = _worker(fake, batch=False)
    with mock.patch.object(worker, "reclaim_expired", return_value=[]) as reclaim:
        worker._reclaim_if_due()  # start-up
        fake.now += 59.0
        worker._reclaim_if_due()
        fake.now += 1.0
        worker._reclaim_if_due()
    assert reclaim.call_count == 2


def _database_url_for_a_subprocess(tmp_path: Path) -> str:
    """A URL at which another process sees what this test committed."""
    if connection.vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    # SQLite: the test database may live in memory; copy it to a file the worker can open.
    file = tmp_path / "worker.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(file)
    connection.connection.backup(target)
    target.close()
    return f"sqlite:///{file}"


def _status(database_url: str, pk: str) -> str:
    if connection.vendor == "postgresql":
        return DBTaskResult.objects.get(pk=pk).status
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        (status,) = db.execute(
            f"SELECT status FROM {DBTaskResult._meta.db_table} WHERE id = ?",  # noqa: S608
            [pk.replace("-", "")],
        ).fetchone()
    return status


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.communicate()[0]
            pytest.fail(f"worker never started the task (exit {proc.returncode}):\n{out}")
        time.sleep(0.05)


def test_sigterm_lets_the_running_task_finish_and_the_worker_exit_0(tmp_path):
    path = tmp_path / "marker"
    running = marker_task.enqueue(str(path), seconds=1.5)
    # Queued after it, lower in the queue: must still be waiting when the worker has left.
    time.sleep(0.01)
    waiting = marker_task.enqueue(str(tmp_path / "second"))
    database_url = _database_url_for_a_subprocess(tmp_path)
    # The same data folder (secrets) as this test process; only the database differs.
    env = {**os.environ, "DATABASE_URL": database_url, "TONGBAN_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "tasks_worker",
            "--queue-name",
            "default",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0.1",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Start-up of a Django process on a busy 2-core machine can take several seconds.
        _wait_for(Path(f"{path}.started"), proc, seconds=60)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, out
    assert "Received Terminated - shutting down gracefully" in out
    assert "Traceback" not in out
    assert path.read_text() == "ran\n"  # the task ran to its end
    assert _status(database_url, running.id) == "SUCCESSFUL"
    assert _status(database_url, waiting.id) == "READY"
    assert not (tmp_path / "second.started").exists()
