"""Reads of 取号叫号与综合窗口: which window a clerk sits at, which windows take an item, the
order in which a window calls its tickets, a ticket's position and estimated wait, the hall
screen's feed and the resident's tickets.

The calling order (one rule, used by `ticket_call_next` in SQL and by `ticket_position` in
Python): at window W, among today's waiting tickets of W's hall that W may call —

1. tickets transferred to W (转窗口), by when they were transferred;
2. booked tickets whose slot has started, by slot start, then by when they were taken;
3. everything else (walk-ins, and booked tickets checked in before their slot), by when they
   were taken; a ticket put back in line after 过号 (过号重排, `requeued_at`) counts as a
   walk-in taken when it was put back, behind everybody then waiting, and a booked one
   among them has lost its booking's priority.

Ties go to the lower sequence number. A ticket W may call: transferred to W, or not
transferred and of an item W serves (`Window.serves` over the hall's items).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, When
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole
from tongban.appointments.models import (
    OPEN_TICKET,
    Booking,
    Hall,
    HallItem,
    QueueEvent,
    QueueEventKind,
    Ticket,
    TicketStatus,
    Window,
    WindowKind,
    WindowSession,
)
from tongban.appointments.selectors.booking import booking_today_for
from tongban.appointments.selectors.halls import windows_for_item
from tongban.catalog.models import ServiceItem

# Without recent finished tickets, the estimate assumes this many minutes per person.
DEFAULT_SERVICE_MINUTES = 8
# The estimate averages the service time of this many latest finished tickets …
SERVICE_SAMPLE = 30
# … finished within this many days.
SERVICE_SAMPLE_DAYS = 7
FEED_LIMIT = 12
CALL_KINDS = (QueueEventKind.CALLED, QueueEventKind.RECALLED)


def _today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now())


# ---------------------------------------------------------------- clerks and windows


def clerk_halls(*, clerk) -> list[Hall]:
    """The halls where CLERK holds a 综合窗口 post (counter_clerk with that hall)."""
    if clerk is None or not getattr(clerk, "is_authenticated", False) or not clerk.is_active:
        return []
    ids = StaffAssignment.objects.filter(
        user=clerk, role=StaffRole.COUNTER_CLERK, hall__isnull=False
    ).values_list("hall_id", flat=True)
    return list(Hall.objects.filter(pk__in=list(ids), is_active=True).order_by("code"))


def clerk_may_serve(*, clerk, hall: Hall) -> bool:
    """Whether CLERK sits in HALL as a 综合窗口 clerk (calls its queue, takes its tickets)."""
    if clerk is None or not getattr(clerk, "is_authenticated", False) or not clerk.is_active:
        return False
    return StaffAssignment.objects.filter(
        user=clerk, role=StaffRole.COUNTER_CLERK, hall=hall
    ).exists()


def clerk_session(*, clerk) -> WindowSession | None:
    if clerk is None or not getattr(clerk, "is_authenticated", False):
        return None
    return (
        WindowSession.objects.filter(clerk=clerk, ended_at__isnull=True)
        .select_related("window__hall")
        .first()
    )


def clerk_window(*, clerk) -> Window | None:
    """The window CLERK is signed in at (窗口签到), or None."""
    session = clerk_session(clerk=clerk)
    return session.window if session is not None else None


def callable_windows(*, hall: Hall) -> list[Window]:
    """HALL's active windows that call the queue (综合窗口 and 专窗; 出件窗口 do not)."""
    return list(
        Window.objects.filter(hall=hall, is_active=True)
        .exclude(kind=WindowKind.HANDOUT)
        .order_by("number")
    )


def item_departments(codes) -> dict[str, int]:
    return dict(
        ServiceItem.objects.filter(code__in=list(codes)).values_list("code", "department_id")
    )


def item_names(codes) -> dict[str, str]:
    return dict(ServiceItem.objects.filter(code__in=list(codes)).values_list("code", "name"))


def routed_windows(*, hall: Hall, item_code: str) -> list[Window]:
    """The windows of HALL a ticket for ITEM_CODE is routed to (the halls part's rule)."""
    return windows_for_item(hall=hall, item_code=item_code)


