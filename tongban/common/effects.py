"""Background effects decided in a transaction (the outbox).

A service that decides "deliver this notice", "issue this case's certificates" or "invite a
rating" inside its transaction records that decision in the same transaction, so it exists
exactly when the decision does: a process killed right after the commit loses nothing, and
a rollback leaves nothing queued. With the database task backend (the default,
django_tasks_db) the task row itself is that record: `task.enqueue` inside the caller's
transaction writes it and the commit publishes it to the worker. With a queue outside the
database (another TONGBAN_TASKS_BACKEND) an `OutboxEntry` row is written instead and relayed
to the queue after the commit, and again by the maintenance tick if the relay did not happen
(a process died in between): at least once, so every task queued this way must be safe to run
twice (deliveries, issuance and invitations are).

`queue_after_commit` leaves the task to the worker. `run_after_commit` also runs it in this
process as soon as the transaction commits — what the case engine's hooks did before they
were made durable, so a concluded case's rating invitation appears at once — claiming the
task row first so that the worker and this process never both run it; if this process dies
before it gets there, the worker runs it.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

INLINE_WORKER = "inline-after-commit"
# A relay that has not happened this long after the entry was written never will by itself.
RELAY_GRACE = dt.timedelta(seconds=30)


def _backend_kind(task) -> str:
    """'database' (the task row is transactional), 'immediate' (runs when enqueued) or
    'queue' (anything else: a queue outside the database)."""
    from django_tasks.backends.immediate import ImmediateBackend
    from django_tasks_db.backend import DatabaseBackend

    backend = task.get_backend()
    if isinstance(backend, DatabaseBackend):
        return "database"
    if isinstance(backend, ImmediateBackend):
        return "immediate"
    return "queue"


def queue_after_commit(task, /, **kwargs: Any) -> str | None:
    """Queue TASK(**KWARGS) as part of the current transaction; it runs after the commit, at
    least once, and never if the transaction rolls back. Returns the task row's id with the
    database backend."""
    kind = _backend_kind(task)
    if kind == "database":
        return str(task.enqueue(**kwargs).id)
    if kind == "immediate":
        # Runs in this process when enqueued: after the commit, or it would act on rows that
        # may yet roll back. No durability is promised by such a backend anyway.
        transaction.on_commit(partial(task.enqueue, **kwargs))
        return None
    from tongban.common.models import OutboxEntry

    entry = OutboxEntry.objects.create(task_path=task.module_path, kwargs=kwargs)
    transaction.on_commit(partial(_relay_one, entry.pk))
    return None


def run_after_commit(task, /, **kwargs: Any) -> str | None:
    """Like queue_after_commit, and also run the task in this process right after the commit
    when the task row can be claimed here first (database backend)."""
    result_id = queue_after_commit(task, **kwargs)
    if result_id is not None:
        transaction.on_commit(partial(_run_inline, result_id))
    return result_id


def _run_inline(result_id: str) -> None:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    # One conditional UPDATE: whoever flips READY to RUNNING runs it, the worker or we.
    claimed = DBTaskResult.objects.filter(pk=result_id, status=TaskResultStatus.READY).update(
        status=TaskResultStatus.RUNNING, started_at=now, worker_ids=[INLINE_WORKER]
    )
    if not claimed:
        return
    row = DBTaskResult.objects.get(pk=result_id)
    try:
        value = row.task.call(*row.task_result.args, **row.task_result.kwargs)
    except Exception as exc:  # recorded on the row, as the worker records a failure
        logger.exception("task %s (%s) failed after commit", row.task_path, result_id)
        row.set_failed(exc)
        return
    row.set_successful(value)


def _relay_one(entry_id: int) -> bool:
    """Hand one outbox entry to the queue and mark it relayed; False if another relay did."""
    from tongban.common.models import OutboxEntry

    with transaction.atomic():
        entry = (
            OutboxEntry.objects.select_for_update()
            .filter(pk=entry_id, relayed_at__isnull=True)
            .first()
        )
        if entry is None:
            return False
        task = import_string(entry.task_path)
        result = task.enqueue(**entry.kwargs)
        entry.relayed_at = timezone.now()
        entry.task_id = str(result.id)[:64]
        entry.save(update_fields=["relayed_at", "task_id"])
    return True


def outbox_relay_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The maintenance tick's part: relay entries whose after-commit relay never happened
    (the process died between the commit and the relay), and forget relayed ones after a
    week."""
    from tongban.common.models import OutboxEntry

    stale = OutboxEntry.objects.filter(relayed_at__isnull=True, created_at__lt=now - RELAY_GRACE)
    relayed = 0
    for entry_id in stale.order_by("pk").values_list("pk", flat=True)[:1000]:
        try:
            relayed += int(_relay_one(entry_id))
        except Exception:  # one broken entry must not hold back the others
            logger.exception("outbox entry %s could not be relayed", entry_id)
    forgotten, _ = OutboxEntry.objects.filter(relayed_at__lt=now - dt.timedelta(days=7)).delete()
    return {"relayed": relayed, "forgotten": forgotten}
