"""等候时长日统计: the queue sweep computes past days' waits per hall and per window (average
and 90th percentile from taking the number to the first call), closes what the day left open,
and running it again changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.appointments.models import QueueEvent, Ticket, TicketSource, WaitStat, WindowSession
from tongban.appointments.services import queue as svc
from tongban.appointments.sweeps import SWEEPS
from tongban.appointments.tests.factories_queue import BIRTH, NOW, SSCARD, queue_hall
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES

YESTERDAY = NOW - dt.timedelta(days=1)
NINE = YESTERDAY.replace(hour=9, minute=0)
S = dt.timedelta(seconds=1)


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def _call_and_skip(clerk, at):
    ticket = svc.ticket_call_next(clerk=clerk, now=at)
    svc.ticket_skip(clerk=clerk, ticket=ticket, now=at)
    return ticket


def test_daily_waits_per_hall_and_window_then_idempotent(qh):
    def take(item):
        return svc.ticket_take(
            hall=qh.hall, item_code=item, source=TicketSource.RECEPTION, actor=qh.clerk3, now=NINE
        )

    take(BIRTH), take(BIRTH), take(SSCARD), take(BIRTH)
    left = take(SSCARD)  # never called: cancelled when the day is over
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=NINE)
    svc.window_sign_in(clerk=qh.clerk2, window=qh.windows["A02"], now=NINE)
    for seconds in (60, 120, 300):
        _call_and_skip(qh.clerk, NINE + seconds * S)
    _call_and_skip(qh.clerk2, NINE + 600 * S)
    svc.window_sign_out(clerk=qh.clerk2, now=NINE + 700 * S)  # clerk stays signed in overnight

    result = SWEEPS["queue"](NOW, NOW.date())
    assert result == {"tickets_cancelled": 1, "sessions_closed": 1, "wait_stats": 3}
    rows = {
        (s.window.number if s.window else "hall"): (
            s.day,
            s.tickets,
            s.average_wait_seconds,
            s.p90_wait_seconds,
        )
        for s in WaitStat.objects.all()
    }
    day = YESTERDAY.date()
    assert rows == {
        "hall": (day, 4, 270, 600),
        "A01": (day, 3, 160, 300),
        "A02": (day, 1, 600, 600),
    }
    left.refresh_from_db()
    assert (left.status, left.finished_at) == ("cancelled", NOW)
    event = QueueEvent.objects.get(ticket=left, kind="cancelled")
    assert (event.actor_label, event.data) == ("system:queue_sweep", {"reason": "day_over"})
    assert WindowSession.objects.filter(ended_at__isnull=True).count() == 0

    assert SWEEPS["queue"](NOW, NOW.date()) == {
        "tickets_cancelled": 0, "sessions_closed": 0, "wait_stats": 0,
    }  # fmt: skip
    assert WaitStat.objects.count() == 3
    # A call recorded later than the figures (a correction) has the day computed again.
    Ticket.objects.filter(number="A004").update(called_at=NOW + dt.timedelta(hours=1))
    later = NOW + dt.timedelta(hours=2)
    assert SWEEPS["queue"](later, later.date())["wait_stats"] == 3
    assert WaitStat.objects.count() == 3


def test_today_is_not_computed_yet(qh):
    svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.RECEPTION, actor=qh.clerk3, now=NOW
    )
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"], now=NOW)
    _call_and_skip(qh.clerk, NOW + 30 * S)
    assert SWEEPS["queue"](NOW, NOW.date()) == {
        "tickets_cancelled": 0, "sessions_closed": 0, "wait_stats": 0,
    }  # fmt: skip
    assert WaitStat.objects.count() == 0


def test_p90_by_nearest_rank():
    assert svc._p90([5]) == 5
    assert svc._p90(list(range(1, 11))) == 9
    assert svc._p90(list(range(1, 12))) == 10
