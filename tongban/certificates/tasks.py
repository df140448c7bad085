"""Background work of the e-certificate module, run by the django-tasks worker."""

from __future__ import annotations

from django_tasks import task

from tongban.certificates.issuance import case_certificates_issue


@task()
def case_certificates_issue_task(receipt_no: str) -> dict[str, int]:
    """统一发证 for one concluded case; idempotent, so a retried or duplicated run is safe."""
    return case_certificates_issue(receipt_no=receipt_no).as_dict()
