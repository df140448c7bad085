"""In Chromium, on a kiosk-like portrait screen (1080×1920) and at 390 px: a resident logs in
by having the scanner "type" their 随申码, takes a ticket, and logs out; the idle countdown
shows and 继续使用 keeps the session."""

from __future__ import annotations

import pytest

from tongban.appointments.middleware_kiosk import KIOSK_COOKIE
from tongban.appointments.models import Ticket
from tongban.appointments.services.kiosk import kiosk_enrol
from tongban.tests.test_accessibility import AXE, _axe_violations

from . import conftest_kiosk
from .conftest_kiosk import person_code

# The shared fixtures, found by pytest in this module.
kiosk_catalog, world = conftest_kiosk.kiosk_catalog, conftest_kiosk.world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _wcag(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _enrol_browser(page, world) -> None:
    key = kiosk_enrol(actor=world.clerk, point=world.point)
    page.context.add_cookies([{"name": KIOSK_COOKIE, "value": key, "url": page.base_url}])


def _scan_login_take_ticket_logout(page, world, errors: list[str]) -> str:
    page.goto("/kiosk/")
    assert page.get_by_role("heading", name="欢迎使用自助服务").is_visible()
    assert _no_sideways_scroll(page) and _wcag(page) == []
    page.get_by_role("link", name="扫码登录").click()
    page.wait_for_url("**/kiosk/login/")
    # The scanner types into whatever has focus: the page put it on the code field.
    assert page.evaluate("document.activeElement.id") == "kiosk-code"
    assert _no_sideways_scroll(page) and _wcag(page) == []
    page.keyboard.type(person_code(world.resident.user))
    page.keyboard.press("Enter")
    page.wait_for_url("**/kiosk/")
    assert page.get_by_text("您好，王**").is_visible()
    assert "秒后自动退出" in page.locator("#kiosk-countdown").inner_text()
    assert _no_sideways_scroll(page) and _wcag(page) == []

    page.get_by_role("link", name="取号").click()
    page.wait_for_url("**/kiosk/ticket/")
    page.get_by_role("button", name="社会保障卡申领").click()
    page.wait_for_url("**/kiosk/tickets/*/")
    number = page.locator("#ticket-number").inner_text()
    assert Ticket.objects.get(number=number).user == world.resident.user
    assert page.get_by_role("button", name="打印排队号").is_visible()
    assert _no_sideways_scroll(page) and _wcag(page) == []

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/kiosk/?ended=logout")
    assert page.locator("#kiosk-ended").inner_text() == "已退出。您的信息已从本机清除。"
    assert "王**" not in page.locator("body").inner_text()
    assert number not in page.locator("body").inner_text()
    assert errors == []
    # Nothing of the person comes back from the browser's history: the ticket page is asked
    # for again (no-store) and is not theirs to see any more.
    response = page.go_back()
    assert response is not None and response.status == 404
    assert "王**" not in page.locator("body").inner_text()
    errors.clear()
    return number


def test_scan_login_ticket_and_logout_on_a_portrait_kiosk(page, world):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1080, "height": 1920})
    _enrol_browser(page, world)
    _scan_login_take_ticket_logout(page, world, errors)
    # Big targets: every menu tile at least 64 px high.
    page.goto("/kiosk/")
    heights = page.locator(".kiosk-tile").evaluate_all("els => els.map(e => e.offsetHeight)")
    assert heights and min(heights) >= 64


def test_at_390px_and_the_idle_countdown(page, world, settings):
    settings.TONGBAN_KIOSK_IDLE_SECONDS = 16  # the warning shows in the last 8 seconds
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 390, "height": 844})
    _enrol_browser(page, world)
    _scan_login_take_ticket_logout(page, world, errors)

    page.goto("/kiosk/login/")
    page.keyboard.type(person_code(world.resident.user))
    page.keyboard.press("Enter")
    page.wait_for_url("**/kiosk/")
    warning = page.locator("#kiosk-idle")
    warning.wait_for(state="visible", timeout=12_000)
    assert page.evaluate("document.activeElement.id") == "kiosk-continue"
    assert _no_sideways_scroll(page)
    page.get_by_role("button", name="继续使用").click()
    warning.wait_for(state="hidden")
    page.reload()
    assert page.get_by_text("您好，王**").is_visible()  # still logged in on the server
    assert errors == []
