from __future__ import annotations

import re

import pytest

from tongban.accounts.tests.factories import UserFactory
from tongban.idcode import services, token

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


def test_scan_log_states_every_result_in_plain_chinese(client, resident, make_scanner):
    scanner, _ = make_scanner()
    code = services.idcode_issue(user=resident.user).text
    for _ in range(2):  # the second scan of one code is a replay
        services.code_scan(scanner=scanner, code=code, scenario="metro")
    client.force_login(resident.user)
    html = client.get("/me/idcode/").content.decode()
    results = re.findall(r'<td data-label="结果">([^<]*)</td></tr>', html)
    assert results == ["未读取：二维码已被扫描过", "已读取"]
    assert "replayed" not in html


def test_every_scan_result_has_a_label_for_the_holder():
    assert set(token.RESULT_LABELS) == set(token.RESULT_CODES)
    assert all(re.search(r"[a-z]", label) is None for label in token.RESULT_LABELS.values())
