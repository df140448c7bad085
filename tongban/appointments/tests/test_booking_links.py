"""预约到厅办理 from the item guide and from the resident's case (a 补正 asking for an
original offers a slot), and a booking made for the case shown there."""

from __future__ import annotations

import pytest

from tongban.appointments.models import Booking, HallItem
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    OpenHallFactory,
    slot_at,
    tomorrow_at,
)
from tongban.cases import services as case_services
from tongban.cases.models import Task
from tongban.cases.tests.conftest import (  # noqa: F401 - fixtures
    BIRTH_ANSWERS,
    birth_form,
    birth_materials,
    catalog,
    resident,
    staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(catalog):  # noqa: F811
    hall = OpenHallFactory(code="ln-hall")
    for code in ("vaccination_certificate", "birth_registration", "seal_engraving"):
        HallItem.objects.create(hall=hall, item_code=code)
    return hall


def _case(resident):  # noqa: F811
    return case_services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key="links",
    )


def test_the_guide_of_an_item_that_needs_a_visit_links_to_booking(client, hall):
    page = client.get("/items/vaccination_certificate/").content.decode()
    assert 'id="booking-link"' not in page  # no rule yet: nothing to book
    BookingRuleFactory(hall=hall, item_code="vaccination_certificate")
    page = client.get("/items/vaccination_certificate/").content.decode()
    assert "/bookings/new/?item=vaccination_certificate" in page and "预约到厅办理" in page
    BookingRuleFactory(hall=hall, item_code="seal_engraving")  # online only, no visit
    assert 'id="booking-link"' not in client.get("/items/seal_engraving/").content.decode()


def test_the_case_offers_a_visit_and_shows_the_booking_made_for_it(client, hall, resident):  # noqa: F811
    rule = BookingRuleFactory(hall=hall, item_code="vaccination_certificate")
    case = _case(resident)
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert f"/bookings/new/?item=vaccination_certificate&amp;case={case.receipt_no}" in page
    slot = slot_at(rule, tomorrow_at(10))
    r = client.post(
        "/bookings/new/",
        {
            "item": "vaccination_certificate",
            "hall": "ln-hall",
            "slot": slot.pk,
            "case": case.receipt_no,
        },
    )
    assert r.status_code == 302
    assert Booking.objects.get().case_id == case.pk
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "已预约" in page and "查看或改约" in page


def test_a_supplement_asking_for_an_original_offers_a_slot(client, hall, resident, staff):  # noqa: F811
    BookingRuleFactory(hall=hall, item_code="birth_registration")
    case = _case(resident)
    client.force_login(resident.user)
    assert (
        "补正材料需要查验原件" not in client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    )
    if case.status == "submitted":
        case_services.case_request_supplement(
            actor=staff.acceptor["police"],
            receipt_no=case.receipt_no,
            material_codes=["birth_medical_certificate"],
            field_codes=[],
            reason="出生医学证明不清晰，请到窗口出示原件",
        )
    else:  # accepted at once: the reviewer of the registration asks
        task = Task.objects.get(case=case, item_code="birth_registration")
        case_services.task_request_supplement(
            reviewer=staff.reviewer["police"],
            task_id=task.pk,
            material_codes=["birth_medical_certificate"],
            field_codes=[],
            reason="出生医学证明不清晰，请到窗口出示原件",
            expected_row_version=task.row_version,
        )
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "补正材料需要查验原件" in page
    assert f"item=birth_registration&amp;case={case.receipt_no}" in page


def test_another_person_cannot_book_for_someone_elses_case(client, hall, resident):  # noqa: F811
    from tongban.accounts.tests.factories import ResidentProfileFactory

    rule = BookingRuleFactory(hall=hall, item_code="vaccination_certificate")
    case = _case(resident)
    slot = slot_at(rule, tomorrow_at(10))
    other = ResidentProfileFactory().user
    client.force_login(other)
    r = client.get(f"/bookings/new/?item=vaccination_certificate&case={case.receipt_no}")
    assert r.status_code == 404
    with pytest.raises(svc.NotFound):
        svc.booking_make(user=other, slot_id=slot.pk, actor=other, case=case)
    assert Booking.objects.count() == 0
