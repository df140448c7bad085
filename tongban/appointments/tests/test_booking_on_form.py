"""统一预约 on the item's own form (婚姻登记预约, 银行开户预约): the form lists the slots with
places left, and submitting it books the chosen place in the case's transaction — a full or
wrong slot refuses the submission and keeps nothing, a double submit books once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.appointments.models import Booking, Slot
from tongban.appointments.selectors.booking import slot_summary
from tongban.appointments.services import booking as svc
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    slot_at,
    tomorrow_at,
)
from tongban.cases import forms
from tongban.cases import services as case_services
from tongban.cases.errors import CaseFormInvalid
from tongban.cases.models import Application
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import guide_for_item
from tongban.catalog.services import catalog_load_directory
from tongban.notifications.models import Notice

pytestmark = pytest.mark.django_db

MARRIAGE = "SH-MZJ-0401"
ANSWERS = {"marriage_appointment_type": "marriage"}


@pytest.fixture
def demo_catalog(db):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)


@pytest.fixture
def person(demo_catalog):
    return ResidentProfileFactory(name="林晓")


def _submit(person, form, *, key="marry"):
    guide = guide_for_item(code=MARRIAGE, answers=ANSWERS, applicant=person)
    return case_services.case_submit(
        applicant=person.user,
        kind="item",
        code=MARRIAGE,
        answers=guide.answers,
        form_data=form,
        materials=sample_uploads(guide),
        idempotency_key=key,
    )


def _form(person):
    return sample_form(guide_for_item(code=MARRIAGE, answers=ANSWERS, applicant=person))


def test_submitting_the_form_books_the_chosen_place_with_the_case(person):
    form = _form(person)
    slot = Slot.objects.get(pk=int(form["appointment.slot"]))
    case = _submit(person, form)
    booking = Booking.objects.get()
    assert (booking.case_id, booking.user_id, booking.slot_id, booking.status) == (
        case.pk,
        person.user_id,
        slot.pk,
        "booked",
    )
    slot.refresh_from_db()
    assert slot.booked == 1
    # The case keeps the choice as people read it; the desk reads place, day and time.
    assert case.form_data["appointment.slot"] == slot_summary(slot)
    assert Notice.objects.filter(recipient=person.user, template="booking_confirmed").count() == 1
    # 即办件: both parties' details checked, the place taken — concluded on submission.
    assert case.status == "archived"


def test_a_double_submit_books_one_place(person):
    form = _form(person)
    first = _submit(person, form)
    again = _submit(person, form)
    assert again.pk == first.pk
    assert Booking.objects.count() == 1 and Slot.objects.get().booked == 1


def test_a_full_slot_refuses_the_submission_and_keeps_nothing(person):
    form = _form(person)
    Slot.objects.filter(pk=int(form["appointment.slot"])).update(booked=4)
    with pytest.raises(CaseFormInvalid) as caught:
        _submit(person, form)
    assert caught.value.details == [
        {"field": "appointment.slot", "message": "预约时段：该时段已约满，请另选时段"}
    ]
    assert Application.objects.count() == 0 and Booking.objects.count() == 0


def test_a_slot_of_another_item_or_no_slot_at_all_is_refused(person):
    form = _form(person)
    other = slot_at(BookingRuleFactory(item_code="vaccination_certificate"), tomorrow_at(11))
    for value, message in (
        (str(other.pk), "预约时段：请从列出的时段中选择"),
        ("999999", "预约时段：请从列出的时段中选择"),
        ("上午", "预约时段：请从列出的时段中选择"),
    ):
        with pytest.raises(CaseFormInvalid) as caught:
            _submit(person, {**form, "appointment.slot": value}, key=f"k-{value}")
        assert caught.value.details == [{"field": "appointment.slot", "message": message}]
    assert Application.objects.count() == 0 and Booking.objects.count() == 0
    assert Slot.objects.get(pk=other.pk).booked == 0


def test_a_booking_refused_inside_the_transaction_leaves_no_case(person):
    """The place is taken last, in the case's transaction: a refusal there (here, a second
    place for the same item that day) undoes the case too."""
    form = _form(person)
    chosen = Slot.objects.get(pk=int(form["appointment.slot"]))
    earlier = slot_at(chosen.rule, tomorrow_at(9))
    Booking.objects.create(
        reference="YYTEST000001",
        slot=earlier,
        user=person.user,
        booked_by=person.user,
        status="booked",
        created_at=timezone.now(),
    )
    with pytest.raises(CaseFormInvalid) as caught:
        _submit(person, form)
    assert caught.value.details == [
        {
            "field": "appointment.slot",
            "message": "预约时段：您当天已预约了同一事项，如需改时间请在“我的预约”中改约",
        }
    ]
    assert Application.objects.count() == 0
    assert Booking.objects.count() == 1
    chosen.refresh_from_db()
    assert chosen.booked == 0


def test_the_form_lists_the_slots_with_places_left_by_hall_and_day(person):
    guide = guide_for_item(code=MARRIAGE, answers=ANSWERS, applicant=person)
    rule = BookingRuleFactory(item_code=MARRIAGE, hall__name="测试婚姻登记处（示例）")
    open_slot = slot_at(rule, tomorrow_at(9))
    slot_at(rule, tomorrow_at(9, 30), booked=4)  # full: not offered
    field = next(f for f in guide.fields if f.code == "appointment.slot")
    (spec,) = forms.field_specs([field], values={}, prefill={}, errors={})
    assert spec.widget == "select"
    ((group, options),) = spec.groups
    day = tomorrow_at(9).date()
    week = "一二三四五六日"[day.weekday()]
    assert group == f"{day.month}月{day.day}日（周{week}） · 测试婚姻登记处（示例）"
    assert options == [(str(open_slot.pk), "09:00–09:30（余4个）")]


def test_a_bare_place_for_an_item_booked_on_its_form_is_refused(client, person):
    rule = BookingRuleFactory(item_code=MARRIAGE)
    slot = slot_at(rule, tomorrow_at(10))
    with pytest.raises(svc.BookingNeedsApplication):
        svc.booking_make(user=person.user, slot_id=slot.pk, actor=person.user)
    assert Booking.objects.count() == 0 and Slot.objects.get().booked == 0
    client.force_login(person.user)
    response = client.get(f"/bookings/new/?item={MARRIAGE}")
    assert (response.status_code, response["Location"]) == (302, f"/apply/item/{MARRIAGE}/")


def _bank_case(person, key):
    guide = guide_for_item(code="SH-YH-0101", answers={}, applicant=person)
    form = sample_form(guide)
    enterprise = EnterpriseFactory(agents=[person.user])
    for name in ("uscc", "name", "legal_representative"):
        form[f"enterprise.{name}"] = getattr(enterprise, name)
    case = case_services.case_submit(
        applicant=person.user,
        kind="item",
        code="SH-YH-0101",
        answers=guide.answers,
        form_data=form,
        materials=sample_uploads(guide),
        idempotency_key=key,
        enterprise=enterprise,
    )
    return case, enterprise


def _bank_staff(role):
    from tongban.accounts.tests.factories import StaffFactory
    from tongban.catalog.models import Department

    return StaffFactory(department=Department.objects.get(code="SH-YH"), role=role)


def test_a_case_refused_at_intake_frees_the_place_booked_with_it(demo_catalog):
    """银行开户预约 in a 企业开办 that is 不予受理: the bank desk's place goes back to others."""
    from tongban.accounts.models import StaffRole

    person = ResidentProfileFactory(name="周创")
    case, enterprise = _bank_case(person, "bank")
    booking = Booking.objects.get(case=case)
    assert case.status == "submitted" and booking.enterprise_id == enterprise.pk
    case_services.case_refuse_intake(
        actor=_bank_staff(StaffRole.ACCEPTOR),
        receipt_no=case.receipt_no,
        reason="经营范围需银行核实后再约",
    )
    booking.refresh_from_db()
    assert (booking.status, booking.slot.booked) == ("cancelled", 0)
    notice = Notice.objects.get(recipient=person.user, template="booking_cancelled_case_refused")
    assert notice.link == f"/me/bookings/{booking.reference}/"


