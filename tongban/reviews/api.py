"""/api/v1/reviews: 好差评. Thin: parse, call a service or selector, shape the answer.

No response here carries the rater's identity except the rater's own /me/reviews."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.accounts.apiauth import staff_auth
from tongban.common.api_schemas import ErrorOut
from tongban.common.apitypes import Id
from tongban.reviews import selectors, services
from tongban.reviews.errors import OrderNotFound

router = Router(tags=["reviews"], auth=django_auth)
public = Router(tags=["reviews"], auth=None)


class RateIn(Schema):
    receipt_no: str = Field(..., max_length=40)
    subject: str = Field("online", max_length=20, description="online | filing | handout")
    level: int = Field(..., description="1 非常不满意 … 5 非常满意")
    indicators: dict[str, int] = Field(default_factory=dict)
    comment: str = Field("", max_length=2000)


class RatingOut(Schema):
    id: int
    channel: str
    level: int
    order_id: int | None


class MyRatingOut(Schema):
    id: int
    receipt_no: str
    case_name: str
    subject: str
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
    verdict: str = Field(..., max_length=20, description="satisfied | unsatisfied")


class OrderOut(Schema):
    id: int
    rating_id: int
    department: str
    department_code: str
    status: str
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
    classification: str = Field(..., max_length=20)
    finding: str = Field(..., max_length=5000)


class RectifyIn(Schema):
    measures: str = Field(..., max_length=5000)


class ReplyIn(Schema):
    reply: str = Field(..., max_length=5000)


class AppealIn(Schema):
    reason: str = Field(..., max_length=20, description="mistaken | malicious")
    statement: str = Field(..., max_length=5000)


class AppealOut(Schema):
    id: int
    rating_id: int
    status: str


class AppealDecisionIn(Schema):
    approve: bool
    reason: str = Field(..., max_length=5000)


class StatsFilter(Schema):
    by: str = Field("department", max_length=20)
    period: str = Field("all", max_length=20)
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
    by: str
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
    response={201: RatingOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
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


@router.get("/me/reviews", response={200: list[MyRatingOut], 401: ErrorOut}, summary="我的评价")
def my_reviews(request):
    return selectors.my_ratings(user=request.user)


@router.post(
    "/me/reviews/{rating_id}/verdict",
    response={200: OrderOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
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
    response={200: StatsOut, 422: ErrorOut},
    summary="好差评公开统计（按事项、部门、大厅，按月或年）",
)
def stats(request, filters: Query[StatsFilter]):
    return selectors.review_stats(by=filters.by, period=filters.period, code=filters.code)


@router.get(
    "/reviews/orders",
    auth=staff_auth,
    response={200: list[OrderOut], 401: ErrorOut},
    summary="整改工单（本部门；城市运营可见全部）",
)
def orders(request):
    return selectors.orders_for(user=request.user)


@router.get(
    "/reviews/orders/{order_id}",
    auth=staff_auth,
    response={200: OrderOut, 401: ErrorOut, 404: ErrorOut},
    summary="整改工单详情",
)
def order_get(request, order_id: Id):
    return _order(request.user, order_id)


ORDER_RESPONSES = {
    200: OrderOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


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
    response={
        201: AppealOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
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
    response={
        200: AppealOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="申诉复核（城市运营）",
)
def appeal_decision(request, payload: AppealDecisionIn, appeal_id: Id):
    a = services.appeal_decide(
        actor=request.user, appeal_id=appeal_id, approve=payload.approve, reason=payload.reason
    )
    return {"id": a.pk, "rating_id": a.rating_id, "status": a.status}
