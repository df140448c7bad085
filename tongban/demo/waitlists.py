"""示例轮候: beds at a few 示例 养老机构 (all taken), older synthetic residents on the
养老机构入住轮候 list so positions are real, a few 公租房 flats with families waiting, and
张桂英 (resident2, 80) on the care-home list with a history: she joined two months ago, moved
up as beds freed and others moved in, let one offer go (too far from her daughter), and holds
an open offer now.

The moves are made through the services at past moments, so every event, position and notice
is what the service would have written. Synthetic people have no login: each entry is
followed by an inactive 示例 account that cannot log in (WaitingEntry.user is required).
Idempotent: a list that already has places is left as it is.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import ResidentProfile, StaffAssignment, User
from tongban.appointments.models import EntryStatus, PlaceStatus, WaitingEntry, WaitingList
from tongban.appointments.selectors.waitlist import KEEPER_ROLES, ordered_entries
from tongban.appointments.services.waitlist import (
    offer_accept,
    offer_decline,
    place_add,
    place_free,
    priority_of,
    waitlist_join,
)

ACTOR = "system:demo"
CARE_HOME_LIST = "elderly_care_home"
HOUSING_LIST = "public_rental_housing"
# (facility, district, beds)
CARE_HOMES = (
    ("示例市静安区第一社会福利院（示例）", "310106", 8),
    ("示例市徐汇区枫林长者照护之家（示例）", "310104", 6),
    ("示例市浦东新区康乐养老院（示例）", "310115", 6),
)
FLATS = (("示例市徐汇区华泾公租房小区（示例）", "310104", 6),)
ELDER_USERNAME = "resident2"


def ensure_demo_waitlists(*, now: dt.datetime | None = None) -> int:
    """Returns how many entries were added (0 on a second run)."""
    now = now or timezone.now()
    added = 0
    care = WaitingList.objects.filter(code=CARE_HOME_LIST, is_active=True).first()
    if care is not None and not care.places.exists():
        added += _care_homes(care, now)
    housing = WaitingList.objects.filter(code=HOUSING_LIST, is_active=True).first()
    if housing is not None and not housing.places.exists():
        added += _housing(housing, now)
    return added


def _keeper(wl: WaitingList) -> User | None:
    post = (
        StaffAssignment.objects.filter(department_id=wl.department_id, role__in=KEEPER_ROLES)
        .select_related("user")
        .order_by("role", "id")
        .first()
    )
    return post.user if post is not None else None


def _older_people(count: int, *, born_by: dt.date) -> list[ResidentProfile]:
    return list(
        ResidentProfile.objects.filter(
            is_synthetic=True, user__isnull=True, hukou_is_local=True, birth_date__lte=born_by
        ).order_by("id")[:count]
    )


def _places(wl: WaitingList, homes, now: dt.datetime) -> list:
    places = []
    for facility, district, beds in homes:
        for n in range(1, beds + 1):
            places.append(
                place_add(
                    waiting_list=wl,
                    facility=facility,
                    name=f"{200 + (n + 1) // 2}室{2 - n % 2}床"
                    if wl.code == CARE_HOME_LIST
                    else f"{(n + 1) // 2}号楼{100 + n}室",
                    district=district,
                    occupied=True,
                    actor=None,
                    actor_label=ACTOR,
                    now=now,
                )
            )
    return places


def _join(wl, profile, user, at) -> WaitingEntry:
    return waitlist_join(
        waiting_list=wl, profile=profile, user=user, actor=None, actor_label=ACTOR, now=at
    )


@transaction.atomic
def _care_homes(wl: WaitingList, now: dt.datetime) -> int:
    day = dt.timedelta(days=1)
    places = _places(wl, CARE_HOMES, now - 240 * day)
    keeper = _keeper(wl)
    today = timezone.localdate(now)
    people = _older_people(32, born_by=today - dt.timedelta(days=round(70 * 365.25)))
    elder_user = User.objects.filter(username=ELDER_USERNAME).first()
    elder = getattr(elder_user, "resident_profile", None) if elder_user else None
    added = 0
    # Twenty people joined over the half year before her.
    early, late = people[:20], people[20:]
    for i, profile in enumerate(early):
        _join(wl, profile, None, now - (200 - i * 6) * day)
        added += 1
    if elder is None or keeper is None:
        return added
    mine = _join(wl, elder, elder_user, now - 60 * day)
    added += 1
    # Beds free every few days; the first waiting takes each, until she is first.
    moment = now - 50 * day
    free = iter(places)
    while True:
        first = ordered_entries(wl).filter(status=EntryStatus.WAITING).first()
        if first is None or first.pk == mine.pk or moment > now - 14 * day:
            break
        offer = place_free(place=next(free), actor=keeper, now=moment)
        offer_accept(offer_id=offer.pk, actor=None, actor_label=ACTOR, now=moment + day)
        moment += 3 * day
    # Her first offer: far from her daughter in 静安; she lets it go, the next one takes it.
    offer = place_free(place=_far_bed(places), actor=keeper, now=now - 12 * day)
    if offer is not None and offer.entry_id == mine.pk:
        offer_decline(
            offer_id=offer.pk,
            actor=elder_user,
            reason="离女儿家太远，等静安的床位",
            now=now - 11 * day,
        )
        following = _open_offer_for_place(offer.place_id)
        if following is not None:
            offer_accept(offer_id=following.pk, actor=None, actor_label=ACTOR, now=now - 10 * day)
    # Newer applicants in no higher class than hers, behind her in time.
    for i, profile in enumerate(late):
        if priority_of(waiting_list=wl, profile=profile, now=now).rank < mine.priority_rank:
            continue
        _join(wl, profile, None, now - (9 - i % 7) * day)
        added += 1
    # Yesterday a bed in 静安 freed: the offer is open until the day after tomorrow.
    near = [p for p in places if p.facility.startswith("示例市静安区")]
    near = [p for p in near if _status(p) == PlaceStatus.OCCUPIED]
    if near:
        place_free(place=near[-1], actor=keeper, now=now - day)
    return added


def _status(place) -> str:
    place.refresh_from_db(fields=["status"])
    return place.status


def _far_bed(places):
    far = [
        p
        for p in places
        if p.facility.startswith("示例市浦东新区") and _status(p) == PlaceStatus.OCCUPIED
    ]
    return far[0] if far else places[-1]


def _open_offer_for_place(place_id: int):
    from tongban.appointments.models import OfferStatus, WaitingOffer

    return (
        WaitingOffer.objects.filter(place_id=place_id, status=OfferStatus.OPEN)
        .select_related("entry__user")
        .first()
    )


@transaction.atomic
def _housing(wl: WaitingList, now: dt.datetime) -> int:
    day = dt.timedelta(days=1)
    _places(wl, FLATS, now - 300 * day)
    today = timezone.localdate(now)
    people = list(
        ResidentProfile.objects.filter(
            is_synthetic=True,
            user__isnull=True,
            hukou_is_local=True,
            birth_date__gt=today - dt.timedelta(days=round(60 * 365.25)),
            birth_date__lte=today - dt.timedelta(days=round(25 * 365.25)),
        ).order_by("-id")[:10]
    )
    for i, profile in enumerate(people):
        _join(wl, profile, None, now - (150 - i * 12) * day)
    return len(people)
