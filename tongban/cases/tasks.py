"""Background work of the case engine, run by the django-tasks worker (`manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from tongban.cases.services import task_sla_sweep


@task()
def sla_sweep() -> dict[str, int]:
    """Reminders and escalations; idempotent, so running it more often than needed is safe.
    Enqueue it periodically (`manage.py cases_sla_sweep`, e.g. from cron every hour)."""
    result = task_sla_sweep()
    return {"reminded": result.reminded, "escalated": result.escalated}
