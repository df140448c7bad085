"""In Chromium: the 随申码 page shows a QR, passes axe, and swaps in a fresh code by itself."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import TEST_PASSWORD, ResidentProfileFactory
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def test_code_page_shows_a_qr_and_refreshes_without_reload(page, settings):
    settings.TONGBAN_IDCODE_TTL_SECONDS = 4  # refresh after 2 s
    resident = ResidentProfileFactory()
    _log_in(page, resident.user.username)
    page.goto("/me/")
    page.get_by_role("link", name="出示随申码").click()
    page.wait_for_url("**/me/idcode/")
    qr = page.locator("#idcode-qr svg")
    assert qr.count() == 1
    first = page.locator("#idcode-qr").inner_html()
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        "first => document.getElementById('idcode-qr').innerHTML !== first", arg=first
    )
    # The same document: the code changed in place, not by a reload.
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#idcode-qr svg").count() == 1
    if AXE.exists():
        assert _axe_violations(page) == []


def test_code_page_in_elder_mode_has_no_axe_violations(page):
    if not AXE.exists():
        pytest.skip("axe-core is not installed")
    resident = ResidentProfileFactory()
    resident.user.elder_mode = True
    resident.user.save(update_fields=["elder_mode"])
    _log_in(page, resident.user.username)
    page.goto("/me/idcode/")
    assert page.locator("#idcode-qr svg").count() == 1
    assert _axe_violations(page) == []
