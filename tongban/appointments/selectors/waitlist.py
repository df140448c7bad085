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
from tongban.common.services import audit_record

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
# 亲友代办: what the relative reads of the person's entry, as the person's 我的数据使用记录
# names it (labels, not element codes: an entry holds no data element).
ACTING_READ_PURPOSE = "亲友代办：查看被代办人的轮候情况"
ACTING_READ_FIELDS = ["轮候名单", "轮候位次", "优先类别", "轮候记录", "入住通知"]


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


def _is_person(user: User | None) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.kind == User.Kind.PERSON
    )


def delegation_covers_list(delegation, waiting_list: WaitingList) -> bool:
    """Whether a 亲友代办 authorisation's scope takes in the list: all items, the list's item,
    or a 一件事 that bundles that item (a relative authorised for 养老服务一件事 applied for
    the person's place on the list through it)."""
    from tongban.catalog.selectors import bundle_list

    if not delegation.items:
        return True
    code = waiting_list.item_code
    if not code:
        return False
    if delegation.covers(code):
        return True
    return any(delegation.covers(b.code) for b in bundle_list() if code in b.items)


def acting_delegation(
    *, user: User | None, entry: WaitingEntry, on: dt.date | None = None, lock: bool = False
):
    """The live 亲友代办 authorisation under which USER acts for ENTRY's person on its list:
    accepted by USER, neither revoked nor past its end date, its scope covering the list.
    None for the person themself and for anyone else. LOCK takes the row for update, so a
    revocation cannot slip between the check and the write it allows."""
    from tongban.delegation.models import Delegation, DelegationState
    from tongban.delegation.selectors import today

    if not _is_person(user) or entry.profile.user_id == user.pk:
        return None
    rows = Delegation.objects.filter(
        state=DelegationState.ACTIVE,
        valid_until__gte=on or today(),
        principal_id=entry.profile_id,
        agent_user=user,
    )
    if lock:
        rows = rows.select_for_update(of=("self",))
    for delegation in rows.order_by("pk"):
        if delegation_covers_list(delegation, entry.waiting_list):
            return delegation
    return None


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
        # 亲友代办: the person reads who acted for them.
        "acted_by_name": _acted_by_name(event),
    }


def _acted_by_name(event: WaitingEvent) -> str:
    from tongban.delegation.selectors import acting_name

    return acting_name(event.actor_id) if event.data.get("acted_by") else ""


def _class_rank(waiting_list: WaitingList, code: str) -> int | None:
    for c in waiting_list.priority_classes or []:
        if c.get("code") == code:
            return c.get("rank")
    return None


def position_changed_at(entry: WaitingEntry) -> dt.datetime | None:
    """When the entry's position last changed since it joined, read from the data rather
    than from events written for every entry behind a move: someone ahead left the list
    (placed, withdrawn, removed), someone of a higher class joined ahead, the entry itself
    was re-ranked, or another's re-ranking took them past it. None: unchanged since joining
    (or the entry left the list). Others' re-rankings are compared with the entry's class
    now, so one that crossed it before its own re-ranking may be missed."""
    if entry.status not in ACTIVE:
        return None
    rank, joined = entry.priority_rank, entry.joined_at
    mine = (rank, joined, entry.pk)
    ahead = Q(priority_rank__lt=rank) | Q(priority_rank=rank, joined_at__lt=joined)
    ahead |= Q(priority_rank=rank, joined_at=joined, id__lt=entry.pk)
    others = WaitingEntry.objects.filter(waiting_list_id=entry.waiting_list_id).exclude(pk=entry.pk)
    moments = [
        *others.filter(ahead)
        .exclude(status__in=ACTIVE)
        .filter(closed_at__gt=joined)
        .values_list("closed_at", flat=True),
        *others.filter(ahead, joined_at__gt=joined).values_list("joined_at", flat=True),
        *entry.events.filter(kind="reranked").values_list("at", flat=True),
    ]
    wl = entry.waiting_list
    reranks = WaitingEvent.objects.filter(
        entry__waiting_list_id=entry.waiting_list_id, kind="reranked", at__gt=joined
    ).exclude(entry_id=entry.pk)
    for event in reranks.select_related("entry"):
        before = _class_rank(wl, event.data.get("from_class", ""))
        after = _class_rank(wl, event.data.get("class", ""))
        if before is None or after is None:
            continue
        other = event.entry
        was_ahead = (before, other.joined_at, other.pk) < mine
        now_ahead = (after, other.joined_at, other.pk) < mine
        if was_ahead != now_ahead:
            moments.append(event.at)
    return max(moments) if moments else None


