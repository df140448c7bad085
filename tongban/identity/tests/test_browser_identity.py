"""注册 (a refused real-name check, then the right name) and 找回密码, in Chromium on a phone
(390×844) and at 1280 px, reading the codes from the 示例短信 page as a demo visitor does."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongban.accounts.models import AssuranceLevel, User
from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.identity.selectors import mobile_hash
from tongban.identity.tests.conftest import send_after_commit
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _worker_at_once(monkeypatch):
    send_after_commit(monkeypatch)


VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
ID = "31010419900307123X"
PASSWORD = "Kaimen-2026-qiu"


def _check(page, found: list) -> None:
    # A click that navigates returns before the new document exists; read it once it has loaded.
    page.wait_for_load_state()
    found.append((page.url, page.evaluate(SIDEWAYS), _axe_violations(page) if AXE.exists() else []))


def _latest_code(page) -> str:
    page.get_by_role("link", name="示例短信").click()
    text = page.locator(".demo-sms-text").first.inner_text()
    code = text.split("验证码为")[1][:6]
    page.go_back()
    return code


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_register_refused_then_registered(page, viewport):
    profile = ResidentProfileFactory(user=None, name="王小明", id_number=ID, phone="")
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    found: list = []

    page.goto("/accounts/login/")
    page.get_by_role("link", name="注册").click()
    assert page.get_by_role("heading", level=1).inner_text() == "注册账户"
    _check(page, found)
    page.get_by_label("姓名").fill("王晓明")  # one character wrong
    page.get_by_label("身份证号码").fill(ID)
    page.get_by_label("手机号码").fill("13912345678")
    page.get_by_role("button", name="核验并获取短信验证码").click()
    alert = page.get_by_role("alert")
    assert alert.inner_text().startswith("实名核验未通过：姓名与身份证号码不一致")
    assert User.objects.count() == 0
    _check(page, found)

    page.get_by_label("姓名").fill("王小明")
    page.get_by_role("button", name="核验并获取短信验证码").click()
    assert page.locator("#sent-to").inner_text().startswith("已向手机号码 139****5678 发送短信")
    _check(page, found)
    code = _latest_code(page)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("用户名").fill("wangxm")
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="完成注册").click()
    page.wait_for_url("**/me/")
    assert "注册成功，已完成实名核验并为您登录" in page.locator(".messages").inner_text()
    _check(page, found)

    profile.refresh_from_db()
    assert (profile.user.username, profile.user.assurance_level) == (
        "wangxm",
        AssuranceLevel.REAL_NAME,
    )
    assert [(url, sideways) for url, sideways, _ in found if sideways] == []
    assert [(url, v) for url, _, v in found if v] == []


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_password_reset_by_mobile(page, viewport):
    profile = ResidentProfileFactory(phone="13912345678", user__username="wangxm")
    user = profile.user
    user.mobile_hash, user.mobile_confirmed_at = mobile_hash("13912345678"), timezone.now()
    user.save()
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    found: list = []

    page.goto("/accounts/login/")
    page.get_by_role("link", name="忘记密码").click()
    page.wait_for_url("**/accounts/reset/")
    _check(page, found)
    page.get_by_label("用户名、身份证号码或手机号码").fill("139 1234 5678")
    page.get_by_role("button", name="获取短信验证码").click()
    assert page.get_by_role("heading", level=1).inner_text() == "设置新密码"
    _check(page, found)
    code = _latest_code(page)
    page.get_by_label("短信验证码").fill("000000" if code != "000000" else "111111")
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="设置新密码").click()
    assert "短信验证码不正确或已失效" in page.locator("#id_code-errors").inner_text()
    _check(page, found)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="设置新密码").click()
    page.wait_for_url("**/accounts/login/")
    assert "密码已重新设置" in page.locator(".messages").inner_text()

    page.get_by_label("用户名").fill("wangxm")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    assert [(url, sideways) for url, sideways, _ in found if sideways] == []
    assert [(url, v) for url, _, v in found if v] == []
