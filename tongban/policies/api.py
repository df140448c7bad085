"""/api/v1/policies (public), /api/v1/me/policies (the resident's own, with reasons) and
/api/v1/enterprises/{id}/policies (惠企政策, for the enterprise's members)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Query, Router, Schema

from tongban.accounts.apiauth import resident_auth
from tongban.accounts.selectors import enterprise_for_agent, resident_profile_of
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.policies import selectors, services
from tongban.policies.industries import SECTION_NAMES

router = Router(tags=["policies"])


class PolicyOut(Schema):
    code: str
    name: str
    subject: Literal["resident", "enterprise"]
    mode: Literal["push", "automatic", "on_application"] = Field(
        ..., description="push 精准推送 · automatic 免申即享 · on_application 依申请"
    )
    mode_label: str
    department_name: str
    summary: str
    benefit: str
    conditions: list[str] = Field(..., description="享受条件，每项一句")
    industries: list[str] = Field(
        ..., description="惠企政策限定的行业门类（GB/T 4754 字母）；空为不限行业"
    )
    department_code: str
    life_events: list[str] = Field(..., description="相关一件事的编码")
    item: str = Field(..., description="申请所用事项编码（免申即享的可为空）")
    apply_url: str = Field(..., description="一键申请或办理方式的页面地址")
    legal_basis: str
    valid_from: dt.date
    valid_until: dt.date | None
    version: int


class GrantOut(Schema):
    period: str = Field(..., description="once，或所属月份（2026-12）、年度（2026）")
    status: Literal["granted", "declined"]
    receipt_no: str = Field(..., description="自动办结的办件编号；政策不自动办结时为空")
    payment: Literal["", "waiting", "in_batch", "paid"] = Field(
        ...,
        description="发放状态：waiting 待发放 · in_batch 发放中 · paid 已发放；不涉及发放时为空",
    )
    payment_label: str


class MyPolicyOut(Schema):
    policy: PolicyOut
    eligible: bool
    grant: GrantOut | None = Field(None, description="免申即享：最近一次自动办理")
    amount: str | None = Field(
        None,
        description="按本人（本企业）数据核定或预计的金额（元，两位小数）；政策未给出金额时为空",
    )
    explanation: str = Field(..., description="符合的条件，或差的那一项")
    hint: str = Field(..., description="只差一项时，可以怎么做（政策制定部门给出；可为空）")


class MyPoliciesOut(Schema):
    eligible: list[MyPolicyOut]
    nearly: list[MyPolicyOut] = Field(..., description="只差一项、且本人可以有所作为的政策")


def _policy(card: selectors.PolicyCard) -> dict:
    return {
        "code": card.code,
        "name": card.name,
        "subject": card.subject,
        "mode": card.mode,
        "mode_label": card.mode_label,
        "department_name": card.department_name,
        "summary": card.summary,
        "benefit": card.benefit,
        "conditions": list(card.conditions),
        "industries": list(card.industries),
        "department_code": card.department_code,
        "life_events": list(card.life_events),
        "item": card.item,
        "apply_url": card.action_url,
        "legal_basis": card.legal_basis,
        "valid_from": card.valid_from,
        "valid_until": card.valid_until,
        "version": card.version,
    }


@router.get("policies", response={200: list[PolicyOut], **errors(400, 422)}, summary="政策查询")
def policy_list(
    request,
    subject: Literal["resident", "enterprise"] | None = None,
    life_event: str | None = Query(None, max_length=64),
    department: str | None = Query(None, max_length=64, description="实施部门编码"),
    industry: Literal[tuple(SECTION_NAMES)] | None = Query(  # type: ignore[valid-type]
        None, description="行业门类（GB/T 4754 字母）：适用于该行业企业的惠企政策"
    ),
):
    cards = selectors.policy_cards(
        subject=subject, life_event=life_event, department=department, industry=industry
    )
    return [_policy(c) for c in cards]


class QuestionOut(Schema):
    code: str = Field(..., description="数据元编码；age 表示年龄（周岁）")
    label: str
    kind: Literal["age", "boolean", "choice"]
    choices: list[list[str]] = Field(..., description="可选值与名称（choice）")


class CheckIn(Schema):
    answers: dict[str, str | int | bool] = Field(
        ..., description="问题编码 → 回答；不确定的不填。age 为整数，boolean 为 true/false"
    )


class CheckOut(Schema):
    policy: PolicyOut
    result: Literal["eligible", "unknown", "not_eligible"]
    explanation: str


@router.get(
    "policies/questions",
    response={200: list[QuestionOut], **errors(400)},
    summary="我可能符合哪些政策：问题",
)
def check_questions(request):
    return [
        {"code": q.code, "label": q.label, "kind": q.kind, "choices": [list(c) for c in q.choices]}
        for q in selectors.check_questions()
    ]


@router.post(
    "policies/check",
    response={200: list[CheckOut], **errors(400, 422)},
    summary="我可能符合哪些政策",
    description="匿名：按回答判断全部个人政策，不保存回答。未回答的条件为“unknown”，不视为不符合。",
)
def check(request, payload: CheckIn):
    questions = selectors.check_questions()
    answers = selectors.parse_check_answers(payload.answers, questions)
    return [
        {
            "policy": _policy(card),
            "result": "eligible"
            if outcome.holds
            else ("unknown" if outcome.unknown else "not_eligible"),
            "explanation": outcome.explanation,
        }
        for card, outcome in selectors.check_answers(answers)
    ]


@router.get(
    "policies/{code}", response={200: PolicyOut, **errors(400, 404, 422)}, summary="政策详情"
)
def policy_detail(request, code: str):
    return _policy(selectors.policy_card(code))


@router.get(
    "me/policies",
    auth=resident_auth,
    response={200: MyPoliciesOut, **errors(400, 401)},
    summary="为您推荐的政策",
    description="根据本人档案判断符合的政策及原因；只差一项条件的另列。无居民档案时两项均为空。",
)
def my_policies(request):
    profile = resident_profile_of(request.auth)
    if profile is None:
        return {"eligible": [], "nearly": []}
    eligible, nearly = selectors.recommendations_for(profile=profile)
    return {"eligible": _rows(eligible), "nearly": _rows(nearly)}


def _rows(found: list[selectors.Recommendation]) -> list[dict]:
    return [
        {
            "policy": _policy(r.card),
            "eligible": r.outcome.holds,
            "explanation": r.outcome.explanation,
            "hint": "" if r.outcome.holds else r.outcome.hint,
            "grant": r.grant
            and {
                "period": r.grant.period,
                "status": r.grant.status,
                "receipt_no": r.grant.receipt_no,
                "payment": r.grant.payment,
                "payment_label": r.grant.payment_label,
            },
            "amount": None if r.amount is None else f"{r.amount:.2f}",
        }
        for r in found
    ]


@router.get(
    "enterprises/{enterprise_id}/policies",
    auth=resident_auth,
    response={200: MyPoliciesOut, **errors(400, 401, 404, 422)},
    summary="惠企政策：本企业符合的政策",
    description="根据一企一档判断本企业符合的政策及原因；只差一项条件的另列。仅限本企业的法定代表人、"
    "管理员和经办人；其他人得到 404（不透露企业是否存在）。",
)
def enterprise_policies(request, enterprise_id: Id):
    enterprise = enterprise_for_agent(user=request.auth, enterprise_id=enterprise_id)
    eligible, nearly = selectors.recommendations_for_enterprise(enterprise=enterprise)
    return {"eligible": _rows(eligible), "nearly": _rows(nearly)}


class DeclinedOut(Schema):
    declined: int = Field(..., description="放弃的待遇条数")


@router.post(
    "me/policies/{code}/decline",
    auth=resident_auth,
    response={200: DeclinedOut, **errors(400, 401, 403, 409)},
    summary="放弃免申即享待遇",
    description="本人放弃已自动办理的待遇：本期及以后均不再自动发放；已纳入发放批次的不受影响。"
    "没有可放弃的待遇时为 409。",
)
def decline(request, code: str):
    return {"declined": services.policy_grant_decline(user=request.auth, code=code)}


@router.post(
    "enterprises/{enterprise_id}/policies/{code}/decline",
    auth=resident_auth,
    response={200: DeclinedOut, **errors(400, 401, 403, 409, 422)},
    summary="放弃企业的免申即享待遇",
    description="法定代表人放弃本企业已自动办理的待遇（本期及以后）。其他成员为 403；没有可放弃的"
    "待遇、或不是本企业成员时为 409。",
)
def enterprise_decline(request, enterprise_id: Id, code: str):
    declined = services.policy_grant_decline(
        user=request.auth, code=code, enterprise_id=enterprise_id
    )
    return {"declined": declined}
