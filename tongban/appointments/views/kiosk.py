"""Pages of 24小时自助终端 (kiosk mode), for a touch terminal with a hardware scanner that types
the QR text and Enter into the focused field: big buttons, no typing where a scan will do.

Staff enrol a terminal's browser at /staff/kiosks/; the browser is then a kiosk of that
service point (the cookie), and the staff session ends there. A resident logs in by
scanning the 随申码 on their phone; the session ends by 退出 or after the idle limit
(middleware_kiosk), and the terminal returns to /kiosk/. Thin: the services do the work."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.http import client_ip
from tongban.accounts.services import login_attempt_record
from tongban.appointments.middleware_kiosk import KIOSK_COOKIE, KIOSK_SEEN_KEY, KIOSK_SESSION_KEY
from tongban.appointments.middleware_kiosk import clock as kiosk_clock
from tongban.appointments.models import ServicePoint
from tongban.appointments.selectors import kiosk as selectors
from tongban.appointments.services import kiosk as services
from tongban.cases.views_staff import staff_page
from tongban.common.errors import DomainError, InvalidInput
from tongban.portal.context import ELDER_COOKIE

TICKETS_KEY = "tongban_kiosk_tickets"
KEY_COOKIE_MAX_AGE = 5 * 365 * 24 * 3600
ENDED_TEXT = {
    "idle": "长时间未操作，已自动退出。",
    "moved": "本次登录已结束，请重新扫码。",
    "logout": "已退出。您的信息已从本机清除。",
}


def _kiosk_context(request: HttpRequest, **extra) -> dict:
    person = _person(request)
    return {
        "point": request.kiosk_point,
        "person": person,
        "person_label": selectors.kiosk_person_label(person),
        "idle_seconds": services.idle_seconds(),
        **extra,
    }


def _person(request: HttpRequest):
    """The resident logged in by scanning at this terminal, else None."""
    flagged = request.session.get(KIOSK_SESSION_KEY)
    if request.user.is_authenticated and isinstance(flagged, dict):
        return request.user
    return None


def kiosk_page(view):
    """Only on a browser enrolled as a kiosk; elsewhere a page saying so and who may enrol it."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        point = selectors.kiosk_point_for(key=request.COOKIES.get(KIOSK_COOKIE))
        if point is None:
            context = {
                "enrollers": selectors.kiosk_enrollers_text(),
                "idle_seconds": services.idle_seconds(),
            }
            return render(request, "appointments/kiosk_not_enrolled.html", context, status=403)
        request.kiosk_point = point
        return view(request, *args, **kwargs)

    return wrapper


def kiosk_person_page(view):
    """A kiosk page for a resident logged in by scanning: anyone else is asked to scan."""

    @functools.wraps(view)
    @kiosk_page
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if _person(request) is None:
            return redirect(f"/kiosk/login/?next={request.path}")
        return view(request, *args, **kwargs)

    return wrapper


def _refused(request: HttpRequest, template: str, exc: DomainError, **extra) -> HttpResponse:
    context = _kiosk_context(request, error=exc.message, **extra)
    return render(request, template, context, status=exc.http_status)


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if (
        value
        and value.startswith("/")
        and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()})
    ):
        return value
    return "/kiosk/"


# ---------------------------------------------------------------- the terminal


@require_GET
@kiosk_page
def home_view(request: HttpRequest) -> HttpResponse:
    point = request.kiosk_point
    context = _kiosk_context(
        request,
        ended=ENDED_TEXT.get(request.GET.get("ended", ""), ""),
        enrolled=request.GET.get("enrolled") == "1",
        staff_session=request.user.is_authenticated and _person(request) is None,
        has_hall=point.hall_id is not None,
        has_services=bool(selectors.kiosk_self_service_items(point=point)),
    )
    return render(request, "appointments/kiosk_home.html", context)


@require_http_methods(["GET", "POST"])
@kiosk_page
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        return render(
            request, "appointments/kiosk_login.html", _kiosk_context(request, next=next_url)
        )
    point = request.kiosk_point
    try:
        user = services.kiosk_login(
            point=point, code=request.POST.get("code", ""), ip_address=client_ip(request)
        )
    except DomainError as exc:
        return _refused(request, "appointments/kiosk_login.html", exc, next=next_url)
    if request.user.is_authenticated:
        logout(request)  # whoever was here before (a staff member) is gone first
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    login_attempt_record(
        username=user.get_username(), ip_address=client_ip(request), succeeded=True, user=user
    )
    request.session[KIOSK_SESSION_KEY] = {"point": point.pk, "key_hash": point.kiosk_key_hash}
    request.session[KIOSK_SEEN_KEY] = int(kiosk_clock())
    return redirect(next_url)


