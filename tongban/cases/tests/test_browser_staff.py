"""In Chromium, on the demo city: 出生一件事 accepted at the lead department's intake desk,
then 公安's reviewer logs in with a one-time code, works the queue and approves 出生登记."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from django.conf import settings

from tongban.accounts.models import User
from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.accounts.validators import make_id_number, parse_id_number
from tongban.cases import services
from tongban.cases.models import Application, Task
from tongban.cases.receipt import receipt_display
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import DEMO_PASSWORD, demo_totp_secret, ensure_demo_accounts
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _birth_case() -> Application:
    resident = ResidentProfileFactory()
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers.update(born_in_city="yes", maternity_insured="yes")
    guide = guide_for_bundle(code="birth", answers=answers, applicant=resident)
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=guide.answers,
        form_data=sample_form(guide),
        materials=sample_uploads(guide),
        idempotency_key="browser-birth",
    )


def _wcag(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA findings on the page (none checked when it is not installed;
    tongban/tests/test_accessibility.py insists on it in CI)."""
    return _axe_violations(page) if AXE.exists() else []


def _log_in(page, username: str, next_path: str) -> None:
    page.context.clear_cookies()
    page.goto(f"/accounts/login/?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/accounts/login/code/**")
    page.get_by_label("6位动态验证码").fill(pyotp.TOTP(demo_totp_secret(username)).now())
    page.get_by_label("6位动态验证码").press("Enter")
    page.wait_for_url(f"**{next_path}")


def test_birth_case_accepted_then_approved_by_the_police_reviewer(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    case = _birth_case()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)

    if case.status == "submitted":  # not every intake check is machine-verifiable
        _log_in(page, "wjw_acceptor", "/staff/intake/")
        page.get_by_role("link", name=receipt_display(case.receipt_no)).click()
        assert page.get_by_role("heading", name="受理审查：出生一件事").is_visible()
        assert _wcag(page) == []
        page.get_by_role("button", name="受理", exact=True).click()
        page.wait_for_url(f"**/staff/intake/{case.receipt_no}/")
        assert page.get_by_text("已受理，办件已分送各部门办理。").is_visible()
        assert page.locator("#case-status").inner_text() == "已受理，办理中"
    case.refresh_from_db()
    assert case.status == "accepted"

    # 出生登记 waits for 出生医学证明 (卫健委): decided here through the same service.
    wjw = Task.objects.get(case=case, item_code="SH-WJW-0101")
    services.task_decide(
        reviewer=User.objects.get(username="wjw_reviewer"),
        task_id=wjw.pk,
        decision="approved",
        reason="",
        expected_row_version=wjw.row_version,
    )
    task = Task.objects.get(case=case, item_code="SH-GA-0101")
    assert task.status == "pending"

    _log_in(page, "ga_reviewer", "/staff/")
    page.get_by_role("link", name="部门任务").click()
    page.wait_for_url("**/staff/tasks/")
    assert _wcag(page) == []
    page.get_by_role("link", name=receipt_display(case.receipt_no)).click()
    page.wait_for_url(f"**/staff/tasks/{task.pk}/")
    assert page.get_by_role("heading", name=task.item_name, exact=True).is_visible()
    assert _wcag(page) == []
    page.get_by_label("通过（准予）").check()
    # The child's ID number is offered (birth date, sex, district); the reviewer may change
    # it. 出生登记 creates it: approving without it is refused, nothing saved.
    offered = page.get_by_label("子女公民身份号码").input_value()
    assert parse_id_number(offered).birth_date == dt.date.fromisoformat(
        case.form_data["child.birth_date"]
    )
    page.get_by_label("子女公民身份号码").fill("")
    page.get_by_role("button", name="提交审核决定").click()
    assert page.get_by_text("准予办理时请录入子女公民身份号码").first.is_visible()
    task.refresh_from_db()
    assert task.status == "pending"
    assert violations == ["Failed to load resource: the server responded with a status of 422 "
                          "(Unprocessable Entity)"]  # fmt: skip
    violations.clear()
    child_id = make_id_number("310104", dt.date(2026, 11, 20), 4)
    page.get_by_label("通过（准予）").check()
    page.get_by_label("子女公民身份号码").fill(child_id)
    page.get_by_role("button", name="提交审核决定").click()
    page.wait_for_url(f"**/staff/tasks/{task.pk}/")
    assert page.get_by_text("审核决定已保存。").is_visible()
    assert page.locator("#task-status").inner_text().startswith("准予")
    timeline = page.locator(".timeline").inner_text()
    assert "审核通过" in timeline
    assert _wcag(page) == []

    task.refresh_from_db()
    assert (task.status, task.decided_by.username) == ("approved", "ga_reviewer")
    case.refresh_from_db()
    assert case.form_data["child.id_number"] == child_id
    assert Task.objects.get(case=case, item_code="SH-RSJ-0101").status in ("pending", "approved")
    assert violations == []


