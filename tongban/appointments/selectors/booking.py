"""Reads of 统一预约: the slots one may book, a person's bookings, a hall's bookings of the
day, the no-show limit, and which items call for a visit (预约到厅办理)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole
from tongban.appointments.models import (
    ACTIVE_BOOKING,
    LOCAL_TZ,
    WEEKDAY_NAMES,
    Booking,
    BookingRule,
    BookingStatus,
    Hall,
    HallItem,
    Slot,
    Venue,
)
from tongban.common.errors import NotFound


@dataclass(frozen=True)
class NoShowRule:
    limit: int
    window_days: int
    ban_days: int
    grace_minutes: int


def no_show_rule() -> NoShowRule:
    """Read at call time so tests can change the settings."""
    return NoShowRule(
        limit=settings.TONGBAN_BOOKING_NO_SHOW_LIMIT,
        window_days=settings.TONGBAN_BOOKING_NO_SHOW_WINDOW_DAYS,
        ban_days=settings.TONGBAN_BOOKING_NO_SHOW_BAN_DAYS,
        grace_minutes=settings.TONGBAN_BOOKING_NO_SHOW_GRACE_MINUTES,
    )


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


def date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAY_NAMES[day.weekday()]}）"


def time_text(slot: Slot) -> str:
    a, b = slot.starts_at.astimezone(LOCAL_TZ), slot.ends_at.astimezone(LOCAL_TZ)
    return f"{a:%H:%M}–{b:%H:%M}"


# ---------------------------------------------------------------- the no-show limit


def booking_may_book(*, user, now: dt.datetime | None = None) -> tuple[bool, str]:
    """Whether USER may make a booking now: LIMIT no-shows within WINDOW_DAYS bar booking
    until BAN_DAYS after the last of them. (False, the reason in Chinese) when barred."""
    now = now or timezone.now()
    rule = no_show_rule()
    if rule.limit <= 0:
        return True, ""
    times = list(
        Booking.objects.filter(
            user=user,
            status=BookingStatus.NO_SHOW,
            slot__starts_at__gte=now - dt.timedelta(days=rule.window_days),
            slot__starts_at__lte=now,
        )
        .order_by("-slot__starts_at")
        .values_list("slot__starts_at", flat=True)
    )
    if len(times) < rule.limit:
        return True, ""
    until = times[0] + dt.timedelta(days=rule.ban_days)
    if now >= until:
        return True, ""
    return False, (
        f"您近{rule.window_days}天内有{len(times)}次预约未按时到场，"
        f"{date_text(local_date(until))}前暂不能预约；如需办理，可到大厅现场取号。"
    )


# ---------------------------------------------------------------- slots


def bookable_slots(
    *,
    hall: Hall | None = None,
    venue: Venue | None = None,
    item_code: str = "",
    resource: str = "",
    start: dt.date,
    end: dt.date,
    now: dt.datetime | None = None,
) -> list[Slot]:
    """The slots with places left, not yet started, within their rule's booking horizon,
    of a hall's item or a venue's resource (either may be left out to see all of them)."""
    now = now or timezone.now()
    today = local_date(now)
    rows = Slot.objects.filter(
        day__gte=start,
        day__lte=end,
        starts_at__gt=now,
        rule__is_active=True,
        booked__lt=F("capacity"),
    ).select_related("rule", "hall", "venue")
    if hall is not None:
        rows = rows.filter(hall=hall)
    if venue is not None:
        rows = rows.filter(venue=venue)
    if item_code:
        rows = rows.filter(item_code=item_code)
    if resource:
        rows = rows.filter(resource=resource)
    return [
        s
        for s in rows.order_by("starts_at", "pk")
        if s.day <= today + dt.timedelta(days=s.rule.days_ahead)
    ]


def slot_get(*, slot_id: Any) -> Slot:
    if not isinstance(slot_id, int) or isinstance(slot_id, bool) or not 0 < slot_id < 2**62:
        raise NotFound("未找到该预约时段", code="BOOKING_SLOT_NOT_FOUND")
    slot = Slot.objects.select_related("rule", "hall", "venue").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound("未找到该预约时段", code="BOOKING_SLOT_NOT_FOUND")
    return slot


def slot_days(slots: list[Slot]) -> list[dict]:
    """Slots grouped by local day for the pages: [{day, label, slots: [...]}]."""
    days: dict[dt.date, dict] = {}
    for s in slots:
        entry = days.setdefault(s.day, {"day": s.day, "label": date_text(s.day), "slots": []})
        entry["slots"].append({"slot": s, "time": time_text(s), "remaining": s.remaining})
    return list(days.values())


def halls_for_booking(*, item_code: str) -> list[Hall]:
    """Active halls that handle ITEM_CODE and offer booking for it (an active rule)."""
    try:
        from tongban.appointments.selectors.halls import halls_for_item
    except ImportError:  # helper A's selector not there yet: the rows themselves
        halls = Hall.objects.filter(
            is_active=True,
            pk__in=HallItem.objects.filter(item_code=item_code).values("hall_id"),
        )
    else:
        halls = halls_for_item(item_code=item_code)
    with_rules = BookingRule.objects.filter(
        item_code=item_code, is_active=True, hall__isnull=False
    ).values("hall_id")
    return list(halls.filter(pk__in=with_rules).order_by("code"))


def venues_active() -> QuerySet[Venue]:
    return Venue.objects.filter(is_active=True).order_by("code")


def venue_get(*, code: str) -> Venue:
    venue = Venue.objects.filter(code=code, is_active=True).first()
    if venue is None:
        raise NotFound("未找到该场馆", code="VENUE_NOT_FOUND")
    return venue


def venue_resources(*, venue: Venue) -> list[BookingRule]:
    return list(venue.booking_rules.filter(is_active=True).order_by("resource"))


# ---------------------------------------------------------------- bookings


def booking_today_for(*, user, hall: Hall, today: dt.date) -> Booking | None:
    """The person's active booking at HALL today, for check-in: one still to check in
    first (the earliest), else one already checked in."""
    rows = Booking.objects.filter(
        user=user, slot__hall=hall, slot__day=today, status__in=ACTIVE_BOOKING
    ).select_related("slot")
    return (
        rows.filter(status=BookingStatus.BOOKED).order_by("slot__starts_at").first()
        or rows.order_by("slot__starts_at").first()
    )


def clerk_hall_ids(user) -> list[int]:
    """The halls USER sits in as a counter clerk (综合窗口)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return list(
        StaffAssignment.objects.filter(
            user=user, role=StaffRole.COUNTER_CLERK, hall__isnull=False
        ).values_list("hall_id", flat=True)
    )


