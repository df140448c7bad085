"""我的证照 in Chromium: the list and a certificate, checked by axe (WCAG 2.1 AA)."""

from __future__ import annotations

import pytest

from tongban.certificates.services import certificate_types_load
from tongban.demo.certificates import ensure_demo_certificates
from tongban.tests.test_accessibility import _axe_violations, _log_in, demo_city  # noqa: F401


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_wallet_pages_have_no_wcag_violations(demo_city, page):  # noqa: F811
    certificate_types_load()
    assert ensure_demo_certificates(max_residents=0, max_enterprises=0) > 0
    _log_in(page, "resident1")
    page.goto("/me/certificates/")
    found = {"list": _axe_violations(page)}
    assert page.get_by_role("link", name="居民身份证").count() == 1
    page.get_by_role("link", name="居民身份证").click()
    page.wait_for_load_state()
    assert page.locator("svg").count() >= 1
    assert page.locator("[data-result=valid]").count() == 1
    found["detail"] = _axe_violations(page)
    page.get_by_role("link", name="选择性出示").click()
    page.get_by_label("姓名").check()
    page.get_by_role("button", name="生成出示二维码").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="出示二维码已生成").count() == 1
    found["share"] = _axe_violations(page)
    assert {k: v for k, v in found.items() if v} == {}
