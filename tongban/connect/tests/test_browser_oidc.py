"""统一身份认证 in Chromium: a resident logs in to a relying party through the platform —
the site sends her to the platform, she logs in, reads the consent page, agrees, and is
back on the site by name. On a phone (390×844) and a desktop (1280)."""

from __future__ import annotations

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory
from tongban.connect.models import Consent
from tongban.connect.services import client_register
from tongban.connect.tests.relying_party import RelyingParty
from tongban.tests.test_accessibility import AXE, _axe_violations


def _axe(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_a_resident_logs_in_to_a_connected_website(page, live_server, width, height):
    resident = ResidentProfileFactory(name="王秀英")
    admin = StaffFactory(role=StaffRole.ADMINISTRATOR)
    page.set_viewport_size({"width": width, "height": height})
    with RelyingParty(issuer=live_server.url) as rp:
        registered = client_register(
            actor=admin,
            name="测试 公积金中心网站",
            kind="website",
            confidential=True,
            redirect_uris=rp.callback,
            scopes=["openid", "profile"],
        )
        rp.client_id, rp.client_secret = registered.client_id, registered.client_secret

        page.goto(f"{rp.url}/login")
        page.wait_for_url("**/accounts/login/**")
        page.get_by_label("用户名").fill(resident.user.username)
        page.get_by_label("密码").fill(TEST_PASSWORD)
        page.get_by_role("button", name="登录").click()

        page.wait_for_url("**/oauth/authorize/**")
        heading = page.get_by_role("heading", level=1)
        assert heading.inner_text() == "授权「测试 公积金中心网站」使用一网通办账户登录"
        assert page.locator("#consent-scopes li").all_inner_texts() == [
            "确认是您本人登录（平台为该网站生成的账户标识）",
            "您的姓名",
        ]
        assert _no_sideways_scroll(page)
        assert _axe(page) == []
        page.get_by_role("button", name="同意并登录").click()

        page.wait_for_url(f"{rp.callback}**")
        assert page.get_by_role("heading", level=1).inner_text() == "欢迎，王秀英"
        assert rp.logged_in == [{"sub": str(resident.user.pk), "name": "王秀英"}]
        assert Consent.objects.get(user=resident.user).scopes == "openid profile"

        # Next time: remembered, straight back to the site with no page in between.
        page.goto(f"{rp.url}/login")
        page.wait_for_url(f"{rp.callback}**")
        assert page.get_by_role("heading", level=1).inner_text() == "欢迎，王秀英"

        # The resident sees the site among those she allowed, and withdraws it.
        page.goto("/me/connected-sites/")
        assert _no_sideways_scroll(page)
        assert _axe(page) == []
        consent = Consent.objects.get(user=resident.user)
        button = page.locator(f"#consent-{consent.pk} button")
        assert button.inner_text().startswith("撤销授权")
        button.click()
        assert page.locator("#consent-empty").is_visible()
        page.goto(f"{rp.url}/login")
        page.wait_for_url("**/oauth/authorize/**")  # asked again


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_administrator_pages_fit_and_pass_axe(page, live_server, width, height, client):
    admin = StaffFactory(role=StaffRole.ADMINISTRATOR)
    client.force_login(admin)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/staff/connect/register/")
    page.get_by_label("应用名称").fill("测试 社区服务网站")
    page.get_by_role("radio", name="政务网站", exact=True).check()
    page.get_by_label("回调地址", exact=True).fill("https://sq.example.test/cb")
    page.get_by_role("checkbox", name="您的姓名（profile）").check()
    page.get_by_role("checkbox", name="（openid）").check()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    page.locator("#register-submit").click()
    assert page.locator("#new-client-secret").is_visible()
    assert _no_sideways_scroll(page)
    assert _axe(page) == []
    for path in (
        "/staff/connect/",
        page.locator("a", has_text="查看应用详情").get_attribute("href"),
    ):
        page.goto(path)
        assert _no_sideways_scroll(page), path
        assert _axe(page) == [], path