def clerk_may_act_for(user, slot: Slot) -> bool:
    return slot.hall_id is not None and slot.hall_id in clerk_hall_ids(user)


def _with_related(rows: QuerySet[Booking]) -> QuerySet[Booking]:
    return rows.select_related("slot", "slot__hall", "slot__venue", "case", "booked_by")


def booking_for(*, user, reference: str) -> Booking:
    """A booking USER may see and act on: their own, or one at a hall where USER is a
    counter clerk. BOOKING_NOT_FOUND for anyone else (whether it exists or not)."""
    reference = (reference or "").strip().upper()
    booking = _with_related(Booking.objects.filter(reference=reference)).first()
    if booking is None or not getattr(user, "is_authenticated", False):
        raise NotFound("未找到该预约", code="BOOKING_NOT_FOUND")
    if booking.user_id != user.pk and booking.slot.hall_id not in clerk_hall_ids(user):
        raise NotFound("未找到该预约", code="BOOKING_NOT_FOUND")
    return booking


def bookings_of(*, user, now: dt.datetime | None = None) -> dict[str, list[Booking]]:
    """我的预约: {"upcoming": active ones not yet over, soonest first; "past": the rest,
    latest first}."""
    now = now or timezone.now()
    rows = list(_with_related(Booking.objects.filter(user=user)).order_by("slot__starts_at"))
    upcoming = [b for b in rows if b.status in ACTIVE_BOOKING and b.slot.ends_at > now]
    past = [b for b in reversed(rows) if b not in upcoming]
    return {"upcoming": upcoming, "past": past}


