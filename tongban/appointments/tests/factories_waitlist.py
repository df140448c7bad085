"""Builders for 轮候 tests: people with the facts that decide their class, joins and beds at
fixed moments. The fixtures are in conftest_waitlist.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.appointments.models import WaitingList, WaitingPlace
from tongban.appointments.services.waitlist import place_add, waitlist_join

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
ITEMS = ("SH-MZJ-0304", "SH-FGJ-0201")
CARE = "elderly_care_home"
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 2026-03-02 10:00 in Shanghai


def person(*, age: int = 72, dibao: bool = False, low_income: bool = False, name: str = ""):
    """An older resident with a login; AGE on 2026-03-02."""
    birth = dt.date(2026 - age, 1, 15)
    extra = {"name": name} if name else {}
    return ResidentProfileFactory(
        birth_date=birth, is_minimum_living_allowance=dibao, is_low_income=low_income, **extra
    )


def join(wl: WaitingList, profile, at: dt.datetime):
    return waitlist_join(
        waiting_list=wl, profile=profile, user=profile.user, actor=None, actor_label="test", now=at
    )


def bed(wl: WaitingList, name: str = "101室1床", *, facility: str = "示例福利院（示例）"):
    return place_add(
        waiting_list=wl,
        facility=facility,
        name=name,
        district="310106",
        occupied=True,
        actor=None,
        actor_label="test",
        now=T0,
    )


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def fresh(place: WaitingPlace) -> WaitingPlace:
    place.refresh_from_db()
    return place


def now() -> dt.datetime:
    return timezone.now()


def grant(principal, relative, *, items=("SH-MZJ-0304",), accept: bool = True):
    """亲友代办: PRINCIPAL authorises RELATIVE for ITEMS (empty: all), for a year from today,
    accepted by RELATIVE unless ACCEPT is False."""
    from tongban.delegation.selectors import today
    from tongban.delegation.services import delegation_accept, delegation_propose

    d = delegation_propose(
        principal_user=principal.user,
        agent_id_number=relative.id_number,
        agent_name=relative.name,
        items=list(items),
        valid_until=today() + dt.timedelta(days=365),
    )
    if accept:
        d = delegation_accept(user=relative.user, delegation_id=d.pk)
    return d
