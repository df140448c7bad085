from __future__ import annotations

from functools import cached_property

ELDER_COOKIE = "tongban_elder"


def elder_mode_on(request) -> bool:
    """长者版 persists in a cookie for everyone, and on the account for people who log in."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.elder_mode:
        return True
    return request.COOKIES.get(ELDER_COOKIE) == "1"


class NavUnread:
    """The nav's unread notice count: counted only if the page shows it, at most once per
    request (one COUNT on the notices' (recipient, read_at) index)."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def count(self) -> int:
        if not getattr(self.user, "is_authenticated", False):
            return 0
        from tongban.notifications.selectors import unread_count

        return unread_count(user=self.user)


class NavEnterprise:
    """Whether the nav offers 企业主页: only to someone holding a live enterprise authority
    (a revoked, expired or unanswered one leads nowhere). Asked only if the page shows it."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def shown(self) -> bool:
        if not getattr(self.user, "is_authenticated", False):
            return False
        from tongban.accounts.selectors import live_memberships

        return live_memberships().filter(user=self.user).exists()


def portal_context(request) -> dict:
    return {
        "elder_mode": elder_mode_on(request),
        "site_name": "一网通办（示例城市）",
        "nav_unread": NavUnread(getattr(request, "user", None)),
        "nav_enterprise": NavEnterprise(getattr(request, "user", None)),
    }
