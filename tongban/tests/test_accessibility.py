"""Every kind of page, checked in Chromium by axe-core against WCAG 2.1 A and AA (labels,
contrast, headings, landmarks, keyboard names), in normal and 长者版 mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tongban.accounts.models import Enterprise
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import DEMO_PASSWORD, ensure_demo_accounts

AXE = Path(settings.BASE_DIR) / "var" / "node" / "node_modules" / "axe-core" / "axe.min.js"
BIRTH_ANSWERS = (
    "applicant_relation=mother&parents_marital=married&born_in_city=yes&multiple_birth=no&hukou_follows=mother"
    "&maternity_insured=yes"
)
PUBLIC_PAGES = [
    "/",
    "/search?q=上户口",
    "/items/SH-GA-0101/",
    "/items/SH-GHZY-0101/",  # 网上办理需已实名核验
    "/bundles/birth/",
    "/bundles/birth/?answered=1",  # every question unanswered: the error state
    f"/bundles/birth/?{BIRTH_ANSWERS}",
    "/accounts/login/",
    "/accounts/activate/",
    "/accounts/register/",
    "/accounts/reset/",
    "/accounts/demo-sms/",
    "/no-such-page/",
    "/policies/?industry=H",
    "/policies/SH-SCJ-P001/",
    "/policies/SH-SCJ-P001/funds/2026-2/",
    "/policies/check/",
    "/assistant/",  # 智能客服
    "/helpdesk/",  # 在线客服
]
PERSONAL_PAGES = {
    "resident1": [
        "/me/",
        "/me/notices/",
        f"/bundles/birth/?{BIRTH_ANSWERS}",
        "/me/policies/",
        "/accounts/passkeys/",
        "/me/connected-sites/",
        "/accounts/verify/",
        "/complaints/new/",
        "/me/complaints/",
    ],
    "agent2": ["/enterprise/"],
    # 亲友代办: the daughter's invitations and people she acts for; her mother's grants.
    "relative1": ["/me/", "/me/delegations/"],
    "resident2": ["/me/", "/me/delegations/"],
    # {tech}: the demo technology company's id (惠企政策 of an enterprise agent1 represents).
    # 授权管理 (the agent list, the grant form and the history) on 企业专属网页.
    "agent1": ["/enterprise/{tech}/policies/", "/enterprise/?enterprise={tech}"],
    # 企业授权邀请 waiting on the invitee's home.
    "resident3": ["/me/"],
}


def _axe_violations(page) -> list[str]:
    # evaluate() goes through the DevTools protocol, so the page's CSP (script-src 'self')
    # does not block the checker, and the page itself still runs under its real policy.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


def _log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


@pytest.fixture
def demo_city(transactional_db):
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs axe-core at {AXE} (scripts/ensure-browser.sh installs it)")
        pytest.skip("axe-core is not installed (scripts/ensure-browser.sh installs it)")
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder-mode"])
def test_public_and_personal_pages_have_no_wcag_violations(demo_city, page, elder):
    if elder:
        page.context.add_cookies([{"name": "tongban_elder", "value": "1", "url": page.base_url}])
    found = {}
    for path in PUBLIC_PAGES:
        page.goto(path)
        found[path] = _axe_violations(page)
    for username, paths in PERSONAL_PAGES.items():
        page.context.clear_cookies()
        if elder:
            page.context.add_cookies(
                [{"name": "tongban_elder", "value": "1", "url": page.base_url}]
            )
        _log_in(page, username)
        tech = Enterprise.objects.get(name="示例（上海）通办科技有限公司").pk
        for path in paths:
            path = path.format(tech=tech)
            page.goto(path)
            found[f"{username} {path}"] = _axe_violations(page)
    assert {k: v for k, v in found.items() if v} == {}
