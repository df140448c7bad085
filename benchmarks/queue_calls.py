"""取号叫号: call-next latency with 500 tickets waiting in a hall, and how soon the hall screen
shows a call.

    .venv/bin/python benchmarks/queue_calls.py [--waiting 500] [--calls 300] [--clerks 10]
        [--postgres postgres://postgres@127.0.0.1:5432/DBNAME]

A fresh database (a temporary SQLite file, or with --postgres the scratch database DBNAME,
dropped and created first; "test" and "postgres" are refused) is migrated and given the test
catalog, one hall with CLERKS windows (综合窗口; two of them take one item only) and WAITING
tickets: four fifths walk-ins over three items, one fifth booked tickets whose slots are
spread over the morning, so the calling order has all its cases.

- take: services.ticket_take of a walk-in (number allocated under the hall's lock), each.
- call_next: services.ticket_call_next by one clerk while WAITING tickets wait (each call is
  followed, unmeasured, by a skip and a new walk-in, so the queue stays at WAITING): the
  calling order in SQL, the row locked (SKIP LOCKED on PostgreSQL), updated, its event and
  the "即将轮到您" check. Also its number of SQL statements.
- call_next_concurrent: CLERKS threads (own connections) calling and skipping at once, each
  until CALLS/CLERKS calls; per-call latency and calls per second overall. Checked: no
  ticket called twice.
- feed: GET /api/v1/halls/{code}/queue/feed?after=N through the whole Django stack (the
  test client), for the screen's poll: the calls after the last one shown.
- call_to_feed: from just before a clerk's call to the feed answer that carries it, when the
  feed is asked right after the call commits (the floor). The screen polls every 2 s, so
  on a real screen a call appears on average 1 s + this later, at worst 2 s + this.

Writes benchmarks/results/queue-<db>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import threading
import time

from _server import RESULTS, django_in_process

ITEMS = ("birth_registration", "social_security_card", "medical_insurance_enrolment")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 3),
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


def setup(waiting: int, clerks: int):
    from django.utils import timezone

    from tongban.accounts.models import StaffAssignment, StaffRole, User
    from tongban.accounts.tests.factories import ResidentProfileFactory
    from tongban.appointments.models import (
        Booking,
        BookingRule,
        BookingStatus,
        Hall,
        HallItem,
        Slot,
        TicketSource,
        Window,
    )
    from tongban.appointments.services import queue as svc
    from tongban.catalog.models import Department
    from tongban.catalog.services import catalog_load_directory
    from tongban.catalog.tests.conftest import FIXTURES

    catalog_load_directory(path=FIXTURES)
    hall = Hall.objects.create(
        code="BENCH-HALL", name="基准测试大厅（示例）", district="310101", address="示例路1号"
    )
    for code in ITEMS:
        HallItem.objects.create(hall=hall, item_code=code)
    police = Department.objects.get(code="police")
    windows, staff = [], []
    for i in range(clerks):
        only = [ITEMS[0]] if i in (1, 2) else []
        windows.append(
            Window.objects.create(
                hall=hall, number=f"A{i + 1:02d}", name="综合受理", item_codes=only
            )
        )
        user = User.objects.create(username=f"bench_clerk{i}", kind=User.Kind.STAFF)
        StaffAssignment.objects.create(
            user=user, department=police, role=StaffRole.COUNTER_CLERK, hall=hall
        )
        staff.append(user)
    for user, window in zip(staff, windows, strict=True):
        svc.window_sign_in(clerk=user, window=window)
    now = timezone.now()
    people = [ResidentProfileFactory().user for _ in range(50)]
    booked = waiting // 5
    rule = BookingRule.objects.create(hall=hall, item_code=ITEMS[0], slot_minutes=30, capacity=50)
    take_times = []
    for i in range(waiting - booked):
        started = time.perf_counter()
        svc.ticket_take(
            hall=hall,
            item_code=ITEMS[i % 3],
            source=TicketSource.KIOSK,
            user=people[i % 50] if i % 4 == 0 and i < 200 else None,
            actor="kiosk:bench",
        )
        take_times.append(time.perf_counter() - started)
    for i in range(booked):
        starts = now + dt.timedelta(minutes=30 * (i % 8 - 4))
        slot, _ = Slot.objects.get_or_create(
            rule=rule,
            starts_at=starts,
            defaults={
                "hall": hall, "item_code": ITEMS[0], "day": timezone.localdate(starts),
                "ends_at": starts + dt.timedelta(minutes=30), "capacity": 50,
            },
        )  # fmt: skip
        user = User.objects.create(username=f"bench_booker{i}", kind=User.Kind.PERSON)
        booking = Booking.objects.create(
            reference=f"BENCH{i:05d}", slot=slot, user=user, booked_by=user,
            status=BookingStatus.CHECKED_IN, created_at=now, checked_in_at=now,
        )  # fmt: skip
        svc._ticket_create(
            hall=hall, day=timezone.localdate(now), prefix="Y", item_code=ITEMS[0],
            source=TicketSource.BOOKING, booking=booking, user=user, status="waiting",
            slot_starts_at=starts, taken_at=now,
        )  # fmt: skip
    return hall, staff, take_times


def refill(hall, i: int) -> None:
    from tongban.appointments.models import TicketSource
    from tongban.appointments.services import queue as svc

    svc.ticket_take(hall=hall, item_code=ITEMS[i % 3], source=TicketSource.KIOSK, actor="kiosk:b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--clerks", type=int, default=10)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    vendor = django_in_process(prefix="tongban-bench-queue-", postgres=args.postgres)

    from django.db import connection, connections
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongban.appointments.models import QueueEvent, Ticket
    from tongban.appointments.services import queue as svc

    hall, staff, take_times = setup(args.waiting, args.clerks)
    assert Ticket.objects.filter(hall=hall, status="waiting").count() == args.waiting
    clerk = staff[0]

    # One clerk, 500 waiting.
    calls, statements = [], []
    for i in range(args.calls):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            ticket = svc.ticket_call_next(clerk=clerk)
        calls.append(time.perf_counter() - started)
        statements.append(len(queries))
        svc.ticket_skip(clerk=clerk, ticket=ticket)
        refill(hall, i)
    waiting_after = Ticket.objects.filter(hall=hall, status="waiting").count()

    # The screen's feed.
    client = Client()
    feed_url = f"/api/v1/halls/{hall.code}/queue/feed"
    last = client.get(feed_url).json()["last_id"]
    feed_times, call_to_feed = [], []
    for i in range(min(args.calls, 200)):
        started = time.perf_counter()
        ticket = svc.ticket_call_next(clerk=clerk)
        asked = time.perf_counter()
        body = client.get(f"{feed_url}?after={last}").json()
        done = time.perf_counter()
        assert any(c["number"] == ticket.number for c in body["calls"]), body
        last = body["last_id"]
        feed_times.append(done - asked)
        call_to_feed.append(done - started)
        svc.ticket_skip(clerk=clerk, ticket=ticket)
        refill(hall, i)

    # Every clerk at once.
    per_clerk = max(1, args.calls // len(staff))
    concurrent: list[float] = []
    called: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(staff))
    failures: list[BaseException] = []

    def work(user) -> None:
        try:
            barrier.wait(timeout=60)
            for _ in range(per_clerk):
                started = time.perf_counter()
                ticket = svc.ticket_call_next(clerk=user)
                took = time.perf_counter() - started
                if ticket is None:
                    return
                with lock:
                    concurrent.append(took)
                    called.append(ticket.pk)
                svc.ticket_skip(clerk=user, ticket=ticket)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in staff]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    assert failures == [], failures
    assert len(called) == len(set(called)), "a ticket was called twice"
    twice = (
        QueueEvent.objects.filter(kind="called")
        .values("ticket_id")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )

    result = {
        "benchmark": "queue",
        "database": vendor,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "waiting": args.waiting,
        "waiting_after_single_clerk_phase": waiting_after,
        "windows_and_clerks": len(staff),
        "take": summary(take_times),
        "call_next": summary(calls) | {"sql_statements": statistics.median(statements)},
        "feed": summary(feed_times),
        "call_to_feed": summary(call_to_feed),
        "screen_poll_seconds": 2,
        "screen_expected_delay_ms": round(1000 + statistics.fmean(call_to_feed) * 1000, 1),
        "call_next_concurrent": summary(concurrent)
        | {
            "clerks": len(staff),
            "calls_per_second": round(len(concurrent) / wall, 1),
            "tickets_called_twice": twice,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"queue-{vendor}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
