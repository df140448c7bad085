"""Requests generated from the OpenAPI document (schemathesis), sent to the Django app in
process as a resident and as a staff member: no answer is a 5xx, and every answer is one the
document promises (its status code is listed, its body has the documented shape).

Bounded on purpose: a few examples per operation and mode, a fixed seed (derandomize), no
shrinking; about half a minute per user on SQLite. It finds the undocumented status or the
wrong body shape an endpoint gives to the first odd input; the hand-written hostile-input
tests keep pinning the known cases.

Every operation in the document is run; none needs excluding. Uploads are multipart and go
through the WSGI app like any other body, the scanner endpoint gets a registered scanner's
key, and session writes carry a CSRF token. Valid requests name a case, task and catalog
entries that exist, so they reach the services rather than stopping at 404."""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.cases.tests.conftest import birth_case
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.idcode import services as idcode_services
from tongban.idcode.registry import scenarios

# The API's contract does not depend on the database, and the suite must fit CI's 30 minutes:
# the generated requests run once, on SQLite. Hostile input to every operation, the part where
# PostgreSQL and SQLite differ (integer ranges, NUL bytes), runs on both
# (test_api_robustness.py).
pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_MODE = 4
# Any fixed 32-character secret: sent as both the CSRF cookie and the X-CSRFToken header,
# as a browser page would, so unsafe methods pass Django's CSRF check for real.
CSRF_SECRET = "schemathesisCsrfSecret0123456789"

# Answers that show the login and the CSRF token really work, so a run where every call
# was refused (401, 403) cannot pass as a run where every answer was documented.
MUST_SUCCEED = {
    "resident": ["GET /api/v1/me/profile", "POST /api/v1/me/notices/read-all"],
    "staff": ["GET /api/v1/workbench/tasks", "GET /api/v1/cases/{receipt_no}"],
}


@contextlib.contextmanager
def _requests_inside_the_test_transaction():
    # Django's WSGI handler closes the database connection when a request starts and ends;
    # in a test that would drop the test's transaction. The test client does the same.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _session_cookie(client, user) -> str:
    client.force_login(user)
    return client.cookies["sessionid"].value


def _known_path_values(path: str, case) -> dict[str, object]:
    """Path values that name things that exist, so valid requests reach past the 404."""
    values = {
        "code": "birth" if "/bundles/" in path or "/drafts/" in path else "birth_registration",
        "kind": "bundle",
        "receipt_no": case.receipt_no,
        "task_id": case.tasks.order_by("pk").first().pk,
        "material_code": "child_photo",
    }
    return {name: value for name, value in values.items() if "{" + name + "}" in path}


def _run_operation(operation, *, headers, cookies, known, seen) -> list[str]:
    failures: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        # Valid requests go to things that exist; invalid ones keep random paths too.
        fixed = known if mode == GenerationMode.POSITIVE else None
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_MODE,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)
            seen.setdefault(operation.label, set()).add(response.status_code)

        try:
            check()
        except Unsatisfiable:
            pass  # nothing to get wrong in this mode (no parameters, or only free-form strings)
        except (KeyboardInterrupt, SystemExit):
            raise
        # Schemathesis reports a FailureGroup (a BaseExceptionGroup): every operation's
        # failure is collected, not just the first.
        except BaseException as exc:
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return failures


@pytest.mark.parametrize("who", ["resident", "staff"])
def test_generated_requests_get_documented_answers(client, who):
    catalog_load_directory(path=FIXTURES)
    resident = ResidentProfileFactory()
    case = birth_case(resident, key="schemathesis")
    if who == "resident":
        user = resident.user
    else:
        # The acceptor of the case's lead department: intake operations reach the case.
        user = StaffFactory(department=case.lead_department, role="acceptor")
    _, scanner_key = idcode_services.scanner_create(
        name="测试终端",
        organisation="示例单位",
        scenario_codes=sorted(scenarios()),
        actor_label="test",
    )
    cookies = {"sessionid": _session_cookie(client, user), "csrftoken": CSRF_SECRET}
    app = WSGIHandler()
    with _requests_inside_the_test_transaction():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        schema.config.generation.update(with_security_parameters=False)
        failures: list[str] = []
        seen: dict[str, set[int]] = {}
        for result in schema.get_all_operations():
            operation = result.ok()
            headers = {"X-CSRFToken": CSRF_SECRET, "Authorization": f"Bearer {scanner_key}"}
            known = _known_path_values(operation.path, case)
            failures += _run_operation(
                operation, headers=headers, cookies=cookies, known=known, seen=seen
            )
    assert not failures, "\n\n".join(failures)
    assert len(seen) >= 55
    assert [label for label in MUST_SUCCEED[who] if 200 not in seen[label]] == []
