"""/api/v1/ 企业授权管理: the same rules as the pages, as JSON with stable error codes."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import agent_today
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent

REP = EnterpriseMembership.Role.LEGAL_REPRESENTATIVE


@pytest.fixture
def firm(db):
    catalog_load_directory(path=FIXTURES)
    rep = ResidentProfileFactory(name="周明")
    company = EnterpriseFactory(name="示例接口科技有限公司")
    EnterpriseMembershipFactory(user=rep.user, enterprise=company, role=REP)
    return rep, company, ResidentProfileFactory(name="吴芳")


def _footprint():
    return EnterpriseMembership.objects.count(), AuditEvent.objects.count()


def test_grant_accept_list_revoke(client, firm):
    rep, company, invitee = firm
    client.force_login(rep.user)
    until = agent_today() + dt.timedelta(days=10)
    response = client.post(
        f"/api/v1/enterprises/{company.pk}/agents",
        data={
            "id_number": invitee.id_number,
            "name": "吴芳",
            "items": ["invoice_application"],
            "may_idcode": True,
            "expires_on": until.isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    grant_id = body["id"]
    assert {k: body[k] for k in ("name", "role", "items", "may_idcode", "state")} == {
        "name": "吴*",
        "role": "agent",
        "items": ["invoice_application"],
        "may_idcode": True,
        "state": "pending",
    }

    client.force_login(invitee.user)
    [invitation] = client.get("/api/v1/me/enterprise-invitations").json()
    assert (invitation["id"], invitation["enterprise_name"], invitation["granted_by"]) == (
        grant_id,
        "示例接口科技有限公司",
        "周*",
    )
    accepted = client.post(f"/api/v1/me/enterprise-invitations/{grant_id}/accept")
    assert (accepted.status_code, accepted.json()["state"]) == (200, "live")
    assert [e["id"] for e in client.get("/api/v1/me/enterprises").json()] == [company.pk]

    client.force_login(rep.user)
    listed = client.get(f"/api/v1/enterprises/{company.pk}/agents").json()
    assert [(a["name"], a["state"]) for a in listed["agents"]] == [("周*", "live"), ("吴*", "live")]
    assert [h["what"] for h in listed["history"]][:2] == ["接受授权", "授权"]
    revoked = client.post(f"/api/v1/enterprise-agents/{grant_id}/revoke")
    assert (revoked.status_code, revoked.json()["state"]) == (200, "revoked")
    client.force_login(invitee.user)
    assert client.get("/api/v1/me/enterprises").json() == []
    assert client.get(f"/api/v1/enterprises/{company.pk}/idcode").status_code == 404


def test_change_scope(client, firm):
    rep, company, invitee = firm
    row = EnterpriseMembershipFactory(user=invitee.user, enterprise=company)
    client.force_login(rep.user)
    response = client.put(
        f"/api/v1/enterprise-agents/{row.pk}",
        data={"items": ["seal_engraving"], "may_certificates": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["items"], response.json()["may_idcode"]) == (["seal_engraving"], False)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"id_number": "123"}, 422, "INVALID_ID_NUMBER"),
        ({"name": ""}, 422, "AGENT_NAME_INVALID"),
        ({"items": ["nope"]}, 422, "AGENT_ITEMS_INVALID"),
        ({"expires_on": "2020-01-01"}, 422, "AGENT_EXPIRY_INVALID"),
        ({"role": "legal_rep"}, 422, "AGENT_ROLE_INVALID"),
        ({"expires_on": "not a date"}, 422, "INVALID_INPUT"),
    ],
)
def test_bad_grants_are_4xx_and_change_nothing(client, firm, payload, status, code):
    rep, company, invitee = firm
    client.force_login(rep.user)
    before = _footprint()
    data = {"id_number": invitee.id_number, "name": "吴芳", **payload}
    response = client.post(
        f"/api/v1/enterprises/{company.pk}/agents", data=data, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert _footprint() == before


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "AUTHENTICATION_REQUIRED"),
        ("agent", 403, "NOT_ENTERPRISE_MANAGER"),
        ("other_rep", 404, "ENTERPRISE_NOT_FOUND"),
        ("revoked_rep", 404, "ENTERPRISE_NOT_FOUND"),
    ],
)
def test_who_may_not_list_or_grant(client, firm, who, status, code):
    rep, company, invitee = firm
    if who != "anonymous":
        user = ResidentProfileFactory().user
        if who == "agent":
            EnterpriseMembershipFactory(user=user, enterprise=company)
        elif who == "other_rep":
            EnterpriseMembershipFactory(user=user, enterprise=EnterpriseFactory(), role=REP)
        else:
            EnterpriseMembership.objects.filter(user=rep.user).update(accepted_at=None)
            user = rep.user
        client.force_login(user)
    before = _footprint()
    listed = client.get(f"/api/v1/enterprises/{company.pk}/agents")
    granted = client.post(
        f"/api/v1/enterprises/{company.pk}/agents",
        data={"id_number": invitee.id_number, "name": "吴芳"},
        content_type="application/json",
    )
    for response in (listed, granted):
        assert (response.status_code, response.json()["code"]) == (status, code)
    assert _footprint() == before


def test_out_of_range_ids_are_not_found(client, firm):
    rep, _, _ = firm
    client.force_login(rep.user)
    for path in (
        f"/api/v1/enterprises/{2**40}/agents",
        f"/api/v1/enterprise-agents/{2**40}/revoke",
        f"/api/v1/me/enterprise-invitations/{2**40}/accept",
    ):
        response = client.post(path) if "revoke" in path or "accept" in path else client.get(path)
        assert response.status_code == 404, path