def window_item_codes(*, window: Window) -> list[str]:
    """The codes of the hall's items WINDOW serves."""
    codes = list(
        HallItem.objects.filter(hall_id=window.hall_id).values_list("item_code", flat=True)
    )
    departments = item_departments(codes)
    return sorted(c for c in codes if window.serves(c, departments.get(c)))


def hall_items(*, hall: Hall) -> list[dict[str, str]]:
    """[{code, name}] of the items HALL handles that some window of it calls, by name."""
    codes = list(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True))
    departments = item_departments(codes)
    names = item_names(codes)
    windows = callable_windows(hall=hall)
    rows = [
        {"code": c, "name": names.get(c, c)}
        for c in codes
        if c in names and any(w.serves(c, departments.get(c)) for w in windows)
    ]
    return sorted(rows, key=lambda r: (r["name"], r["code"]))


# ---------------------------------------------------------------- the calling order


def eligible_q(*, window: Window, item_codes) -> Q:
    return Q(transferred_to=window) | Q(transferred_to__isnull=True, item_code__in=list(item_codes))


def window_queue(
    *, window: Window, now: dt.datetime | None = None, item_codes=None
) -> QuerySet[Ticket]:
    """Today's waiting tickets WINDOW may call, in calling order (see the module docstring)."""
    now = now or timezone.now()
    codes = window_item_codes(window=window) if item_codes is None else item_codes
    return (
        Ticket.objects.filter(hall_id=window.hall_id, day=_today(now), status=TicketStatus.WAITING)
        .filter(eligible_q(window=window, item_codes=codes))
        .annotate(
            call_rank=Case(
                When(transferred_to=window, then=0),
                When(slot_starts_at__lte=now, requeued_at__isnull=True, then=1),
                default=2,
                output_field=IntegerField(),
            ),
            call_at=Case(
                When(transferred_to=window, then=F("transferred_at")),
                When(requeued_at__isnull=False, then=F("requeued_at")),
                When(slot_starts_at__lte=now, then=F("slot_starts_at")),
                default=F("taken_at"),
            ),
        )
        .order_by("call_rank", "call_at", "taken_at", "sequence")
    )


def _order_key(ticket: Ticket, window_id: int, now: dt.datetime) -> tuple:
    """The module's calling order for TICKET at window WINDOW_ID, as a sort key."""
    if ticket.transferred_to_id == window_id:
        return (0, ticket.transferred_at or ticket.taken_at, ticket.taken_at, ticket.sequence)
    if ticket.requeued_at is not None:
        return (2, ticket.requeued_at, ticket.taken_at, ticket.sequence)
    if ticket.slot_starts_at is not None and ticket.slot_starts_at <= now:
        return (1, ticket.slot_starts_at, ticket.taken_at, ticket.sequence)
    return (2, ticket.taken_at, ticket.taken_at, ticket.sequence)


def _may_call(ticket: Ticket, window_id: int, codes: set[str]) -> bool:
    if ticket.transferred_to_id is not None:
        return ticket.transferred_to_id == window_id
    return ticket.item_code in codes


def average_service_minutes(*, windows: list[Window], now: dt.datetime | None = None) -> float:
    """The mean minutes from call to finish of the latest SERVICE_SAMPLE tickets finished at
    WINDOWS within SERVICE_SAMPLE_DAYS; DEFAULT_SERVICE_MINUTES without any. Tickets put back
    in line after 过号 are left out: their `called_at` is the first call, before the skip."""
    now = now or timezone.now()
    rows = list(
        Ticket.objects.filter(
            window__in=windows,
            status=TicketStatus.DONE,
            called_at__isnull=False,
            requeued_at__isnull=True,
            finished_at__gte=now - dt.timedelta(days=SERVICE_SAMPLE_DAYS),
        )
        .order_by("-finished_at")
        .values_list("called_at", "finished_at")[:SERVICE_SAMPLE]
    )
    if not rows:
        return float(DEFAULT_SERVICE_MINUTES)
    seconds = [max((b - a).total_seconds(), 0) for a, b in rows]
    return sum(seconds) / len(seconds) / 60


