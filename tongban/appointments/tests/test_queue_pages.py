"""取号叫号 pages and API: who may do what (anonymous, a resident, a clerk of another hall, a
clerk of the hall), the hall screen's feed carrying nothing personal beyond a masked surname,
the resident's tickets, and the counter identifying a resident by scanning their 随申码."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.appointments.models import QueueEvent, Ticket, TicketSource, WindowSession
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import (
    BIRTH,
    SSCARD,
    booking_at,
    code_of,
    queue_hall,
    resident,
)
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent
from tongban.idcode.models import ScanLog

CALL = "/staff/queue/"
RECEPTION = "/staff/queue/reception/"


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def walk_in(qh, item=BIRTH, user=None):
    return svc.ticket_take(
        hall=qh.hall, item_code=item, source=TicketSource.KIOSK, user=user, actor="kiosk:K"
    )


def nothing_happened(before):
    return (
        Ticket.objects.count(),
        QueueEvent.objects.count(),
        WindowSession.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def counts():
    return (
        Ticket.objects.count(),
        QueueEvent.objects.count(),
        WindowSession.objects.count(),
        AuditEvent.objects.count(),
    )


# ---------------------------------------------------------------- the clerk's page


def test_call_page_refuses_anyone_but_a_clerk_of_a_hall(client, qh):
    response = client.get(CALL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    reviewer = StaffFactory(department=Department.objects.get(code="police"))
    for who in (resident().user, reviewer):
        client.force_login(who)
        before = counts()
        assert client.get(CALL).status_code == 403
        window = qh.windows["A01"].pk
        assert client.post(CALL, {"action": "sign_in", "window": window}).status_code == 403
        assert client.post(RECEPTION, {"action": "walk_in", "item": BIRTH}).status_code == 403
        assert nothing_happened(before)


def test_a_clerk_of_another_hall_cannot_sign_in_here_nor_take_tickets(client, qh):
    client.force_login(qh.other_clerk)
    before = counts()
    response = client.post(CALL, {"action": "sign_in", "window": qh.windows["A01"].pk})
    assert response.status_code == 403
    response = client.post(
        RECEPTION + f"?hall={qh.hall.code}", {"action": "walk_in", "item": BIRTH, "hall": "q-hall"}
    )
    assert response.status_code == 404  # not one of their halls
    assert nothing_happened(before)


def test_the_clerk_signs_in_calls_starts_and_finishes(client, qh):
    person = resident("赵六")
    ticket = walk_in(qh, user=person.user)
    client.force_login(qh.clerk)
    page = client.get(CALL)
    assert page.status_code == 200
    assert "A01 综合受理" in page.content.decode()
    assert "C01" not in page.content.decode()  # 出件窗口 do not call
    client.post(CALL, {"action": "sign_in", "window": qh.windows["A01"].pk})
    response = client.post(CALL, {"action": "call"}, follow=True)
    body = response.content.decode()
    assert "已呼叫 A001 号。" in body
    assert 'id="current-number">A001<' in body
    ticket.refresh_from_db()
    assert (ticket.status, ticket.clerk) == ("called", qh.clerk)
    client.post(CALL, {"action": "recall", "ticket": ticket.pk})
    client.post(CALL, {"action": "start", "ticket": ticket.pk})
    response = client.post(
        CALL, {"action": "finish", "ticket": ticket.pk, "receipt": "x1"}, follow=True
    )
    assert "未找到您经办的该受理编号" in response.content.decode()
    client.post(CALL, {"action": "finish", "ticket": ticket.pk, "receipt": ""})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.calls) == ("done", 2)
    response = client.post(CALL, {"action": "call"}, follow=True)
    assert "当前没有等候的号码。" in response.content.decode()
    client.post(CALL, {"action": "sign_out"})
    assert WindowSession.objects.get().ended_at is not None


def test_another_clerk_cannot_move_my_ticket_through_the_page(client, qh):
    ticket = walk_in(qh)
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"])
    svc.ticket_call_next(clerk=qh.clerk)
    client.force_login(qh.other_clerk)
    before = counts()
    assert client.post(CALL, {"action": "skip", "ticket": ticket.pk}).status_code == 404
    client.force_login(qh.clerk2)
    svc.window_sign_in(clerk=qh.clerk2, window=qh.windows["A02"])
    before = counts()
    assert client.post(CALL, {"action": "skip", "ticket": ticket.pk}).status_code == 403
    assert nothing_happened(before)
    ticket.refresh_from_db()
    assert ticket.status == "called"


# ---------------------------------------------------------------- 导服台


def test_reception_takes_a_walk_in_ticket_and_checks_a_booking_in(client, qh):
    client.force_login(qh.clerk3)
    page = client.get(RECEPTION)
    assert page.status_code == 200 and "出生登记" in page.content.decode()
    response = client.post(RECEPTION, {"action": "walk_in", "item": SSCARD, "hall": "q-hall"})
    assert response.status_code == 200
    assert 'id="ticket-number">A001<' in response.content.decode()
    refused = client.post(RECEPTION, {"action": "walk_in", "item": "", "hall": "q-hall"})
    assert refused.status_code == 422 and "请选择要办理的事项" in refused.content.decode()
    person = resident()
    now = timezone.now()
    # Ten minutes ahead, but on today's date: a check-in finds today's bookings, and the suite
    # may run just before midnight.
    midnight = dt.datetime.combine(
        timezone.localdate(now) + dt.timedelta(days=1),
        dt.time(),
        tzinfo=timezone.get_current_timezone(),
    )
    starts_at = min(now + dt.timedelta(minutes=10), midnight - dt.timedelta(seconds=1))
    booking_at(qh.hall, person.user, starts_at=starts_at)
    response = client.post(
        RECEPTION, {"action": "check_in", "code": code_of(person.user, now=now), "hall": "q-hall"}
    )
    assert response.status_code == 200, response.content.decode()
    assert 'id="ticket-number">Y001<' in response.content.decode()
    refused = client.post(RECEPTION, {"action": "check_in", "code": "abc", "hall": "q-hall"})
    assert refused.status_code == 422
    assert "无法识别：这不是一个完整的随申码。" in refused.content.decode()


# ---------------------------------------------------------------- the hall screen


FEED_KEYS = {"hall", "calls", "last_id", "waiting"}
CALL_KEYS = {"id", "kind", "number", "window_number", "window_name", "name_masked", "at"}


def test_display_page_and_feed_show_calls_with_a_masked_surname_only(client, qh):
    person = resident("欧阳明")
    ticket = walk_in(qh, user=person.user)
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"])
    page = client.get(f"/halls/{qh.hall.code}/display/")
    assert page.status_code == 200
    first = client.get(f"/api/v1/halls/{qh.hall.code}/queue/feed").json()
    assert (first["calls"], first["waiting"]) == ([], 1)
    svc.ticket_call_next(clerk=qh.clerk)
    svc.ticket_recall(clerk=qh.clerk, ticket=ticket)
    feed = client.get(f"/api/v1/halls/{qh.hall.code}/queue/feed?after={first['last_id']}")
    assert feed.status_code == 200
    body = feed.json()
    assert set(body) == FEED_KEYS
    assert [
        (c["kind"], c["number"], c["window_number"], c["name_masked"]) for c in body["calls"]
    ] == [("called", "A001", "A01", "欧**"), ("recalled", "A001", "A01", "欧**")]
    assert all(set(c) == CALL_KEYS for c in body["calls"])
    text = json.dumps(body, ensure_ascii=False)
    for secret in (person.name, "阳明", person.id_number, person.phone, person.user.username):
        assert secret not in text
    later = client.get(f"/api/v1/halls/{qh.hall.code}/queue/feed?after={body['last_id']}").json()
    assert (later["calls"], later["last_id"]) == ([], body["last_id"])
    page = client.get(f"/halls/{qh.hall.code}/display/").content.decode()
    assert "A001" in page and "欧**" in page and "欧阳明" not in page
    assert client.get("/halls/nowhere/display/").status_code == 404
    assert client.get("/api/v1/halls/nowhere/queue/feed").status_code == 404


# ---------------------------------------------------------------- 我的排队


def test_my_tickets_page_and_api(client, qh):
    person = resident()
    walk_in(qh, SSCARD)
    mine = walk_in(qh, SSCARD, user=person.user)
    assert client.get("/api/v1/me/tickets").status_code == 401
    assert client.get("/me/tickets/").status_code == 302
    client.force_login(person.user)
    rows = client.get("/api/v1/me/tickets").json()
    assert [(r["id"], r["number"], r["status"], r["ahead"]) for r in rows] == [
        (mine.pk, "A002", "waiting", 1)
    ]
    page = client.get("/me/tickets/").content.decode()
    assert "A002" in page and "前面还有 <strong>1</strong> 人" in page
    client.force_login(resident().user)
    assert client.get("/api/v1/me/tickets").json() == []


# ---------------------------------------------------------------- API


def test_api_clerk_actions(client, qh):
    ticket = walk_in(qh)
    client.force_login(qh.clerk)
    post = lambda url, data=None: client.post(  # noqa: E731
        url, data=data or {}, content_type="application/json"
    )
    assert post("/api/v1/queue/call-next").json()["code"] == "QUEUE_NOT_SIGNED_IN"
    board = post("/api/v1/queue/sign-in", {"window_id": qh.windows["A01"].pk}).json()
    assert (board["window"]["number"], board["window_waiting"]) == ("A01", 1)
    called = post("/api/v1/queue/call-next").json()["ticket"]
    assert (called["id"], called["status"], called["window_number"]) == (ticket.pk, "called", "A01")
    moved = post(
        f"/api/v1/queue/tickets/{ticket.pk}/transfer", {"window_id": qh.windows["A02"].pk}
    ).json()
    assert (moved["status"], moved["transferred_to"]) == ("waiting", "A02")
    assert post("/api/v1/queue/call-next").json() == {"ticket": None}
    taken = post(f"/api/v1/halls/{qh.hall.code}/queue/tickets", {"item_code": SSCARD})
    assert taken.json()["number"] == "A002"
    assert post("/api/v1/queue/sign-out").json()["window"] is None


def test_api_refuses_residents_anonymous_and_other_halls(client, qh):
    ticket = walk_in(qh)
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"])
    svc.ticket_call_next(clerk=qh.clerk)
    before = counts()
    urls = [
        ("/api/v1/queue/call-next", {}),
        (f"/api/v1/queue/tickets/{ticket.pk}/skip", {}),
        ("/api/v1/queue/sign-in", {"window_id": qh.windows["A02"].pk}),
        (f"/api/v1/halls/{qh.hall.code}/queue/tickets", {"item_code": BIRTH}),
    ]
    for url, data in urls:
        assert client.post(url, data=data, content_type="application/json").status_code == 401
    client.force_login(resident().user)
    for url, data in urls:
        response = client.post(url, data=data, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (403, "STAFF_ONLY")
    client.force_login(qh.other_clerk)
    statuses = [
        client.post(url, data=data, content_type="application/json").status_code
        for url, data in urls
    ]
    assert statuses == [403, 404, 403, 403]
    assert nothing_happened(before)


# ---------------------------------------------------------------- the counter


def test_counter_identifies_by_scan_and_shows_booking_and_ticket(client, qh):
    person = resident("孙七")
    now = timezone.now()
    # Later today, whatever the hour the suite runs at (the counter shows today's bookings).
    late = timezone.localtime(now).replace(hour=23, minute=50, second=0, microsecond=0)
    starts = min(now + dt.timedelta(hours=3), max(late, now + dt.timedelta(minutes=1)))
    booking = booking_at(qh.hall, person.user, starts_at=starts)
    ticket = walk_in(qh, user=person.user)
    clerk = StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.COUNTER_CLERK,
        hall=qh.hall,
    )  # fmt: skip
    client.force_login(clerk)
    page = client.get("/staff/counter/").content.decode()
    assert "扫码核验" in page
    response = client.post(
        "/staff/counter/", {"action": "scan", "code": code_of(person.user, now=now)}, follow=True
    )
    body = response.content.decode()
    assert client.session["tongban_counter_resident"] == person.pk
    assert booking.reference in body
    assert f"排队号：<strong>{ticket.number}</strong>" in body
    assert ScanLog.objects.filter(result="ok", profile_id=person.pk).count() == 1
    client.post("/staff/counter/", {"action": "clear"})
    response = client.post("/staff/counter/", {"action": "scan", "code": "x"}, follow=True)
    assert "无法识别" in response.content.decode()
    assert "tongban_counter_resident" not in client.session
