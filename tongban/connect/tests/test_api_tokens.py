"""/api/v1/ with OAuth access tokens: a resident's app reads me/…, a department system works
its queue through the same rules as its staff, scopes are enforced before anything runs,
revoked and expired tokens are refused, and every call is counted for its client."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.cases.models import CaseEvent, Task
from tongban.cases.tests.conftest import birth_case, catalog, resident, staff  # noqa: F401
from tongban.catalog.models import Department
from tongban.common.models import AuditEvent
from tongban.connect.models import ClientDailyActivity, ClientKind
from tongban.connect.services import client_disable, client_register, consent_withdraw
from tongban.notifications.models import Notice

TOKEN_INVALID = {
    "code": "TOKEN_INVALID",
    "message": "访问令牌无效、已过期或已被撤销，请重新获取授权",
}
SCOPE_MISSING = {"code": "SCOPE_MISSING", "message": "该应用未获得执行此操作的授权"}


def _token(registered, user, scope: str, *, expires_in: int = 3600) -> str:
    """An access token as the token endpoint would have stored it (the flow itself is
    tested in test_oidc)."""
    value = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=user,
        application=registered.client.application,
        token=value,
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
        scope=scope,
    )
    return value


def _bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def system(admin, catalog):  # noqa: F811
    """The police department's system, acting as a reviewer of the police department."""
    return client_register(
        actor=admin,
        name="测试 公安业务系统",
        kind=ClientKind.DEPARTMENT_SYSTEM,
        confidential=True,
        scopes=["workbench"],
        department=Department.objects.get(code="police"),
        service_roles=[StaffRole.REVIEWER],
    )


