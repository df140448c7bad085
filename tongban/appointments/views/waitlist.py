"""Pages of 轮候: 我的轮候 (the person: position, class, how it moved, an offer to answer)
and the list's department staff's page (the order with masked names, the places, 床位空出).
Thin: call the same services and selectors as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.appointments.selectors import waitlist as selectors
from tongban.appointments.services import waitlist as services
from tongban.common.errors import DomainError


def _mine_page(request: HttpRequest, *, errors=(), status: int = 200) -> HttpResponse:
    return render(
        request,
        "appointments/waitlist_mine.html",
        {"entries": selectors.entries_for(user=request.user), "errors": list(errors)},
        status=status,
    )


@require_GET
@login_required
def waitlist_mine_view(request: HttpRequest) -> HttpResponse:
    return _mine_page(request)


def _answer(request: HttpRequest, offer_id: int, accept: bool) -> HttpResponse:
    if selectors.offer_for(user=request.user, offer_id=offer_id) is None:
        raise Http404
    try:
        if accept:
            offer = services.offer_accept(offer_id=offer_id, actor=request.user)
        else:
            offer = services.offer_decline(
                offer_id=offer_id, actor=request.user, reason=request.POST.get("reason", "")
            )
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        return _mine_page(
            request, errors=[{"message": exc.message, "href": "#entries"}], status=exc.http_status
        )
    place = f"{offer.place.facility}{offer.place.name}"
    if accept:
        messages.success(request, f"已确认入住：{place}。请按机构通知办理入住手续。")
    else:
        messages.success(request, f"已放弃本次通知（{place}），您仍在原位次继续轮候。")
    return redirect("appointments:waitlist_mine")


@require_POST
@login_required
def waitlist_offer_accept_view(request: HttpRequest, offer_id: int) -> HttpResponse:
    return _answer(request, offer_id, accept=True)


@require_POST
@login_required
def waitlist_offer_decline_view(request: HttpRequest, offer_id: int) -> HttpResponse:
    return _answer(request, offer_id, accept=False)


@require_POST
@login_required
def waitlist_withdraw_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = selectors.entry_for(user=request.user, entry_id=entry_id)
    if entry is None:
        raise Http404
    try:
        services.waitlist_withdraw(entry=entry, actor=request.user)
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        return _mine_page(
            request, errors=[{"message": exc.message, "href": "#entries"}], status=exc.http_status
        )
    messages.success(request, "已撤回轮候登记。")
    return redirect("appointments:waitlist_mine")


# ---------------------------------------------------------------- staff


@require_GET
@login_required
def waitlist_staff_index_view(request: HttpRequest) -> HttpResponse:
    lists = selectors.lists_kept_by(user=request.user)
    if not lists:
        raise Http404
    if len(lists) == 1:
        return redirect("appointments_staff:waitlist_staff_list", code=lists[0].code)
    return render(request, "appointments/waitlist_staff_index.html", {"lists": lists})


def _staff_page(request, code: str, *, errors=(), status: int = 200) -> HttpResponse:
    view = selectors.list_for_keeper(user=request.user, code=code)
    if view is None:
        raise Http404
    return render(
        request,
        "appointments/waitlist_staff_list.html",
        {
            "view": view,
            "errors": list(errors),
            "many": len(selectors.lists_kept_by(user=request.user)) > 1,
        },
        status=status,
    )


@require_GET
@login_required
def waitlist_staff_list_view(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_page(request, code)


@require_POST
@login_required
def waitlist_place_free_view(request: HttpRequest, place_id: int) -> HttpResponse:
    place = selectors.place_for_keeper(user=request.user, place_id=place_id)
    if place is None:
        raise Http404
    code = place.waiting_list.code
    try:
        offer = services.place_free(place=place, actor=request.user)
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        return _staff_page(
            request,
            code,
            errors=[{"message": exc.message, "href": f"#place-{place_id}"}],
            status=exc.http_status,
        )
    if offer is None:
        messages.success(
            request, f"{place.facility}{place.name}已空出；目前无人轮候，床位保持空闲。"
        )
    else:
        messages.success(
            request,
            f"{place.facility}{place.name}已空出，已向第一位轮候人发出入住通知，"
            f"答复期限 {selectors.when_text(offer.respond_by)}。",
        )
    return redirect("appointments_staff:waitlist_staff_list", code=code)
