"""The last place is never sold twice: 200 attempts at one remaining place, each on its own
thread and database connection, give exactly one booking — on SQLite and on PostgreSQL. The
losers get a clean refusal (slot full, or on SQLite "busy, try again"), never a 500.

PostgreSQL's server allows 100 connections (shared with other test runs), so there at most
40 of the 200 threads hold a connection at the same moment; on SQLite all 200 race at once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import F

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.appointments.models import Booking, Slot
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    OpenHallFactory,
    booking_row,
    slot_at,
    tomorrow_at,
)
from tongban.common.errors import DomainError

ATTEMPTS = 200


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_attempts_at_the_last_place_give_exactly_one_booking():
    rule = BookingRuleFactory(hall=OpenHallFactory(code="race-hall"), capacity=5)
    slot = slot_at(rule, tomorrow_at(10))
    for _ in range(4):  # four places already taken: one remains
        booking_row(slot, ResidentProfileFactory().user)
    slot.refresh_from_db()
    assert slot.remaining == 1
    people = [p.user for p in ResidentProfileFactory.create_batch(ATTEMPTS)]
    at_once = threading.BoundedSemaphore(40 if connection.vendor == "postgresql" else ATTEMPTS)
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def attempt(user):
        barrier.wait(timeout=60)
        with at_once:
            try:
                svc.booking_make(user=user, slot_id=slot.pk, actor=user)
                result = "booked"
            except DomainError as exc:
                result = exc.code
            except BaseException as exc:  # reported below: a thread must not die silently
                result = "error"
                unexpected.append(exc)
            finally:
                connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert unexpected == []
    counts = Counter(outcomes)
    assert counts["booked"] == 1
    assert set(counts) <= {"booked", "BOOKING_SLOT_FULL", "BOOKING_BUSY"}
    assert sum(counts.values()) == ATTEMPTS
    # From the database: the slot is exactly full and holds five bookings, one of them new.
    slot.refresh_from_db()
    assert (slot.booked, slot.capacity) == (5, 5)
    assert Booking.objects.filter(slot=slot).count() == 5
    assert Booking.objects.filter(slot=slot, user__in=people).count() == 1
    assert Slot.objects.filter(booked__gt=F("capacity")).count() == 0
