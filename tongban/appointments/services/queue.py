"""Writes of 取号叫号与综合窗口: taking a ticket (a booking's check-in by 随申码, a walk-in at a
kiosk or the reception), a clerk at a window calling, recalling, skipping, transferring,
starting and finishing tickets, the reception putting a skipped ticket back in line
(过号重排), identifying a resident at the counter by scan, and the daily waiting figures.
Every move is one QueueEvent naming the actor, in the move's transaction; signing in and
out of a window, checking in a booking and putting a ticket back in line also leave an
audit row.

Numbers are per hall and day: bookings "Y001", personal walk-ins "A001", enterprise walk-ins
"B001". Allocation locks the hall's row (PostgreSQL; SQLite's write lock does the same) and
retries on the unique constraints behind it. Calling the next ticket locks the ticket with
SKIP LOCKED on PostgreSQL, so two clerks calling at once get two different tickets.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, User
from tongban.appointments.models import (
    OPEN_TICKET,
    Booking,
    BookingStatus,
    Hall,
    QueueEvent,
    QueueEventKind,
    Ticket,
    TicketSource,
    TicketStatus,
    WaitStat,
    Window,
    WindowKind,
    WindowSession,
)
from tongban.appointments.selectors import queue as q
from tongban.catalog.models import ServiceItem
from tongban.common.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tongban.common.services import audit_record
from tongban.notifications.services import notice_send

CHECK_IN_SCENARIO = "hall_checkin"
# A booking may be checked in from this long before its slot starts until the slot ends.
CHECK_IN_EARLY = dt.timedelta(minutes=60)
CHECK_IN_VIA = ("entrance", "kiosk", "counter")
# A refused check-in has already used the scanned 随申码 (a code reads once); where scanning
# again later makes sense, the refusal says a fresh code is needed.
RESCAN_HINT = "（请刷新随申码后再扫码）"
WALK_IN_SOURCES = (TicketSource.KIOSK, TicketSource.RECEPTION)
BOOKING_PREFIX = "Y"
PERSON_PREFIX = "A"
ENTERPRISE_PREFIX = "B"
ALLOCATE_ATTEMPTS = 5
SWEEP_LABEL = "system:queue_sweep"
# Calling a ticket tells the people this many places behind it that their turn is near.
SOON_AHEAD = 2
SOON_TEMPLATE = "queue_soon"
# Past days the wait figures are looked at again (a late call changes a day's figures).
STATS_LOOKBACK_DAYS = 30
# 过号重排: how many times the reception may put one skipped ticket back in line; after
# that the person takes a new number like anybody else.
REQUEUE_LIMIT = 2


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_fields(actor) -> dict[str, Any]:
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor[:60]}
    if actor is not None and getattr(actor, "is_authenticated", False):
        return {"actor": actor, "actor_label": actor.username[:60]}
    return {"actor": None, "actor_label": ""}


def _event(ticket: Ticket, kind: str, *, actor, at, window=None, **data) -> QueueEvent:
    return QueueEvent.objects.create(
        hall_id=ticket.hall_id,
        ticket=ticket,
        kind=kind,
        window=window,
        at=at,
        data=data,
        **_actor_fields(actor),
    )


def _audit(actor, **fields) -> None:
    if isinstance(actor, str):
        audit_record(actor_label=actor, **fields)
    else:
        audit_record(actor=actor, **fields)


def _masked_surname(user_id: int | None) -> str:
    """The surname and two stars ("张**"): what the hall screen may show of the person."""
    if user_id is None:
        return ""
    name = (
        ResidentProfile.objects.filter(user_id=user_id).values_list("name", flat=True).first() or ""
    ).strip()
    return f"{name[0]}**" if name else ""


# ---------------------------------------------------------------- taking a ticket


def _prefix(source: str, item_code: str) -> str:
    if source == TicketSource.BOOKING:
        return BOOKING_PREFIX
    subject = ServiceItem.objects.filter(code=item_code).values_list("subject", flat=True).first()
    return ENTERPRISE_PREFIX if subject == "enterprise" else PERSON_PREFIX


def _lock_hall(hall: Hall) -> None:
    # Serialises the hall's number allocation on PostgreSQL; on SQLite the transaction
    # already holds the database's write lock (transaction_mode IMMEDIATE).
    if connection.vendor == "postgresql":
        list(Hall.objects.select_for_update().filter(pk=hall.pk).values_list("pk"))


def _ticket_create(*, hall: Hall, day: dt.date, prefix: str, **fields) -> Ticket:
    """A ticket with the next sequence and the next number of PREFIX, inside the caller's
    transaction; retried in a savepoint if a concurrent taker got the same number."""
    for attempt in range(ALLOCATE_ATTEMPTS):
        try:
            with transaction.atomic():
                _lock_hall(hall)
                today = Ticket.objects.filter(hall=hall, day=day)
                sequence = (today.aggregate(m=Max("sequence"))["m"] or 0) + 1
                n = today.filter(number__startswith=prefix).count() + 1
                number = f"{prefix}{n:03d}" if n < 1000 else f"{prefix}{n}"
                return Ticket.objects.create(
                    hall=hall, day=day, number=number, sequence=sequence, **fields
                )
        except IntegrityError:
            if attempt == ALLOCATE_ATTEMPTS - 1:
                raise Conflict("取号人数较多，请稍后重试", code="QUEUE_BUSY") from None
    raise AssertionError("unreachable")


def _require_routed(hall: Hall, item_code: str) -> list[Window]:
    windows = q.routed_windows(hall=hall, item_code=item_code)
    if not windows:
        raise Conflict("本大厅没有办理该事项的窗口，请咨询导服台", code="QUEUE_ITEM_NOT_SERVED")
    return windows


def _require_open(hall: Hall, now: dt.datetime) -> None:
    # Hours unknown (no weekly hours set): not refused.
    if any(hall.weekly_hours or []) and not hall.open_at(now):
        raise Conflict("大厅当前不在办公时间，请在办公时间内取号", code="QUEUE_HALL_CLOSED")


def _check_reception(actor, hall: Hall, what: str) -> None:
    """A ticket taken at the reception or a check-in at the entrance or a counter is made by
    a clerk of the hall; a kiosk's own label vouches for a kiosk."""
    if isinstance(actor, str) or not q.clerk_may_serve(clerk=actor, hall=hall):
        raise PermissionDenied(f"只有本大厅的综合窗口人员可以{what}", code="QUEUE_NOT_HALL_STAFF")


