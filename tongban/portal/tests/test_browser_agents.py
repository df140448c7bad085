"""End to end in Chromium, on a phone (390×844) and a desktop (1280): the legal representative
grants an agent on 企业专属网页, the agent accepts on their home, the representative revokes,
and the agent can no longer act for the enterprise."""

from __future__ import annotations

import pytest

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.tests.factories import (
    TEST_PASSWORD,
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _login(page, user) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")


@pytest.mark.parametrize("width", [390, 1280])
def test_grant_accept_revoke(page, width):
    page.set_viewport_size({"width": width, "height": 844})
    catalog_load_directory(path=FIXTURES)
    rep = ResidentProfileFactory(name="周明")
    company = EnterpriseFactory(name="示例浏览器科技有限公司")
    EnterpriseMembershipFactory(
        user=rep.user, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    agent = ResidentProfileFactory(name="吴芳")

    # The legal representative grants, with the keyboard-reachable form of 企业专属网页.
    _login(page, rep.user)
    page.goto("/enterprise/")
    assert page.get_by_role("heading", name="授权管理").is_visible()
    assert not page.evaluate(SIDEWAYS)
    page.get_by_label("被授权人身份证号码").fill(agent.id_number)
    page.get_by_label("被授权人姓名").fill("吴芳")
    page.get_by_label("只办理下面勾选的事项").check()
    page.get_by_label("公章刻制备案").check()
    page.get_by_label("可以查看和出示企业证照").check()
    page.get_by_role("button", name="发出授权邀请").click()
    page.wait_for_url("**/enterprise/**")
    assert page.get_by_text("已向吴*发出授权邀请，对方确认接受后生效。").is_visible()
    row = page.locator("#agent-list tbody tr", has_text="吴*")
    assert row.locator(".agent-state").inner_text() == "待对方接受"
    assert not page.evaluate(SIDEWAYS)

    # The agent accepts on their home.
    _login(page, agent.user)
    assert page.get_by_role("heading", name="企业授权邀请").is_visible()
    assert page.get_by_text("示例浏览器科技有限公司").first.is_visible()
    assert not page.evaluate(SIDEWAYS)
    page.get_by_role("button", name="接受授权：示例浏览器科技有限公司").click()
    page.wait_for_url("**/enterprise/**")
    assert page.get_by_text("已接受授权，现在可以为示例浏览器科技有限公司办事。").is_visible()
    assert page.locator("#my-role").inner_text() == "经办人"
    assert page.get_by_role("link", name="公章刻制备案").is_visible()
    assert page.get_by_role("link", name="发票申领").count() == 0  # outside the scope
    assert page.locator("#idcode-link").count() == 0
    assert not page.evaluate(SIDEWAYS)

    # The legal representative revokes; the history shows every step.
    _login(page, rep.user)
    page.goto("/enterprise/")
    row = page.locator("#agent-list tbody tr", has_text="吴*")
    assert row.locator(".agent-state").inner_text() == "有效"
    row.get_by_role("button", name="撤销授权：吴*").click()
    page.wait_for_url("**/enterprise/**")
    assert page.get_by_text("已撤销该授权，对方即刻不能再以本企业名义办理。").is_visible()
    row = page.locator("#agent-list tbody tr", has_text="吴*")
    assert row.locator(".agent-state").inner_text() == "已撤销"
    history = page.locator("#agent-history").inner_text()
    assert "撤销授权" in history and "接受授权" in history and "授权" in history
    assert not page.evaluate(SIDEWAYS)

    # And the agent's authority is gone the moment it was revoked.
    _login(page, agent.user)
    page.goto("/enterprise/")
    assert page.get_by_text("您的账户尚未关联任何企业").is_visible()
    response = page.goto(f"/enterprise/{company.pk}/idcode/")
    assert response.status == 404
    assert list(
        AuditEvent.objects.filter(object_type="enterprise", object_id=str(company.pk))
        .filter(action__startswith="enterprise_agent.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["enterprise_agent.grant", "enterprise_agent.accept", "enterprise_agent.revoke"]
