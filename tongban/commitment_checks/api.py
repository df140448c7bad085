"""/api/v1/commitment-checks (staff) and /api/v1/me/credit-records (the person): 告知承诺事后
核查. Thin: parse, call the same service or selector as the pages, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.commitment_checks import selectors, services
from tongban.commitment_checks.errors import CheckNotFound, FollowUpNotFound
from tongban.commitment_checks.models import CheckReason, CheckStatus, FollowUpStatus
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["commitment-checks"], auth=staff_auth)
me = Router(tags=["commitment-checks"], auth=resident_auth)


class CommitmentFollowUpOut(Schema):
    id: int
    status: Literal[*FollowUpStatus.values]
    status_label: str
    closed_at: dt.datetime | None
    revoked_serials: list[str]
    note: str


class CommitmentCheckOut(Schema):
    id: int
    receipt_no: str
    case_name: str
    item_code: str
    item_name: str
    material_code: str
    material_name: str
    commitment_text: str
    department: str
    department_code: str
    reason: Literal[*CheckReason.values]
    reason_label: str
    source_name: str
    status: Literal[*CheckStatus.values]
    status_label: str
    stage: str = Field(description="待核查时：source 等待数据源核验 / person 待人工核查")
    stage_label: str
    attempts: int
    last_error: str
    checked_by: str
    checked_at: dt.datetime | None
    note: str
    evidence: dict[str, Any]
    created_at: dt.datetime
    follow_up: CommitmentFollowUpOut | None


class CommitmentDecisionIn(Schema):
    verdict: Literal["true", "false", "unverifiable"] = Field(
        ..., description="true 属实 / false 不实 / unverifiable 无法核查"
    )
    note: str = Field("", max_length=500, description="核查说明；不实、无法核查时必填")


class CommitmentRevokeIn(Schema):
    reason: str = Field("", max_length=200, description="撤销原因；不填则写明告知承诺不实")


class CreditRecordOut(Schema):
    id: int
    kind: str
    kind_label: str
    recorded_on: dt.date
    department: str
    receipt_no: str
    case_name: str
    reason: str
    enterprise: str


@router.get(
    "/commitment-checks",
    response={200: list[CommitmentCheckOut], **errors(400, 401, 403, 422)},
    summary="告知承诺核查任务（本部门）",
)
def checks(request, status: Literal["open", "follow_up", "done"] = Query("open")):
    return selectors.check_queue_for(user=request.user, status=status)


def _one(request, check_id: int) -> dict[str, Any]:
    row = selectors.check_for(user=request.user, check_id=check_id)
    if row is None:
        raise CheckNotFound()
    return row


@router.get(
    "/commitment-checks/{check_id}",
    response={200: CommitmentCheckOut, **errors(400, 401, 403, 404, 422)},
    summary="一项告知承诺核查",
)
def check(request, check_id: Id):
    return _one(request, check_id)


@router.post(
    "/commitment-checks/{check_id}/decision",
    response={200: CommitmentCheckOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="作出核查结论（不实：失信处置、信用记录并通知申请人）",
)
def decide(request, check_id: Id, payload: CommitmentDecisionIn):
    services.commitment_check_decide(
        actor=request.user, check_id=check_id, verdict=payload.verdict, note=payload.note
    )
    return _one(request, check_id)


@router.post(
    "/commitment-checks/{check_id}/revoke",
    response={200: CommitmentCheckOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="失信处置：撤销依据该承诺作出的办理结果",
)
def revoke(request, check_id: Id, payload: CommitmentRevokeIn):
    _one(request, check_id)
    follow_up = selectors.follow_up_of_check(check_id)
    if follow_up is None:
        raise FollowUpNotFound()
    services.followup_revoke(actor=request.user, follow_up_id=follow_up.pk, reason=payload.reason)
    return _one(request, check_id)


@me.get(
    "/me/credit-records",
    response={200: list[CreditRecordOut], **errors(401)},
    summary="我的信用记录",
)
def my_credit_records(request):
    return selectors.credit_records_for(user=request.user)