def ticket_take(
    *,
    hall: Hall,
    item_code: str,
    source: str,
    user: User | None = None,
    actor,
    now: dt.datetime | None = None,
) -> Ticket:
    """A walk-in ticket (自助取号 at a kiosk, 导服台取号 at the reception) for ITEM_CODE in
    HALL; refused for an item no window of the hall takes, or out of hours. USER (the
    resident logged in at a kiosk, when known) sees it in 我的排队; their second ticket for
    the same item the same day is the first one again. ACTOR is the clerk at the reception,
    or a kiosk's label ("kiosk:<code>")."""
    now = _now(now)
    item_code = (item_code or "").strip()
    if source not in WALK_IN_SOURCES:
        raise InvalidInput("取号来源只能是自助终端或导服台", code="QUEUE_SOURCE_INVALID")
    if not hall.is_active:
        raise NotFound("未找到该大厅", code="HALL_NOT_FOUND")
    if source == TicketSource.RECEPTION:
        _check_reception(actor, hall, "在导服台取号")
    if not item_code:
        raise InvalidInput("请选择要办理的事项", code="QUEUE_ITEM_REQUIRED")
    _require_routed(hall, item_code)
    _require_open(hall, now)
    day = timezone.localdate(now)
    with transaction.atomic():
        if user is not None:
            existing = (
                Ticket.objects.filter(
                    hall=hall, day=day, user=user, item_code=item_code, status__in=OPEN_TICKET
                )
                .order_by("taken_at")
                .first()
            )
            if existing is not None:
                return existing
        ticket = _ticket_create(
            hall=hall,
            day=day,
            prefix=_prefix(source, item_code),
            item_code=item_code,
            source=source,
            user=user,
            name_masked=_masked_surname(user.pk if user is not None else None),
            status=TicketStatus.WAITING,
            taken_at=now,
        )
        _event(ticket, QueueEventKind.TAKEN, actor=actor, at=now, source=source)
    return ticket


