"""Writes of 统一预约: slots from the rules and the opening hours, booking, rescheduling,
cancelling (by the person or by a counter clerk of the hall on their behalf), reminders the
day before and no-shows, as one idempotent sweep.

The last place is never sold twice: `booked` only moves by a conditional UPDATE
(`booked < capacity`) inside the booking's transaction, and the slot's check constraint
stands behind it. On SQLite a writer that cannot get the database lock in time is told to
try again (BOOKING_BUSY, 409), never a 500.

Booking transitions owned here: (new)→booked, booked→cancelled, booked→no_show (sweep).
The queue (services.queue) owns booked→checked_in→completed.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from tongban.accounts.models import Enterprise, ResidentProfile
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    Slot,
)
from tongban.appointments.selectors.booking import (
    booking_may_book,
    clerk_may_act_for,
    date_text,
    item_code_books_on_form,
    local_date,
    no_show_rule,
    place_name,
    slot_get,
    time_text,
    what_name,
)
from tongban.common.calendar import CalendarNotCovered
from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tongban.common.services import audit_record
from tongban.notifications.services import notice_send

logger = logging.getLogger(__name__)

SYSTEM = "system:booking"
# Tries of one booking when SQLite reports the database locked (busy_timeout already waited).
BUSY_TRIES = 3
SQLITE_WAIT_SECONDS = 20
_SQLITE_WRITERS = threading.Lock()
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out at a counter
SWEEP_BATCH = 500


# ---------------------------------------------------------------- errors


class SlotFull(Conflict):
    code = "BOOKING_SLOT_FULL"
    message = "该时段已约满，请选择其他时段"


class BookingBusy(Conflict):
    code = "BOOKING_BUSY"
    message = "当前预约人数较多，请稍后重试"


class SlotClosed(Conflict):
    code = "BOOKING_SLOT_CLOSED"
    message = "该时段已开始或已结束，不能预约，请选择其他时段"


class SlotNotOpen(Conflict):
    code = "BOOKING_SLOT_NOT_OPEN"
    message = "该时段尚未开放预约"


class BookingLimited(PermissionDenied):
    code = "BOOKING_LIMITED"
    message = "您暂不能预约"


class BookingSameDay(Conflict):
    code = "BOOKING_SAME_DAY"
    message = "您当天已预约了同一事项，如需改时间请在“我的预约”中改约"


class BookingNotChangeable(Conflict):
    code = "BOOKING_NOT_CHANGEABLE"
    message = "该预约已开始、已取消或已办理，不能再取消或改约"


class BookingNotFound(NotFound):
    code = "BOOKING_NOT_FOUND"
    message = "未找到该预约"


class BookingNotAllowed(PermissionDenied):
    code = "BOOKING_NOT_ALLOWED"
    message = "只有本人或所在大厅的综合窗口人员可以办理该预约"


class BookingNeedsApplication(Conflict):
    code = "BOOKING_NEEDS_APPLICATION"
    message = "该事项须填写申请表并在表中选择预约时段，提交申请即完成预约"


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "该请求标识已用于另一项预约，请使用新的请求标识"


# ---------------------------------------------------------------- helpers


T = TypeVar("T")


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _busy_as_conflict(work: Callable[[], T]) -> T:
    """Run WORK (one transaction); SQLite's "database is locked" is tried again a few times
    with a short random pause, then reported as BOOKING_BUSY. Inside a caller's transaction
    there is nothing to retry: it is reported at once (the caller's transaction is over)."""
    tries = 1 if connection.in_atomic_block else BUSY_TRIES
    for attempt in range(tries):
        try:
            if connection.vendor != "sqlite" or connection.in_atomic_block:
                return work()
            # SQLite runs one writer at a time whatever we do; within this process the
            # bookings queue here rather than spin on the database lock (other processes
            # still wait on busy_timeout, and the conditional UPDATE guards across them).
            if not _SQLITE_WRITERS.acquire(timeout=SQLITE_WAIT_SECONDS):
                raise BookingBusy()
            try:
                return work()
            finally:
                _SQLITE_WRITERS.release()
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            logger.info("booking: database busy (try %s of %s)", attempt + 1, tries)
            if attempt + 1 < tries:
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311
    raise BookingBusy()


def _new_reference(day: dt.date) -> str:
    tail = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"YY{day:%y%m%d}{tail}"


def _audit(actor, **fields) -> None:
    if isinstance(actor, str):
        audit_record(actor_label=actor, **fields)
    else:
        audit_record(actor=actor, **fields)


def _profile_id(user) -> int | None:
    return ResidentProfile.objects.filter(user=user).values_list("pk", flat=True).first()


def _acting_for(actor, user, slot: Slot, case=None) -> bool:
    """True when ACTOR is a clerk acting for USER; refuses anyone but USER or a clerk. The
    clerk who filed CASE at a counter (帮办), or the relative who filed it under a checked
    delegation (亲友代办), books the place the case's form chose."""
    if actor.pk == user.pk:
        return False
    if case is not None and actor.pk in (case.filed_by_id, case.acted_by_id):
        return True
    if clerk_may_act_for(actor, slot):
        return True
    raise BookingNotAllowed()


def _notice_context(b: Booking, slot: Slot) -> dict[str, Any]:
    return {
        "place": place_name(slot),
        "what": what_name(slot),
        "date_text": date_text(slot.day),
        "time_text": time_text(slot),
        "reference": b.reference,
    }


def _link(b: Booking) -> str:
    return f"/me/bookings/{b.reference}/"


def _take_place(slot_id: int) -> bool:
    return bool(
        Slot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    )


def _free_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _check_bookable(slot: Slot, now: dt.datetime) -> None:
    if not slot.rule.is_active:
        raise SlotNotOpen("该时段已停止预约")
    if slot.starts_at <= now:
        raise SlotClosed()
    if slot.day > local_date(now) + dt.timedelta(days=slot.rule.days_ahead):
        raise SlotNotOpen(f"该时段尚未开放预约：最多可提前{slot.rule.days_ahead}天预约")


def _same_day_rows(user, slot: Slot):
    rows = Booking.objects.filter(
        user=user, status__in=(BookingStatus.BOOKED, BookingStatus.CHECKED_IN), slot__day=slot.day
    )
    if slot.hall_id:
        return rows.filter(slot__hall__isnull=False, slot__item_code=slot.item_code)
    return rows.filter(slot__venue_id=slot.venue_id, slot__resource=slot.resource)


# ---------------------------------------------------------------- slots


def slots_generate(*, rule: BookingRule, start: dt.date, end: dt.date) -> int:
    """Slots of RULE from START to END (local dates, inclusive) within the place's opening
    hours on each day (holidays closed, 调休 days worked); a day the holiday calendar does not
    cover yet is skipped, not guessed. Slots already there are kept as they are (their
    bookings stand). Returns how many were created."""
    if end < start or not rule.is_active:
        return 0
    place = rule.hall or rule.venue
    step = dt.timedelta(minutes=rule.slot_minutes)
    wanted: list[Slot] = []
    day = start
    while day <= end:
        try:
            periods = place.periods_on(day)
        except CalendarNotCovered:
            periods = []
        for opens, closes in periods:
            at = dt.datetime.combine(day, opens, tzinfo=LOCAL_TZ)
            last = dt.datetime.combine(day, closes, tzinfo=LOCAL_TZ)
            while at + step <= last:
                wanted.append(
                    Slot(
                        rule=rule,
                        hall=rule.hall,
                        venue=rule.venue,
                        item_code=rule.item_code,
                        resource=rule.resource,
                        day=day,
                        starts_at=at,
                        ends_at=at + step,
                        capacity=rule.capacity,
                    )
                )
                at += step
        day += dt.timedelta(days=1)
    if not wanted:
        return 0
    with transaction.atomic():
        have = set(
            Slot.objects.filter(rule=rule, day__gte=start, day__lte=end).values_list(
                "starts_at", flat=True
            )
        )
        new = [s for s in wanted if s.starts_at not in have]
        if new:
            # ignore_conflicts: a sweep in another process may have made the same slots.
            Slot.objects.bulk_create(new, ignore_conflicts=True)
            _audit(
                SYSTEM,
                action="booking.slots_generate",
                object_type="booking_rule",
                object_id=rule.pk,
                data={"start": start.isoformat(), "end": end.isoformat(), "created": len(new)},
            )
    return len(new)


# ---------------------------------------------------------------- booking


def _existing(user, slot_id: int) -> Booking | None:
    return (
        Booking.objects.filter(
            user=user,
            slot_id=slot_id,
            status__in=(BookingStatus.BOOKED, BookingStatus.CHECKED_IN),
        )
        .select_related("slot")
        .first()
    )


def _by_key(user, key: str) -> Booking | None:
    if not key:
        return None
    return Booking.objects.select_related("slot").filter(user=user, idempotency_key=key).first()


def booking_make(
    *,
    user,
    slot_id: int,
    actor,
    enterprise: Enterprise | None = None,
    case=None,
    now: dt.datetime | None = None,
    idempotency_key: str = "",
) -> Booking:
    """Book a place in slot SLOT_ID for USER. ACTOR is USER, or a counter clerk of the slot's
    hall booking on their behalf (`booked_by`; the audit row names both and the person is
    told). A second identical submit (same person, same slot, or the same IDEMPOTENCY_KEY)
    returns the booking it made. Refused: a slot that has started or is beyond the rule's
    horizon, a person over the no-show limit, a second active booking of the same item (or
    venue resource) on the same day, a full slot."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()[:128]
    if case is not None and case.applicant_id != user.pk:
        raise NotFound("未找到该办件", code="CASE_NOT_FOUND")
    slot_box: list[Slot] = []

    def attempt() -> Booking:
        with transaction.atomic():
            slot = slot_get(slot_id=slot_id)
            slot_box[:] = [slot]
            on_behalf = _acting_for(actor, user, slot, case)
            if case is None and slot.hall_id and item_code_books_on_form(slot.item_code):
                # 婚姻登记预约: the place comes with the application (both parties' details);
                # a bare place would reach the registry with nobody to register.
                raise BookingNeedsApplication()
            if enterprise is not None:
                from tongban.accounts.selectors import enterprise_membership_live

                enterprise_membership_live(user=user, enterprise_id=enterprise.pk)
            # One booking of a person at a time (PostgreSQL row lock; SQLite writers are
            # serialised anyway): the same-day rule cannot be raced by two tabs.
            get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
            keyed = _by_key(user, key)
            if keyed is not None:
                if keyed.slot_id != slot.pk:
                    raise IdempotencyKeyReused()
                return keyed
            existing = _existing(user, slot.pk)
            if existing is not None:
                return existing
            _check_bookable(slot, now)
            allowed, reason = booking_may_book(user=user, now=now)
            if not allowed:
                raise BookingLimited(reason)
            if _same_day_rows(user, slot).exists():
                raise BookingSameDay()
            if not _take_place(slot.pk):
                raise SlotFull()
            booking = Booking.objects.create(
                reference=_new_reference(slot.day),
                slot=slot,
                user=user,
                enterprise=enterprise,
                case=case,
                booked_by=actor,
                status=BookingStatus.BOOKED,
                created_at=now,
                idempotency_key=key,
            )
            _audit(
                actor,
                action="booking.make",
                object_type="booking",
                object_id=booking.pk,
                subject_resident_id=_profile_id(user),
                data={
                    "reference": booking.reference,
                    "slot": slot.pk,
                    "user": user.pk,
                    "booked_by": actor.pk,
                    "on_behalf": on_behalf,
                    "key": key,
                    "case": case.receipt_no if case is not None else "",
                },
            )
            notice_send(
                recipient=user,
                template="booking_made_by_clerk" if on_behalf else "booking_confirmed",
                context=_notice_context(booking, slot),
                link=_link(booking),
            )
            return booking

    try:
        return _busy_as_conflict(attempt)
    except IntegrityError:
        # The same person's other submit won the race for this slot: theirs is the booking.
        if connection.in_atomic_block or not slot_box:
            raise BookingBusy() from None
        try:
            existing = _existing(user, slot_box[0].pk)
        except OperationalError as exc:
            if not _is_busy(exc):
                raise
            raise BookingBusy() from None
        if existing is None:
            raise BookingBusy() from None
        return existing


def _lock_booking(booking: Booking) -> Booking:
    row = Booking.objects.select_for_update().select_related("slot").filter(pk=booking.pk).first()
    if row is None:
        raise BookingNotFound()
    return row


def _require_changeable(row: Booking, actor, now: dt.datetime) -> bool:
    on_behalf = _acting_for(actor, row.user, row.slot)
    if row.status != BookingStatus.BOOKED or row.slot.starts_at <= now:
        raise BookingNotChangeable()
    return on_behalf


def _cancel(row: Booking, *, actor, now: dt.datetime, data: dict, template: str) -> None:
    """Cancel locked ROW, free its place, audit it (DATA added) and, with TEMPLATE, tell the
    person."""
    row.status = BookingStatus.CANCELLED
    row.closed_at = now
    row.save(update_fields=["status", "closed_at"])
    _free_place(row.slot_id)
    _audit(
        actor,
        action="booking.cancel",
        object_type="booking",
        object_id=row.pk,
        subject_resident_id=_profile_id(row.user),
        data={"reference": row.reference, "slot": row.slot_id, "user": row.user_id, **data},
    )
    if template:
        notice_send(
            recipient=row.user,
            template=template,
            context=_notice_context(row, row.slot),
            link=_link(row),
        )


def booking_cancel(*, booking: Booking, actor, reason: str = "", now: dt.datetime | None = None):
    """Cancel a booking before its slot starts; its place is free again at once. ACTOR is
    the person or a counter clerk of the hall (the person is told)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise InvalidInput("取消原因最多200字", code="BOOKING_REASON_TOO_LONG")

    def attempt() -> Booking:
        with transaction.atomic():
            row = _lock_booking(booking)
            on_behalf = _require_changeable(row, actor, now)
            _cancel(
                row,
                actor=actor,
                now=now,
                data={"on_behalf": on_behalf, "reason": reason},
                template="booking_cancelled_by_clerk" if on_behalf else "",
            )
            return row

    return _busy_as_conflict(attempt)


def bookings_release_for_case(
    *, case, actor, reason: str, item_code: str = "", now: dt.datetime | None = None
) -> int:
    """A case refused (不予受理), or one of its items denied (ITEM_CODE: only that item's
    places), no longer needs the places booked for it: the bookings not yet started are
    cancelled and their places freed, in the caller's transaction, and the person is told.
    Returns how many."""
    now = now or timezone.now()
    rows = Booking.objects.filter(case=case, status=BookingStatus.BOOKED, slot__starts_at__gt=now)
    if item_code:
        rows = rows.filter(slot__item_code=item_code)
    rows = list(rows.select_for_update(of=("self",)).select_related("slot").order_by("slot_id"))
    for row in rows:
        _cancel(
            row,
            actor=actor,
            now=now,
            data={"case": case.receipt_no, "reason": reason},
            template="booking_cancelled_case_refused",
        )
    return len(rows)


def booking_reschedule(
    *, booking: Booking, slot_id: int, actor, now: dt.datetime | None = None
) -> Booking:
    """改约: move a booking to another slot of the same hall's item (or venue resource) in
    one transaction — the new place is taken and the old one freed, or nothing changes. The
    old booking is cancelled and the new one names it (`rescheduled_from`)."""
    now = now or timezone.now()

    def attempt() -> Booking:
        with transaction.atomic():
            new_slot = slot_get(slot_id=slot_id)
            old = _lock_booking(booking)
            on_behalf = _require_changeable(old, actor, now)
            if new_slot.rule_id != old.slot.rule_id:
                raise InvalidInput(
                    "只能改约到同一大厅同一事项（或同一场地）的其他时段",
                    code="BOOKING_RESCHEDULE_OTHER_RULE",
                )
            if new_slot.pk == old.slot_id:
                raise InvalidInput("请选择与原预约不同的时段", code="BOOKING_RESCHEDULE_SAME")
            _check_bookable(new_slot, now)
            if _same_day_rows(old.user, new_slot).exclude(pk=old.pk).exists():
                raise BookingSameDay()
            old.status = BookingStatus.CANCELLED
            old.closed_at = now
            old.save(update_fields=["status", "closed_at"])
            # Lower slot id first, so two reschedules crossing each other cannot deadlock.
            for sid in sorted((old.slot_id, new_slot.pk)):
                if sid == old.slot_id:
                    _free_place(sid)
                elif not _take_place(sid):
                    raise SlotFull()
            new = Booking.objects.create(
                reference=_new_reference(new_slot.day),
                slot=new_slot,
                user=old.user,
                enterprise=old.enterprise,
                case=old.case,
                booked_by=actor,
                status=BookingStatus.BOOKED,
                rescheduled_from=old,
                created_at=now,
            )
            _audit(
                actor,
                action="booking.reschedule",
                object_type="booking",
                object_id=new.pk,
                subject_resident_id=_profile_id(old.user),
                data={
                    "reference": new.reference,
                    "from": old.reference,
                    "slot": new_slot.pk,
                    "from_slot": old.slot_id,
                    "user": old.user_id,
                    "on_behalf": on_behalf,
                },
            )
            notice_send(
                recipient=old.user,
                template="booking_rescheduled",
                context=_notice_context(new, new_slot),
                link=_link(new),
            )
            return new

    return _busy_as_conflict(attempt)


# ---------------------------------------------------------------- the sweep


def booking_reminders_send(*, now: dt.datetime) -> int:
    """The day before: one reminder per booking (`reminded_at` makes it once)."""
    tomorrow = local_date(now) + dt.timedelta(days=1)
    ids = list(
        Booking.objects.filter(
            status=BookingStatus.BOOKED, reminded_at__isnull=True, slot__day=tomorrow
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = 0
    for pk in ids:
        with transaction.atomic():
            if not Booking.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                continue  # another worker's sweep reminded it
            b = Booking.objects.select_related("slot", "slot__hall", "slot__venue").get(pk=pk)
            notice_send(
                recipient=b.user,
                template="booking_reminder",
                context=_notice_context(b, b.slot),
                link=_link(b),
            )
            sent += 1
    return sent


def booking_no_shows_mark(*, now: dt.datetime) -> int:
    """Bookings not checked in GRACE minutes after their slot ended become no-shows."""
    grace = dt.timedelta(minutes=no_show_rule().grace_minutes)
    ids = list(
        Booking.objects.filter(
            status=BookingStatus.BOOKED, slot__ends_at__lte=now - grace
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    marked = 0
    for pk in ids:
        with transaction.atomic():
            if not Booking.objects.filter(pk=pk, status=BookingStatus.BOOKED).update(
                status=BookingStatus.NO_SHOW, closed_at=now
            ):
                continue  # checked in (or swept) meanwhile
            b = Booking.objects.select_related("slot", "slot__hall", "slot__venue").get(pk=pk)
            _audit(
                SYSTEM,
                action="booking.no_show",
                object_type="booking",
                object_id=pk,
                subject_resident_id=_profile_id(b.user),
                data={"reference": b.reference, "slot": b.slot_id, "user": b.user_id},
            )
            notice_send(
                recipient=b.user,
                template="booking_no_show",
                context=_notice_context(b, b.slot),
                link=_link(b),
            )
            marked += 1
    return marked


def booking_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """Keep slots generated `days_ahead`, send tomorrow's reminders, record no-shows."""
    generated = 0
    for rule in BookingRule.objects.filter(is_active=True).select_related("hall", "venue"):
        generated += slots_generate(
            rule=rule, start=today, end=today + dt.timedelta(days=rule.days_ahead)
        )
    return {
        "generated": generated,
        "reminded": booking_reminders_send(now=now),
        "no_show": booking_no_shows_mark(now=now),
    }


SWEEPS = {"booking": booking_sweep}


# ---------------------------------------------------------------- rules (demo, administration)


def booking_rule_ensure(
    *,
    actor,
    hall=None,
    venue=None,
    item_code: str = "",
    resource: str = "",
    slot_minutes: int = 30,
    capacity: int = 4,
    days_ahead: int = 14,
) -> BookingRule:
    """The rule for a hall's item or a venue's resource, created if missing (an existing
    rule is returned unchanged). Idempotent."""
    if (hall is None) == (venue is None):
        raise InvalidInput("预约规则须属于一个大厅或一个场馆", code="BOOKING_RULE_INVALID")
    if (hall is not None and not item_code) or (venue is not None and not resource):
        raise InvalidInput("请填写事项编码或场地名称", code="BOOKING_RULE_INVALID")
    if not (5 <= slot_minutes <= 480 and 1 <= capacity <= 500 and 1 <= days_ahead <= 90):
        raise InvalidInput("时段长度、名额或可提前天数超出范围", code="BOOKING_RULE_INVALID")
    lookup = (
        {"hall": hall, "item_code": item_code} if hall else {"venue": venue, "resource": resource}
    )
    with transaction.atomic():
        rule = BookingRule.objects.filter(**lookup).first()
        if rule is not None:
            return rule
        rule = BookingRule.objects.create(
            **lookup, slot_minutes=slot_minutes, capacity=capacity, days_ahead=days_ahead
        )
        _audit(
            actor,
            action="booking.rule_create",
            object_type="booking_rule",
            object_id=rule.pk,
            data={"item_code": item_code, "resource": resource},
        )
    return rule


# ---------------------------------------------------------------- rules, set by staff (后台)

RULE_SLOT_MINUTES = (15, 20, 30, 60, 90, 120)
RULE_CAPACITY_MAX = 500
RULE_DAYS_AHEAD_MAX = 60
RULE_RESOURCE_MAX = 60


class BookingRuleNotFound(NotFound):
    code = "BOOKING_RULE_NOT_FOUND"
    message = "未找到该预约规则"


class BookingPlaceNotFound(NotFound):
    code = "BOOKING_PLACE_NOT_FOUND"
    message = "未找到该大厅或场馆"


class BookingRuleExists(Conflict):
    code = "BOOKING_RULE_EXISTS"
    message = "该事项（或场地）已有预约规则，请修改已有的规则"


class BookingRuleSlotLengthLocked(Conflict):
    code = "BOOKING_RULE_SLOT_MINUTES_LOCKED"
    message = (
        "该规则明天及以后的时段已有预约，不能修改时段长度（已约的时段须保持不变）。"
        "请保持原时段长度，待这些预约办完后再修改"
    )


def _int_value(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rule_value_errors(values: dict[str, Any]) -> list[dict[str, str]]:
    """Field errors of the rule's numbers in VALUES (only those present)."""
    errors = []
    if "slot_minutes" in values and _int_value(values["slot_minutes"]) not in RULE_SLOT_MINUTES:
        minutes = "、".join(str(m) for m in RULE_SLOT_MINUTES)
        errors.append({"field": "slot_minutes", "message": f"每个时段须为{minutes}分钟之一"})
    if "capacity" in values:
        n = _int_value(values["capacity"])
        if n is None or not 1 <= n <= RULE_CAPACITY_MAX:
            errors.append(
                {"field": "capacity", "message": f"每时段名额须为1至{RULE_CAPACITY_MAX}之间的整数"}
            )
    if "days_ahead" in values:
        n = _int_value(values["days_ahead"])
        if n is None or not 1 <= n <= RULE_DAYS_AHEAD_MAX:
            errors.append(
                {
                    "field": "days_ahead",
                    "message": f"可提前预约天数须为1至{RULE_DAYS_AHEAD_MAX}之间的整数",
                }
            )
    if "is_active" in values and not isinstance(values["is_active"], bool):
        errors.append({"field": "is_active", "message": "请选择启用或停用"})
    return errors


def _rule_invalid(errors: list[dict[str, str]], code: str = "BOOKING_RULE_INVALID"):
    return InvalidInput(errors[0]["message"], code=code, details=errors)


def _rule_item_check(*, hall, item_code: str) -> None:
    """The item must be one HALL handles and one that calls for a visit."""
    from tongban.appointments.models import HallItem
    from tongban.appointments.selectors.booking import item_needs_visit
    from tongban.catalog.selectors import item_definition

    field = "item_code"
    if not HallItem.objects.filter(hall=hall, item_code=item_code).exists():
        raise _rule_invalid(
            [{"field": field, "message": "本大厅不办理该事项，不能为其设置预约"}],
            code="BOOKING_RULE_ITEM_NOT_IN_HALL",
        )
    try:
        item = item_definition(item_code)
    except Exception:  # the catalog no longer has it
        raise _rule_invalid(
            [{"field": field, "message": "事项目录中没有该事项"}], code="BOOKING_RULE_ITEM_UNKNOWN"
        ) from None
    if not item_needs_visit(item):
        raise _rule_invalid(
            [{"field": field, "message": "该事项可全程网办、无需到厅，不需要预约"}],
            code="BOOKING_RULE_ITEM_NO_VISIT",
        )


def _rule_state(rule: BookingRule) -> dict[str, Any]:
    return {
        "slot_minutes": rule.slot_minutes,
        "capacity": rule.capacity,
        "days_ahead": rule.days_ahead,
        "is_active": rule.is_active,
    }


def _rule_where(rule: BookingRule) -> dict[str, str]:
    if rule.hall_id:
        return {"hall": rule.hall.code, "item_code": rule.item_code}
    return {"venue": rule.venue.code, "resource": rule.resource}


def booking_rule_create(
    *,
    actor,
    hall=None,
    venue=None,
    item_code: str = "",
    resource: str = "",
    slot_minutes: int,
    capacity: int,
    days_ahead: int,
    now: dt.datetime | None = None,
) -> BookingRule:
    """A staff member adds the booking rule of a hall's item (one the hall handles, calling
    for a visit) or of a venue's resource, and its slots are generated at once up to its
    horizon. Refused: a place ACTOR does not manage (BOOKING_PLACE_NOT_FOUND, as if it did
    not exist), an item or resource that already has a rule, numbers outside the lists."""
    from tongban.appointments.selectors.booking import booking_rule_may_manage

    now = now or timezone.now()
    if (hall is None) == (venue is None):
        raise InvalidInput("预约规则须属于一个大厅或一个场馆", code="BOOKING_RULE_INVALID")
    if not booking_rule_may_manage(user=actor, hall=hall, venue=venue):
        raise BookingPlaceNotFound()
    item_code = (item_code or "").strip() if hall is not None else ""
    resource = " ".join((resource or "").split()) if venue is not None else ""
    errors = _rule_value_errors(
        {"slot_minutes": slot_minutes, "capacity": capacity, "days_ahead": days_ahead}
    )
    if hall is not None and not item_code:
        errors.insert(0, {"field": "item_code", "message": "请选择事项"})
    if venue is not None and not 1 <= len(resource) <= RULE_RESOURCE_MAX:
        message = f"请填写场地或项目名称（{RULE_RESOURCE_MAX}字以内）"
        errors.insert(0, {"field": "resource", "message": message})
    if errors:
        raise _rule_invalid(errors)
    if hall is not None:
        _rule_item_check(hall=hall, item_code=item_code)
    lookup = (
        {"hall": hall, "item_code": item_code} if hall else {"venue": venue, "resource": resource}
    )

    def attempt() -> BookingRule:
        with transaction.atomic():
            if BookingRule.objects.filter(**lookup).exists():
                raise BookingRuleExists()
            rule = BookingRule.objects.create(
                **lookup, slot_minutes=slot_minutes, capacity=capacity, days_ahead=days_ahead
            )
            today = local_date(now)
            created = slots_generate(
                rule=rule, start=today, end=today + dt.timedelta(days=days_ahead)
            )
            _audit(
                actor,
                action="booking.rule_create",
                object_type="booking_rule",
                object_id=rule.pk,
                data={
                    **_rule_where(rule),
                    "item_code": item_code,
                    "resource": resource,
                    "before": None,
                    "after": _rule_state(rule),
                    "slots_created": created,
                },
            )
        return rule

    try:
        return _busy_as_conflict(attempt)
    except IntegrityError:
        # Another submit of the same rule won the race (the unique constraint stood behind it).
        if connection.in_atomic_block:
            raise
        raise BookingRuleExists() from None


def booking_rule_change(
    *,
    actor,
    rule: BookingRule,
    capacity: int | None = None,
    days_ahead: int | None = None,
    is_active: bool | None = None,
    slot_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> BookingRule:
    """A staff member changes a rule; None leaves a value as it is. Bookings always stand:

    - capacity: the slots still to come get max(new capacity, places already booked) — a
      lower capacity never cancels anyone, it only stops new bookings above it;
    - slot length: refused (BOOKING_RULE_SLOT_MINUTES_LOCKED) when any slot from tomorrow on
      has a booking; otherwise those slots are made again with the new length, from
      tomorrow (today's slots stay as they are);
    - is_active False stops new bookings (the rule's slots are no longer offered), existing
      bookings stand; True offers them again;
    - slots missing up to the horizon are generated at once.

    One audit row naming ACTOR with the values before and after; none when nothing changed.
    A rule of a place ACTOR does not manage is BOOKING_RULE_NOT_FOUND and nothing changes."""
    from django.db.models import Value
    from django.db.models.functions import Greatest

    from tongban.appointments.selectors.booking import booking_rule_may_manage

    now = now or timezone.now()
    if not booking_rule_may_manage(user=actor, hall=rule.hall, venue=rule.venue):
        raise BookingRuleNotFound()
    asked = {
        k: v
        for k, v in (
            ("slot_minutes", slot_minutes),
            ("capacity", capacity),
            ("days_ahead", days_ahead),
            ("is_active", is_active),
        )
        if v is not None
    }
    today = local_date(now)
    tomorrow = today + dt.timedelta(days=1)

    def attempt() -> BookingRule:
        with transaction.atomic():
            row = BookingRule.objects.select_for_update(of=("self",)).select_related(
                "hall", "venue"
            )
            row = row.get(pk=rule.pk)
            before = _rule_state(row)
            # A value left as it was is no change, even when an older rule is outside the lists
            # (a demo rule of 45 minutes keeps its length while its capacity is changed).
            changes = {
                k: v for k, v in asked.items() if v != before[k] or type(v) is not type(before[k])
            }
            errors = _rule_value_errors(changes)
            if errors:
                raise _rule_invalid(errors)
            if not changes:
                return row
            removed = 0
            if "slot_minutes" in changes:
                if Booking.objects.filter(slot__rule=row, slot__day__gte=tomorrow).exists():
                    raise BookingRuleSlotLengthLocked()
                removed, _ = Slot.objects.filter(rule=row, day__gte=tomorrow).delete()
            for field, value in changes.items():
                setattr(row, field, value)
            row.save(update_fields=list(changes))
            kept_above = 0
            if "capacity" in changes:
                coming = Slot.objects.filter(rule=row, starts_at__gt=now)
                kept_above = coming.filter(booked__gt=row.capacity).count()
                coming.update(capacity=Greatest(Value(row.capacity), F("booked")))
            start = tomorrow if "slot_minutes" in changes else today
            created = slots_generate(
                rule=row, start=start, end=today + dt.timedelta(days=row.days_ahead)
            )
            _audit(
                actor,
                action="booking.rule_change",
                object_type="booking_rule",
                object_id=row.pk,
                data={
                    **_rule_where(row),
                    "before": {k: before[k] for k in changes},
                    "after": dict(changes),
                    "slots_created": created,
                    "slots_removed": removed,
                    "slots_kept_above_capacity": kept_above,
                },
            )
        return row

    # SQLite's "database is locked" is tried again, then a clean 409 (BOOKING_BUSY).
    return _busy_as_conflict(attempt)
