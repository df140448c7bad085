"""The demo city's halls as a service: fixed codes others rely on, 两个集中, windows of each
kind, service points, venues, one hall_checkin scanner per hall; idempotent, tolerant of a
catalog not loaded yet, and extending halls an older demo made."""

from __future__ import annotations

import pytest

from tongban.appointments.models import Hall, HallItem, ServicePoint, Venue, Window
from tongban.appointments.selectors.halls import halls_for_item
from tongban.catalog.models import Department
from tongban.common.models import AuditEvent
from tongban.demo import halls as demo
from tongban.idcode.services import scanner_key_hash

pytestmark = pytest.mark.django_db

HALL_CODES = ["SH-HP-WT", "SH-PD-LJZ", "SH-PD-ZWFW", "SH-SMZX", "SH-XH-TLQ", "SH-XH-ZWFW"]


@pytest.fixture
def departments():
    for code in ("SH-GA", "SH-SWJ", "SH-GHZY", "SH-YBJ"):
        Department.objects.create(code=code, name=f"示例{code}", region_code="310000")


def _windows(code: str) -> list[tuple[str, str, str]]:
    return [
        (w.number, w.kind, w.department.code if w.department else "")
        for w in Window.objects.filter(hall__code=code).select_related("department")
    ]


def test_demo_halls_with_the_catalog(departments):
    halls = demo.ensure_demo_halls()
    assert sorted(halls) == HALL_CODES
    levels = {h.code: (h.level, h.district, h.street) for h in Hall.objects.all()}
    assert levels == {
        "SH-SMZX": ("city", "310101", "人民广场"),
        "SH-PD-ZWFW": ("district", "310115", "花木街道"),
        "SH-XH-ZWFW": ("district", "310104", "徐家汇街道"),
        "SH-PD-LJZ": ("street", "310115", "陆家嘴街道"),
        "SH-XH-TLQ": ("street", "310104", "田林街道"),
        "SH-HP-WT": ("street", "310101", "外滩街道"),
    }
    assert all("示例" in h.name and "示例" in h.address for h in Hall.objects.all())
    assert all(h.latitude is not None for h in Hall.objects.all())
    pudong = halls["SH-PD-ZWFW"]
    assert pudong.weekly_hours[5] == [["09:00", "12:00"]] and pudong.weekly_hours[6] == []
    assert halls["SH-PD-LJZ"].weekly_hours[5] == []
    assert _windows("SH-SMZX") == [
        ("A01", "comprehensive", ""),
        ("A02", "comprehensive", ""),
        ("A03", "comprehensive", ""),
        ("B01", "comprehensive", ""),
        ("C01", "handout", ""),
        ("D01", "department", "SH-GA"),
        ("D02", "department", "SH-SWJ"),
    ]
    assert _windows("SH-XH-TLQ")[-1] == ("D01", "department", "SH-YBJ")
    # 两个集中: enterprise items at district centres, personal at 街镇, the city everything.
    assert [h.code for h in halls_for_item(item_code="SH-SCJ-0101")] == [
        "SH-PD-ZWFW",
        "SH-SMZX",
        "SH-XH-ZWFW",
    ]
    assert [h.code for h in halls_for_item(item_code="SH-MZJ-0101")] == [
        "SH-HP-WT",
        "SH-PD-LJZ",
        "SH-SMZX",
        "SH-XH-TLQ",
    ]
    # 婚姻登记 is done by the districts themselves.
    assert [h.code for h in halls_for_item(item_code="SH-MZJ-0401")] == [
        "SH-PD-ZWFW",
        "SH-SMZX",
        "SH-XH-ZWFW",
    ]
    # Not at any counter: online only.
    assert not HallItem.objects.filter(item_code="SH-SCJ-0301").exists()
    assert HallItem.objects.filter(hall__code="SH-SMZX").count() == 54
    points = {p.code: (p.kind, p.hall.code if p.hall else "") for p in ServicePoint.objects.all()}
    assert points == {
        "SH-SMZX-K01": ("kiosk", "SH-SMZX"),
        "SH-PD-ZWFW-K01": ("kiosk", "SH-PD-ZWFW"),
        "SH-PD-24H-01": ("area_24h", ""),
    }
    area = ServicePoint.objects.get(code="SH-PD-24H-01")
    assert area.open_on_holidays and "SH-GA-0401" in area.item_codes
    assert "SH-SCJ-0101" not in area.item_codes
    assert dict(Venue.objects.values_list("code", "kind")) == {
        "SH-TYJ-V01": "sports",
        "SH-WLJ-V01": "culture",
    }
    for hall in Hall.objects.select_related("scanner"):
        assert hall.scanner.scenarios == ["hall_checkin"] and hall.scanner.is_synthetic
        assert hall.scanner.key_hash == scanner_key_hash(demo.demo_hall_scanner_key(hall.code))