def _scan_holder(hall: Hall, code: str, now: dt.datetime):
    """The holder of the 随申码 CODE scanned with HALL's scanner (scenario hall_checkin); the
    scan is logged whatever follows. Refusals carry the idcode result's own message."""
    from tongban.idcode.services import code_scan
    from tongban.idcode.token import OK

    code = (code or "").strip()
    if not code:
        raise InvalidInput("请扫描或输入随申码", code="IDCODE_REQUIRED")
    if hall.scanner_id is None:
        raise Conflict("本大厅尚未配置扫码终端，请联系管理员", code="HALL_NO_SCANNER")
    result = code_scan(scanner=hall.scanner, code=code, scenario=CHECK_IN_SCENARIO, now=now)
    if result.result != OK or result.holder is None:
        raise InvalidInput(result.message, code=f"IDCODE_{result.result.upper()}")
    return result.holder


def resident_identify(*, hall: Hall, code: str, now: dt.datetime | None = None):
    """The person whose 随申码 CODE a counter clerk scanned (instead of typing the ID number):
    an idcode Holder whose subject is their 一人一档. The scan is logged under hall_checkin
    with HALL's scanner; an enterprise code is refused (the counter files for a person)."""
    holder = _scan_holder(hall, code, _now(now))
    if holder.kind != "person":
        raise InvalidInput("请出示个人随申码（企业码不能用于身份核验）", code="IDCODE_NOT_PERSON")
    return holder