def ticket_position(*, ticket: Ticket, now: dt.datetime | None = None) -> tuple[int, int]:
    """(ahead, estimated_minutes) for a waiting TICKET; (0, 0) once it is called or closed.

    ahead: at each window that may call this ticket and has a clerk signed in (every such
    window when none has), the waiting tickets it would call first (the order in the module
    docstring); the smallest of these counts, since whichever window gets to it first calls it.
    estimated_minutes: ahead × the average minutes a ticket took from call to finish at the
    windows that serve the item lately (average_service_minutes), rounded up."""
    now = now or timezone.now()
    if ticket.status != TicketStatus.WAITING:
        return 0, 0
    hall = ticket.hall
    if ticket.transferred_to_id is not None:
        windows = list(Window.objects.filter(pk=ticket.transferred_to_id))
    else:
        windows = routed_windows(hall=hall, item_code=ticket.item_code)
    if not windows:
        return 0, 0
    staffed = set(
        WindowSession.objects.filter(window__in=windows, ended_at__isnull=True).values_list(
            "window_id", flat=True
        )
    )
    callers = [w for w in windows if w.pk in staffed] or windows
    waiting = list(
        Ticket.objects.filter(hall=hall, day=ticket.day, status=TicketStatus.WAITING).exclude(
            pk=ticket.pk
        )
    )
    counts = []
    for window in callers:
        codes = set(window_item_codes(window=window))
        if not _may_call(ticket, window.pk, codes):
            continue
        mine = _order_key(ticket, window.pk, now)
        counts.append(
            sum(
                1
                for t in waiting
                if _may_call(t, window.pk, codes) and _order_key(t, window.pk, now) < mine
            )
        )
    ahead = min(counts, default=0)
    minutes = ahead * average_service_minutes(windows=windows, now=now)
    return ahead, math.ceil(minutes)


def waiting_count(*, hall: Hall, now: dt.datetime | None = None) -> int:
    """Tickets waiting now in HALL (today's)."""
    return Ticket.objects.filter(hall=hall, day=_today(now), status=TicketStatus.WAITING).count()


# ---------------------------------------------------------------- pages


def window_board(*, clerk, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the clerk's call page shows: the window, its current ticket, how many wait."""
    now = now or timezone.now()
    session = clerk_session(clerk=clerk)
    if session is None:
        halls = clerk_halls(clerk=clerk)
        taken = dict(
            WindowSession.objects.filter(window__hall__in=halls, ended_at__isnull=True).values_list(
                "window_id", "clerk__username"
            )
        )
        return {
            "window": None,
            "halls": [
                {
                    "hall": h,
                    "windows": [
                        {"window": w, "taken": w.pk in taken} for w in callable_windows(hall=h)
                    ],
                }
                for h in halls
            ],
        }
    window = session.window
    current = (
        Ticket.objects.filter(
            window=window, clerk=clerk, status__in=[TicketStatus.CALLED, TicketStatus.SERVING]
        )
        .order_by("-called_at")
        .first()
    )
    codes = window_item_codes(window=window)
    queue = window_queue(window=window, now=now, item_codes=codes)
    names = item_names([current.item_code] if current else [])
    return {
        "window": window,
        "session": session,
        "current": current,
        "current_item": names.get(current.item_code, current.item_code) if current else "",
        "window_waiting": queue.count(),
        "hall_waiting": waiting_count(hall=window.hall, now=now),
        "transfer_to": [w for w in callable_windows(hall=window.hall) if w.pk != window.pk],
        "served_today": Ticket.objects.filter(
            window=window, day=_today(now), status=TicketStatus.DONE
        ).count(),
    }


def ticket_for_clerk(*, clerk, ticket_id: Any) -> Ticket | None:
    """A ticket of a hall CLERK sits in, or None."""
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        return None
    halls = clerk_halls(clerk=clerk)
    return Ticket.objects.filter(pk=pk, hall__in=halls).select_related("hall").first()


def _event_row(event: QueueEvent, ticket: Ticket, window: Window | None) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "number": ticket.number,
        "window_number": window.number if window else "",
        "window_name": window.name if window else "",
        "name_masked": ticket.name_masked,
        "at": event.at,
    }


