"""Factories for 统一预约: a hall open every day (so tests do not depend on the weekday or the
holiday calendar), a venue, rules, slots and bookings."""

from __future__ import annotations

import datetime as dt

import factory
from django.db.models import F
from django.utils import timezone
from factory.django import DjangoModelFactory

from tongban.accounts.models import District
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    Slot,
    Venue,
    VenueKind,
)
from tongban.appointments.tests.factories import HallFactory

EVERY_DAY = [[["09:00", "12:00"], ["13:00", "17:00"]]] * 7


class OpenHallFactory(HallFactory):
    opening_hours = "每天 9:00-12:00、13:00-17:00"
    weekly_hours = factory.LazyFunction(lambda: [list(p) for p in EVERY_DAY])
    open_on_holidays = True


class VenueFactory(DjangoModelFactory):
    class Meta:
        model = Venue
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test-venue-{n}")
    name = factory.Sequence(lambda n: f"测试场馆{n}（示例）")
    kind = VenueKind.SPORTS
    district = District.XUHUI
    address = "上海市徐汇区示例路8号"
    weekly_hours = factory.LazyFunction(lambda: [[["08:00", "20:00"]]] * 7)
    open_on_holidays = True


class BookingRuleFactory(DjangoModelFactory):
    class Meta:
        model = BookingRule

    hall = factory.SubFactory(OpenHallFactory)
    item_code = "vaccination_certificate"
    slot_minutes = 30
    capacity = 4
    days_ahead = 14


def slot_at(rule: BookingRule, starts_at: dt.datetime, *, capacity=None, booked=0) -> Slot:
    """A slot of RULE starting at STARTS_AT (aware), outside the generator."""
    local = starts_at.astimezone(LOCAL_TZ)
    return Slot.objects.create(
        rule=rule,
        hall=rule.hall,
        venue=rule.venue,
        item_code=rule.item_code,
        resource=rule.resource,
        day=local.date(),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=rule.slot_minutes),
        capacity=rule.capacity if capacity is None else capacity,
        booked=booked,
    )


def tomorrow_at(hour: int, minute: int = 0, *, days: int = 1) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


def booking_row(slot: Slot, user, *, status=BookingStatus.BOOKED, ref: str = "") -> Booking:
    """A booking row as history (past no-shows …), bypassing the service."""
    Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
    return Booking.objects.create(
        reference=ref or f"YYTEST{Booking.objects.count() + 1:06d}",
        slot=slot,
        user=user,
        booked_by=user,
        status=status,
        created_at=slot.starts_at - dt.timedelta(days=2),
    )


def hall_handling(*item_codes: str, **fields):
    """An OpenHall that handles ITEM_CODES (大厅可办事项)."""
    from tongban.appointments.models import HallItem

    hall = OpenHallFactory(**fields)
    for code in item_codes:
        HallItem.objects.get_or_create(hall=hall, item_code=code)
    return hall


def slots_per_day(slot_minutes: int) -> int:
    """Slots an OpenHall day holds (09:00-12:00 and 13:00-17:00)."""
    return 180 // slot_minutes + 240 // slot_minutes
