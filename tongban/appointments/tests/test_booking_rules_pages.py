"""预约规则 pages: /staff/bookings/rules/ (list), new and change; who may open them, errors
next to their fields with a 4xx, CSRF, and the links from the staff home and /staff/bookings/."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.appointments.models import BookingRule, Slot
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    VenueFactory,
    booking_row,
    hall_handling,
    slot_at,
    tomorrow_at,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

ITEM = "vaccination_certificate"
LIST = "/staff/bookings/rules/"
NEW = "/staff/bookings/rules/new/"


def _audits():
    return AuditEvent.objects.filter(action__startswith="booking.rule")


@pytest.fixture(autouse=True)
def catalog(db):
    catalog_load_directory(path=FIXTURES)


@pytest.fixture
def hall():
    return hall_handling(
        ITEM, "social_security_card", code="rp-hall", name="示例社区事务受理服务中心"
    )


@pytest.fixture
def clerk(hall):
    return StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall)


@pytest.fixture
def rule(hall):
    return BookingRuleFactory(hall=hall, item_code=ITEM, capacity=2, days_ahead=3)


def test_who_may_open_the_list(client, rule):
    assert client.get(LIST).status_code == 302  # anonymous: to the login
    client.force_login(ResidentProfileFactory().user)
    assert client.get(LIST).status_code == 403
    client.force_login(StaffFactory(role=StaffRole.REVIEWER))
    r = client.get(LIST)
    assert r.status_code == 403 and "预约规则仅限" in r.content.decode()
    assert client.get(NEW).status_code == 403


def test_the_list_shows_the_rules_of_the_staff_members_places_only(client, clerk, rule):
    other = BookingRuleFactory(hall=hall_handling(ITEM, code="rp-other"), item_code=ITEM)
    venue = VenueFactory(code="rp-venue", name="示例体育馆")
    BookingRuleFactory(hall=None, venue=venue, item_code="", resource="羽毛球1号场")
    slot = slot_at(rule, tomorrow_at(9))
    booking_row(slot, ResidentProfileFactory().user)
    booking_row(slot_at(rule, tomorrow_at(10, days=-1)), ResidentProfileFactory().user)  # past
    client.force_login(clerk)
    r = client.get(LIST)
    page = r.content.decode()
    assert r.status_code == 200
    assert [row["rule"].pk for row in r.context["rows"]] == [rule.pk]
    row = r.context["rows"][0]
    assert (row["place"], row["what"], row["booked"]) == (
        "示例社区事务受理服务中心",
        "预防接种证办理",
        1,
    )
    assert "预防接种证办理" in page and ITEM not in page
    assert "30分钟" in page and "2个" in page and "3天" in page and "1人" in page
    assert "停用后不再接受新的预约，已有的预约仍然有效" in page
    assert f'href="/staff/bookings/rules/{rule.pk}/"' in page
    assert f'href="/staff/bookings/rules/{other.pk}/"' not in page
    assert 'class="stack"' in page  # rows stack on a phone
    # The city operator sees every hall and venue.
    client.force_login(StaffFactory(role=StaffRole.CITY_OPERATOR))
    r = client.get(LIST)
    assert len(r.context["rows"]) == 3
    assert [x["what"] for x in r.context["rows"]][-1] == "羽毛球1号场"


def test_links_from_the_staff_home_and_the_bookings_page(client, clerk):
    client.force_login(clerk)
    assert f'href="{LIST}"' in client.get("/staff/").content.decode()
    assert f'href="{LIST}"' in client.get("/staff/bookings/").content.decode()
    client.force_login(StaffFactory(role=StaffRole.REVIEWER))
    assert f'href="{LIST}"' not in client.get("/staff/").content.decode()


def test_create_from_the_page(client, clerk, hall):
    client.force_login(clerk)
    r = client.get(NEW)  # one hall: its form at once
    assert r.status_code == 200
    assert r.context["items"] == [(ITEM, "预防接种证办理")]  # the online-only item is not offered
    page = r.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert [f'<option value="{m}"' in page for m in (15, 20, 30, 60, 90, 120)] == [True] * 6
    r = client.post(
        NEW,
        {"place": "hall:rp-hall", "item_code": ITEM, "slot_minutes": "60", "capacity": "5",
         "days_ahead": "2"},
    )  # fmt: skip
    assert r.status_code == 302 and r["Location"] == LIST
    rule = BookingRule.objects.get()
    assert (rule.hall_id, rule.slot_minutes, rule.capacity, rule.days_ahead) == (hall.pk, 60, 5, 2)
    assert Slot.objects.filter(rule=rule).count() == 7 * 3
    assert _audits().get().actor_id == clerk.pk
    # The item has its rule now: nothing left to add.
    r = client.get(NEW)
    assert r.context["items"] == [] and 'id="no-items"' in r.content.decode()


def test_bad_numbers_are_shown_next_to_their_fields_with_a_422(client, clerk):
    client.force_login(clerk)
    r = client.post(
        NEW,
        {"place": "hall:rp-hall", "item_code": ITEM, "slot_minutes": "45", "capacity": "0",
         "days_ahead": "abc"},
    )  # fmt: skip
    assert r.status_code == 422
    page = r.content.decode()
    assert set(r.context["errors"]) == {"slot_minutes", "capacity", "days_ahead"}
    assert 'id="capacity-error"' in page and "每时段名额须为1至500之间的整数" in page
    assert 'id="days-ahead-error"' in page and "可提前预约天数须为1至60之间的整数" in page
    assert 'id="slot-minutes-error"' in page
    assert "<title>错误：" in page
    assert BookingRule.objects.count() == 0 and _audits().count() == 0


def test_an_item_that_needs_no_visit_is_refused_next_to_the_item(client, clerk):
    client.force_login(clerk)
    r = client.post(
        NEW,
        {"place": "hall:rp-hall", "item_code": "social_security_card", "slot_minutes": "30",
         "capacity": "4", "days_ahead": "7"},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.context["errors"] == {"item_code": ["该事项可全程网办、无需到厅，不需要预约"]}
    assert BookingRule.objects.count() == 0 and _audits().count() == 0


def test_a_place_the_staff_member_does_not_manage_is_not_found(client, clerk):
    hall_handling(ITEM, code="rp-other")
    client.force_login(clerk)
    assert client.get(NEW + "?place=hall:rp-other").status_code == 404
    r = client.post(
        NEW,
        {"place": "hall:rp-other", "item_code": ITEM, "slot_minutes": "30", "capacity": "4",
         "days_ahead": "7"},
    )  # fmt: skip
    assert r.status_code == 404
    assert BookingRule.objects.count() == 0 and _audits().count() == 0


def test_a_venue_lead_chooses_the_place_then_names_the_resource(client, hall):
    department = DepartmentFactory()
    VenueFactory(code="rp-venue", name="示例体育馆", department=department)
    VenueFactory(code="rp-venue-2", name="示例图书馆", department=department)
    lead = StaffFactory(role=StaffRole.DEPARTMENT_LEAD, department=department)
    client.force_login(lead)
    r = client.get(NEW)
    page = r.content.decode()
    assert "?place=venue:rp-venue" in page and "?place=venue:rp-venue-2" in page
    assert "rp-hall" not in page
    r = client.post(
        NEW,
        {"place": "venue:rp-venue", "resource": "", "slot_minutes": "60", "capacity": "2",
         "days_ahead": "7"},
    )  # fmt: skip
    assert r.status_code == 422 and 'id="resource-error"' in r.content.decode()
    r = client.post(
        NEW,
        {"place": "venue:rp-venue", "resource": "篮球场", "slot_minutes": "60", "capacity": "2",
         "days_ahead": "1"},
    )  # fmt: skip
    assert r.status_code == 302
    assert BookingRule.objects.get().resource == "篮球场"


def test_change_from_the_page(client, clerk, rule):
    slot = slot_at(rule, tomorrow_at(9))
    booking_row(slot, ResidentProfileFactory().user)
    booking_row(slot, ResidentProfileFactory().user)
    client.force_login(clerk)
    url = f"/staff/bookings/rules/{rule.pk}/"
    r = client.get(url)
    page = r.content.decode()
    assert r.status_code == 200 and r.context["booked"] == 2
    assert "停用（不接受新预约，已有预约仍有效）" in page
    r = client.post(
        url, {"slot_minutes": "30", "capacity": "1", "days_ahead": "3", "is_active": "0"}
    )
    assert r.status_code == 302 and r["Location"] == LIST
    rule.refresh_from_db()
    slot.refresh_from_db()
    assert (rule.capacity, rule.is_active) == (1, False)
    assert (slot.capacity, slot.booked) == (2, 2)
    audit = _audits().get()
    assert audit.actor_id == clerk.pk
    assert audit.data["before"] == {"capacity": 2, "is_active": True}
    assert audit.data["after"] == {"capacity": 1, "is_active": False}
    assert "已停用（不接受新预约）" in client.get(LIST).content.decode()


def test_a_locked_slot_length_is_refused_next_to_the_field_with_a_409(client, clerk, rule):
    booking_row(slot_at(rule, tomorrow_at(9)), ResidentProfileFactory().user)
    client.force_login(clerk)
    url = f"/staff/bookings/rules/{rule.pk}/"
    r = client.post(
        url, {"slot_minutes": "60", "capacity": "9", "days_ahead": "3", "is_active": "1"}
    )
    assert r.status_code == 409
    assert list(r.context["errors"]) == ["slot_minutes"]
    assert 'id="slot-minutes-error"' in r.content.decode()
    rule.refresh_from_db()
    assert (rule.slot_minutes, rule.capacity) == (30, 2)
    assert _audits().count() == 0


def test_a_rule_of_another_hall_is_not_found_and_unchanged(client, clerk):
    other = BookingRuleFactory(hall=hall_handling(ITEM, code="rp-other"), item_code=ITEM)
    client.force_login(clerk)
    url = f"/staff/bookings/rules/{other.pk}/"
    assert client.get(url).status_code == 404
    r = client.post(
        url, {"slot_minutes": "30", "capacity": "9", "days_ahead": "3", "is_active": "0"}
    )
    assert r.status_code == 404
    other.refresh_from_db()
    assert (other.capacity, other.is_active) == (4, True)
    assert _audits().count() == 0
    assert client.get("/staff/bookings/rules/999999/").status_code == 404


def test_a_post_without_the_csrf_token_is_refused(clerk, rule):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    r = client.post(
        f"/staff/bookings/rules/{rule.pk}/",
        {"slot_minutes": "30", "capacity": "9", "days_ahead": "3", "is_active": "1"},
    )
    assert r.status_code == 403
    rule.refresh_from_db()
    assert rule.capacity == 2 and _audits().count() == 0
