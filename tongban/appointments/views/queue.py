"""Pages of 取号叫号: the clerk's call page (/staff/queue/), the 导服台 (/staff/queue/reception/:
walk-ins, check-ins, 过号重排), the hall screen (/halls/<code>/display/) and the resident's
tickets (/me/tickets/). Thin: parse a form, call the same service or selector as the API;
every form works without JavaScript (POST-redirect-GET); the screen and 我的排队 refresh
themselves with a small script.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from tongban.accounts.selectors import is_staff_member
from tongban.appointments.models import TicketSource, Window
from tongban.appointments.selectors import queue as selectors
from tongban.appointments.services import queue as services
from tongban.common.errors import DomainError, InvalidInput

CALL_ACTIONS = ("call", "recall", "skip", "start", "finish", "transfer")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def clerk_page(view):
    """Anonymous → login; anyone but a 综合窗口 clerk sitting in a hall → 403."""

    @functools.wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_staff_member(request.user) or not selectors.clerk_halls(clerk=request.user):
            return _forbidden(request, "叫号与导服台仅限大厅的综合窗口人员使用。")
        return view(request, *args, **kwargs)

    return wrapper


def _ticket_of(request: HttpRequest):
    ticket = selectors.ticket_for_clerk(clerk=request.user, ticket_id=request.POST.get("ticket"))
    if ticket is None:
        raise Http404("未找到该号码")
    return ticket


def _case_of(request: HttpRequest, receipt: str):
    """The case a finished ticket links to: one the clerk filed, by its 受理编号."""
    from tongban.cases.models import Application
    from tongban.cases.receipt import receipt_normalise

    normalised = receipt_normalise(receipt)
    case = (
        Application.objects.filter(receipt_no=normalised, filed_by=request.user).first()
        if normalised
        else None
    )
    if case is None:
        raise InvalidInput(
            "未找到您经办的该受理编号，请核对后重新输入", code="QUEUE_CASE_NOT_FOUND"
        )
    return case


def _do(request: HttpRequest, action: str) -> str:
    """One clerk action; the message to show."""
    user = request.user
    if action == "sign_in":
        window = Window.objects.filter(pk=request.POST.get("window") or 0).first()
        if window is None:
            raise Http404("未找到该窗口")
        services.window_sign_in(clerk=user, window=window)
        return f"已在{window.number}窗口签到。"
    if action == "sign_out":
        services.window_sign_out(clerk=user)
        return "已签退。"
    if action == "call":
        ticket = services.ticket_call_next(clerk=user)
        return f"已呼叫 {ticket.number} 号。" if ticket else "当前没有等候的号码。"
    ticket = _ticket_of(request)
    if action == "recall":
        services.ticket_recall(clerk=user, ticket=ticket)
        return f"已重呼 {ticket.number} 号。"
    if action == "skip":
        services.ticket_skip(clerk=user, ticket=ticket)
        return f"{ticket.number} 号已过号。"
    if action == "start":
        services.ticket_start(clerk=user, ticket=ticket)
        return f"{ticket.number} 号开始办理。"
    if action == "finish":
        receipt = (request.POST.get("receipt") or "").strip()
        case = _case_of(request, receipt) if receipt else None
        services.ticket_finish(clerk=user, ticket=ticket, case=case)
        return f"{ticket.number} 号已办结。"
    if action == "transfer":
        window = Window.objects.filter(pk=request.POST.get("window") or 0).first()
        if window is None:
            raise InvalidInput("请选择要转去的窗口", code="QUEUE_TRANSFER_WINDOW")
        services.ticket_transfer(clerk=user, ticket=ticket, window=window)
        return f"{ticket.number} 号已转至{window.number}窗口。"
    raise Http404("未知操作")


@require_http_methods(["GET", "POST"])
@clerk_page
def queue_call_view(request: HttpRequest) -> HttpResponse:
    """叫号: sign in at a window, then call, recall, skip, start, transfer and finish."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in (*CALL_ACTIONS, "sign_in", "sign_out"):
            raise Http404("未知操作")
        try:
            messages.success(request, _do(request, action))
        except DomainError as exc:
            if exc.http_status == 403:
                return _forbidden(request, exc.message)
            messages.error(request, exc.message)
        return redirect("appointments_staff:queue_call")
    board = selectors.window_board(clerk=request.user)
    return render(request, "appointments/queue_call.html", {"board": board})


