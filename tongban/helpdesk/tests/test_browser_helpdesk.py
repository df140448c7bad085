"""In Chromium at 390 px: the resident's chat updates without a reload when the helpdesk
answers; the staff queue and chat; every page passes axe, in standard and 长者版."""

from __future__ import annotations

import pyotp
import pytest

from tongban.accounts.models import User
from tongban.demo.accounts import demo_totp_secret
from tongban.helpdesk import services
from tongban.tests.test_accessibility import (
    _axe_violations,
    _log_in,
    demo_city,  # noqa: F401 — fixture
)

ALWAYS = "workday=00:00-23:59;weekend=00:00-23:59;holiday=00:00-23:59"


def _wide(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_chat_updates_live_and_pages_pass_axe(demo_city, page, settings):  # noqa: F811
    settings.TONGBAN_HELPDESK_HOURS = ALWAYS
    resident = User.objects.get(username="resident2")  # 80岁, 长者版 on her account
    agent = User.objects.get(username="helpdesk")
    conversation = services.conversation_hand_over(
        user=resident,
        session_key="",
        transcript=[{"role": "resident", "text": "出生登记要带什么？", "at": ""}],
        item_code="SH-GA-0101",
    )
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, "resident2")
    page.goto(f"/helpdesk/{conversation.pk}/")
    assert page.locator("#hd-status").inner_text() == "排队中"
    assert _wide(page) <= 390
    assert _axe_violations(page) == []

    # Claimed and answered elsewhere: the open page follows without anyone reloading it.
    services.conversation_claim(actor=agent, conversation_id=conversation.pk)
    page.wait_for_selector("#hd-consent")  # the state changed: 在线帮办 is offered now
    services.message_post_staff(
        actor=agent,
        conversation_id=conversation.pk,
        text="请先看看办事指南。",
        link_url="/items/SH-GA-0101/",
        link_label="出生登记办事指南",
    )
    link = page.get_by_role("link", name="出生登记办事指南")
    link.wait_for()
    assert link.get_attribute("href") == "/items/SH-GA-0101/"
    assert _wide(page) <= 390
    assert _axe_violations(page) == []

    # The resident writes; the staff member reads it on their own page.
    page.get_by_label("输入消息").fill("好的，谢谢")
    page.get_by_role("button", name="发送").click()
    page.wait_for_load_state()
    assert "好的，谢谢" in page.locator("#hd-log").inner_text()

    staff = page.context.browser.new_context(locale="zh-CN", base_url=page.base_url)
    desk = staff.new_page()
    desk.set_viewport_size({"width": 390, "height": 844})
    desk.goto("/accounts/login/")
    desk.get_by_label("用户名").fill("helpdesk")
    desk.get_by_label("密码").fill("Demo@2026")
    desk.get_by_role("button", name="登录").click()
    desk.wait_for_url("**/accounts/login/code/**")
    code = desk.get_by_label("6位动态验证码")
    code.fill(pyotp.TOTP(demo_totp_secret("helpdesk")).now())
    code.press("Enter")
    desk.wait_for_url("**/staff/")
    desk.get_by_role("link", name="在线客服").first.click()
    desk.wait_for_load_state()
    assert _wide(desk) <= 390
    assert _axe_violations(desk) == []
    desk.goto(f"/staff/helpdesk/{conversation.pk}/")
    assert "好的，谢谢" in desk.locator("#hd-log").inner_text()
    assert _wide(desk) <= 390
    assert _axe_violations(desk) == []
    desk.get_by_role("button", name="结束咨询").click()
    desk.wait_for_load_state()
    staff.close()

    # The resident's page turns to the rating form by itself.
    page.get_by_role("button", name="提交评价").wait_for()
    assert _axe_violations(page) == []
