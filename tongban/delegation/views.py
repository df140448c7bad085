"""亲友代办 pages: 我的授权 (grant, list, revoke), invitations (accept, decline), 为谁办理
(the people one may act for), and the counter clerk's record for a resident present at a
hall. Every rule lives in the services and selectors; these views arrange pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.selectors import is_staff_member, resident_profile_of
from tongban.cases.selectors import counter_resident, may_open_counter
from tongban.cases.views_staff import COUNTER_RESIDENT_KEY
from tongban.common.errors import DomainError
from tongban.delegation import selectors, services
from tongban.delegation.errors import DelegationInvalid, DelegationNotFound, DelegationNotValid
from tongban.delegation.forms import DelegationGrantForm


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def _mine_context(request: HttpRequest, form: DelegationGrantForm | None = None) -> dict:
    return {
        "form": form or DelegationGrantForm(),
        "given": selectors.delegations_given(user=request.user),
        "invitations": selectors.delegation_invitations(user=request.user),
        "received": selectors.delegations_received(user=request.user),
    }


@login_required
@require_GET
def mine_view(request: HttpRequest) -> HttpResponse:
    """我的授权: whom I authorised, who invited me, for whom I may act."""
    if is_staff_member(request.user):
        return _forbidden(request, "工作人员账号不能使用亲友代办。")
    return render(request, "delegation/mine.html", _mine_context(request))


@login_required
@require_POST
def grant_view(request: HttpRequest) -> HttpResponse:
    form = DelegationGrantForm(request.POST)
    if not form.is_valid():
        _all_problems(form, resident_profile_of(request.user))
    else:
        try:
            services.delegation_propose(
                principal_user=request.user,
                agent_id_number=form.cleaned_data["agent_id_number"],
                agent_name=form.cleaned_data["agent_name"],
                items=form.service_items(),
                valid_until=form.cleaned_data["valid_until"],
            )
        except DelegationInvalid as exc:
            form.add_service_errors(exc.details)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"已向{form.cleaned_data['agent_name']}发出代办邀请。对方登录后确认即生效；"
                "在此之前，您可以随时撤销。",
            )
            return redirect("delegation:mine")
    return render(request, "delegation/mine.html", _mine_context(request, form), status=422)


def _all_problems(form: DelegationGrantForm, principal) -> None:
    """Every problem at once: the service's about the values the form could read."""
    if principal is None:
        return
    form.add_service_errors(
        services.delegation_problems(
            principal=principal,
            agent_id_number=form.raw("agent_id_number"),
            agent_name=form.raw("agent_name"),
            valid_until=form.raw("valid_until"),
        )
    )


def _act(request: HttpRequest, service, delegation_id: int, done: str) -> HttpResponse:
    try:
        service(user=request.user, delegation_id=delegation_id)
    except DelegationNotFound as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=404)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("delegation:mine")
    messages.success(request, done)
    return redirect("delegation:mine")


@login_required
@require_POST
def revoke_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    return _act(
        request,
        services.delegation_revoke,
        delegation_id,
        "授权已撤销，即刻生效：对方不能再为此代办。",
    )


@login_required
@require_POST
def accept_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    return _act(
        request, services.delegation_accept, delegation_id, "已接受代办授权，现在可以为其办理。"
    )


@login_required
@require_POST
def decline_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    return _act(request, services.delegation_decline, delegation_id, "已拒绝该代办邀请。")


@login_required
@require_GET
def acting_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    """为 X 办理: what the authorisation lets one do for X, each service opening the form
    for X (?for=), and the cases filed for X under it."""
    try:
        delegation = selectors.delegation_for_acting(user=request.user, delegation_id=delegation_id)
    except DelegationNotValid as exc:
        return render(
            request,
            "cases/apply/acting_refused.html",
            {"message": exc.message, "self_url": "/me/"},
            status=403,
        )
    return render(
        request,
        "delegation/acting.html",
        selectors.acting_overview(user=request.user, delegation=delegation),
    )


# ---------------------------------------------------------------- 综合窗口


@login_required
@require_http_methods(["GET", "POST"])
def counter_view(request: HttpRequest) -> HttpResponse:
    """The counter clerk records (or ends) an authorisation for the resident identified at
    this counter (综合窗口帮办: the ID card checked in person)."""
    if not is_staff_member(request.user):
        return _forbidden(request, "此页面仅限工作人员使用。")
    if not may_open_counter(request.user):
        return _forbidden(request, "登记亲友代办授权仅限大厅综合窗口人员使用。")
    principal = counter_resident(
        user=request.user, profile_id=request.session.get(COUNTER_RESIDENT_KEY)
    )
    if principal is None:
        return render(request, "delegation/counter_none.html", status=200)
    form = DelegationGrantForm(request.POST if request.POST.get("action") == "record" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "revoke":
                services.delegation_revoke_at_counter(
                    clerk=request.user,
                    principal=principal,
                    delegation_id=request.POST.get("delegation", ""),
                )
                messages.success(request, "已为该居民撤销此项代办授权，即刻生效。")
                return redirect("delegation:counter")
            if action == "record" and not form.is_valid():
                _all_problems(form, principal)
            elif action == "record":
                services.delegation_record_at_counter(
                    clerk=request.user,
                    principal=principal,
                    agent_id_number=form.cleaned_data["agent_id_number"],
                    agent_name=form.cleaned_data["agent_name"],
                    items=form.service_items(),
                    valid_until=form.cleaned_data["valid_until"],
                )
                messages.success(
                    request,
                    "已登记代办授权。请告知居民：代办人登录后在“我的授权”中确认即生效。",
                )
                return redirect("delegation:counter")
        except DelegationInvalid as exc:
            form.add_service_errors(exc.details)
        except DelegationNotFound as exc:
            return render(request, "portal/forbidden.html", {"message": exc.message}, status=404)
        except DomainError as exc:
            if exc.http_status == 403:
                return _forbidden(request, exc.message)
            form.add_error(None, exc.message)
        status = 422
    context = {
        "principal": principal,
        "form": form,
        "given": selectors.delegations_of_principal(principal=principal),
    }
    return render(request, "delegation/counter.html", context, status=status)