def _reception_hall(request: HttpRequest):
    halls = selectors.clerk_halls(clerk=request.user)
    wanted = request.POST.get("hall") or request.GET.get("hall")
    window = selectors.clerk_window(clerk=request.user)
    if wanted:
        hall = next((h for h in halls if h.code == wanted), None)
    elif window is not None:
        hall = window.hall
    else:
        hall = halls[0] if len(halls) == 1 else None
    return hall, halls


def _reception_url(hall) -> str:
    return f"{reverse('appointments_staff:queue_reception')}?hall={quote(hall.code)}"


def _requeue(request: HttpRequest, hall) -> HttpResponse:
    """过号重排 from the 导服台: the same number back in line; PRG with the new position."""
    ticket = selectors.ticket_for_clerk(clerk=request.user, ticket_id=request.POST.get("ticket"))
    if ticket is None or ticket.hall_id != hall.pk:
        raise Http404("未找到该号码")
    ticket = services.ticket_requeue(actor=request.user, ticket=ticket)
    ahead, minutes = selectors.ticket_position(ticket=ticket)
    where = f"前面还有 {ahead} 人，预计等候约 {minutes} 分钟" if ahead else "前面没有人等候"
    messages.success(request, f"{ticket.number} 号已重新排队，{where}。请提醒办事群众留意叫号屏。")
    return redirect(_reception_url(hall))


@require_http_methods(["GET", "POST"])
@clerk_page
def queue_reception_view(request: HttpRequest) -> HttpResponse:
    """导服台: take a walk-in ticket for an item, check a booking in by scanning the
    resident's 随申码 (the scanner types the code's text into the field), or put a ticket
    skipped today back in line (过号重排) when its person comes back."""
    hall, halls = _reception_hall(request)
    context = {"hall": hall, "halls": halls, "ticket": None, "errors": {}, "posted": {}}
    status = 200
    if request.method == "POST":
        if hall is None:
            raise Http404("未找到该大厅")
        action = request.POST.get("action")
        try:
            if action == "requeue":
                return _requeue(request, hall)
            if action == "walk_in":
                context["ticket"] = services.ticket_take(
                    hall=hall,
                    item_code=request.POST.get("item", ""),
                    source=TicketSource.RECEPTION,
                    actor=request.user,
                )
            elif action == "check_in":
                context["ticket"] = services.booking_check_in(
                    hall=hall,
                    code=request.POST.get("code", ""),
                    via="entrance",
                    actor_label=f"导服台：{request.user.username}",
                    actor=request.user,
                )
            else:
                raise Http404("未知操作")
        except DomainError as exc:
            if exc.http_status == 403:
                return _forbidden(request, exc.message)
            context["errors"] = {action: exc.message}
            context["posted"] = {
                "item": request.POST.get("item", ""),
                "ticket": request.POST.get("ticket", ""),
            }
            status = exc.http_status
    if hall is not None:
        context["items"] = selectors.hall_items(hall=hall)
        context["waiting"] = selectors.waiting_count(hall=hall)
        context["skipped"] = selectors.skipped_today(hall=hall)
        context["requeue_limit"] = services.REQUEUE_LIMIT
        if context["ticket"] is not None:
            context["ticket_item"] = selectors.item_names([context["ticket"].item_code]).get(
                context["ticket"].item_code, ""
            )
            context["ticket_ahead"] = selectors.ticket_position(ticket=context["ticket"])
    return render(request, "appointments/queue_reception.html", context, status=status)


@require_GET
def queue_display_view(request: HttpRequest, code: str) -> HttpResponse:
    """The hall's screen (叫号屏): the latest calls, number → window, masked surname only."""
    hall = selectors.hall_by_code(code)
    if hall is None:
        raise Http404("未找到该大厅")
    feed = selectors.display_feed(hall=hall)
    context = {
        "hall": hall,
        "feed": feed,
        "latest": feed["calls"][-1] if feed["calls"] else None,
        "recent": feed["calls"][::-1][1:9],
        "feed_url": f"/api/v1/halls/{hall.code}/queue/feed",
    }
    response = render(request, "appointments/queue_display.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def queue_mine_view(request: HttpRequest) -> HttpResponse:
    """我的排队: today's tickets with how many are ahead and the estimated wait."""
    return render(
        request,
        "appointments/queue_mine.html",
        {
            "tickets": selectors.tickets_of(user=request.user),
            "default_minutes": selectors.DEFAULT_SERVICE_MINUTES,
        },
    )
