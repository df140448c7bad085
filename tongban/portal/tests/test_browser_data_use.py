"""我的数据使用记录 and 企业数据使用记录 on a phone (390 px), standard and 长者版: every kind
of row readable, no sideways scrolling, no axe violations."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
    UserFactory,
)
from tongban.common.services import audit_record
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIDEWAYS = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
LONG_BASIS = "示例市困难残疾人生活补贴办法（示例民规〔2026〕3号）第四条第一款第三项"


def _uses(profile, enterprise) -> None:
    """One row of each kind, with the longest words the record carries."""
    common = {"object_type": "source_lookup", "object_id": 1}
    for subject, action in (
        ({"subject_resident_id": profile.pk}, "personal_data.read"),
        ({"subject_enterprise_id": enterprise.pk}, "enterprise_data.read"),
    ):
        audit_record(
            actor_label="system:exchange",
            action=action,
            purpose="办理「残疾人服务一件事」核验申请材料",
            data={
                "fields": ["残疾等级", "残疾人证号", "残疾类别", "家庭人均月收入"],
                "source_name": "残联残疾人库",
                "legal_basis": LONG_BASIS,
                "receipt_no": "2612031234567",
                "post": "一网通办平台（数据共享核验）",
                "channel": "exchange",
            },
            **common,
            **subject,
        )
        audit_record(
            actor_label="client:bank",
            action=action,
            purpose="信易贷贷前核验：核对纳税信用等级和社保参保人数",
            data={
                "fields": ["纳税信用等级", "社保参保人数"],
                "source_name": "税务征收信息",
                "legal_basis": "本人授权",
                "post": "示例农村商业银行股份有限公司（银行，经授权查询）",
                "channel": "consent",
                "consent": "CS-2026-000042",
            },
            **common,
            **subject,
        )
    audit_record(
        actor_label="system:schedule",
        action="personal_data.match",
        purpose="政策找人：重度残疾人护理补贴",
        subject_resident_id=profile.pk,
        data={
            "fields": ["残疾等级", "本市户籍"],
            "legal_basis": LONG_BASIS,
            "post": "示例市民政局（政策找人系统比对）",
            "channel": "matching",
        },
    )


def _log_in(page, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": page.base_url}]
    )


@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder-mode"])
def test_both_records_read_on_a_phone(page, elder):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (scripts/ensure-browser.sh installs it)")
    user = UserFactory(elder_mode=elder)
    profile = ResidentProfileFactory(user=user)
    enterprise = EnterpriseFactory()
    EnterpriseMembershipFactory(
        user=user, enterprise=enterprise, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    _uses(profile, enterprise)
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, user)
    for url, rows in (
        ("/me/data-access/", 3),
        (f"/enterprise/{enterprise.pk}/data-access/", 2),
    ):
        page.goto(url)
        assert (page.locator("body").get_attribute("class") == "elder") is elder
        assert page.locator("tr.data-use").count() == rows
        basis = page.locator('tr.data-use-exchange td[data-label="依据"]')
        assert basis.inner_text() == LONG_BASIS
        assert basis.is_visible()
        assert not page.evaluate(SIDEWAYS), url
        assert _axe_violations(page) == [], url
