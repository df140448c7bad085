"""In Chromium: the hall screen shows a call within a few seconds without reloading (its
script polls the feed), under the page's strict CSP; the clerk's page and the screen pass
axe-core's WCAG 2.1 A/AA checks and fit a 390 px phone without sideways scrolling, the 导服台's
过号重排 list included."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tongban.appointments.models import TicketSource
from tongban.appointments.services import queue as svc
from tongban.appointments.tests.factories_queue import BIRTH, queue_hall, resident
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _axe(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_screen_shows_a_call_without_reloading(page):
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-screen")
    person = resident("钱多多")
    ticket = svc.ticket_take(
        hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, user=person.user, actor="k"
    )
    svc.window_sign_in(clerk=qh.clerk, window=qh.windows["A02"])
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto("/halls/q-screen/display/")
    assert page.text_content("#screen-latest").strip() == "请留意叫号"
    page.evaluate("window.__same = true")  # gone if the page reloads
    svc.ticket_call_next(clerk=qh.clerk)
    # The poll runs every 2 s: the call must be on the screen well within 8.
    expect(page.locator("#screen-latest")).to_contain_text("A001", timeout=8000)
    latest = page.text_content("#screen-latest")
    assert "A001" in latest and "A02" in latest and "钱**" in latest and "钱多多" not in latest
    assert page.evaluate("window.__same === true")
    assert page.text_content("#screen-waiting") == "0"
    assert errors == []
    assert _axe(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert _no_sideways_scroll(page)
    assert ticket.pk


def test_the_clerk_page_is_accessible_and_fits_a_phone(page, live_server, client):
    catalog_load_directory(path=FIXTURES)
    qh = queue_hall(code="q-clerk")
    svc.ticket_take(hall=qh.hall, item_code=BIRTH, source=TicketSource.KIOSK, actor="k")
    client.force_login(qh.clerk)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/staff/queue/")
    page.get_by_role("button", name="A01 综合受理").click()
    page.get_by_role("button", name="叫下一位").click()
    assert page.text_content("#current-number").strip() == "A001"
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.locator("#skip-button").click()
    # 过号重排 at the 导服台: the skipped number is listed with its button, and goes back.
    page.goto("/staff/queue/reception/")
    expect(page.locator("#skipped-list")).to_contain_text("A001")
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.get_by_role("button", name="A001号重新排队").click()
    expect(page.locator(".messages")).to_contain_text("A001 号已重新排队")
    assert page.locator("#no-skipped").is_visible()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
