"""Enrolling a terminal's browser as a kiosk: who may, what is kept (only a keyed hash), the
cookie, the staff session ending there, re-enrolment replacing the key."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.appointments.middleware_kiosk import KIOSK_COOKIE
from tongban.appointments.models import ServicePoint
from tongban.appointments.selectors.kiosk import kiosk_key_hash, kiosk_point_for
from tongban.common.models import AuditEvent
from tongban.idcode.models import Scanner

from . import conftest_kiosk

# The shared fixtures, found by pytest in this module.
kiosk_catalog, world = conftest_kiosk.kiosk_catalog, conftest_kiosk.world

pytestmark = pytest.mark.django_db


def _enrol(client: Client, code: str = "centre-K01"):
    return client.post(f"/staff/kiosks/{code}/enrol/")


def _nothing_enrolled() -> None:
    assert list(ServicePoint.objects.values_list("kiosk_key_hash", "kiosk_enrolled_at")) == [
        ("", None),
        ("", None),
    ]
    assert not AuditEvent.objects.filter(action="kiosk.enrol").exists()
    assert Scanner.objects.count() == 0


def test_the_hall_clerk_enrols_this_browser_and_is_logged_out(world):
    client = Client()
    client.force_login(world.clerk)
    page = client.get("/staff/kiosks/")
    assert page.status_code == 200
    assert [p.code for p in page.context["points"]] == ["centre-K01"]  # not the 24h area

    response = _enrol(client)
    assert response.status_code == 302 and response["Location"] == "/kiosk/?enrolled=1"
    cookie = response.cookies[KIOSK_COOKIE]
    key = cookie.value
    assert key.startswith("tbk_") and len(key) > 40
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    assert cookie["max-age"] == 5 * 365 * 24 * 3600
    assert cookie["secure"] == ""  # plain http here; Secure when the request is HTTPS
    assert "_auth_user_id" not in client.session  # the staff session ended on the terminal

    point = ServicePoint.objects.get(code="centre-K01")
    assert point.kiosk_key_hash == kiosk_key_hash(key) and key not in point.kiosk_key_hash
    assert point.kiosk_enrolled_at is not None
    assert point.scanner.scenarios == ["hall_checkin", "kiosk_login"]
    event = AuditEvent.objects.get(action="kiosk.enrol")
    assert (event.actor, event.object_type, event.object_id) == (
        world.clerk,
        "service_point",
        str(point.pk),
    )
    assert event.data == {"code": "centre-K01", "replaced": False, "scanner_created": True}

    home = client.get("/kiosk/?enrolled=1")
    assert home.status_code == 200
    assert "本机已登记为“市民中心自助终端1号（示例）”的自助终端" in home.content.decode()


def test_https_enrolment_sets_a_secure_cookie(world):
    client = Client()
    client.force_login(world.clerk)
    response = client.post("/staff/kiosks/centre-K01/enrol/", secure=True)
    assert response.cookies[KIOSK_COOKIE]["secure"] is True


def test_an_administrator_enrols_any_point_including_a_standalone_area(world):
    client = Client()
    client.force_login(world.admin)
    page = client.get("/staff/kiosks/")
    assert [p.code for p in page.context["points"]] == ["24H-01", "centre-K01"]
    response = _enrol(client, "24H-01")
    assert response.status_code == 302
    assert kiosk_point_for(key=response.cookies[KIOSK_COOKIE].value).code == "24H-01"


@pytest.mark.parametrize("who", ["anonymous", "resident", "reviewer", "other_clerk"])
def test_others_enrol_nothing(world, who):
    client = Client()
    if who == "resident":
        client.force_login(world.resident.user)
    elif who != "anonymous":
        client.force_login(getattr(world, who))
    listing = client.get("/staff/kiosks/")
    response = _enrol(client)
    if who == "anonymous":
        assert listing.status_code == 302 and "/accounts/login/" in listing["Location"]
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert listing.status_code == 403 and response.status_code == 403
    assert KIOSK_COOKIE not in response.cookies
    _nothing_enrolled()
    if who != "anonymous":
        assert "_auth_user_id" in client.session  # their own session goes on


def test_a_clerk_cannot_enrol_a_standalone_area(world):
    client = Client()
    client.force_login(world.clerk)
    assert _enrol(client, "24H-01").status_code == 403
    assert _enrol(client, "no-such-point").status_code == 404
    _nothing_enrolled()


def test_re_enrolment_replaces_the_key_and_the_old_browser_stops(world):
    first, second = Client(), Client()
    first.force_login(world.clerk)
    old = _enrol(first).cookies[KIOSK_COOKIE].value
    assert first.get("/kiosk/").status_code == 200
    scanner = ServicePoint.objects.get(code="centre-K01").scanner

    second.force_login(world.clerk)
    new = _enrol(second).cookies[KIOSK_COOKIE].value
    assert new != old
    refused = first.get("/kiosk/")
    assert refused.status_code == 403
    assert "本机尚未登记为自助终端" in refused.content.decode()
    assert second.get("/kiosk/").status_code == 200
    point = ServicePoint.objects.get(code="centre-K01")
    assert point.scanner == scanner  # a scanner that can log people in is kept
    assert list(
        AuditEvent.objects.filter(action="kiosk.enrol")
        .order_by("pk")
        .values_list("data__replaced", flat=True)
    ) == [False, True]


def test_a_browser_that_is_not_enrolled_is_refused(world):
    for cookies in ({}, {KIOSK_COOKIE: "tbk_forged"}):
        client = Client()
        for name, value in cookies.items():
            client.cookies[name] = value
        page = client.get("/kiosk/")
        assert page.status_code == 403
        text = page.content.decode()
        assert "本机尚未登记为自助终端" in text
        assert "综合窗口工作人员或系统管理员" in text
        for path in ("/kiosk/ticket/", "/kiosk/check-in/", "/kiosk/services/", "/kiosk/print/"):
            assert client.get(path).status_code == 403
        assert client.post("/kiosk/login/", {"code": "x"}).status_code == 403
        assert client.post("/kiosk/ticket/", {"item": "social_security_card"}).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="kiosk.").exists()