@require_POST
@kiosk_page
def logout_view(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if person is not None:
        services.kiosk_session_end(
            point=request.kiosk_point, user=person, reason="logout", ip_address=client_ip(request)
        )
    logout(request)  # flushes the session: tickets taken here, answers, everything
    return redirect("/kiosk/?ended=logout")


@require_POST
def keepalive_view(request: HttpRequest) -> HttpResponse:
    """继续使用: the request itself is the activity (see the middleware)."""
    return JsonResponse({"idle_seconds": services.idle_seconds()})


# ---------------------------------------------------------------- 取号 and 预约签到


def _remember_ticket(request: HttpRequest, ticket_id: int) -> None:
    taken = [t for t in request.session.get(TICKETS_KEY, []) if isinstance(t, int)]
    request.session[TICKETS_KEY] = [*taken[-9:], ticket_id]


@require_http_methods(["GET", "POST"])
@kiosk_page
def ticket_new_view(request: HttpRequest) -> HttpResponse:
    point = request.kiosk_point
    items = selectors.kiosk_ticket_items(point=point)
    template = "appointments/kiosk_ticket_new.html"
    if request.method == "GET":
        return render(request, template, _kiosk_context(request, items=items))
    item_code = request.POST.get("item", "")
    if item_code not in {i["code"] for i in items}:
        exc = InvalidInput("请选择本大厅可以取号的事项。", code="KIOSK_ITEM_NOT_OFFERED")
        return _refused(request, template, exc, items=items)
    try:
        ticket = services.kiosk_ticket_take(point=point, item_code=item_code, user=_person(request))
    except DomainError as exc:
        return _refused(request, template, exc, items=items)
    _remember_ticket(request, ticket.pk)
    return redirect("appointments:kiosk_ticket", ticket_id=ticket.pk)


@require_GET
@kiosk_page
def ticket_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.kiosk_ticket_for(
        ticket_id=ticket_id, user=_person(request), taken_here=request.session.get(TICKETS_KEY, [])
    )
    if ticket is None:
        raise Http404("未找到该排队号")
    context = _kiosk_context(request, ticket=selectors.ticket_display(ticket))
    return render(request, "appointments/kiosk_ticket.html", context)


@require_http_methods(["GET", "POST"])
@kiosk_page
def check_in_view(request: HttpRequest) -> HttpResponse:
    template = "appointments/kiosk_check_in.html"
    if request.method == "GET":
        return render(request, template, _kiosk_context(request))
    try:
        ticket = services.kiosk_check_in(
            point=request.kiosk_point, code=request.POST.get("code", "")
        )
    except DomainError as exc:
        return _refused(request, template, exc)
    _remember_ticket(request, ticket.pk)
    return redirect("appointments:kiosk_ticket", ticket_id=ticket.pk)


# ---------------------------------------------------------------- 办事


@require_GET
@kiosk_page
def services_view(request: HttpRequest) -> HttpResponse:
    items = selectors.kiosk_self_service_items(point=request.kiosk_point)
    return render(request, "appointments/kiosk_services.html", _kiosk_context(request, items=items))


@require_GET
@kiosk_page
def service_view(request: HttpRequest, code: str) -> HttpResponse:
    """The item's guide on the terminal: what it is, what is needed; then the portal's own
    one-question-per-screen guide and the one form (the terminal shows them in 长者版)."""
    from tongban.catalog import guide
    from tongban.catalog.errors import ItemNotFound
    from tongban.catalog.selectors import item_definition

    if not selectors.kiosk_item_allowed(point=request.kiosk_point, item_code=code):
        raise Http404("本终端不办理该事项")
    try:
        item = item_definition(code)
    except ItemNotFound as exc:
        raise Http404(exc.message) from exc
    materials = [
        {"name": m.name, "condition": guide.when_text(m.when, item.situations)}
        for m in item.materials
    ]
    context = _kiosk_context(
        request,
        item=item,
        materials=materials,
        handling_label=guide.HANDLING_LABELS[item.handling],
        steps_url=f"/items/{code}/steps/",
        # An item with questions is applied for from the end of its guide (the list of
        # materials for these answers); one without goes straight to the form.
        start_url=f"/items/{code}/steps/" if item.situations else f"/apply/item/{code}/",
    )
    return render(request, "appointments/kiosk_service.html", context)


# ---------------------------------------------------------------- 打印


@require_GET
@kiosk_person_page
def print_view(request: HttpRequest) -> HttpResponse:
    from tongban.cases.selectors import cases_for_applicant
    from tongban.certificates.pdf import STATE_LABELS
    from tongban.certificates.selectors import certificate_state, certificates_for

    person = request.user
    cases = cases_for_applicant(user=person, limit=10)
    certificates = [
        {
            "id": c.pk,
            "name": c.type.name,
            "state_label": STATE_LABELS.get(certificate_state(c), ""),
        }
        for c in certificates_for(user=person).order_by("-pk")[:20]
    ]
    tickets = [selectors.ticket_display(t) for t in selectors.kiosk_tickets_today(user=person)]
    context = _kiosk_context(request, cases=cases, certificates=certificates, tickets=tickets)
    return render(request, "appointments/kiosk_print.html", context)


@require_GET
@kiosk_person_page
def print_case_view(request: HttpRequest, receipt_no: str) -> HttpResponse:
    from tongban.cases.errors import CaseNotFound
    from tongban.cases.selectors import case_detail

    try:
        case = case_detail(user=request.user, receipt_no=receipt_no)
    except CaseNotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "appointments/kiosk_print_case.html", _kiosk_context(request, case=case))


