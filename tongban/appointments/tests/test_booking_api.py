"""统一预约 API: /api/v1/slots, /api/v1/bookings (Idempotency-Key), /api/v1/me/bookings,
cancel and reschedule; a clerk booking by ID number; refusals as {code, message}."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.models import Booking
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    OpenHallFactory,
    VenueFactory,
    slot_at,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule():
    return BookingRuleFactory(hall=OpenHallFactory(code="api-hall"), capacity=2)


@pytest.fixture
def slot(rule):
    return slot_at(rule, tomorrow_at(10))


@pytest.fixture
def person():
    return ResidentProfileFactory().user


def _post(client, path, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, body, content_type="application/json", **headers)


def test_slots_are_public_and_list_places_left(client, rule, slot):
    slot_at(rule, tomorrow_at(11), capacity=1, booked=1)  # full: not listed
    day = slot.day.isoformat()
    r = client.get(f"/api/v1/slots?hall=api-hall&item=vaccination_certificate&start={day}")
    assert r.status_code == 200
    assert [(s["id"], s["remaining"], s["hall"]) for s in r.json()] == [(slot.pk, 2, "api-hall")]


def test_slots_refuse_bad_queries(client):
    assert client.get("/api/v1/slots").json()["code"] == "BOOKING_PLACE_REQUIRED"
    assert client.get("/api/v1/slots?hall=api-hall").json()["code"] == "BOOKING_ITEM_REQUIRED"
    assert client.get("/api/v1/slots?hall=nope&item=x").status_code == 404
    r = client.get("/api/v1/slots?venue=nope")
    assert r.status_code == 404 and r.json()["code"] == "VENUE_NOT_FOUND"
    r = client.get("/api/v1/slots?hall=x&item=y&start=2026-01-01&end=2026-03-01")
    assert r.status_code == 422 and r.json()["code"] == "BOOKING_RANGE_INVALID"


def test_venue_slots(client):
    venue = VenueFactory(code="api-venue")
    rule = BookingRuleFactory(hall=None, venue=venue, item_code="", resource="入馆参观")
    s = slot_at(rule, tomorrow_at(9))
    rows = client.get(f"/api/v1/slots?venue=api-venue&start={s.day.isoformat()}").json()
    assert [(r["id"], r["resource"], r["venue"]) for r in rows] == [(s.pk, "入馆参观", "api-venue")]


def test_book_needs_login_and_a_key(client, slot, person):
    assert _post(client, "/api/v1/bookings", {"slot_id": slot.pk}).status_code == 401
    client.force_login(person)
    r = _post(client, "/api/v1/bookings", {"slot_id": slot.pk}, key="")
    assert r.status_code == 400 and r.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert Booking.objects.count() == 0


def test_book_twice_with_the_key_gives_one_booking(client, slot, person):
    client.force_login(person)
    first = _post(client, "/api/v1/bookings", {"slot_id": slot.pk})
    again = _post(client, "/api/v1/bookings", {"slot_id": slot.pk})
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert first.json()["status"] == "booked" and Booking.objects.count() == 1
    mine = client.get("/api/v1/me/bookings").json()
    assert [b["reference"] for b in mine] == [first.json()["reference"]]


def test_a_full_slot_is_409(client, rule, person):
    full = slot_at(rule, tomorrow_at(11), capacity=1, booked=1)
    client.force_login(person)
    r = _post(client, "/api/v1/bookings", {"slot_id": full.pk})
    assert r.status_code == 409 and r.json()["code"] == "BOOKING_SLOT_FULL"


def test_cancel_and_reschedule(client, rule, slot, person):
    client.force_login(person)
    ref = _post(client, "/api/v1/bookings", {"slot_id": slot.pk}).json()["reference"]
    other = slot_at(rule, tomorrow_at(15))
    r = _post(client, f"/api/v1/bookings/{ref}/reschedule", {"slot_id": other.pk}, key="")
    assert r.status_code == 201
    new_ref = r.json()["reference"]
    assert new_ref != ref and Booking.objects.get(reference=ref).status == "cancelled"
    r = _post(client, f"/api/v1/bookings/{new_ref}/cancel", {"reason": "有事"}, key="")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = _post(client, f"/api/v1/bookings/{new_ref}/cancel", {}, key="")
    assert r.status_code == 409 and r.json()["code"] == "BOOKING_NOT_CHANGEABLE"


def test_another_resident_gets_404_and_nothing_changes(client, slot, person):
    client.force_login(person)
    ref = _post(client, "/api/v1/bookings", {"slot_id": slot.pk}).json()["reference"]
    client.force_login(ResidentProfileFactory().user)
    r = _post(client, f"/api/v1/bookings/{ref}/cancel", {}, key="")
    assert r.status_code == 404 and r.json()["code"] == "BOOKING_NOT_FOUND"
    assert Booking.objects.get(reference=ref).status == "booked"


def test_a_clerk_books_by_id_number_and_a_resident_cannot(client, rule, slot, person):
    profile = ResidentProfileFactory()
    client.force_login(person)
    r = _post(
        client, "/api/v1/bookings", {"slot_id": slot.pk, "resident_id_number": profile.id_number}
    )
    assert r.status_code == 403 and Booking.objects.count() == 0
    clerk = StaffFactory(role=StaffRole.COUNTER_CLERK, hall=rule.hall)
    client.force_login(clerk)
    r = _post(
        client, "/api/v1/bookings", {"slot_id": slot.pk, "resident_id_number": profile.id_number}
    )
    assert r.status_code == 201 and r.json()["by_clerk"] is True
    b = Booking.objects.get()
    assert (b.user_id, b.booked_by_id) == (profile.user_id, clerk.pk)
