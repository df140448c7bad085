"""Staff endpoints refuse residents with 403 STAFF_ONLY before anything runs: a resident is
never shown an empty queue as if the department had nothing in it."""

from __future__ import annotations

import re

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.common.models import AuditEvent

# Every operation under these paths is staff work (工作台, 出件, 整改工单, 申诉, 查阅档案).
STAFF_PATHS = re.compile(
    r"^/api/v1/(workbench/|handout/|reviews/orders|reviews/appeals/|reviews/ratings/[^/]+/appeal"
    r"|residents/|cases/\{receipt_no\}/(accept|refuse|supplement-request|handout)$"
    r"|certificates/\{serial\}/revoke)"
)
STAFF_ONLY = {"code": "STAFF_ONLY", "message": "仅限工作人员访问"}


def _staff_operations(client) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, methods in spec["paths"].items()
        if STAFF_PATHS.match(path)
        for method in methods
    ]


@pytest.mark.django_db
def test_every_staff_operation_refuses_a_resident(client):
    client.force_login(ResidentProfileFactory().user)
    operations = _staff_operations(client)
    assert ("get", "/api/v1/workbench/tasks") in operations
    assert ("get", "/api/v1/handout/cases") in operations
    assert ("get", "/api/v1/reviews/orders") in operations
    assert len(operations) >= 18
    audits = AuditEvent.objects.count()
    for method, url in operations:
        response = getattr(client, method)(url, data={}, content_type="application/json")
        assert (response.status_code, response.json()) == (403, STAFF_ONLY), f"{method} {url}"
    assert AuditEvent.objects.count() == audits


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/workbench/tasks", "/api/v1/handout/cases"])
def test_staff_lists_still_answer_staff_and_anonymous_is_401(client, url):
    assert client.get(url).status_code == 401
    client.force_login(StaffFactory(role="reviewer"))
    response = client.get(url)
    assert (response.status_code, response.json()) == (200, [])
