"""Reads of 24小时自助终端: which terminal a browser is, who may enrol one, what a terminal
offers (walk-in items, self-service items) and what a logged-in person may print there."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.appointments.models import OPEN_TICKET, ServicePoint, Ticket, TicketStatus
from tongban.appointments.selectors import queue as queue_selectors
from tongban.common.crypto import lookup_hash

KIOSK_KEY_CONTEXT = "appointments.kiosk_key"


def kiosk_key_hash(key: str) -> str:
    return lookup_hash(key, context=KIOSK_KEY_CONTEXT)


def kiosk_point_for(*, key: str | None) -> ServicePoint | None:
    """The active service point whose enrolled browser holds KEY (the kiosk cookie)."""
    if not key or len(key) > 200:
        return None
    return (
        ServicePoint.objects.select_related("hall", "scanner")
        .filter(kiosk_key_hash=kiosk_key_hash(key), is_active=True)
        .first()
    )


def _administrator(user: User) -> bool:
    return StaffAssignment.objects.filter(user=user, role=StaffRole.ADMINISTRATOR).exists()


def _clerk_hall_ids(user: User) -> set[int]:
    return set(
        StaffAssignment.objects.filter(
            user=user, role=StaffRole.COUNTER_CLERK, hall__isnull=False
        ).values_list("hall_id", flat=True)
    )


def kiosk_may_enrol(*, user: User | None, point: ServicePoint) -> bool:
    """A 综合窗口 clerk of the point's hall, or an administrator (also for points outside a
    hall, e.g. a standalone 24小时自助区)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if _administrator(user):
        return True
    return point.hall_id is not None and point.hall_id in _clerk_hall_ids(user)


def kiosk_points_for(*, user: User | None) -> QuerySet[ServicePoint]:
    """The active points USER may enrol a terminal for, by code."""
    points = ServicePoint.objects.select_related("hall").filter(is_active=True).order_by("code")
    if user is None or not user.is_authenticated or not user.is_active:
        return points.none()
    if _administrator(user):
        return points
    return points.filter(hall_id__in=_clerk_hall_ids(user))


def kiosk_enrollers_text(point: ServicePoint | None = None) -> str:
    """Who can make a browser a kiosk, in words for the not-enrolled page."""
    if point is not None and point.hall_id:
        return f"{point.hall.name}的综合窗口工作人员或系统管理员"
    return "所在政务服务大厅的综合窗口工作人员或系统管理员"


def _item_names(codes: list[str]) -> dict[str, Any]:
    from tongban.catalog.errors import ItemNotFound
    from tongban.catalog.selectors import item_definition

    found = {}
    for code in codes:
        try:
            found[code] = item_definition(code)
        except ItemNotFound:
            continue
    return found


def kiosk_self_service_items(*, point: ServicePoint) -> list[dict[str, Any]]:
    """The items one can do at POINT's terminal: listed on the point and marked `kiosk` in
    the catalog (an item the catalog no longer offers there is left out)."""
    codes = [c for c in (point.item_codes or []) if isinstance(c, str)]
    defs = _item_names(codes)
    return [
        {
            "code": code,
            "name": d.name,
            "summary": d.summary,
            "has_questions": bool(d.situations),
            "promised_days": d.time_limit.promised_days,
            "instant": d.handling == "instant",
        }
        for code, d in defs.items()
        if "kiosk" in d.channels
    ]


def kiosk_item_allowed(*, point: ServicePoint, item_code: str) -> bool:
    return any(i["code"] == item_code for i in kiosk_self_service_items(point=point))


def kiosk_ticket_items(*, point: ServicePoint) -> list[dict[str, str]]:
    """The items a walk-in ticket can be taken for at POINT's hall: those the queue routes to
    some window (the queue part's own list), [] for a point outside a hall."""
    if point.hall_id is None:
        return []
    return queue_selectors.hall_items(hall=point.hall)


def kiosk_ticket_for(*, ticket_id: int, user: User | None, taken_here: list[int]) -> Ticket | None:
    """A ticket the person at the terminal may see: their own, or one taken in this kiosk
    session (an anonymous walk-in)."""
    mine = Q(pk__in=taken_here)
    if user is not None and user.is_authenticated:
        mine |= Q(user=user)
    return Ticket.objects.select_related("hall", "window").filter(mine, pk=ticket_id).first()


def kiosk_tickets_today(*, user: User | None) -> list[Ticket]:
    """The person's tickets of today, newest first (for 打印)."""
    if user is None or not user.is_authenticated:
        return []
    today = timezone.localdate()
    return list(
        Ticket.objects.select_related("hall")
        .filter(user=user, day=today)
        .order_by("-taken_at", "-pk")[:10]
    )


def ticket_display(ticket: Ticket) -> dict[str, Any]:
    """What a ticket page and a printed ticket show: no personal data beyond the masked name."""
    names = _item_names([ticket.item_code])
    item = names.get(ticket.item_code)
    row: dict[str, Any] = {
        "id": ticket.pk,
        "number": ticket.number,
        "hall": ticket.hall.name,
        "item_name": item.name if item else "",
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "source_label": ticket.get_source_display(),
        "taken_at": ticket.taken_at,
        "window": ticket.window.number if ticket.window_id else "",
        "open": ticket.status in OPEN_TICKET,
        "ahead": None,
        "minutes": None,
    }
    if ticket.status == TicketStatus.WAITING:
        row["ahead"], row["minutes"] = queue_selectors.ticket_position(ticket=ticket)
    return row


def kiosk_person_label(user: User | None) -> str:
    """How the terminal greets the person: the masked name (王**), never the whole of it —
    the screen is in a public hall."""
    if user is None or not user.is_authenticated:
        return ""
    from tongban.accounts.models import ResidentProfile
    from tongban.accounts.validators import mask_name

    name = ResidentProfile.objects.filter(user=user).values_list("name", flat=True).first()
    return mask_name(name or user.display_name or "") or "您"
