"""Reads of 轮候: a list's definition, an entry's position, what the person and the list's
department staff see. Positions are never stored: the order (priority rank, then when they
joined) decides them at the moment of reading; events keep the position each move left."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import StaffAssignment, StaffRole, User
from tongban.accounts.validators import mask_name
from tongban.appointments.models import (
    EntryStatus,
    OfferStatus,
    PlaceStatus,
    WaitingEntry,
    WaitingEvent,
    WaitingList,
    WaitingOffer,
    WaitingPlace,
)
from tongban.appointments.schemas import WaitingListDef

WAITING_LIST_KIND = "waiting_list"  # DefinitionVersion.kind of a waiting-list definition
ACTIVE = (EntryStatus.WAITING, EntryStatus.OFFERED)
# Posts of the list's department that keep it: intake, review and the department's lead.
KEEPER_ROLES = (StaffRole.ACCEPTOR, StaffRole.REVIEWER, StaffRole.DEPARTMENT_LEAD)

EVENT_LABELS = {
    "joined": "登记轮候",
    "offered": "收到入住通知",
    "accepted": "确认入住",
    "declined": "放弃本次通知",
    "expired": "逾期未答复",
    "withdrawn": "撤回轮候",
    "reranked": "优先类别调整",
}


def waiting_list_definition(waiting_list: WaitingList) -> WaitingListDef:
    """The definition the list runs under now (its current version)."""
    from tongban.catalog.models import DefinitionVersion

    row = DefinitionVersion.objects.get(
        kind=WAITING_LIST_KIND, code=waiting_list.code, version=waiting_list.definition_version
    )
    return WaitingListDef.model_validate(row.content)


def waiting_list_by_code(code: str) -> WaitingList | None:
    return (
        WaitingList.objects.filter(code=code, is_active=True).select_related("department").first()
    )


def waiting_lists_for_item(item_code: str) -> QuerySet[WaitingList]:
    return WaitingList.objects.filter(item_code=item_code, is_active=True)


def ordered_entries(waiting_list: WaitingList) -> QuerySet[WaitingEntry]:
    """The people on the list now, first first: those waiting and those holding an offer
    (who keep their place until they answer)."""
    return WaitingEntry.objects.filter(waiting_list=waiting_list, status__in=ACTIVE).order_by(
        "priority_rank", "joined_at", "id"
    )


def entry_position(entry: WaitingEntry) -> int | None:
    """1 for the first on the list; None once the entry left it."""
    if entry.status not in ACTIVE:
        return None
    rank, joined = entry.priority_rank, entry.joined_at
    ahead = (
        WaitingEntry.objects.filter(waiting_list_id=entry.waiting_list_id, status__in=ACTIVE)
        .filter(
            Q(priority_rank__lt=rank)
            | Q(priority_rank=rank, joined_at__lt=joined)
            | Q(priority_rank=rank, joined_at=joined, id__lt=entry.id)
        )
        .count()
    )
    return ahead + 1


def open_offer_of(entry: WaitingEntry) -> WaitingOffer | None:
    return (
        WaitingOffer.objects.filter(entry=entry, status=OfferStatus.OPEN)
        .select_related("place")
        .first()
    )


def may_keep(user: User | None, waiting_list: WaitingList) -> bool:
    """Whether USER holds a post of the list's department that keeps it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return StaffAssignment.objects.filter(
        user=user, department_id=waiting_list.department_id, role__in=KEEPER_ROLES
    ).exists()


def lists_kept_by(*, user: User | None) -> list[WaitingList]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    departments = StaffAssignment.objects.filter(user=user, role__in=KEEPER_ROLES).values(
        "department_id"
    )
    return list(
        WaitingList.objects.filter(is_active=True, department_id__in=departments)
        .select_related("department")
        .order_by("code")
    )


def _class_label(waiting_list: WaitingList, code: str) -> str:
    for c in waiting_list.priority_classes or []:
        if c.get("code") == code:
            return c.get("label", code)
    return code


