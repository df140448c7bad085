"""亲友代办 through /api/v1/: grant, accept, revoke, and a case submitted for the 被代办人
with `delegation_id` — refused, changing nothing, once the authorisation has ended."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.cases.models import Application
from tongban.cases.tests.test_api_cases import payload, post_case
from tongban.delegation.models import Delegation, DelegationState
from tongban.delegation.selectors import today

pytestmark = pytest.mark.django_db


def _grant(client, principal, relative) -> int:
    client.force_login(principal.user)
    response = client.post(
        "/api/v1/me/delegations",
        {
            "agent_name": relative.name,
            "agent_id_number": relative.id_number,
            "valid_until": (today() + dt.timedelta(days=10)).isoformat(),
            "items": ["birth"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("agent_name", "scope", "state", "state_label", "live")} == {
        "agent_name": "刘晓梅",
        "scope": ["出生一件事"],
        "state": "proposed",
        "state_label": "待对方确认",
        "live": False,
    }
    return body["id"]


def test_grant_accept_apply_revoke(client, principal, relative, staff):
    pk = _grant(client, principal, relative)
    client.force_login(relative.user)
    mine = client.get("/api/v1/me/delegations").json()
    assert [r["id"] for r in mine["invitations"]] == [pk]
    response = client.post(f"/api/v1/me/delegations/{pk}/accept")
    assert (response.status_code, response.json()["state"]) == (200, "active")

    response = post_case(client, payload(principal, delegation_id=pk))
    assert response.status_code == 201, response.content
    case = Application.objects.get()
    assert (case.applicant, case.acted_by) == (principal.user, relative.user)
    assert response.json()["acted_for_name"] == "张桂英"

    client.force_login(principal.user)
    rows = client.get("/api/v1/me/cases").json()
    assert [(r["receipt_no"], r["acted_by_name"]) for r in rows] == [(case.receipt_no, "刘晓梅")]
    response = client.post(f"/api/v1/me/delegations/{pk}/revoke")
    assert (response.status_code, response.json()["state"]) == (200, "revoked")

    client.force_login(relative.user)
    response = post_case(client, payload(principal, delegation_id=pk), key="key-2")
    assert response.status_code == 403
    assert response.json()["code"] == "DELEGATION_NOT_VALID"
    assert client.get(f"/api/v1/cases/{case.receipt_no}").status_code == 404
    assert Application.objects.count() == 1


@pytest.mark.parametrize("bad", ["x", 0, True, [1], {"id": 1}])
def test_a_delegation_id_one_does_not_hold_is_refused(client, principal, relative, bad):
    client.force_login(relative.user)
    response = post_case(client, payload(principal, delegation_id=bad))
    assert (response.status_code, response.json()["code"]) == (403, "DELEGATION_NOT_VALID")
    assert Application.objects.count() == 0


def test_another_resident_is_told_nothing(client, principal, relative, stranger):
    pk = _grant(client, principal, relative)
    client.force_login(stranger.user)
    assert client.get("/api/v1/me/delegations").json() == {
        "given": [],
        "invitations": [],
        "received": [],
    }
    for action in ("accept", "decline", "revoke"):
        response = client.post(f"/api/v1/me/delegations/{pk}/{action}")
        assert (response.status_code, response.json()["code"]) == (404, "DELEGATION_NOT_FOUND")
    assert Delegation.objects.get().state == DelegationState.PROPOSED


def test_bad_input_is_422_with_fields(client, principal):
    client.force_login(principal.user)
    response = client.post(
        "/api/v1/me/delegations",
        {"agent_name": "", "agent_id_number": "1", "valid_until": "x"},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "DELEGATION_INVALID"
    assert [d["field"] for d in body["details"]] == ["agent_id_number", "agent_name", "valid_until"]
    assert Delegation.objects.count() == 0


def test_anonymous_is_401(client):
    assert client.get("/api/v1/me/delegations").status_code == 401
    assert client.post("/api/v1/me/delegations/1/revoke").status_code == 401
