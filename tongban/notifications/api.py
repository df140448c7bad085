"""/api/v1/me/notices: one's own message centre. Rules live in services and selectors."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from ninja.security import django_auth
from pydantic import Field

from tongban.notifications.selectors import notices_for, unread_count
from tongban.notifications.services import notice_mark_read

router = Router(tags=["notifications"], auth=django_auth)


class ErrorOut(Schema):
    code: str
    message: str


class NoticeOut(Schema):
    id: int
    title: str
    body: str
    link: str
    category: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NoticeListOut(Schema):
    unread_count: int
    items: list[NoticeOut]


class NoticeFilter(Schema):
    unread_only: bool = False
    limit: int = Field(50, ge=1, le=200)


@router.get(
    "/me/notices",
    response={200: NoticeListOut, 401: ErrorOut},
    summary="我的消息（最新在前）",
)
def list_my_notices(request, filters: Query[NoticeFilter]):
    items = list(notices_for(user=request.user, unread_only=filters.unread_only)[: filters.limit])
    return {"unread_count": unread_count(user=request.user), "items": items}


@router.post(
    "/me/notices/{notice_id}/read",
    response={200: NoticeOut, 401: ErrorOut, 404: ErrorOut},
    summary="标记消息为已读",
)
def mark_my_notice_read(request, notice_id: int):
    return notice_mark_read(user=request.user, notice_id=notice_id)
