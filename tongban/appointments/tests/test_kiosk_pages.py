"""What a kiosk offers: a walk-in ticket and booking check-in (the queue's services), the
self-service items (guide + the portal's one form), and printing a ticket, a receipt and an
e-certificate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import DepartmentFactory, ResidentProfileFactory
from tongban.appointments.models import BookingStatus, QueueEvent, Ticket
from tongban.appointments.tests.factories_booking import BookingRuleFactory, booking_row, slot_at
from tongban.common.models import AuditEvent
from tongban.idcode.services import scanner_create

from . import conftest_kiosk
from .conftest_kiosk import KIOSK_ITEM, kiosk_client, person_code, scan_login

# The shared fixtures, found by pytest in this module.
kiosk_catalog, world = conftest_kiosk.kiosk_catalog, conftest_kiosk.world

pytestmark = pytest.mark.django_db


def test_an_anonymous_walk_in_takes_a_ticket(world):
    client = kiosk_client(world)
    page = client.get("/kiosk/ticket/")
    assert page.status_code == 200
    assert [i["code"] for i in page.context["items"]] == ["birth_registration", KIOSK_ITEM]
    response = client.post("/kiosk/ticket/", {"item": KIOSK_ITEM})
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/kiosk/tickets/{ticket.pk}/"
    assert (ticket.hall, ticket.item_code, ticket.source, ticket.user, ticket.status) == (
        world.hall,
        KIOSK_ITEM,
        "kiosk",
        None,
        "waiting",
    )
    event = QueueEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.actor_label) == ("taken", None, "kiosk:centre-K01")
    shown = client.get(response["Location"])
    assert shown.status_code == 200
    text = shown.content.decode()
    assert ticket.number in text and "社会保障卡申领" in text and "打印排队号" in text
    assert shown.context["ticket"]["ahead"] == 0
    # Another browser (or the next person after 退出) does not see it.
    assert kiosk_client(world).get(response["Location"]).status_code == 404


def test_a_logged_in_resident_takes_their_own_ticket_once(world):
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    first = client.post("/kiosk/ticket/", {"item": KIOSK_ITEM})
    again = client.post("/kiosk/ticket/", {"item": KIOSK_ITEM})
    assert first["Location"] == again["Location"]
    ticket = Ticket.objects.get()
    assert ticket.user == world.resident.user and ticket.name_masked.startswith("王")
    printed = client.get("/kiosk/print/")
    assert [t["number"] for t in printed.context["tickets"]] == [ticket.number]


def test_an_item_not_offered_gets_no_ticket(world):
    client = kiosk_client(world)
    response = client.post("/kiosk/ticket/", {"item": "seal_engraving"})
    assert response.status_code == 422
    assert "请选择本大厅可以取号的事项。" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_a_point_outside_a_hall_offers_no_ticket(world):
    client = kiosk_client(world, world.standalone)
    home = client.get("/kiosk/").content.decode()
    assert "/kiosk/ticket/" not in home and "/kiosk/services/" in home
    assert client.get("/kiosk/ticket/").context["items"] == []
    response = client.post("/kiosk/ticket/", {"item": KIOSK_ITEM})
    assert response.status_code == 422 and Ticket.objects.count() == 0


def _booking_now(world):
    world.hall.scanner, _ = scanner_create(
        name="大厅入口", organisation="示例", scenario_codes=["hall_checkin"], actor_label="test"
    )
    world.hall.save(update_fields=["scanner"])
    rule = BookingRuleFactory(hall=world.hall, item_code=KIOSK_ITEM)
    slot = slot_at(rule, timezone.now() - dt.timedelta(minutes=10))
    return booking_row(slot, world.resident.user)


def test_booking_check_in_by_scan(world):
    booking = _booking_now(world)
    client = kiosk_client(world)
    assert client.get("/kiosk/check-in/").status_code == 200
    response = client.post("/kiosk/check-in/", {"code": person_code(world.resident.user)})
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/kiosk/tickets/{ticket.pk}/"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN
    assert (ticket.booking, ticket.source, ticket.user) == (booking, "booking", booking.user)
    event = AuditEvent.objects.get(action="booking.check_in")
    assert event.actor_label == "自助终端：市民中心自助终端1号（示例）"
    assert event.data["via"] == "kiosk"
    assert ticket.number in client.get(response["Location"]).content.decode()
    assert "_auth_user_id" not in client.session  # checking in logs nobody in


def test_check_in_without_a_booking_says_so(world):
    _booking_now(world)
    someone = ResidentProfileFactory()
    client = kiosk_client(world)
    response = client.post("/kiosk/check-in/", {"code": person_code(someone.user)})
    assert response.status_code == 404
    assert "今天在市民中心（示例）没有预约" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_self_service_items_lead_to_the_guide_and_the_one_form(world):
    client = kiosk_client(world)
    listing = client.get("/kiosk/services/")
    assert [i["code"] for i in listing.context["items"]] == [KIOSK_ITEM]  # counter-only left out
    assert client.get("/kiosk/services/birth_registration/").status_code == 404
    page = client.get(f"/kiosk/services/{KIOSK_ITEM}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "社会保障卡申领" in text
    # The item asks questions first: its guide, one question per screen, then the form.
    assert "/kiosk/login/?next=/items/social_security_card/steps/" in text
    scan_login(client, world.resident.user)
    text = client.get(f"/kiosk/services/{KIOSK_ITEM}/").content.decode()
    assert 'href="/items/social_security_card/steps/">开始办理' in text
    steps = client.get("/items/social_security_card/steps/")
    assert steps.status_code == 200
    assert 'data-kiosk-bar="1"' in steps.content.decode()  # the portal's guide, kiosk bar on top


def test_print_pages_need_a_scan_login(world):
    client = kiosk_client(world)
    for path in ("/kiosk/print/", "/kiosk/print/cases/X/", "/kiosk/print/certificates/1/"):
        response = client.get(path)
        assert response["Location"] == f"/kiosk/login/?next={path}"


def test_print_a_case_receipt(world, settings, tmp_path):
    from tongban.cases.receipt import receipt_display
    from tongban.cases.tests.conftest import birth_case

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    case = birth_case(world.resident)
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    listing = client.get("/kiosk/print/")
    assert [c["receipt_no"] for c in listing.context["cases"]] == [case.receipt_no]
    page = client.get(f"/kiosk/print/cases/{case.receipt_no}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert receipt_display(case.receipt_no) in text and "打印回执" in text
    other = ResidentProfileFactory()
    stranger = kiosk_client(world)
    scan_login(stranger, other.user)
    assert stranger.get(f"/kiosk/print/cases/{case.receipt_no}/").status_code == 404


def test_print_an_e_certificate(world):
    from tongban.certificates.services import certificate_issue, certificate_types_load
    from tongban.certificates.tests.conftest import demo_department_codes, id_card_claims

    for code in sorted(demo_department_codes()):
        DepartmentFactory(code=code, name=f"示例{code}")
    certificate_types_load()
    cert = certificate_issue(
        type_code="resident_id_card",
        holder_profile=world.resident,
        claims=id_card_claims(world.resident),
        actor_label="system:test",
    )
    client = kiosk_client(world)
    scan_login(client, world.resident.user)
    listing = client.get("/kiosk/print/")
    assert [c["id"] for c in listing.context["certificates"]] == [cert.pk]
    page = client.get(f"/kiosk/print/certificates/{cert.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert cert.type.name in text and cert.serial in text and "<svg" in text
    assert page.context["cert"]["state_label"] == "有效"
    other = ResidentProfileFactory()
    stranger = kiosk_client(world)
    scan_login(stranger, other.user)
    assert stranger.get(f"/kiosk/print/certificates/{cert.pk}/").status_code == 404