def hall_bookings_on(*, hall: Hall, day: dt.date) -> list[Booking]:
    return list(
        _with_related(Booking.objects.filter(slot__hall=hall, slot__day=day))
        .select_related("user__resident_profile")
        .order_by("slot__starts_at", "pk")
    )


def place_name(slot: Slot) -> str:
    return slot.hall.name if slot.hall_id else slot.venue.name


def what_name(slot: Slot) -> str:
    """The item's name for a hall slot, the resource for a venue slot."""
    if slot.venue_id:
        return slot.resource
    return item_name(slot.item_code)


def item_name(code: str) -> str:
    from tongban.catalog.selectors import item_definition

    try:
        return item_definition(code).name
    except Exception:  # an item withdrawn from the catalog still names its old bookings
        return "政务服务事项"


def booking_display(b: Booking) -> dict[str, Any]:
    """What the pages and the API show of a booking."""
    slot = b.slot
    return {
        "reference": b.reference,
        "status": b.status,
        "status_label": b.get_status_display(),
        "place": place_name(slot),
        "address": slot.hall.address if slot.hall_id else slot.venue.address,
        "what": what_name(slot),
        "item_code": slot.item_code,
        "resource": slot.resource,
        "hall_code": slot.hall.code if slot.hall_id else "",
        "venue_code": slot.venue.code if slot.venue_id else "",
        "day": slot.day,
        "date_text": date_text(slot.day),
        "time_text": time_text(slot),
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "case_receipt": b.case.receipt_no if b.case_id else "",
        "by_clerk": b.booked_by_id != b.user_id,
    }


# ---------------------------------------------------------------- which items call for a visit


def item_books_on_form(item) -> bool:
    """The booking is the service itself (婚姻登记预约 needs both parties in person; a bank
    account is opened at the desk): the item's form asks for a 预约时段 (a data element of
    type slot), and submitting it books the place."""
    from tongban.catalog.selectors import element_definitions

    codes = [u.code for u in item.element_uses()]
    return any(e.type == "slot" for e in element_definitions(codes).values())


def item_code_books_on_form(code: str) -> bool:
    from tongban.catalog.selectors import item_definition

    try:
        item = item_definition(code)
    except Exception:  # an item withdrawn from the catalog books no new places
        return False
    return item_books_on_form(item)


def item_needs_visit(item) -> bool:
    """预约到厅办理: an item that needs the person at a counter — its guide counts at
    least one visit, it cannot be applied for online, or the booking is the service."""
    return item.visits >= 1 or "online" not in item.channels or item_books_on_form(item)


def booking_url_for_item(item) -> str:
    """Where 预约到厅办理 of ITEM starts: its form when submitting it books (婚姻登记预约),
    else the booking page; "" when the item needs no visit or no hall offers booking for it.
    The guide page, 智能客服 and 在线客服 offer the same link by this one rule."""
    if not item_needs_visit(item) or not halls_for_booking(item_code=item.code):
        return ""
    if item_books_on_form(item):
        return f"/apply/item/{item.code}/"
    return "/bookings/new/?" + urlencode({"item": item.code})


SLOT_CHOICE_DAYS = 14


