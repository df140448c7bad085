"""Kiosk sessions (24小时自助终端): the server-side idle limit, on every request.

A browser enrolled as a kiosk carries the kiosk cookie. On such a browser any session that
holds something (a resident logged in by scanning, a staff member re-enrolling, an anonymous
walk-in's ticket) ends after `TONGBAN_KIOSK_IDLE_SECONDS` without activity: the session is
flushed and the next page is the kiosk's start page, so the next person at the terminal sees
nothing of the last one. The page's countdown (kiosk.js) is a courtesy; this is the rule.

Only what a person does counts as activity: a page opened, a form sent, 继续使用. A page's
own background fetches (status polling) do not keep a session alive. A resident's pages from
the rest of the portal get the countdown bar's script added, so the countdown is visible
wherever they go on the terminal.
"""

from __future__ import annotations

import time

from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.templatetags.static import static

KIOSK_COOKIE = "tongban_kiosk"
# {"point": id, "key_hash": ...} on a session started by scanning at a terminal.
KIOSK_SESSION_KEY = "tongban_kiosk"
# When the person last did something on this kiosk session (epoch seconds).
KIOSK_SEEN_KEY = "tongban_kiosk_seen"
KIOSK_HOME = "/kiosk/"
KEEPALIVE_PATH = "/kiosk/keepalive/"


def clock() -> float:
    return time.time()


def _is_activity(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return True
    mode = request.META.get("HTTP_SEC_FETCH_MODE")
    return mode is None or mode == "navigate"


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or request.path == KEEPALIVE_PATH


class KioskSessionMiddleware:
    """After the authentication and message middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.COOKIES.get(KIOSK_COOKIE)
        if not key:
            return self.get_response(request)
        from tongban.appointments.services.kiosk import idle_seconds

        ended = self._end_if_stale(request, key, idle_seconds())
        if ended:
            if _wants_json(request):
                return JsonResponse(
                    {"code": "KIOSK_SESSION_ENDED", "message": "长时间未操作，已自动退出。"},
                    status=401,
                    json_dumps_params={"ensure_ascii": False},
                )
            return HttpResponseRedirect(f"{KIOSK_HOME}?ended={ended}")
        if request.path == "/" and request.method == "GET" and not request.user.is_authenticated:
            # The portal's start page is the terminal's start page (e.g. after 退出登录).
            return HttpResponseRedirect(KIOSK_HOME)
        response = self.get_response(request)
        session = request.session
        user = getattr(request, "user", None)
        holds = (user is not None and user.is_authenticated) or bool(
            set(session.keys()) - {KIOSK_SEEN_KEY}
        )
        if holds and (_is_activity(request) or KIOSK_SEEN_KEY not in session):
            session[KIOSK_SEEN_KEY] = int(clock())
        if user is not None and user.is_authenticated:
            self._add_countdown(request, response)
        return response

    @staticmethod
    def _end_if_stale(request, key: str, limit: int) -> str:
        """Flush the session if idle too long ("idle") or if it was started on another
        terminal or under a key since replaced ("moved"); "" when it goes on."""
        session = request.session
        seen = session.get(KIOSK_SEEN_KEY)
        flagged = session.get(KIOSK_SESSION_KEY)
        reason = ""
        if seen is not None and clock() - seen > limit:
            reason = "idle"
        elif isinstance(flagged, dict):
            from tongban.appointments.selectors.kiosk import kiosk_key_hash

            if flagged.get("key_hash") != kiosk_key_hash(key):
                reason = "moved"
        if not reason:
            return ""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from tongban.appointments.models import ServicePoint
            from tongban.appointments.services.kiosk import kiosk_session_end

            point_id = flagged.get("point") if isinstance(flagged, dict) else None
            point = ServicePoint.objects.filter(pk=point_id).first() if point_id else None
            kiosk_session_end(
                point=point, user=user, reason=reason, ip_address=request.META.get("REMOTE_ADDR")
            )
            logout(request)
        else:
            session.flush()
        return reason

    @staticmethod
    def _add_countdown(request, response) -> None:
        """The countdown bar on the rest of the portal's pages (the kiosk's own pages carry
        it already): one script tag before </body>, which builds the bar itself."""
        if getattr(response, "streaming", False) or response.status_code != 200:
            return
        if not response.get("Content-Type", "").startswith("text/html"):
            return
        content = response.content
        if b"data-kiosk-idle" in content or b"</body>" not in content:
            return
        from tongban.appointments.services.kiosk import idle_seconds

        tag = (
            f'<script src="{static("appointments/kiosk.js")}" defer data-kiosk-idle="'
            f'{idle_seconds()}" data-kiosk-bar="1"></script>'
        ).encode()
        css = f'<link rel="stylesheet" href="{static("appointments/kiosk_bar.css")}">'.encode()
        content = content.replace(b"</head>", css + b"</head>", 1)
        response.content = content.replace(b"</body>", tag + b"</body>", 1)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
