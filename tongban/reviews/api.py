"""/api/v1/reviews: 好差评. Thin: parse, call a service or selector, shape the answer.

No response here carries the rater's identity except the rater's own /me/reviews."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.reviews import selectors, services
from tongban.reviews.errors import OrderNotFound
from tongban.reviews.models import (
    AppealReason,
    AppealStatus,
    Classification,
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
    channel: Literal[*RatingChannel.values]
    level: int
    order_id: int | None


class MyRatingOut(Schema):
    id: int
    receipt_no: str
    case_name: str
    subject: Subject
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
    rating_id: int
    department: str
    department_code: str
    status: Literal[*OrderStatus.values]
    level: int
    channel_label: str
    comment: str
    rater: str
    hall: str
    classification: str
    finding: str
    measures: str
    reply: str
    verdict: str
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
    services.order_reply(actor=request.user, order_id=order_id, reply=payload.reply)
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