def test_counter_clerk_files_for_a_walk_in_resident_without_javascript_errors(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    resident = ResidentProfileFactory(name="王阿姨")
    _log_in(page, "counter", "/staff/counter/")
    assert _wcag(page) == []
    unknown = make_id_number("310104", dt.date(1950, 1, 2), 998)
    page.get_by_label("居民身份证号码").fill(unknown)
    page.get_by_role("button", name="查找").click()
    # No profile: the clerk may register the resident here (建档); this one goes back.
    assert page.get_by_role("heading", name="为来办群众建立档案").is_visible()
    assert page.get_by_text("未找到该身份证号码对应的居民档案").is_visible()
    assert _wcag(page) == []
    page.get_by_role("button", name="重新输入身份证号码").click()
    page.wait_for_url("**/staff/counter/")
    page.get_by_label("居民身份证号码").fill(resident.id_number)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url("**/staff/counter/")
    assert page.locator("#resident-name").inner_text() == "王阿姨"
    assert _wcag(page) == []
    page.get_by_role("link", name="出生一件事").click()
    page.wait_for_url("**/staff/counter/apply/bundle/birth/")
    assert page.get_by_role("heading", name="代为申报").is_visible()
    assert _wcag(page) == []
    page.get_by_role("button", name="确定情形").click()
    assert page.locator(".errorlist").first.is_visible()  # unanswered questions


def test_intake_opens_an_upload_and_refusal_asks_for_confirmation(page):
    """At a phone's width: the intake page links each upload (opened sandboxed, audited), and
    不予受理 shows its reason back and changes nothing until confirmed."""
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    case = _birth_case()
    if case.status != "submitted":
        pytest.skip("the demo catalog accepted this case automatically")
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, "wjw_acceptor", f"/staff/intake/{case.receipt_no}/")
    upload = case.materials.exclude(file="").order_by("pk").first()
    link = page.get_by_role("link", name=upload.original_name)
    href = link.get_attribute("href")
    assert href == f"/staff/intake/{case.receipt_no}/materials/{upload.pk}/"
    response = page.request.get(href)
    assert response.status == 200
    assert response.headers["content-security-policy"].startswith("sandbox")
    page.get_by_label("不予受理理由").fill("出生医学证明与医院记录不一致")
    page.get_by_role("button", name="不予受理（下一步确认）").click()
    page.wait_for_url(f"**/staff/intake/{case.receipt_no}/refuse/")
    assert page.get_by_role("heading", name="确认不予受理：出生一件事").is_visible()
    assert page.locator("#refuse-reason").inner_text() == "出生医学证明与医院记录不一致"
    assert _wcag(page) == []
    case.refresh_from_db()
    assert case.status == "submitted"
    page.get_by_role("button", name="确认不予受理").click()
    page.wait_for_url(f"**/staff/intake/{case.receipt_no}/")
    assert page.locator("#case-status").inner_text() == "不予受理"
    case.refresh_from_db()
    assert case.status == "refused"
    assert case.events.get(action="refused").reason == "出生医学证明与医院记录不一致"
