"""Figures for the seed's targets, exact values from rows built here: 综合窗口设置比例 per
level and city-wide, bookings kept vs no-show, waits; and who may read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.models import BookingStatus, HallLevel
from tongban.appointments.selectors.figures import (
    bookings_kept,
    figure_range,
    waits,
    window_ratio,
)
from tongban.appointments.tests.factories_halls import (
    ComprehensiveWindowFactory,
    DepartmentWindowFactory,
    HandoutWindowFactory,
    PlacedHallFactory,
    VenueFactory,
    booking_in,
    slot_at,
    wait_stat,
)
from tongban.common.errors import InvalidInput

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 12, 1), dt.date(2026, 12, 7)


@pytest.fixture
def halls():
    city = PlacedHallFactory(code="H-C", name="市中心（示例）", level=HallLevel.CITY)
    district = PlacedHallFactory(code="H-D", name="区中心（示例）", level=HallLevel.DISTRICT)
    street = PlacedHallFactory(code="H-S", name="街镇中心（示例）", level=HallLevel.STREET)
    closed = PlacedHallFactory(code="H-X", level=HallLevel.STREET, is_active=False)
    for n in range(3):
        ComprehensiveWindowFactory(hall=city, number=f"A0{n}")
    ComprehensiveWindowFactory(hall=city, number="A09", is_active=False)
    DepartmentWindowFactory(hall=city, number="D01")
    HandoutWindowFactory(hall=city, number="C01")
    for n in range(2):
        ComprehensiveWindowFactory(hall=district, number=f"A0{n}")
        DepartmentWindowFactory(hall=district, number=f"D0{n}")
        ComprehensiveWindowFactory(hall=street, number=f"A0{n}")
    for n in range(5):
        ComprehensiveWindowFactory(hall=closed, number=f"A0{n}")
    return city, district, street


def test_window_ratio_per_hall_level_and_city(halls):
    figures = window_ratio()
    assert figures["city"] == {"comprehensive": 7, "department": 3, "ratio": Decimal("0.7000")}
    assert [(r["level"], r["comprehensive"], r["department"], r["ratio"])
            for r in figures["levels"]] == [
        ("city", 3, 1, Decimal("0.7500")),
        ("district", 2, 2, Decimal("0.5000")),
        ("street", 2, 0, Decimal("1.0000")),
    ]  # fmt: skip
    assert [(r["code"], r["ratio"]) for r in figures["halls"]] == [
        ("H-C", Decimal("0.7500")),
        ("H-D", Decimal("0.5000")),
        ("H-S", Decimal("1.0000")),
    ]


def test_window_ratio_without_windows_is_none():
    PlacedHallFactory(level=HallLevel.CITY)
    HandoutWindowFactory()
    figures = window_ratio()
    assert figures["city"] == {"comprehensive": 0, "department": 0, "ratio": None}


def test_bookings_kept_and_no_show(halls):
    city, district, _ = halls
    day = dt.date(2026, 12, 2)
    slot = slot_at(hall=city, day=day)
    for status in [
        BookingStatus.COMPLETED,
        BookingStatus.COMPLETED,
        BookingStatus.CHECKED_IN,
        BookingStatus.NO_SHOW,
        BookingStatus.CANCELLED,
        BookingStatus.BOOKED,
    ]:
        booking_in(slot, status)
    for _ in range(2):
        booking_in(slot_at(hall=district, day=dt.date(2026, 12, 3)), BookingStatus.NO_SHOW)
    for _ in range(5):
        booking_in(slot_at(hall=city, day=dt.date(2026, 11, 30), item_code="SH-T-0002"))
    venue_slot = slot_at(venue=VenueFactory(), day=dt.date(2026, 12, 4))
    booking_in(venue_slot, BookingStatus.COMPLETED)
    booking_in(venue_slot, BookingStatus.NO_SHOW)
    figures = bookings_kept(start=START, end=END)
    assert figures == {
        "city": {"kept": 4, "no_show": 4, "kept_rate": Decimal("0.5000")},
        "halls": [
            {"code": "H-C", "name": "市中心（示例）", "kept": 3, "no_show": 1,
             "kept_rate": Decimal("0.7500")},
            {"code": "H-D", "name": "区中心（示例）", "kept": 0, "no_show": 2,
             "kept_rate": Decimal("0.0000")},
        ],
        "venues": {"kept": 1, "no_show": 1, "kept_rate": Decimal("0.5000")},
    }  # fmt: skip
    assert bookings_kept(start=END, end=END)["city"] == {
        "kept": 0,
        "no_show": 0,
        "kept_rate": None,
    }


def test_waits_weighted_average_and_highest_daily_p90(halls):
    city, district, _ = halls
    a01 = city.windows.get(number="A00")
    wait_stat(hall=city, day=dt.date(2026, 12, 1), tickets=10, average=300, p90=600)
    wait_stat(hall=city, day=dt.date(2026, 12, 2), tickets=30, average=100, p90=400)
    wait_stat(hall=district, day=dt.date(2026, 12, 2), tickets=20, average=240, p90=500)
    wait_stat(hall=city, day=dt.date(2026, 11, 30), tickets=99, average=9999, p90=9999)
    wait_stat(hall=city, window=a01, day=dt.date(2026, 12, 1), tickets=6, average=200, p90=300)
    wait_stat(hall=city, window=a01, day=dt.date(2026, 12, 2), tickets=4, average=50, p90=90)
    figures = waits(start=START, end=END)
    assert figures["city"] == {
        "tickets": 60,
        "average_wait_seconds": 180,
        "p90_wait_seconds": 600,
    }
    hall_rows = [
        (r["code"], r["tickets"], r["average_wait_seconds"], r["p90_wait_seconds"])
        for r in figures["halls"]
    ]
    assert hall_rows == [("H-C", 40, 150, 600), ("H-D", 20, 240, 500)]
    assert [(r["hall_code"], r["number"], r["tickets"], r["average_wait_seconds"],
             r["p90_wait_seconds"]) for r in figures["windows"]] == [
        ("H-C", "A00", 10, 140, 300)
    ]  # fmt: skip
    empty = waits(start=END, end=END)
    assert empty["city"] == {"tickets": 0, "average_wait_seconds": None, "p90_wait_seconds": None}


def test_figure_range_defaults_and_limits():
    today = dt.date(2026, 12, 4)
    assert figure_range(start=None, end=None, today=today) == (dt.date(2026, 11, 5), today)
    with pytest.raises(InvalidInput) as caught:
        figure_range(start=today, end=dt.date(2026, 12, 1), today=today)
    assert caught.value.code == "DATE_RANGE_INVALID"
    with pytest.raises(InvalidInput):
        figure_range(start=dt.date(2025, 12, 3), end=today, today=today)


# ---------------------------------------------------------------- who may read them


def _user(kind: str):
    if kind == "anonymous":
        return None
    if kind == "resident":
        return ResidentProfileFactory().user
    role = {
        "counter_clerk": StaffRole.COUNTER_CLERK,
        "reviewer": StaffRole.REVIEWER,
        "city_operator": StaffRole.CITY_OPERATOR,
        "administrator": StaffRole.ADMINISTRATOR,
    }[kind]
    return StaffFactory(role=role)


PAGE = "/staff/halls/figures/"
API = "/api/v1/halls/figures"


@pytest.mark.parametrize(
    ("kind", "page_status", "api_status", "api_code"),
    [
        ("anonymous", 302, 401, "AUTHENTICATION_REQUIRED"),
        ("resident", 403, 403, "STAFF_ONLY"),
        ("counter_clerk", 403, 403, "HALL_FIGURES_DENIED"),
        ("reviewer", 403, 403, "HALL_FIGURES_DENIED"),
        ("city_operator", 200, 200, None),
        ("administrator", 200, 200, None),
    ],
)
def test_figures_permission_matrix(client, halls, kind, page_status, api_status, api_code):
    user = _user(kind)
    if user is not None:
        client.force_login(user)
    page = client.get(PAGE)
    assert page.status_code == page_status
    if page_status == 302:
        assert page["Location"] == f"/accounts/login/?next={PAGE}"
    if page_status == 403:
        assert "大厅数据仅限城市运营人员和系统管理员查看" in page.content.decode()
        assert "综合窗口设置比例" not in page.content.decode()
    api = client.get(API, {"start": "2026-12-01", "end": "2026-12-07"})
    assert api.status_code == api_status
    if api_code:
        assert api.json()["code"] == api_code
        assert "windows" not in api.json()


def test_figures_page_and_api_values(client, halls):
    client.force_login(_user("city_operator"))
    booking_in(slot_at(hall=halls[0], day=dt.date(2026, 12, 2)), BookingStatus.NO_SHOW)
    html = client.get(PAGE, {"start": "2026-12-01", "end": "2026-12-07"}).content.decode()
    assert "全市：<strong>70.0%</strong>（综合窗口7个，专窗3个）" in html
    assert "按约到场0次，爽约1次，履约率<strong>0.0%</strong>" in html
    bad = client.get(PAGE, {"start": "2026-12-07", "end": "2026-12-01"})
    assert bad.status_code == 422 and "开始日期不能晚于结束日期" in bad.content.decode()
    body = client.get(API, {"start": "2026-12-01", "end": "2026-12-07"}).json()
    assert (body["start"], body["end"]) == ("2026-12-01", "2026-12-07")
    assert body["windows"]["city"] == {"comprehensive": 7, "department": 3, "ratio": "0.7000"}
    assert body["bookings"]["halls"] == [
        {"code": "H-C", "name": "市中心（示例）", "kept": 0, "no_show": 1, "kept_rate": "0.0000"}
    ]
    reversed_range = client.get(API, {"start": "2026-12-07", "end": "2026-12-01"})
    assert (reversed_range.status_code, reversed_range.json()["code"]) == (
        422,
        "DATE_RANGE_INVALID",
    )
