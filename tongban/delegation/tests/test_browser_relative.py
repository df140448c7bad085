"""A daughter applies for her 80-year-old mother (亲友代办) on her phone (390×844; every
page is laid out at a desk's 1280 px too): 我的主页 → 为张桂英办理 → the guide, said to be for
her mother → the form, filled from her mother's record → submit; the case is the mother's,
who sees it in 我的办件 marked 由刘晓梅代办 and, in 长者版, who may act for her."""

from __future__ import annotations

import pytest
from django.conf import settings

from tongban.cases.models import Application
from tongban.cases.tests.walk import DESKTOP, PHONE, fill_empty, widths_scrolling_sideways
from tongban.catalog.services import catalog_load_directory
from tongban.delegation.models import Delegation
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts
from tongban.tests.test_accessibility import AXE, _axe_violations

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ITEM = "SH-MZJ-0303"  # 老年人优待卡申领


def _axe(page) -> list[str]:
    return _axe_violations(page) if AXE.exists() else []


def _fits(page) -> bool:
    # Walked on her phone; each page is laid out at a desktop's width too.
    return not widths_scrolling_sideways(page, PHONE, DESKTOP)


def _log_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_daughter_applies_for_her_mother(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    page.set_viewport_size(PHONE)
    delegation = Delegation.objects.get(principal__user__username="resident2")
    seen: dict[str, list[str]] = {}

    def look(name: str) -> None:
        assert _fits(page), name
        seen[name] = _axe(page)

    _log_in(page, "relative1")
    look("me")
    page.get_by_role("link", name="为张桂英办理").first.click()
    page.wait_for_url(f"**/me/acting-for/{delegation.pk}/")
    assert "正在为 张桂英 办理" in page.locator("#acting-for").inner_text()
    look("acting")
    page.get_by_role("link", name="老年人优待卡申领").click()
    page.wait_for_url(f"**/items/{ITEM}/?for={delegation.pk}")
    assert "张桂英" in page.locator("#apply-start-relative").inner_text()
    look("guide")
    # Her mother's record answers 本市户籍; only who applies is asked.
    page.get_by_role("group", name="由谁提出申请？").get_by_label("本人申请").check()
    page.get_by_role("button", name="生成材料清单").click()
    page.locator(".guide-result").wait_for()
    assert "张桂英" in page.locator("#apply-start-relative").inner_text()
    page.locator("#start-apply").click()
    page.wait_for_url(f"**/apply/item/{ITEM}/?*")
    assert "正在为 张桂英 办理" in page.locator("#acting-for").inner_text()
    assert page.locator("#acting-select").input_value() == str(delegation.pk)
    look("tasks")
    page.get_by_role("link", name="开始填写").click()

    # Each step: her mother's record fills it, and says whose it is.
    page.wait_for_url("**/step/**")
    assert page.locator("#field-applicant-name").input_value() == "张桂英"
    assert "张桂英的档案" in page.locator("#field-applicant-name-prefilled").inner_text()
    while "/check/" not in page.url:
        assert "正在为 张桂英 办理" in page.locator("#acting-for").inner_text()
        look(page.url.split("/step/")[-1])
        if "/step/materials/" in page.url:
            for box in page.locator("input[type=file]").all():
                box.set_input_files([{"name": "照片.png", "mimeType": "image/png", "buffer": PNG}])
        if "/step/delivery/" in page.url:
            page.get_by_label("网上领取").check()
        fill_empty(page)
        page.get_by_role("button", name="保存并继续").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 0, page.locator("main").inner_text()

    assert "正在为 张桂英 办理" in page.locator("#acting-for").inner_text()
    look("check")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/submitted/")
    look("submitted")
    case = Application.objects.exclude(channel="auto").get()
    assert case.applicant.username == "resident2"
    assert case.applicant_profile.name == "张桂英"
    assert case.acted_by.username == "relative1"
    assert case.delegation == delegation
    assert case.form_data["applicant.name"] == "张桂英"

    # The mother: her case, marked with who filed it; and in 长者版, who may act for her.
    _log_in(page, "resident2")
    assert page.locator("body").get_attribute("class") == "elder"
    who = page.locator("#who-may-act").inner_text()
    assert "刘晓梅可以替您办理全部事项" in who.replace(" ", "")
    look("elder me")
    page.goto("/me/cases/")
    assert "由刘晓梅代办" in page.locator("table.my-cases tbody tr").first.inner_text()
    look("elder cases")
    page.goto("/me/delegations/")
    look("elder delegations")
    assert {k: v for k, v in seen.items() if v} == {}