def _slot_text(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    a, b = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return f"{a:%H:%M}–{b:%H:%M}"


def booking_check_in(
    *,
    hall: Hall,
    code: str,
    via: str,
    actor_label: str,
    now: dt.datetime | None = None,
    actor: User | None = None,
) -> Ticket:
    """签到: scan the resident's 随申码 with HALL's scanner, find their booking at HALL today,
    mark it checked in and give it its ticket ("Y…", called before walk-ins once its slot has
    started). From CHECK_IN_EARLY before the slot starts until the slot ends. A booking
    already checked in answers with its ticket. VIA: entrance (a clerk at the door or the
    reception: ACTOR), kiosk (ACTOR_LABEL names the kiosk) or counter (ACTOR)."""
    now = _now(now)
    if via not in CHECK_IN_VIA:
        raise InvalidInput("签到方式只能是入口、自助终端或窗口", code="CHECK_IN_VIA_INVALID")
    if not hall.is_active:
        raise NotFound("未找到该大厅", code="HALL_NOT_FOUND")
    if via != "kiosk":
        _check_reception(actor, hall, "为预约签到")
    holder = _scan_holder(hall, code, now)
    user = User.objects.filter(pk=holder.requested_by_id).first()
    booking = q.booking_today(user=user, hall=hall, today=timezone.localdate(now))
    if booking is None:
        raise NotFound(
            f"您今天在{hall.name}没有预约，可在导服台或自助终端现场取号",
            code="CHECK_IN_NO_BOOKING",
        )
    slot = booking.slot
    when = _slot_text(slot.starts_at, slot.ends_at)
    if booking.status == BookingStatus.CHECKED_IN:
        existing = Ticket.objects.filter(booking=booking).first()
        if existing is not None:
            return existing
    # The scan above has used the code up (one successful scan per code), so coming back
    # later means showing a new one: the 随申码 page renews its code by itself every few
    # minutes, and reopening it shows a new one at once.
    if now < slot.starts_at - CHECK_IN_EARLY:
        opens = timezone.localtime(slot.starts_at - CHECK_IN_EARLY)
        raise Conflict(
            f"您预约的时段是{when}，请于{opens:%H:%M}以后签到{RESCAN_HINT}",
            code="CHECK_IN_TOO_EARLY",
        )
    if now >= slot.ends_at:
        raise Conflict(f"您预约的时段{when}已过，请到导服台现场取号", code="CHECK_IN_TOO_LATE")
    _require_routed(hall, slot.item_code)
    who = actor if actor is not None else actor_label
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == BookingStatus.CHECKED_IN:
            existing = Ticket.objects.filter(booking=locked).first()
            if existing is not None:
                return existing
        elif locked.status != BookingStatus.BOOKED:
            raise Conflict("该预约已取消或已办理，不能签到", code="CHECK_IN_BOOKING_CLOSED")
        locked.status = BookingStatus.CHECKED_IN
        locked.checked_in_at = now
        locked.save(update_fields=["status", "checked_in_at"])
        ticket = _ticket_create(
            hall=hall,
            day=timezone.localdate(now),
            prefix=BOOKING_PREFIX,
            item_code=slot.item_code,
            source=TicketSource.BOOKING,
            booking=locked,
            user=locked.user,
            name_masked=_masked_surname(locked.user_id),
            status=TicketStatus.WAITING,
            slot_starts_at=slot.starts_at,
            taken_at=now,
        )
        _event(
            ticket,
            QueueEventKind.TAKEN,
            actor=who,
            at=now,
            source=TicketSource.BOOKING,
            via=via,
            booking=locked.reference,
        )
        _audit(
            who,
            action="booking.check_in",
            object_type="appointments.booking",
            object_id=locked.reference,
            data={"hall": hall.code, "via": via, "ticket": ticket.number},
        )
    return ticket


# ---------------------------------------------------------------- the clerk at a window


def window_sign_in(*, clerk: User, window: Window, now: dt.datetime | None = None) -> WindowSession:
    """窗口签到: CLERK (a 综合窗口 clerk of the window's hall) sits at WINDOW; signed in
    elsewhere, they move. A window another clerk sits at is refused."""
    now = _now(now)
    if not q.clerk_may_serve(clerk=clerk, hall=window.hall):
        raise PermissionDenied("您不在该大厅的综合窗口岗位", code="QUEUE_NOT_HALL_STAFF")
    if not window.is_active or window.kind == WindowKind.HANDOUT:
        raise Conflict("该窗口未启用或不参与叫号", code="WINDOW_NOT_CALLING")
    try:
        with transaction.atomic():
            current = (
                WindowSession.objects.select_for_update()
                .filter(clerk=clerk, ended_at__isnull=True)
                .first()
            )
            if current is not None and current.window_id == window.pk:
                return current
            if current is not None:
                _require_no_open_ticket(clerk, current.window)
                current.ended_at = now
                current.save(update_fields=["ended_at"])
            if WindowSession.objects.filter(window=window, ended_at__isnull=True).exists():
                raise Conflict("该窗口已有其他工作人员签到", code="WINDOW_TAKEN")
            session = WindowSession.objects.create(window=window, clerk=clerk, started_at=now)
            _audit(
                clerk,
                action="queue.window_sign_in",
                object_type="appointments.window",
                object_id=window.pk,
                data={"hall": window.hall.code, "number": window.number},
            )
    except IntegrityError:
        raise Conflict("该窗口已有其他工作人员签到", code="WINDOW_TAKEN") from None
    return session


def _require_no_open_ticket(clerk: User, window: Window) -> None:
    if Ticket.objects.filter(
        window=window, clerk=clerk, status__in=[TicketStatus.CALLED, TicketStatus.SERVING]
    ).exists():
        raise Conflict("请先处理当前号码（办结、过号或转窗口）", code="QUEUE_CURRENT_OPEN")


def window_sign_out(*, clerk: User, now: dt.datetime | None = None) -> WindowSession:
    """窗口签退; refused while the clerk still has a called or serving ticket."""
    now = _now(now)
    with transaction.atomic():
        session = (
            WindowSession.objects.select_for_update()
            .filter(clerk=clerk, ended_at__isnull=True)
            .select_related("window__hall")
            .first()
        )
        if session is None:
            raise Conflict("您尚未在任何窗口签到", code="QUEUE_NOT_SIGNED_IN")
        _require_no_open_ticket(clerk, session.window)
        session.ended_at = now
        session.save(update_fields=["ended_at"])
        _audit(
            clerk,
            action="queue.window_sign_out",
            object_type="appointments.window",
            object_id=session.window_id,
            data={"hall": session.window.hall.code, "number": session.window.number},
        )
    return session


def _signed_in(clerk: User) -> Window:
    window = q.clerk_window(clerk=clerk)
    if window is None:
        raise PermissionDenied("请先在窗口签到", code="QUEUE_NOT_SIGNED_IN")
    if not q.clerk_may_serve(clerk=clerk, hall=window.hall):
        raise PermissionDenied("您不在该大厅的综合窗口岗位", code="QUEUE_NOT_HALL_STAFF")
    return window


def ticket_call_next(*, clerk: User, now: dt.datetime | None = None) -> Ticket | None:
    """叫号: the first ticket in the calling order of the clerk's window (see
    selectors.queue), or None when nobody waits. Locked so that two clerks never call the
    same ticket (SKIP LOCKED on PostgreSQL; SQLite's write lock)."""
    now = _now(now)
    window = _signed_in(clerk)
    codes = q.window_item_codes(window=window)
    with transaction.atomic():
        _require_no_open_ticket(clerk, window)
        candidates = q.window_queue(window=window, now=now, item_codes=codes)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ticket = candidates.first()
        if ticket is None:
            return None
        transferred = ticket.transferred_to_id is not None
        ticket.status = TicketStatus.CALLED
        ticket.window = window
        ticket.clerk = clerk
        ticket.transferred_to = None
        ticket.called_at = ticket.called_at or now
        ticket.calls += 1
        ticket.save(
            update_fields=["status", "window", "clerk", "transferred_to", "called_at", "calls"]
        )
        _event(
            ticket,
            QueueEventKind.CALLED,
            actor=clerk,
            at=now,
            window=window,
            **({"transferred": True} if transferred else {}),
        )
        _soon_notify(window, now, codes)
    return ticket


def _soon_notify(window: Window, now: dt.datetime, codes) -> None:
    """即将轮到您: the next SOON_AHEAD tickets this window will call hear it, once each."""
    for t in q.window_queue(window=window, now=now, item_codes=codes).select_related("user")[
        :SOON_AHEAD
    ]:
        if t.user is None:
            continue
        link = f"/me/tickets/#ticket-{t.pk}"
        if t.soon_notified_at is not None:
            continue
        t.soon_notified_at = now
        t.save(update_fields=["soon_notified_at"])
        notice_send(
            recipient=t.user,
            template=SOON_TEMPLATE,
            link=link,
            context={"number": t.number, "hall": window.hall.name},
        )


def _locked_own(clerk: User, ticket: Ticket, expect: tuple[str, ...]) -> tuple[Ticket, Window]:
    """TICKET locked, if it is the clerk's own at their window in one of EXPECT statuses."""
    window = _signed_in(clerk)
    locked = Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
    if locked is None or locked.window_id != window.pk or locked.clerk_id != clerk.pk:
        raise PermissionDenied("该号码不是您当前窗口叫到的号码", code="QUEUE_NOT_YOUR_TICKET")
    if locked.status not in expect:
        raise Conflict(
            f"该号码当前状态为“{locked.get_status_display()}”，不能进行此操作",
            code="QUEUE_TICKET_STATE",
        )
    return locked, window


def ticket_recall(*, clerk: User, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """重呼: call the clerk's called ticket again (the screen shows it again)."""
    now = _now(now)
    with transaction.atomic():
        ticket, window = _locked_own(clerk, ticket, (TicketStatus.CALLED,))
        ticket.calls += 1
        ticket.save(update_fields=["calls"])
        _event(ticket, QueueEventKind.RECALLED, actor=clerk, at=now, window=window)
    return ticket


def ticket_skip(*, clerk: User, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """过号: the called person did not come; the ticket closes. They may take a new one, or,
    back soon the same day, have the reception put this one back in line (ticket_requeue)."""
    now = _now(now)
    with transaction.atomic():
        ticket, window = _locked_own(clerk, ticket, (TicketStatus.CALLED,))
        ticket.status = TicketStatus.SKIPPED
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at"])
        _event(ticket, QueueEventKind.SKIPPED, actor=clerk, at=now, window=window)
    return ticket


def ticket_requeue(*, actor: User, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """过号重排: the person whose number was skipped came back to the reception (导服台), which
    puts the same number back in line. ACTOR is a 综合窗口 clerk of the ticket's hall. Only a
    ticket skipped today, at most REQUEUE_LIMIT times, while the hall is open. It waits
    again behind everybody waiting now, as a walk-in taken at this moment would (a booking's
    ticket loses its booking priority; see selectors.queue); `called_at`, where its wait
    ended, stays, so the day's waiting figures do not change."""
    now = _now(now)
    hall = ticket.hall
    if not hall.is_active:
        raise NotFound("未找到该大厅", code="HALL_NOT_FOUND")
    _check_reception(actor, hall, "为过号的号码重新排队")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
        if locked is None:
            raise NotFound("未找到该号码", code="QUEUE_TICKET_NOT_FOUND")
        if locked.day != timezone.localdate(now):
            raise Conflict(
                "只能为当天过号的号码重新排队，请重新取号", code="QUEUE_TICKET_NOT_TODAY"
            )
        if locked.status != TicketStatus.SKIPPED:
            raise Conflict(
                f"该号码当前状态为“{locked.get_status_display()}”，只有已过号的号码可以重新排队",
                code="QUEUE_TICKET_STATE",
            )
        done = QueueEvent.objects.filter(ticket=locked, kind=QueueEventKind.REQUEUED).count()
        if done >= REQUEUE_LIMIT:
            raise Conflict(
                f"该号码已重新排队{done}次，不能再次重新排队，请重新取号",
                code="QUEUE_REQUEUE_LIMIT",
            )
        if locked.user_id is not None:
            newer = (
                Ticket.objects.filter(
                    hall_id=locked.hall_id,
                    day=locked.day,
                    user_id=locked.user_id,
                    item_code=locked.item_code,
                    status__in=OPEN_TICKET,
                )
                .values_list("number", flat=True)
                .first()
            )
            if newer is not None:
                raise Conflict(
                    f"办事人已重新取号（{newer}号），请使用新号码", code="QUEUE_TICKET_RETAKEN"
                )
        _require_routed(hall, locked.item_code)
        _require_open(hall, now)
        locked.status = TicketStatus.WAITING
        locked.requeued_at = now
        locked.window = None
        locked.clerk = None
        locked.finished_at = None
        # Back in line: the person hears 即将轮到您 again when their turn nears.
        locked.soon_notified_at = None
        locked.save(
            update_fields=[
                "status", "requeued_at", "window", "clerk", "finished_at", "soon_notified_at"
            ]
        )  # fmt: skip
        _event(locked, QueueEventKind.REQUEUED, actor=actor, at=now, times=done + 1)
        _audit(
            actor,
            action="queue.ticket_requeue",
            object_type="appointments.ticket",
            object_id=locked.pk,
            data={"hall": hall.code, "number": locked.number, "times": done + 1},
        )
    return locked


def ticket_transfer(
    *, clerk: User, ticket: Ticket, window: Window, now: dt.datetime | None = None
) -> Ticket:
    """转窗口: send the clerk's called or serving ticket to WINDOW of the same hall, which
    calls it before anything else; it waits again until then."""
    now = _now(now)
    with transaction.atomic():
        ticket, here = _locked_own(clerk, ticket, (TicketStatus.CALLED, TicketStatus.SERVING))
        if (
            window.hall_id != here.hall_id
            or window.pk == here.pk
            or not window.is_active
            or window.kind == WindowKind.HANDOUT
        ):
            raise InvalidInput("请选择本大厅另一个参与叫号的窗口", code="QUEUE_TRANSFER_WINDOW")
        ticket.status = TicketStatus.WAITING
        ticket.transferred_to = window
        ticket.transferred_at = now
        ticket.window = None
        ticket.clerk = None
        ticket.save(update_fields=["status", "transferred_to", "transferred_at", "window", "clerk"])
        _event(
            ticket,
            QueueEventKind.TRANSFERRED,
            actor=clerk,
            at=now,
            window=here,
            to=window.number,
        )
    return ticket


def ticket_start(*, clerk: User, ticket: Ticket, now: dt.datetime | None = None) -> Ticket:
    """开始办理: the called person has come to the window."""
    now = _now(now)
    with transaction.atomic():
        ticket, window = _locked_own(clerk, ticket, (TicketStatus.CALLED,))
        ticket.status = TicketStatus.SERVING
        ticket.save(update_fields=["status"])
        _event(ticket, QueueEventKind.STARTED, actor=clerk, at=now, window=window)
    return ticket


def ticket_finish(
    *, clerk: User, ticket: Ticket, case=None, now: dt.datetime | None = None
) -> Ticket:
    """办结: the service at the window is over; CASE (the case filed for the person at this
    counter, if any) is linked. A booking's ticket completes the booking."""
    now = _now(now)
    with transaction.atomic():
        ticket, window = _locked_own(clerk, ticket, (TicketStatus.SERVING,))
        if case is not None:
            if ticket.user_id is not None and case.applicant_id != ticket.user_id:
                raise InvalidInput("该办件不是此号码办事人的", code="QUEUE_CASE_NOT_THEIRS")
            ticket.case = case
        ticket.status = TicketStatus.DONE
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at", "case"])
        if ticket.booking_id is not None:
            Booking.objects.filter(pk=ticket.booking_id, status=BookingStatus.CHECKED_IN).update(
                status=BookingStatus.COMPLETED, closed_at=now
            )
        data = {"case": ticket.case.receipt_no} if ticket.case_id else {}
        _event(ticket, QueueEventKind.DONE, actor=clerk, at=now, window=window, **data)
    return ticket


def ticket_case_link(*, clerk: User, case) -> Ticket | None:
    """The counter filing hook (cases.services.apply): a case CLERK files links the ticket
    they are serving for its applicant (or a ticket of nobody known), if it has none yet.
    Inside the filing's transaction."""
    window = q.clerk_window(clerk=clerk)
    if window is None:
        return None
    ticket = (
        Ticket.objects.select_for_update()
        .filter(window=window, clerk=clerk, status=TicketStatus.SERVING, case__isnull=True)
        .order_by("-called_at")
        .first()
    )
    if ticket is None or ticket.user_id not in (None, case.applicant_id):
        return None
    ticket.case = case
    ticket.save(update_fields=["case"])
    return ticket


# ---------------------------------------------------------------- daily figures


def _p90(values: list[int]) -> int:
    """The 90th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def _stat_write(hall_id, window_id, day, waits: list[int], now) -> None:
    values = {
        "tickets": len(waits),
        "average_wait_seconds": round(sum(waits) / len(waits)),
        "p90_wait_seconds": _p90(waits),
        "computed_at": now,
    }
    WaitStat.objects.update_or_create(
        hall_id=hall_id, window_id=window_id, day=day, defaults=values
    )


def wait_stats_compute(*, hall_id: int, day: dt.date, now: dt.datetime) -> int:
    """等候时长日统计 of one hall and day: the hall, and each window that first called a
    ticket, from taking the number to the first call. Replaces the day's rows; returns how
    many rows it wrote."""
    tickets = list(
        Ticket.objects.filter(hall_id=hall_id, day=day, called_at__isnull=False).values_list(
            "pk", "taken_at", "called_at"
        )
    )
    if not tickets:
        return 0
    first_window: dict[int, int] = {}
    for ticket_id, window_id in (
        QueueEvent.objects.filter(ticket_id__in=[t[0] for t in tickets], kind=QueueEventKind.CALLED)
        .order_by("-pk")
        .values_list("ticket_id", "window_id")
    ):
        first_window[ticket_id] = window_id  # the earliest call wins, read last
    waits: list[int] = []
    by_window: dict[int, list[int]] = defaultdict(list)
    for pk, taken, called in tickets:
        wait = max(int((called - taken).total_seconds()), 0)
        waits.append(wait)
        if first_window.get(pk) is not None:
            by_window[first_window[pk]].append(wait)
    with transaction.atomic():
        WaitStat.objects.filter(hall_id=hall_id, day=day).exclude(
            window_id__in=list(by_window)
        ).exclude(window__isnull=True).delete()
        _stat_write(hall_id, None, day, waits, now)
        for window_id, values in by_window.items():
            _stat_write(hall_id, window_id, day, values, now)
    return 1 + len(by_window)


def queue_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """Daily upkeep, idempotent: past days' tickets still open are cancelled (their day is
    over), clerks still signed in since a past day are signed out, and each past day whose
    calls changed since its figures were computed (or that has none) gets them (WaitStat)."""
    start_of_today = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    cancelled = 0
    stale = Ticket.objects.filter(
        day__lt=today, status__in=[TicketStatus.WAITING, TicketStatus.CALLED]
    ).values_list("pk", flat=True)
    for pk in list(stale[:1000]):
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update()
                .filter(pk=pk, status__in=[TicketStatus.WAITING, TicketStatus.CALLED])
                .first()
            )
            if ticket is None:
                continue
            ticket.status = TicketStatus.CANCELLED
            ticket.finished_at = now
            ticket.save(update_fields=["status", "finished_at"])
            _event(ticket, QueueEventKind.CANCELLED, actor=SWEEP_LABEL, at=now, reason="day_over")
            cancelled += 1
    closed = 0
    for session in WindowSession.objects.filter(
        ended_at__isnull=True, started_at__lt=start_of_today
    ).select_related("window__hall"):
        with transaction.atomic():
            if WindowSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
                ended_at=now
            ):
                _audit(
                    SWEEP_LABEL,
                    action="queue.window_sign_out",
                    object_type="appointments.window",
                    object_id=session.window_id,
                    data={"clerk": session.clerk_id, "reason": "day_over"},
                )
                closed += 1
    stats = 0
    latest = (
        Ticket.objects.filter(
            called_at__isnull=False,
            day__lt=today,
            day__gte=today - dt.timedelta(days=STATS_LOOKBACK_DAYS),
        )
        .values("hall_id", "day")
        .annotate(last_call=Max("called_at"))
    )
    computed = {
        (s.hall_id, s.day): s.computed_at
        for s in WaitStat.objects.filter(
            window__isnull=True, day__gte=today - dt.timedelta(days=STATS_LOOKBACK_DAYS)
        )
    }
    for row in latest:
        at = computed.get((row["hall_id"], row["day"]))
        if at is not None and at >= row["last_call"]:
            continue
        stats += wait_stats_compute(hall_id=row["hall_id"], day=row["day"], now=now)
    return {"tickets_cancelled": cancelled, "sessions_closed": closed, "wait_stats": stats}


SWEEPS = {"queue": queue_sweep}
