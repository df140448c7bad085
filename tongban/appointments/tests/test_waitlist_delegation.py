"""轮候 and 亲友代办: a relative holding a live authorisation from the person, covering the
list's item, reads the person's entries (each read logged for the person) and answers
offers or withdraws for them, named as actor with the person as subject. Without one —
none, expired, revoked, not yet accepted, or for other items — WAITLIST_NOT_FOUND and
nothing changes. Also: the time a position last changed, read from the data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.appointments.models import (
    EntryStatus,
    OfferStatus,
    PlaceStatus,
    WaitingEntry,
    WaitingEvent,
    WaitingOffer,
)
from tongban.appointments.selectors import waitlist as selectors
from tongban.appointments.services import waitlist as services
from tongban.appointments.tests.factories_waitlist import (
    T0,
    bed,
    fresh,
    grant,
    join,
    minutes,
    person,
)
from tongban.common.models import AuditEvent
from tongban.delegation.models import Delegation
from tongban.delegation.selectors import today
from tongban.delegation.services import delegation_revoke

pytest_plugins = ["tongban.appointments.tests.conftest_waitlist"]
DAY = dt.timedelta(days=1)
PLACE = {"facility": "示例福利院（示例）", "place": "101室1床"}


def events(entry) -> list[tuple[str, int | None]]:
    return list(WaitingEvent.objects.filter(entry=entry).values_list("kind", "position"))


def waitlist_audit():
    return AuditEvent.objects.filter(action__startswith="waitlist.").exclude(
        action="waitlist.place_add"
    )


@pytest.fixture
def family(care, staff):
    """张桂英 on the list with a bed offered to her; 刘晓梅 authorised for the list's item."""
    mother = person(age=84, name="张桂英")
    son = person(age=50, name="刘晓梅")
    entry = join(care, mother, T0)
    delegation = grant(mother, son)
    place = bed(care)
    at = timezone.now()  # the offer is open now, so the pages show it
    offer = services.place_free(place=place, actor=staff.acceptor, now=at)
    return {
        "at": at,
        "care": care,
        "staff": staff,
        "mother": mother,
        "son": son,
        "entry": entry,
        "delegation": delegation,
        "place": place,
        "offer": offer,
    }


def on_behalf(f) -> dict:
    return {
        "acted_by": f["son"].user.pk,
        "on_behalf_of": f["mother"].pk,
        "delegation": f["delegation"].pk,
    }


def test_a_relative_accepts_for_the_person(family):
    f = family
    offer = services.offer_accept(offer_id=f["offer"].pk, actor=f["son"].user, now=f["at"] + DAY)
    entry = WaitingEntry.objects.get(pk=f["entry"].pk)
    assert (entry.status, entry.closed_at) == (EntryStatus.PLACED, f["at"] + DAY)
    assert WaitingOffer.objects.get(pk=offer.pk).status == OfferStatus.ACCEPTED
    assert fresh(f["place"]).status == PlaceStatus.OCCUPIED
    assert events(entry) == [("joined", 1), ("offered", 1), ("accepted", None)]
    event = WaitingEvent.objects.get(entry=entry, kind="accepted")
    assert event.actor_id == f["son"].user.pk
    assert event.data == {"offer": offer.pk, **PLACE, **on_behalf(f)}
    audit = waitlist_audit().exclude(action="waitlist.place_free").get()
    assert (
        audit.action,
        audit.actor_id,
        audit.object_type,
        audit.object_id,
        audit.subject_resident_id,
        audit.purpose,
    ) == (
        "waitlist.offer_accept",
        f["son"].user.pk,
        "waiting_entry",
        str(entry.pk),
        f["mother"].pk,
        "亲友代办：确认入住",
    )
    assert audit.data == {"list": "elderly_care_home", "offer": offer.pk, **PLACE, **on_behalf(f)}


def test_a_relative_declines_and_withdraws_for_the_person(family, care):
    f = family
    nxt = join(care, person(), T0 + minutes(5))
    services.offer_decline(
        offer_id=f["offer"].pk, actor=f["son"].user, reason="太远", now=f["at"] + DAY
    )
    entry = WaitingEntry.objects.get(pk=f["entry"].pk)
    assert (entry.status, entry.declines) == (EntryStatus.WAITING, 1)
    declined = WaitingEvent.objects.get(entry=entry, kind="declined")
    assert (declined.actor_id, declined.data) == (
        f["son"].user.pk,
        {"offer": f["offer"].pk, **PLACE, "note": "太远", **on_behalf(f)},
    )
    assert WaitingOffer.objects.get(status="open").entry_id == nxt.pk
    services.waitlist_withdraw(entry=entry, actor=f["son"].user, now=f["at"] + 2 * DAY)
    entry.refresh_from_db()
    assert (entry.status, entry.closed_at) == (EntryStatus.WITHDRAWN, f["at"] + 2 * DAY)
    withdrawn = WaitingEvent.objects.get(entry=entry, kind="withdrawn")
    assert (withdrawn.actor_id, withdrawn.position, withdrawn.data) == (
        f["son"].user.pk,
        None,
        on_behalf(f),
    )
    rows = list(
        waitlist_audit()
        .exclude(action="waitlist.place_free")
        .order_by("pk")
        .values_list("action", "actor_id", "subject_resident_id", "purpose")
    )
    assert rows == [
        ("waitlist.offer_decline", f["son"].user.pk, f["mother"].pk, "亲友代办：放弃入住通知"),
        ("waitlist.withdraw", f["son"].user.pk, f["mother"].pk, "亲友代办：撤回轮候登记"),
    ]


