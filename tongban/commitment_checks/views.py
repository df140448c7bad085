"""Pages of 告知承诺事后核查: the department's queue and one check (staff), and 我的信用记录
(the person). Thin: parse a form, call the same service or selector as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.commitment_checks import selectors, services
from tongban.commitment_checks.models import CheckStatus
from tongban.common.errors import DomainError

TABS = [("open", "待核查"), ("follow_up", "待处置"), ("done", "已核查")]
VERDICTS = [
    (CheckStatus.TRUE, "属实"),
    (CheckStatus.FALSE, "不实（将记入申请人信用记录，并通知申请人）"),
    (CheckStatus.UNVERIFIABLE, "无法核查"),
]


@require_GET
@login_required
def staff_checks_view(request: HttpRequest) -> HttpResponse:
    if not selectors.viewer_department_ids(request.user):
        raise Http404
    tab = request.GET.get("status", "open")
    if tab not in dict(TABS):
        tab = "open"
    return render(
        request,
        "commitment_checks/staff_checks.html",
        {
            "checks": selectors.check_queue_for(user=request.user, status=tab),
            "tab": tab,
            "tabs": TABS,
        },
    )


def _check_page(request, check_id: int, *, errors=(), status=200) -> HttpResponse:
    check = selectors.check_for(user=request.user, check_id=check_id)
    if check is None:
        raise Http404
    return render(
        request,
        "commitment_checks/staff_check.html",
        {
            "check": check,
            "verdicts": VERDICTS,
            "errors": list(errors),
            "posted": request.POST if errors else {},
        },
        status=status,
    )


@require_GET
@login_required
def staff_check_view(request: HttpRequest, check_id: int) -> HttpResponse:
    return _check_page(request, check_id)


def _failed(request, check_id: int, exc: DomainError, href: str) -> HttpResponse:
    if exc.http_status == 404:
        raise Http404
    return _check_page(
        request, check_id, errors=[{"message": exc.message, "href": href}], status=exc.http_status
    )


@require_POST
@login_required
def staff_check_decide_view(request: HttpRequest, check_id: int) -> HttpResponse:
    try:
        check = services.commitment_check_decide(
            actor=request.user,
            check_id=check_id,
            verdict=request.POST.get("verdict", ""),
            note=request.POST.get("note", ""),
        )
    except DomainError as exc:
        return _failed(request, check_id, exc, "#note" if "NOTE" in exc.code else "#verdict-true")
    messages.success(request, f"已记录核查结论：{check.get_status_display()}。")
    return redirect("commitment_checks_staff:check", check_id=check_id)


@require_POST
@login_required
def staff_followup_revoke_view(request: HttpRequest, check_id: int) -> HttpResponse:
    if selectors.check_for(user=request.user, check_id=check_id) is None:
        raise Http404
    follow_up = selectors.follow_up_of_check(check_id)
    if follow_up is None:
        raise Http404
    try:
        done = services.followup_revoke(
            actor=request.user, follow_up_id=follow_up.pk, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        return _failed(request, check_id, exc, "#revoke-reason")
    count = len(done.revoked_serials)
    messages.success(
        request, f"已撤销 {count} 份电子证照，处置已办结。" if count else "处置已办结。"
    )
    return redirect("commitment_checks_staff:check", check_id=check_id)


@require_GET
@login_required
def my_credit_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "commitment_checks/my_credit.html",
        {"records": selectors.credit_records_for(user=request.user)},
    )
