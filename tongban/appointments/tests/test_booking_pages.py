"""统一预约 pages: book (hall → day → slot → confirm), my bookings, reschedule and cancel,
venues, the staff page (the day's bookings, booking for a resident), and the links from the
guide and the case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.models import Booking, HallItem
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    OpenHallFactory,
    VenueFactory,
    booking_row,
    slot_at,
    tomorrow_at,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def catalog(db):
    catalog_load_directory(path=FIXTURES)


@pytest.fixture
def hall():
    hall = OpenHallFactory(code="pg-hall", name="示例街道社区事务受理服务中心")
    HallItem.objects.create(hall=hall, item_code="vaccination_certificate")
    return hall


@pytest.fixture
def rule(hall):
    return BookingRuleFactory(hall=hall, capacity=3)


@pytest.fixture
def slot(rule):
    return slot_at(rule, tomorrow_at(10))


@pytest.fixture
def person():
    return ResidentProfileFactory().user


def test_anonymous_is_sent_to_login(client, slot):
    r = client.get("/bookings/new/?item=vaccination_certificate")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert client.get("/me/bookings/").status_code == 302


def test_book_by_choosing_hall_day_slot_and_confirming(client, slot, person):
    client.force_login(person)
    r = client.get("/bookings/new/?item=vaccination_certificate")
    assert r.status_code == 200
    assert "?item=vaccination_certificate&amp;hall=pg-hall" in r.content.decode()
    r = client.get("/bookings/new/?item=vaccination_certificate&hall=pg-hall")
    page = r.content.decode()
    assert f'name="slot" value="{slot.pk}"' in page and "余 3 个名额" in page
    r = client.get(f"/bookings/new/?item=vaccination_certificate&hall=pg-hall&slot={slot.pk}")
    assert "请核对预约信息" in r.content.decode()
    assert Booking.objects.count() == 0
    r = client.post(
        "/bookings/new/",
        {"item": "vaccination_certificate", "hall": "pg-hall", "slot": slot.pk, "key": "k"},
    )
    b = Booking.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/me/bookings/{b.reference}/"
    assert (b.user_id, b.slot_id, b.status) == (person.pk, slot.pk, "booked")
    page = client.get("/me/bookings/").content.decode()
    assert b.reference in page and "待前往" in page


def test_a_full_slot_says_so_and_books_nothing(client, rule, person):
    full = slot_at(rule, tomorrow_at(11), capacity=1, booked=1)
    client.force_login(person)
    r = client.post(
        "/bookings/new/", {"item": "vaccination_certificate", "hall": "pg-hall", "slot": full.pk}
    )
    assert r.status_code == 409 and "该时段已约满" in r.content.decode()
    assert Booking.objects.count() == 0


def test_an_item_without_booking_says_where_to_go(client, person):
    client.force_login(person)
    r = client.get("/bookings/new/?item=seal_engraving")
    assert r.status_code == 200 and "暂未开放网上预约" in r.content.decode()


def test_reschedule_and_cancel_from_the_detail_page(client, rule, slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    other = slot_at(rule, tomorrow_at(15))
    client.force_login(person)
    page = client.get(f"/me/bookings/{b.reference}/").content.decode()
    assert "改约" in page and f'name="slot" value="{other.pk}"' in page
    r = client.post(f"/me/bookings/{b.reference}/", {"action": "reschedule", "slot": other.pk})
    new = Booking.objects.get(status="booked")
    assert r["Location"] == f"/me/bookings/{new.reference}/" and new.slot_id == other.pk
    r = client.post(f"/me/bookings/{new.reference}/", {"action": "cancel", "reason": "有事"})
    new.refresh_from_db()
    other.refresh_from_db()
    assert new.status == "cancelled" and other.booked == 0


def test_another_residents_booking_is_not_found_and_unchanged(client, slot, person):
    b = svc.booking_make(user=person, slot_id=slot.pk, actor=person)
    client.force_login(ResidentProfileFactory().user)
    assert client.get(f"/me/bookings/{b.reference}/").status_code == 404
    assert client.post(f"/me/bookings/{b.reference}/", {"action": "cancel"}).status_code == 404
    b.refresh_from_db()
    assert b.status == "booked"


def test_my_bookings_shows_past_no_shows_and_the_limit(client, rule, person):
    now = timezone.now()
    for days in (30, 20, 10):
        booking_row(slot_at(rule, now - dt.timedelta(days=days)), person, status="no_show")
    client.force_login(person)
    page = client.get("/me/bookings/").content.decode()
    assert page.count("未到场（爽约）") == 3 and "暂不能预约" in page


def test_venues_list_and_a_venue_links_to_booking(client, person):
    venue = VenueFactory(code="pg-venue", name="示例体育中心")
    rule = BookingRuleFactory(hall=None, venue=venue, item_code="", resource="羽毛球1号场")
    s = slot_at(rule, tomorrow_at(9))
    assert "示例体育中心" in client.get("/venues/").content.decode()
    page = client.get("/venues/pg-venue/").content.decode()
    assert "羽毛球1号场" in page and "登录后预约" in page
    client.force_login(person)
    r = client.get(f"/bookings/new/?venue=pg-venue&resource=羽毛球1号场&slot={s.pk}")
    assert "请核对预约信息" in r.content.decode()
    client.post("/bookings/new/", {"venue": "pg-venue", "resource": "羽毛球1号场", "slot": s.pk})
    assert Booking.objects.get().slot.resource == "羽毛球1号场"
    assert client.get("/venues/nope/").status_code == 404


# ---------------------------------------------------------------- staff


def test_staff_page_is_for_clerks_of_a_hall(client, hall, person):
    assert client.get("/staff/bookings/").status_code == 302
    client.force_login(person)
    assert client.get("/staff/bookings/").status_code == 403
    client.force_login(StaffFactory(role=StaffRole.REVIEWER))
    assert client.get("/staff/bookings/").status_code == 403


def test_a_clerk_finds_a_resident_and_books_for_them(client, hall, slot):
    profile = ResidentProfileFactory()
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall)
    client.force_login(clerk)
    page = client.get("/staff/bookings/").content.decode()
    assert "代为预约" in page
    r = client.post("/staff/bookings/", {"action": "lookup", "id_number": profile.id_number})
    assert r.status_code == 302
    page = client.get("/staff/bookings/?hall=pg-hall&item=vaccination_certificate").content
    assert profile.name in page.decode() and f'name="slot" value="{slot.pk}"' in page.decode()
    assert AuditEvent.objects.filter(
        action="personal_data.read", subject_resident_id=profile.pk
    ).exists()
    client.post("/staff/bookings/?hall=pg-hall", {"action": "book", "slot": slot.pk})
    b = Booking.objects.get()
    assert (b.user_id, b.booked_by_id) == (profile.user_id, clerk.pk)
    day = slot.day.isoformat()
    page = client.get(f"/staff/bookings/?day={day}").content.decode()
    assert b.reference in page and "窗口代约" in page
    assert profile.name not in page.split("的预约（")[1]  # the day's list masks names
    client.post("/staff/bookings/", {"action": "cancel", "reference": b.reference})
    b.refresh_from_db()
    assert b.status == "cancelled"


def test_an_unknown_id_number_is_said_plainly(client, hall):
    client.force_login(StaffFactory(role=StaffRole.COUNTER_CLERK, hall=hall))
    r = client.post("/staff/bookings/", {"action": "lookup", "id_number": "12345"})
    assert r.status_code == 422 and Booking.objects.count() == 0


def test_a_day_asked_for_is_kept_through_the_hall_choice_and_opens_on_it(client, rule, person):
    later = slot_at(rule, tomorrow_at(10, days=3))
    slot_at(rule, tomorrow_at(10))
    client.force_login(person)
    day = later.day.isoformat()
    page = client.get(f"/bookings/new/?item=vaccination_certificate&day={day}").content.decode()
    assert f"hall=pg-hall&amp;day={day}" in page
    page = client.get(f"/bookings/new/?item=vaccination_certificate&hall=pg-hall&day={day}")
    assert f'name="slot" value="{later.pk}"' in page.content.decode()


def test_a_barred_person_is_told_why_and_offered_no_slot(client, rule, slot, person):
    now = timezone.now()
    for days in (30, 20, 10):
        booking_row(slot_at(rule, now - dt.timedelta(days=days)), person, status="no_show")
    client.force_login(person)
    page = client.get("/bookings/new/?item=vaccination_certificate&hall=pg-hall").content.decode()
    assert "暂不能预约" in page and 'name="slot"' not in page
    r = client.post(
        "/bookings/new/", {"item": "vaccination_certificate", "hall": "pg-hall", "slot": slot.pk}
    )
    assert r.status_code == 200 and Booking.objects.filter(status="booked").count() == 0
