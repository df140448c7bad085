from __future__ import annotations

from django.db.models import QuerySet

from tongban.notifications.message_templates import templates
from tongban.notifications.models import Channel, Group, Notice, NoticePreference


def notices_for(*, user, unread_only: bool = False, group: str = "") -> QuerySet[Notice]:
    """The user's own notices, newest first. Anonymous users have none."""
    if not getattr(user, "is_authenticated", False):
        return Notice.objects.none()
    notices = Notice.objects.filter(recipient=user)
    if unread_only:
        notices = notices.filter(read_at__isnull=True)
    if group:
        notices = notices.filter(group=group)
    return notices


def unread_count(*, user) -> int:
    """One COUNT on the (recipient, read_at) index: cheap enough for every page's nav."""
    return notices_for(user=user, unread_only=True).count()


# Defaults when a user has made no choice: email for everything (it only goes out when the
# account has an address), SMS only for 办件进度 — an SMS costs the city money and interrupts,
# so it is kept for what a person must act on. Mandatory templates ignore these for the
# channels they require (see templates.yaml `required`).
DEFAULT_PREFERENCES = {
    Group.CASE: {Channel.EMAIL: True, Channel.SMS: True},
    Group.CERTIFICATE: {Channel.EMAIL: True, Channel.SMS: False},
    Group.REVIEW: {Channel.EMAIL: True, Channel.SMS: False},
    Group.POLICY: {Channel.EMAIL: True, Channel.SMS: False},
    Group.SYSTEM: {Channel.EMAIL: True, Channel.SMS: False},
}


def preferences_for(*, user) -> dict[str, dict[str, bool]]:
    """{group: {channel: on}} for every group and channel, defaults filled in."""
    prefs = {
        str(g): {str(c): on for c, on in chans.items()} for g, chans in DEFAULT_PREFERENCES.items()
    }
    for group, channel, enabled in NoticePreference.objects.filter(user=user).values_list(
        "group", "channel", "enabled"
    ):
        if group in prefs and channel in prefs[group]:
            prefs[group][channel] = enabled
    return prefs


def mandatory_templates() -> list[dict]:
    """The templates that ignore opt-outs, and on which channels: shown on the settings page."""
    return [
        {"code": t.code, "name": t.name, "group": t.group, "required": list(t.required)}
        for t in templates().values()
        if t.mandatory
    ]
