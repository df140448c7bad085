from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import UserFactory
from tongban.idcode import services

pytestmark = pytest.mark.django_db


def test_my_idcode_page_shows_a_qr_and_the_scans(client, resident, make_scanner):
    scanner, _ = make_scanner()
    services.code_scan(
        scanner=scanner, code=services.idcode_issue(user=resident.user).text, scenario="metro"
    )
    client.force_login(resident.user)
    response = client.get("/me/idcode/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") == 1
    assert 'data-api-url="/api/v1/me/idcode"' in html
    assert '<noscript><meta http-equiv="refresh" content="270"></noscript>' in html
    assert "测试终端" in html and "轨道交通敬老乘车" in html
    assert "/static/idcode/refresh.js" in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_me_page_links_the_idcode(client, resident):
    client.force_login(resident.user)
    assert 'href="/me/idcode/"' in client.get("/me/").content.decode()


def test_idcode_page_needs_login_and_profile(client):
    assert client.get("/me/idcode/").status_code == 302
    client.force_login(UserFactory())
    response = client.get("/me/idcode/")
    assert response.status_code == 404
    assert "尚未关联居民档案" in response.content.decode()


def test_enterprise_page_for_agents_only(client, agent_and_enterprise, resident):
    agent, enterprise = agent_and_enterprise
    client.force_login(resident.user)
    assert client.get(f"/enterprise/{enterprise.pk}/idcode/").status_code == 404
    client.force_login(agent)
    response = client.get(f"/enterprise/{enterprise.pk}/idcode/")
    assert response.status_code == 200
    assert "示例数据科技有限公司" in response.content.decode()
    assert (
        f'href="/enterprise/{enterprise.pk}/idcode/"'
        in client.get(f"/enterprise/?enterprise={enterprise.pk}").content.decode()
    )
