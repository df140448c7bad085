"""预约规则 in Chromium at 390 px: the list stacks its rows, the forms fit without sideways
scrolling, an error sits next to its field, and the pages pass axe-core's WCAG A/AA checks."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.appointments.models import BookingRule
from tongban.appointments.tests.factories_booking import (
    BookingRuleFactory,
    VenueFactory,
    hall_handling,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _axe(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_rules_on_a_phone(page, live_server, client):
    catalog_load_directory(path=FIXTURES)
    hall = hall_handling(
        "vaccination_certificate",
        "birth_registration",
        code="rb-hall",
        name="浦东新区陆家嘴街道社区事务受理服务中心（示例）",
    )
    BookingRuleFactory(hall=hall, item_code="birth_registration", slot_minutes=45)
    venue = VenueFactory(code="rb-venue", name="徐汇区示例体育中心（示例）")
    BookingRuleFactory(hall=None, venue=venue, item_code="", resource="羽毛球1号场（示例长名称）")
    operator = StaffFactory(role=StaffRole.CITY_OPERATOR)
    client.force_login(operator)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/staff/")
    page.get_by_role("link", name="预约规则").click()
    page.wait_for_url("**/staff/bookings/rules/")
    assert "羽毛球1号场" in page.locator("#booking-rules").inner_text()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []

    page.get_by_role("link", name="新增预约规则").click()
    page.get_by_role("link", name="浦东新区陆家嘴街道社区事务受理服务中心（示例）").click()
    page.get_by_label("事项").select_option("vaccination_certificate")
    page.get_by_label("每时段名额").fill("0")
    page.get_by_role("button", name="保存并生成时段").click()
    assert "每时段名额须为1至500之间的整数" in page.locator("#capacity-error").inner_text()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.get_by_label("每时段名额").fill("6")
    page.get_by_label("每个时段（分钟）").select_option("20")
    page.get_by_role("button", name="保存并生成时段").click()
    page.wait_for_url("**/staff/bookings/rules/")
    rule = BookingRule.objects.get(item_code="vaccination_certificate")
    assert (rule.slot_minutes, rule.capacity) == (20, 6)

    page.goto(f"/staff/bookings/rules/{rule.pk}/")
    page.get_by_label("停用（不接受新预约，已有预约仍有效）").check()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/staff/bookings/rules/")
    rule.refresh_from_db()
    assert rule.is_active is False
