"""Background work of the data exchange, run by the django-tasks worker."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from tongban.exchange.services import case_source_retry, source_retry_due

logger = logging.getLogger(__name__)


@task()
def case_source_retry_task(receipt_no: str) -> dict[str, int]:
    """平台稍后核验 for one case; idempotent, so a retried or duplicated run is safe."""
    return case_source_retry(receipt_no=receipt_no).as_dict()


def source_retry_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """Maintenance sweep: every open case still waiting for a source is tried again. A
    source whose circuit is open is skipped at once, so a long outage costs the tick
    nothing; one case failing does not stop the others."""
    totals = {"verified": 0, "needed": 0, "still_down": 0, "failed": 0}
    for receipt_no in source_retry_due():
        try:
            counts = case_source_retry(receipt_no=receipt_no, today=today).as_dict()
        except Exception:
            logger.exception("平台稍后核验失败：%s", receipt_no)
            totals["failed"] += 1
            continue
        for k, v in counts.items():
            totals[k] += v
    return {f"source_retry_{k}": v for k, v in totals.items()}
