"""/api/v1/staff/policies (政策兑现 for a department's staff: figures, reviews of lost
eligibility, 变更预览, 专项资金 scoring to grant, 待遇发放) and the public side of a 专项资金
round (results and objections). What the staff pages do, for a department's own systems."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Router, Schema

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.accounts.selectors import resident_profile_for_work
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.policies import selectors, services
from tongban.policies.errors import FundNotYours, PaymentNotYours, PolicyNotFound
from tongban.policies.views import csv_attachment

router = Router(tags=["policies-staff"])
public_router = Router(tags=["policies"])


class FiguresOut(Schema):
    code: str
    name: str
    mode_label: str
    department_name: str
    eligible: int = Field(..., description="当前符合")
    told: int = Field(..., description="已告知")
    applied: int = Field(..., description="被找到后申请")
    granted: int = Field(..., description="自动办理（人或企业）")
    declined: int = Field(..., description="本人放弃")
    pending_reviews: int = Field(..., description="待复核")


@router.get(
    "staff/policies",
    auth=staff_auth,
    response={200: list[FiguresOut], **errors(401, 403)},
    summary="政策兑现情况",
    description="本人所在部门的政策（城市运营：全部）的汇总数，不含任何个人。",
)
def staff_figures(request):
    return selectors.policy_figures_for(request.auth)


class ReviewOut(Schema):
    id: int
    policy_code: str
    policy_name: str
    reason: str = Field(..., description="不再符合的原因")
    created_at: dt.datetime
    enterprise: dict[str, Any] | None = Field(None, description="企业的复核：企业编号和名称")
    person: dict[str, Any] | None = Field(
        None, description="个人的复核：复核所需的信息（按岗位遮蔽），每次读取记入数据使用记录"
    )


@router.get(
    "staff/policies/reviews",
    auth=staff_auth,
    response={200: list[ReviewOut], **errors(401, 403)},
    summary="待处理的资格复核",
)
def staff_reviews(request):
    rows = []
    for review in selectors.pending_reviews_for(request.auth):
        match = review.match
        row = {
            "id": review.pk,
            "policy_code": match.policy.code,
            "policy_name": match.policy.name,
            "reason": review.reason,
            "created_at": review.created_at,
        }
        if match.enterprise_id:
            row["enterprise"] = {"id": match.enterprise_id, "name": match.enterprise.name}
        else:
            row["person"] = resident_profile_for_work(
                viewer=request.auth,
                profile=match.profile,
                use="eligibility_review",
                department=match.policy.department,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        rows.append(row)
    return rows


class ReviewDecisionIn(Schema):
    decision: Literal["continued", "stopped"] = Field(..., description="继续享受或停止享受")
    note: str = Field("", max_length=500, description="停止享受时必填：告知本人的理由")


class ReviewDecidedOut(Schema):
    id: int
    status: Literal["continued", "stopped"]


@router.post(
    "staff/policies/reviews/{review_id}/decision",
    auth=staff_auth,
    response={200: ReviewDecidedOut, **errors(400, 401, 403, 404, 422)},
    summary="资格复核结论",
)
def staff_review_decide(request, review_id: Id, payload: ReviewDecisionIn):
    review = services.eligibility_review_decide(
        actor=request.auth, review_id=review_id, decision=payload.decision, note=payload.note
    )
    return {"id": review.pk, "status": review.status}


class DistrictRow(Schema):
    district: str
    eligible: int = Field(..., description="当前符合")
    told: int = Field(..., description="当前符合且已告知")
    applied: int = Field(..., description="被找到后申请（累计）")
    granted: int = Field(..., description="自动办理的人或企业（累计）")
    declined: int = Field(..., description="本人放弃（累计）")


class MonthRow(Schema):
    month: str
    eligible: int = Field(..., description="当月新发现符合")
    told: int
    applied: int
    granted: int = Field(..., description="当月自动办理（按月发放的每月计一次）")
    declined: int


class BreakdownOut(Schema):
    code: str
    name: str
    department_name: str
    district_label: str = Field(..., description="户籍区（个人）或登记区（企业）")
    by_district: list[DistrictRow]
    by_month: list[MonthRow]


@router.get(
    "staff/policies/{code}",
    auth=staff_auth,
    response={200: BreakdownOut, **errors(400, 401, 403, 404, 422)},
    summary="一项政策：按区、按月",
)
def staff_breakdown(request, code: str):
    found = selectors.policy_breakdown_for(request.auth, code)
    if found is None:
        raise PolicyNotFound()
    return found


class WhatIfIn(Schema):
    definition: str = Field(..., description="政策定义新版本的全文（YAML）")


class WhatIfOut(Schema):
    code: str
    name: str
    is_new: bool
    eligible_after: int
    gained: int = Field(..., description="新增符合")
    lost: int = Field(..., description="不再符合")
    by_district: dict[str, dict[str, int]]


@router.post(
    "staff/policies/{code}/whatif",
    auth=staff_auth,
    response={200: list[WhatIfOut], **errors(400, 401, 403, 404, 422)},
    summary="变更预览",
    description="政策的实施部门比对新版本定义：新增和不再符合的人数（按区）。不加载、不保存。",
)
def staff_whatif(request, code: str, payload: WhatIfIn):
    if selectors.policy_for_preview(request.auth, code) is None:
        raise PolicyNotFound()
    return services.policy_whatif_text(actor=request.auth, code=code, text=payload.definition)


# ---------------------------------------------------------------- 专项资金


class FundResultOut(Schema):
    enterprise_name: str
    score: int
    amount: str = Field(..., description="拟资助金额（元）；0.00 为未获资助")


class FundRoundOut(Schema):
    policy_code: str
    code: str
    name: str
    opens: dt.date
    closes: dt.date
    budget: int
    max_award: int
    status: Literal["upcoming", "open", "scoring", "publicised", "publicity_over", "granted"]
    status_label: str
    objection_until: dt.date | None
    results: list[FundResultOut] = Field(..., description="结果公示（公示后才有）")


def _round(code: str, round_code: str):
    try:
        return selectors.fund_round(code, round_code)
    except PolicyNotFound as exc:
        raise FundNotYours() from exc


def _round_out(found) -> dict:
    return {
        "policy_code": found.policy.code,
        "code": found.round.code,
        "name": found.round.name,
        "opens": found.round.opens,
        "closes": found.round.closes,
        "budget": found.round.budget,
        "max_award": found.round.max_award,
        "status": found.status,
        "status_label": found.status_label,
        "objection_until": found.state.objection_until if found.state else None,
        "results": [
            {"enterprise_name": s.enterprise.name, "score": s.score, "amount": f"{s.amount:.2f}"}
            for s in selectors.fund_results(found)
        ],
    }


@public_router.get(
    "policies/{code}/funds/{round_code}",
    response={200: FundRoundOut, **errors(400, 404, 422)},
    summary="专项资金批次与结果公示",
)
def fund_round(request, code: str, round_code: str):
    return _round_out(_round(code, round_code))


class ObjectionIn(Schema):
    text: str = Field(..., description="异议的对象和理由（5至1000字）")


class ObjectionOut(Schema):
    id: int
    raised_at: dt.datetime


@public_router.post(
    "policies/{code}/funds/{round_code}/objections",
    auth=resident_auth,
    response={200: ObjectionOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="对公示结果提出异议",
    description="公示期内，已登录的任何人可提出；实施部门在公示期满前答复，答复通过消息中心告知。",
)
def fund_object(request, code: str, round_code: str, payload: ObjectionIn):
    _round(code, round_code)
    objection = services.fund_object(
        user=request.auth, code=code, round_code=round_code, text=payload.text
    )
    return {"id": objection.pk, "raised_at": objection.raised_at}


class FundApplicationOut(Schema):
    application_id: int
    receipt_no: str
    enterprise_name: str
    submitted_at: dt.datetime
    score: int | None
    amount: str | None
    note: str


@router.get(
    "staff/policies/{code}/funds/{round_code}/applications",
    auth=staff_auth,
    response={200: list[FundApplicationOut], **errors(400, 401, 403, 404, 422)},
    summary="专项资金：本批次的申报",
)
def fund_applications(request, code: str, round_code: str):
    found = _round(code, round_code)
    if not selectors.may_score_funds(request.auth, found.policy):
        raise FundNotYours()
    rows = []
    for application in selectors.fund_applications(found):
        scored = getattr(application, "fund_score", None)
        rows.append(
            {
                "application_id": application.pk,
                "receipt_no": application.receipt_no,
                "enterprise_name": application.enterprise.name,
                "submitted_at": application.submitted_at,
                "score": scored.score if scored else None,
                "amount": f"{scored.amount:.2f}" if scored else None,
                "note": scored.note if scored else "",
            }
        )
    return rows


class ScoreIn(Schema):
    score: int = Field(..., description="评审得分（0至100）")
    amount: Decimal = Field(..., description="拟资助金额（元），0 为不予资助")
    note: str = Field("", max_length=300)


class DoneOut(Schema):
    done: int = Field(..., description="处理的条数")


@router.post(
    "staff/policies/{code}/funds/{round_code}/applications/{application_id}/score",
    auth=staff_auth,
    response={200: DoneOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="专项资金：评审打分",
)
def fund_score(request, code: str, round_code: str, application_id: Id, payload: ScoreIn):
    services.fund_score(
        actor=request.auth,
        code=code,
        round_code=round_code,
        application_id=application_id,
        score=payload.score,
        amount=str(payload.amount),
        note=payload.note,
    )
    return {"done": 1}


@router.post(
    "staff/policies/{code}/funds/{round_code}/publish",
    auth=staff_auth,
    response={200: DoneOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="专项资金：公示结果",
    description="部门负责人在全部申报评审完毕、拟资助总额不超过预算时公示；每个申报企业都会收到通知。",
)
def fund_publish(request, code: str, round_code: str):
    _round(code, round_code)
    services.fund_publish(actor=request.auth, code=code, round_code=round_code)
    return {"done": 1}


class FundReplyIn(Schema):
    reply: str = Field(..., description="答复（2至1000字）")


@router.post(
    "staff/policies/fund-objections/{objection_id}/reply",
    auth=staff_auth,
    response={200: DoneOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="专项资金：答复异议",
)
def fund_reply(request, objection_id: Id, payload: FundReplyIn):
    services.fund_objection_reply(
        actor=request.auth, objection_id=objection_id, reply=payload.reply
    )
    return {"done": 1}


@router.post(
    "staff/policies/{code}/funds/{round_code}/grant",
    auth=staff_auth,
    response={200: DoneOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="专项资金：下达资助",
    description="公示期满、异议均已答复后，部门负责人下达；返回获资助的企业数。",
)
def fund_grant(request, code: str, round_code: str):
    _round(code, round_code)
    return {"done": services.fund_grant(actor=request.auth, code=code, round_code=round_code)}


# ---------------------------------------------------------------- 待遇发放


class WaitingOut(Schema):
    period: str
    period_label: str
    count: int
    total: str = Field(..., description="金额合计（元）")


class BatchOut(Schema):
    number: str
    period: str
    count: int
    total: str = Field(..., description="金额合计（元）")
    created_at: dt.datetime
    paid_at: dt.datetime | None


class PaymentsOut(Schema):
    pays_to: str = Field(..., description="发放账户")
    waiting: list[WaitingOut] = Field(..., description="各期待发放")
    batches: list[BatchOut]


def _batch(batch) -> dict:
    return {
        "number": batch.number,
        "period": batch.period,
        "count": batch.count,
        "total": f"{batch.total:.2f}",
        "created_at": batch.created_at,
        "paid_at": batch.paid_at,
    }


@router.get(
    "staff/policies/{code}/payments",
    auth=staff_auth,
    response={200: PaymentsOut, **errors(400, 401, 403, 404, 422)},
    summary="待遇发放：待发放与发放批次",
    description="免申即享并自动办结、给出发放账户的政策；仅限实施部门负责人。",
)
def payments(request, code: str):
    found = None
    for policy, definition in selectors.current_policies():
        if policy.code == code:
            found = selectors.payments_overview(request.auth, policy, definition)
    if found is None:
        raise PaymentNotYours()
    return {
        "pays_to": found["pays_to"],
        "waiting": [{**w, "total": f"{w['total']:.2f}"} for w in found["waiting"]],
        "batches": [{**b, "total": f"{b['total']:.2f}"} for b in found["batches"]],
    }


class BatchIn(Schema):
    period: str = Field(..., max_length=10, description="所属期：once、2026-12 或 2026")


@router.post(
    "staff/policies/{code}/payments",
    auth=staff_auth,
    response={200: BatchOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="待遇发放：生成发放批次",
    description="该期全部已核定、未发放的金额纳入一个新批次；没有待发放的为 409。",
)
def payment_batch_create(request, code: str, payload: BatchIn):
    batch = services.payment_batch_create(actor=request.auth, code=code, period=payload.period)
    return _batch(batch)


@router.post(
    "staff/policies/{code}/payments/{number}/paid",
    auth=staff_auth,
    response={200: BatchOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="待遇发放：确认已发放",
)
def payment_batch_paid(request, code: str, number: str):
    batch = services.payment_batch_confirm(actor=request.auth, code=code, number=number)
    return _batch(batch)


@router.get(
    "staff/policies/{code}/payments/{number}/file",
    auth=staff_auth,
    response=errors(400, 401, 403, 404, 422),
    summary="待遇发放：下载发放清单（CSV）",
    description="交代发银行的清单，含完整证件号码；清单中每个人的数据使用记录都会记下这次读取和用途。",
    openapi_extra={
        "responses": {
            "200": {
                "description": "发放清单（UTF-8，带 BOM）",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def payment_file(request, code: str, number: str):
    name, content = services.payment_batch_file(actor=request.auth, code=code, number=number)
    return csv_attachment(name, content)
