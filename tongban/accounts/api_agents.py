"""/api/v1/ endpoints for 企业授权管理: the legal representative or an administrator lists,
grants, changes and revokes an enterprise's agents; the invitee accepts or declines; an agent
gives up their own authority. The same services as 企业专属网页; every rule lives there."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema, Status
from pydantic import Field

from tongban.accounts.apiauth import resident_auth
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import (
    agent_invitations_for,
    agent_today,
    enterprise_agents_for,
    membership_display,
)
from tongban.accounts.services import (
    enterprise_agent_accept,
    enterprise_agent_decline,
    enterprise_agent_grant,
    enterprise_agent_resign,
    enterprise_agent_revoke,
    enterprise_agent_update,
)
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["enterprise-agents"], auth=resident_auth)


class EnterpriseAgentOut(Schema):
    id: int
    name: str = Field(description="被授权人姓名（脱敏）")
    role: str
    role_label: str
    items: list[str] = Field(description="可办理的事项和一件事编码；空表示全部")
    items_label: str
    may_certificates: bool
    may_idcode: bool
    expires_on: dt.date | None = Field(description="授权截止日期（含当天，上海时间）；空表示长期")
    state: str = Field(description="pending / live / expired / revoked / declined")
    state_label: str


class EnterpriseAgentEventOut(Schema):
    at: dt.datetime
    who: str
    what: str
    whom: str
    role_label: str


class EnterpriseAgentsOut(Schema):
    agents: list[EnterpriseAgentOut]
    history: list[EnterpriseAgentEventOut]


class EnterpriseAgentGrantIn(Schema):
    id_number: str = Field(max_length=40)
    name: str = Field(max_length=60)
    role: str = EnterpriseMembership.Role.AGENT
    items: list[str] = Field(default_factory=list, max_length=200)
    may_certificates: bool = False
    may_idcode: bool = False
    expires_on: dt.date | None = None


class EnterpriseAgentScopeIn(Schema):
    items: list[str] = Field(default_factory=list, max_length=200)
    may_certificates: bool = False
    may_idcode: bool = False
    expires_on: dt.date | None = None


class EnterpriseInvitationOut(EnterpriseAgentOut):
    enterprise_name: str
    granted_by: str


def _out(membership: EnterpriseMembership) -> dict:
    return membership_display(membership, today=agent_today())


@router.get(
    "enterprises/{enterprise_id}/agents",
    response={200: EnterpriseAgentsOut, **errors(400, 401, 403, 404, 422)},
    summary="企业授权管理：授权人员和授权记录",
)
def enterprise_agents(request, enterprise_id: Id):
    """For the enterprise's legal representative or an administrator; an agent is refused
    (NOT_ENTERPRISE_MANAGER, 403) and anyone else is told the enterprise is not found."""
    return enterprise_agents_for(viewer=request.auth, enterprise_id=enterprise_id)


@router.post(
    "enterprises/{enterprise_id}/agents",
    response={201: EnterpriseAgentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="授权经办人（邀请对方确认）",
)
def enterprise_agent_create(request, enterprise_id: Id, payload: EnterpriseAgentGrantIn):
    """The invitation waits for the person with that ID number and name to accept; the
    answer is the same whether or not they have an account."""
    membership = enterprise_agent_grant(
        actor=request.auth,
        enterprise_id=enterprise_id,
        id_number=payload.id_number,
        name=payload.name,
        role=payload.role,
        items=payload.items,
        may_certificates=payload.may_certificates,
        may_idcode=payload.may_idcode,
        expires_on=payload.expires_on,
    )
    return Status(201, _out(membership))


@router.put(
    "enterprise-agents/{membership_id}",
    response={200: EnterpriseAgentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="修改授权范围或截止日期",
)
def enterprise_agent_change(request, membership_id: Id, payload: EnterpriseAgentScopeIn):
    membership = enterprise_agent_update(
        actor=request.auth,
        membership_id=membership_id,
        items=payload.items,
        may_certificates=payload.may_certificates,
        may_idcode=payload.may_idcode,
        expires_on=payload.expires_on,
    )
    return _out(membership)


@router.post(
    "enterprise-agents/{membership_id}/revoke",
    response={200: EnterpriseAgentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤销授权或撤回邀请",
)
def enterprise_agent_revoke_endpoint(request, membership_id: Id):
    return _out(enterprise_agent_revoke(actor=request.auth, membership_id=membership_id))


@router.post(
    "enterprise-agents/{membership_id}/resign",
    response={200: EnterpriseAgentOut, **errors(400, 401, 403, 404, 422)},
    summary="放弃本人的企业授权",
)
def enterprise_agent_resign_endpoint(request, membership_id: Id):
    return _out(enterprise_agent_resign(user=request.auth, membership_id=membership_id))


@router.get(
    "me/enterprise-invitations",
    response={200: list[EnterpriseInvitationOut], **errors(401)},
    summary="待我确认的企业授权邀请",
)
def my_enterprise_invitations(request):
    return agent_invitations_for(user=request.auth)


@router.post(
    "me/enterprise-invitations/{membership_id}/accept",
    response={200: EnterpriseAgentOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="接受企业授权",
)
def my_enterprise_invitation_accept(request, membership_id: Id):
    return _out(enterprise_agent_accept(user=request.auth, membership_id=membership_id))


@router.post(
    "me/enterprise-invitations/{membership_id}/decline",
    response={200: EnterpriseAgentOut, **errors(400, 401, 403, 404, 422)},
    summary="拒绝企业授权",
)
def my_enterprise_invitation_decline(request, membership_id: Id):
    return _out(enterprise_agent_decline(user=request.auth, membership_id=membership_id))
