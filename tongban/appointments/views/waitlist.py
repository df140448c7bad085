"""Pages of 轮候: 我的轮候 (the person: position, class, how it moved, an offer to answer;
and, for a relative holding a live 亲友代办 authorisation, the person's entries labelled
代 X 办理) and the list's department staff's page (the order with masked names, the places:
新增, 床位空出, 停用, 恢复启用). Thin: call the same services and selectors as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.accounts.models import District
from tongban.appointments.models import PlaceStatus
from tongban.appointments.selectors import waitlist as selectors
from tongban.appointments.services import waitlist as services
from tongban.common.errors import DomainError, InvalidInput


def _mine_page(request: HttpRequest, *, errors=(), status: int = 200) -> HttpResponse:
    acting = selectors.acting_entries_for(
        user=request.user, ip_address=request.META.get("REMOTE_ADDR")
    )
    return render(
        request,
        "appointments/waitlist_mine.html",
        {
            "entries": selectors.entries_for(user=request.user),
            "acting": acting,
            "errors": list(errors),
        },
        status=status,
    )


def _for_whom(request: HttpRequest, profile) -> str:
    # 亲友代办: the success message says for whom the relative acted.
    return "" if profile.user_id == request.user.pk else f"（代{profile.name}办理）"


@require_GET
@login_required
def waitlist_mine_view(request: HttpRequest) -> HttpResponse:
    return _mine_page(request)


def _answer(request: HttpRequest, offer_id: int, accept: bool) -> HttpResponse:
    found = selectors.offer_for(user=request.user, offer_id=offer_id)
    if found is None:
        raise Http404
    whom = _for_whom(request, found.entry.profile)
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
            request,
            errors=[{"message": exc.message, "href": f"#entry-{found.entry_id}"}],
            status=exc.http_status,
        )
    place = f"{offer.place.facility}{offer.place.name}"
    if accept:
        messages.success(request, f"已确认入住{whom}：{place}。请按机构通知办理入住手续。")
    else:
        messages.success(request, f"已放弃本次通知{whom}（{place}），仍在原位次继续轮候。")
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
            request,
            errors=[{"message": exc.message, "href": f"#entry-{entry.pk}"}],
            status=exc.http_status,
        )
    messages.success(request, f"已撤回轮候登记{_for_whom(request, entry.profile)}。")
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


ADD_FIELDS = ("facility", "name", "district", "status")
# Which field of the 新增 form an error code is about (the summary links to it).
ADD_ERROR_FIELDS = {
    "WAITLIST_PLACE_NAME": "place-facility",
    "WAITLIST_PLACE_EXISTS": "place-name",
    "WAITLIST_PLACE_DISTRICT": "place-district",
    "WAITLIST_PLACE_STATUS": "place-status-occupied",
}


def _staff_page(
    request, code: str, *, errors=(), status: int = 200, add=None, add_error=None, close=None
) -> HttpResponse:
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
            "districts": District.choices,
            "add": add or {"status": PlaceStatus.OCCUPIED},
            "add_error": add_error,
            "close": close or {},
        },
        status=status,
    )


@require_GET
@login_required
def waitlist_staff_list_view(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_page(request, code)


def _place_offering(request: HttpRequest, place_id: int, act, done: str) -> HttpResponse:
    """床位空出 and 恢复启用: ACT frees the place and offers it to the first waiting entry;
    the message says which (DONE: what happened to the place)."""
    place = selectors.place_for_keeper(user=request.user, place_id=place_id)
    if place is None:
        raise Http404
    code = place.waiting_list.code
    try:
        offer = act(place=place, actor=request.user)
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        return _staff_page(
            request,
            code,
            errors=[{"message": exc.message, "href": f"#place-{place_id}"}],
            status=exc.http_status,
        )
    label = f"{place.facility}{place.name}{done}"
    if offer is None:
        messages.success(request, f"{label}；目前无人轮候，床位保持空闲。")
    else:
        messages.success(
            request,
            f"{label}，已向第一位轮候人发出入住通知，"
            f"答复期限 {selectors.when_text(offer.respond_by)}。",
        )
    return redirect("appointments_staff:waitlist_staff_list", code=code)


@require_POST
@login_required
def waitlist_place_free_view(request: HttpRequest, place_id: int) -> HttpResponse:
    return _place_offering(request, place_id, services.place_free, "已空出")


@require_POST
@login_required
def waitlist_place_add_view(request: HttpRequest, code: str) -> HttpResponse:
    waiting_list = selectors.waiting_list_by_code(code)
    if waiting_list is None or not selectors.may_keep(request.user, waiting_list):
        raise Http404
    add = {f: request.POST.get(f, "").strip() for f in ADD_FIELDS}
    try:
        if add["status"] not in (PlaceStatus.OCCUPIED, PlaceStatus.FREE):
            raise InvalidInput("请选择床位状态：已入住或空闲", code="WAITLIST_PLACE_STATUS")
        place = services.place_add(
            waiting_list=waiting_list,
            facility=add["facility"],
            name=add["name"],
            district=add["district"],
            occupied=add["status"] == PlaceStatus.OCCUPIED,
            actor=request.user,
        )
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        href = "#" + ADD_ERROR_FIELDS.get(exc.code, "place-facility")
        return _staff_page(
            request,
            code,
            errors=[{"message": exc.message, "href": href}],
            status=exc.http_status,
            add=add,
            add_error={"message": exc.message, "code": exc.code},
        )
    place.refresh_from_db()
    label = f"{place.facility}{place.name}"
    if place.status == PlaceStatus.OFFERED:
        messages.success(request, f"已新增{label}（空闲），已向第一位轮候人发出入住通知。")
    else:
        messages.success(request, f"已新增{label}（{place.get_status_display()}）。")
    return redirect("appointments_staff:waitlist_staff_list", code=code)


@require_POST
@login_required
def waitlist_place_close_view(request: HttpRequest, place_id: int) -> HttpResponse:
    place = selectors.place_for_keeper(user=request.user, place_id=place_id)
    if place is None:
        raise Http404
    code = place.waiting_list.code
    reason = request.POST.get("reason", "")
    try:
        services.place_close(place=place, actor=request.user, reason=reason)
    except DomainError as exc:
        if exc.http_status == 404:
            raise Http404 from exc
        return _staff_page(
            request,
            code,
            errors=[{"message": exc.message, "href": f"#close-reason-{place_id}"}],
            status=exc.http_status,
            close={"id": place_id, "reason": reason, "message": exc.message},
        )
    messages.success(request, f"{place.facility}{place.name}已停用，不再发出入住通知。")
    return redirect("appointments_staff:waitlist_staff_list", code=code)


@require_POST
@login_required
def waitlist_place_reopen_view(request: HttpRequest, place_id: int) -> HttpResponse:
    return _place_offering(request, place_id, services.place_reopen, "已恢复启用")