def slot_choices(
    *, item_codes: list[str], now: dt.datetime | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form's 预约时段 list: [(hall · day, [(slot id, time and places left)])] for the
    slots of ITEM_CODES with places left, soonest first, within each rule's horizon."""
    now = now or timezone.now()
    today = local_date(now)
    groups: dict[tuple[str, dt.date], list[tuple[str, str]]] = {}
    names: dict[tuple[str, dt.date], str] = {}
    for code in item_codes:
        for slot in bookable_slots(
            item_code=code, start=today, end=today + dt.timedelta(days=SLOT_CHOICE_DAYS), now=now
        ):
            if not slot.hall_id:
                continue
            key = (slot.hall.code, slot.day)
            # The day first: a closed list on a phone shows the start of the label.
            day = date_text(slot.day).removeprefix(f"{today.year}年")
            names[key] = f"{day} · {slot.hall.name}"
            left = slot.capacity - slot.booked
            groups.setdefault(key, []).append((str(slot.pk), f"{time_text(slot)}（余{left}个）"))
    ordered = sorted(groups, key=lambda k: (k[1], k[0]))
    return [(names[k], groups[k]) for k in ordered]


def slot_text(value: str) -> str:
    """A 预约时段 as typed on a form (a slot id) as people read it."""
    slot = (
        Slot.objects.select_related("hall", "venue").filter(pk=int(value)).first()
        if value.isdigit() and 0 < int(value) < 2**62
        else None
    )
    return slot_summary(slot) if slot is not None else "所选时段已不存在，请重新选择"


def slot_summary(slot: Slot) -> str:
    """How a booked slot reads on the case: 市民中心（示例） 2026年12月7日（周一）09:00–09:30."""
    return f"{place_name(slot)} {date_text(slot.day)}{time_text(slot)}"


def visit_items_for_case(case) -> list[dict[str, str]]:
    """The items of CASE (an Application) one may book a visit for: those that call for a
    visit and, while the case waits for a 补正, every item of it whose supplement asks for a
    paper original (原件 must be shown at a counter). [{code, name, why}]."""
    from tongban.cases.models import CaseStatus
    from tongban.catalog.selectors import item_definition

    if case.status == CaseStatus.REFUSED or case.outcome == "denied":
        return []
    # A concluded case still offers the visit when the booking is the service itself
    # (婚姻登记预约 concludes at once; the couple then comes on the booked day).
    closed = case.status in (CaseStatus.CONCLUDED, CaseStatus.ARCHIVED)
    asked: set[str] = set()
    if case.status == CaseStatus.SUPPLEMENT_REQUESTED:
        for codes in case.supplements.filter(fulfilled_at__isnull=True).values_list(
            "material_codes", flat=True
        ):
            asked.update(codes or [])
    rules = set(
        BookingRule.objects.filter(is_active=True, hall__isnull=False).values_list(
            "item_code", flat=True
        )
    )
    out = []
    for entry in case.plan.get("items", []):
        code = entry.get("code", "")
        if code not in rules:
            continue
        try:
            item = item_definition(code)
        except Exception:  # noqa: S112 - an item gone from the catalog offers no booking
            continue
        if closed and not item_books_on_form(item):
            continue
        if any(m.code in asked and "原件" in (m.form or "") for m in item.materials):
            out.append({"code": code, "name": item.name, "why": "supplement"})
        elif item_needs_visit(item):
            out.append({"code": code, "name": item.name, "why": "visit"})
    return out


def case_bookings(*, case) -> list[dict[str, Any]]:
    """The places booked with CASE and still standing, soonest first, as people read them."""
    rows = _with_related(
        Booking.objects.filter(
            case=case, status__in=(BookingStatus.BOOKED, BookingStatus.CHECKED_IN)
        )
    ).order_by("slot__starts_at")
    return [booking_display(b) for b in rows]


def active_booking_for_case(*, case, item_code: str) -> Booking | None:
    return (
        Booking.objects.filter(case=case, slot__item_code=item_code, status__in=ACTIVE_BOOKING)
        .select_related("slot", "slot__hall")
        .first()
    )


# ---------------------------------------------------------------- rules, for their managers


# Who sets a place's booking rules: the city operator and administrators for every hall and
# venue (the roles that read the hall figures); a hall's 综合窗口 clerks for their hall (as
# for enrolling its kiosks); a venue's department lead for the venue their department runs.
RULE_VENUE_ROLES = (StaffRole.DEPARTMENT_LEAD,)


def _rule_everywhere(user) -> bool:
    from tongban.appointments.selectors.figures import may_view_figures

    return may_view_figures(user)


def booking_rule_halls(*, user) -> QuerySet[Hall]:
    """The halls whose booking rules USER manages, by code."""
    halls = Hall.objects.order_by("code")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return halls.none()
    if _rule_everywhere(user):
        return halls
    return halls.filter(pk__in=clerk_hall_ids(user))


def booking_rule_venues(*, user) -> QuerySet[Venue]:
    """The venues whose booking rules USER manages, by code."""
    venues = Venue.objects.order_by("code")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return venues.none()
    if _rule_everywhere(user):
        return venues
    departments = StaffAssignment.objects.filter(user=user, role__in=RULE_VENUE_ROLES).values(
        "department_id"
    )
    return venues.filter(department_id__in=departments)


def booking_rule_may_manage(*, user, hall: Hall | None = None, venue: Venue | None = None) -> bool:
    if hall is not None:
        return booking_rule_halls(user=user).filter(pk=hall.pk).exists()
    if venue is not None:
        return booking_rule_venues(user=user).filter(pk=venue.pk).exists()
    return False


def booking_rules_manager(user) -> bool:
    """Whether USER manages the booking rules of any hall or venue (the staff home card)."""
    return booking_rule_halls(user=user).exists() or booking_rule_venues(user=user).exists()


def booking_rule_for(*, user, rule_id: Any) -> BookingRule:
    """A rule of a hall or venue USER manages; BOOKING_RULE_NOT_FOUND for any other (whether
    it exists or not)."""
    if not isinstance(rule_id, int) or isinstance(rule_id, bool) or not 0 < rule_id < 2**62:
        raise NotFound("未找到该预约规则", code="BOOKING_RULE_NOT_FOUND")
    rule = BookingRule.objects.select_related("hall", "venue").filter(pk=rule_id).first()
    if rule is None or not booking_rule_may_manage(user=user, hall=rule.hall, venue=rule.venue):
        raise NotFound("未找到该预约规则", code="BOOKING_RULE_NOT_FOUND")
    return rule


def booking_rule_what(rule: BookingRule) -> str:
    return item_name(rule.item_code) if rule.hall_id else rule.resource


def booking_rules_of(*, user, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The rules of the halls and venues USER manages, halls first, each with the places
    booked in the slots still to come: [{rule, place, what, booked}]."""
    from django.db.models import Q, Sum

    now = now or timezone.now()
    rules = (
        BookingRule.objects.filter(
            Q(hall__in=booking_rule_halls(user=user)) | Q(venue__in=booking_rule_venues(user=user))
        )
        .select_related("hall", "venue")
        .annotate(coming=Sum("slots__booked", filter=Q(slots__starts_at__gt=now)))
    )
    rows = [
        {
            "rule": r,
            "place": r.hall.name if r.hall_id else r.venue.name,
            "what": booking_rule_what(r),
            "booked": r.coming or 0,
            "kind": "hall" if r.hall_id else "venue",
        }
        for r in rules
    ]
    rows.sort(key=lambda x: (x["kind"] != "hall", x["place"], x["what"], x["rule"].pk))
    return rows


def booking_rule_coming_booked(*, rule: BookingRule, now: dt.datetime | None = None) -> int:
    """Places booked in RULE's slots still to come."""
    now = now or timezone.now()
    return sum(Slot.objects.filter(rule=rule, starts_at__gt=now).values_list("booked", flat=True))


def booking_rule_item_choices(*, hall: Hall) -> list[tuple[str, str]]:
    """The items a rule may be added for at HALL: handled there (大厅可办事项), calling for a
    visit, without a rule yet. [(code, name)] by name."""
    from tongban.catalog.selectors import item_definition

    taken = set(BookingRule.objects.filter(hall=hall).values_list("item_code", flat=True))
    out = []
    for code in HallItem.objects.filter(hall=hall).values_list("item_code", flat=True):
        if code in taken:
            continue
        try:
            item = item_definition(code)
        except Exception:  # noqa: S112 - an item gone from the catalog is offered no rule
            continue
        if item_needs_visit(item):
            out.append((code, item.name))
    return sorted(out, key=lambda c: (c[1], c[0]))