def test_the_person_answering_themself_is_audited_without_delegation(family):
    f = family
    services.offer_accept(offer_id=f["offer"].pk, actor=f["mother"].user, now=f["at"] + DAY)
    event = WaitingEvent.objects.get(entry=f["entry"], kind="accepted")
    assert (event.actor_id, event.data) == (
        f["mother"].user.pk,
        {"offer": f["offer"].pk, **PLACE},
    )
    audit = AuditEvent.objects.get(action="waitlist.offer_accept")
    assert (audit.actor_id, audit.subject_resident_id, audit.purpose) == (
        f["mother"].user.pk,
        f["mother"].pk,
        "确认入住",
    )


def _expire(f):
    Delegation.objects.filter(pk=f["delegation"].pk).update(valid_until=today() - DAY)


def _revoke(f):
    delegation_revoke(user=f["mother"].user, delegation_id=f["delegation"].pk)


def _other_scope(f):
    Delegation.objects.filter(pk=f["delegation"].pk).update(items=["SH-FGJ-0201"])


def _not_accepted(f):
    Delegation.objects.filter(pk=f["delegation"].pk).update(state="proposed")


def _stranger(f):
    return person(name="赵强").user


def _staff_keeper(f):
    return f["staff"].acceptor


@pytest.mark.parametrize(
    "case", ["stranger", "expired", "revoked", "other_scope", "not_accepted", "staff"]
)
def test_anyone_else_is_told_not_found_and_nothing_changes(family, case):
    f = family
    actor = f["son"].user
    if case == "stranger":
        actor = _stranger(f)
    elif case == "staff":
        actor = _staff_keeper(f)
    else:
        {
            "expired": _expire,
            "revoked": _revoke,
            "other_scope": _other_scope,
            "not_accepted": _not_accepted,
        }[case](f)
    audit_before = waitlist_audit().count()
    for attempt in (
        lambda: services.offer_accept(offer_id=f["offer"].pk, actor=actor, now=f["at"] + DAY),
        lambda: services.offer_decline(offer_id=f["offer"].pk, actor=actor, now=f["at"] + DAY),
        lambda: services.waitlist_withdraw(entry=f["entry"], actor=actor, now=f["at"] + DAY),
    ):
        with pytest.raises(services.WaitlistNotFound) as refused:
            attempt()
        assert refused.value.code == "WAITLIST_NOT_FOUND"
    entry = WaitingEntry.objects.get(pk=f["entry"].pk)
    assert (entry.status, entry.declines, entry.closed_at) == (EntryStatus.OFFERED, 0, None)
    assert WaitingOffer.objects.get(pk=f["offer"].pk).status == OfferStatus.OPEN
    assert fresh(f["place"]).status == PlaceStatus.OFFERED
    assert events(entry) == [("joined", 1), ("offered", 1)]
    assert waitlist_audit().count() == audit_before
    assert selectors.offer_for(user=actor, offer_id=f["offer"].pk) is None
    assert selectors.entry_for(user=actor, entry_id=entry.pk) is None
    assert selectors.acting_entries_for(user=actor) == []
    assert not AuditEvent.objects.filter(action="personal_data.read", actor=actor).exists()


def test_an_all_items_authorisation_or_one_for_a_bundle_of_the_item_covers_the_list(
    family, monkeypatch
):
    f = family
    wl = f["care"]
    d = f["delegation"]
    d.items = []
    assert selectors.delegation_covers_list(d, wl) is True
    d.items = ["SH-FGJ-0201"]
    assert selectors.delegation_covers_list(d, wl) is False

    class Bundle:
        code, items = "elderly_care", ["SH-MZJ-0101", "SH-MZJ-0304"]

    monkeypatch.setattr("tongban.catalog.selectors.bundle_list", lambda **_: [Bundle()])
    d.items = ["elderly_care"]
    assert selectors.delegation_covers_list(d, wl) is True


