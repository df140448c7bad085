"""过号重排: the reception puts a ticket skipped today back in line, behind everybody waiting
at that moment (a booking's ticket loses its priority); only a clerk of the ticket's hall, at
most REQUEUE_LIMIT times, while the hall is open; refusals leave nothing behind; the wait
figures still end at the first call; the 导服台 page lists today's skipped tickets."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.appointments.models import (
    BookingStatus,
    QueueEvent,
    Ticket,
    TicketSource,
    TicketStatus,
    WaitStat,
)
from tongban.appointments.selectors import queue as sel
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import (
    BIRTH,
    NOW,
    SSCARD,
    booking_at,
    queue_hall,
    resident,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.errors import Conflict, PermissionDenied
from tongban.common.models import AuditEvent

MIN = dt.timedelta(minutes=1)
RECEPTION = "/staff/queue/reception/"


def at(hour, minute=0):
    return NOW.replace(hour=hour, minute=minute)


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def take(qh, when, item=BIRTH, user=None):
    return svc.ticket_take(
        hall=qh.hall, item_code=item, source=TicketSource.RECEPTION, user=user,
        actor=qh.clerk3, now=when,
    )  # fmt: skip


def checked_in(qh, user, *, slot_at, when, item=BIRTH):
    """A booking of USER checked in at WHEN (the ticket as check-in makes it, without a scan)."""
    booking = booking_at(qh.hall, user, item_code=item, starts_at=slot_at)
    booking.status = BookingStatus.CHECKED_IN
    booking.save()
    return svc._ticket_create(
        hall=qh.hall, day=when.date(), prefix="Y", item_code=item, source=TicketSource.BOOKING,
        booking=booking, user=user, status=TicketStatus.WAITING, slot_starts_at=slot_at,
        taken_at=when,
    )  # fmt: skip


def call_and_skip(qh, when, clerk=None):
    clerk = clerk or qh.clerk
    ticket = svc.ticket_call_next(clerk=clerk, now=when)
    return svc.ticket_skip(clerk=clerk, ticket=ticket, now=when)


def requeue(qh, ticket, when, actor=None):
    return svc.ticket_requeue(actor=actor or qh.clerk3, ticket=ticket, now=when)


def snapshot(ticket):
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.requeued_at,
        ticket.finished_at,
        QueueEvent.objects.count(),
        AuditEvent.objects.count(),
    )


# ---------------------------------------------------------------- the order


def test_a_requeued_ticket_is_called_behind_everybody_waiting_now(qh):
    person = resident("张三丰").user
    w1 = take(qh, at(9), user=person)  # A001
    b1 = checked_in(qh, resident().user, slot_at=at(10), when=at(9, 10))  # Y001
    w2 = take(qh, at(9, 20))  # A002
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9, 30))
    skipped = call_and_skip(qh, at(9, 30))  # nobody's slot has started: A001 first
    assert (skipped.pk, skipped.status, skipped.finished_at) == (w1.pk, "skipped", at(9, 30))
    b2 = checked_in(qh, resident().user, slot_at=at(9, 30), when=at(9, 35))  # Y002
    w3 = take(qh, at(9, 40))  # A003
    back = requeue(qh, w1, at(9, 45))
    w4 = take(qh, at(9, 50))  # A004, taken after the requeue: behind it

    assert (back.status, back.requeued_at, back.window, back.clerk, back.finished_at) == (
        "waiting", at(9, 45), None, None, None,
    )  # fmt: skip
    assert (back.called_at, back.calls) == (at(9, 30), 1)  # the first call stays
    event = QueueEvent.objects.get(ticket=w1, kind="requeued")
    assert (event.actor, event.window, event.at, event.data) == (
        qh.clerk3, None, at(9, 45), {"times": 1},
    )  # fmt: skip
    audit = AuditEvent.objects.get(action="queue.ticket_requeue")
    assert (audit.actor, audit.object_type, audit.object_id, audit.data) == (
        qh.clerk3, "appointments.ticket", str(w1.pk),
        {"hall": "q-hall", "number": "A001", "times": 1},
    )  # fmt: skip

    # 10:00: the bookings whose slot started (9:30, 10:00), then by taking time, A001 as if
    # taken at 9:45: behind A002 and A003, before A004.
    order = [b2, b1, w2, w3, w1, w4]
    assert list(sel.window_queue(window=qh.windows["A01"], now=at(10))) == order
    # The resident's page: waiting again, four ahead at A01 (the only staffed window).
    mine = sel.tickets_of(user=person, now=at(10))
    assert [(r["number"], r["status"], r["ahead"], r["estimated_minutes"]) for r in mine] == [
        ("A001", "waiting", 4, 4 * sel.DEFAULT_SERVICE_MINUTES)
    ]
    called = [call_and_skip(qh, at(10)) for _ in order]
    assert [t.number for t in called] == ["Y002", "Y001", "A002", "A003", "A001", "A004"]
    w1.refresh_from_db()
    assert (w1.called_at, w1.calls) == (at(9, 30), 2)


def test_a_requeued_booking_loses_its_priority(qh):
    booked = checked_in(qh, resident().user, slot_at=at(9, 30), when=at(9, 20))
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9, 30))
    assert call_and_skip(qh, at(9, 31)) == booked
    walk_in = take(qh, at(9, 35))
    requeue(qh, booked, at(9, 40))
    later = take(qh, at(9, 45))
    assert list(sel.window_queue(window=qh.windows["A01"], now=at(10))) == [
        walk_in, booked, later,
    ]  # fmt: skip
    booked.refresh_from_db()
    assert sel.ticket_position(ticket=booked, now=at(10)) == (1, sel.DEFAULT_SERVICE_MINUTES)


def test_wait_figures_end_at_the_first_call_and_estimates_leave_requeued_tickets_out(qh):
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9))
    ticket = take(qh, at(9))
    call_and_skip(qh, at(9, 10))
    requeue(qh, ticket, at(9, 20))
    again = svc.ticket_call_next(clerk=qh.clerk, now=at(9, 40))
    svc.ticket_start(clerk=qh.clerk, ticket=again, now=at(9, 40))
    svc.ticket_finish(clerk=qh.clerk, ticket=again, now=at(9, 45))
    assert svc.wait_stats_compute(hall_id=qh.hall.pk, day=NOW.date(), now=at(18)) == 2
    hall_row = WaitStat.objects.get(window__isnull=True)
    assert (hall_row.tickets, hall_row.average_wait_seconds, hall_row.p90_wait_seconds) == (
        1, 600, 600,
    )  # fmt: skip
    # Its 35 minutes from first call to finish are not a service time.
    assert sel.average_service_minutes(windows=[qh.windows["A01"]], now=at(10)) == float(
        sel.DEFAULT_SERVICE_MINUTES
    )


# ---------------------------------------------------------------- refusals


def test_only_a_clerk_of_the_ticket_hall_requeues_and_a_refusal_changes_nothing(qh):
    ticket = take(qh, at(9))
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9))
    call_and_skip(qh, at(9, 10))
    before = snapshot(ticket)
    for actor in (qh.other_clerk, resident().user, "kiosk:K01"):
        with pytest.raises(PermissionDenied) as refused:
            svc.ticket_requeue(actor=actor, ticket=ticket, now=at(9, 20))
        assert refused.value.code == "QUEUE_NOT_HALL_STAFF"
    assert snapshot(ticket) == before
    assert before[:4] == ("skipped", None, at(9, 10), 3)  # taken, called, skipped
    assert not AuditEvent.objects.filter(action="queue.ticket_requeue").exists()
    assert not QueueEvent.objects.filter(kind="requeued").exists()


def _refused(qh, ticket, when, code, message=None):
    before = snapshot(ticket)
    with pytest.raises(Conflict) as refused:
        requeue(qh, ticket, when)
    assert refused.value.code == code
    if message is not None:
        assert refused.value.message == message
    assert snapshot(ticket) == before
    return refused.value


def test_only_a_ticket_skipped_today(qh):
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9))
    waiting = take(qh, at(9))
    _refused(
        qh, waiting, at(9, 5), "QUEUE_TICKET_STATE",
        "该号码当前状态为“等候中”，只有已过号的号码可以重新排队",
    )  # fmt: skip
    called = svc.ticket_call_next(clerk=qh.clerk, now=at(9, 10))
    _refused(
        qh, called, at(9, 11), "QUEUE_TICKET_STATE",
        "该号码当前状态为“已叫号”，只有已过号的号码可以重新排队",
    )  # fmt: skip
    svc.ticket_skip(clerk=qh.clerk, ticket=called, now=at(9, 12))
    # The next morning the skipped ticket of yesterday stays closed.
    _refused(
        qh, called, at(9, 12) + dt.timedelta(days=1), "QUEUE_TICKET_NOT_TODAY",
        "只能为当天过号的号码重新排队，请重新取号",
    )  # fmt: skip


def test_at_most_twice_per_ticket(qh):
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9))
    ticket = take(qh, at(9))
    for n in range(svc.REQUEUE_LIMIT):
        call_and_skip(qh, at(9, 10 + 10 * n))
        requeue(qh, ticket, at(9, 15 + 10 * n))
    call_and_skip(qh, at(9, 40))
    _refused(
        qh, ticket, at(9, 45), "QUEUE_REQUEUE_LIMIT",
        "该号码已重新排队2次，不能再次重新排队，请重新取号",
    )  # fmt: skip
    assert list(
        QueueEvent.objects.filter(ticket=ticket, kind="requeued").values_list("data", flat=True)
    ) == [{"times": 1}, {"times": 2}]


def test_not_when_the_person_already_took_a_new_number(qh):
    person = resident().user
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(9))
    ticket = take(qh, at(9), user=person)
    call_and_skip(qh, at(9, 10))
    take(qh, at(9, 20), user=person)  # A002: a new number for the same item
    _refused(
        qh, ticket, at(9, 25), "QUEUE_TICKET_RETAKEN", "办事人已重新取号（A002号），请使用新号码"
    )
    # A ticket of the same person for another item does not stand in the way.
    someone = resident().user
    theirs = take(qh, at(9, 30), user=someone)  # A003
    take(qh, at(9, 31), item=SSCARD, user=someone)  # A004
    svc.ticket_skip(
        clerk=qh.clerk, ticket=svc.ticket_call_next(clerk=qh.clerk, now=at(9, 40)), now=at(9, 40)
    )  # A002
    assert call_and_skip(qh, at(9, 41)) == theirs
    assert requeue(qh, theirs, at(9, 45)).status == "waiting"


def test_not_when_the_hall_is_closed(db):
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-hours", hours=True)
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=at(16, 50))
    ticket = take(qh, at(16, 50))
    call_and_skip(qh, at(16, 55))
    _refused(qh, ticket, at(17, 5), "QUEUE_HALL_CLOSED")
    assert requeue(qh, ticket, at(16, 59)).status == "waiting"


# ---------------------------------------------------------------- the 导服台 page and the API


def _skipped_now(qh, user=None):
    """A ticket taken and skipped just now (pages use the real clock)."""
    svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, user=user, actor="kiosk:K"
    )
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"])
    return call_and_skip(qh, timezone.now())


def test_reception_page_lists_skipped_tickets_and_requeues(client, qh):
    person = resident("欧阳明").user
    ticket = _skipped_now(qh, user=person)
    svc.ticket_take(hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, actor="kiosk:K")
    client.force_login(qh.clerk3)
    url = f"{RECEPTION}?hall=q-hall"
    body = client.get(url).content.decode()
    skipped_at = timezone.localtime(Ticket.objects.get(pk=ticket.pk).finished_at)
    assert '<strong class="queue-skipped-number">A001</strong> · 欧**' in body
    assert f"出生登记 · {skipped_at:%H:%M} 过号" in body
    assert 'aria-label="A001号重新排队"' in body and "欧阳明" not in body
    assert 'name="csrfmiddlewaretoken"' in body

    response = client.post(url, {"action": "requeue", "ticket": ticket.pk, "hall": "q-hall"})
    assert (response.status_code, response["Location"]) == (302, url)
    body = client.get(url).content.decode()
    assert "A001 号已重新排队，前面还有 1 人，预计等候约 8 分钟。" in body
    assert 'id="no-skipped"' in body
    ticket.refresh_from_db()
    assert (ticket.status, ticket.requeued_at is not None) == ("waiting", True)
    # The resident sees the number waiting again, behind A002.
    client.force_login(person)
    mine = client.get("/me/tickets/").content.decode()
    assert "A001" in mine and "前面还有 <strong>1</strong> 人" in mine

    client.force_login(qh.clerk3)
    events = QueueEvent.objects.count()
    refused = client.post(url, {"action": "requeue", "ticket": ticket.pk, "hall": "q-hall"})
    assert refused.status_code == 409
    assert "该号码当前状态为“等候中”，只有已过号的号码可以重新排队" in refused.content.decode()
    assert QueueEvent.objects.count() == events


def test_reception_requeue_refused_to_other_halls_and_residents(client, qh):
    ticket = _skipped_now(qh)
    before = snapshot(ticket)
    client.force_login(qh.other_clerk)
    data = {"action": "requeue", "ticket": ticket.pk, "hall": "q-hall"}
    assert client.post(f"{RECEPTION}?hall=q-hall", data).status_code == 404
    other = {"action": "requeue", "ticket": ticket.pk, "hall": qh.other_hall.code}
    assert client.post(RECEPTION, other).status_code == 404
    client.force_login(resident().user)
    assert client.post(f"{RECEPTION}?hall=q-hall", data).status_code == 403
    assert snapshot(ticket) == before
    client.force_login(qh.clerk3)
    assert client.post(RECEPTION, {**data, "ticket": "x"}).status_code == 404
    assert snapshot(ticket) == before


def test_api_requeue(client, qh):
    ticket = _skipped_now(qh)
    url = f"/api/v1/queue/tickets/{ticket.pk}/requeue"
    assert client.post(url, content_type="application/json").status_code == 401
    client.force_login(qh.other_clerk)
    assert client.post(url, content_type="application/json").status_code == 404
    client.force_login(qh.clerk3)
    body = client.post(url, content_type="application/json").json()
    assert (body["number"], body["status"], body["window_number"], body["finished_at"]) == (
        "A001", "waiting", "", None,
    )  # fmt: skip
    again = client.post(url, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "QUEUE_TICKET_STATE")
