"""Maintaining halls, windows, service points and venues: each change one audit row naming
the actor and what changed; bad input refused with a stable code and nothing written."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import DepartmentFactory, StaffFactory
from tongban.appointments.models import Hall, HallItem, ServicePoint, Venue, Window
from tongban.appointments.services.halls import (
    hall_create,
    hall_items_set,
    hall_update,
    service_point_create,
    service_point_update,
    venue_create,
    venue_update,
    window_create,
    window_update,
)
from tongban.appointments.tests.factories_halls import (
    ComprehensiveWindowFactory,
    DepartmentWindowFactory,
    PlacedHallFactory,
    ServiceItemFactory,
    ServicePointFactory,
    VenueFactory,
)
from tongban.common.errors import Conflict, InvalidInput
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db

HOURS = [[["09:00", "12:00"], ["13:30", "17:00"]]] * 5 + [[["09:00", "12:00"]], []]


@pytest.fixture
def operator():
    return StaffFactory(role=StaffRole.ADMINISTRATOR)


def test_hall_create_with_level_place_and_hours(operator):
    hall = hall_create(
        actor=operator, code="H-NEW", name="新大厅（示例）", district="310115",
        address="上海市浦东新区示例路9号", level="street", street="花木街道",
        latitude="31.2120006", longitude=121.551, weekly_hours=HOURS,
    )  # fmt: skip
    hall.refresh_from_db()
    assert (hall.level, hall.street, str(hall.latitude), str(hall.longitude)) == (
        "street",
        "花木街道",
        "31.212001",
        "121.551000",
    )
    assert hall.weekly_hours == HOURS
    audit = AuditEvent.objects.get(action="hall.create")
    assert (audit.actor_id, audit.object_id, audit.data) == (operator.pk, str(hall.pk),
                                                              {"code": "H-NEW"})  # fmt: skip


def test_hall_update_records_changed_fields_and_their_previous_values(operator):
    hall = PlacedHallFactory(code="H-1", level="district", weekly_hours=[[]] * 7)
    hall_update(actor=operator, hall=hall, level="city", weekly_hours=HOURS, name=hall.name)
    hall.refresh_from_db()
    assert (hall.level, hall.weekly_hours) == ("city", HOURS)
    audit = AuditEvent.objects.get(action="hall.update")
    assert audit.actor_id == operator.pk
    assert audit.data == {
        "code": "H-1",
        "fields": ["level", "weekly_hours"],
        "before": {"level": "district", "weekly_hours": [[]] * 7},
    }
    # The same values again change nothing and leave no row.
    hall_update(actor=operator, hall=hall, level="city")
    assert AuditEvent.objects.filter(action="hall.update").count() == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"level": "province"}, "HALL_LEVEL_INVALID"),
        ({"district": "110101"}, "INVALID_DISTRICT"),
        ({"address": "  "}, "HALL_INVALID"),
        ({"latitude": "31.2"}, "COORDINATES_INVALID"),
        ({"latitude": "north", "longitude": "121"}, "COORDINATES_INVALID"),
        ({"latitude": "95", "longitude": "121"}, "COORDINATES_INVALID"),
        ({"weekly_hours": [[]] * 6}, "HOURS_INVALID"),
        ({"weekly_hours": [[["9:00", "17:00"]]] + [[]] * 6}, "HOURS_INVALID"),
        ({"weekly_hours": [[["17:00", "09:00"]]] + [[]] * 6}, "HOURS_INVALID"),
        ({"weekly_hours": [[["09:00", "13:00"], ["12:00", "17:00"]]] + [[]] * 6}, "HOURS_INVALID"),
    ],
)
def test_hall_update_refuses_bad_input_and_writes_nothing(operator, changes, code):
    hall = PlacedHallFactory(code="H-1", level="district")
    with pytest.raises(InvalidInput) as caught:
        hall_update(actor=operator, hall=hall, **changes)
    assert caught.value.code == code
    fresh = Hall.objects.get(pk=hall.pk)
    assert (fresh.level, fresh.district, str(fresh.latitude)) == ("district", "310101", "31.230000")
    assert not AuditEvent.objects.exists()


def test_hall_items_set_adds_and_removes_with_one_audit_row(operator):
    a, b, c = (ServiceItemFactory(code=f"SH-T-000{n}") for n in (1, 2, 3))
    hall = PlacedHallFactory(items=[a.code, b.code])
    added, removed = hall_items_set(actor=operator, hall=hall, item_codes=[c.code, a.code, c.code])
    assert (added, removed) == (["SH-T-0003"], ["SH-T-0002"])
    assert sorted(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True)) == [
        "SH-T-0001",
        "SH-T-0003",
    ]
    audit = AuditEvent.objects.get(action="hall.items_set")
    assert audit.data == {"code": hall.code, "added": ["SH-T-0003"], "removed": ["SH-T-0002"]}
    assert hall_items_set(actor=operator, hall=hall, item_codes=[a.code, c.code]) == ([], [])
    assert AuditEvent.objects.filter(action="hall.items_set").count() == 1


def test_hall_items_set_refuses_items_not_in_the_catalog(operator):
    ServiceItemFactory(code="SH-T-0001")
    hall = PlacedHallFactory(items=["SH-T-0001"])
    with pytest.raises(InvalidInput) as caught:
        hall_items_set(actor=operator, hall=hall, item_codes=["SH-T-0001", "SH-NOPE-1"])
    assert (caught.value.code, caught.value.message) == (
        "ITEM_UNKNOWN",
        "事项目录中没有这些事项：SH-NOPE-1",
    )
    with pytest.raises(InvalidInput) as caught:
        hall_items_set(actor=operator, hall=hall, item_codes="SH-T-0001")
    assert caught.value.code == "ITEM_CODES_INVALID"
    assert list(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True)) == [
        "SH-T-0001"
    ]
    assert not AuditEvent.objects.exists()


def test_window_create_of_each_kind(operator):
    hall = PlacedHallFactory()
    dept = DepartmentFactory(code="SH-GA")
    plain = window_create(actor=operator, hall=hall, number="A01", name="综合受理")
    special = window_create(
        actor=operator, hall=hall, number="D01", name="户籍专窗", kind="department",
        department="SH-GA",
    )  # fmt: skip
    assert (plain.kind, plain.department) == ("comprehensive", None)
    assert (special.kind, special.department) == ("department", dept)
    assert [a.data for a in AuditEvent.objects.filter(action="window.create").order_by("id")] == [
        {"number": "A01"},
        {"number": "D01", "kind": "department", "department": "SH-GA"},
    ]
    with pytest.raises(Conflict):
        window_create(actor=operator, hall=hall, number="A01", name="综合受理")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "department"}, "WINDOW_DEPARTMENT_REQUIRED"),
        ({"kind": "handout", "department": "SH-GA"}, "WINDOW_DEPARTMENT_NOT_ALLOWED"),
        ({"kind": "vip"}, "WINDOW_KIND_INVALID"),
        ({"kind": "department", "department": "SH-NONE"}, "DEPARTMENT_UNKNOWN"),
    ],
)
def test_window_create_refuses_inconsistent_kinds(operator, kwargs, code):
    hall = PlacedHallFactory()
    DepartmentFactory(code="SH-GA")
    with pytest.raises(InvalidInput) as caught:
        window_create(actor=operator, hall=hall, number="D09", name="专窗", **kwargs)
    assert caught.value.code == code
    assert not Window.objects.exists() and not AuditEvent.objects.exists()


def test_window_update_kind_department_and_items(operator):
    item = ServiceItemFactory(code="SH-T-0001")
    window = ComprehensiveWindowFactory(number="A05")
    window_update(
        actor=operator, window=window, kind="department", department=item.department,
        item_codes=[item.code],
    )  # fmt: skip
    window.refresh_from_db()
    assert (window.kind, window.department, window.item_codes) == (
        "department",
        item.department,
        ["SH-T-0001"],
    )
    audit = AuditEvent.objects.get(action="window.update")
    assert (audit.object_type, audit.data["fields"], audit.data["before"]) == (
        "window",
        ["kind", "department", "item_codes"],
        {"kind": "comprehensive", "department": None, "item_codes": []},
    )
    # Back to a 综合窗口: the department goes with the kind.
    window_update(actor=operator, window=window, kind="comprehensive")
    window.refresh_from_db()
    assert (window.kind, window.department) == ("comprehensive", None)
    assert AuditEvent.objects.filter(action="window.update").count() == 2


def test_window_update_refuses_a_department_on_a_comprehensive_window(operator):
    window = DepartmentWindowFactory(number="D01")
    other = DepartmentFactory()
    with pytest.raises(InvalidInput) as caught:
        window_update(actor=operator, window=window, kind="comprehensive", department=other)
    assert caught.value.code == "WINDOW_DEPARTMENT_NOT_ALLOWED"
    with pytest.raises(InvalidInput) as caught:
        window_update(actor=operator, window=window, department=None)
    assert caught.value.code == "WINDOW_DEPARTMENT_REQUIRED"
    fresh = Window.objects.get(pk=window.pk)
    assert (fresh.kind, fresh.department_id) == ("department", window.department_id)
    assert not AuditEvent.objects.exists()


def test_service_point_create_and_update(operator):
    item = ServiceItemFactory(code="SH-T-0001")
    hall = PlacedHallFactory()
    point = service_point_create(
        actor=operator, code="P-1", name="自助终端（示例）", kind="kiosk", district="310101",
        address="上海市黄浦区示例路1号", hall=hall, latitude="31.23", longitude="121.47",
        item_codes=[item.code], weekly_hours=HOURS,
    )  # fmt: skip
    assert (point.hall, point.item_codes, point.weekly_hours) == (hall, ["SH-T-0001"], HOURS)
    service_point_update(actor=operator, point=point, kind="area_24h", open_on_holidays=True,
                         hall=None)  # fmt: skip
    point.refresh_from_db()
    assert (point.kind, point.open_on_holidays, point.hall) == ("area_24h", True, None)
    audits = AuditEvent.objects.filter(object_type="service_point").order_by("id")
    assert [(a.action, a.actor_id) for a in audits] == [
        ("service_point.create", operator.pk),
        ("service_point.update", operator.pk),
    ]
    assert audits[1].data["fields"] == ["open_on_holidays", "kind", "hall"]
    assert audits[1].data["before"] == {"open_on_holidays": False, "kind": "kiosk",
                                        "hall": hall.pk}  # fmt: skip
    with pytest.raises(Conflict):
        service_point_create(actor=operator, code="P-1", name="重复", kind="kiosk",
                             district="310101", address="某地")  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        service_point_update(actor=operator, point=ServicePointFactory(), kind="atm")
    assert caught.value.code == "SERVICE_POINT_INVALID"
    assert ServicePoint.objects.filter(kind="atm").count() == 0


def test_venue_create_and_update(operator):
    venue = venue_create(
        actor=operator, code="V-1", name="体育馆（示例）", kind="sports", district="310104",
        address="上海市徐汇区示例路6号", latitude=31.18, longitude=121.43,
        description="羽毛球", weekly_hours=[[["08:00", "21:00"]]] * 7, open_on_holidays=True,
    )  # fmt: skip
    assert (venue.kind, venue.open_on_holidays, str(venue.latitude)) == (
        "sports",
        True,
        "31.180000",
    )
    venue_update(actor=operator, venue=venue, description="羽毛球、乒乓球", is_active=False)
    venue.refresh_from_db()
    assert (venue.description, venue.is_active) == ("羽毛球、乒乓球", False)
    update = AuditEvent.objects.get(action="venue.update")
    assert update.data["fields"] == ["is_active", "description"]
    with pytest.raises(InvalidInput) as caught:
        venue_update(actor=operator, venue=VenueFactory(), kind="zoo")
    assert caught.value.code == "VENUE_INVALID"
    assert Venue.objects.filter(kind="zoo").count() == 0


def test_a_system_actor_is_recorded_by_label():
    hall = PlacedHallFactory()
    hall_update(actor="system:test", hall=hall, phone="12345")
    audit = AuditEvent.objects.get(action="hall.update")
    assert (audit.actor_id, audit.actor_label) == (None, "system:test")


def test_admin_inline_changes_leave_audit_rows(admin_client):
    hall = PlacedHallFactory(code="H-ADM", name="后台大厅（示例）")
    window = ComprehensiveWindowFactory(hall=hall, number="A01", name="综合受理")
    url = f"/admin/appointments/hall/{hall.pk}/change/"
    assert admin_client.get(url).status_code == 200
    form = {
        "code": hall.code, "name": hall.name, "level": "street", "district": hall.district,
        "street": "", "address": hall.address, "latitude": "31.230000",
        "longitude": "121.470000", "phone": "", "opening_hours": hall.opening_hours,
        "weekly_hours": '[[["09:00", "17:00"]], [], [], [], [], [], []]',
        "is_active": "on",
        "windows-TOTAL_FORMS": "1", "windows-INITIAL_FORMS": "1",
        "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000",
        "windows-0-id": window.pk, "windows-0-hall": hall.pk, "windows-0-number": "A01",
        "windows-0-name": "综合受理", "windows-0-kind": "handout",
        "windows-0-item_codes": "[]", "windows-0-is_active": "on",
        "items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "items-0-hall": hall.pk, "items-0-item_code": "SH-T-0001",
    }  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    window.refresh_from_db()
    assert window.kind == "handout"
    assert list(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True)) == [
        "SH-T-0001"
    ]
    audits = {
        a.action: a.data["fields"]
        for a in AuditEvent.objects.filter(
            action__in=["hall.update", "window.update", "hallitem.create"]
        )
    }
    assert audits["hall.update"] == ["level", "weekly_hours"]
    assert "kind" in audits["window.update"]
    assert audits["hallitem.create"] == ["item_code"]