def _system_token(client, system) -> str:
    basic = base64.b64encode(f"{system.client_id}:{system.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token/",
        data={"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["scope"] == "workbench" and "refresh_token" not in body
    return body["access_token"]


def test_resident_app_reads_own_cases_and_is_counted(client, resident, mobile_app):  # noqa: F811
    case = birth_case(resident)
    token = _token(mobile_app, resident.user, "openid me")
    response = client.get("/api/v1/me/cases", **_bearer(token))
    assert response.status_code == 200
    assert [c["receipt_no"] for c in response.json()] == [case.receipt_no]
    # Another resident's token sees only their own (none).
    other = _token(mobile_app, ResidentProfileFactory().user, "me")
    assert client.get("/api/v1/me/cases", **_bearer(other)).json() == []
    row = ClientDailyActivity.objects.get(client=mobile_app.client)
    assert (row.day, row.calls, row.errors) == (timezone.localdate(), 2, 0)


def test_write_with_cases_scope_is_attributed_to_client_and_user(client, resident, mobile_app):  # noqa: F811
    token = _token(mobile_app, resident.user, "me cases")
    response = client.post("/api/v1/me/notices/read-all", **_bearer(token))
    # No CSRF token needed with a bearer token: a browser never sends one on its own.
    assert response.status_code == 200
    row = AuditEvent.objects.get(action="connect.api_write")
    assert row.actor == resident.user
    assert row.data == {
        "client_id": mobile_app.client_id,
        "method": "POST",
        "path": "/api/v1/me/notices/read-all",
        "status": 200,
    }


def test_write_without_its_scope_is_403_and_changes_nothing(client, resident, mobile_app):  # noqa: F811
    birth_case(resident)
    notices = Notice.objects.filter(recipient=resident.user)
    unread = notices.filter(read_at__isnull=True).count()
    assert unread > 0
    audits = AuditEvent.objects.count()
    token = _token(mobile_app, resident.user, "openid me")
    response = client.post("/api/v1/me/notices/read-all", **_bearer(token))
    assert (response.status_code, response.json()) == (403, SCOPE_MISSING)
    assert notices.filter(read_at__isnull=True).count() == unread
    assert AuditEvent.objects.count() == audits
    row = ClientDailyActivity.objects.get(client=mobile_app.client)
    assert (row.calls, row.errors) == (1, 1)


def test_resident_token_cannot_reach_the_workbench(client, resident, staff, mobile_app):  # noqa: F811
    token = _token(mobile_app, staff.reviewer["police"], "openid me cases")
    response = client.get("/api/v1/workbench/tasks", **_bearer(token))
    assert (response.status_code, response.json()) == (403, SCOPE_MISSING)


def test_department_system_lists_and_decides_its_own_tasks(client, resident, staff, system):  # noqa: F811
    case = birth_case(resident)
    token = _system_token(client, system)
    queue = client.get("/api/v1/workbench/tasks", **_bearer(token))
    assert queue.status_code == 200
    assert [t["item_code"] for t in queue.json()] == ["birth_registration"]
    task = Task.objects.get(case=case, item_code="birth_registration")
    decided = client.post(
        f"/api/v1/workbench/tasks/{task.pk}/decision",
        data={"decision": "approved", "reason": "", "row_version": task.row_version},
        content_type="application/json",
        **_bearer(token),
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    task.refresh_from_db()
    assert task.status == "approved"
    assert task.decided_by == system.client.service_account
    write = AuditEvent.objects.get(action="connect.api_write")
    assert write.actor == system.client.service_account
    assert write.data["client_id"] == system.client_id and write.data["status"] == 200


def test_department_system_cannot_touch_another_departments_task(client, resident, staff, system):  # noqa: F811
    case = birth_case(resident)
    task = Task.objects.get(case=case, item_code="social_security_card")  # 人社's
    status_before = task.status
    token = _system_token(client, system)
    events = CaseEvent.objects.count()
    audits = AuditEvent.objects.count()
    response = client.post(
        f"/api/v1/workbench/tasks/{task.pk}/decision",
        data={"decision": "denied", "reason": "x", "row_version": task.row_version},
        content_type="application/json",
        **_bearer(token),
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == status_before and task.decided_by is None
    assert CaseEvent.objects.count() == events
    # Only the attribution row of the refused call; nothing else was written.
    assert AuditEvent.objects.count() == audits + 1
    assert AuditEvent.objects.latest("pk").data["status"] == 404


def test_department_system_token_cannot_read_a_residents_things(client, system):
    token = _system_token(client, system)
    response = client.get("/api/v1/me/cases", **_bearer(token))
    assert (response.status_code, response.json()) == (403, SCOPE_MISSING)


@pytest.mark.parametrize("how", ["unknown", "expired", "revoked", "client_disabled", "withdrawn"])
def test_dead_tokens_are_401(client, admin, resident, mobile_app, how):  # noqa: F811
    token = _token(mobile_app, resident.user, "me", expires_in=-1 if how == "expired" else 3600)
    if how == "unknown":
        token = "not-a-token"
    elif how == "revoked":
        revoked = client.post(
            "/oauth/revoke_token/", data={"token": token, "client_id": mobile_app.client_id}
        )
        assert revoked.status_code == 200
    elif how == "client_disabled":
        client_disable(actor=admin, client_pk=mobile_app.client.pk)
    elif how == "withdrawn":
        from tongban.connect.services import consent_grant

        consent = consent_grant(user=resident.user, client=mobile_app.client, scopes=["me"])
        consent_withdraw(actor=resident.user, consent_id=consent.pk)
    response = client.get("/api/v1/me/cases", **_bearer(token))
    assert (response.status_code, response.json()) == (401, TOKEN_INVALID)


def test_session_writes_still_need_csrf(resident):  # noqa: F811
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(resident.user)
    assert browser.get("/api/v1/me/cases").status_code == 200
    assert browser.post("/api/v1/me/notices/read-all").status_code == 403


def test_openapi_shows_the_bearer_scheme(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "opaque",
    }
    security = doc["paths"]["/api/v1/me/cases"]["get"]["security"]
    assert {"TokenAuth": []} in security
    assert {"TokenAuth": []} in doc["paths"]["/api/v1/workbench/tasks"]["get"]["security"]


def test_the_token_decides_whose_data_even_with_a_session(client, resident, mobile_app):  # noqa: F811
    case = birth_case(resident)
    client.force_login(ResidentProfileFactory().user)  # someone else's browser session
    token = _token(mobile_app, resident.user, "me")
    response = client.get("/api/v1/me/cases", **_bearer(token))
    assert [c["receipt_no"] for c in response.json()] == [case.receipt_no]


def test_a_foreign_bearer_key_leaves_a_logged_in_browser_to_its_session(client, resident):  # noqa: F811
    # A 随申码 scanner's key is not an OAuth token: with a session the session decides.
    client.force_login(resident.user)
    headers = _bearer("idscan_not-an-oauth-token")
    assert client.get("/api/v1/me/cases", **headers).status_code == 200
    assert client.get("/api/v1/me/cases", HTTP_AUTHORIZATION="Bearer x").status_code == 200
    client.logout()
    response = client.get("/api/v1/me/cases", **headers)
    assert (response.status_code, response.json()) == (401, TOKEN_INVALID)
