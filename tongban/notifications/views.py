"""消息中心 page: the same selectors and services as /api/v1/me/notices."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.notifications.errors import NoticeNotFound
from tongban.notifications.selectors import notices_for, unread_count
from tongban.notifications.services import notice_mark_read

PAGE_SIZE = 100


@login_required
@require_GET
def notices_view(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    notices = notices_for(user=request.user, unread_only=unread_only)[:PAGE_SIZE]
    return render(
        request,
        "notifications/notices.html",
        {
            "notices": notices,
            "unread_only": unread_only,
            "unread_total": unread_count(user=request.user),
        },
    )


@login_required
@require_POST
def notice_read_view(request: HttpRequest, notice_id: int) -> HttpResponse:
    try:
        notice_mark_read(user=request.user, notice_id=notice_id)
    except NoticeNotFound as exc:
        raise Http404(exc.message) from exc
    # "open" follows the notice's own link once it is marked read; the link is always relative.
    if request.POST.get("open") == "1":
        notice = notices_for(user=request.user).filter(pk=notice_id).first()
        if notice is not None and notice.link:
            return redirect(notice.link)
    return redirect("notifications:notices")
