from __future__ import annotations

import pytest

from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_then_answer_the_birth_bundle_without_javascript_help(page):
    catalog_load_directory(path=FIXTURES)

    page.goto("/")
    page.get_by_label("搜索办事服务").fill("上户口")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/search?q=*")
    page.get_by_role("link", name="出生一件事").click()
    page.wait_for_url("**/bundles/birth/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("出生一件事")

    # Submitting with a question left out shows the error next to it.
    page.get_by_role("group", name="孩子是否在本市医疗机构出生？").get_by_label("是").check()
    page.get_by_role("button", name="生成材料清单").click()
    alert = page.locator("#q-want_sscard-error")
    assert alert.inner_text() == "请选择：是否同时为孩子申领社会保障卡？"
    assert (
        page.get_by_role("group", name="孩子是否在本市医疗机构出生？")
        .get_by_label("是")
        .is_checked()
    )

    page.get_by_role("group", name="是否同时为孩子申领社会保障卡？").get_by_label(
        "暂不申领"
    ).check()
    page.get_by_role("group", name="孩子父母是否已登记结婚？").get_by_label("已登记结婚").check()
    page.get_by_role("group", name="结婚登记是否在本市办理？").get_by_label("在本市办理").check()
    page.get_by_role("button", name="生成材料清单").click()

    result = page.locator(".guide-result")
    result.wait_for()
    assert result.get_by_role("heading", name="您的一次告知清单").is_visible()
    assert result.locator(".guide-items > li > a").all_inner_texts() == [
        "出生登记",
        "预防接种证办理",
        "城乡居民医保参保登记",
    ]
    assert result.locator("table.materials tbody th").all_inner_texts() == [
        "出生医学证明",
        "居民户口簿",
        "父母居民身份证",
    ]
    assert "可免提交：通过电子证照『出生医学证明』核验" in result.inner_text()
    assert "8 个工作日（出生登记 → 城乡居民医保参保登记）" in result.inner_text()
    assert page.locator("#q-want_sscard-error").count() == 0
