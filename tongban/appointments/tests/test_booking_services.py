"""统一预约 services: slots from opening hours, booking rules, reschedule, cancel, clerks
acting for a resident, and the sweep (reminders once, no-shows, the no-show limit)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.models import LOCAL_TZ, Booking, BookingStatus, Slot
from tongban.appointments.selectors import booking as sel
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    OpenHallFactory,
    VenueFactory,
    booking_row,
    slot_at,
    tomorrow_at,
)
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule():
    return BookingRuleFactory(hall=OpenHallFactory(code="bk-hall"), capacity=2)


@pytest.fixture
def person():
    return ResidentProfileFactory().user


@pytest.fixture
def slot(rule):
    return slot_at(rule, tomorrow_at(9))


# ---------------------------------------------------------------- slots


def test_slots_follow_the_opening_hours_and_generating_twice_adds_nothing(rule):
    day = timezone.localdate() + dt.timedelta(days=2)
    assert svc.slots_generate(rule=rule, start=day, end=day) == 14  # 6 morning + 8 afternoon
    assert svc.slots_generate(rule=rule, start=day, end=day) == 0
    slots = list(Slot.objects.filter(rule=rule).order_by("starts_at"))
    assert [s.starts_at.astimezone(LOCAL_TZ).strftime("%H:%M") for s in slots[5:8]] == [
        "11:30",
        "13:00",
        "13:30",
    ]
    assert {(s.capacity, s.booked, s.item_code, s.hall_id) for s in slots} == {
        (2, 0, "vaccination_certificate", rule.hall_id)
    }
    assert AuditEvent.objects.filter(action="booking.slots_generate").count() == 1


def test_holidays_are_closed_a_worked_weekend_keeps_monday_hours_and_uncovered_years_skip():
    hall = OpenHallFactory(
        code="bk-weekdays",
        open_on_holidays=False,
        weekly_hours=[[["09:00", "10:00"]]] * 5 + [[], []],
    )
    rule = BookingRuleFactory(hall=hall, slot_minutes=30)
    assert svc.slots_generate(rule=rule, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 1)) == 0
    # 2026-10-10 is a Saturday worked instead of a holiday (调休上班).
    assert (
        svc.slots_generate(rule=rule, start=dt.date(2026, 10, 10), end=dt.date(2026, 10, 10)) == 2
    )
    assert svc.slots_generate(rule=rule, start=dt.date(2099, 1, 5), end=dt.date(2099, 1, 9)) == 0


def test_venue_resources_get_slots_too():
    venue = VenueFactory(code="bk-venue")
    rule = BookingRuleFactory(
        hall=None, venue=venue, item_code="", resource="羽毛球1号场", slot_minutes=60, capacity=1
    )
    day = timezone.localdate() + dt.timedelta(days=1)
    assert svc.slots_generate(rule=rule, start=day, end=day) == 12
    assert set(Slot.objects.filter(rule=rule).values_list("resource", flat=True)) == {"羽毛球1号场"}


# ---------------------------------------------------------------- booking


def test_a_booking_takes_a_place_is_audited_and_confirmed(slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    slot.refresh_from_db()
    assert (slot.booked, b.status, b.booked_by_id, b.user_id) == (1, "booked", person.pk, person.pk)
    assert b.reference.startswith("YY") and len(b.reference) == 14
    audit = AuditEvent.objects.get(action="booking.make")
    assert (audit.actor_id, audit.data["on_behalf"], audit.data["reference"]) == (
        person.pk,
        False,
        b.reference,
    )
    notice = Notice.objects.get(recipient=person)
    assert notice.template == "booking_confirmed"
    assert notice.link == f"/me/bookings/{b.reference}/"


def test_a_double_submit_returns_the_same_booking(slot, person):
    first = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    second = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    slot.refresh_from_db()
    assert first.pk == second.pk and slot.booked == 1 and Booking.objects.count() == 1


def test_the_same_idempotency_key_for_another_slot_is_refused(rule, slot, person):
    other = slot_at(rule, tomorrow_at(9, days=2))
    svc.booking_make(user=person, slot_id=slot.pk, actor=person, idempotency_key="k1")
    again = svc.booking_make(user=person, slot_id=slot.pk, actor=person, idempotency_key="k1")
    assert again.slot_id == slot.pk
    with pytest.raises(svc.IdempotencyKeyReused):
        svc.booking_make(user=person, slot_id=other.pk, actor=person, idempotency_key="k1")
    assert Booking.objects.count() == 1


def test_a_full_slot_is_refused_and_nothing_is_written(rule, person):
    full = slot_at(rule, tomorrow_at(10), capacity=1, booked=1)
    with pytest.raises(svc.SlotFull):
        svc.booking_make(user=person, slot_id=full.pk, actor=person)
    full.refresh_from_db()
    assert full.booked == 1 and Booking.objects.count() == 0 and Notice.objects.count() == 0


def test_started_slots_and_slots_beyond_the_horizon_are_refused(rule, person):
    started = slot_at(rule, timezone.now() - dt.timedelta(minutes=1))
    far = slot_at(rule, tomorrow_at(9, days=rule.days_ahead + 1))
    with pytest.raises(svc.SlotClosed):
        svc.booking_make(user=person, slot_id=started.pk, actor=person)
    with pytest.raises(svc.SlotNotOpen):
        svc.booking_make(user=person, slot_id=far.pk, actor=person)
    with pytest.raises(svc.NotFound):
        svc.booking_make(user=person, slot_id=10**9, actor=person)
    assert Booking.objects.count() == 0


def test_a_second_booking_of_the_same_item_on_the_same_day_is_refused(rule, slot, person):
    svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    later = slot_at(rule, tomorrow_at(14))
    with pytest.raises(svc.BookingSameDay):
        svc.booking_make(user=person, slot_id=later.pk, actor=person)
    other_item = BookingRuleFactory(hall=rule.hall, item_code="birth_registration")
    assert (
        svc.booking_make(
            user=person, slot_id=slot_at(other_item, tomorrow_at(14)).pk, actor=person
        ).status
        == "booked"
    )


def test_three_no_shows_in_90_days_bar_booking_for_30_days_after_the_last(rule, slot, person):
    now = timezone.now()
    for days in (80, 40, 10):
        past = slot_at(rule, now - dt.timedelta(days=days))
        booking_row(past, person, status=BookingStatus.NO_SHOW)
    allowed, reason = sel.booking_may_book(user=person, now=now)
    assert not allowed and "3次预约未按时到场" in reason
    with pytest.raises(svc.BookingLimited) as refused:
        svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    assert refused.value.code == "BOOKING_LIMITED"
    assert Booking.objects.filter(status="booked").count() == 0
    assert sel.booking_may_book(user=person, now=now + dt.timedelta(days=21)) == (True, "")


def test_two_no_shows_do_not_bar(rule, person):
    now = timezone.now()
    for days in (20, 10):
        booking_row(slot_at(rule, now - dt.timedelta(days=days)), person, status="no_show")
    assert sel.booking_may_book(user=person, now=now) == (True, "")


# ---------------------------------------------------------------- reschedule, cancel


def test_reschedule_moves_the_place_in_one_go(rule, slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    target = slot_at(rule, tomorrow_at(15))
    new = svc.booking_reschedule(booking=b, slot_id=target.pk, actor=person)
    b.refresh_from_db()
    slot.refresh_from_db()
    target.refresh_from_db()
    assert (b.status, slot.booked, target.booked) == ("cancelled", 0, 1)
    assert (new.status, new.rescheduled_from_id, new.slot_id) == ("booked", b.pk, target.pk)
    assert Notice.objects.filter(template="booking_rescheduled").count() == 1


def test_reschedule_to_a_full_slot_changes_nothing(rule, slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    full = slot_at(rule, tomorrow_at(15), capacity=1, booked=1)
    with pytest.raises(svc.SlotFull):
        svc.booking_reschedule(booking=b, slot_id=full.pk, actor=person)
    b.refresh_from_db()
    slot.refresh_from_db()
    full.refresh_from_db()
    assert (b.status, slot.booked, full.booked, Booking.objects.count()) == ("booked", 1, 1, 1)


def test_cancel_frees_the_place_but_not_after_the_slot_started(rule, slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    svc.booking_cancel(booking=b, actor=person, reason="临时有事")
    b.refresh_from_db()
    slot.refresh_from_db()
    assert (b.status, slot.booked) == ("cancelled", 0) and b.closed_at is not None
    again = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    with pytest.raises(svc.BookingNotChangeable):
        svc.booking_cancel(
            booking=again, actor=person, now=slot.starts_at + dt.timedelta(minutes=1)
        )
    again.refresh_from_db()
    assert again.status == "booked"


def test_another_resident_cannot_cancel(slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    stranger = ResidentProfileFactory().user
    with pytest.raises(svc.BookingNotAllowed):
        svc.booking_cancel(booking=b, actor=stranger)
    b.refresh_from_db()
    slot.refresh_from_db()
    assert (b.status, slot.booked) == ("booked", 1)
    assert not AuditEvent.objects.filter(action="booking.cancel").exists()


# ---------------------------------------------------------------- a clerk on their behalf


def test_a_clerk_of_the_hall_books_and_cancels_for_a_resident(rule, slot, person):
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=rule.hall)
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=clerk)
    assert (b.user_id, b.booked_by_id) == (person.pk, clerk.pk)
    audit = AuditEvent.objects.get(action="booking.make")
    assert (audit.actor_id, audit.data["user"], audit.data["on_behalf"]) == (
        clerk.pk,
        person.pk,
        True,
    )
    assert audit.subject_resident_id == person.resident_profile.pk
    assert Notice.objects.get(recipient=person).template == "booking_made_by_clerk"
    svc.booking_cancel(booking=b, actor=clerk)
    assert (
        Notice.objects.filter(recipient=person, template="booking_cancelled_by_clerk").count() == 1
    )


def test_a_clerk_of_another_hall_cannot_book_for_anyone(slot, person):
    elsewhere = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=OpenHallFactory(code="bk-else"))
    reviewer = StaffFactory(role=StaffRole.REVIEWER)
    for actor in (elsewhere, reviewer):
        with pytest.raises(svc.BookingNotAllowed):
            svc.booking_make(user=person, slot_id=slot.pk, actor=actor)
    slot.refresh_from_db()
    assert slot.booked == 0 and Booking.objects.count() == 0 and AuditEvent.objects.count() == 0


# ---------------------------------------------------------------- today, the sweep


def test_booking_today_for_finds_the_one_to_check_in(rule, person):
    now = timezone.now()
    # The slot's own day: five minutes ahead may be tomorrow when the suite runs at 23:55.
    today = timezone.localdate(now + dt.timedelta(minutes=5))
    s = slot_at(rule, now + dt.timedelta(minutes=5))
    b = booking_row(s, person)
    assert sel.booking_today_for(user=person, hall=rule.hall, today=today) == b
    assert (
        sel.booking_today_for(user=person, hall=OpenHallFactory(code="bk-x"), today=today) is None
    )
    if s.day != today:  # just before midnight: the slot is tomorrow's
        return
    Booking.objects.filter(pk=b.pk).update(status="cancelled")
    assert sel.booking_today_for(user=person, hall=rule.hall, today=today) is None


def test_the_sweep_generates_reminds_once_and_records_no_shows(rule, person):
    now = timezone.now()
    today = timezone.localdate(now)
    tomorrow = slot_at(rule, tomorrow_at(16, 30))
    due = booking_row(tomorrow, person)
    ended = slot_at(rule, now - dt.timedelta(minutes=70))  # ended 40 minutes ago
    missed = booking_row(ended, ResidentProfileFactory().user)
    recent = slot_at(rule, now - dt.timedelta(minutes=45))  # ended 15 minutes ago: grace
    waiting = booking_row(recent, ResidentProfileFactory().user)
    counts = svc.booking_sweep(now, today)
    assert counts["reminded"] == 1 and counts["no_show"] == 1
    assert counts["generated"] > 0
    due.refresh_from_db()
    missed.refresh_from_db()
    waiting.refresh_from_db()
    assert due.reminded_at == now and missed.status == "no_show" and waiting.status == "booked"
    assert Notice.objects.filter(template="booking_reminder", recipient=person).count() == 1
    assert Notice.objects.filter(template="booking_no_show").count() == 1
    again = svc.booking_sweep(now, today)
    assert again == {"generated": 0, "reminded": 0, "no_show": 0}


def test_the_sweep_is_registered_under_its_name():
    from tongban.appointments.sweeps import SWEEPS

    assert SWEEPS["booking"] is svc.booking_sweep


def test_a_locked_database_is_a_clean_conflict_and_nothing_is_written(slot, person, monkeypatch):
    from django.db import OperationalError

    calls = []

    def locked(slot_id):
        calls.append(slot_id)
        raise OperationalError("database is locked")

    monkeypatch.setattr(svc, "_take_place", locked)
    with pytest.raises(svc.BookingBusy) as refused:
        svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    assert refused.value.http_status == 409 and refused.value.code == "BOOKING_BUSY"
    # Inside the test's transaction there is nothing to retry; outside it is tried 3 times.
    assert len(calls) in (1, svc.BUSY_TRIES)
    slot.refresh_from_db()
    assert slot.booked == 0 and Booking.objects.count() == 0 and Notice.objects.count() == 0
