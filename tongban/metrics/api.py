"""/api/v1/metrics: 服务指标. The staff figures (城市运营 the whole city, 部门负责人 their
department) and the public figures anyone may read. Thin: parse, call a selector, shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import staff_auth
from tongban.common.api_schemas import errors
from tongban.common.errors import PermissionDenied
from tongban.metrics import selectors

router = Router(tags=["metrics"], auth=staff_auth)
public = Router(tags=["metrics"], auth=None)

Breakdown = Literal[*selectors.BREAKDOWNS]


class MetricsFilters(Schema):
    start: str = Field("", max_length=10, description="开始日期 YYYY-MM-DD（含），默认今年1月1日")
    end: str = Field("", max_length=10, description="结束日期 YYYY-MM-DD（含），默认今天")
    department: str = Field("", max_length=64, description="部门编码")
    service: str = Field("", max_length=64, description="事项或一件事编码")
    hall: str = Field("", max_length=32, description="大厅编码")
    district: str = Field("", max_length=6, description="区划代码（所在区）")
    channel: str = Field("", max_length=8, description="申请渠道：online、counter 或 auto")


class MetricsBreakdownFilters(MetricsFilters):
    by: Breakdown = Field("department", description="分组：部门、事项、区、大厅、窗口或渠道")


class MetricsPublicFilters(Schema):
    start: str = Field("", max_length=10, description="开始日期 YYYY-MM-DD（含）")
    end: str = Field("", max_length=10, description="结束日期 YYYY-MM-DD（含）")


Rate = Decimal | None


class MetricsSparedBy(Schema):
    certificate: int
    data_source: int
    commitment: int
    other: int


class MetricsCaseFigures(Schema):
    submitted: int
    submitted_online: int
    online_share: Rate = Field(description="网办比例：网上申请（含免申即享）/ 全部申请")
    concluded: int
    full_online: int
    full_online_rate: Rate = Field(description="全程网办：未到现场的办结件 / 全部办结件")
    same_day: int
    same_day_rate: Rate = Field(description="即办率：申请当天办结 / 全部办结件")
    on_time_rate: Rate
    late: int = Field(description="超过承诺日期办结的件数")
    average_working_days: Decimal | None
    p90_working_days: int | None
    materials_required: int
    materials_single_path: int = Field(description="逐项单独申请时需提交的材料份数")
    materials_submitted: int
    materials_spared: int
    spared_by: MetricsSparedBy
    deferred: int
    spared_rate: Rate = Field(description="减材料：免于提交的材料 / 需要的材料")
    materials_saved: int
    visits: int
    visits_single_path: int
    steps: int
    steps_single_path: int
    promised_days: int
    promised_days_single_path: int


class MetricsReviewFigures(Schema):
    ratings: int
    distribution: dict[str, int]
    satisfied: int
    dissatisfied: int
    satisfaction_rate: Rate
    bad_rate: Rate
    orders_opened: int
    orders_closed: int
    rectification_rate: Rate
    on_time_rate: Rate


class MetricsHallFigures(Schema):
    comprehensive_window_share: Rate
    bookings: int
    bookings_kept: int
    bookings_missed: int
    bookings_kept_rate: Rate
    tickets: int
    tickets_called: int
    average_wait_minutes: Decimal | None


class MetricsActiveRow(Schema):
    channel: str
    channel_label: str
    audience: str
    audience_label: str
    monthly: int
    daily_average: int


class MetricsActiveUsersOut(Schema):
    month: str
    monthly: int
    daily_average: int
    rows: list[MetricsActiveRow]


class MetricsTargetOut(Schema):
    label: str
    year: int
    value: float
    met: bool | None


class MetricsSummaryOut(Schema):
    start: dt.date
    end: dt.date
    cases: MetricsCaseFigures
    reviews: MetricsReviewFigures
    halls: MetricsHallFigures | None = Field(description="仅全市范围")
    active_users: MetricsActiveUsersOut
    targets: dict[str, MetricsTargetOut | None]
    computed_at: dt.datetime | None = Field(description="最近一次统计时间")


class MetricsBreakdownRow(Schema):
    code: str
    name: str
    cases: MetricsCaseFigures
    reviews: MetricsReviewFigures
    drill: dict[str, str] = Field(description="下钻到这一行时使用的筛选条件")
    halls: MetricsHallFigures | None = None


class MetricsBreakdownOut(Schema):
    by: str
    by_label: str
    rows: list[MetricsBreakdownRow]


class MetricsTrendPoint(Schema):
    period: str
    label: str
    submitted: int
    online_share: Rate
    same_day_rate: Rate
    satisfaction_rate: Rate


class MetricsTrendOut(Schema):
    grain: Literal["month", "day"]
    points: list[MetricsTrendPoint]


class MetricsPublicCases(Schema):
    submitted: int | None
    online_share: Rate
    full_online_rate: Rate
    same_day_rate: Rate
    on_time_rate: Rate
    spared_rate: Rate
    average_working_days: Decimal | None
    withheld: bool = Field(description="样本少于公开门槛，不公布")


class MetricsPublicReviews(Schema):
    ratings: int | None
    satisfaction_rate: Rate
    bad_rate: Rate
    rectification_rate: Rate
    on_time_rate: Rate
    withheld: bool


class MetricsPublicDepartmentCases(Schema):
    submitted: int | None
    online_share: Rate
    same_day_rate: Rate
    withheld: bool


class MetricsPublicDepartment(MetricsPublicReviews):
    code: str
    name: str
    cases: MetricsPublicDepartmentCases


class MetricsPublicItem(MetricsPublicReviews):
    code: str
    name: str


class MetricsPublicOut(Schema):
    start: dt.date
    end: dt.date
    min_cell: int
    cases: MetricsPublicCases
    reviews: MetricsPublicReviews
    targets: dict[str, MetricsTargetOut | None]
    trend: MetricsTrendOut
    departments: list[MetricsPublicDepartment]
    items: list[MetricsPublicItem]


def _scope(request, filters: MetricsFilters) -> selectors.Scope:
    allowed = selectors.metrics_access(request.auth)
    if allowed is False:
        raise PermissionDenied("服务指标仅限城市运营和部门负责人查看", code="METRICS_FORBIDDEN")
    return selectors.scope_from(
        allowed=allowed,
        start=filters.start,
        end=filters.end,
        department=filters.department,
        service=filters.service,
        hall=filters.hall,
        district=filters.district,
        channel=filters.channel,
    )


@router.get(
    "/metrics/summary",
    response={200: MetricsSummaryOut, **errors(400, 401, 403, 422)},
    summary="服务指标总览（网办比例、即办率、四减、活跃用户、好差评、窗口）",
)
def summary(request, filters: Query[MetricsFilters]) -> dict[str, Any]:
    return selectors.summary(scope=_scope(request, filters))


@router.get(
    "/metrics/breakdown",
    response={200: MetricsBreakdownOut, **errors(400, 401, 403, 422)},
    summary="服务指标分组（部门、事项、区、大厅、窗口、渠道）",
)
def breakdown(request, filters: Query[MetricsBreakdownFilters]) -> dict[str, Any]:
    return selectors.breakdown(scope=_scope(request, filters), by=filters.by)


@router.get(
    "/metrics/trend",
    response={200: MetricsTrendOut, **errors(400, 401, 403, 422)},
    summary="服务指标趋势（超过62天按月，否则按日）",
)
def trend(request, filters: Query[MetricsFilters]) -> dict[str, Any]:
    return selectors.trend(scope=_scope(request, filters))


@public.get(
    "/metrics/public",
    response={200: MetricsPublicOut, **errors(400, 422)},
    summary="公开服务指标（全市总体和按部门、事项的好差评；样本过少的不公布）",
)
def public_figures(request, filters: Query[MetricsPublicFilters]) -> dict[str, Any]:
    scope = selectors.scope_from(allowed=None, start=filters.start, end=filters.end)
    return selectors.public_figures(start=scope.start, end=scope.end)


class MetricsServiceCount(Schema):
    code: str
    name: str
    cases: int


class MetricsBundleRow(Schema):
    code: str
    name: str
    bundle_cases: int
    separate: list[MetricsServiceCount]
    separate_filed: list[MetricsServiceCount]
    uptake: Rate = Field(description="一件事件数 /（一件事件数 + 单独申请最多的事项件数）")


class MetricsHallLevel(MetricsHallFigures):
    level: str
    label: str


class MetricsFallen(Schema):
    code: str
    name: str
    before: Decimal
    now: Decimal
    change: Decimal
    ratings: int


class MetricsClassification(Schema):
    code: str
    label: str
    orders: int


class MetricsReviewAnalysisOut(Schema):
    month: str
    items: list[MetricsFallen]
    halls: list[MetricsFallen]
    classifications: list[MetricsClassification]


@router.get(
    "/metrics/bundles",
    response={200: list[MetricsBundleRow], **errors(400, 401, 403, 422)},
    summary="一件事使用情况（一件事件数与单独申请件数）",
)
def bundles(request, filters: Query[MetricsFilters]) -> list[dict[str, Any]]:
    return selectors.bundle_uptake(scope=_scope(request, filters))


@router.get(
    "/metrics/hall-levels",
    response={200: list[MetricsHallLevel], **errors(400, 401, 403, 422)},
    summary="各级大厅综合窗口设置比例、预约履约与等候（仅全市范围，部门负责人为空）",
)
def hall_levels(request, filters: Query[MetricsFilters]) -> list[dict[str, Any]]:
    scope = _scope(request, filters)
    return selectors.hall_levels(scope=scope) if scope.whole_city else []


@router.get(
    "/metrics/reviews-analysis",
    response={200: MetricsReviewAnalysisOut, **errors(400, 401, 403, 422)},
    summary="好差评分析：满意率下降最多的事项和大厅、差评问题分类",
)
def reviews_analysis(request, filters: Query[MetricsFilters]) -> dict[str, Any]:
    return selectors.review_lowlights(scope=_scope(request, filters))
