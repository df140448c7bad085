"""Two clerks never call the same ticket, and tickets taken at the same moment get distinct
numbers: threads, each on its own database connection. On PostgreSQL the call locks with SKIP
LOCKED and the allocation locks the hall's row; on SQLite the write lock serialises both
(these tests run there only when the test database is a file, as shared-cache memory
databases refuse concurrent writers outright instead of waiting)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.appointments.models import QueueEvent, Ticket, TicketSource, Window
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import BIRTH, NOW, queue_hall
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _real_database():
    if connection.vendor == "sqlite" and connection.settings_dict["TEST"].get("NAME") in (
        None,
        "",
        ":memory:",
    ):
        pytest.skip("concurrent writers need PostgreSQL or a file SQLite test database")


def _run(workers, target):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def wrap(arg):
        try:
            barrier.wait(timeout=60)
            target(arg)
        except BaseException as exc:  # reported below: a thread must not die silently
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []


def test_clerks_calling_at_once_never_call_the_same_ticket():
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-race")
    more = [Window.objects.create(hall=qh.hall, number=n, name="综合受理") for n in ("A03", "A04")]
    clerk4 = StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.COUNTER_CLERK,
        hall=qh.hall,
    )  # fmt: skip
    pairs = [
        (qh.clerk, qh.windows["A01"]), (qh.clerk2, qh.windows["A02"]),
        (qh.clerk3, more[0]), (clerk4, more[1]),
    ]  # fmt: skip
    for clerk, window in pairs:
        svc.window_sign_in(clerk=clerk, window=window, now=NOW)
    for _ in range(40):
        svc.ticket_take(
            hall=qh.hall, item_code=BIRTH, source=TicketSource.RECEPTION, actor=qh.clerk, now=NOW
        )
    called: list[int] = []
    lock = threading.Lock()

    def work(clerk):
        while True:
            ticket = svc.ticket_call_next(clerk=clerk, now=NOW)
            if ticket is None:
                return
            with lock:
                called.append(ticket.pk)
            svc.ticket_skip(clerk=clerk, ticket=ticket, now=NOW)

    _run([c for c, _ in pairs], work)
    assert len(called) == 40 and len(set(called)) == 40
    per_ticket = Counter(
        QueueEvent.objects.filter(kind="called").values_list("ticket_id", flat=True)
    )
    assert set(per_ticket.values()) == {1} and len(per_ticket) == 40
    assert Ticket.objects.filter(status="skipped").count() == 40


def test_tickets_taken_at_once_get_distinct_numbers():
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-take")

    def work(i):
        svc.ticket_take(
            hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, actor=f"kiosk:{i}", now=NOW
        )

    _run(list(range(30)), work)
    rows = list(Ticket.objects.filter(hall=qh.hall).values_list("number", "sequence"))
    assert sorted(n for n, _ in rows) == [f"A{i:03d}" for i in range(1, 31)]
    assert sorted(s for _, s in rows) == list(range(1, 31))
