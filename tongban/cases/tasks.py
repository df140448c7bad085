"""Background work of the case engine, run by the django-tasks worker (`manage.py tasks_worker`)."""

from __future__ import annotations

from django_tasks import TaskContext, task

from tongban.cases.schedule import tick_run
from tongban.cases.services import task_sla_sweep
from tongban.cases.services._common import case_hooks_run


@task()
def sla_sweep() -> dict[str, int]:
    """Reminders and escalations; idempotent, so running it more often than needed is safe.
    `manage.py cases_sla_sweep` queues one by hand; `maintenance_tick` runs it periodically."""
    result = task_sla_sweep()
    return {"reminded": result.reminded, "escalated": result.escalated}


class MaintenanceSweepFailed(RuntimeError):
    """Marks the tick's result FAILED so the failure shows in the task results (admin)."""


@task(takes_context=True)
def maintenance_tick(context: TaskContext) -> dict:
    """Every sweep (SLA, 补正 and 容缺 deadlines, login throttle rows), then the next tick is
    already queued: see tongban.cases.schedule."""
    result = tick_run(current_id=str(context.task_result.id))
    if result.failed:
        raise MaintenanceSweepFailed(f"sweeps failed: {', '.join(result.failed)}")
    return {"next": result.next_id, **result.counts}


@task()
def case_hooks_task(receipt_no: str, stage: str) -> int:
    """What other modules do once a case commits a stage (统一发证, 好差评 invitations, policy
    re-matching): queued with the commit, run at once by the committing process and by the
    worker only if that process died first (tongban.common.effects.run_after_commit)."""
    return case_hooks_run(receipt_no=receipt_no, stage=stage)
