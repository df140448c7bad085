from __future__ import annotations

from django.db.models import QuerySet

from tongban.notifications.models import Notice


def notices_for(*, user, unread_only: bool = False) -> QuerySet[Notice]:
    """The user's own notices, newest first. Anonymous users have none."""
    if not getattr(user, "is_authenticated", False):
        return Notice.objects.none()
    notices = Notice.objects.filter(recipient=user)
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    return notices


def unread_count(*, user) -> int:
    """One COUNT on the (recipient, read_at) index: cheap enough for every page's nav."""
    return notices_for(user=user, unread_only=True).count()
