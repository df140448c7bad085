"""活跃用户: marks a signed-in person active once a day per channel (services.activity_record).

After the response, and only for an answered request (below 400): a page that failed is
not a visit. The marker kept in the session (or, for token calls that have no session, the
cache) makes every later request of the day cost nothing. Staff are not users of the
service: their days are not counted.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.utils import timezone

from tongban.accounts.selectors import is_staff_member
from tongban.appointments.middleware_kiosk import KIOSK_SESSION_KEY
from tongban.metrics.models import ActivityChannel, Audience
from tongban.metrics.services import activity_record

log = logging.getLogger(__name__)
SESSION_KEY = "tongban_active"
SKIPPED_PREFIXES = ("/static/", "/admin/", "/favicon.ico", "/api/v1/health")


def channel_of(request) -> str:
    if getattr(request, "connect_client_pk", None) is not None or request.headers.get(
        "Authorization", ""
    ).lower().startswith("bearer "):
        return ActivityChannel.MOBILE
    session = getattr(request, "session", None)
    if session is not None and session.get(KIOSK_SESSION_KEY):
        return ActivityChannel.KIOSK
    return ActivityChannel.WEB


def audience_of(request) -> str:
    """企业: pages and calls made in an enterprise's name (企业主页, its agents, its 一企一码)."""
    path = request.path
    if path.startswith(("/enterprise", "/api/v1/enterprise", "/api/v1/me/enterprise")):
        return Audience.ENTERPRISE
    return Audience.RESIDENT


class ActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 and not request.path.startswith(SKIPPED_PREFIXES):
            try:
                self._mark(request)
            except Exception:  # a counter must never turn an answered request into a 500
                log.exception("could not mark a person active")
        return response

    def _mark(self, request) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        day = timezone.localdate()
        channel, audience = channel_of(request), audience_of(request)
        marker = f"{day:%Y%m%d}:{channel}:{audience}"
        session = getattr(request, "session", None)
        if channel != ActivityChannel.MOBILE and session is not None:
            seen = session.get(SESSION_KEY) or []
            if marker in seen:
                return
            session[SESSION_KEY] = [m for m in seen if m.startswith(f"{day:%Y%m%d}:")] + [marker]
        elif not cache.add(f"tongban:active:{user.pk}:{marker}", 1, timeout=26 * 3600):
            return
        if is_staff_member(user):
            return
        activity_record(user_ids=[user.pk], channel=channel, audience=audience, day=day)
