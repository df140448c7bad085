"""消息中心 pages: the same selectors and services as /api/v1/me/notices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.common.errors import InvalidInput
from tongban.notifications.errors import NoticeNotFound
from tongban.notifications.models import Channel, Group
from tongban.notifications.selectors import (
    mandatory_templates,
    notices_for,
    preferences_for,
    unread_count,
)
from tongban.notifications.services import (
    notice_mark_read,
    notice_preferences_set,
    notices_mark_all_read,
)

PAGE_SIZE = 20


@login_required
@require_GET
def notices_view(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    group = request.GET.get("group", "")
    if group not in Group.values:
        group = ""
    page = Paginator(
        notices_for(user=request.user, unread_only=unread_only, group=group), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = "&".join(
        part
        for part in ("unread=1" if unread_only else "", f"group={group}" if group else "")
        if part
    )
    return render(
        request,
        "notifications/notices.html",
        {
            "page": page,
            "notices": page.object_list,
            "unread_only": unread_only,
            "group": group,
            "groups": Group.choices,
            "query": query,
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


@login_required
@require_POST
def notices_read_all_view(request: HttpRequest) -> HttpResponse:
    count = notices_mark_all_read(user=request.user)
    messages.success(request, f"已将 {count} 条消息标为已读。")
    return redirect("notifications:notices")


@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # An unticked checkbox is absent from the form: every group × channel is set.
        choices = {
            g: {c: request.POST.get(f"{g}.{c}") == "on" for c in Channel.values}
            for g in Group.values
        }
        try:
            notice_preferences_set(user=request.user, choices=choices)
        except InvalidInput as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "消息订阅设置已保存。")
        return redirect("notifications:preferences")
    prefs = preferences_for(user=request.user)
    rows = [
        {
            "group": g,
            "label": label,
            "cells": [
                {"channel": c, "channel_label": c_label, "on": prefs[g][c]}
                for c, c_label in Channel.choices
            ],
        }
        for g, label in Group.choices
    ]
    channel_labels = dict(Channel.choices)
    mandatory = [
        {**m, "channels": "、".join(channel_labels[c] for c in m["required"])}
        for m in mandatory_templates()
    ]
    return render(
        request,
        "notifications/preferences.html",
        {"rows": rows, "channels": Channel.choices, "mandatory": mandatory},
    )
