"""In Chromium, at a phone's width and a desktop's: a resident with a grade-2 disability finds
the subsidy the platform says they qualify for, reads why, and lands in its prefilled form."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.tests.factories import (
    TEST_PASSWORD,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
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


@pytest.mark.parametrize("width", [390, 1280])
def test_an_enterprise_agent_finds_its_policies_and_applies_for_its_enterprise(
    page, width, tmp_path
):
    from decimal import Decimal

    from tongban.accounts.tests.factories import EnterpriseFactory, UserFactory
    from tongban.policies import services
    from tongban.policies.tests.conftest import demo_definitions

    # 稳岗返还 (免申即享, by formula) and 一次性创业补贴 (精准推送, through the employer's item).
    catalog_load_directory(
        path=demo_definitions(tmp_path / "definitions", keep={"SH-RSJ-P004", "SH-RSJ-P005"})
    )
    agent = UserFactory()
    company = EnterpriseFactory(
        name="示例（上海）新创科技有限公司", founded_on=dt.date.today() - dt.timedelta(days=400),
        size="small", status="active", insured_headcount=8, layoff_rate=Decimal("0"),
        employees=9,
    )  # fmt: skip
    EnterpriseMembershipFactory(user=agent, enterprise=company, role="agent")
    services.policy_match_run(triggered_by="test")
    page.set_viewport_size({"width": width, "height": 844 if width == 390 else 900})
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(agent.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")
    page.goto("/enterprise/")
    assert "本企业符合 2 项政策" in page.locator("#enterprise-policies").inner_text()
    _fits(page, width)
    page.locator("#enterprise-policies-link").click()
    page.wait_for_url(f"**/enterprise/{company.pk}/policies/")
    granted = page.locator("#policy-SH-RSJ-P004").inner_text()
    assert "核定金额：4,800.00 元/年" in granted and "已为本企业自动办理" in granted
    assert "可由法定代表人放弃" in granted  # an agent cannot decline for the enterprise
    _fits(page, width)
    page.locator("#policy-SH-RSJ-P005").get_by_role("link", name="一键申请").click()
    page.wait_for_url(f"**/apply/item/SH-RSJ-0501/?*enterprise={company.pk}*")
    assert "示例（上海）新创科技有限公司" in page.locator("body").inner_text()
    _fits(page, width)
