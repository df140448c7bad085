"""轮候 pages and API: 我的轮候 with its offer, the staff list with 床位空出, and the permission
matrix (anonymous, other resident, staff of another department, a post that does not keep
the list): refusals change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.appointments.models import EntryStatus, OfferStatus, PlaceStatus, WaitingOffer
from tongban.appointments.services import waitlist as services
from tongban.appointments.tests.factories_waitlist import (
    CARE,
    bed,
    fresh,
    join,
    minutes,
    person,
)
from tongban.cases.models import Application, Task
from tongban.cases.receipt import receipt_new
from tongban.catalog.models import Department

pytest_plugins = ["tongban.appointments.tests.conftest_waitlist"]


def approved_case(profile, item: str = "SH-MZJ-0304") -> Application:
    now = timezone.now()
    department = Department.objects.get(code="SH-MZJ")
    case = Application.objects.create(
        receipt_no=receipt_new(on=now.date()),
        kind="item",
        code=item,
        version=1,
        name="养老机构入住轮候登记",
        applicant=profile.user,
        applicant_profile=profile,
        lead_department=department,
        status="archived",
        outcome="approved",
        plan={"items": [], "materials": []},
        idempotency_key=f"wl-{now.timestamp()}-{profile.pk}",
        request_fingerprint="x",
        submitted_at=now - dt.timedelta(days=3),
        concluded_at=now,
    )
    Task.objects.create(
        case=case,
        item_code=item,
        item_version=1,
        item_name="养老机构入住轮候登记",
        department=department,
        status="approved",
    )
    return case


@pytest.fixture
def setup(care, staff):
    now = timezone.now()
    ahead = person(dibao=True, name="赵示例")
    me = person(age=82, name="钱示例")
    join(care, ahead, now - dt.timedelta(days=10))
    mine = join(care, me, now - dt.timedelta(days=5))
    place = bed(care)
    return {"care": care, "staff": staff, "ahead": ahead, "me": me, "mine": mine, "place": place}


def test_my_page_shows_position_class_and_history(client, setup):
    client.force_login(setup["me"].user)
    page = client.get("/me/waiting-lists/").content.decode()
    assert "养老机构入住轮候（示例）" in page
    assert "第 2 位" in page
    assert "中度失能或高龄" in page
    assert "登记轮候，第 2 位" in page
    assert "确认入住" not in page


def test_an_offer_is_answered_on_the_page(client, setup):
    offer = services.place_free(place=setup["place"], actor=setup["staff"].acceptor)
    ahead = setup["ahead"]
    client.force_login(ahead.user)
    page = client.get("/me/waiting-lists/").content.decode()
    assert f'id="accept-{offer.pk}"' in page
    assert "轮候到您了：示例福利院（示例）101室1床" in page
    # Someone else's offer is not found and nothing changes.
    client.force_login(setup["me"].user)
    assert client.post(f"/me/waiting-offers/{offer.pk}/accept/").status_code == 404
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OPEN
    client.force_login(ahead.user)
    done = client.post(f"/me/waiting-offers/{offer.pk}/decline/", {"reason": "暂不入住"})
    assert done.status_code == 302
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED
    nxt = WaitingOffer.objects.get(status="open")
    assert nxt.entry_id == setup["mine"].pk
    client.force_login(setup["me"].user)
    assert client.post(f"/me/waiting-offers/{nxt.pk}/accept/").status_code == 302
    setup["mine"].refresh_from_db()
    assert setup["mine"].status == EntryStatus.PLACED
    assert fresh(setup["place"]).status == PlaceStatus.OCCUPIED


def test_api_mine_and_answers(client, setup):
    client.force_login(setup["me"].user)
    rows = client.get("/api/v1/me/waiting-lists").json()
    assert [(r["list_code"], r["position"], r["priority_class"], r["offer"]) for r in rows] == [
        (CARE, 2, "moderate_or_aged", None)
    ]
    assert [(e["kind"], e["position"]) for e in rows[0]["events"]] == [("joined", 2)]
    offer = services.place_free(place=setup["place"], actor=setup["staff"].acceptor)
    refused = client.post(f"/api/v1/waiting-offers/{offer.pk}/accept")
    assert (refused.status_code, refused.json()["code"]) == (404, "WAITLIST_NOT_FOUND")
    client.force_login(setup["ahead"].user)
    declined = client.post(
        f"/api/v1/waiting-offers/{offer.pk}/decline",
        {"reason": "暂不入住"},
        content_type="application/json",
    )
    assert declined.status_code == 200
    body = declined.json()
    assert (body["status"], body["declines"], body["position"]) == ("waiting", 1, 1)
    late = WaitingOffer.objects.get(status="open")
    WaitingOffer.objects.filter(pk=late.pk).update(
        respond_by=timezone.now() - dt.timedelta(minutes=1)
    )
    client.force_login(setup["me"].user)
    expired = client.post(f"/api/v1/waiting-offers/{late.pk}/accept")
    assert (expired.status_code, expired.json()["code"]) == (409, "WAITLIST_OFFER_EXPIRED")
    late.refresh_from_db()
    assert late.status == OfferStatus.OPEN


def test_api_withdraw(client, setup):
    client.force_login(setup["ahead"].user)
    other = client.post(f"/api/v1/me/waiting-lists/{setup['mine'].pk}/withdraw")
    assert other.status_code == 404
    client.force_login(setup["me"].user)
    r = client.post(f"/api/v1/me/waiting-lists/{setup['mine'].pk}/withdraw")
    assert (r.status_code, r.json()["status"], r.json()["position"]) == (200, "withdrawn", None)


def test_staff_page_lists_in_order_and_frees_a_bed(client, setup):
    client.force_login(setup["staff"].reviewer)
    index = client.get("/staff/waiting-lists/")
    assert index.status_code == 302
    assert index["Location"] == f"/staff/waiting-lists/{CARE}/"
    page = client.get(f"/staff/waiting-lists/{CARE}/").content.decode()
    assert page.index("赵**") < page.index("钱**")
    assert "赵示例" not in page and "钱示例" not in page
    place = setup["place"]
    done = client.post(f"/staff/waiting-places/{place.pk}/free/")
    assert done.status_code == 302
    assert fresh(place).status == PlaceStatus.OFFERED
    assert WaitingOffer.objects.get().entry.profile == setup["ahead"]
    again = client.post(f"/staff/waiting-places/{place.pk}/free/")
    assert again.status_code == 409
    assert "该床位已发出入住通知" in again.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "resident", "other_department", "issuer"])
def test_staff_pages_and_api_refuse_others(client, setup, who):
    users = {
        "resident": setup["me"].user,
        "other_department": setup["staff"].other,
        "issuer": setup["staff"].issuer,
    }
    if who != "anonymous":
        client.force_login(users[who])
    place = setup["place"]
    assert client.get(f"/staff/waiting-lists/{CARE}/").status_code in (302, 403, 404)
    assert client.post(f"/staff/waiting-places/{place.pk}/free/").status_code in (302, 403, 404)
    api = client.post(f"/api/v1/waiting-places/{place.pk}/free")
    listed = client.get(f"/api/v1/waiting-lists/{CARE}/entries")
    expected = {"anonymous": 401, "resident": 403}.get(who, 404)
    assert (api.status_code, listed.status_code) == (expected, expected)
    assert fresh(place).status == PlaceStatus.OCCUPIED
    assert not WaitingOffer.objects.exists()


def test_staff_api(client, setup):
    client.force_login(setup["staff"].acceptor)
    rows = client.get(f"/api/v1/waiting-lists/{CARE}/entries").json()
    assert [(r["position"], r["name_masked"], r["priority_class"]) for r in rows] == [
        (1, "赵**", "assured"),
        (2, "钱**", "moderate_or_aged"),
    ]
    r = client.post(f"/api/v1/waiting-places/{setup['place'].pk}/free")
    assert r.status_code == 200
    body = r.json()
    assert (body["place_status"], body["offer"]["status"], body["offer"]["open"]) == (
        "offered",
        "open",
        True,
    )
    assert minutes(0) == dt.timedelta(0)
