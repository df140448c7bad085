"""In Chromium with the DevTools virtual authenticator (CTAP2, built in, user verification
on): a resident adds a passkey and then logs in with password + passkey; a staff member with
TOTP logs in with password + passkey instead of the code. At 390×844 and 1280 wide; the pages
must not scroll sideways and axe must find no WCAG 2.1 AA fault."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tongban.accounts.models import LoginAttempt
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory, StaffFactory
from tongban.common.models import AuditEvent
from tongban.passkeys.models import Passkey
from tongban.passkeys.tests.authenticator import enrol
from tongban.tests.test_accessibility import AXE, _axe_violations
from tongban.tests.test_mobile_layout import MEASURE, _problems

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SIZES = [(390, 844), (1280, 900)]


@pytest.fixture(params=SIZES, ids=["phone", "desktop"])
def browser_page(request, _playwright_browser, live_server):
    """A page on http://localhost:<port> (WebAuthn needs a domain name, not 127.0.0.1) with a
    virtual platform authenticator attached through the DevTools protocol."""
    width, height = request.param
    port = urlsplit(live_server.url).port
    base = f"http://localhost:{port}"
    context = _playwright_browser.new_context(
        locale="zh-CN", base_url=base, viewport={"width": width, "height": height}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.authenticator = (cdp, found["authenticatorId"])
    page.base_url_root = base
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()


def _credentials(page) -> list[dict]:
    cdp, authenticator_id = page.authenticator
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def _fits(page) -> bool:
    """No sideways scrolling; on a phone also the phone rules of test_mobile_layout (44 px
    touch targets, 16 px text, tables as labelled stacked rows)."""
    got = page.evaluate(MEASURE)
    if got["innerWidth"] <= 390:
        return not _problems(got)
    return got["scrollWidth"] <= got["innerWidth"] and not got["wide"]


def _wcag(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _password(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()


def _add_passkey(page, name: str) -> None:
    page.goto("/accounts/passkeys/")
    assert page.get_by_role("heading", name="什么是通行密钥").is_visible()
    # The browser supports passkeys: the explanation of what to do without them is gone.
    assert page.locator("[data-passkey-unsupported]").is_hidden()
    page.get_by_label("通行密钥名称").fill(name)
    page.get_by_role("button", name="添加通行密钥").click()
    page.wait_for_selector("#passkey-list")
    assert page.get_by_text(f"已添加通行密钥“{name}”").is_visible()


def test_resident_adds_a_passkey_then_logs_in_with_password_and_passkey(browser_page):
    page = browser_page
    resident = ResidentProfileFactory(name="李秀英").user
    _password(page, resident.username)
    page.wait_for_url("**/me/")
    page.locator("#passkeys-link").click()
    page.wait_for_url("**/accounts/passkeys/")
    assert page.get_by_text("您还没有添加通行密钥。登录时只需输入密码。").is_visible()
    assert _wcag(page) == []
    _add_passkey(page, "我的手机")
    row = page.locator("#passkey-list tbody tr")
    assert row.count() == 1
    assert row.locator('td[data-label="名称"]').inner_text() == "我的手机"
    assert row.locator('td[data-label="最近使用"]').inner_text() == "尚未使用"
    assert _fits(page)
    assert _wcag(page) == []
    passkey = Passkey.objects.get()
    assert (passkey.user_id, passkey.name) == (resident.pk, "我的手机")
    assert len(_credentials(page)) == 1
    page.get_by_role("link", name=re.compile("^删除.?“我的手机”$")).click()
    page.wait_for_url(f"**/accounts/passkeys/{passkey.pk}/remove/")
    assert page.get_by_label("登录密码").is_visible()
    assert _fits(page)
    assert _wcag(page) == []
    page.get_by_role("link", name="不删除，返回通行密钥列表").click()
    page.wait_for_url("**/accounts/passkeys/")

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    _password(page, resident.username)
    page.wait_for_url("**/accounts/passkeys/login/")
    assert page.get_by_role("heading", name="使用通行密钥验证").is_visible()
    assert page.locator("#use-totp").count() == 0
    assert _fits(page)
    assert _wcag(page) == []
    LoginAttempt.objects.all().delete()
    page.get_by_role("button", name="使用通行密钥验证").click()
    page.wait_for_url("**/me/")
    assert page.get_by_role("heading", name="市民主页").is_visible()
    attempt = LoginAttempt.objects.get()
    assert (attempt.kind, attempt.succeeded, attempt.username) == (
        "login",
        True,
        resident.username,
    )
    assert AuditEvent.objects.filter(action="passkey.verify", actor=resident).count() == 1
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    assert page.console_errors == []


def test_staff_logs_in_with_a_passkey_instead_of_the_code(browser_page):
    page = browser_page
    staff = StaffFactory(with_totp=True)
    # Enrolled while logged in (the code step is not what this test is about).
    page.context.add_cookies(_session_cookie(staff, page))
    page.goto("/staff/")
    page.locator("#passkeys-link").click()
    page.wait_for_url("**/accounts/passkeys/")
    _add_passkey(page, "办公室电脑")
    assert _wcag(page) == []

    page.context.clear_cookies()
    _password(page, staff.username)
    page.wait_for_url("**/accounts/passkeys/login/")
    assert page.locator("#use-totp").is_visible()  # the code remains an option
    page.get_by_role("button", name="使用通行密钥验证").click()
    page.wait_for_url("**/staff/")
    assert page.get_by_role("heading", name="工作台").is_visible()
    assert page.locator("text=您尚未启用双因素认证").count() == 0
    staff.refresh_from_db()
    assert staff.totp_last_step == 0  # no code was typed
    assert LoginAttempt.objects.filter(kind="login", succeeded=True).count() == 1
    assert _fits(page)
    assert page.console_errors == []


def test_a_refused_prompt_is_explained_and_nobody_is_logged_in(browser_page):
    page = browser_page
    resident = ResidentProfileFactory().user
    page.context.add_cookies(_session_cookie(resident, page))
    _add_passkey(page, "我的手机")
    page.context.clear_cookies()
    # The passkey is gone from the device (another phone, say): the browser answers "not
    # allowed", as it does when the person cancels.
    cdp, authenticator_id = page.authenticator
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator_id})
    _password(page, resident.username)
    page.wait_for_url("**/accounts/passkeys/login/")
    page.get_by_role("button", name="使用通行密钥验证").click()
    error = page.locator("#passkey-error")
    error.wait_for(state="visible", timeout=20_000)
    assert error.inner_text().startswith("操作已取消或超时")
    assert page.url.endswith("/accounts/passkeys/login/")
    assert not LoginAttempt.objects.filter(succeeded=True).exists()


def _session_cookie(user, page) -> list[dict]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [{"name": settings.SESSION_COOKIE_NAME, "value": value, "url": page.base_url_root}]


def test_a_browser_without_passkeys_is_told_what_to_do_instead(page):
    """The conftest's plain page (no authenticator), in a browser that lacks WebAuthn."""
    page.add_init_script("delete window.PublicKeyCredential")
    page.set_viewport_size({"width": 390, "height": 844})
    staff = StaffFactory(with_totp=True)
    resident = ResidentProfileFactory().user
    enrol(resident)
    page.base_url_root = page.base_url
    page.context.add_cookies(_session_cookie(staff, page))
    page.goto("/accounts/passkeys/")
    assert (
        page.locator("[data-passkey-unsupported]")
        .inner_text()
        .startswith("当前浏览器不支持通行密钥")
    )
    assert page.locator("form[data-passkey-register]").is_hidden()
    page.context.clear_cookies()
    _password(page, resident.username)
    page.wait_for_url("**/accounts/passkeys/login/")
    assert page.locator("[data-passkey-unsupported]").is_visible()
    assert page.get_by_role("button", name="使用通行密钥验证").count() == 0
    assert _fits(page)
