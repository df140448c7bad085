"""The public hall finder and hall page, and their API: an item with a district or an
address, an address that cannot be placed, an item nobody handles, a holiday."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.appointments.models import LOCAL_TZ, HallLevel
from tongban.appointments.tests.factories_halls import (
    ComprehensiveWindowFactory,
    DepartmentWindowFactory,
    HandoutWindowFactory,
    PlacedHallFactory,
    ServiceItemFactory,
    ServicePointFactory,
    slot_at,
)

pytestmark = pytest.mark.django_db

NATIONAL_DAY = dt.datetime(2026, 10, 1, 10, 0, tzinfo=LOCAL_TZ)
PUDONG, XUHUI = "310115", "310104"


@pytest.fixture
def item():
    return ServiceItemFactory(code="SH-T-0001", name="居住证测试办理")


@pytest.fixture
def halls(item):
    ljz = PlacedHallFactory(
        code="H-LJZ", name="陆家嘴受理中心（示例）", level=HallLevel.STREET, district=PUDONG,
        latitude="31.235500", longitude="121.508000", items=[item.code],
        address="上海市浦东新区陆家嘴街道示例路600号（示例）",
    )  # fmt: skip
    pd = PlacedHallFactory(
        code="H-PD", name="浦东政务服务中心（示例）", district=PUDONG,
        latitude="31.221000", longitude="121.544000", items=[item.code],
    )  # fmt: skip
    xh = PlacedHallFactory(
        code="H-XH", name="徐汇政务服务中心（示例）", district=XUHUI,
        latitude="31.188200", longitude="121.436800", items=[item.code],
    )  # fmt: skip
    ServicePointFactory(
        code="P-24H", kind="area_24h", name="陆家嘴24小时自助区（示例）",
        latitude="31.238000", longitude="121.503500", item_codes=[item.code],
    )  # fmt: skip
    return ljz, pd, xh


def _names_in_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_finder_start_page(client):
    response = client.get("/halls/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "找办事大厅" in html and 'id="hall-results"' not in html


def test_search_box_lists_matching_items(client, item, halls):
    ServiceItemFactory(code="SH-T-0002", name="居住证积分测试")
    html = client.get("/halls/", {"q": "居住证", "district": PUDONG}).content.decode()
    assert 'href="/halls/?item=SH-T-0001&amp;district=310115"' in html
    assert "3个大厅可办理" in html and "暂无大厅办理" in html
    none = client.get("/halls/", {"q": "不存在的事"}).content.decode()
    assert "没有找到名称中含“不存在的事”的事项" in none


def test_item_and_district_lists_the_district_halls_first(client, item, halls):
    response = client.get("/halls/", {"item": item.code, "district": XUHUI})
    html = response.content.decode()
    assert response.status_code == 200
    assert "能办理“居住证测试办理”的大厅（离徐汇区由近到远）" in html
    assert _names_in_order(html, ["陆家嘴受理中心（示例）", "浦东政务服务中心（示例）",
                                  "徐汇政务服务中心（示例）"]) == [
        "徐汇政务服务中心（示例）", "陆家嘴受理中心（示例）", "浦东政务服务中心（示例）",
    ]  # fmt: skip
    assert "15分钟服务圈：徐汇区附近" in html and "按区中心估算" in html


def test_item_and_address_lists_nearest_first_with_the_circle(client, item, halls):
    html = client.get(
        "/halls/", {"item": item.code, "address": "浦东新区陆家嘴街道示例路1号"}
    ).content.decode()
    assert "离陆家嘴街道由近到远" in html
    assert _names_in_order(html, ["浦东政务服务中心（示例）", "陆家嘴受理中心（示例）"])[0] == (
        "陆家嘴受理中心（示例）"
    )
    assert "约70米" in html
    circle = html[html.index('id="service-circle"') :]
    assert (
        "陆家嘴24小时自助区（示例）" in circle and "24小时开放；自助办理：居住证测试办理" in circle
    )
    assert "徐汇政务服务中心（示例）" not in circle


def test_unknown_address_says_so_and_falls_back_to_the_district(client, item, halls):
    html = client.get(
        "/halls/", {"item": item.code, "address": "示例路88弄", "district": XUHUI}
    ).content.decode()
    assert "未能确定地址“示例路88弄”的位置。以下按徐汇区的中心计算距离。" in html
    alone = client.get("/halls/", {"item": item.code, "address": "示例路88弄"}).content.decode()
    assert "请选择所在的区，或在地址中写明区、街道或路名。" in alone
    assert 'id="service-circle"' not in alone


def test_item_nobody_handles_is_said_plainly(client, halls):
    ServiceItemFactory(code="SH-T-0009", name="只能网办的测试事项")
    html = client.get("/halls/", {"item": "SH-T-0009", "district": PUDONG}).content.decode()
    assert "目前没有政务服务大厅办理“只能网办的测试事项”" in html
    unknown = client.get("/halls/", {"item": "SH-NOPE"}).content.decode()
    assert "没有找到这个事项" in unknown


def test_on_a_holiday_halls_show_closed_today(client, item, halls, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NATIONAL_DAY)
    html = client.get("/halls/", {"item": item.code, "district": PUDONG}).content.decode()
    hall_list = html[html.index('id="hall-list"') : html.index('id="service-circle"')]
    assert hall_list.count("<strong>今日不开放</strong>") == 3


def test_hall_page(client, item, halls):
    ljz = halls[0]
    ComprehensiveWindowFactory(hall=ljz, number="A01", name="综合受理")
    DepartmentWindowFactory(hall=ljz, number="D01", name="户籍专窗", department=item.department)
    HandoutWindowFactory(hall=ljz, number="C01")
    ServicePointFactory(hall=ljz, code="H-LJZ-K01", name="自助终端1号（示例）",
                        item_codes=[item.code])  # fmt: skip
    slot_at(hall=ljz, day=dt.date(2026, 12, 2), item_code=item.code)
    response = client.get("/halls/H-LJZ/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "街镇政务服务（社区事务受理服务中心）" in html
    assert '<strong>D01</strong> 户籍专窗 <span class="tag">专窗</span>' in html
    assert "出件窗口" in html and "可自助办理：居住证测试办理" in html
    assert 'href="/bookings/new/?item=SH-T-0001&amp;hall=H-LJZ"' in html
    assert "SH-T-0001<" not in html  # no raw codes shown
    assert client.get("/halls/NOPE/").status_code == 404


# ---------------------------------------------------------------- API


def test_api_finder(client, item, halls):
    response = client.get(
        "/api/v1/halls", {"item": item.code, "address": "上海市浦东新区陆家嘴街道示例路1号"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["item_name"], body["address_unplaced"], body["place"]["label"]) == (
        "居住证测试办理",
        False,
        "陆家嘴街道",
    )
    assert [h["code"] for h in body["halls"]] == ["H-LJZ", "H-PD", "H-XH"]
    assert body["halls"][0]["distance_km"] == 0.07
    assert set(body["halls"][0]["today"]) == {"open", "periods_text", "calendar_known", "waiting"}
    assert [p["code"] for p in body["circle"]] == ["H-LJZ", "P-24H"]
    bad = client.get("/api/v1/halls", {"item": item.code, "district": "110101"})
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_DISTRICT")


def test_api_hall(client, item, halls):
    ComprehensiveWindowFactory(hall=halls[0], number="A01", name="综合受理")
    body = client.get("/api/v1/halls/H-LJZ").json()
    assert (body["code"], body["level"], len(body["week"])) == ("H-LJZ", "street", 7)
    assert body["windows"] == [
        {"number": "A01", "name": "综合受理", "kind": "comprehensive", "kind_label": "综合窗口",
         "department": "", "only_items": []},
    ]  # fmt: skip
    assert [i["code"] for i in body["items"]] == ["SH-T-0001"]
    missing = client.get("/api/v1/halls/NOPE")
    assert (missing.status_code, missing.json()["code"]) == (404, "HALL_NOT_FOUND")
