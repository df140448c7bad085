"""The counter (综合窗口): a case filed by a clerk signed in at a window records that window,
a rating of that filing names it (好差评 三对应: person, item, window), and the ticket being
served at the window is linked to the case."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.appointments.models import TicketSource
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import BIRTH, queue_hall
from tongban.cases import services as case_services
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.reviews.services import rating_create


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def file(person, clerk, key="c1"):
    return case_services.case_submit(
        applicant=person.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(person),
        materials=birth_materials(photo="deferred"),
        idempotency_key=key,
        channel="counter",
        filed_by=clerk,
    )


def test_the_counter_case_records_the_window_and_the_rating_gets_it(qh):
    person = ResidentProfileFactory()
    ticket = svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, user=person.user,
        actor="kiosk:K01",
    )  # fmt: skip
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A02"])
    called = svc.ticket_call_next(clerk=qh.clerk)
    assert called == ticket
    svc.ticket_start(clerk=qh.clerk, ticket=called)
    case = file(person, qh.clerk)
    assert (case.hall, case.window) == (qh.hall, qh.windows["A02"])
    ticket.refresh_from_db()
    assert ticket.case == case  # linked while serving
    done = svc.ticket_finish(clerk=qh.clerk, ticket=ticket)
    assert done.case == case
    rating = rating_create(rater=person.user, receipt_no=case.receipt_no, subject="filing", level=5)
    assert (rating.window_id, rating.hall_id, rating.staff_id) == (
        qh.windows["A02"].pk, qh.hall.pk, qh.clerk.pk,
    )  # fmt: skip


def test_a_clerk_not_signed_in_files_without_a_window(qh):
    person = ResidentProfileFactory()
    case = file(person, qh.clerk)
    assert (case.hall, case.window) == (qh.hall, None)


def test_finish_refuses_someone_elses_case(qh):
    person, other = ResidentProfileFactory(), ResidentProfileFactory()
    svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, user=person.user, actor="k"
    )
    case = file(other, qh.clerk, key="other")  # before sign-in: no ticket is linked
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A01"])
    ticket = svc.ticket_call_next(clerk=qh.clerk)
    svc.ticket_start(clerk=qh.clerk, ticket=ticket)
    with pytest.raises(svc.InvalidInput):
        svc.ticket_finish(clerk=qh.clerk, ticket=ticket, case=case)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.case) == ("serving", None)
