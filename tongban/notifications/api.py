"""/api/v1/me/notices: one's own message centre. Rules live in services and selectors."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import resident_auth
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id, Offset
from tongban.notifications.models import Group
from tongban.notifications.selectors import notices_for, preferences_for, unread_count
from tongban.notifications.services import (
    notice_mark_read,
    notice_preferences_set,
    notices_mark_all_read,
)

router = Router(tags=["notifications"], auth=resident_auth)


class NoticeOut(Schema):
    id: int
    title: str
    body: str
    link: str
    category: str
    group: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NoticeListOut(Schema):
    unread_count: int
    items: list[NoticeOut]


class NoticeFilter(Schema):
    unread: bool = False
    unread_only: bool = False  # the first name of `unread`, kept for existing clients
    group: Group | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: Offset = 0


class UnreadCountOut(Schema):
    unread_count: int


class ReadAllOut(Schema):
    marked_read: int
    unread_count: int


class ChannelPrefs(Schema):
    email: bool
    sms: bool


class PreferencesIO(Schema):
    """Per group, whether email and SMS are sent; in-app is always on."""

    case: ChannelPrefs
    certificate: ChannelPrefs
    review: ChannelPrefs
    system: ChannelPrefs


@router.get(
    "/me/notices",
    response={200: NoticeListOut, **errors(400, 401, 422)},
    summary="我的消息（最新在前）",
)
def list_my_notices(request, filters: Query[NoticeFilter]):
    notices = notices_for(
        user=request.user,
        unread_only=filters.unread or filters.unread_only,
        group=filters.group.value if filters.group else "",
    )
    items = list(notices[filters.offset : filters.offset + filters.limit])
    return {"unread_count": unread_count(user=request.user), "items": items}


@router.get(
    "/me/notices/unread-count",
    response={200: UnreadCountOut, **errors(401)},
    summary="未读消息数",
)
def my_unread_count(request):
    return {"unread_count": unread_count(user=request.user)}


@router.post(
    "/me/notices/read-all",
    response={200: ReadAllOut, **errors(401, 403)},
    summary="全部标为已读",
)
def mark_all_my_notices_read(request):
    marked = notices_mark_all_read(user=request.user)
    return {"marked_read": marked, "unread_count": unread_count(user=request.user)}


@router.get(
    "/me/notice-preferences",
    response={200: PreferencesIO, **errors(401)},
    summary="消息订阅设置",
)
def my_notice_preferences(request):
    return preferences_for(user=request.user)


@router.put(
    "/me/notice-preferences",
    response={200: PreferencesIO, **errors(400, 401, 403, 422)},
    summary="修改消息订阅设置",
)
def set_my_notice_preferences(request, payload: PreferencesIO):
    return notice_preferences_set(user=request.user, choices=payload.model_dump())


@router.post(
    "/me/notices/{notice_id}/read",
    response={200: NoticeOut, **errors(400, 401, 403, 404, 422)},
    summary="标记消息为已读",
)
def mark_my_notice_read(request, notice_id: Id):
    return notice_mark_read(user=request.user, notice_id=notice_id)