def test_the_page_lists_the_persons_entry_for_the_relative_and_logs_the_read(client, family):
    f = family
    client.force_login(f["son"].user)
    page = client.get("/me/waiting-lists/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "代 张桂英 办理" in html
    assert f'id="entry-{f["entry"].pk}"' in html
    assert f'id="accept-{f["offer"].pk}"' in html
    assert "代 张桂英 确认入住" in html
    assert "轮候到张桂英了：示例福利院（示例）101室1床" in html
    assert "您目前没有轮候登记" in html  # the relative has none of their own
    read = AuditEvent.objects.get(action="personal_data.read", actor=f["son"].user)
    assert (read.object_type, read.object_id, read.subject_resident_id, read.purpose) == (
        "waiting_entry",
        str(f["entry"].pk),
        f["mother"].pk,
        "亲友代办：查看被代办人的轮候情况",
    )
    assert read.data == {
        "use": "delegation_waitlist",
        "fields": ["轮候名单", "轮候位次", "优先类别", "轮候记录", "入住通知"],
        "list": "elderly_care_home",
        "delegation": f["delegation"].pk,
        "post": "代办人刘晓梅",
    }
    # The person reads the relative's read on 我的数据使用记录.
    from tongban.accounts.selectors import data_access_for

    rows = data_access_for(user=f["mother"].user).object_list
    assert [(r["who"], r["purpose"]) for r in rows] == [
        ("代办人刘晓梅", "亲友代办：查看被代办人的轮候情况")
    ]
    # The relative accepts on the page; the person's own page names who acted.
    done = client.post(f"/me/waiting-offers/{f['offer'].pk}/accept/")
    assert done.status_code == 302
    assert WaitingEntry.objects.get(pk=f["entry"].pk).status == EntryStatus.PLACED
    client.force_login(f["mother"].user)
    own = client.get("/me/waiting-lists/").content.decode()
    assert "确认入住（代办人 刘晓梅 代为办理）" in own
    assert "代 张桂英 办理" not in own


@pytest.mark.parametrize("case", ["stranger", "revoked", "other_scope"])
def test_the_page_and_api_refuse_others(client, family, case):
    f = family
    actor = f["son"].user
    if case == "stranger":
        actor = _stranger(f)
    else:
        {"revoked": _revoke, "other_scope": _other_scope}[case](f)
    client.force_login(actor)
    html = client.get("/me/waiting-lists/").content.decode()
    assert "张桂英" not in html
    assert client.post(f"/me/waiting-offers/{f['offer'].pk}/accept/").status_code == 404
    assert client.post(f"/me/waiting-offers/{f['offer'].pk}/decline/").status_code == 404
    assert client.post(f"/me/waiting-lists/{f['entry'].pk}/withdraw/").status_code == 404
    api = client.post(f"/api/v1/waiting-offers/{f['offer'].pk}/accept")
    assert (api.status_code, api.json()["code"]) == (404, "WAITLIST_NOT_FOUND")
    assert client.get("/api/v1/me/waiting-lists").json() == []
    assert WaitingOffer.objects.get(pk=f["offer"].pk).status == OfferStatus.OPEN
    assert WaitingEntry.objects.get(pk=f["entry"].pk).status == EntryStatus.OFFERED
    assert not waitlist_audit().exclude(action="waitlist.place_free").exists()
    assert not AuditEvent.objects.filter(action="personal_data.read", actor=actor).exists()


def test_the_api_lists_and_answers_for_the_person(client, family):
    f = family
    client.force_login(f["son"].user)
    rows = client.get("/api/v1/me/waiting-lists").json()
    assert [(r["id"], r["acting_for"], r["position"], r["offer"]["id"]) for r in rows] == [
        (f["entry"].pk, "张桂英", 1, f["offer"].pk)
    ]
    done = client.post(
        f"/api/v1/waiting-offers/{f['offer'].pk}/decline",
        {"reason": "再等等"},
        content_type="application/json",
    )
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["declines"], body["acting_for"]) == ("waiting", 1, "张桂英")
    assert body["events"][-1]["acted_by_name"] == "刘晓梅"


def test_the_position_shows_when_it_last_changed(care):
    first, second, me = person(), person(), person()
    join(care, first, T0)
    e2 = join(care, second, T0 + minutes(1))
    mine = join(care, me, T0 + minutes(2))
    assert selectors.position_changed_at(mine) is None  # unchanged since joining
    services.waitlist_withdraw(entry=e2, actor=second.user, now=T0 + DAY)
    assert selectors.entry_row(mine)["position"] == 2
    assert selectors.position_changed_at(mine) == T0 + DAY
    # Someone of a higher class joins ahead: that moment.
    join(care, person(dibao=True), T0 + 2 * DAY)
    row = selectors.entry_row(mine)
    assert (row["position"], row["position_changed_at"]) == (3, T0 + 2 * DAY)
    assert row["position_changed_text"] == "2026年3月4日 10:00"
    # No event was written for the entries that moved.
    assert events(mine) == [("joined", 3)]
    # Someone behind leaving changes nothing.
    behind = join(care, person(), T0 + 3 * DAY)
    services.waitlist_withdraw(entry=behind, actor=behind.profile.user, now=T0 + 4 * DAY)
    assert selectors.position_changed_at(mine) == T0 + 2 * DAY
    assert timezone.is_aware(selectors.position_changed_at(mine))
