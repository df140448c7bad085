"""agent1 (示例 法定代表人) founds a new company with 企业开办一件事 on a desktop (1280 px,
Chromium), with only what a founder really holds: the 营业执照 that 设立登记 will issue is
never asked, and as the future legal representative their own e-ID card stands for
法定代表人身份证件 — while the investors' proof, about other people, is asked."""

from __future__ import annotations

import pytest
from django.conf import settings

from tongban.accounts.models import ResidentProfile
from tongban.cases.models import Application, MaterialSubmission
from tongban.cases.tests.test_browser_applicant import axe, fill_empty, no_sideways_scroll
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.services import certificate_types_load
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts
from tongban.demo.certificates import ensure_demo_certificates

from .conftest import PDF


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent1_founds_a_company_spared_what_the_case_issues_and_their_own_card(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    certificate_types_load()
    assert ensure_demo_certificates(max_residents=0, max_enterprises=0) > 0
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("agent1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.goto("/bundles/enterprise_opening/")
    for question, option in (
        ("您是拟设立企业的法定代表人（负责人）吗？", "是，本人担任法定代表人"),
        ("拟设立的企业类型？", "有限责任公司"),
        ("住所（经营场所）是自有房屋还是租赁房屋？", "租赁房屋"),
        ("是否需要刻制印章？", "是"),
        ("是否需要申领发票？", "否"),
        ("是否需要预约银行开立基本存款账户？", "否"),
    ):
        page.get_by_role("group", name=question).get_by_label(option, exact=True).check()
    for group in page.locator("fieldset").all():
        radios = group.locator("input[type=radio]")
        if radios.count() and not group.locator("input[type=radio]:checked").count():
            radios.first.check()  # questions this test does not care about
    page.get_by_role("button", name="生成材料清单").click()
    page.locator(".guide-result").wait_for()
    page.get_by_role("link", name="在线申请").first.click()
    page.wait_for_url("**/apply/bundle/enterprise_opening/?*")
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("link", name="开始填写").click()

    me = ResidentProfile.objects.get(user__username="agent1")
    while "/step/materials/" not in page.url:
        page.wait_for_load_state()
        rep = page.locator("#field-enterprise-legal_rep_id_number")
        if rep.count():
            # They said they will be the legal representative: not asked again.
            assert rep.input_value() == me.id_number
            assert page.locator("#field-enterprise-legal_representative").input_value() == me.name
        assert page.locator("#field-enterprise-uscc").count() == 0  # 设立登记 gives it
        fill_empty(page)
        page.get_by_role("button", name="保存并继续").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 0, page.locator("main").inner_text()

    page.wait_for_url("**/step/materials/")
    assert no_sideways_scroll(page) and axe(page) == []
    rep_card = page.locator("#material-legal_rep_id_card").inner_text()
    assert "已按法定代表人的公民身份号码核验其电子证照「居民身份证」" in rep_card
    licence = page.locator("#material-business_license").inner_text()
    assert "由本次办理的「企业设立登记」办结后生成，无需提交" in licence
    asked = [
        n.get_attribute("name")[len("file.") :] for n in page.locator("input[type=file]").all()
    ]
    # What a founder brings: the articles, the investors' proof (other people's documents),
    # the lease of the premises. Nothing the case issues, nothing the platform holds of them.
    assert asked == ["articles_of_association", "investor_identity_proof", "premises_proof"]
    for code in asked:
        page.locator(f"#material-{code}-file").set_input_files(
            {"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/delivery/")
    page.get_by_label("网上领取").check()
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/check/")
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/submitted/")

    case = Application.objects.get()
    assert case.applicant.username == "agent1" and case.enterprise is None
    uploads = MaterialSubmission.objects.filter(case=case, how="upload")
    assert sorted(uploads.values_list("material_code", flat=True)) == sorted(asked)
    waived = dict(
        MaterialSubmission.objects.filter(case=case, how="waived").values_list(
            "material_code", "certificate_serial"
        )
    )
    assert waived["legal_rep_id_card"]  # their own card, by serial
    assert "business_license" in waived and waived["business_license"] == ""
