"""In Chromium: the staff list page (places with 停用 and the 新增 form, an error shown)
and 我的轮候 as a relative acting for the person (代 X 办理) pass axe-core's WCAG 2.1 A/AA
checks and fit a 390 px phone without sideways scrolling."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongban.appointments.services import waitlist as services
from tongban.appointments.tests.factories_waitlist import CARE, bed, grant, join, person
from tongban.tests.test_accessibility import AXE, _axe_violations

pytest_plugins = ["tongban.appointments.tests.conftest_waitlist"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _axe(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _login(page, live_server, client, user) -> None:
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_the_staff_page_fits_a_phone(page, live_server, client, care, staff):
    now = timezone.now()
    join(care, person(name="张桂英"), now)
    bed(care, "101室1床", facility="示例第一社会福利院（示例）附属护理院")
    bed(care, "102室2床")
    _login(page, live_server, client, staff.acceptor)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/staff/waiting-lists/{CARE}/")
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.get_by_label("机构", exact=True).fill("示例福利院（示例）")
    page.get_by_label("床位（房源）名称").fill("102室2床")
    page.get_by_role("button", name="新增", exact=True).click()
    assert page.text_content("#place-add-error") == "该床位（房源）已登记"
    assert _no_sideways_scroll(page)
    assert _axe(page) == []


def test_my_page_as_a_relative_fits_a_phone(page, live_server, client, care, staff):
    mother, son = person(name="张桂英"), person(age=50, name="刘晓梅")
    join(care, mother, timezone.now())
    grant(mother, son)
    services.place_free(place=bed(care), actor=staff.acceptor)
    _login(page, live_server, client, son.user)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/me/waiting-lists/")
    assert "代 张桂英 办理" in page.text_content("main")
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
