"""Test rows for 取号叫号: a hall with items, windows, clerks and a scanner; bookings today."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.models import (
    LOCAL_TZ,
    Booking,
    BookingRule,
    BookingStatus,
    Hall,
    HallItem,
    Slot,
    Window,
    WindowKind,
)
from tongban.appointments.tests.factories import HallFactory
from tongban.catalog.models import Department
from tongban.idcode.services import idcode_issue, scanner_create

# Items of the catalog test fixture (tongban/catalog/tests/fixtures): two personal items of
# different departments, and an enterprise item of the tax department.
BIRTH = "birth_registration"  # police, person
SSCARD = "social_security_card"  # hrss, person
INVOICE = "invoice_application"  # tax, enterprise
# A Monday morning the holiday calendar covers.
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=LOCAL_TZ)
_refs = itertools.count(1)


@dataclass
class QueueHall:
    """A hall whose windows are: A01 综合窗口 (everything), A02 综合窗口 (only 出生登记),
    B01 the tax department's 专窗, C01 出件窗口 (never calls). Two clerks sit in it, one
    in another hall."""

    hall: Hall
    windows: dict[str, Window]
    clerk: object
    clerk2: object
    clerk3: object
    other_hall: Hall
    other_clerk: object
    residents: list = field(default_factory=list)


def queue_hall(*, code: str = "q-hall", hours: bool = False) -> QueueHall:
    """The hall above. HOURS: open 9:00–17:00 on working days (otherwise no hours are set,
    and taking a ticket is not refused for the time)."""
    weekly = [[["09:00", "17:00"]]] * 5 + [[], []] if hours else [[] for _ in range(7)]
    scanner, _key = scanner_create(
        name=f"{code} 入口扫码", organisation="示例大厅", scenario_codes=["hall_checkin"],
        actor_label="test",
    )  # fmt: skip
    hall = HallFactory(code=code, name="示例取号大厅（示例）", weekly_hours=weekly, scanner=scanner)
    for item in (BIRTH, SSCARD, INVOICE):
        HallItem.objects.create(hall=hall, item_code=item)
    tax = Department.objects.get(code="tax")
    windows = {
        "A01": Window.objects.create(hall=hall, number="A01", name="综合受理"),
        "A02": Window.objects.create(hall=hall, number="A02", name="出生登记", item_codes=[BIRTH]),
        "B01": Window.objects.create(
            hall=hall, number="B01", name="税务专窗", kind=WindowKind.DEPARTMENT, department=tax
        ),
        "C01": Window.objects.create(
            hall=hall, number="C01", name="统一出件", kind=WindowKind.HANDOUT
        ),
    }
    police = Department.objects.get(code="police")
    other_hall = HallFactory(code=f"{code}-other", name="另一大厅（示例）")
    HallItem.objects.create(hall=other_hall, item_code=BIRTH)
    Window.objects.create(hall=other_hall, number="A01", name="综合受理")

    def clerk(at):
        return StaffFactory(department=police, role=StaffRole.COUNTER_CLERK, hall=at)

    return QueueHall(
        hall=hall,
        windows=windows,
        clerk=clerk(hall),
        clerk2=clerk(hall),
        clerk3=clerk(hall),
        other_hall=other_hall,
        other_clerk=clerk(other_hall),
    )


def resident(name: str = "张三丰"):
    return ResidentProfileFactory(name=name)


def booking_at(
    hall: Hall, user, *, item_code: str = BIRTH, starts_at: dt.datetime, minutes: int = 30
) -> Booking:
    """A booked place for USER in a slot of HALL's ITEM_CODE starting at STARTS_AT."""
    rule, _ = BookingRule.objects.get_or_create(
        hall=hall, item_code=item_code, defaults={"slot_minutes": minutes, "capacity": 4}
    )
    slot, _ = Slot.objects.get_or_create(
        rule=rule,
        starts_at=starts_at,
        defaults={
            "hall": hall,
            "item_code": item_code,
            "day": timezone.localdate(starts_at),
            "ends_at": starts_at + dt.timedelta(minutes=minutes),
            "capacity": 4,
            "booked": 1,
        },
    )
    return Booking.objects.create(
        reference=f"QB{next(_refs):06d}",
        slot=slot,
        user=user,
        booked_by=user,
        status=BookingStatus.BOOKED,
        created_at=starts_at - dt.timedelta(days=1),
    )


def code_of(user, *, now: dt.datetime) -> str:
    """A fresh personal 随申码 text of USER, issued at NOW."""
    return idcode_issue(user=user, now=now).text
