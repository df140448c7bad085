"""示例统一预约: booking rules for the demo halls' items that need a visit and for the
venues' resources, slots for the coming days, and a short history for resident1 (one visit
kept, one missed, one coming up) so 我的预约 is not empty. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    Hall,
    HallItem,
    Slot,
    Venue,
)
from tongban.appointments.selectors.booking import bookable_slots, item_needs_visit
from tongban.appointments.services.booking import (
    booking_make,
    booking_rule_ensure,
    slots_generate,
)
from tongban.appointments.services.halls import hall_items_set

ACTOR = "system:demo"
CITY_CENTRE = "SH-SMZX"
DISTRICT_CENTRES = ("SH-PD-ZWFW", "SH-XH-ZWFW")
# 银行开户预约: the partner bank's account-opening desk sits in the district centres'
# 企业开办专区 (一窗通), so the booking is for a place there.
BANK_ACCOUNT_ITEM = "SH-YH-0101"
DAYS = 14
VENUE_RESOURCES = {
    # venue: [(resource, minutes per slot, places per slot)]
    "SH-TYJ-V01": [("羽毛球馆1号场", 60, 1), ("羽毛球馆2号场", 60, 1), ("游泳馆（每场）", 90, 80)],
    "SH-WLJ-V01": [("常设展览入馆", 60, 150)],
}


def _visit_items(codes: list[str]) -> list[str]:
    from tongban.catalog.selectors import item_definition

    out = []
    for code in codes:
        try:
            item = item_definition(code)
        except Exception:  # noqa: S112 - the catalog may not be loaded (city_setup --skip-catalog)
            continue
        if item_needs_visit(item):
            out.append(code)
    return out


def _rules() -> list[BookingRule]:
    rules = []
    for hall in Hall.objects.filter(is_active=True).order_by("code"):
        if hall.code in DISTRICT_CENTRES:
            # The partner bank's desk at the district centre (银行开户预约), with its audit row.
            have = list(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True))
            if BANK_ACCOUNT_ITEM not in have:
                hall_items_set(
                    actor=ACTOR,
                    hall=hall,
                    item_codes=[*have, BANK_ACCOUNT_ITEM],
                    require_catalog=False,
                )
        codes = sorted(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True))
        capacity = 6 if hall.code == CITY_CENTRE else 4
        for code in _visit_items(codes):
            rules.append(
                booking_rule_ensure(
                    actor=ACTOR, hall=hall, item_code=code, capacity=capacity, days_ahead=DAYS
                )
            )
    for venue in Venue.objects.filter(is_active=True, code__in=VENUE_RESOURCES):
        for resource, minutes, places in VENUE_RESOURCES[venue.code]:
            rules.append(
                booking_rule_ensure(
                    actor=ACTOR,
                    venue=venue,
                    resource=resource,
                    slot_minutes=minutes,
                    capacity=places,
                    days_ahead=7,
                )
            )
    return rules


def _past_slot(rule: BookingRule, day: dt.date) -> Slot:
    starts = dt.datetime.combine(day, dt.time(10, 0), tzinfo=LOCAL_TZ)
    slot, _ = Slot.objects.get_or_create(
        rule=rule,
        starts_at=starts,
        defaults={
            "hall": rule.hall,
            "venue": rule.venue,
            "item_code": rule.item_code,
            "resource": rule.resource,
            "day": day,
            "ends_at": starts + dt.timedelta(minutes=rule.slot_minutes),
            "capacity": rule.capacity,
            "booked": 1,
        },
    )
    return slot


def _resident1_history(rules: list[BookingRule]) -> int:
    user = User.objects.filter(username="resident1").first()
    hall_rules = [r for r in rules if r.hall_id and r.hall.code == CITY_CENTRE]
    if user is None or not hall_rules or Booking.objects.filter(user=user).exists():
        return 0
    rule = hall_rules[0]
    today = timezone.localdate()
    made = 0
    with transaction.atomic():
        for days, status, ref in (
            (20, BookingStatus.COMPLETED, "YYDEMO000001"),
            (8, BookingStatus.NO_SHOW, "YYDEMO000002"),
        ):
            slot = _past_slot(rule, today - dt.timedelta(days=days))
            Booking.objects.create(
                reference=ref,
                slot=slot,
                user=user,
                booked_by=user,
                status=status,
                created_at=slot.starts_at - dt.timedelta(days=3),
                reminded_at=slot.starts_at - dt.timedelta(days=1),
                checked_in_at=slot.starts_at if status == BookingStatus.COMPLETED else None,
                closed_at=slot.ends_at + dt.timedelta(minutes=30),
            )
            made += 1
    coming = bookable_slots(
        hall=rule.hall,
        item_code=rule.item_code,
        start=today + dt.timedelta(days=3),
        end=today + dt.timedelta(days=DAYS),
    )
    if coming:
        booking_make(user=user, slot_id=coming[0].pk, actor=user)
        made += 1
    return made


def ensure_demo_booking() -> dict[str, int]:
    """Rules, slots for the coming DAYS days, resident1's bookings; counts of what was added."""
    rules = _rules()
    today = timezone.localdate()
    slots = sum(
        slots_generate(rule=r, start=today, end=today + dt.timedelta(days=r.days_ahead))
        for r in rules
    )
    return {"rules": len(rules), "slots": slots, "bookings": _resident1_history(rules)}
