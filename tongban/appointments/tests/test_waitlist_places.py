"""轮候 places kept by the list's department staff: 新增床位/房源 (a free one is offered at
once), 停用 (free or occupied; never with an open offer; a closed place is never offered)
and 恢复启用. Only staff who keep the list; refusals write nothing (no place, no audit)."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.appointments.models import OfferStatus, PlaceStatus, WaitingOffer, WaitingPlace
from tongban.appointments.services import waitlist as services
from tongban.appointments.tests.factories_waitlist import (
    CARE,
    T0,
    bed,
    fresh,
    join,
    minutes,
    person,
)
from tongban.common.errors import Conflict, InvalidInput
from tongban.common.models import AuditEvent

pytest_plugins = ["tongban.appointments.tests.conftest_waitlist"]
FACILITY = "示例养老院（示例）"


def place_audit():
    return AuditEvent.objects.filter(action__startswith="waitlist.place_")


def add(care, actor, **kw):
    values = {"facility": FACILITY, "name": "301室1床", "district": "310104", "occupied": True}
    return services.place_add(waiting_list=care, actor=actor, now=T0, **{**values, **kw})


# ---------------------------------------------------------------- services


def test_a_keeper_adds_an_occupied_place(care, staff):
    place = add(care, staff.acceptor)
    assert (place.facility, place.name, place.district, place.status) == (
        FACILITY,
        "301室1床",
        "310104",
        PlaceStatus.OCCUPIED,
    )
    audit = place_audit().get()
    assert (audit.action, audit.actor_id, audit.object_id, audit.data) == (
        "waitlist.place_add",
        staff.acceptor.pk,
        str(place.pk),
        {"list": CARE, "status": "occupied"},
    )
    assert not WaitingOffer.objects.exists()


def test_a_place_added_free_is_offered_at_once(care, staff):
    entry = join(care, person(), T0 - minutes(5))
    place = add(care, staff.reviewer, occupied=False, district="")
    offer = WaitingOffer.objects.get()
    assert (offer.entry_id, offer.place_id, offer.status) == (entry.pk, place.pk, "open")
    assert fresh(place).status == PlaceStatus.OFFERED


@pytest.mark.parametrize("who", ["other_department", "issuer", "resident"])
def test_others_cannot_add_a_place_and_nothing_is_written(care, staff, who):
    actor = {"other_department": staff.other, "issuer": staff.issuer}.get(who) or person().user
    with pytest.raises(services.WaitlistNotFound) as refused:
        add(care, actor, occupied=False)
    assert refused.value.code == "WAITLIST_NOT_FOUND"
    assert not WaitingPlace.objects.exists()
    assert not place_audit().exists()


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"facility": " "}, "WAITLIST_PLACE_NAME"),
        ({"name": ""}, "WAITLIST_PLACE_NAME"),
        ({"name": "床" * 61}, "WAITLIST_PLACE_NAME"),
        ({"district": "999999"}, "WAITLIST_PLACE_DISTRICT"),
    ],
)
def test_bad_place_values_are_refused(care, staff, values, code):
    with pytest.raises(InvalidInput) as refused:
        add(care, staff.acceptor, **values)
    assert refused.value.code == code
    assert not WaitingPlace.objects.exists()
    assert not place_audit().exists()


def test_a_place_is_added_once(care, staff):
    add(care, staff.acceptor)
    with pytest.raises(Conflict) as twice:
        add(care, staff.acceptor, name=" 301室1床 ")
    assert twice.value.code == "WAITLIST_PLACE_EXISTS"
    assert WaitingPlace.objects.count() == 1
    assert place_audit().count() == 1


def test_the_system_path_still_adds_without_a_keeper(care):
    place = bed(care)  # actor None, actor_label "test": the demo city's path
    assert place.status == PlaceStatus.OCCUPIED
    assert place_audit().get().actor_label == "test"


@pytest.mark.parametrize("status", [PlaceStatus.OCCUPIED, PlaceStatus.FREE])
def test_a_free_or_occupied_place_is_closed_and_never_offered(care, staff, status):
    place = add(care, staff.acceptor, occupied=status == PlaceStatus.OCCUPIED)
    assert fresh(place).status == status  # nobody waiting: a free place stays free
    closed = services.place_close(place=place, actor=staff.reviewer, reason=" 装修 ")
    assert fresh(closed).status == PlaceStatus.CLOSED
    audit = place_audit().get(action="waitlist.place_close")
    assert (audit.actor_id, audit.object_id, audit.data) == (
        staff.reviewer.pk,
        str(place.pk),
        {"list": CARE, "from": status, "reason": "装修"},
    )
    join(care, person(), T0 + minutes(1))  # someone joins: the closed place is not offered
    assert not WaitingOffer.objects.exists()
    with pytest.raises(Conflict) as freed:
        services.place_free(place=place, actor=staff.acceptor)
    assert freed.value.code == "WAITLIST_PLACE_CLOSED"
    with pytest.raises(Conflict) as again:
        services.place_close(place=place, actor=staff.acceptor, reason="再次")
    assert again.value.code == "WAITLIST_PLACE_CLOSED"
    with pytest.raises(Conflict):
        services.offer_make(place=place, actor=staff.acceptor)
    assert fresh(place).status == PlaceStatus.CLOSED
    assert not WaitingOffer.objects.exists()


def test_a_place_with_an_open_offer_is_not_closed(care, staff):
    join(care, person(), T0)
    place = add(care, staff.acceptor, occupied=False)
    before = place_audit().count()
    with pytest.raises(Conflict) as refused:
        services.place_close(place=place, actor=staff.acceptor, reason="装修")
    assert refused.value.code == "WAITLIST_PLACE_OFFERED"
    assert fresh(place).status == PlaceStatus.OFFERED
    assert WaitingOffer.objects.get().status == OfferStatus.OPEN
    assert place_audit().count() == before


def test_closing_needs_a_reason_and_a_keeper(care, staff):
    place = add(care, staff.acceptor)
    with pytest.raises(InvalidInput) as blank:
        services.place_close(place=place, actor=staff.acceptor, reason="  ")
    assert blank.value.code == "WAITLIST_CLOSE_REASON"
    for actor in (staff.other, staff.issuer, person().user):
        with pytest.raises(services.WaitlistNotFound):
            services.place_close(place=place, actor=actor, reason="装修")
        with pytest.raises(services.WaitlistNotFound):
            services.place_reopen(place=place, actor=actor)
    assert fresh(place).status == PlaceStatus.OCCUPIED
    assert list(place_audit().values_list("action", flat=True)) == ["waitlist.place_add"]


def test_a_reopened_place_is_free_and_offered_to_the_first(care, staff):
    first = join(care, person(), T0)
    join(care, person(), T0 + minutes(1))
    place = add(care, staff.acceptor)
    with pytest.raises(Conflict) as open_place:
        services.place_reopen(place=place, actor=staff.acceptor)
    assert open_place.value.code == "WAITLIST_PLACE_NOT_CLOSED"
    services.place_close(place=place, actor=staff.acceptor, reason="装修")
    with pytest.raises(services.WaitlistNotFound):
        services.place_reopen(place=place, actor=staff.other)
    assert fresh(place).status == PlaceStatus.CLOSED
    offer = services.place_reopen(place=place, actor=staff.reviewer, now=T0 + minutes(9))
    assert (offer.entry_id, offer.place_id, offer.offered_at) == (
        first.pk,
        place.pk,
        T0 + minutes(9),
    )
    assert fresh(place).status == PlaceStatus.OFFERED
    audit = place_audit().get(action="waitlist.place_reopen")
    assert (audit.actor_id, audit.data) == (staff.reviewer.pk, {"list": CARE, "from": "closed"})


# ---------------------------------------------------------------- pages


def test_the_staff_page_has_the_add_form_and_adds_a_place(client, care, staff):
    client.force_login(staff.acceptor)
    html = client.get(f"/staff/waiting-lists/{CARE}/").content.decode()
    for label in (
        '<label for="place-facility">机构</label>',
        '<label for="place-name">床位（房源）名称</label>',
        '<label for="place-district">所在区（选填）</label>',
        "<legend>状态</legend>",
    ):
        assert label in html
    assert 'action="/staff/waiting-lists/elderly_care_home/places/"' in html
    assert "csrfmiddlewaretoken" in html
    done = client.post(
        f"/staff/waiting-lists/{CARE}/places/",
        {"facility": FACILITY, "name": "301室1床", "district": "310104", "status": "free"},
        follow=True,
    )
    assert done.redirect_chain == [(f"/staff/waiting-lists/{CARE}/", 302)]
    place = WaitingPlace.objects.get()
    assert (place.facility, place.name, place.district, place.status) == (
        FACILITY,
        "301室1床",
        "310104",
        PlaceStatus.FREE,
    )
    assert f"已新增{FACILITY}301室1床（空闲）。" in done.content.decode()


def test_the_add_form_shows_its_error_with_a_4xx(client, care, staff):
    add(care, staff.acceptor)
    client.force_login(staff.acceptor)
    twice = client.post(
        f"/staff/waiting-lists/{CARE}/places/",
        {"facility": FACILITY, "name": "301室1床", "status": "occupied"},
    )
    assert twice.status_code == 409
    html = twice.content.decode()
    assert '<p class="error" role="alert" id="place-add-error">该床位（房源）已登记</p>' in html
    assert 'href="#place-name"' in html
    assert f'value="{FACILITY}"' in html  # what was typed is kept
    blank = client.post(f"/staff/waiting-lists/{CARE}/places/", {"status": "occupied"})
    assert blank.status_code == 422
    assert "请填写机构和床位（房源）名称" in blank.content.decode()
    no_status = client.post(
        f"/staff/waiting-lists/{CARE}/places/", {"facility": FACILITY, "name": "302室1床"}
    )
    assert no_status.status_code == 422
    assert "请选择床位状态：已入住或空闲" in no_status.content.decode()
    assert WaitingPlace.objects.count() == 1
    assert place_audit().count() == 1


@pytest.mark.parametrize("who", ["anonymous", "resident", "other_department", "issuer"])
def test_the_place_pages_refuse_others_and_change_nothing(client, care, staff, who):
    place = add(care, staff.acceptor)
    users = {"resident": person().user, "other_department": staff.other, "issuer": staff.issuer}
    if who != "anonymous":
        client.force_login(users[who])
    added = client.post(
        f"/staff/waiting-lists/{CARE}/places/",
        {"facility": FACILITY, "name": "302室1床", "status": "free"},
    )
    closed = client.post(f"/staff/waiting-places/{place.pk}/close/", {"reason": "装修"})
    reopened = client.post(f"/staff/waiting-places/{place.pk}/reopen/")
    expected = 302 if who == "anonymous" else 404
    assert (added.status_code, closed.status_code, reopened.status_code) == (expected,) * 3
    assert list(WaitingPlace.objects.values_list("name", "status")) == [("301室1床", "occupied")]
    assert place_audit().count() == 1


def test_close_and_reopen_on_the_page(client, care, staff):
    place = add(care, staff.acceptor)
    client.force_login(staff.reviewer)
    html = client.get(f"/staff/waiting-lists/{CARE}/").content.decode()
    assert f'<label for="close-reason-{place.pk}">停用原因</label>' in html
    blank = client.post(f"/staff/waiting-places/{place.pk}/close/", {"reason": ""})
    assert blank.status_code == 422
    assert (
        f'<p class="error" id="close-error-{place.pk}">请填写停用原因</p>' in blank.content.decode()
    )
    assert fresh(place).status == PlaceStatus.OCCUPIED
    done = client.post(f"/staff/waiting-places/{place.pk}/close/", {"reason": "装修"}, follow=True)
    assert done.redirect_chain == [(f"/staff/waiting-lists/{CARE}/", 302)]
    assert fresh(place).status == PlaceStatus.CLOSED
    page = done.content.decode()
    assert f"{FACILITY}301室1床已停用，不再发出入住通知。" in page
    assert f'id="reopen-{place.pk}"' in page and f'id="free-{place.pk}"' not in page
    reopened = client.post(f"/staff/waiting-places/{place.pk}/reopen/", follow=True)
    assert "已恢复启用；目前无人轮候，床位保持空闲。" in reopened.content.decode()
    assert fresh(place).status == PlaceStatus.FREE


def test_closing_a_place_with_an_open_offer_shows_the_conflict(client, care, staff):
    join(care, person(), T0)
    place = add(care, staff.acceptor, occupied=False)
    client.force_login(staff.acceptor)
    refused = client.post(f"/staff/waiting-places/{place.pk}/close/", {"reason": "装修"})
    assert refused.status_code == 409
    assert "须等轮候人答复或逾期后才能停用" in refused.content.decode()
    assert fresh(place).status == PlaceStatus.OFFERED


def test_a_post_without_the_csrf_token_is_refused(care, staff):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff.acceptor)
    refused = strict.post(
        f"/staff/waiting-lists/{CARE}/places/",
        {"facility": FACILITY, "name": "301室1床", "status": "occupied"},
    )
    assert refused.status_code == 403
    assert not WaitingPlace.objects.exists()