def when_text(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def offer_row(offer: WaitingOffer, *, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "id": offer.pk,
        "status": offer.status,
        "status_label": offer.get_status_display(),
        "facility": offer.place.facility,
        "place": offer.place.name,
        "district": offer.place.get_district_display() if offer.place.district else "",
        "offered_at": offer.offered_at,
        "respond_by": offer.respond_by,
        "respond_by_text": when_text(offer.respond_by),
        "responded_at": offer.responded_at,
        "open": offer.status == OfferStatus.OPEN and offer.respond_by >= now,
    }


def _event_row(event: WaitingEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "label": EVENT_LABELS.get(event.kind, event.kind),
        "position": event.position,
        "at": event.at,
        "at_text": when_text(event.at),
        "note": event.data.get("note", ""),
    }


def entry_row(entry: WaitingEntry, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """One entry as its person sees it: where they stand, why, how it moved, any offer."""
    now = now or timezone.now()
    wl = entry.waiting_list
    events = list(entry.events.order_by("at", "id"))
    offer = open_offer_of(entry)
    joined_position = next((e.position for e in events if e.kind == "joined"), None)
    return {
        "id": entry.pk,
        "list_code": wl.code,
        "list_name": wl.name,
        "department": wl.department.name,
        "status": entry.status,
        "status_label": entry.get_status_display(),
        "priority_class": entry.priority_class,
        "priority_label": _class_label(wl, entry.priority_class),
        "priority_rank": entry.priority_rank,
        "position": entry_position(entry),
        "joined_position": joined_position,
        "joined_at": entry.joined_at,
        "joined_text": when_text(entry.joined_at),
        "declines": entry.declines,
        "receipt_no": entry.case.receipt_no if entry.case_id else "",
        "offer": offer_row(offer, now=now) if offer else None,
        "events": [_event_row(e) for e in events],
    }


def entries_for(*, user: User | None, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The person's own entries, those still on a list first, newest first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = (
        WaitingEntry.objects.filter(profile__user=user)
        .select_related("waiting_list__department", "case")
        .order_by("-joined_at", "-id")
    )
    ordered = sorted(rows, key=lambda e: e.status not in ACTIVE)
    return [entry_row(e, now=now) for e in ordered]


def offer_for(*, user: User | None, offer_id: int) -> WaitingOffer | None:
    """The offer if it was made to USER; None for anyone else (nothing is revealed)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        WaitingOffer.objects.filter(pk=offer_id, entry__profile__user=user)
        .select_related("entry", "place")
        .first()
    )


def entry_for(*, user: User | None, entry_id: int) -> WaitingEntry | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return WaitingEntry.objects.filter(pk=entry_id, profile__user=user).first()


def place_for_keeper(*, user: User | None, place_id: int) -> WaitingPlace | None:
    place = WaitingPlace.objects.filter(pk=place_id).select_related("waiting_list").first()
    if place is None or not may_keep(user, place.waiting_list):
        return None
    return place


def list_for_keeper(
    *, user: User | None, code: str, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """A list as its department's staff work it: the order (names masked), the places, the
    offers out and the recent outcomes. None for anyone who does not keep it."""
    now = now or timezone.now()
    wl = waiting_list_by_code(code)
    if wl is None or not may_keep(user, wl):
        return None
    entries = list(ordered_entries(wl).select_related("profile"))
    open_offers = {
        o.entry_id: o
        for o in WaitingOffer.objects.filter(
            entry__waiting_list=wl, status=OfferStatus.OPEN
        ).select_related("place", "entry__profile")
    }
    rows = []
    for position, entry in enumerate(entries, start=1):
        offer = open_offers.get(entry.pk)
        rows.append(
            {
                "id": entry.pk,
                "position": position,
                "name_masked": mask_name(entry.profile.name),
                "priority_class": entry.priority_class,
                "priority_label": _class_label(wl, entry.priority_class),
                "joined_at": entry.joined_at,
                "joined_text": when_text(entry.joined_at),
                "status": entry.status,
                "status_label": entry.get_status_display(),
                "declines": entry.declines,
                "offer": offer_row(offer, now=now) if offer else None,
            }
        )
    places = list(wl.places.order_by("facility", "name"))
    offer_by_place = {o.place_id: o for o in open_offers.values()}
    outcomes = (
        WaitingOffer.objects.filter(entry__waiting_list=wl)
        .exclude(status=OfferStatus.OPEN)
        .select_related("place", "entry__profile")
        .order_by("-responded_at", "-id")[:20]
    )
    counts = {s: 0 for s in PlaceStatus.values}
    for p in places:
        counts[p.status] += 1
    return {
        "list": wl,
        "code": wl.code,
        "name": wl.name,
        "department": wl.department.name,
        "offer_days": wl.offer_days,
        "classes": [
            {"code": c["code"], "label": c["label"], "rank": c["rank"]} for c in wl.priority_classes
        ],
        "entries": rows,
        "places": [
            {
                "id": p.pk,
                "facility": p.facility,
                "name": p.name,
                "district": p.get_district_display() if p.district else "",
                "status": p.status,
                "status_label": p.get_status_display(),
                "may_free": p.status in (PlaceStatus.OCCUPIED, PlaceStatus.FREE),
                "offered_to": (
                    mask_name(offer_by_place[p.pk].entry.profile.name)
                    if p.pk in offer_by_place
                    else ""
                ),
            }
            for p in places
        ],
        "place_counts": counts,
        "outcomes": [
            {
                "id": o.pk,
                "facility": o.place.facility,
                "place": o.place.name,
                "name_masked": mask_name(o.entry.profile.name),
                "status": o.status,
                "status_label": o.get_status_display(),
                "offered_at": o.offered_at,
                "responded_at": o.responded_at,
                "responded_text": when_text(o.responded_at),
            }
            for o in outcomes
        ],
    }
