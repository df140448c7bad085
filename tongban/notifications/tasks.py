"""Background deliveries of notices, run by the django-tasks worker (`manage.py db_worker`)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from tongban.notifications.models import Notice

logger = logging.getLogger(__name__)


@task()
def deliver_notice(notice_id: int) -> str:
    """Send a notice on its other channels; returns the channel used ("email", "none", ...).

    Idempotent: a worker may run a task twice (a crash after sending, before recording), so
    an already delivered notice is left alone.
    """
    notice = Notice.objects.select_related("recipient").filter(pk=notice_id).first()
    if notice is None:
        # Deleted with its user before the worker got to it: nothing to deliver.
        return "missing"
    if notice.delivered_at is not None:
        return "already-delivered"
    channel = "none"
    email = notice.recipient.email
    if email:
        lines = [notice.body] if notice.body else []
        if notice.link:
            lines.append(f"详情请登录通办查看：{notice.link}")
        send_mail(
            subject=notice.title,
            message="\n\n".join(lines) or notice.title,
            from_email=None,
            recipient_list=[email],
        )
        channel = "email"
    Notice.objects.filter(pk=notice.pk, delivered_at__isnull=True).update(
        delivered_at=timezone.now()
    )
    logger.info("notice %s delivered via %s", notice.pk, channel)
    return channel