def entry_row(entry: WaitingEntry, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """One entry as its person sees it: where they stand, why, how it moved, any offer."""
    now = now or timezone.now()
    wl = entry.waiting_list
    events = list(entry.events.order_by("at", "id"))
    offer = open_offer_of(entry)
    joined_position = next((e.position for e in events if e.kind == "joined"), None)
    moved_at = position_changed_at(entry)
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
        "position_changed_at": moved_at,
        "position_changed_text": when_text(moved_at),
        "joined_at": entry.joined_at,
        "joined_text": when_text(entry.joined_at),
        "declines": entry.declines,
        "receipt_no": entry.case.receipt_no if entry.case_id else "",
        "offer": offer_row(offer, now=now) if offer else None,
        "events": [_event_row(e) for e in events],
        "acting_for": "",
    }


def _entries_of(rows) -> list[WaitingEntry]:
    rows = rows.select_related("waiting_list__department", "case", "profile").order_by(
        "-joined_at", "-id"
    )
    return sorted(rows, key=lambda e: e.status not in ACTIVE)


def entries_for(*, user: User | None, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The person's own entries, those still on a list first, newest first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [
        entry_row(e, now=now) for e in _entries_of(WaitingEntry.objects.filter(profile__user=user))
    ]


def acting_entries_for(
    *, user: User | None, now: dt.datetime | None = None, ip_address: str | None = None
) -> list[dict[str, Any]]:
    """代 X 办理: for each person who authorised USER (亲友代办, live), their entries on the
    lists the authorisation covers, as the person sees them. Each entry read is logged on
    the person's 我的数据使用记录 with its purpose and the relative's name."""
    from tongban.delegation.models import Delegation, DelegationState
    from tongban.delegation.selectors import acting_name, today

    if not _is_person(user):
        return []
    delegations = Delegation.objects.filter(
        state=DelegationState.ACTIVE, valid_until__gte=today(), agent_user=user
    ).select_related("principal")
    groups: list[dict[str, Any]] = []
    post = ""
    for delegation in delegations.order_by("pk"):
        principal = delegation.principal
        entries = [
            e
            for e in _entries_of(WaitingEntry.objects.filter(profile=principal))
            if delegation_covers_list(delegation, e.waiting_list)
        ]
        if not entries:
            continue
        post = post or "代办人" + acting_name(user.pk)
        rows = []
        for entry in entries:
            audit_record(
                actor=user,
                action="personal_data.read",
                object_type="waiting_entry",
                object_id=entry.pk,
                subject_resident_id=principal.pk,
                purpose=ACTING_READ_PURPOSE,
                ip_address=ip_address,
                data={
                    "use": "delegation_waitlist",
                    "fields": ACTING_READ_FIELDS,
                    "list": entry.waiting_list.code,
                    "delegation": delegation.pk,
                    "post": post,
                },
            )
            rows.append({**entry_row(entry, now=now), "acting_for": principal.name})
        groups.append(
            {"principal_name": principal.name, "delegation_id": delegation.pk, "entries": rows}
        )
    return groups


def offer_for(*, user: User | None, offer_id: int) -> WaitingOffer | None:
    """The offer if it was made to USER, or to a person USER acts for (亲友代办, live and
    covering the list); None for anyone else (nothing is revealed)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    offer = (
        WaitingOffer.objects.filter(pk=offer_id)
        .select_related("entry__profile", "entry__waiting_list", "place")
        .first()
    )
    if offer is None:
        return None
    if offer.entry.profile.user_id == user.pk or acting_delegation(user=user, entry=offer.entry):
        return offer
    return None


def entry_for(*, user: User | None, entry_id: int) -> WaitingEntry | None:
    """The entry if it is USER's, or of a person USER acts for; None for anyone else."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    entry = (
        WaitingEntry.objects.filter(pk=entry_id)
        .select_related("profile", "waiting_list__department", "case")
        .first()
    )
    if entry is None:
        return None
    if entry.profile.user_id == user.pk or acting_delegation(user=user, entry=entry):
        return entry
    return None


def entry_row_for(*, user: User, entry: WaitingEntry) -> dict[str, Any]:
    """An entry entry_for found, as its reader sees it (a relative: labelled 代 X 办理)."""
    row = entry_row(entry)
    if entry.profile.user_id != user.pk:
        row["acting_for"] = entry.profile.name
    return row


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
                # 停用 leaves out a place someone is answering an offer for.
                "may_close": p.status in (PlaceStatus.OCCUPIED, PlaceStatus.FREE),
                "may_reopen": p.status == PlaceStatus.CLOSED,
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
