"""The demo city as a newcomer meets it: the real catalog, the real demo accounts, Chromium."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_mother_finds_the_birth_bundle_by_saying_上户口_and_gets_her_exact_list(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("resident1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    # 市民主页 shows her ID number masked, never in full.
    assert re.fullmatch(r"310\*{11}\d{3}[\dX]", page.locator("#profile-id-number").inner_text())

    page.goto("/")
    page.get_by_label("搜索办事服务").fill("上户口")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/search?q=*")
    page.get_by_role("link", name="出生一件事").click()
    page.wait_for_url("**/bundles/birth/")

    def answer(question: str, option: str) -> None:
        page.get_by_role("group", name=question).get_by_label(option, exact=True).check()

    answer("您是新生儿的？", "母亲")
    answer("新生儿父母的婚姻状况？", "已登记结婚")
    answer("新生儿是否在本市助产机构出生？", "是")
    answer("是否为多胞胎？", "否")
    answer("新生儿户口随父亲还是随母亲申报？", "随母亲")
    answer("申请人（母亲）生育时是否参加本市职工生育保险？", "是")
    page.get_by_role("button", name="生成材料清单").click()

    result = page.locator(".guide-result")
    result.wait_for()
    assert result.locator(".guide-items > li > a").all_inner_texts() == [
        "出生医学证明签发",
        "预防接种证办理",
        "出生登记",
        "生育保险待遇申领",
        "社会保障卡申领",
        "城乡居民医保参保登记",
        "少儿住院互助基金参保",
    ]
    assert result.locator("table.materials tbody th").all_inner_texts() == [
        "母亲居民身份证",
        "父亲居民身份证",
        "新生儿出生信息确认单",
        "出生医学证明",
        "申请人居民身份证",
        "居民户口簿",
        "结婚证",
        "子女户口登记信息（户口簿本人页）",
        "子女近期免冠彩色照片\n（非必需）",
        "居住证\n（非必需）",
    ]
    # Logged in, she is spared what her 一人一档 already proves, what the bundle itself
    # issues, and the birth data the form carries; and told why.
    spared = result.locator("tr.is-spared th").all_inner_texts()
    assert spared == [
        "新生儿出生信息确认单",
        "出生医学证明",
        "申请人居民身份证",
        "居民户口簿",
        "结婚证",
        "子女户口登记信息（户口簿本人页）",
    ]
    assert "由本次办理的「出生医学证明签发」办结后生成，无需提交" in result.inner_text()
    assert "已为您免提交：您的居民档案中已有婚姻状况，由民政婚姻登记库核验，无需提交" in (
        result.inner_text()
    )
    assert "材料共 10 份，其中 6 份已为您免提交" in result.inner_text()
