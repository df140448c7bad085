"""企业开办一件事 all the way through in Chromium, on the demo city: an agent applies with one
form, 市场监管's acceptor accepts, its reviewer approves 设立登记 and records the new
enterprise's 统一社会信用代码, the departments after it read that code, every item is decided
(some by rule), and the applicant sees the case concluded with every result."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings

from tongban.accounts.models import User
from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.accounts.validators import make_credit_code
from tongban.appointments.models import Booking
from tongban.cases import services
from tongban.cases.models import Application, Task
from tongban.cases.receipt import receipt_display
from tongban.cases.tests.test_browser_staff import _log_in, _wcag
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import department_slug, ensure_demo_accounts

from .conftest import PDF
from .samples import sample_slot
from .walk import fill_empty

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _fill_the_form(page, guide) -> None:
    """Every step in turn, up to 核对信息: fields as typed, a file for each required material
    that nothing spares (none the bundle itself produces: those are never asked)."""
    page.get_by_role("link", name="开始填写").click()
    page.wait_for_url("**/step/*/")
    while "/check/" not in page.url:
        if "/step/materials/" in page.url:
            produced = {m.code for m in guide.materials if m.produced_by}
            for box in page.locator("input[type=file]").all():
                code = box.get_attribute("name")[len("file.") :]
                assert code not in produced  # only what nothing spares is asked
                if "非必需" in page.locator(f"#material-{code} legend").inner_text():
                    continue
                box.set_input_files(
                    {"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
                )
        elif "/step/delivery/" in page.url:
            page.get_by_label("网上领取").check()
        if page.locator("#field-enterprise-name").count():
            # 设立登记 gives the enterprise its credit code; nobody asks the founder for it.
            assert page.locator("#field-enterprise-uscc").count() == 0
            assert "统一社会信用代码：由「企业设立登记」办结时生成" in (
                page.locator("#produced").inner_text()
            )
        fill_empty(page)
        url = page.url
        page.get_by_role("button", name="保存并继续").click()
        page.wait_for_load_state()
        summary = page.locator(".error-summary")
        assert summary.count() == 0, (url, summary.inner_text())


def test_an_agent_opens_an_enterprise_and_six_departments_conclude_it(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    founder = ResidentProfileFactory(name="赵创业")
    answers = {q.code: q.options[0].value for q in bundle_questions(code="enterprise_opening")}
    answers = {**answers, "need_seal": "yes", "hire_employees": "yes", "need_bank_account": "yes"}
    guide = guide_for_bundle(code="enterprise_opening", answers=answers, applicant=founder)
    assert len(guide.items) == 6
    # 银行开户预约: the form lists the bank desk's slots with places left.
    bank_slot = sample_slot("SH-YH-0101")
    # 设立登记 gives the enterprise its credit code; nobody asks the founder for it.
    assert "enterprise.uscc" not in {f.code for f in guide.fields}

    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(founder.user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    page.goto(f"/apply/bundle/enterprise_opening/?{urlencode(guide.answers)}")
    _fill_the_form(page, guide)
    assert "网上领取" in page.locator("#check-group-delivery").inner_text()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/me/cases/*/submitted/")
    case = Application.objects.exclude(channel="auto").get()
    assert (case.code, case.enterprise_id, case.delivery) == ("enterprise_opening", None, "online")
    # The bank desk's place was taken with the case, in its transaction.
    booking = Booking.objects.get(case=case)
    assert (booking.slot_id, booking.user_id, booking.status) == (
        bank_slot.pk,
        founder.user_id,
        "booked",
    )
    bank_slot.refresh_from_db()
    assert bank_slot.booked == 1

    if case.status == "submitted":  # intake checks not all machine-verifiable: a person accepts
        _log_in(page, "scj_acceptor", "/staff/intake/")
        page.get_by_role("link", name=receipt_display(case.receipt_no)).click()
        page.get_by_role("button", name="受理", exact=True).click()
        page.wait_for_url(f"**/staff/intake/{case.receipt_no}/")
        assert page.locator("#case-status").inner_text() == "已受理，办理中"
    case.refresh_from_db()
    assert case.status == "accepted"

    register = Task.objects.get(case=case, item_code="SH-SCJ-0101")
    waiting = set(
        Task.objects.filter(case=case, status="waiting").values_list("item_code", flat=True)
    )
    assert waiting == {"SH-GA-0201", "SH-SWJ-0101", "SH-RSJ-0201", "SH-GJJ-0101", "SH-YH-0101"}
    uscc = make_credit_code(region="310115", seq=777)
    _log_in(page, "scj_reviewer", f"/staff/tasks/{register.pk}/")
    assert _wcag(page) == []
    page.get_by_label("通过（准予）").check()
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_role("button", name="提交审核决定").click()
    page.wait_for_url(f"**/staff/tasks/{register.pk}/")
    assert page.get_by_text("审核决定已保存。").is_visible()

    case.refresh_from_db()
    assert case.form_data["enterprise.uscc"] == uscc
    # Five departments now work in parallel; the ones whose rules hold were decided at once.
    after = {t.item_code: t for t in Task.objects.filter(case=case).exclude(pk=register.pk)}
    assert {t.status for t in after.values()} <= {"pending", "approved"}
    decided_by_rule = {c for c, t in after.items() if t.decided_by_label == "system:auto"}
    for task in after.values():
        task.refresh_from_db()
        if task.status != "pending":
            continue
        reviewer = User.objects.get(username=f"{department_slug(task.department.code)}_reviewer")
        view = services.task_decide(
            reviewer=reviewer,
            task_id=task.pk,
            decision="approved",
            reason="",
            expected_row_version=task.row_version,
        )
        assert view.status == "approved"
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "approved")
    assert Task.objects.filter(case=case, status="approved").count() == 6

    # The founder follows it to the end on 我的办件.
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(founder.user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    page.goto(f"/me/cases/{case.receipt_no}/")
    body = page.locator("main").inner_text()
    assert "准予办理" in body
    for task in Task.objects.filter(case=case):
        assert task.item_name in body
    assert _wcag(page) == []
    assert decided_by_rule <= set(after)
