"""市民主页, 企业专属网页 and the 工作台 offer only what works: no placeholder, and no link a
person can see leads to 403 or 404."""

from __future__ import annotations

import re

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import EnterpriseFactory, StaffFactory
from tongban.catalog.models import Department
from tongban.reviews.tests.conftest import (  # noqa: F401 — fixtures
    catalog,
    media,
    people,
    resident,
    staff,
)

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_me_page_has_no_placeholder_and_links_what_works(client, resident):  # noqa: F811
    client.force_login(resident.user)
    html = _html(client.get("/me/"))
    assert "即将上线" not in html and "upcoming" not in html
    for href in (
        "/me/idcode/",
        "/me/cases/",
        "/me/certificates/",
        "/me/reviews/",
        "/me/complaints/",
        "/helpdesk/",
        "/me/data-access/",
        "/me/policies/",
        "/policies/",
    ):
        assert f'href="{href}"' in html
    # The person's 一件事 can be started from here; the enterprise's are not offered.
    assert '<a href="/bundles/birth/">出生一件事</a>' in html
    assert "/bundles/enterprise_opening/" not in html
    main = html[html.index("<main") : html.index("</main>")]
    hrefs = re.findall(r'href="(/[^"#]*)"', main)
    # The 9 above and the bundle, plus 亲友代办, 通行密钥, 已授权的网站和应用, 授权数据使用,
    # 我的信用记录 and (the account is not yet 已实名核验) 在线实名核验.
    assert "/me/delegations/" in hrefs
    assert "/me/consents/" in hrefs
    assert "/me/credit/" in hrefs
    assert "/accounts/verify/" in hrefs
    # 预约与排队: 我的预约, 我的排队, 我的轮候, 查找办事大厅, 文体场馆预约.
    for href in ("/me/bookings/", "/me/tickets/", "/me/waiting-lists/", "/halls/", "/venues/"):
        assert href in hrefs
    assert len(hrefs) == 22  # with 我的投诉建议 and 我的咨询
    for href in hrefs:
        assert client.get(href).status_code == 200, href


def test_enterprise_page_offers_its_services_with_the_enterprise_chosen(client, resident):  # noqa: F811
    company = EnterpriseFactory(agents=[resident.user])
    client.force_login(resident.user)
    html = _html(client.get("/enterprise/"))
    assert "即将上线" not in html
    assert 'href="/me/cases/" id="enterprise-cases-link">企业办件</a>' in html
    assert 'href="/me/certificates/" id="enterprise-certificates-link">企业证照</a>' in html
    bundle = f"/bundles/enterprise_opening/?enterprise={company.pk}"
    assert f'<a href="{bundle}">' in html
    assert f'<a href="/items/seal_engraving/?enterprise={company.pk}">' in html
    # Person-only services are not offered to the enterprise.
    assert "/bundles/birth/" not in html
    # The guide keeps the enterprise through its questions, and the form arrives with it.
    guide = _html(client.get(bundle))
    assert f'<input type="hidden" name="enterprise" value="{company.pk}">' in guide
    assert f"将以<strong>{company.name}</strong>的名义办理" in guide
    stranger = EnterpriseFactory()
    assert "的名义办理" not in _html(
        client.get(f"/bundles/enterprise_opening/?enterprise={stranger.pk}")
    )
    item = _html(client.get(f"/items/seal_engraving/?enterprise={company.pk}"))
    assert f'href="/apply/item/seal_engraving/?enterprise={company.pk}">在线办理</a>' in item
    form = _html(client.get(f"/apply/item/seal_engraving/?enterprise={company.pk}"))
    # The form's task list opens with that enterprise chosen.
    assert f'<option value="{company.pk}" selected>' in form


def _staff_links(client, user) -> list[str]:
    client.force_login(user)
    html = _html(client.get("/staff/"))
    start = html.index('id="work-title"')
    return re.findall(r'href="([^"#]+)"', html[start : html.index("</section>\n<p>", start)])


def test_every_staff_shell_link_opens_for_the_person_who_sees_it(client, people):  # noqa: F811
    police = Department.objects.get(code="police")
    lead = people.lead
    clerk_without_hall = StaffFactory(department=police, role=StaffRole.COUNTER_CLERK)
    helpdesk = StaffFactory(department=police, role=StaffRole.HELPDESK)
    expected = {
        # 行政协助: every case-handling post answers for its department.
        people.acceptor["police"]: ["/staff/intake/", "/staff/reviews/", "/staff/assistance/"],
        people.reviewer["police"]: [
            "/staff/tasks/",
            "/staff/commitment-checks/",
            "/staff/assistance/",
        ],
        # A clerk in a hall also calls the queue, runs the 导服台 and the hall's bookings.
        people.clerk: [
            "/staff/intake/",
            "/staff/handout/",
            "/staff/queue/",
            "/staff/queue/reception/",
            "/staff/bookings/",
            "/staff/bookings/rules/",
            "/staff/counter/",
        ],
        people.issuer: ["/staff/handout/"],
        # … and their department's 服务指标.
        lead: ["/staff/tasks/", "/staff/commitment-checks/", "/staff/reviews/", "/staff/metrics/"],
        # 城市运营 sees every department's 政策兑现 figures and, read-only, 接入管理.
        # … the booking rules of every hall and venue, and the halls' figures
        # (综合窗口设置比例, 预约履约, 等候时长).
        people.operator: [
            "/staff/reviews/",
            "/staff/complaints/",
            "/staff/policies/",
            "/staff/connect/",
            "/staff/metrics/",
            "/staff/helpdesk/",
            "/staff/bookings/rules/",
            "/staff/halls/figures/",
        ],
        clerk_without_hall: [],
        # 在线客服: the queue, left messages and 在线帮办, and nothing else.
        helpdesk: ["/staff/helpdesk/"],
    }
    for user, links in expected.items():
        assert _staff_links(client, user) == links, user.username
        for href in links:
            assert client.get(href).status_code == 200, (user.username, href)
    # The pages a person is not shown still refuse them: the link follows the gate.
    client.force_login(people.acceptor["police"])
    assert client.get("/staff/counter/").status_code == 403
    assert client.get("/staff/tasks/").status_code == 403
    client.force_login(people.reviewer["police"])
    assert client.get("/staff/reviews/").status_code == 404
    client.force_login(clerk_without_hall)
    assert "您的岗位暂无可办理的业务页面" in _html(client.get("/staff/"))
    assert client.get("/staff/counter/").status_code == 403


def test_staff_shell_has_no_placeholder(client, people):  # noqa: F811
    client.force_login(people.operator)
    assert "即将上线" not in _html(client.get("/staff/"))
