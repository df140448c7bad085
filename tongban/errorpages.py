"""Error answers for requests no view handled. API paths get the API's JSON shape, pages get a
Chinese page that says what happened and where to go next.

A database that cannot be reached (restarting, failing over, refusing connections) is a 503
with Retry-After, not a 500: the request was fine and will succeed once the database is back.
Django connections recover on their own (settings: CONN_HEALTH_CHECKS drops a connection that
broke while idle, and a connection that raised is closed at the end of its request), so no
process needs restarting."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from tongban.portal.context import portal_context

logger = logging.getLogger(__name__)

_TEXT = {
    400: ("BAD_REQUEST", "请求格式不正确"),
    403: ("PERMISSION_DENIED", "无权访问此页面"),
    404: ("NOT_FOUND", "未找到您要访问的页面或数据"),
    500: ("SERVER_ERROR", "系统暂时无法处理您的请求，请稍后再试"),
    503: ("SERVICE_UNAVAILABLE", "系统正在维护或暂时无法连接数据库，请稍后再试"),
}

# A database restart or fail-over takes seconds; clients that honour this come back after it.
DATABASE_RETRY_AFTER_SECONDS = 10

# Django wraps driver errors in its own classes; the driver's are listed for code that talks to
# psycopg directly. Both kinds mean "could not talk to the database", not "the query was wrong"
# (that is ProgrammingError/DataError/IntegrityError, still a 500 or the view's own answer).
# SQLite says OperationalError for a missing table too: an unmigrated SQLite database answers
# 503, which is also true (it is not ready), and the log line names the table.
DATABASE_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
try:
    import psycopg

    DATABASE_UNAVAILABLE_ERRORS += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover - psycopg is a dependency, but SQLite needs none
    pass

# Set on the request once its outage has been logged: a failed session load raises again in
# every middleware that reads request.user on the way out, and each one reaches handler500.
_LOGGED = "_tongban_database_unavailable_logged"


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from or while handling, is a failure to reach
    the database (a rollback that fails after a lost connection raises its own error)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def database_unavailable(request, exc: BaseException) -> HttpResponse:
    """503 + Retry-After, as JSON on API paths and as the error page elsewhere; logged once
    per request, without the trace (the driver's message says what failed; during an outage
    under load a trace per request would bury everything else in the log)."""
    if not getattr(request, _LOGGED, False):
        logger.warning(
            "database unavailable, answered 503 to %s %s: %s: %s",
            request.method,
            request.path,
            type(exc).__name__,
            " ".join(str(exc).split()),
        )
        setattr(request, _LOGGED, True)
    code, message = _TEXT[503]
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": code, "message": message},
            status=503,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        # Rendered without the request so no context processor runs: they read request.user,
        # the session and the message store, each a query that would fail again. The portal's
        # context is built for an anonymous visitor: the logged-out header, elder mode still
        # following its cookie.
        anonymous = SimpleNamespace(COOKIES=request.COOKIES, user=None)
        context = {
            **portal_context(anonymous),
            "request": request,
            "status": 503,
            "message": message,
        }
        response = HttpResponse(render_to_string("error.html", context), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    # Django's request logger would log this answer again (as an error, with the trace).
    response._has_been_logged = True
    return response


def _answer(request, status: int):
    code, message = _TEXT[status]
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": code, "message": message},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _answer(request, 400)


def permission_denied(request, exception=None):
    return _answer(request, 403)


def not_found(request, exception=None):
    return _answer(request, 404)


def server_error(request):
    # Django calls handler500 inside its `except`, so the exception is still at hand.
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return database_unavailable(request, exc)
    return _answer(request, 500)
