from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from tongban.common.errors import InvalidInput
from tongban.notifications.errors import NoticeNotFound
from tongban.notifications.models import Notice
from tongban.notifications.tasks import deliver_notice


def _check_link(link: str) -> None:
    # Only same-site paths: a notice link is something a resident trusts and clicks.
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link):
        raise InvalidInput(
            "消息链接必须是本站相对地址", details=[{"field": "link", "message": link}]
        )


def notice_send(*, recipient, title: str, body: str, link: str = "", category: str = "") -> Notice:
    """Write an in-app notice and queue its delivery on other channels.

    The notice row joins the caller's transaction: it exists exactly when the caller's change
    does. The delivery is queued only after commit, so the worker never sees a notice that was
    rolled back and no email announces a change that did not happen.
    """
    title = title.strip()
    if not title:
        raise InvalidInput("消息标题不能为空", details=[{"field": "title", "message": "必填"}])
    if len(title) > Notice._meta.get_field("title").max_length:
        raise InvalidInput("消息标题过长", details=[{"field": "title", "message": "最多200字"}])
    if len(category) > Notice._meta.get_field("category").max_length:
        raise InvalidInput("消息类别过长", details=[{"field": "category", "message": category}])
    _check_link(link)
    notice = Notice.objects.create(
        recipient=recipient, title=title, body=body, link=link, category=category
    )
    transaction.on_commit(partial(deliver_notice.enqueue, notice_id=notice.pk))
    return notice


def notice_mark_read(*, user, notice_id: int) -> Notice:
    """Mark one of the user's own notices read; anyone else's is NOTICE_NOT_FOUND."""
    if not getattr(user, "is_authenticated", False):
        raise NoticeNotFound
    with transaction.atomic():
        notice = Notice.objects.filter(pk=notice_id, recipient=user).first()
        if notice is None:
            raise NoticeNotFound
        if notice.read_at is None:
            # The filter on read_at keeps the first reading time if two tabs race.
            Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=timezone.now())
            notice.refresh_from_db(fields=["read_at"])
    return notice
