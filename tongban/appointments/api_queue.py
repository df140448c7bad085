"""/api/v1 of 取号叫号: the clerk at a window (queue/…), the reception and the entrance
(halls/{code}/queue/tickets, …/check-in, queue/tickets/{id}/requeue for 过号重排), the hall
screen's feed (halls/{code}/queue/feed, public: numbers, windows and masked surnames only)
and the resident's tickets (me/tickets). Thin: parse, call the same service or selector as
the pages, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.appointments.models import QueueEventKind, Ticket, TicketSource, TicketStatus, Window
from tongban.appointments.selectors import queue as selectors
from tongban.appointments.services import queue as services
from tongban.common.api_schemas import errors
from tongban.common.apitypes import MAX_ID, Id
from tongban.common.errors import InvalidInput, NotFound

router = Router(tags=["取号叫号"], auth=staff_auth)


class QueueTicketOut(Schema):
    id: int
    number: str
    hall_code: str
    item_code: str
    item_name: str
    source: Literal[*TicketSource.values]
    status: Literal[*TicketStatus.values]
    status_label: str
    name_masked: str = Field(description="姓氏加星号，如“张**”；未知时为空")
    window_number: str = Field(description="叫到该号的窗口；等候中为空")
    transferred_to: str = Field(description="已转至的窗口号；未转为空")
    calls: int
    taken_at: dt.datetime
    called_at: dt.datetime | None
    finished_at: dt.datetime | None
    receipt_no: str = Field(description="办结时关联的办件受理编号；没有为空")


class QueueWindowOut(Schema):
    id: int
    number: str
    name: str
    hall_code: str


class QueueBoardOut(Schema):
    window: QueueWindowOut | None = Field(description="当前签到的窗口；未签到为空")
    current: QueueTicketOut | None = Field(description="本窗口当前叫到或正在办理的号码")
    window_waiting: int
    hall_waiting: int


class QueueCallOut(Schema):
    ticket: QueueTicketOut | None = Field(description="叫到的号码；没有等候的号码时为空")


class QueueSignInIn(Schema):
    window_id: Id


class QueueTransferIn(Schema):
    window_id: Id


class QueueFinishIn(Schema):
    receipt_no: str = Field("", max_length=40, description="在本窗口代为提交的办件受理编号，可不填")


class QueueTakeIn(Schema):
    item_code: str = Field(..., min_length=1, max_length=64)


class QueueCheckInIn(Schema):
    code: str = Field(..., min_length=1, max_length=2000, description="扫码枪读到的随申码文本")


class QueueFeedCallOut(Schema):
    id: int
    kind: Literal[QueueEventKind.CALLED, QueueEventKind.RECALLED]
    number: str
    window_number: str
    window_name: str
    name_masked: str = Field(description="姓氏加星号；叫号屏上唯一的个人信息")
    at: dt.datetime


class QueueFeedOut(Schema):
    hall: str
    calls: list[QueueFeedCallOut]
    last_id: int = Field(description="下次以 after=last_id 获取之后的呼叫")
    waiting: int


class QueueMineOut(Schema):
    id: int
    number: str
    hall: str
    hall_code: str
    item_name: str
    status: Literal[*TicketStatus.values]
    status_label: str
    window: str
    transferred_to: str
    ahead: int = Field(description="前面等候的人数")
    estimated_minutes: int = Field(
        description="预计等候分钟：前面人数 × 可办理窗口近期每人平均办理时长 ÷ 在岗窗口数"
    )
    taken_at: dt.datetime
    called_at: dt.datetime | None


def _ticket_out(ticket: Ticket | None) -> dict | None:
    if ticket is None:
        return None
    ticket = Ticket.objects.select_related("hall", "window", "transferred_to", "case").get(
        pk=ticket.pk
    )
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "hall_code": ticket.hall.code,
        "item_code": ticket.item_code,
        "item_name": selectors.item_names([ticket.item_code]).get(ticket.item_code, ""),
        "source": ticket.source,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "name_masked": ticket.name_masked,
        "window_number": ticket.window.number if ticket.window else "",
        "transferred_to": ticket.transferred_to.number if ticket.transferred_to else "",
        "calls": ticket.calls,
        "taken_at": ticket.taken_at,
        "called_at": ticket.called_at,
        "finished_at": ticket.finished_at,
        "receipt_no": ticket.case.receipt_no if ticket.case else "",
    }


def _board(request) -> dict:
    board = selectors.window_board(clerk=request.user)
    window = board["window"]
    if window is None:
        return {"window": None, "current": None, "window_waiting": 0, "hall_waiting": 0}
    return {
        "window": {
            "id": window.pk,
            "number": window.number,
            "name": window.name,
            "hall_code": window.hall.code,
        },
        "current": _ticket_out(board["current"]),
        "window_waiting": board["window_waiting"],
        "hall_waiting": board["hall_waiting"],
    }


def _ticket(request, ticket_id: int) -> Ticket:
    ticket = selectors.ticket_for_clerk(clerk=request.user, ticket_id=ticket_id)
    if ticket is None:
        raise NotFound("未找到该号码", code="QUEUE_TICKET_NOT_FOUND")
    return ticket


def _window(window_id: int) -> Window:
    window = Window.objects.select_related("hall").filter(pk=window_id).first()
    if window is None:
        raise NotFound("未找到该窗口", code="WINDOW_NOT_FOUND")
    return window


def _hall(code: str):
    hall = selectors.hall_by_code(code)
    if hall is None:
        raise NotFound("未找到该大厅", code="HALL_NOT_FOUND")
    return hall


@router.get(
    "/queue/window",
    response={200: QueueBoardOut, **errors(401, 403)},
    summary="我的窗口：签到的窗口、当前号码、等候人数",
)
def queue_window(request):
    return _board(request)


@router.post(
    "/queue/sign-in",
    response={200: QueueBoardOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="窗口签到",
)
def queue_sign_in(request, payload: QueueSignInIn):
    services.window_sign_in(clerk=request.user, window=_window(payload.window_id))
    return _board(request)


@router.post(
    "/queue/sign-out",
    response={200: QueueBoardOut, **errors(400, 401, 403, 409)},
    summary="窗口签退",
)
def queue_sign_out(request):
    services.window_sign_out(clerk=request.user)
    return _board(request)


@router.post(
    "/queue/call-next",
    response={200: QueueCallOut, **errors(400, 401, 403, 409)},
    summary="叫下一位（本窗口）",
)
def queue_call_next(request):
    return {"ticket": _ticket_out(services.ticket_call_next(clerk=request.user))}


@router.post(
    "/queue/tickets/{ticket_id}/recall",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="重呼",
)
def queue_recall(request, ticket_id: Id):
    return _ticket_out(
        services.ticket_recall(clerk=request.user, ticket=_ticket(request, ticket_id))
    )


@router.post(
    "/queue/tickets/{ticket_id}/skip",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="过号",
)
def queue_skip(request, ticket_id: Id):
    return _ticket_out(services.ticket_skip(clerk=request.user, ticket=_ticket(request, ticket_id)))


@router.post(
    "/queue/tickets/{ticket_id}/requeue",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="过号重排（导服台：今天过号的号码按原号码重新排队，排在当前等候的人之后）",
)
def queue_requeue(request, ticket_id: Id):
    return _ticket_out(
        services.ticket_requeue(actor=request.user, ticket=_ticket(request, ticket_id))
    )


@router.post(
    "/queue/tickets/{ticket_id}/start",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="开始办理",
)
def queue_start(request, ticket_id: Id):
    return _ticket_out(
        services.ticket_start(clerk=request.user, ticket=_ticket(request, ticket_id))
    )


@router.post(
    "/queue/tickets/{ticket_id}/transfer",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="转窗口",
)
def queue_transfer(request, ticket_id: Id, payload: QueueTransferIn):
    ticket = _ticket(request, ticket_id)
    return _ticket_out(
        services.ticket_transfer(
            clerk=request.user, ticket=ticket, window=_window(payload.window_id)
        )
    )


@router.post(
    "/queue/tickets/{ticket_id}/finish",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="办结（可关联本窗口代为提交的办件）",
)
def queue_finish(request, ticket_id: Id, payload: QueueFinishIn):
    from tongban.cases.models import Application
    from tongban.cases.receipt import receipt_normalise

    ticket = _ticket(request, ticket_id)
    case = None
    if payload.receipt_no.strip():
        normalised = receipt_normalise(payload.receipt_no)
        case = (
            Application.objects.filter(receipt_no=normalised, filed_by=request.user).first()
            if normalised
            else None
        )
        if case is None:
            raise InvalidInput("未找到您经办的该受理编号", code="QUEUE_CASE_NOT_FOUND")
    return _ticket_out(services.ticket_finish(clerk=request.user, ticket=ticket, case=case))


@router.post(
    "/halls/{code}/queue/tickets",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="导服台现场取号",
)
def queue_take(request, code: str, payload: QueueTakeIn):
    ticket = services.ticket_take(
        hall=_hall(code),
        item_code=payload.item_code,
        source=TicketSource.RECEPTION,
        actor=request.user,
    )
    return _ticket_out(ticket)


@router.post(
    "/halls/{code}/queue/check-in",
    response={200: QueueTicketOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="预约签到（扫描随申码）",
)
def queue_check_in(request, code: str, payload: QueueCheckInIn):
    ticket = services.booking_check_in(
        hall=_hall(code),
        code=payload.code,
        via="entrance",
        actor_label=f"导服台：{request.user.username}",
        actor=request.user,
    )
    return _ticket_out(ticket)


@router.get(
    "/halls/{code}/queue/feed",
    response={200: QueueFeedOut, **errors(400, 404, 422)},
    summary="叫号屏数据：某次呼叫之后的呼叫（号码、窗口、隐去名字的姓氏）",
    auth=None,
)
def queue_feed(request, code: str, after: int = Query(0, ge=0, le=MAX_ID)):
    return selectors.display_feed(hall=_hall(code), after=after)


@router.get(
    "/me/tickets",
    response={200: list[QueueMineOut], **errors(401)},
    summary="我的排队：今天的号码、前面人数和预计等候",
    auth=resident_auth,
)
def my_tickets(request):
    return selectors.tickets_of(user=request.user)