@require_GET
@kiosk_person_page
def print_certificate_view(request: HttpRequest, pk: int) -> HttpResponse:
    from tongban.certificates.errors import CertificateNotFound
    from tongban.certificates.pdf import STATE_LABELS
    from tongban.certificates.selectors import (
        certificate_for,
        certificate_json,
        certificate_qr_svg,
        certificate_state,
    )

    try:
        cert = certificate_for(user=request.user, pk=pk)
    except CertificateNotFound as exc:
        raise Http404(exc.message) from exc
    body = certificate_json(cert)
    claims = {c["name"]: c for c in body["claims"]}
    shown = body["display"] or list(claims)
    context = _kiosk_context(
        request,
        cert={
            "id": cert.pk,
            "type_name": cert.type.name,
            "holder": body["holder"]["name"],
            "issuer": cert.type.department.name,
            "serial": cert.serial,
            "state_label": STATE_LABELS.get(certificate_state(cert), ""),
            "valid_from": cert.valid_from,
            "expires_at": cert.expires_at,
        },
        display=[claims[n] for n in shown if n in claims],
        qr_svg=certificate_qr_svg(cert.text, title=f"{cert.type.name}二维码"),
    )
    return render(request, "appointments/kiosk_print_certificate.html", context)


# ---------------------------------------------------------------- enrolment (staff)


@require_GET
@staff_page
def points_view(request: HttpRequest) -> HttpResponse:
    points = list(selectors.kiosk_points_for(user=request.user))
    if not points:
        return render(
            request,
            "portal/forbidden.html",
            {"message": "登记自助终端仅限服务点所在大厅的综合窗口工作人员和系统管理员。"},
            status=403,
        )
    here = selectors.kiosk_point_for(key=request.COOKIES.get(KIOSK_COOKIE))
    return render(request, "appointments/kiosk_points.html", {"points": points, "here": here})


@require_POST
@staff_page
def enrol_view(request: HttpRequest, code: str) -> HttpResponse:
    point = ServicePoint.objects.select_related("hall", "scanner").filter(code=code).first()
    if point is None:
        raise Http404("未找到该服务点")
    try:
        key = services.kiosk_enrol(actor=request.user, point=point, ip_address=client_ip(request))
    except DomainError as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=403)
    logout(request)  # the terminal is public from now on: the staff session ends here
    response = redirect("/kiosk/?enrolled=1")
    secure = request.is_secure() or settings.SESSION_COOKIE_SECURE
    response.set_cookie(
        KIOSK_COOKIE,
        key,
        max_age=KEY_COOKIE_MAX_AGE,
        httponly=True,
        secure=secure,
        samesite="Strict",
    )
    # The portal's own pages (the guide, the one form) open in 长者版 on the terminal:
    # large type, one question per screen.
    response.set_cookie(
        ELDER_COOKIE, "1", max_age=KEY_COOKIE_MAX_AGE, httponly=True, secure=secure, samesite="Lax"
    )
    return response
