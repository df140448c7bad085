"""The halls part's reads that other parts call: which halls handle an item, which windows
take it, today's hours and waiting; the gazetteer; the finder and the 15分钟服务圈."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.models import District
from tongban.accounts.tests.factories import DepartmentFactory
from tongban.appointments import places
from tongban.appointments.models import LOCAL_TZ, HallLevel, Ticket, TicketStatus
from tongban.appointments.selectors.halls import (
    hall_detail,
    hall_finder,
    hall_today,
    halls_for_item,
    items_search,
    service_circle,
    week_hours,
    windows_for_item,
)
from tongban.appointments.tests.factories_halls import (
    ComprehensiveWindowFactory,
    DepartmentWindowFactory,
    HandoutWindowFactory,
    PlacedHallFactory,
    ServiceItemFactory,
    ServicePointFactory,
    VenueFactory,
    slot_at,
)

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 in Shanghai.
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ)
NATIONAL_DAY = dt.datetime(2026, 10, 1, 10, 0, tzinfo=LOCAL_TZ)  # a Thursday, 放假


@pytest.fixture
def item():
    return ServiceItemFactory(code="SH-T-0001", name="测试户籍事项")


def test_halls_for_item_are_the_active_halls_handling_it(item):
    a = PlacedHallFactory(code="H-A", items=[item.code])
    b = PlacedHallFactory(code="H-B", items=[item.code, "SH-T-0009"])
    PlacedHallFactory(code="H-C", items=["SH-T-0009"])
    PlacedHallFactory(code="H-D", items=[item.code], is_active=False)
    assert list(halls_for_item(item_code=item.code)) == [a, b]
    assert list(halls_for_item(item_code="SH-NONE")) == []


def test_windows_for_item_follow_kind_department_and_narrowing(item):
    hall = PlacedHallFactory(items=[item.code])
    other_dept = DepartmentFactory()
    a01 = ComprehensiveWindowFactory(hall=hall, number="A01")
    ComprehensiveWindowFactory(hall=hall, number="A02", is_active=False)
    ComprehensiveWindowFactory(hall=hall, number="A03", item_codes=["SH-T-0009"])
    a04 = ComprehensiveWindowFactory(hall=hall, number="A04", item_codes=[item.code])
    HandoutWindowFactory(hall=hall, number="C01")
    d01 = DepartmentWindowFactory(hall=hall, number="D01", department=item.department)
    DepartmentWindowFactory(hall=hall, number="D02", department=other_dept)
    assert windows_for_item(hall=hall, item_code=item.code) == [a01, a04, d01]


def test_windows_for_item_is_empty_when_the_hall_does_not_handle_it(item):
    hall = PlacedHallFactory(items=[])
    ComprehensiveWindowFactory(hall=hall, number="A01")
    assert windows_for_item(hall=hall, item_code=item.code) == []


def test_hall_today_gives_hours_open_now_and_waiting(item):
    hall = PlacedHallFactory(weekly_hours=[[["09:00", "12:00"], ["13:30", "17:00"]]] * 5 + [[], []])
    for seq, status in enumerate(
        [TicketStatus.WAITING, TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.DONE], 1
    ):
        Ticket.objects.create(
            hall=hall, day=NOW.date(), number=f"A{seq:03d}", sequence=seq,
            item_code=item.code, source="kiosk", status=status, taken_at=NOW,
        )  # fmt: skip
    Ticket.objects.create(
        hall=hall, day=NOW.date() - dt.timedelta(days=1), number="A001", sequence=1,
        item_code=item.code, source="kiosk", status=TicketStatus.WAITING, taken_at=NOW,
    )  # fmt: skip
    assert hall_today(hall=hall, now=NOW) == {
        "open": True,
        "periods_text": "9:00–12:00、13:30–17:00",
        "calendar_known": True,
        "waiting": 2,
    }
    lunch = NOW.replace(hour=12, minute=30)
    assert hall_today(hall=hall, now=lunch)["open"] is False
    saturday = NOW + dt.timedelta(days=3)
    assert hall_today(hall=hall, now=saturday) == {
        "open": False,
        "periods_text": "今日不开放",
        "calendar_known": True,
        "waiting": 0,
    }


def test_hall_today_on_a_holiday_is_closed_unless_open_on_holidays():
    hall = PlacedHallFactory()
    assert hall_today(hall=hall, now=NATIONAL_DAY)["periods_text"] == "今日不开放"
    hall.open_on_holidays = True
    assert hall_today(hall=hall, now=NATIONAL_DAY)["periods_text"] == "9:00–17:00"


def test_week_hours_mark_holidays_and_worked_weekends():
    hall = PlacedHallFactory()
    week = week_hours(hall, now=dt.datetime(2026, 10, 6, 9, tzinfo=LOCAL_TZ))
    assert [(r["day"].isoformat(), r["weekday"], r["periods_text"], r["note"]) for r in week] == [
        ("2026-10-06", "周二", "今日不开放", "法定节假日"),
        ("2026-10-07", "周三", "今日不开放", "法定节假日"),
        ("2026-10-08", "周四", "9:00–17:00", ""),
        ("2026-10-09", "周五", "9:00–17:00", ""),
        ("2026-10-10", "周六", "9:00–17:00", "调休上班"),
        ("2026-10-11", "周日", "今日不开放", ""),
        ("2026-10-12", "周一", "9:00–17:00", ""),
    ]


# ---------------------------------------------------------------- gazetteer


def test_place_locate_prefers_a_street_then_a_district():
    street = places.place_locate("上海市浦东新区陆家嘴环路1000号")
    assert (street.label, street.district, street.precision) == ("陆家嘴街道", "310115", "street")
    district = places.place_locate("上海市 徐汇区 示例路88弄")
    assert (district.label, district.district, district.precision) == (
        "徐汇区",
        "310104",
        "district",
    )
    assert places.place_locate("浦东").district == District.PUDONG
    assert places.place_locate("示例路88弄") is None
    assert places.place_locate("   ") is None


def test_distance_is_great_circle_kilometres():
    # One hundredth of a degree of latitude is about 1.11 km anywhere.
    assert places.distance_km(31.0, 121.0, 31.01, 121.0) == pytest.approx(1.112, abs=0.001)
    assert places.walk_minutes(0.96) == 15


# ---------------------------------------------------------------- finder


def _three_halls(item):
    near = PlacedHallFactory(
        code="H-NEAR", name="近处大厅（示例）", latitude="31.236000", longitude="121.508000",
        district=District.PUDONG, items=[item.code], level=HallLevel.STREET,
    )  # fmt: skip
    far = PlacedHallFactory(
        code="H-FAR", name="远处大厅（示例）", latitude="31.188200", longitude="121.436800",
        district=District.XUHUI, items=[item.code],
    )  # fmt: skip
    mid = PlacedHallFactory(
        code="H-MID", name="中间大厅（示例）", latitude="31.221000", longitude="121.544000",
        district=District.PUDONG, items=[item.code],
    )  # fmt: skip
    return near, mid, far


def test_finder_by_address_lists_nearest_first(item):
    _three_halls(item)
    found = hall_finder(item_code=item.code, address="浦东新区陆家嘴街道示例路1号", now=NOW)
    assert (found.item_known, found.item_name, found.address_unplaced) == (
        True,
        "测试户籍事项",
        False,
    )
    assert found.place.label == "陆家嘴街道"
    assert [h["code"] for h in found.halls] == ["H-NEAR", "H-MID", "H-FAR"]
    assert [h["distance_text"] for h in found.halls] == ["约50米", "约3.9公里", "约8.6公里"]
    assert found.halls[0]["today"]["periods_text"] == "9:00–17:00"


def test_finder_unplaced_address_falls_back_to_the_district(item):
    _three_halls(item)
    found = hall_finder(item_code=item.code, district=District.XUHUI, address="示例路88弄", now=NOW)
    assert found.address_unplaced is True
    assert (found.place.label, found.place.precision) == ("徐汇区", "district")
    assert found.halls[0]["code"] == "H-FAR"
    nowhere = hall_finder(item_code=item.code, address="示例路88弄", now=NOW)
    assert (nowhere.address_unplaced, nowhere.place) == (True, None)
    # Without a place, halls are listed by code, without distances.
    assert [h["code"] for h in nowhere.halls] == ["H-FAR", "H-MID", "H-NEAR"]
    assert {h["distance_text"] for h in nowhere.halls} == {""}


def test_finder_item_nobody_handles_and_unknown_item(item):
    ServiceItemFactory(code="SH-T-0002", name="无人办理的事项")
    found = hall_finder(item_code="SH-T-0002", district=District.PUDONG, now=NOW)
    assert (found.item_known, found.halls) == (True, [])
    unknown = hall_finder(item_code="SH-NOPE", now=NOW)
    assert (unknown.item_known, unknown.item_name, unknown.halls) == (False, "", [])


def test_service_circle_lists_points_within_a_quarter_hour_walk(item):
    centre = (31.236000, 121.508000)
    PlacedHallFactory(code="H-1", latitude="31.236000", longitude="121.509000", items=[item.code])
    PlacedHallFactory(code="H-FAR", latitude="31.260000", longitude="121.508000")
    ServicePointFactory(
        code="P-24H", kind="area_24h", name="24小时自助区（示例）",
        latitude="31.238000", longitude="121.503500", item_codes=[item.code],
    )  # fmt: skip
    ServicePointFactory(code="P-OFF", latitude="31.2365", longitude="121.5085", is_active=False)
    venue = VenueFactory(code="V-1", latitude="31.240000", longitude="121.510000")
    slot_at(venue=venue, day=NOW.date())
    circle = service_circle(latitude=centre[0], longitude=centre[1], now=NOW)
    assert [(p["code"], p["kind"], p["offers"], p["walk_minutes"]) for p in circle] == [
        ("H-1", "hall", "可办理1项事项，取号、预约办事", 1),
        ("P-24H", "service_point", "24小时开放；自助办理：测试户籍事项", 8),
        ("V-1", "venue", "可预约：羽毛球场", 8),
    ]
    assert circle[0]["today"]["periods_text"] == "9:00–17:00"
    assert circle[1]["today"]["periods_text"] == "全天开放"


def test_items_search_puts_items_some_hall_handles_first(item):
    ServiceItemFactory(code="SH-T-0003", name="户籍迁移测试")
    PlacedHallFactory(items=["SH-T-0003"])
    rows = items_search(q=" 户籍 ")
    assert [(r["code"], r["halls"]) for r in rows] == [("SH-T-0003", 1), ("SH-T-0001", 0)]
    assert items_search(q="") == []


def test_hall_detail(item):
    hall = PlacedHallFactory(code="H-D", items=[item.code], level=HallLevel.STREET)
    ComprehensiveWindowFactory(hall=hall, number="A01", name="综合受理")
    DepartmentWindowFactory(
        hall=hall, number="D01", name="户籍专窗", department=item.department,
        item_codes=[item.code],
    )  # fmt: skip
    ServicePointFactory(hall=hall, code="H-D-K01", item_codes=[item.code])
    slot_at(hall=hall, day=NOW.date(), item_code=item.code)
    detail = hall_detail(code="H-D", now=NOW)
    assert detail["level_label"] == "街镇"
    assert [(w["number"], w["kind_label"], w["department"], w["only_items"])
            for w in detail["windows"]] == [
        ("A01", "综合窗口", "", []),
        ("D01", "专窗", item.department.name, ["测试户籍事项"]),
    ]  # fmt: skip
    assert detail["items"] == [
        {
            "code": item.code,
            "name": "测试户籍事项",
            "department": item.department.name,
            "subject": "person",
            "bookable": True,
        }
    ]
    assert [(p["code"], p["items"]) for p in detail["service_points"]] == [
        ("H-D-K01", ["测试户籍事项"])
    ]
    assert len(detail["week"]) == 7 and detail["week"][0]["is_today"]
    assert hall_detail(code="NOPE") is None
