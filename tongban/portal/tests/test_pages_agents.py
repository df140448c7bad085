"""企业授权管理 on 企业专属网页 and the invitation on 市民主页: who sees what, and what each
form does (or, refused, does not do)."""

from __future__ import annotations

import datetime as dt
import html as html_lib

import pytest
from django.test import Client

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import agent_today
from tongban.accounts.services import enterprise_agent_grant
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent

REP = EnterpriseMembership.Role.LEGAL_REPRESENTATIVE


def _html(response) -> str:
    return html_lib.unescape(response.content.decode())


@pytest.fixture
def firm(db):
    catalog_load_directory(path=FIXTURES)
    rep = ResidentProfileFactory(name="周明")
    company = EnterpriseFactory(name="示例页面科技有限公司")
    EnterpriseMembershipFactory(user=rep.user, enterprise=company, role=REP)
    invitee = ResidentProfileFactory(name="吴芳")
    return rep, company, invitee


def _grant_post(company, person, **extra):
    data = {
        "id_number": person.id_number,
        "name": person.name,
        "role": "agent",
        "scope": "chosen",
        "items": ["seal_engraving"],
        "may_certificates": "on",
        "expires_on": (agent_today() + dt.timedelta(days=30)).isoformat(),
    }
    data.update(extra)
    return f"/enterprise/{company.pk}/agents/", data


def _footprint():
    return EnterpriseMembership.objects.count(), AuditEvent.objects.count()


def test_the_legal_representative_sees_the_section_and_grants(client, firm):
    rep, company, invitee = firm
    client.force_login(rep.user)
    page = _html(client.get("/enterprise/"))
    assert '<h2 id="agents-title">授权管理</h2>' in page
    assert "周*" in page and "法定代表人" in page
    assert 'id="grant-form"' in page and "公章刻制备案" in page
    assert "管理员（可办理全部业务，并管理经办人）" in page  # the legal rep may appoint one

    url, data = _grant_post(company, invitee)
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"/enterprise/?enterprise={company.pk}#agents"
    membership = EnterpriseMembership.objects.get(invitee_name="吴芳")
    assert (membership.items, membership.may_certificates, membership.may_idcode) == (
        ["seal_engraving"],
        True,
        False,
    )
    page = _html(client.get(response["Location"]))
    assert "已向吴*发出授权邀请，对方确认接受后生效。" in page
    assert "待对方接受" in page and "撤回邀请" in page
    assert "吴芳" not in page  # names are masked in the list and the history


def test_a_refused_grant_shows_the_reason_beside_the_field_and_creates_nothing(client, firm):
    rep, company, invitee = firm
    client.force_login(rep.user)
    before = _footprint()
    url, data = _grant_post(company, invitee, id_number="310104199003071230")
    response = client.post(url, data)
    assert response.status_code == 422
    page = _html(response)
    assert "身份证号码校验位不正确，请核对是否输错" in page
    assert "授权未发出，请按提示修改后重新提交。" in page
    url, data = _grant_post(company, invitee, scope="chosen", items=[])
    response = client.post(url, data)
    assert response.status_code == 422
    assert "请至少勾选一项可办理的事项" in _html(response)
    url, data = _grant_post(company, invitee, expires_on="2020-01-01")
    response = client.post(url, data)
    assert response.status_code == 422
    assert "授权截止日期不能早于今天" in _html(response)
    assert _footprint() == before


def test_an_agent_sees_their_scope_and_cannot_grant(client, firm):
    rep, company, invitee = firm
    EnterpriseMembershipFactory(
        user=invitee.user,
        enterprise=company,
        items=["seal_engraving"],
        may_certificates=False,
        may_idcode=False,
    )
    client.force_login(invitee.user)
    page = _html(client.get("/enterprise/"))
    assert 'id="agents-title"' not in page and 'id="grant-form"' not in page
    assert "您的授权范围：只能办理下方列出的事项；不能查看企业证照；不能出示企业随申码。" in page
    assert 'id="idcode-link"' not in page and 'id="enterprise-certificates-link"' not in page
    assert "/items/seal_engraving/" in page and "/items/invoice_application/" not in page
    before = _footprint()
    url, data = _grant_post(company, ResidentProfileFactory())
    response = client.post(url, data)
    assert response.status_code == 403
    assert "只有本企业的法定代表人或管理员可以管理授权" in _html(response)
    assert _footprint() == before
    # Nor can they revoke anyone, the legal representative least of all.
    rep_row = EnterpriseMembership.objects.get(user=rep.user)
    response = client.post(f"/enterprise/agents/{rep_row.pk}/revoke/")
    assert response.status_code == 403
    assert _footprint() == before


