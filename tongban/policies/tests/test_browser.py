"""In Chromium, at a phone's width and a desktop's: a resident with a grade-2 disability finds
the subsidy the platform says they qualify for, reads why, and lands in its prefilled form."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.catalog.services import catalog_load_directory
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if AXE.exists():
        assert _axe_violations(page) == []


@pytest.mark.parametrize("width", [390, 1280])
def test_a_resident_finds_the_subsidy_and_applies_in_one_click(page, width, eight_policies):
    catalog_load_directory(path=eight_policies)
    resident = ResidentProfileFactory(
        name="陈示例", birth_date=dt.date(1978, 9, 21), hukou_is_local=True, disability_grade=2
    )
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(resident.user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    recommended = page.locator("#recommended")
    assert "重度残疾人护理补贴" in recommended.inner_text()
    _fits(page, width)
    page.get_by_role("link", name="查看为您推荐的全部政策及原因").click()
    page.wait_for_url("**/me/policies/")
    card = page.locator("#policy-SH-MZJ-P006")
    assert "符合：残疾等级为一级或二级；本市户籍" in card.inner_text()
    assert (
        "差一项：最低生活保障对象或低收入家庭成员"
        in page.locator("#policy-SH-MZJ-P005").inner_text()
    )
    _fits(page, width)
    card.get_by_role("link", name="重度残疾人护理补贴").click()
    page.wait_for_url("**/policies/SH-MZJ-P006/")
    assert "根据您的档案，您符合这项政策。" in page.locator("#my-outcome").inner_text()
    _fits(page, width)
    page.locator("#policy-apply").click()
    page.wait_for_url("**/apply/item/SH-MZJ-0202/?applicant_role=self")
    # The one-form, with what the platform holds already filled in.
    assert page.locator("body").inner_text().count("陈示例") >= 1
    _fits(page, width)
