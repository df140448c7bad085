"""取号叫号 services: numbers, routing, the exact calling order, recall/skip/transfer/start/
finish, positions and estimates, and refusals that leave nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.appointments.models import (
    BookingStatus,
    QueueEvent,
    Ticket,
    TicketSource,
    TicketStatus,
    WindowSession,
)
from tongban.appointments.selectors import queue as sel
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import (
    BIRTH,
    INVOICE,
    NOW,
    SSCARD,
    booking_at,
    queue_hall,
    resident,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.errors import Conflict, InvalidInput, PermissionDenied
from tongban.common.models import AuditEvent

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def take(qh, item=BIRTH, at=NOW, user=None, source=TicketSource.RECEPTION):
    return svc.ticket_take(
        hall=qh.hall, item_code=item, source=source, user=user, actor=qh.clerk3, now=at
    )


def checked_in(qh, user, *, slot_at, at, item=BIRTH):
    """A booking of USER checked in at AT (the ticket as check-in makes it, without a scan)."""
    booking = booking_at(qh.hall, user, item_code=item, starts_at=slot_at)
    booking.status = BookingStatus.CHECKED_IN
    booking.save()
    return svc._ticket_create(
        hall=qh.hall,
        day=at.date(),
        prefix="Y",
        item_code=item,
        source=TicketSource.BOOKING,
        booking=booking,
        user=user,
        status=TicketStatus.WAITING,
        slot_starts_at=slot_at,
        taken_at=at,
    )


def sign_in(qh, clerk, number, at=NOW):
    return svc.window_sign_in(clerk=clerk, window=qh.windows[number], now=at)


def test_numbers_per_prefix_and_sequence_per_hall_and_day(qh):
    a1 = take(qh)
    a2 = take(qh, SSCARD)
    b1 = take(qh, INVOICE)
    kiosk = svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, actor="kiosk:K01", now=NOW
    )
    tomorrow = take(qh, at=NOW + dt.timedelta(days=1))
    assert [(t.number, t.sequence) for t in (a1, a2, b1, kiosk)] == [
        ("A001", 1),
        ("A002", 2),
        ("B001", 3),
        ("A003", 4),
    ]
    assert (tomorrow.number, tomorrow.sequence) == ("A001", 1)
    event = QueueEvent.objects.get(ticket=a1)
    assert (event.kind, event.actor, event.data) == ("taken", qh.clerk3, {"source": "reception"})
    assert QueueEvent.objects.get(ticket=kiosk).actor_label == "kiosk:K01"


def test_a_person_taking_the_same_item_twice_keeps_one_ticket(qh):
    person = resident("李四").user
    first = take(qh, user=person, source=TicketSource.KIOSK)
    assert take(qh, user=person, source=TicketSource.KIOSK) == first
    assert first.name_masked == "李**"
    assert Ticket.objects.count() == 1


def test_an_item_no_window_takes_is_refused_and_nothing_is_written(qh):
    with pytest.raises(Conflict) as refused:
        take(qh, "vaccination_certificate")  # in the catalog, not handled by this hall
    assert refused.value.code == "QUEUE_ITEM_NOT_SERVED"
    with pytest.raises(InvalidInput):
        take(qh, "")
    with pytest.raises(InvalidInput):
        svc.ticket_take(
            hall=qh.hall, item_code=BIRTH, source=TicketSource.BOOKING, actor=qh.clerk, now=NOW
        )
    assert (Ticket.objects.count(), QueueEvent.objects.count()) == (0, 0)


def test_reception_tickets_only_by_a_clerk_of_the_hall(qh):
    for actor in (qh.other_clerk, resident().user, "someone"):
        with pytest.raises(PermissionDenied):
            svc.ticket_take(
                hall=qh.hall, item_code=BIRTH, source=TicketSource.RECEPTION, actor=actor, now=NOW
            )
    assert Ticket.objects.count() == 0


def test_out_of_hours_is_refused(db):
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-hours", hours=True)
    evening = NOW.replace(hour=18)
    with pytest.raises(Conflict) as refused:
        take(qh, at=evening)
    assert refused.value.code == "QUEUE_HALL_CLOSED"
    assert take(qh, at=NOW).number == "A001"


def test_routing_by_item_to_the_windows_that_serve_it(qh):
    w = qh.windows
    assert [x.number for x in sel.routed_windows(hall=qh.hall, item_code=BIRTH)] == ["A01", "A02"]
    assert [x.number for x in sel.routed_windows(hall=qh.hall, item_code=SSCARD)] == ["A01"]
    assert [x.number for x in sel.routed_windows(hall=qh.hall, item_code=INVOICE)] == [
        "A01",
        "B01",
    ]
    assert sel.window_item_codes(window=w["A02"]) == [BIRTH]
    assert sel.window_item_codes(window=w["B01"]) == [INVOICE]
    assert sel.window_item_codes(window=w["C01"]) == []


def test_exact_calling_order_bookings_first_once_their_slot_started(qh):
    w1 = take(qh, at=NOW.replace(hour=9, minute=0))
    b1 = checked_in(qh, resident().user, slot_at=NOW, at=NOW.replace(hour=9, minute=10))
    w2 = take(qh, at=NOW.replace(hour=9, minute=20))
    b2 = checked_in(
        qh, resident().user, slot_at=NOW.replace(hour=9, minute=30), at=NOW.replace(minute=0)
    )
    a01 = qh.windows["A01"]
    early = NOW.replace(hour=9, minute=45)
    # 9:45: b2's slot (9:30) has started, b1's (10:00) not: b1 waits by when it was taken.
    assert list(sel.window_queue(window=a01, now=early)) == [b2, w1, b1, w2]
    # 10:00: both slots started, by slot start; then the walk-ins by taking time.
    assert list(sel.window_queue(window=a01, now=NOW)) == [b2, b1, w1, w2]
    sign_in(qh, qh.clerk, "A01")
    called = []
    for _ in range(4):
        t = svc.ticket_call_next(clerk=qh.clerk, now=NOW)
        called.append(t.number)
        svc.ticket_skip(clerk=qh.clerk, ticket=t, now=NOW)
    assert (
        called == [b2.number, b1.number, w1.number, w2.number] == ["Y002", "Y001", "A001", "A002"]
    )
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) is None


def test_a_window_calls_only_what_it_serves(qh):
    ss = take(qh, SSCARD, at=NOW - 3 * MIN)
    inv = take(qh, INVOICE, at=NOW - 2 * MIN)
    birth = take(qh, BIRTH, at=NOW - MIN)
    sign_in(qh, qh.clerk, "A02")
    sign_in(qh, qh.clerk2, "B01")
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) == birth
    assert svc.ticket_call_next(clerk=qh.clerk2, now=NOW) == inv
    ss.refresh_from_db()
    assert ss.status == TicketStatus.WAITING


def test_call_recall_start_finish_and_every_move_is_an_event(qh):
    booking = booking_at(qh.hall, resident().user, starts_at=NOW)
    booking.status = BookingStatus.CHECKED_IN
    booking.save()
    t = svc._ticket_create(
        hall=qh.hall, day=NOW.date(), prefix="Y", item_code=BIRTH, source="booking",
        booking=booking, user=booking.user, status="waiting", slot_starts_at=NOW, taken_at=NOW,
    )  # fmt: skip
    Ticket.objects.filter(pk=t.pk).update(taken_at=NOW - 5 * MIN)
    sign_in(qh, qh.clerk, "A01")
    called = svc.ticket_call_next(clerk=qh.clerk, now=NOW)
    assert (called.pk, called.status, called.window, called.clerk, called.calls) == (
        t.pk, "called", qh.windows["A01"], qh.clerk, 1,
    )  # fmt: skip
    with pytest.raises(Conflict) as busy:
        svc.ticket_call_next(clerk=qh.clerk, now=NOW)
    assert busy.value.code == "QUEUE_CURRENT_OPEN"
    svc.ticket_recall(clerk=qh.clerk, ticket=called, now=NOW + MIN)
    with pytest.raises(Conflict):
        svc.ticket_finish(clerk=qh.clerk, ticket=called, now=NOW + MIN)  # not started
    svc.ticket_start(clerk=qh.clerk, ticket=called, now=NOW + 2 * MIN)
    done = svc.ticket_finish(clerk=qh.clerk, ticket=called, now=NOW + 9 * MIN)
    t.refresh_from_db()
    booking.refresh_from_db()
    assert (t.status, t.calls, t.called_at, t.finished_at) == ("done", 2, NOW, NOW + 9 * MIN)
    assert done.status == "done"
    assert (booking.status, booking.closed_at) == ("completed", NOW + 9 * MIN)
    events = list(QueueEvent.objects.filter(ticket=t).order_by("pk"))
    assert [(e.kind, e.actor_id, e.window_id) for e in events] == [
        ("called", qh.clerk.pk, qh.windows["A01"].pk),
        ("recalled", qh.clerk.pk, qh.windows["A01"].pk),
        ("started", qh.clerk.pk, qh.windows["A01"].pk),
        ("done", qh.clerk.pk, qh.windows["A01"].pk),
    ]


def test_skip_closes_the_ticket_and_the_next_is_called(qh):
    first = take(qh, at=NOW - 2 * MIN)
    second = take(qh, at=NOW - MIN)
    sign_in(qh, qh.clerk, "A01")
    svc.ticket_skip(clerk=qh.clerk, ticket=svc.ticket_call_next(clerk=qh.clerk, now=NOW), now=NOW)
    first.refresh_from_db()
    assert (first.status, first.finished_at) == ("skipped", NOW)
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) == second


def test_a_transferred_ticket_is_called_first_by_the_named_window_only(qh):
    t = take(qh, SSCARD, at=NOW - 10 * MIN)
    invoice = take(qh, INVOICE, at=NOW - 9 * MIN)
    later = take(qh, SSCARD, at=NOW - 5 * MIN)
    sign_in(qh, qh.clerk, "A01")
    sign_in(qh, qh.clerk2, "B01")
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) == t
    with pytest.raises(InvalidInput):  # 出件窗口 never calls
        svc.ticket_transfer(clerk=qh.clerk, ticket=t, window=qh.windows["C01"], now=NOW)
    with pytest.raises(InvalidInput):  # another hall's window
        svc.ticket_transfer(clerk=qh.clerk, ticket=t, window=qh.other_hall.windows.get(), now=NOW)
    moved = svc.ticket_transfer(clerk=qh.clerk, ticket=t, window=qh.windows["B01"], now=NOW)
    assert (moved.status, moved.transferred_to, moved.window, moved.clerk) == (
        "waiting", qh.windows["B01"], None, None,
    )  # fmt: skip
    # A01 does not call it again; B01 calls it before its own earlier invoice ticket.
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) == invoice
    svc.ticket_skip(clerk=qh.clerk, ticket=invoice, now=NOW)
    again = svc.ticket_call_next(clerk=qh.clerk2, now=NOW + MIN)
    assert (again.pk, again.window, again.transferred_to, again.calls, again.called_at) == (
        t.pk, qh.windows["B01"], None, 2, NOW,
    )  # fmt: skip
    assert svc.ticket_call_next(clerk=qh.clerk, now=NOW) == later
    event = QueueEvent.objects.get(ticket=t, kind="transferred")
    assert (event.window, event.data) == (qh.windows["A01"], {"to": "B01"})


def test_clerks_act_only_on_their_own_called_ticket(qh):
    t = take(qh)
    sign_in(qh, qh.clerk, "A01")
    svc.ticket_call_next(clerk=qh.clerk, now=NOW)
    sign_in(qh, qh.clerk2, "A02")
    before = QueueEvent.objects.count()
    for clerk in (qh.clerk2, qh.other_clerk, resident().user):
        for move in (svc.ticket_recall, svc.ticket_skip, svc.ticket_start):
            with pytest.raises(PermissionDenied):
                move(clerk=clerk, ticket=t, now=NOW)
    t.refresh_from_db()
    assert (t.status, t.calls, QueueEvent.objects.count()) == ("called", 1, before)


def test_window_sign_in_rules(qh):
    a01 = qh.windows["A01"]
    audits = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        svc.window_sign_in(clerk=qh.other_clerk, window=a01, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.window_sign_in(clerk=resident().user, window=a01, now=NOW)
    with pytest.raises(Conflict):
        svc.window_sign_in(clerk=qh.clerk, window=qh.windows["C01"], now=NOW)
    assert (WindowSession.objects.count(), AuditEvent.objects.count()) == (0, audits)
    first = sign_in(qh, qh.clerk, "A01")
    assert sign_in(qh, qh.clerk, "A01") == first
    with pytest.raises(Conflict) as taken:
        sign_in(qh, qh.clerk2, "A01")
    assert taken.value.code == "WINDOW_TAKEN"
    moved = sign_in(qh, qh.clerk, "A02", at=NOW + MIN)
    first.refresh_from_db()
    assert (first.ended_at, moved.window, sel.clerk_window(clerk=qh.clerk)) == (
        NOW + MIN, qh.windows["A02"], qh.windows["A02"],
    )  # fmt: skip
    take(qh)
    svc.ticket_call_next(clerk=qh.clerk, now=NOW)
    with pytest.raises(Conflict):
        svc.window_sign_out(clerk=qh.clerk, now=NOW)
    assert AuditEvent.objects.filter(action="queue.window_sign_in").count() == 2


def test_position_and_estimate(qh):
    # Two tickets served at A01 lately: 6 and 10 minutes from call to finish (8 on average).
    sign_in(qh, qh.clerk, "A01")
    for minutes in (6, 10):
        take(qh, at=NOW - dt.timedelta(hours=1))
        t = svc.ticket_call_next(clerk=qh.clerk, now=NOW - dt.timedelta(minutes=50))
        svc.ticket_start(clerk=qh.clerk, ticket=t, now=NOW - dt.timedelta(minutes=50))
        svc.ticket_finish(clerk=qh.clerk, ticket=t, now=NOW - dt.timedelta(minutes=50 - minutes))
    waiting = [take(qh, SSCARD, at=NOW - dt.timedelta(minutes=30 - i)) for i in range(3)]
    mine = take(qh, SSCARD, at=NOW - MIN)
    # SSCARD: A01 only, one clerk signed in: 3 ahead × 8 min ÷ 1 = 24.
    assert sel.ticket_position(ticket=mine, now=NOW) == (3, 24)
    assert sel.ticket_position(ticket=waiting[0], now=NOW) == (0, 0)
    birth = take(qh, BIRTH, at=NOW)
    # BIRTH: A01 (staffed) and A02 (nobody there yet): at A01 the four SSCARD tickets are ahead.
    assert sel.ticket_position(ticket=birth, now=NOW) == (4, 32)
    sign_in(qh, qh.clerk2, "A02")  # A02 takes BIRTH only: nobody ahead there
    assert sel.ticket_position(ticket=birth, now=NOW) == (0, 0)
    assert sel.ticket_position(ticket=mine, now=NOW) == (3, 24)
    assert sel.waiting_count(hall=qh.hall, now=NOW) == 5


def test_position_without_history_uses_the_default(qh):
    take(qh, SSCARD, at=NOW - 2 * MIN)
    mine = take(qh, SSCARD, at=NOW - MIN)
    assert sel.ticket_position(ticket=mine, now=NOW) == (1, sel.DEFAULT_SERVICE_MINUTES)


def test_the_next_two_hear_that_their_turn_is_near_once(qh):
    from tongban.notifications.models import Notice

    people = [resident().user for _ in range(4)]
    tickets = [take(qh, user=p, at=NOW - (10 - i) * MIN) for i, p in enumerate(people)]
    take(qh, at=NOW)  # nobody known: no notice
    sign_in(qh, qh.clerk, "A01")
    svc.ticket_skip(clerk=qh.clerk, ticket=svc.ticket_call_next(clerk=qh.clerk, now=NOW), now=NOW)
    svc.ticket_call_next(clerk=qh.clerk, now=NOW)
    notices = list(Notice.objects.filter(template="queue_soon").order_by("pk"))
    assert [(n.recipient, n.link, n.title) for n in notices] == [
        (people[1], f"/me/tickets/#ticket-{tickets[1].pk}", "即将轮到您：A002号"),
        (people[2], f"/me/tickets/#ticket-{tickets[2].pk}", "即将轮到您：A003号"),
        (people[3], f"/me/tickets/#ticket-{tickets[3].pk}", "即将轮到您：A004号"),
    ]
