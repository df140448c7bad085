"""预约签到 by 随申码: the hall's scanner reads the code (scenario hall_checkin), the holder's
booking today at this hall gets its ticket; every refusal says why and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.appointments.models import BookingStatus, QueueEvent, Ticket
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import (
    NOW,
    booking_at,
    code_of,
    queue_hall,
    resident,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from tongban.common.models import AuditEvent
from tongban.idcode.models import ScanLog
from tongban.idcode.token import MESSAGES

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def qh(db):
    catalog_load_directory(path=FIXTURES)
    return queue_hall()


def check_in(qh, code, at, via="entrance", actor=None):
    return svc.booking_check_in(
        hall=qh.hall,
        code=code,
        via=via,
        actor_label="导服台",
        actor=qh.clerk3 if actor is None and via != "kiosk" else actor,
        now=at,
    )


def test_check_in_gives_the_booking_its_ticket(qh):
    person = resident("王五")
    booking = booking_at(qh.hall, person.user, starts_at=NOW)
    at = NOW - 20 * MIN
    ticket = check_in(qh, code_of(person.user, now=at), at)
    booking.refresh_from_db()
    assert (booking.status, booking.checked_in_at) == (BookingStatus.CHECKED_IN, at)
    assert (ticket.number, ticket.source, ticket.booking, ticket.user, ticket.name_masked) == (
        "Y001", "booking", booking, person.user, "王**",
    )  # fmt: skip
    assert (ticket.slot_starts_at, ticket.status, ticket.taken_at) == (NOW, "waiting", at)
    event = QueueEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor, event.data) == (
        "taken", qh.clerk3, {"source": "booking", "via": "entrance", "booking": booking.reference},
    )  # fmt: skip
    assert (
        AuditEvent.objects.filter(action="booking.check_in", object_id=booking.reference).count()
        == 1
    )
    log = ScanLog.objects.get()
    assert (log.scanner_id, log.scenario, log.result, log.profile_id) == (
        qh.hall.scanner_id, "hall_checkin", "ok", person.pk,
    )  # fmt: skip
    # Checking in again (a fresh code) answers with the same ticket.
    assert check_in(qh, code_of(person.user, now=at), at + MIN) == ticket
    assert Ticket.objects.count() == 1


def test_a_kiosk_check_in_is_labelled_with_the_kiosk(qh):
    person = resident()
    booking_at(qh.hall, person.user, starts_at=NOW)
    ticket = svc.booking_check_in(
        hall=qh.hall, code=code_of(person.user, now=NOW), via="kiosk",
        actor_label="自助终端：一楼", now=NOW,
    )  # fmt: skip
    event = QueueEvent.objects.get(ticket=ticket)
    assert (event.actor, event.actor_label, event.data["via"]) == (None, "自助终端：一楼", "kiosk")


def _refused(qh, code, at, exc_type, code_name, message=None):
    before = (Ticket.objects.count(), QueueEvent.objects.count())
    with pytest.raises(exc_type) as refused:
        check_in(qh, code, at)
    assert refused.value.code == code_name
    if message is not None:
        assert refused.value.message == message
    assert (Ticket.objects.count(), QueueEvent.objects.count()) == before
    return refused.value


def test_a_refused_code_says_why_in_the_idcode_words(qh):
    person = resident()
    booking = booking_at(qh.hall, person.user, starts_at=NOW)
    stale = code_of(person.user, now=NOW - 10 * MIN)
    _refused(qh, stale, NOW, InvalidInput, "IDCODE_EXPIRED", MESSAGES["expired"])
    _refused(qh, "not a code", NOW, InvalidInput, "IDCODE_MALFORMED", MESSAGES["malformed"])
    _refused(qh, "  ", NOW, InvalidInput, "IDCODE_REQUIRED")
    code = code_of(person.user, now=NOW)
    check_in(qh, code, NOW)
    booking.refresh_from_db()
    assert booking.status == "checked_in"
    _refused(qh, code, NOW + MIN, InvalidInput, "IDCODE_REPLAYED", MESSAGES["replayed"])
    assert list(ScanLog.objects.order_by("pk").values_list("result", flat=True)) == [
        "expired", "malformed", "ok", "replayed",
    ]  # fmt: skip


def test_no_booking_today_at_this_hall(qh):
    person = resident()
    booking_at(qh.other_hall, person.user, starts_at=NOW)  # at another hall
    booking_at(qh.hall, person.user, starts_at=NOW + dt.timedelta(days=1))  # tomorrow
    error = _refused(qh, code_of(person.user, now=NOW), NOW, NotFound, "CHECK_IN_NO_BOOKING")
    assert "没有预约" in error.message


def test_too_early_and_too_late(qh):
    person = resident()
    booking = booking_at(qh.hall, person.user, starts_at=NOW)  # 10:00–10:30
    early = NOW - 61 * MIN
    used = code_of(person.user, now=early)
    error = _refused(qh, used, early, Conflict, "CHECK_IN_TOO_EARLY")
    assert error.message == "您预约的时段是10:00–10:30，请于09:00以后签到（请刷新随申码后再扫码）"
    # Why the hint: the refused scan used the code up; the same code is refused as a replay.
    _refused(qh, used, early + MIN, InvalidInput, "IDCODE_REPLAYED", MESSAGES["replayed"])
    late = NOW + 30 * MIN
    error = _refused(qh, code_of(person.user, now=late), late, Conflict, "CHECK_IN_TOO_LATE")
    assert error.message == "您预约的时段10:00–10:30已过，请到导服台现场取号"
    booking.refresh_from_db()
    assert booking.status == "booked"
    on_time = NOW - 60 * MIN
    assert check_in(qh, code_of(person.user, now=on_time), on_time).number == "Y001"


def test_a_cancelled_booking_is_not_checked_in(qh):
    person = resident()
    booking = booking_at(qh.hall, person.user, starts_at=NOW)
    booking.status = BookingStatus.CANCELLED
    booking.save()
    _refused(qh, code_of(person.user, now=NOW), NOW, NotFound, "CHECK_IN_NO_BOOKING")


def test_only_the_hall_clerks_check_in_at_the_entrance_and_nothing_is_scanned_otherwise(qh):
    person = resident()
    booking_at(qh.hall, person.user, starts_at=NOW)
    code = code_of(person.user, now=NOW)
    for actor in (qh.other_clerk, person.user):
        with pytest.raises(PermissionDenied):
            check_in(qh, code, NOW, actor=actor)
    with pytest.raises(InvalidInput):
        check_in(qh, code, NOW, via="window")
    assert (ScanLog.objects.count(), Ticket.objects.count()) == (0, 0)


def test_a_hall_without_a_scanner(db):
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-noscan")
    qh.hall.scanner = None
    qh.hall.save()
    person = resident()
    with pytest.raises(DomainError) as refused:
        check_in(qh, code_of(person.user, now=NOW), NOW)
    assert refused.value.code == "HALL_NO_SCANNER"


def test_resident_identify_returns_the_holder(qh):
    person = resident()
    holder = svc.resident_identify(hall=qh.hall, code=code_of(person.user, now=NOW), now=NOW)
    assert (holder.kind, holder.subject.pk, holder.requested_by_id) == (
        "person", person.pk, person.user.pk,
    )  # fmt: skip
    with pytest.raises(InvalidInput):
        svc.resident_identify(hall=qh.hall, code="garbage", now=NOW)
