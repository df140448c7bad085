"""API of 统一预约: the slots one may book (public), booking (header `Idempotency-Key`),
one's own bookings, cancel and reschedule. A counter clerk books for a resident by giving
their ID number. Thin: parse, call the same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Header, Router, Schema
from ninja.responses import Status
from pydantic import Field

from tongban.accounts.apiauth import resident_auth
from tongban.accounts.selectors import resident_profile_by_id_number
from tongban.appointments.models import Hall, Venue
from tongban.appointments.selectors import booking as selectors
from tongban.appointments.services import booking as services
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.common.errors import DomainError, InvalidInput, NotFound

router = Router(tags=["统一预约"])
MAX_RANGE_DAYS = 31


class BookingKeyRequired(DomainError):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    message = "预约须带 Idempotency-Key 请求头"
    http_status = 400


class SlotOut(Schema):
    id: int
    hall: str = Field(description="大厅编码；场馆时段为空")
    venue: str = Field(description="场馆编码；大厅时段为空")
    place: str
    item_code: str
    resource: str
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    remaining: int


class BookingOut(Schema):
    reference: str
    status: str = Field(
        description="booked 已预约 / checked_in 已签到 / completed 已办理 / "
        "cancelled 已取消 / no_show 未到场"
    )
    status_label: str
    place: str
    address: str
    what: str
    item_code: str
    resource: str
    hall_code: str
    venue_code: str
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    case_receipt: str
    by_clerk: bool = Field(description="由窗口工作人员代为预约")


class BookingIn(Schema):
    slot_id: Id
    case: str = Field("", max_length=20, description="为办件预约（补正到厅等）时的受理编号")
    resident_id_number: str = Field(
        "", max_length=18, description="综合窗口代为预约：居民身份证号码（仅窗口工作人员）"
    )


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


class RescheduleIn(Schema):
    slot_id: Id


def _slot_out(s) -> dict:
    return {
        "id": s.pk,
        "hall": s.hall.code if s.hall_id else "",
        "venue": s.venue.code if s.venue_id else "",
        "place": selectors.place_name(s),
        "item_code": s.item_code,
        "resource": s.resource,
        "day": s.day,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "remaining": s.remaining,
    }


@router.get(
    "/slots",
    response={200: list[SlotOut], **errors(400, 404, 422)},
    summary="可预约时段",
    description="一个大厅的一个事项（hall + item），或一个场馆（venue，可加 resource）的仍有名额、"
    "尚未开始的时段。start、end 为日期（含），默认今天起7天，最长31天。",
)
def slots_list(
    request,
    hall: str = "",
    item: str = "",
    venue: str = "",
    resource: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
):
    start = start or timezone.localdate()
    end = end or start + dt.timedelta(days=6)
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"查询范围须在{MAX_RANGE_DAYS}天以内", code="BOOKING_RANGE_INVALID")
    hall_row = venue_row = None
    if hall:
        if not item:
            raise InvalidInput("按大厅查询时须给出事项编码 item", code="BOOKING_ITEM_REQUIRED")
        hall_row = Hall.objects.filter(code=hall, is_active=True).first()
        if hall_row is None:
            raise NotFound("未找到该大厅", code="HALL_NOT_FOUND")
    elif venue:
        venue_row = Venue.objects.filter(code=venue, is_active=True).first()
        if venue_row is None:
            raise NotFound("未找到该场馆", code="VENUE_NOT_FOUND")
    else:
        raise InvalidInput("请给出大厅（hall）或场馆（venue）", code="BOOKING_PLACE_REQUIRED")
    rows = selectors.bookable_slots(
        hall=hall_row,
        venue=venue_row,
        item_code=item if hall_row else "",
        resource=resource if venue_row else "",
        start=start,
        end=end,
    )
    return [_slot_out(s) for s in rows]


def _case_of(user, receipt: str):
    if not receipt:
        return None
    from tongban.cases.models import Application

    case = Application.objects.filter(receipt_no=receipt.strip(), applicant=user).first()
    if case is None:
        raise NotFound("未找到该办件", code="CASE_NOT_FOUND")
    return case


@router.post(
    "/bookings",
    auth=resident_auth,
    response={201: BookingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="预约",
    description="请求头 `Idempotency-Key` 必填：同一人同一键重复提交返回同一预约；键相同而时段"
    "不同返回 409 IDEMPOTENCY_KEY_REUSED。同一人同一时段重复预约也返回同一预约。"
    "综合窗口工作人员可给出 resident_id_number 为所在大厅的时段代为预约。",
)
def booking_create(
    request,
    payload: BookingIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    key = (idempotency_key or "").strip()
    if not key:
        raise BookingKeyRequired()
    if len(key) > 128:
        raise InvalidInput("Idempotency-Key 最长128个字符", code="IDEMPOTENCY_KEY_INVALID")
    user = request.user
    if payload.resident_id_number:
        if not selectors.clerk_hall_ids(request.user):
            raise services.BookingNotAllowed()
        profile = resident_profile_by_id_number(id_number=payload.resident_id_number)
        if profile is None or profile.user_id is None:
            raise NotFound(
                "未找到该居民的账号，请先在综合窗口帮办中登记", code="RESIDENT_NOT_FOUND"
            )
        user = profile.user
    case = _case_of(user, payload.case)
    booking = services.booking_make(
        user=user,
        slot_id=payload.slot_id,
        actor=request.user,
        case=case,
        enterprise=case.enterprise if case is not None else None,
        idempotency_key=key,
    )
    return Status(
        201,
        selectors.booking_display(
            selectors.booking_for(user=request.user, reference=booking.reference)
        ),
    )


@router.get(
    "/me/bookings",
    auth=resident_auth,
    response={200: list[BookingOut], **errors(401)},
    summary="我的预约",
)
def my_bookings(request):
    rows = selectors.bookings_of(user=request.user)
    return [selectors.booking_display(b) for b in rows["upcoming"] + rows["past"]]


@router.post(
    "/bookings/{reference}/cancel",
    auth=resident_auth,
    response={200: BookingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="取消预约",
)
def booking_cancel(request, reference: str, payload: CancelIn):
    booking = selectors.booking_for(user=request.user, reference=reference)
    row = services.booking_cancel(booking=booking, actor=request.user, reason=payload.reason)
    return selectors.booking_display(
        selectors.booking_for(user=request.user, reference=row.reference)
    )


@router.post(
    "/bookings/{reference}/reschedule",
    auth=resident_auth,
    response={201: BookingOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="改约",
    description="改到同一大厅同一事项（或同一场地）的另一时段；原预约取消，返回新预约。",
)
def booking_reschedule(request, reference: str, payload: RescheduleIn):
    booking = selectors.booking_for(user=request.user, reference=reference)
    new = services.booking_reschedule(booking=booking, slot_id=payload.slot_id, actor=request.user)
    return Status(
        201,
        selectors.booking_display(
            selectors.booking_for(user=request.user, reference=new.reference)
        ),
    )