def test_another_enterprises_representative_sees_and_changes_nothing(client, firm):
    rep, company, invitee = firm
    membership = enterprise_agent_grant(
        actor=rep.user, enterprise_id=company.pk, id_number=invitee.id_number, name="吴芳"
    )
    # A name of its own: a random one could share the masked 吴* looked for below.
    other = ResidentProfileFactory(name="郑强")
    EnterpriseMembershipFactory(user=other.user, enterprise=EnterpriseFactory(), role=REP)
    client.force_login(other.user)
    assert client.get(f"/enterprise/?enterprise={company.pk}").status_code == 404
    page = _html(client.get("/enterprise/"))
    assert "示例页面科技有限公司" not in page and "吴*" not in page
    before = _footprint()
    url, data = _grant_post(company, ResidentProfileFactory())
    assert client.post(url, data).status_code == 404
    response = client.post(f"/enterprise/agents/{membership.pk}/revoke/")
    assert response.status_code == 404
    assert "未找到该授权" in _html(response)
    assert _footprint() == before


def test_the_invitee_accepts_on_their_home_then_acts(client, firm):
    rep, company, invitee = firm
    membership = enterprise_agent_grant(
        actor=rep.user,
        enterprise_id=company.pk,
        id_number=invitee.id_number,
        name="吴芳",
        items=["seal_engraving"],
    )
    client.force_login(invitee.user)
    home = _html(client.get("/me/"))
    assert '<h2 id="agent-invitations-title">企业授权邀请</h2>' in home
    assert "示例页面科技有限公司" in home and "公章刻制备案" in home and "周*" in home
    assert 'href="/enterprise/"' not in home  # no authority yet, so no 企业主页
    waiting = _html(client.get("/enterprise/"))
    assert '<a href="/me/#agent-invitations">有 1 个企业授权邀请等待您确认</a>' in waiting
    response = client.post(f"/me/enterprise-invitations/{membership.pk}/accept/")
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.user_id == invitee.user.pk and membership.accepted_at is not None
    page = _html(client.get(response["Location"]))
    assert "已接受授权，现在可以为示例页面科技有限公司办事。" in page
    assert '<strong id="my-role">经办人</strong>' in page
    # Accepting twice finds nothing to accept, and says so with a 4xx.
    again = client.post(f"/me/enterprise-invitations/{membership.pk}/accept/")
    assert again.status_code == 404
    assert "未找到待您确认的企业授权邀请" in _html(again)


def test_declining_and_someone_elses_invitation(client, firm):
    rep, company, invitee = firm
    membership = enterprise_agent_grant(
        actor=rep.user, enterprise_id=company.pk, id_number=invitee.id_number, name="吴芳"
    )
    client.force_login(ResidentProfileFactory().user)
    before = _footprint()
    assert client.post(f"/me/enterprise-invitations/{membership.pk}/accept/").status_code == 404
    assert client.post(f"/me/enterprise-invitations/{membership.pk}/decline/").status_code == 404
    assert _footprint() == before
    client.force_login(invitee.user)
    response = client.post(f"/me/enterprise-invitations/{membership.pk}/decline/")
    assert response["Location"] == "/me/"
    membership.refresh_from_db()
    assert membership.declined_at is not None and membership.accepted_at is None
    assert 'id="agent-invitations"' not in _html(client.get("/me/"))


def test_revoking_from_the_page_ends_the_authority(client, firm):
    rep, company, invitee = firm
    agent_row = EnterpriseMembershipFactory(user=invitee.user, enterprise=company)
    client.force_login(rep.user)
    response = client.post(f"/enterprise/agents/{agent_row.pk}/revoke/")
    assert response.status_code == 302
    agent_row.refresh_from_db()
    assert agent_row.revoked_by_id == rep.user.pk
    page = _html(client.get(response["Location"]))
    assert "已撤销该授权，对方即刻不能再以本企业名义办理。" in page
    assert "已撤销" in page and "撤销授权" in page
    client.force_login(invitee.user)
    assert client.get(f"/enterprise/?enterprise={company.pk}").status_code == 404
    assert 'href="/enterprise/"' not in _html(client.get("/me/"))


def test_an_agent_gives_up_their_authority(client, firm):
    _, company, invitee = firm
    agent_row = EnterpriseMembershipFactory(user=invitee.user, enterprise=company)
    client.force_login(invitee.user)
    assert 'id="resign-button"' in _html(client.get("/enterprise/"))
    response = client.post(f"/enterprise/agents/{agent_row.pk}/resign/")
    assert response["Location"] == "/enterprise/"
    agent_row.refresh_from_db()
    assert agent_row.revoked_by_id == invitee.user.pk
    assert "您的账户尚未关联任何企业" in _html(client.get("/enterprise/"))


def test_the_forms_need_their_csrf_token(firm):
    rep, company, invitee = firm
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep.user)
    before = _footprint()
    url, data = _grant_post(company, invitee)
    assert client.post(url, data).status_code == 403
    assert _footprint() == before


def test_anonymous_is_sent_to_login(client, firm):
    _, company, invitee = firm
    before = _footprint()
    url, data = _grant_post(company, invitee)
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert _footprint() == before


def test_get_on_the_forms_is_refused(client, firm):
    rep, company, _ = firm
    client.force_login(rep.user)
    assert client.get(f"/enterprise/{company.pk}/agents/").status_code == 405