def test_demo_halls_are_idempotent_and_audited(departments):
    first = demo.ensure_demo_halls()
    audits = AuditEvent.objects.count()
    counts = (Hall.objects.count(), Window.objects.count(), HallItem.objects.count())
    second = demo.ensure_demo_halls()
    assert first == second
    assert AuditEvent.objects.count() == audits
    assert (Hall.objects.count(), Window.objects.count(), HallItem.objects.count()) == counts
    assert counts[:2] == (6, 27)
    by_action = {
        action: AuditEvent.objects.filter(action=action, actor_label=demo.ACTOR).count()
        for action in (
            "hall.create",
            "hall.items_set",
            "hall.update",
            "window.create",
            "service_point.create",
            "venue.create",
        )
    }
    # hall.update: each hall's scanner set.
    assert by_action == {
        "hall.create": 6,
        "hall.items_set": 6,
        "hall.update": 6,
        "window.create": 27,
        "service_point.create": 3,
        "venue.create": 2,
    }


def test_department_windows_wait_for_the_catalog():
    demo.ensure_demo_halls()
    assert Window.objects.filter(kind="department").count() == 0
    assert HallItem.objects.filter(hall__code="SH-SMZX").count() == 54
    Department.objects.create(code="SH-GA", name="示例市公安局", region_code="310000")
    demo.ensure_demo_halls()
    assert list(Window.objects.filter(kind="department").values_list("hall__code", "number")) == [
        ("SH-SMZX", "D01")
    ]


def test_halls_of_an_older_demo_are_extended_once(departments):
    hall = Hall.objects.create(
        code="SH-SMZX", name="示例市市民中心（示例）", district="310101",
        address="上海市黄浦区示例大道200号（示例）", opening_hours="工作日",
    )  # fmt: skip
    Window.objects.create(hall=hall, number="A01", name="综合受理")
    Window.objects.create(hall=hall, number="C01", name="统一出件")
    demo.ensure_demo_halls()
    hall.refresh_from_db()
    assert (hall.level, hall.street, str(hall.latitude)) == ("city", "人民广场", "31.230900")
    assert _windows("SH-SMZX")[0] == ("A01", "comprehensive", "")
    assert ("C01", "handout", "") in _windows("SH-SMZX")
    updates = AuditEvent.objects.filter(action="hall.update", object_id=str(hall.pk))
    (extended,) = [e for e in updates if "level" in e.data["fields"]]
    assert (extended.data["before"]["level"], extended.data["before"]["latitude"]) == (
        "district",
        None,
    )
    # A tester's later change survives the next run.
    Hall.objects.filter(pk=hall.pk).update(level="district")
    Window.objects.filter(hall=hall, number="C01").update(kind="comprehensive")
    demo.ensure_demo_halls()
    hall.refresh_from_db()
    assert hall.level == "district"
    assert Window.objects.get(hall=hall, number="C01").kind == "comprehensive"
