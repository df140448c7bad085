"""Booking rules set by staff (预约规则): create with slots at once, change capacity without
cancelling anyone, slot length locked by bookings, deactivation, and who may do it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.appointments.models import LOCAL_TZ, Booking, BookingRule, BookingStatus, Slot
from tongban.appointments.selectors import booking as sel
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    VenueFactory,
    booking_row,
    hall_handling,
    slot_at,
    slots_per_day,
    tomorrow_at,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def _audits():
    """The audit rows of 统一预约 (loading the catalog writes its own)."""
    return AuditEvent.objects.filter(action__startswith="booking.")


ITEM = "vaccination_certificate"  # counter only, one visit
ONLINE_ITEM = "social_security_card"  # fully online: no visit


@pytest.fixture(autouse=True)
def catalog(db):
    catalog_load_directory(path=FIXTURES)


@pytest.fixture
def hall():
    return hall_handling(ITEM, ONLINE_ITEM, code="rule-hall")


@pytest.fixture
def operator():
    return StaffFactory(role=StaffRole.CITY_OPERATOR)


@pytest.fixture
def person():
    return ResidentProfileFactory().user


def _create(actor, hall, **kw):
    args = {"item_code": ITEM, "slot_minutes": 30, "capacity": 3, "days_ahead": 7, **kw}
    return svc.booking_rule_create(actor=actor, hall=hall, **args)


def _nothing_written():
    assert BookingRule.objects.count() == 0
    assert Slot.objects.count() == 0
    assert _audits().count() == 0


# ---------------------------------------------------------------- create


def test_create_generates_the_slots_of_the_horizon_at_once(hall, operator):
    rule = _create(operator, hall)
    assert (rule.hall_id, rule.item_code, rule.slot_minutes, rule.capacity, rule.days_ahead) == (
        hall.pk,
        ITEM,
        30,
        3,
        7,
    )
    assert rule.is_active is True
    # Open every day: today and the 7 days ahead, 14 slots of 30 minutes each.
    assert slots_per_day(30) == 14
    assert Slot.objects.filter(rule=rule).count() == 14 * 8
    today = timezone.localdate()
    days = set(Slot.objects.filter(rule=rule).values_list("day", flat=True))
    assert days == {today + dt.timedelta(days=n) for n in range(8)}
    assert set(Slot.objects.filter(rule=rule).values_list("capacity", "booked")) == {(3, 0)}
    audit = AuditEvent.objects.get(action="booking.rule_create")
    assert audit.actor_id == operator.pk and audit.object_id == str(rule.pk)
    assert audit.data == {
        "hall": "rule-hall",
        "item_code": ITEM,
        "resource": "",
        "before": None,
        "after": {"slot_minutes": 30, "capacity": 3, "days_ahead": 7, "is_active": True},
        "slots_created": 112,
    }
    assert sorted(_audits().values_list("action", flat=True)) == [
        "booking.rule_create",
        "booking.slots_generate",
    ]


def test_a_clerk_creates_for_their_hall_and_60_minute_slots_fit_the_hours(hall):
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall)
    rule = _create(clerk, hall, slot_minutes=60, days_ahead=1)
    assert Slot.objects.filter(rule=rule).count() == 7 * 2  # 3 morning + 4 afternoon, 2 days
    assert AuditEvent.objects.get(action="booking.rule_create").actor_id == clerk.pk


def test_a_department_lead_creates_a_venue_resource(operator):
    department = DepartmentFactory()
    venue = VenueFactory(code="rule-venue", department=department)
    lead = StaffFactory(role=StaffRole.DEPARTMENT_LEAD, department=department)
    rule = svc.booking_rule_create(
        actor=lead,
        venue=venue,
        resource="  羽毛球 1号场 ",
        slot_minutes=120,
        capacity=1,
        days_ahead=2,
    )
    assert (rule.venue_id, rule.resource, rule.item_code) == (venue.pk, "羽毛球 1号场", "")
    assert Slot.objects.filter(rule=rule).count() == 6 * 3  # 08:00-20:00, 3 days


@pytest.mark.parametrize(
    ("kw", "code", "fields"),
    [
        ({"item_code": "birth_registration"}, "BOOKING_RULE_ITEM_NOT_IN_HALL", ["item_code"]),
        ({"item_code": ONLINE_ITEM}, "BOOKING_RULE_ITEM_NO_VISIT", ["item_code"]),
        ({"item_code": ""}, "BOOKING_RULE_INVALID", ["item_code"]),
        (
            {"slot_minutes": 45, "capacity": 0, "days_ahead": 61},
            "BOOKING_RULE_INVALID",
            ["slot_minutes", "capacity", "days_ahead"],
        ),
        ({"capacity": 501}, "BOOKING_RULE_INVALID", ["capacity"]),
        ({"capacity": "4"}, "BOOKING_RULE_INVALID", ["capacity"]),
        ({"days_ahead": True}, "BOOKING_RULE_INVALID", ["days_ahead"]),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_written(
    hall, operator, kw, code, fields
):
    with pytest.raises(InvalidInput) as info:
        _create(operator, hall, **kw)
    assert info.value.code == code and info.value.http_status == 422
    assert [d["field"] for d in info.value.details] == fields
    _nothing_written()


def test_an_item_gone_from_the_hall_catalog_is_refused(operator):
    hall = hall_handling("no_such_item", code="rule-hall-2")
    with pytest.raises(InvalidInput) as info:
        _create(operator, hall, item_code="no_such_item")
    assert info.value.code == "BOOKING_RULE_ITEM_UNKNOWN"
    _nothing_written()


def test_a_second_rule_for_the_same_item_is_refused(hall, operator):
    rule = _create(operator, hall)
    before = (Slot.objects.count(), _audits().count())
    with pytest.raises(svc.BookingRuleExists) as info:
        _create(operator, hall, capacity=9)
    assert info.value.code == "BOOKING_RULE_EXISTS" and info.value.http_status == 409
    rule.refresh_from_db()
    assert rule.capacity == 3 and BookingRule.objects.count() == 1
    assert (Slot.objects.count(), _audits().count()) == before


def test_staff_outside_the_place_are_told_it_does_not_exist(hall, person):
    department = DepartmentFactory()
    venue = VenueFactory(code="rule-venue-x", department=department)
    outsiders = [
        StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall_handling(ITEM, code="elsewhere")),
        StaffFactory(role=StaffRole.REVIEWER),
        StaffFactory(role=StaffRole.DEPARTMENT_LEAD),  # another department
        StaffFactory(role=StaffRole.ACCEPTOR, department=department),  # not its lead
        person,
    ]
    for actor in outsiders:
        with pytest.raises(svc.BookingPlaceNotFound) as info:
            _create(actor, hall)
        assert info.value.code == "BOOKING_PLACE_NOT_FOUND" and info.value.http_status == 404
        with pytest.raises(svc.BookingPlaceNotFound):
            svc.booking_rule_create(
                actor=actor, venue=venue, resource="1号场", slot_minutes=60, capacity=1,
                days_ahead=1,
            )  # fmt: skip
    _nothing_written()


# ---------------------------------------------------------------- change


@pytest.fixture
def booked(hall, person):
    """A rule of capacity 2 with three slots tomorrow — full, half and empty — and a full
    slot yesterday."""
    rule = BookingRuleFactory(hall=hall, item_code=ITEM, capacity=2, days_ahead=3)
    full, half = (slot_at(rule, tomorrow_at(9, m)) for m in (0, 30))
    empty = slot_at(rule, tomorrow_at(10))
    past = slot_at(rule, tomorrow_at(10, days=-1))
    others = [ResidentProfileFactory().user for _ in range(2)]
    for slot, users in ((full, [person, others[0]]), (half, [others[1]]), (past, others)):
        for u in users:
            booking_row(slot, u)
    return rule, {"full": full, "half": half, "empty": empty, "past": past}


def _capacities(slots):
    out = {}
    for name, s in slots.items():
        s.refresh_from_db()
        out[name] = (s.capacity, s.booked)
    return out


def test_raising_capacity_raises_every_slot_to_come(booked, operator):
    rule, slots = booked
    svc.booking_rule_change(actor=operator, rule=rule, capacity=5)
    assert _capacities(slots) == {
        "full": (5, 2),
        "half": (5, 1),
        "empty": (5, 0),
        "past": (2, 2),  # history is left as it was
    }
    today = timezone.localdate()
    coming = Slot.objects.filter(rule=rule, day__gt=today)
    assert set(coming.values_list("capacity", flat=True)) == {5}
    # The horizon is filled at once: today and 3 days ahead, 14 a day, plus yesterday's slot.
    assert Slot.objects.filter(rule=rule).count() == 14 * 4 + 1
    audit = AuditEvent.objects.get(action="booking.rule_change")
    assert audit.actor_id == operator.pk
    assert audit.data["before"] == {"capacity": 2} and audit.data["after"] == {"capacity": 5}
    assert audit.data["slots_kept_above_capacity"] == 0


def test_lowering_capacity_cancels_nobody(booked, operator):
    rule, slots = booked
    bookings = dict(Booking.objects.values_list("pk", "status"))
    svc.booking_rule_change(actor=operator, rule=rule, capacity=1)
    assert _capacities(slots) == {
        "full": (2, 2),  # max(1, booked): both places stand, no new booking
        "half": (1, 1),
        "empty": (1, 0),
        "past": (2, 2),
    }
    assert dict(Booking.objects.values_list("pk", "status")) == bookings
    assert set(bookings.values()) == {BookingStatus.BOOKED}
    rule.refresh_from_db()
    assert rule.capacity == 1
    audit = AuditEvent.objects.get(action="booking.rule_change")
    assert audit.data["before"] == {"capacity": 2} and audit.data["after"] == {"capacity": 1}
    assert audit.data["slots_kept_above_capacity"] == 1
    free = sel.bookable_slots(hall=rule.hall, item_code=ITEM, start=slots["full"].day,
                              end=slots["full"].day)  # fmt: skip
    assert slots["full"].pk not in [s.pk for s in free]
    assert slots["half"].pk not in [s.pk for s in free]
    assert slots["empty"].pk in [s.pk for s in free]


def test_changing_the_slot_length_with_bookings_to_come_is_refused(booked, operator):
    rule, slots = booked
    count = Slot.objects.count()
    with pytest.raises(svc.BookingRuleSlotLengthLocked) as info:
        svc.booking_rule_change(actor=operator, rule=rule, slot_minutes=60, capacity=9)
    assert info.value.code == "BOOKING_RULE_SLOT_MINUTES_LOCKED" and info.value.http_status == 409
    rule.refresh_from_db()
    assert (rule.slot_minutes, rule.capacity) == (30, 2)
    assert Slot.objects.count() == count
    assert _capacities(slots)["empty"] == (2, 0)
    assert _audits().count() == 0


def test_changing_the_slot_length_without_bookings_remakes_the_slots_from_tomorrow(hall, operator):
    rule = _create(operator, hall, days_ahead=2)
    today = timezone.localdate()
    assert Slot.objects.filter(rule=rule).count() == 14 * 3
    svc.booking_rule_change(actor=operator, rule=rule, slot_minutes=60)
    rule.refresh_from_db()
    assert rule.slot_minutes == 60
    assert Slot.objects.filter(rule=rule, day=today).count() == 14  # today stays as it was
    later = Slot.objects.filter(rule=rule, day__gt=today)
    assert later.count() == 7 * 2
    assert {int((s.ends_at - s.starts_at).total_seconds()) for s in later} == {3600}
    first = later.order_by("starts_at").first()
    assert first.starts_at.astimezone(LOCAL_TZ).strftime("%H:%M") == "09:00"
    audit = AuditEvent.objects.get(action="booking.rule_change")
    assert audit.data["before"] == {"slot_minutes": 30}
    assert audit.data["after"] == {"slot_minutes": 60}
    assert (audit.data["slots_removed"], audit.data["slots_created"]) == (28, 14)


def test_deactivating_stops_new_bookings_and_existing_ones_stand(booked, operator, person):
    rule, slots = booked
    svc.booking_rule_change(actor=operator, rule=rule, is_active=False)
    today = timezone.localdate()
    end = today + dt.timedelta(days=3)
    assert sel.bookable_slots(hall=rule.hall, item_code=ITEM, start=today, end=end) == []
    assert Booking.objects.filter(status=BookingStatus.BOOKED).count() == 5
    other = ResidentProfileFactory().user
    with pytest.raises(svc.SlotNotOpen):
        svc.booking_make(user=other, slot_id=slots["empty"].pk, actor=other)
    assert Booking.objects.filter(user=other).count() == 0
    audit = AuditEvent.objects.get(action="booking.rule_change")
    assert audit.data["before"] == {"is_active": True}
    assert audit.data["after"] == {"is_active": False}
    assert audit.data["slots_created"] == 0
    svc.booking_rule_change(actor=operator, rule=rule, is_active=True)
    free = sel.bookable_slots(hall=rule.hall, item_code=ITEM, start=today, end=end)
    assert slots["empty"].pk in [s.pk for s in free]


def test_a_longer_horizon_generates_the_new_days(hall, operator):
    rule = _create(operator, hall, days_ahead=1)
    assert Slot.objects.filter(rule=rule).count() == 28
    svc.booking_rule_change(actor=operator, rule=rule, days_ahead=4)
    assert Slot.objects.filter(rule=rule).count() == 14 * 5
    assert AuditEvent.objects.get(action="booking.rule_change").data["slots_created"] == 42


def test_the_same_values_again_are_no_change(booked, operator):
    rule, _ = booked
    svc.booking_rule_change(
        actor=operator, rule=rule, slot_minutes=30, capacity=2, days_ahead=3, is_active=True
    )
    assert _audits().count() == 0


def test_an_older_rule_outside_the_lists_keeps_its_length_while_capacity_changes(hall, operator):
    rule = BookingRuleFactory(hall=hall, item_code=ITEM, slot_minutes=45, days_ahead=90)
    svc.booking_rule_change(actor=operator, rule=rule, slot_minutes=45, capacity=6, days_ahead=90)
    rule.refresh_from_db()
    assert (rule.slot_minutes, rule.capacity, rule.days_ahead) == (45, 6, 90)
    with pytest.raises(InvalidInput) as info:
        svc.booking_rule_change(actor=operator, rule=rule, days_ahead=61)
    assert [d["field"] for d in info.value.details] == ["days_ahead"]


def test_staff_outside_the_hall_cannot_change_its_rule(booked, person):
    rule, slots = booked
    outsiders = [
        StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall_handling(ITEM, code="elsewhere")),
        StaffFactory(role=StaffRole.REVIEWER),
        person,
    ]
    for actor in outsiders:
        with pytest.raises(svc.BookingRuleNotFound) as info:
            svc.booking_rule_change(actor=actor, rule=rule, capacity=9, is_active=False)
        assert info.value.code == "BOOKING_RULE_NOT_FOUND" and info.value.http_status == 404
    rule.refresh_from_db()
    assert (rule.capacity, rule.is_active) == (2, True)
    assert _capacities(slots)["empty"] == (2, 0)
    assert _audits().count() == 0
