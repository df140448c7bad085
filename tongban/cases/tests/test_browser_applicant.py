"""A new mother applies for 出生一件事 in Chromium: guide → one form → receipt → 我的办件."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone

from tongban.cases.models import Application
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts
from tongban.tests.test_accessibility import AXE, _axe_violations


def axe(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA findings (none checked when it is not installed)."""
    return _axe_violations(page) if AXE.exists() else []


PDF = b"%PDF-1.4\n% tongban test\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_mother_applies_for_the_birth_bundle_online(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("resident1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.goto("/bundles/birth/")

    def answer(question: str, option: str) -> None:
        page.get_by_role("group", name=question).get_by_label(option, exact=True).check()

    answer("您是新生儿的？", "母亲")
    answer("新生儿父母的婚姻状况？", "已登记结婚")
    answer("新生儿是否在本市助产机构出生？", "是")
    answer("是否为多胞胎？", "否")
    answer("新生儿户口随父亲还是随母亲申报？", "随母亲")
    answer("申请人（母亲）生育时是否参加本市职工生育保险？", "是")
    page.get_by_role("button", name="生成材料清单").click()
    page.locator(".guide-result").wait_for()
    page.get_by_role("link", name="在线申请").click()
    page.wait_for_url("**/apply/bundle/birth/?*")

    # What her 一人一档 holds is already there, and says so.
    assert page.locator("#field-applicant-name").input_value() == "李静"
    assert page.locator("#field-applicant-name-prefilled").inner_text() == "已从您的档案填入"
    assert axe(page) == []
    # Submitted empty: every problem listed, each linked to its field, nothing created.
    page.get_by_role("button", name="提交申请").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "请填写子女姓名" in summary.inner_text()
    summary.get_by_role("link", name="请填写子女姓名").click()
    assert page.evaluate("document.activeElement.id") == "field-child-name"
    assert Application.objects.count() == 0
    assert axe(page) == []
    born = timezone.localdate() - dt.timedelta(days=3)
    typed = {
        "child-name": "王小宝",
        "child-birth_date": born.isoformat(),
        "child-birth_time": "08:30",
        "child-birth_hospital": "示例妇幼保健院",
        "child-birth_weight": "3300",
        "child-birth_length": "50",
        "child-gestational_weeks": "39",
        "mother-name": "李静",
        "mother-id_number": page.locator("#field-applicant-id_number").input_value(),
        "mother-phone": "13800000001",
        "child-residence_address": "上海市徐汇区示例路88弄8号301室",
        "child-ethnicity": "汉族",
        "maternity-employer_name": "示例科技有限公司",
        "maternity-leave_start_date": born.isoformat(),
        "payment-bank_name": "示例银行",
        "payment-account_number": "6222020200112233445",
        "vaccination-clinic": "示例社区卫生服务中心预防接种门诊",
    }
    # 出生登记 gives the child an ID number; nobody asks the parent for it.
    assert page.locator("#field-child-id_number").count() == 0
    assert "子女公民身份号码：由「出生登记」办结时生成" in page.locator("#produced").inner_text()
    for name, value in typed.items():
        page.locator(f"#field-{name}").fill(value)
    for select in page.locator(".apply-fields select").all():
        if not select.input_value():
            select.select_option(index=1)
    # She is the mother: her own fields come from her 一人一档.
    assert page.locator("#field-mother-id_number").input_value() == (
        page.locator("#field-applicant-id_number").input_value()
    )
    # Only what a parent really holds is uploaded: the two ID cards (no e-certificates in
    # this test's city). What the bundle itself issues, and the birth data the form already
    # carries, are never asked for.
    for code in ("birth_medical_certificate", "child_household_register_page"):
        assert "由本次办理的" in page.locator(f"#material-{code}").inner_text()
        assert page.locator(f"#material-{code}-file").count() == 0
    assert "已在本申请表中在线填写" in (
        page.locator("#material-birth_record_confirmation").inner_text()
    )
    for code in ("mother_id_card", "father_id_card"):
        page.locator(f"#material-{code}-file").set_input_files(
            {"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
    assert page.locator("#material-child_household_register_page").count() == 1
    assert "无需提交" in page.locator("#material-marriage_certificate").inner_text()
    page.get_by_label("窗口领取").check()
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    summary = page.locator(".error-summary")
    assert summary.count() == 0, summary.inner_text()
    page.wait_for_url("**/me/cases/*/")

    case = Application.objects.get()
    shown = page.locator("#receipt-no").inner_text()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d", shown)
    assert shown.replace(" ", "") == case.receipt_no
    assert page.locator("h1").inner_text() == "出生一件事"
    assert case.delivery == "counter"
    assert axe(page) == []

    page.get_by_role("link", name="返回我的办件").click()
    page.wait_for_url("**/me/cases/")
    row = page.locator("table.my-cases tbody tr")
    assert row.count() == 1
    assert "出生一件事" in row.inner_text() and shown in row.inner_text()
    assert axe(page) == []
    row.get_by_role("link", name="出生一件事").click()
    page.wait_for_url(f"**/me/cases/{case.receipt_no}/")
