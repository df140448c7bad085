"""/api/v1/halls — 大厅查找 (public: the halls handling an item, nearest first, today's hours
and waiting, the 15分钟服务圈), one hall, and /api/v1/halls/figures (city operator and
administrator: 综合窗口设置比例, bookings kept vs no-show, waits). Thin: the same selectors as
the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import staff_auth
from tongban.accounts.models import District
from tongban.appointments.models import LOCAL_TZ
from tongban.appointments.selectors import figures
from tongban.appointments.selectors import halls as selectors
from tongban.common.api_schemas import errors
from tongban.common.errors import InvalidInput, NotFound, PermissionDenied

router = Router(tags=["halls"])


class HallTodayOut(Schema):
    open: bool = Field(description="现在是否在办公时间")
    periods_text: str = Field(description="今日开放时段，或“今日不开放”")
    calendar_known: bool = Field(description="节假日安排已知（否则按每周时间）")
    waiting: int = Field(0, description="现在等候的人数（大厅）")


class HallOut(Schema):
    code: str
    name: str
    level: str = Field(description="city 市级 / district 区级 / street 街镇")
    level_label: str
    district: str
    district_label: str
    address: str
    phone: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None = Field(description="离所给地点的直线距离（公里）")
    distance_text: str
    today: HallTodayOut


class HallPlaceOut(Schema):
    label: str
    district: str
    latitude: float
    longitude: float
    precision: str = Field(description="street 按街道或路名 / district 按区中心")


class HallCirclePointOut(Schema):
    kind: str = Field(description="hall 大厅 / service_point 服务点 / venue 场馆")
    kind_label: str
    code: str
    name: str
    address: str
    offers: str
    today: HallTodayOut
    distance_km: float
    walk_minutes: int


class HallFinderOut(Schema):
    item_code: str
    item_name: str
    item_known: bool
    place: HallPlaceOut | None
    address_unplaced: bool = Field(description="所填地址无法定位；place 为所选区的中心或空")
    halls: list[HallOut]
    circle: list[HallCirclePointOut] = Field(description="15分钟服务圈：步行约15分钟内的服务点")


class HallWeekDayOut(Schema):
    day: dt.date
    weekday: str
    is_today: bool
    periods_text: str
    note: str


class HallWindowOut(Schema):
    number: str
    name: str
    kind: str = Field(description="comprehensive 综合窗口 / department 专窗 / handout 出件窗口")
    kind_label: str
    department: str
    only_items: list[str]


class HallItemOut(Schema):
    code: str
    name: str
    department: str
    subject: str
    bookable: bool = Field(description="可在统一预约中预约到本大厅办理")


class HallPointOut(Schema):
    code: str
    name: str
    kind_label: str
    items: list[str]
    today: HallTodayOut


class HallDetailOut(HallOut):
    opening_hours: str
    week: list[HallWeekDayOut]
    windows: list[HallWindowOut]
    items: list[HallItemOut]
    service_points: list[HallPointOut]


class HallRatioRow(Schema):
    comprehensive: int
    department: int
    ratio: Decimal | None = Field(description="综合窗口 ÷（综合窗口 + 专窗），四位小数")


class HallRatioLevelRow(HallRatioRow):
    level: str
    level_label: str


class HallRatioHallRow(HallRatioRow):
    code: str
    name: str
    level: str
    level_label: str


class HallRatioOut(Schema):
    city: HallRatioRow
    levels: list[HallRatioLevelRow]
    halls: list[HallRatioHallRow]


class HallKeptRow(Schema):
    kept: int = Field(description="按约到场（已签到、已办理）")
    no_show: int
    kept_rate: Decimal | None


class HallKeptHallRow(HallKeptRow):
    code: str
    name: str


class HallKeptOut(Schema):
    city: HallKeptRow
    halls: list[HallKeptHallRow]
    venues: HallKeptRow


class HallWaitRow(Schema):
    tickets: int
    average_wait_seconds: int | None = Field(description="按叫号次数加权的平均等候（秒）")
    p90_wait_seconds: int | None = Field(description="所选日期中最高的日90%分位等候（秒）")


class HallWaitHallRow(HallWaitRow):
    code: str
    name: str


class HallWaitWindowRow(HallWaitRow):
    hall_code: str
    hall_name: str
    number: str
    name: str


class HallWaitsOut(Schema):
    city: HallWaitRow
    halls: list[HallWaitHallRow]
    windows: list[HallWaitWindowRow]


class HallFiguresOut(Schema):
    start: dt.date
    end: dt.date
    windows: HallRatioOut
    bookings: HallKeptOut
    waits: HallWaitsOut


@router.get(
    "/halls",
    response={200: HallFinderOut, **errors(400, 422)},
    summary="大厅查找：能办理某事项的大厅（由近到远）与15分钟服务圈",
)
def halls_find(
    request,
    item: str = Query("", max_length=64, description="事项编码"),
    district: str = Query("", max_length=6, description="区代码，如 310115"),
    address: str = Query("", max_length=200, description="地址（写到街道或路名）"),
):
    if district and district not in District.values:
        raise InvalidInput(f"区代码{district}不是本市的区", code="INVALID_DISTRICT")
    return selectors.hall_finder(item_code=item, district=district, address=address)


@router.get(
    "/halls/figures",
    response={200: HallFiguresOut, **errors(400, 401, 403, 422)},
    auth=staff_auth,
    summary="大厅数据：综合窗口设置比例、预约履约、等候时长（城市运营、系统管理员）",
    description="start、end 为统计的开始和结束日期（含），默认为截至今天的30天。",
)
def halls_figures(
    request,
    start: dt.date | None = None,
    end: dt.date | None = None,
):
    if not figures.may_view_figures(request.user):
        raise PermissionDenied(
            "大厅数据仅限城市运营人员和系统管理员查看", code="HALL_FIGURES_DENIED"
        )
    today = timezone.now().astimezone(LOCAL_TZ).date()
    start, end = figures.figure_range(start=start, end=end, today=today)
    return figures.hall_figures(start=start, end=end)


@router.get(
    "/halls/{code}",
    response={200: HallDetailOut, **errors(400, 404, 422)},
    summary="一个大厅：地址、层级、近七天开放时间、窗口、可办事项、自助服务",
)
def hall_one(request, code: str):
    detail = selectors.hall_detail(code=code)
    if detail is None:
        raise NotFound("没有这个大厅", code="HALL_NOT_FOUND")
    return detail
