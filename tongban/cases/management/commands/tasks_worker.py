"""The background-task worker: django_tasks_db's `db_worker`, made to outlive the database and
its own kind.

- A database that goes away (restart, fail-over) no longer ends the worker. db_worker re-raises
  every OperationalError but "database is locked", so one restart stopped it, and
  scripts/serve.sh then stopped the whole platform. Here an error reaching the database while
  claiming, reclaiming or recording a result closes the connections, waits (0.5 s doubling to
  5 s) and tries again; one log line when the outage starts, one when it ends.
- A task whose worker died is run again. A claimed task stays RUNNING until its result is
  written; if the worker is killed, its machine lost, or the database is unreachable when the
  result is written, the row would stay RUNNING for ever. Every worker, at start-up and then
  every `reclaim_every` seconds, puts rows RUNNING for longer than TONGBAN_TASK_LEASE_SECONDS
  back to READY. A worker runs one task at a time and reclaims only between tasks, so it never
  reclaims the task it is running; another worker would, past the lease, which is why the lease
  must exceed the longest task (settings). Tasks are idempotent: a second run is harmless.
- SIGTERM/SIGINT: as db_worker, the current task finishes and the worker exits 0; while it is
  idle or waiting out an outage it exits at once.

Same options as db_worker (it is its subclass), e.g. `manage.py tasks_worker --queue-name default`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger(__name__)

# What a lost or refused connection raises through Django (it wraps the driver's errors).
DATABASE_ERRORS = (OperationalError, InterfaceError)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 5.0
# Rows reclaimed per pass; more wait for the next pass (there are none in normal operation).
RECLAIM_BATCH = 100


class ResilientWorker(Worker):
    """db_worker's Worker with the loop of `run` rewritten around database errors and leases.

    The loop mirrors django_tasks_db 0.13's (the version is pinned in pyproject.toml): claim
    one ready task in an exclusive transaction, run it, stop in batch mode when none is left or
    after --max-tasks, else sleep --interval when idle. `run_task` and the signal handling are
    the parent's, unchanged."""

    def __init__(
        self,
        *,
        lease: dt.timedelta,
        reclaim_every: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.lease = lease
        self.reclaim_every = reclaim_every
        self.sleep = sleep
        self.clock = clock
        self._next_reclaim = 0.0  # due at once: reclaim on start-up
        self._outage_since: float | None = None
        self._backoff = BACKOFF_FIRST_SECONDS

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        logger.info(
            "Starting worker worker_id=%s queues=%s lease=%ss",
            self.worker_id,
            ",".join(self.queue_names),
            int(self.lease.total_seconds()),
        )
        if self.startup_delay and self.interval:
            # A random small delay, so workers started together do not all poll at once.
            self.sleep(random.random())  # noqa: S311

        while self.running:
            try:
                # Drops a connection that broke while we slept (health check) or raised.
                close_old_connections()
                self._reclaim_if_due()
                task_result, retrieved = self._claim()
            except DATABASE_ERRORS as exc:
                self._database_failed(exc)
                continue
            self._database_reachable()

            if task_result is not None:
                try:
                    self.run_task(task_result)
                except DATABASE_ERRORS as exc:
                    # The task ran but neither its result nor its failure could be written:
                    # the row stays RUNNING and is reclaimed and run again after the lease.
                    logger.warning(
                        "Could not record the result of task id=%s (%s); it stays RUNNING "
                        "and runs again after the lease",
                        task_result.id,
                        task_result.task_path,
                    )
                    self._database_failed(exc)
                    continue

            if self.batch and retrieved and task_result is None:
                logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                logger.info(
                    "Ran the maximum of %d tasks on worker_id=%s - exiting.",
                    self._run_tasks,
                    self.worker_id,
                )
                return
            # A signal during the task cleared self.running: leave now rather than sleep.
            if self.running and task_result is None:
                self.sleep(self.interval)

    def _queue(self, tasks: DBTaskResultQuerySet) -> DBTaskResultQuerySet:
        """Narrow to the backend and queues this worker serves."""
        tasks = tasks.filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks

    def _claim(self) -> tuple[DBTaskResult | None, bool]:
        """(the claimed task or None, whether the queue could be read)."""
        tasks = self._queue(DBTaskResult.objects.ready())
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    # Marked RUNNING in the same transaction: no other worker can take it.
                    task_result.claim(self.worker_id)
        except OperationalError as exc:
            # SQLite's writer lock is busy beyond its timeout: not an outage, try again.
            if is_locked_database_exception(exc):
                return None, False
            raise
        return task_result, True

    # -- leases -----------------------------------------------------------------------------

    def _reclaim_if_due(self) -> None:
        now = self.clock()
        if now < self._next_reclaim:
            return
        self.reclaim_expired()
        self._next_reclaim = now + self.reclaim_every

    def reclaim_expired(self, *, now: dt.datetime | None = None) -> list[str]:
        """Put tasks RUNNING for longer than the lease back to READY; their ids.

        Each row is reclaimed by one UPDATE guarded by its status and started_at: of two
        workers reclaiming at once, the second finds the row READY (or claimed again, with a
        fresh started_at) and changes nothing, so a dead worker's task is queued once."""
        cutoff = (now or timezone.now()) - self.lease
        stale = self._queue(DBTaskResult.objects.running()).filter(started_at__lt=cutoff)
        reclaimed = []
        for pk, task_path, started_at, worker_ids in stale.order_by("started_at").values_list(
            "pk", "task_path", "started_at", "worker_ids"
        )[:RECLAIM_BATCH]:
            updated = DBTaskResult.objects.filter(
                pk=pk, status=TaskResultStatus.RUNNING, started_at__lt=cutoff
            ).update(status=TaskResultStatus.READY)
            if updated:
                reclaimed.append(str(pk))
                logger.warning(
                    "Reclaimed task id=%s (%s): RUNNING since %s, longer than the %ss lease; "
                    "its worker (%s) is presumed dead, the task is READY again",
                    pk,
                    task_path,
                    started_at.isoformat(),
                    int(self.lease.total_seconds()),
                    worker_ids[-1] if worker_ids else "unknown",
                )
        return reclaimed

    # -- outages ----------------------------------------------------------------------------

    def _database_failed(self, exc: BaseException) -> None:
        if self._outage_since is None:
            self._outage_since = self.clock()
            self._backoff = BACKOFF_FIRST_SECONDS
            logger.warning(
                "Database unavailable (%s: %s); worker_id=%s retries every %s-%ss until it is back",
                type(exc).__name__,
                " ".join(str(exc).split()),
                self.worker_id,
                BACKOFF_FIRST_SECONDS,
                BACKOFF_MAX_SECONDS,
            )
        # A broken connection is not reused: the next attempt opens a new one.
        for conn in connections.all(initialized_only=True):
            with contextlib.suppress(DATABASE_ERRORS):
                conn.close()
        if not self.running:
            return
        self.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, BACKOFF_MAX_SECONDS)

    def _database_reachable(self) -> None:
        if self._outage_since is None:
            return
        logger.warning(
            "Database reachable again after %.1fs; worker_id=%s resumes",
            self.clock() - self._outage_since,
            self.worker_id,
        )
        self._outage_since = None
        self._backoff = BACKOFF_FIRST_SECONDS


class Command(DbWorkerCommand):
    help = (
        "Run the background-task worker: db_worker that survives database restarts and "
        "queues again the tasks of workers that died (TONGBAN_TASK_LEASE_SECONDS)"
    )

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        # Our lines follow db_worker's verbosity: silent at 0 (tests), INFO from 1.
        logger.setLevel(logging.getLogger("django_tasks_db").level)

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # db_worker's handle, building our worker instead of its own.
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("--reload and --batch cannot be specified together; not reloading.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")

        lease = dt.timedelta(seconds=settings.TONGBAN_TASK_LEASE_SECONDS)
        worker = ResilientWorker(
            lease=lease,
            # Often enough that a dead worker's task waits little beyond its lease, rarely
            # enough to cost little: one query a minute, over the result rows of this backend
            # (no index covers RUNNING rows; prune_db_task_results keeps the table small).
            reclaim_every=min(60.0, lease.total_seconds() / 2),
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                # Only the reloaded child handles the signals.
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
