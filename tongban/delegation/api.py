"""/api/v1/ endpoints of 亲友代办: the same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema
from ninja.responses import Status

from tongban.accounts.apiauth import resident_auth
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.delegation import selectors, services

router = Router(tags=["delegation"], auth=resident_auth)


class DelegationOut(Schema):
    id: int
    principal_name: str
    agent_name: str
    scope_all: bool
    scope: list[str]
    valid_until: dt.date
    state: str
    state_label: str
    live: bool
    recorded_via_label: str


class DelegationsOut(Schema):
    given: list[DelegationOut]
    invitations: list[DelegationOut]
    received: list[DelegationOut]


class DelegationGrantIn(Schema):
    agent_name: str
    agent_id_number: str
    valid_until: str
    items: list[str] = []


def _one(user, delegation_id: Id) -> dict:
    d = selectors.delegation_for_party(user=user, delegation_id=delegation_id)
    return selectors.delegation_row(d)


@router.get(
    "me/delegations", response={200: DelegationsOut, **errors(401)}, summary="我的亲友代办授权"
)
def delegations_mine(request):
    """Whom I authorised, the invitations waiting for me, and for whom I may act."""
    return {
        "given": selectors.delegations_given(user=request.auth),
        "invitations": selectors.delegation_invitations(user=request.auth),
        "received": selectors.delegations_received(user=request.auth),
    }


@router.post(
    "me/delegations",
    response={201: DelegationOut, **errors(400, 401, 403, 409, 422)},
    summary="授权他人为我代办",
)
def delegation_grant(request, body: DelegationGrantIn):
    """The invitation waits for the named person's acceptance; the answer is the same whether
    or not anyone with that ID number has an account."""
    d = services.delegation_propose(
        principal_user=request.auth,
        agent_id_number=body.agent_id_number,
        agent_name=body.agent_name,
        items=body.items,
        valid_until=body.valid_until,
    )
    return Status(201, _one(request.auth, d.pk))


@router.post(
    "me/delegations/{delegation_id}/accept",
    response={200: DelegationOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="接受代办邀请",
)
def delegation_accept(request, delegation_id: Id):
    d = services.delegation_accept(user=request.auth, delegation_id=delegation_id)
    return _one(request.auth, d.pk)


@router.post(
    "me/delegations/{delegation_id}/decline",
    response={200: DelegationOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="拒绝代办邀请",
)
def delegation_decline(request, delegation_id: Id):
    d = services.delegation_decline(user=request.auth, delegation_id=delegation_id)
    return _one(request.auth, d.pk)


@router.post(
    "me/delegations/{delegation_id}/revoke",
    response={200: DelegationOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤销代办授权（任一方）",
)
def delegation_revoke(request, delegation_id: Id):
    """From this moment every request made with it is refused (DELEGATION_NOT_VALID)."""
    d = services.delegation_revoke(user=request.auth, delegation_id=delegation_id)
    return _one(request.auth, d.pk)
