"""窗口补正: the person brings the original a 补正 asked for to a counter; the clerk serving
them (their ticket called at the clerk's window) sees it, scans it and supplies the 补正 for
them. Nobody else can, and a clerk who has not seen the original is refused."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.appointments.models import TicketSource
from tongban.appointments.services.queue import ticket_call_next, ticket_take, window_sign_in
from tongban.appointments.tests.factories_queue import queue_hall
from tongban.cases import selectors as services_selectors
from tongban.cases import services
from tongban.cases.errors import CaseNotFound
from tongban.cases.models import CaseEvent
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import (  # noqa: F401 - fixtures
    BIRTH_ANSWERS,
    PNG,
    birth_form,
    birth_materials,
    catalog,
    resident,
    staff,
)
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(resident, staff):  # noqa: F811
    """RESIDENT's birth case waiting for the child's photo again, and the resident called
    to window A01 of a hall, where the clerk sits."""
    # 容缺 keeps it at intake, where the acceptor asks for the photo again.
    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(photo="deferred"),
        idempotency_key="counter-supplement",
    )
    services.case_request_supplement(
        actor=staff.acceptor["police"],
        receipt_no=case.receipt_no,
        material_codes=["child_photo"],
        field_codes=[],
        reason="照片不清晰，请携带原件到窗口当面核验",
    )
    q = queue_hall()
    now = timezone.now()
    window_sign_in(clerk=q.clerk, window=q.windows["A01"], now=now)
    ticket_take(
        hall=q.hall,
        item_code="birth_registration",
        source=TicketSource.KIOSK,
        user=resident.user,
        actor="kiosk:test",
        now=now,
    )
    called = ticket_call_next(clerk=q.clerk, now=now)
    assert called.user_id == resident.user_id
    return case, q


def _photo():
    return {"child_photo": MaterialInput(how="upload", files=(Upload("窗口扫描.png", PNG),))}


def test_the_clerk_serving_the_person_supplies_the_original_for_them(waiting):
    case, q = waiting
    services.case_supplement_at_counter(
        clerk=q.clerk,
        receipt_no=case.receipt_no,
        form_data={},
        materials=_photo(),
        originals_seen=True,
    )
    case.refresh_from_db()
    assert case.status == "submitted"
    photo = case.materials.get(material_code="child_photo")
    assert (photo.how, photo.original_name, photo.note) == (
        "upload",
        "窗口扫描.png",
        "原件已在示例取号大厅（示例）A01号窗口当面核验，窗口扫描件附后",
    )
    event = CaseEvent.objects.filter(case=case).latest("pk")
    assert (event.action, event.actor_id, event.data["materials"]) == (
        "supplemented",
        q.clerk.pk,
        ["child_photo"],
    )
    audit = AuditEvent.objects.get(action="case.supplement")
    assert (audit.actor_id, audit.purpose) == (q.clerk.pk, "窗口补正")
    assert case.supplements.get().fulfilled_at is not None
    # The applicant's 办理记录 says who supplied it, and how.
    rows = services_selectors.case_detail(user=case.applicant, receipt_no=case.receipt_no)
    last = rows["events"][-1]
    assert (last["label"], last["post"], last["actor"]) == (
        "窗口补正（原件已当面核验）",
        "counter",
        "staff",
    )


def test_nobody_but_the_clerk_serving_the_person_may_and_nothing_changes(waiting, resident):  # noqa: F811
    case, q = waiting
    for clerk in (q.clerk2, q.other_clerk, resident.user):
        with pytest.raises(CaseNotFound):
            services.case_supplement_at_counter(
                clerk=clerk,
                receipt_no=case.receipt_no,
                form_data={},
                materials=_photo(),
                originals_seen=True,
            )
    with pytest.raises(InvalidInput) as caught:
        services.case_supplement_at_counter(
            clerk=q.clerk,
            receipt_no=case.receipt_no,
            form_data={},
            materials=_photo(),
            originals_seen=False,
        )
    assert caught.value.code == "CASE_ORIGINALS_NOT_SEEN"
    case.refresh_from_db()
    assert case.status == "supplement_requested"
    assert case.supplements.get().fulfilled_at is None
    assert not AuditEvent.objects.filter(action="case.supplement").exists()
    assert case.materials.get(material_code="child_photo").how == "deferred"


def test_the_counter_page_lists_the_case_and_the_clerk_supplies_it(client, waiting, resident):  # noqa: F811
    from tongban.cases.views_staff import COUNTER_RESIDENT_KEY

    case, q = waiting
    client.force_login(q.clerk)
    session = client.session
    session[COUNTER_RESIDENT_KEY] = resident.pk
    session.save()
    page = client.get("/staff/counter/").content.decode()
    assert f'href="/staff/counter/supplement/{case.receipt_no}/"' in page
    assert "照片不清晰，请携带原件到窗口当面核验" in page
    url = f"/staff/counter/supplement/{case.receipt_no}/"
    refused = client.post(url, {"file.child_photo": _png_file()})
    assert refused.status_code == 422
    assert "请当面核验原件后勾选“原件已当面核验”" in refused.content.decode()
    done = client.post(url, {"file.child_photo": _png_file(), "originals_seen": "yes"})
    assert (done.status_code, done["Location"]) == (302, "/staff/counter/")
    case.refresh_from_db()
    assert case.status == "submitted"
    read = AuditEvent.objects.filter(action="personal_data.read", purpose="窗口补正")
    assert read.count() == 0  # nothing but a material was asked: no form values shown
    client.force_login(q.clerk2)  # another clerk of the hall, not serving them
    assert client.get(url).status_code == 404


def _png_file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("扫描.png", PNG, content_type="image/png")


def test_a_walk_in_ticket_naming_nobody_serves_once_the_clerk_identified_the_person(
    resident,  # noqa: F811
    staff,  # noqa: F811
):
    """取号 at the 导服台 without a login: the ticket names nobody, so only the clerk's own
    identification of the applicant (ID card or 随申码 at the counter) ties it to the case."""
    case = services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(photo="deferred"),
        idempotency_key="walk-in",
    )
    services.case_request_supplement(
        actor=staff.acceptor["police"],
        receipt_no=case.receipt_no,
        material_codes=["child_photo"],
        field_codes=[],
        reason="请携带照片原件到窗口",
    )
    q = queue_hall()
    now = timezone.now()
    window_sign_in(clerk=q.clerk, window=q.windows["A01"], now=now)
    ticket_take(
        hall=q.hall,
        item_code="birth_registration",
        source=TicketSource.RECEPTION,
        actor=q.clerk2,
        now=now,
    )
    assert ticket_call_next(clerk=q.clerk, now=now).user_id is None
    kwargs = {"receipt_no": case.receipt_no, "form_data": {}, "originals_seen": True}
    with pytest.raises(CaseNotFound):
        services.case_supplement_at_counter(clerk=q.clerk, materials=_photo(), **kwargs)
    other = ResidentProfileFactory()
    with pytest.raises(CaseNotFound):
        services.case_supplement_at_counter(
            clerk=q.clerk, materials=_photo(), identified_profile_id=other.pk, **kwargs
        )
    case.refresh_from_db()
    assert case.status == "supplement_requested"
    services.case_supplement_at_counter(
        clerk=q.clerk, materials=_photo(), identified_profile_id=resident.pk, **kwargs
    )
    case.refresh_from_db()
    assert case.status == "submitted"