def test_an_item_denied_at_review_frees_its_place(demo_catalog):
    """The bank denies the account after 预审: its desk's place is freed, the person told."""
    from tongban.accounts.models import StaffRole
    from tongban.cases.models import Task

    person = ResidentProfileFactory(name="吴开户")
    case, _enterprise = _bank_case(person, "bank-denied")
    case_services.case_accept(actor=_bank_staff(StaffRole.ACCEPTOR), receipt_no=case.receipt_no)
    task = Task.objects.get(case=case)
    case_services.task_decide(
        reviewer=_bank_staff(StaffRole.REVIEWER),
        task_id=task.pk,
        decision="denied",
        reason="预审未通过：经营范围与开户用途不符",
        expected_row_version=task.row_version,
    )
    booking = Booking.objects.get(case=case)
    assert (booking.status, booking.slot.booked) == ("cancelled", 0)
    assert (
        Notice.objects.filter(
            recipient=person.user, template="booking_cancelled_case_refused"
        ).count()
        == 1
    )


def test_a_counter_clerk_filing_for_a_walk_in_books_the_place_on_their_behalf(person):
    """帮办: the clerk fills the form at the counter; the place is the person's, made by the
    clerk (the audit row and the notice say so), whichever hall the slot is at."""
    from tongban.accounts.models import StaffRole
    from tongban.accounts.tests.factories import StaffFactory
    from tongban.appointments.tests.factories import HallFactory
    from tongban.catalog.models import Department
    from tongban.common.models import AuditEvent

    clerk = StaffFactory(
        department=Department.objects.get(code="SH-MZJ"),
        role=StaffRole.COUNTER_CLERK,
        hall=HallFactory(code="counter-hall"),
    )
    guide = guide_for_item(code=MARRIAGE, answers=ANSWERS, applicant=person)
    form = sample_form(guide)
    case = case_services.case_submit(
        applicant=person.user,
        kind="item",
        code=MARRIAGE,
        answers=guide.answers,
        form_data=form,
        materials=sample_uploads(guide),
        idempotency_key="counter",
        channel="counter",
        filed_by=clerk,
    )
    booking = Booking.objects.get(case=case)
    assert (booking.user_id, booking.booked_by_id) == (person.user_id, clerk.pk)
    audit = AuditEvent.objects.get(action="booking.make")
    assert (audit.actor_id, audit.data["on_behalf"], audit.data["case"]) == (
        clerk.pk,
        True,
        case.receipt_no,
    )
    assert (
        Notice.objects.filter(recipient=person.user, template="booking_made_by_clerk").count() == 1
    )


def test_the_submitted_page_names_the_place_booked(client, person):
    case = _submit(person, _form(person))
    booking = Booking.objects.get(case=case)
    client.force_login(person.user)
    page = client.get(f"/me/cases/{case.receipt_no}/submitted/").content.decode()
    slot = booking.slot
    assert f"预约号 {booking.reference}" in page
    assert f'href="/me/bookings/{booking.reference}/"' in page
    assert slot.hall.name in page and "您的申请已办结（已归档），预约已确认" in page
