"""The hall finder on a phone (390×844, Chromium): search an item, pick it, type an address;
the nearest hall first, the 15分钟服务圈, no sideways scrolling, no WCAG A/AA findings."""

from __future__ import annotations

import pytest

from tongban.appointments.tests.factories_halls import (
    PlacedHallFactory,
    ServiceItemFactory,
    ServicePointFactory,
)
from tongban.tests.test_accessibility import AXE, _axe_violations


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_finder_on_a_phone(page):
    item = ServiceItemFactory(code="SH-T-0001", name="居住证测试办理")
    PlacedHallFactory(
        code="H-LJZ", name="浦东新区陆家嘴街道社区事务受理服务中心（示例）", district="310115",
        latitude="31.235500", longitude="121.508000", items=[item.code],
        address="上海市浦东新区陆家嘴街道示例路600号（示例）",
    )  # fmt: skip
    PlacedHallFactory(
        code="H-XH", name="徐汇区政务服务中心（示例）", district="310104",
        latitude="31.188200", longitude="121.436800", items=[item.code],
    )  # fmt: skip
    ServicePointFactory(
        code="P-24H", kind="area_24h", name="陆家嘴24小时自助服务区（示例）",
        latitude="31.238000", longitude="121.503500", item_codes=[item.code],
    )  # fmt: skip
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/halls/")
    page.get_by_label("要办什么事").fill("居住证")
    page.get_by_role("button", name="查找事项").click()
    page.get_by_role("link", name="居住证测试办理").click()
    page.get_by_label("或填写地址").fill("浦东新区陆家嘴街道示例路1号")
    page.get_by_role("button", name="查找大厅").click()
    page.wait_for_load_state()
    first = page.locator("#hall-list > li").first
    assert "陆家嘴街道社区事务受理服务中心" in first.inner_text()
    assert "陆家嘴24小时自助服务区（示例）" in page.locator("#circle-list").inner_text()
    assert _no_sideways_scroll(page)
    assert (_axe_violations(page) if AXE.exists() else []) == []
    first.get_by_role("link").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("浦东新区陆家嘴")
    assert _no_sideways_scroll(page)
    assert (_axe_violations(page) if AXE.exists() else []) == []
