"""The periodic maintenance tick: one queued run at a time, each run queueing the next.

django-tasks has no scheduler, so the tick schedules itself on the task queue: every run
first queues its successor `TONGBAN_SWEEP_INTERVAL_SECONDS` later (before doing any work,
so a sweep that fails does not stop the clock), then runs the sweeps. `manage.py
schedule_ensure` (run by scripts/serve.sh at start-up) starts the chain when no tick is
queued or running.

Exactly one tick is queued: both the start-up check and the successor check run under one
lock (a transaction-scoped advisory lock on PostgreSQL; on SQLite every transaction takes
the write lock at BEGIN, see settings), and a tick adds a successor only when no other tick
is waiting. Should two ever be queued (an operator enqueuing by hand), the first to run sees
the other and adds none, so the chain returns to one. Ticks are safe to overlap anyway:
every sweep acts once per row under that row's lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

# A tick marked running for longer than this died with its worker: it no longer counts as
# "the" tick (tasks_worker also returns it to the queue once its lease is over). A tick
# takes seconds.
RUNNING_STALE_AFTER = dt.timedelta(hours=1)
# Any constant of our own; it names the lock in pg_locks.
_ADVISORY_LOCK_KEY = 0x7462_7363  # "tbsc"


def sweep_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.TONGBAN_SWEEP_INTERVAL_SECONDS)


def _tick():
    from tongban.cases.tasks import maintenance_tick

    return maintenance_tick


def schedulable() -> bool:
    """Only a backend that keeps results in our database and can defer can carry the chain
    (the immediate backend would run the successor inline, forever)."""
    from django_tasks_db.backend import DatabaseBackend

    backend = _tick().get_backend()
    return isinstance(backend, DatabaseBackend) and backend.supports_defer


def _serialise() -> None:
    """Call inside transaction.atomic: makes check-then-enqueue one step across processes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
    # SQLite: the transaction already holds the database's write lock (IMMEDIATE).


def _ticks():
    return DBTaskResult.objects.filter(task_path=_tick().module_path)


def ticks_alive(*, now: dt.datetime) -> list[DBTaskResult]:
    """Ticks that are queued, or running and not presumed dead."""
    return list(
        _ticks().filter(
            Q(status="READY") | Q(status="RUNNING", started_at__gte=now - RUNNING_STALE_AFTER)
        )
    )


def schedule_ensure(*, now: dt.datetime | None = None) -> str | None:
    """Queue a tick to run now unless one is queued or running; the new result's id, or None."""
    now = now or timezone.now()
    if not schedulable():
        return None
    with transaction.atomic():
        _serialise()
        if ticks_alive(now=now):
            return None
        return str(_tick().enqueue().id)


def schedule_next(*, current_id: str | None, now: dt.datetime | None = None) -> str | None:
    """Queue the tick after CURRENT_ID one interval from NOW, unless another tick is already
    waiting (then that one carries the chain on)."""
    now = now or timezone.now()
    if not schedulable():
        return None
    with transaction.atomic():
        _serialise()
        waiting = _ticks().filter(status="READY")
        if current_id:
            waiting = waiting.exclude(pk=current_id)
        if waiting.exists():
            return None
        return str(_tick().using(run_after=now + sweep_interval()).enqueue().id)


@dataclass(frozen=True)
class TickResult:
    next_id: str | None
    counts: dict[str, int]
    failed: tuple[str, ...]


# Sweeps of other apps (好差评 overdue work orders, certificates expiring soon, the trust
# list …), registered from their AppConfig.ready() so the case engine never imports
# them. Each takes (now, today) and returns a dict of counts; it must be idempotent.
MaintenanceSweep = Callable[[dt.datetime, dt.date], dict[str, int]]
_registered_sweeps: dict[str, MaintenanceSweep] = {}


def register_maintenance_sweep(name: str, sweep: MaintenanceSweep) -> None:
    _registered_sweeps[name] = sweep


def tick_run(
    *, current_id: str | None, now: dt.datetime | None = None, today: dt.date | None = None
) -> TickResult:
    """One maintenance round: queue the next, then every sweep. A failing sweep is logged
    and reported without stopping the others."""
    from tongban.accounts.services import login_attempts_purge
    from tongban.cases import services

    now = now or timezone.now()
    today = today or timezone.localdate(now)
    next_id = schedule_next(current_id=current_id, now=now)
    counts: dict[str, int] = {}
    failed: list[str] = []

    def sla() -> None:
        result = services.task_sla_sweep(today=today)
        counts["tasks_reminded"] = result.reminded
        counts["tasks_escalated"] = result.escalated

    def supplements() -> None:
        result = services.case_supplement_sweep(today=today)
        counts["supplements_reminded"] = result.reminded
        counts["supplements_expired"] = result.expired

    def deferred() -> None:
        counts["deferred_overdue"] = services.case_deferred_material_sweep(today=today)

    def logins() -> None:
        window = dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        counts["login_attempts_purged"] = login_attempts_purge(before=now - window)

    def registered(name: str, sweep: MaintenanceSweep) -> Callable[[], None]:
        def run() -> None:
            for key, value in (sweep(now, today) or {}).items():
                counts[f"{name}_{key}"] = value

        return run

    for name, sweep in (
        ("sla", sla),
        ("supplements", supplements),
        ("deferred", deferred),
        ("logins", logins),
        *((n, registered(n, f)) for n, f in sorted(_registered_sweeps.items())),
    ):
        try:
            sweep()
        except Exception:
            logger.exception("maintenance sweep %s failed", name)
            failed.append(name)
    return TickResult(next_id=next_id, counts=counts, failed=tuple(failed))
