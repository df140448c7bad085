from __future__ import annotations

from django import template

from tongban.notifications.selectors import unread_count

register = template.Library()


@register.simple_tag
def unread_notice_count(user) -> int:
    """For the nav: one COUNT query, and none for anonymous visitors."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return unread_count(user=user)
