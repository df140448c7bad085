"""In Chromium: the message centre and its settings page, by keyboard-visible names, with axe."""

from __future__ import annotations

import re

import pytest

from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.notifications.models import NoticePreference
from tongban.notifications.services import notice_send
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_inbox_and_preferences_in_the_browser(page):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (scripts/ensure-browser.sh installs it)")
    resident = ResidentProfileFactory(user__username="inbox_user", phone="13900001111")
    notice_send(recipient=resident.user, title="示例办结通知", body="正文", category="case")
    notice_send(
        recipient=resident.user,
        template="sla_reminder",
        context={"item_name": "示例事项", "receipt": "TB-1", "due_date": "2026-10-08"},
    )
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("inbox_user")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()

    # Chromium puts a space before the visually hidden part of the name.
    page.get_by_role("link", name=re.compile(r"^消息中心\s?（2条未读）$")).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "我的消息"
    assert _axe_violations(page) == []

    page.get_by_role("navigation", name="消息类别").get_by_role(
        "link", name="系统/工作提醒"
    ).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=2).all_inner_texts() == ["未读 任务即将到期：示例事项"]

    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_load_state()
    assert page.locator("#unread-summary").inner_text() == "没有未读消息。"
    assert page.get_by_role("link", name="消息中心", exact=True).count() == 1

    page.get_by_role("link", name="消息订阅设置").click()
    page.wait_for_load_state()
    assert _axe_violations(page) == []
    assert page.get_by_label("办件进度：短信").is_checked()
    page.get_by_label("证照：电子邮件").uncheck()
    page.get_by_role("button", name="保存设置").click()
    page.wait_for_load_state()
    assert page.get_by_text("消息订阅设置已保存。").is_visible()
    assert not page.get_by_label("证照：电子邮件").is_checked()
    assert (
        NoticePreference.objects.get(
            user=resident.user, group="certificate", channel="email"
        ).enabled
        is False
    )