def display_feed(*, hall: Hall, after: int = 0, limit: int = FEED_LIMIT) -> dict[str, Any]:
    """The hall screen's feed: calls (叫号, 重呼) after event AFTER, oldest first, at most
    LIMIT (the latest LIMIT when AFTER is 0); `last_id` to ask after next. Only the number,
    the window and the masked surname: nothing else about the person."""
    events = QueueEvent.objects.filter(hall=hall, kind__in=CALL_KINDS).select_related(
        "ticket", "window"
    )
    if after > 0:
        rows = list(events.filter(pk__gt=after).order_by("pk")[:limit])
    else:
        rows = list(events.order_by("-pk")[:limit])[::-1]
    calls = [_event_row(e, e.ticket, e.window) for e in rows]
    last_id = (
        calls[-1]["id"]
        if calls
        else max(
            after,
            QueueEvent.objects.filter(hall=hall)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
            or 0,
        )
    )
    return {
        "hall": hall.name,
        "calls": calls,
        "last_id": last_id,
        "waiting": waiting_count(hall=hall),
    }


def hall_by_code(code: str) -> Hall | None:
    return Hall.objects.filter(code=code, is_active=True).first()


def tickets_of(*, user, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """USER's tickets today, newest first, with position and estimate for the waiting ones."""
    now = now or timezone.now()
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    tickets = list(
        Ticket.objects.filter(user=user, day=_today(now))
        .select_related("hall", "window", "transferred_to")
        .order_by("-taken_at")
    )
    names = item_names({t.item_code for t in tickets})
    out = []
    for t in tickets:
        ahead, minutes = ticket_position(ticket=t, now=now)
        out.append(
            {
                "ticket": t,
                "id": t.pk,
                "number": t.number,
                "hall": t.hall.name,
                "hall_code": t.hall.code,
                "item_name": names.get(t.item_code, t.item_code),
                "status": t.status,
                "status_label": t.get_status_display(),
                "source_label": t.get_source_display(),
                "window": t.window.number if t.window else "",
                "window_name": t.window.name if t.window else "",
                "transferred_to": t.transferred_to.number if t.transferred_to else "",
                "ahead": ahead,
                "estimated_minutes": minutes,
                "taken_at": t.taken_at,
                "called_at": t.called_at,
            }
        )
    return out


def skipped_today(*, hall: Hall, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """For the 导服台: HALL's tickets skipped (过号) today, latest skip first, with how many
    times each was already put back in line (过号重排). Only what the hall screen shows of
    the person: the masked surname."""
    now = now or timezone.now()
    tickets = list(
        Ticket.objects.filter(hall=hall, day=_today(now), status=TicketStatus.SKIPPED).order_by(
            "-finished_at", "-sequence"
        )
    )
    names = item_names({t.item_code for t in tickets})
    requeues = dict(
        QueueEvent.objects.filter(
            ticket_id__in=[t.pk for t in tickets], kind=QueueEventKind.REQUEUED
        )
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    return [
        {
            "id": t.pk,
            "number": t.number,
            "name_masked": t.name_masked,
            "item_name": names.get(t.item_code, t.item_code),
            "skipped_at": t.finished_at,
            "requeues": requeues.get(t.pk, 0),
        }
        for t in tickets
    ]


def booking_today(*, user, hall: Hall, today: dt.date) -> Booking | None:
    """The person's active booking at HALL on TODAY (the booking part's rule)."""
    if user is None:
        return None
    return booking_today_for(user=user, hall=hall, today=today)


def counter_visit_for(*, clerk, user, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """For the counter page: the identified person's booking today at the clerk's hall and
    their open ticket there; None when the clerk sits in no hall."""
    now = now or timezone.now()
    window = clerk_window(clerk=clerk)
    halls = [window.hall] if window else clerk_halls(clerk=clerk)
    if len(halls) != 1 or user is None:
        return None
    hall = halls[0]
    today = _today(now)
    booking = booking_today(user=user, hall=hall, today=today)
    ticket = (
        Ticket.objects.filter(user=user, hall=hall, day=today, status__in=OPEN_TICKET)
        .select_related("window")
        .order_by("-taken_at")
        .first()
    )
    names = item_names(
        {
            c
            for c in (booking.slot.item_code if booking else "", ticket.item_code if ticket else "")
            if c
        }
    )
    return {
        "hall": hall,
        "window": window,
        "booking": booking,
        "booking_item": names.get(booking.slot.item_code, "") if booking else "",
        "ticket": ticket,
        "ticket_item": names.get(ticket.item_code, "") if ticket else "",
    }
