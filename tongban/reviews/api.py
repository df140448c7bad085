"""/api/v1/reviews: 好差评. Thin: parse, call a service or selector, shape the answer.

No response here carries the rater's identity except the rater's own /me/reviews."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.reviews import selectors, services
from tongban.reviews.errors import ComplaintNotFound, OrderNotFound
from tongban.reviews.models import (
    Adoption,
    AppealReason,
    AppealStatus,
    Classification,
    ComplaintAbout,
    ComplaintKind,
    ComplaintSource,
    OrderStatus,
    RatingChannel,
    Verdict,
)

router = Router(tags=["reviews"], auth=resident_auth)
public = Router(tags=["reviews"], auth=None)

# The values the services accept, so the document lists them and a client learns them there.
Subject = Literal[*services.SUBJECTS]


class RateIn(Schema):
    receipt_no: str = Field(..., max_length=40)
    subject: Subject = "online"
    level: int = Field(..., ge=1, le=5, description="1 非常不满意 … 5 非常满意")
    indicators: dict[str, int] = Field(default_factory=dict)
    comment: str = Field("", max_length=2000)


class RatingOut(Schema):
    id: int
    # POST /reviews rates a case: online or in person. 咨询服务 ratings come from 在线客服.
    channel: Literal[RatingChannel.ONLINE.value, RatingChannel.IN_PERSON.value]
    level: int
    order_id: int | None


class MyRatingOut(Schema):
    id: int
    receipt_no: str
    case_name: str
    subject: Literal[*services.SUBJECTS, "consultation"]
    level: int
    level_label: str
    comment: str
    created_at: dt.datetime
    department: str
    order_status: str
    reply: str
    verdict: str
    verdict_open: bool


class VerdictIn(Schema):
    verdict: Literal[*Verdict.values]


class OrderOut(Schema):
    id: int
    kind: Literal["rating", "complaint"] = Field(..., description="差评 or 投诉建议")
    rating_id: int | None
    complaint_id: int | None
    department: str
    department_code: str
    status: Literal[*OrderStatus.values]
    level: int | None
    channel_label: str
    comment: str
    rater: str
    hall: str
    classification: str
    finding: str
    measures: str
    reply: str
    adoption: str
    verdict: str
    verdict_by_callback: bool
    deadline: dt.date
    overdue: bool
    closed_on_time: bool | None


class OrderVerifyIn(Schema):
    classification: Literal[*Classification.values]
    finding: str = Field(..., max_length=5000)


class RectifyIn(Schema):
    measures: str = Field(..., max_length=5000)


class ReplyIn(Schema):
    reply: str = Field(..., max_length=5000)
    adoption: Literal[*Adoption.values, ""] = Field(
        "", description="建议必填：adopted 采纳 / not_adopted 暂不采纳"
    )


class AppealIn(Schema):
    reason: Literal[*AppealReason.values]
    statement: str = Field(..., max_length=5000)


class AppealOut(Schema):
    id: int
    rating_id: int
    status: Literal[*AppealStatus.values]


class AppealDecisionIn(Schema):
    approve: bool
    reason: str = Field(..., max_length=5000)


class StatsFilter(Schema):
    by: Literal[*selectors.DIMENSIONS] = "department"
    period: str = Field("all", max_length=20, pattern=r"^(all|\d{4}(-\d{2})?)?$")
    code: str = Field("", max_length=64)


class StatsRow(Schema):
    code: str
    name: str
    count: int
    distribution: dict[str, int]
    satisfaction_rate: Decimal | None
    bad_rate: Decimal | None
    orders: int
    closed: int
    rectification_rate: Decimal | None
    on_time_rate: Decimal | None


class ReplyOut(Schema):
    rater: str
    level: int
    comment: str
    department: str
    reply: str
    replied_on: dt.date
    verdict: str


class StatsOut(Schema):
    by: Literal[*selectors.DIMENSIONS]
    period: str
    total: StatsRow
    rows: list[StatsRow]
    replies: list[ReplyOut]


def _rating_out(rating) -> dict[str, Any]:
    order = getattr(rating, "order", None) if rating.level <= 2 else None
    return {
        "id": rating.pk,
        "channel": rating.channel,
        "level": rating.level,
        "order_id": order.pk if order else None,
    }


@router.post(
    "/reviews",
    response={201: RatingOut, **errors(400, 401, 403, 404, 409, 422, 503)},
    summary="评价（一事一评、一次一评）",
)
def rate(request, payload: RateIn):
    rating = services.rating_create(
        rater=request.user,
        receipt_no=payload.receipt_no,
        subject=payload.subject,
        level=payload.level,
        indicators=payload.indicators,
        comment=payload.comment,
    )
    return Status(201, _rating_out(rating))


@router.get("/me/reviews", response={200: list[MyRatingOut], **errors(401)}, summary="我的评价")
def my_reviews(request):
    return selectors.my_ratings(user=request.user)


@router.post(
    "/me/reviews/{rating_id}/verdict",
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="对整改回复表态（满意/不满意）",
)
def verdict(request, payload: VerdictIn, rating_id: Id):
    order = services.order_verdict(rater=request.user, rating_id=rating_id, verdict=payload.verdict)
    # The rater sees their own order in the staff shape minus nothing sensitive: it is theirs.
    return _order(request.user, order.pk, rater=True)


def _order(user, order_id: int, *, rater: bool = False) -> dict[str, Any]:
    if rater:
        order = selectors._order_qs().get(pk=order_id)
        return selectors._order_row(order, timezone.localdate())
    row = selectors.order_for(user=user, order_id=order_id)
    if row is None:
        raise OrderNotFound()
    return row


@public.get(
    "/reviews/stats",
    response={200: StatsOut, **errors(400, 422)},
    summary="好差评公开统计（按事项、部门、大厅，按月或年）",
)
def stats(request, filters: Query[StatsFilter]):
    return selectors.review_stats(by=filters.by, period=filters.period, code=filters.code)


@router.get(
    "/reviews/orders",
    auth=staff_auth,
    response={200: list[OrderOut], **errors(401, 403)},
    summary="整改工单（本部门；城市运营可见全部）",
)
def orders(request):
    return selectors.orders_for(user=request.user)


@router.get(
    "/reviews/orders/{order_id}",
    auth=staff_auth,
    response={200: OrderOut, **errors(400, 401, 403, 404, 422)},
    summary="整改工单详情",
)
def order_get(request, order_id: Id):
    return _order(request.user, order_id)


ORDER_RESPONSES = {200: OrderOut, **errors(400, 401, 403, 404, 409, 422)}


@router.post(
    "/reviews/orders/{order_id}/verify", response=ORDER_RESPONSES, summary="核实", auth=staff_auth
)
def order_verify(request, payload: OrderVerifyIn, order_id: Id):
    services.order_verify(
        actor=request.user,
        order_id=order_id,
        classification=payload.classification,
        finding=payload.finding,
    )
    return _order(request.user, order_id)


@router.post(
    "/reviews/orders/{order_id}/rectify", response=ORDER_RESPONSES, summary="整改", auth=staff_auth
)
def order_rectify(request, payload: RectifyIn, order_id: Id):
    services.order_rectify(actor=request.user, order_id=order_id, measures=payload.measures)
    return _order(request.user, order_id)


@router.post(
    "/reviews/orders/{order_id}/reply",
    response=ORDER_RESPONSES,
    summary="回复评价人",
    auth=staff_auth,
)
def order_reply(request, payload: ReplyIn, order_id: Id):
    services.order_reply(
        actor=request.user, order_id=order_id, reply=payload.reply, adoption=payload.adoption
    )
    return _order(request.user, order_id)


@router.post(
    "/reviews/orders/{order_id}/close", response=ORDER_RESPONSES, summary="办结", auth=staff_auth
)
def order_close(request, order_id: Id):
    services.order_close(actor=request.user, order_id=order_id)
    return _order(request.user, order_id)


@router.post(
    "/reviews/ratings/{rating_id}/appeal",
    auth=staff_auth,
    response={201: AppealOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="申诉（误评、恶意差评）",
)
def appeal(request, payload: AppealIn, rating_id: Id):
    a = services.appeal_file(
        actor=request.user, rating_id=rating_id, reason=payload.reason, statement=payload.statement
    )
    return Status(201, {"id": a.pk, "rating_id": a.rating_id, "status": a.status})


@router.post(
    "/reviews/appeals/{appeal_id}/decision",
    auth=staff_auth,
    response={200: AppealOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="申诉复核（城市运营）",
)
def appeal_decision(request, payload: AppealDecisionIn, appeal_id: Id):
    a = services.appeal_decide(
        actor=request.user, appeal_id=appeal_id, approve=payload.approve, reason=payload.reason
    )
    return {"id": a.pk, "rating_id": a.rating_id, "status": a.status}


# ---------------------------------------------------------------- 投诉建议


class ComplaintIn(Schema):
    kind: Literal[*ComplaintKind.values]
    about: Literal[*ComplaintAbout.values]
    about_code: str = Field("", max_length=64, description="事项、大厅或政策的编码；其他留空")
    text: str = Field(..., max_length=5000)
    enterprise_id: int | None = Field(
        None, description="以企业名义提交时为该企业编号（须持有有效的经办授权）；本人提交时不填"
    )


class ComplaintOut(Schema):
    id: int
    kind: Literal[*ComplaintKind.values]
    kind_label: str
    source_label: str
    about_label: str
    text: str
    received_at: dt.datetime
    deadline: dt.date
    department: str
    enterprise: str = Field(description="以企业名义提交时的企业名称，本人提交为空")
    filed_by_me: bool = Field(
        description="本人提交为 true；法定代表人、管理员看到的本企业其他经办人所提交的为 false"
    )
    status: str
    status_label: str
    reply: str
    adoption_label: str
    verdict: str
    verdict_open: bool = Field(description="可以评价答复（仅提交人本人）")


class ComplaintRecordIn(Schema):
    kind: Literal[*ComplaintKind.values]
    source: Literal[*[v for v in ComplaintSource.values if v != ComplaintSource.ONLINE]]
    about: Literal[*ComplaintAbout.values]
    about_code: str = Field("", max_length=64)
    text: str = Field(..., max_length=5000)
    contact_name: str = Field(..., max_length=40)
    contact_phone: str = Field(..., max_length=20)
    external_ref: str = Field("", max_length=40, description="12345工单号或国办转办编号")
    deadline: dt.date | None = Field(None, description="转办时给定的办理期限；现场可不填")


class ComplaintRecordedOut(Schema):
    id: int
    status: str
    department_code: str | None
    deadline: dt.date
    order_id: int | None


class ComplaintAssignIn(Schema):
    department: str = Field(..., max_length=64, description="部门编码")
    note: str = Field("", max_length=5000)


class ComplaintCallbackIn(Schema):
    verdict: Literal[*Verdict.values]
    note: str = Field("", max_length=5000)


class ComplaintStatsRow(Schema):
    code: str
    name: str
    received: int
    closed: int
    on_time: int
    on_time_rate: Decimal | None
    judged: int
    satisfied: int
    satisfaction_rate: Decimal | None


class ComplaintStatsOut(Schema):
    period: str
    total: ComplaintStatsRow
    by_department: list[ComplaintStatsRow]
    by_source: list[ComplaintStatsRow]
    by_kind: list[ComplaintStatsRow]


class ComplaintPeriodFilter(Schema):
    period: str = Field("all", max_length=20, pattern=r"^(all|\d{4}(-\d{2})?)?$")


def _mine(user, complaint_id: int) -> dict[str, Any]:
    row = selectors.my_complaint(user=user, complaint_id=complaint_id)
    if row is None:
        raise ComplaintNotFound()
    return row


@router.post(
    "/complaints",
    response={201: ComplaintOut, **errors(400, 401, 403, 409, 422, 503)},
    summary="提交投诉建议",
    description="请求头 `Idempotency-Key` 可选：同一提交人同一键重复提交返回同一件投诉建议。",
)
def complaint_file(
    request,
    payload: ComplaintIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    complaint = services.complaint_file(
        filer=request.user,
        kind=payload.kind,
        about=payload.about,
        about_code=payload.about_code,
        text=payload.text,
        idempotency_key=(idempotency_key or "")[:64],
        enterprise_id=payload.enterprise_id,
    )
    return Status(201, _mine(request.user, complaint.pk))


@router.get(
    "/me/complaints", response={200: list[ComplaintOut], **errors(401)}, summary="我的投诉建议"
)
def my_complaints(request):
    return selectors.my_complaints(user=request.user)


@router.get(
    "/me/complaints/{complaint_id}",
    response={200: ComplaintOut, **errors(400, 401, 404, 422)},
    summary="我的投诉建议详情",
)
def my_complaint(request, complaint_id: Id):
    return _mine(request.user, complaint_id)


@router.post(
    "/me/complaints/{complaint_id}/verdict",
    response={200: ComplaintOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="对投诉建议的答复表态（满意/不满意）",
)
def complaint_verdict(request, payload: VerdictIn, complaint_id: Id):
    services.complaint_verdict(
        filer=request.user, complaint_id=complaint_id, verdict=payload.verdict
    )
    return _mine(request.user, complaint_id)


@public.get(
    "/complaints/stats",
    response={200: ComplaintStatsOut, **errors(400, 422)},
    summary="投诉建议公开统计（按部门、来源、类别）",
)
def complaint_stats(request, filters: Query[ComplaintPeriodFilter]):
    return selectors.complaint_stats(period=filters.period)


def _recorded(complaint) -> dict[str, Any]:
    order = getattr(complaint, "order", None)
    return {
        "id": complaint.pk,
        "status": complaint.status,
        "department_code": complaint.department.code if complaint.department_id else None,
        "deadline": complaint.deadline,
        "order_id": order.pk if order else None,
    }


@router.post(
    "/staff/complaints",
    auth=staff_auth,
    response={201: ComplaintRecordedOut, **errors(400, 401, 403, 409, 422, 503)},
    summary="登记转办投诉建议（12345、国办、现场；城市运营）",
)
def complaint_record(
    request,
    payload: ComplaintRecordIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    complaint = services.complaint_record(
        actor=request.user,
        kind=payload.kind,
        source=payload.source,
        about=payload.about,
        about_code=payload.about_code,
        text=payload.text,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        external_ref=payload.external_ref,
        deadline=payload.deadline,
        idempotency_key=(idempotency_key or "")[:64],
    )
    return Status(201, _recorded(complaint))


@router.post(
    "/staff/complaints/{complaint_id}/assign",
    auth=staff_auth,
    response={200: ComplaintRecordedOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="分派责任部门（城市运营）",
)
def complaint_assign(request, payload: ComplaintAssignIn, complaint_id: Id):
    complaint = services.complaint_assign(
        actor=request.user,
        complaint_id=complaint_id,
        department=payload.department,
        note=payload.note,
    )
    return _recorded(complaint)


@router.post(
    "/staff/complaints/{complaint_id}/callback",
    auth=staff_auth,
    response={200: OrderOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="登记回访结果（城市运营）",
)
def complaint_callback(request, payload: ComplaintCallbackIn, complaint_id: Id):
    order = services.complaint_callback_record(
        actor=request.user, complaint_id=complaint_id, verdict=payload.verdict, note=payload.note
    )
    return _order(request.user, order.pk)
