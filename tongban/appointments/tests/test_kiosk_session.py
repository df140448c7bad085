"""Logging in at a kiosk by scanning the 随申码, refused codes, and the session's end: by
退出, by the server-side idle limit (time moved), or by the terminal being re-enrolled."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tongban.accounts.tests.factories import EnterpriseFactory, UserFactory
from tongban.appointments.middleware_kiosk import KIOSK_SEEN_KEY, KIOSK_SESSION_KEY
from tongban.appointments.models import ServicePoint
from tongban.appointments.services.kiosk import kiosk_enrol
from tongban.common.models import AuditEvent
from tongban.idcode.models import ScanLog
from tongban.idcode.services import enterprise_idcode_issue

from . import conftest_kiosk
from .conftest_kiosk import kiosk_client, person_code, scan_login

# The shared fixtures, found by pytest in this module.
kiosk_catalog, world = conftest_kiosk.kiosk_catalog, conftest_kiosk.world

pytestmark = pytest.mark.django_db


def _logged_in(client: Client):
    return client.session.get("_auth_user_id")


def _age_session(client: Client, seconds: int) -> None:
    """Move the clock: the person last did something SECONDS ago."""
    session = client.session
    session[KIOSK_SEEN_KEY] = session[KIOSK_SEEN_KEY] - seconds
    session.save()


def test_scanning_the_residents_code_logs_them_in(world):
    client = kiosk_client(world)
    response = scan_login(client, world.resident.user)
    assert response.status_code == 302 and response["Location"] == "/kiosk/"
    assert _logged_in(client) == str(world.resident.user.pk)
    point = ServicePoint.objects.get(code="centre-K01")
    assert client.session[KIOSK_SESSION_KEY] == {
        "point": point.pk,
        "key_hash": point.kiosk_key_hash,
    }
    home = client.get("/kiosk/").content.decode()
    assert "您好，<strong>王**</strong>" in home and "王小明" not in home
    assert "扫码登录" not in home and "退出" in home
    log = ScanLog.objects.get()
    assert (log.scanner, log.scenario, log.result, log.profile, log.requested_by) == (
        point.scanner,
        "kiosk_login",
        "ok",
        world.resident,
        world.resident.user,
    )
    event = AuditEvent.objects.get(action="kiosk.login")
    assert (event.actor, event.subject_resident_id, event.data) == (
        world.resident.user,
        world.resident.pk,
        {"code": "centre-K01"},
    )


def test_login_goes_on_to_a_safe_next_page_only(world):
    client = kiosk_client(world)
    code = person_code(world.resident.user)
    response = client.post("/kiosk/login/", {"code": code, "next": "/kiosk/print/"})
    assert response["Location"] == "/kiosk/print/"
    client.post("/kiosk/logout/")
    code = person_code(world.resident.user)
    response = client.post("/kiosk/login/", {"code": code, "next": "https://evil.example/"})
    assert response["Location"] == "/kiosk/"


def _refused(client: Client, code: str, message: str) -> None:
    response = client.post("/kiosk/login/", {"code": code})
    assert response.status_code == 422
    assert response.context["error"] == message
    assert message in response.content.decode()
    assert _logged_in(client) is None


def test_refused_codes_say_what_to_do_and_log_nobody_in(world):
    client = kiosk_client(world)
    user = world.resident.user
    old = person_code(user, now=timezone.now() - dt.timedelta(hours=1))
    _refused(client, old, "二维码已过期。请在手机上刷新随申码后重新扫码。")

    used = person_code(user)
    assert client.post("/kiosk/login/", {"code": used}).status_code == 302
    client.post("/kiosk/logout/")
    _refused(client, used, "此二维码已经用过。请在手机上刷新随申码后重新扫码。")

    agent = UserFactory()
    firm = EnterpriseFactory(name="示例数据科技有限公司", agents=[agent])
    company = enterprise_idcode_issue(user=agent, enterprise_id=firm.pk).text
    _refused(
        client,
        company,
        "自助终端只能用个人随申码登录，请出示本人的个人随申码（不是企业码）。",
    )
    _refused(client, "HC1:not-a-code", "没有读到完整的随申码，请把手机屏幕对准扫码口再扫一次。")
    _refused(client, "", "没有读到二维码，请把手机上的随申码对准扫码口。")
    assert list(ScanLog.objects.order_by("pk").values_list("result", flat=True)) == [
        "expired",
        "ok",
        "replayed",
        "not_applicable",
        "malformed",
    ]
    assert AuditEvent.objects.filter(action="kiosk.login").count() == 1


def test_a_staff_account_is_not_logged_in_by_a_scan(world):
    from tongban.accounts.models import StaffAssignment, StaffRole
    from tongban.catalog.models import Department

    StaffAssignment.objects.create(
        user=world.resident.user, department=Department.objects.get(code="police"),
        role=StaffRole.REVIEWER,
    )  # fmt: skip
    client = kiosk_client(world)
    response = scan_login(client, world.resident.user)
    assert response.status_code == 403
    assert "工作人员账户不能在自助终端扫码登录" in response.content.decode()
    assert _logged_in(client) is None
    assert not AuditEvent.objects.filter(action="kiosk.login").exists()


def test_logout_returns_to_the_start_page_and_clears_the_session(world):
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    client.post("/kiosk/ticket/", {"item": "social_security_card"})
    response = client.post("/kiosk/logout/")
    assert response["Location"] == "/kiosk/?ended=logout"
    assert _logged_in(client) is None
    assert dict(client.session) == {}
    page = client.get("/kiosk/?ended=logout").content.decode()
    assert "已退出。您的信息已从本机清除。" in page and "王**" not in page
    event = AuditEvent.objects.get(action="kiosk.logout")
    assert (event.actor, event.data) == (
        world.resident.user,
        {"reason": "logout", "code": "centre-K01"},
    )


def test_idle_sessions_end_on_the_server(world):
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    _age_session(client, 100)  # within the limit (120 s): a page opened counts as activity
    assert client.get("/kiosk/print/").status_code == 200
    assert _logged_in(client)
    _age_session(client, 100)
    # A page's own background request is not the person doing something.
    client.get("/api/v1/kiosk/session", headers={"Sec-Fetch-Mode": "cors"})
    _age_session(client, 30)  # 130 s since the last page
    response = client.get("/me/")
    assert response.status_code == 302 and response["Location"] == "/kiosk/?ended=idle"
    assert _logged_in(client) is None and dict(client.session) == {}
    page = client.get(response["Location"]).content.decode()
    assert "长时间未操作，已自动退出。" in page and "王**" not in page
    event = AuditEvent.objects.get(action="kiosk.logout")
    assert event.data == {"reason": "idle", "code": "centre-K01"}


def test_keepalive_keeps_the_session_and_answers_401_once_it_ended(world, settings):
    settings.TONGBAN_KIOSK_IDLE_SECONDS = 60
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    _age_session(client, 50)
    alive = client.post("/kiosk/keepalive/")
    assert alive.status_code == 200 and alive.json() == {"idle_seconds": 60}
    assert client.get("/api/v1/kiosk/session").json()["remaining_seconds"] >= 59
    _age_session(client, 61)
    ended = client.post("/kiosk/keepalive/")
    assert ended.status_code == 401
    assert ended.json() == {"code": "KIOSK_SESSION_ENDED", "message": "长时间未操作，已自动退出。"}
    assert _logged_in(client) is None


def test_an_anonymous_walk_in_session_is_cleared_when_idle(world):
    client = kiosk_client(world)
    taken = client.post("/kiosk/ticket/", {"item": "social_security_card"})
    assert client.get(taken["Location"]).status_code == 200
    _age_session(client, 121)
    response = client.get(taken["Location"])
    assert response["Location"] == "/kiosk/?ended=idle"
    assert client.get(taken["Location"]).status_code == 404  # nothing left of the walk-in


def test_a_re_enrolled_terminal_ends_the_session(world):
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    new_key = kiosk_enrol(actor=world.clerk, point=world.point)
    client.cookies["tongban_kiosk"] = new_key  # same browser, enrolled again
    response = client.get("/kiosk/")
    assert response["Location"] == "/kiosk/?ended=moved"
    assert _logged_in(client) is None


def test_the_portal_pages_show_the_countdown_on_a_kiosk(world):
    client = kiosk_client(world)
    assert client.get("/")["Location"] == "/kiosk/"  # the terminal's start page
    scan_login(client, world.resident.user)
    page = client.get("/me/").content.decode()
    assert 'data-kiosk-bar="1"' in page and 'data-kiosk-idle="120"' in page
    assert "appointments/kiosk_bar" in page
    # Not on an ordinary browser.
    other = Client()
    other.force_login(world.resident.user)
    assert "data-kiosk-bar" not in other.get("/me/").content.decode()


def test_kiosk_session_api(world):
    client = Client()
    assert client.get("/api/v1/kiosk/session").json() == {
        "enrolled": False,
        "point_code": None,
        "point_name": None,
        "has_hall": False,
        "self_service_items": [],
        "logged_in": False,
        "idle_seconds": 120,
        "remaining_seconds": None,
    }
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    body = client.get("/api/v1/kiosk/session").json()
    assert body["enrolled"] and body["logged_in"] and body["has_hall"]
    assert body["point_code"] == "centre-K01"
    assert body["self_service_items"] == ["social_security_card"]
    assert 118 <= body["remaining_seconds"] <= 120
