"""Factories for the halls part: service items without loading the whole catalog, halls
with places and items, windows of each kind, service points, venues, and the rows the
figures count (bookings in slots, daily waiting figures).

They write rows directly (no audit events)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from tongban.accounts.models import District
from tongban.accounts.tests.factories import DepartmentFactory, UserFactory
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    HallItem,
    HallLevel,
    ServicePoint,
    ServicePointKind,
    Slot,
    Venue,
    VenueKind,
    WaitStat,
    WindowKind,
)
from tongban.appointments.tests.factories import HallFactory, WindowFactory
from tongban.catalog.models import DefinitionVersion, ServiceItem

WEEKDAYS_AND_SATURDAY = [[["09:00", "17:00"]]] * 5 + [[["09:00", "12:00"]], []]


class ServiceItemFactory(DjangoModelFactory):
    """A bare current 事项 row (name, department, subject) — enough for the halls' reads."""

    class Meta:
        model = ServiceItem
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SH-T-{n:04d}")
    name = factory.Sequence(lambda n: f"测试事项{n}")
    item_type = "行政许可"
    subject = "person"
    department = factory.SubFactory(DepartmentFactory)
    handling = "promised"
    promised_days = 5
    visits = 1
    online = True
    search_text = factory.LazyAttribute(lambda o: o.name)
    current = factory.LazyAttribute(
        lambda o: DefinitionVersion.objects.create(
            kind="item", code=o.code, version=1, content={}, content_sha256="0" * 64
        )
    )


class PlacedHallFactory(HallFactory):
    """A hall with a level, coordinates and hours; `items=[codes]` makes it handle them."""

    class Meta:
        skip_postgeneration_save = True

    level = HallLevel.DISTRICT
    latitude = "31.230000"
    longitude = "121.470000"
    weekly_hours = factory.LazyFunction(lambda: [list(d) for d in WEEKDAYS_AND_SATURDAY])

    @factory.post_generation
    def items(self, create, extracted, **kwargs):
        for code in extracted or []:
            HallItem.objects.get_or_create(hall=self, item_code=code)


class ComprehensiveWindowFactory(WindowFactory):
    kind = WindowKind.COMPREHENSIVE


class DepartmentWindowFactory(WindowFactory):
    kind = WindowKind.DEPARTMENT
    name = "专窗"
    department = factory.SubFactory(DepartmentFactory)


class HandoutWindowFactory(WindowFactory):
    kind = WindowKind.HANDOUT
    name = "统一出件"


class ServicePointFactory(DjangoModelFactory):
    class Meta:
        model = ServicePoint

    code = factory.Sequence(lambda n: f"test-point-{n}")
    name = factory.Sequence(lambda n: f"测试自助点{n}（示例）")
    kind = ServicePointKind.KIOSK
    district = District.HUANGPU
    address = "上海市黄浦区示例路2号"
    latitude = "31.230000"
    longitude = "121.470000"
    weekly_hours = factory.LazyFunction(lambda: [[["00:00", "23:59"]]] * 7)


class VenueFactory(DjangoModelFactory):
    class Meta:
        model = Venue

    code = factory.Sequence(lambda n: f"test-venue-{n}")
    name = factory.Sequence(lambda n: f"测试场馆{n}（示例）")
    kind = VenueKind.SPORTS
    district = District.HUANGPU
    address = "上海市黄浦区示例路3号"
    latitude = "31.230000"
    longitude = "121.470000"
    weekly_hours = factory.LazyFunction(lambda: [[["08:00", "21:00"]]] * 7)


def slot_at(*, hall=None, venue=None, day: dt.date, item_code="SH-T-0001", capacity=10) -> Slot:
    """A 9:00–9:30 slot of DAY at HALL (or VENUE), with its rule."""
    rule, _ = BookingRule.objects.get_or_create(
        hall=hall,
        venue=venue,
        item_code=item_code if hall else "",
        resource="" if hall else "羽毛球场",
        defaults={"capacity": capacity},
    )
    start = dt.datetime.combine(day, dt.time(9), tzinfo=LOCAL_TZ)
    slot, _ = Slot.objects.get_or_create(
        rule=rule,
        starts_at=start,
        defaults={
            "hall": hall,
            "venue": venue,
            "item_code": rule.item_code,
            "resource": rule.resource,
            "day": day,
            "ends_at": start + dt.timedelta(minutes=30),
            "capacity": capacity,
        },
    )
    return slot


_reference = iter(range(1, 10**9))


def booking_in(slot: Slot, status: str = BookingStatus.COMPLETED) -> Booking:
    user = UserFactory()
    Slot.objects.filter(pk=slot.pk).update(booked=slot.booked + 1)
    slot.booked += 1
    return Booking.objects.create(
        reference=f"T{next(_reference):08d}",
        slot=slot,
        user=user,
        booked_by=user,
        status=status,
        created_at=timezone.now(),
    )


def wait_stat(*, hall, day: dt.date, tickets: int, average: int, p90: int, window=None):
    return WaitStat.objects.create(
        hall=hall,
        window=window,
        day=day,
        tickets=tickets,
        average_wait_seconds=average,
        p90_wait_seconds=p90,
        computed_at=timezone.now(),
    )
