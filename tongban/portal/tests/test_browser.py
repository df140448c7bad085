"""End to end in Chromium: what a person does with a keyboard and a phone authenticator."""

import pyotp
import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    TEST_PASSWORD,
    DepartmentFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.common.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_staff_with_totp_logs_in_in_two_steps_and_sees_workbench(page):
    department = DepartmentFactory(code="market", name="市场监管局")
    staff = StaffFactory(
        username="zhangwei", department=department, role=StaffRole.ACCEPTOR, with_totp=True
    )
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("zhangwei")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.wait_for_url("**/accounts/login/code/")
    assert page.get_by_role("heading", name="输入动态验证码").is_visible()
    page.get_by_label("6位动态验证码").fill(pyotp.TOTP(staff.totp_secret).now())
    page.get_by_label("6位动态验证码").press("Enter")  # keyboard only

    page.wait_for_url("**/staff/")
    assert page.get_by_role("heading", name="工作台", exact=True).is_visible()
    assert page.get_by_role("cell", name="市场监管局").is_visible()
    assert page.get_by_role("link", name="工作台").get_attribute("aria-current") == "page"
    assert AuditEvent.objects.filter(action="auth.login", actor=staff).count() == 1


def test_resident_turns_on_elder_mode_and_it_survives_login(page):
    resident = ResidentProfileFactory(name="陈阿婆")
    page.goto("/accounts/login/")
    page.get_by_role("button", name="长者版").click()
    page.wait_for_url("**/accounts/login/")
    assert page.locator("body").get_attribute("class") == "elder"
    page.get_by_label("用户名").fill(resident.user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    assert page.get_by_role("heading", name="市民主页").is_visible()
    assert page.locator("body").get_attribute("class") == "elder"
    assert page.locator("#profile-id-number").inner_text().startswith("310***********")


def test_staff_enrols_totp_from_the_page_and_the_qr_renders_under_csp(page):
    staff = StaffFactory(username="lina", role=StaffRole.REVIEWER)
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("lina")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.get_by_role("link", name="启用双因素认证").click()
    page.get_by_role("button", name="开始设置").click()

    qr = page.get_by_role("img", name="双因素认证二维码，内容为下方的密钥")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    staff.refresh_from_db()
    assert secret == staff.totp_secret
    page.get_by_label("6位动态验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认启用").click()
    page.wait_for_url("**/staff/")
    assert page.get_by_text("双因素认证已启用").is_visible()
    assert violations == []
