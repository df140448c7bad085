"""resident3 (二级残疾人) applies for 残疾人服务一件事 and resident2 (80岁, 长者版) for
养老服务一件事, each on a phone (390×844, Chromium), from the task list through every step to the
confirmation, uploading only what the page still asks of them — what their 一人一档 and
e-certificates prove is spared, and says why."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings

from tongban.accounts.models import ResidentProfile
from tongban.cases.models import Application, MaterialSubmission
from tongban.cases.tests.test_browser_applicant import axe, fill_empty, no_sideways_scroll
from tongban.catalog.guide import bundle_questions
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.services import certificate_types_load
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts
from tongban.demo.certificates import ensure_demo_certificates

from .conftest import PDF


def _answers(code: str, profile: ResidentProfile) -> dict[str, str]:
    """本人申请 and the first option of every other question the profile does not answer."""
    answers: dict[str, str] = {}
    while True:
        pending = [
            q
            for q in bundle_questions(code=code, answers=answers, applicant=profile)
            if q.applies and q.code not in answers and not q.known
        ]
        if not pending:
            return answers
        answers[pending[0].code] = pending[0].options[0].value


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("username", "bundle", "spared_by_own_card"),
    [
        ("resident3", "disability_services", "disability_certificate"),
        ("resident2", "elderly_care", "applicant_id_card"),
    ],
)
def test_a_resident_applies_on_a_phone_with_only_what_they_hold(
    page, username, bundle, spared_by_own_card
):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    certificate_types_load()
    assert ensure_demo_certificates(max_residents=0, max_enterprises=0) > 0
    page.set_viewport_size({"width": 390, "height": 844})
    profile = ResidentProfile.objects.get(user__username=username)

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.goto(f"/apply/bundle/{bundle}/?{urlencode(_answers(bundle, profile))}")
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("link", name="开始填写").click()
    while "/step/materials/" not in page.url:
        page.wait_for_load_state()
        assert no_sideways_scroll(page)
        fill_empty(page)
        page.get_by_role("button", name="保存并继续").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 0, page.locator("main").inner_text()

    assert no_sideways_scroll(page) and axe(page) == []
    own = page.locator(f"#material-{spared_by_own_card}").inner_text()
    assert "您已有电子证照" in own and "无需提交" in own
    asked = [
        n.get_attribute("name")[len("file.") :] for n in page.locator("input[type=file]").all()
    ]
    required = [
        code
        for code in asked
        if "（非必需）" not in page.locator(f"#material-{code} legend").inner_text()
    ]
    for code in required:
        page.locator(f"#material-{code}-file").set_input_files(
            {"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/step/delivery/")
    page.locator("input[name=delivery]").first.check()
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/check/")
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/submitted/")
    assert no_sideways_scroll(page) and axe(page) == []

    case = Application.objects.get()
    assert case.applicant.username == username
    uploads = MaterialSubmission.objects.filter(case=case, how="upload")
    assert sorted(set(uploads.values_list("material_code", flat=True))) == sorted(required)
    waived = MaterialSubmission.objects.filter(case=case, how="waived")
    assert waived.filter(material_code=spared_by_own_card).exclude(certificate_serial="").exists()
