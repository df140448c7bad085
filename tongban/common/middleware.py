from __future__ import annotations


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: a strict Content-Security-Policy and a
    Permissions-Policy. Pages use no inline script, so 'self' is enough; that includes the API
    docs, whose Swagger UI is served from ninja's static files and reads its settings from a
    JSON data block."""

    CSP = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), geolocation=(), microphone=(), payment=()"
        )
        return response


class PrivateResponsesMiddleware:
    """`Cache-Control: no-store, private` on every answer to a logged-in person or to a caller
    with credentials (a scanner's API key), unless the view chose its own caching.

    Such answers carry personal data (档案, 办件, 证照, 随申码); a shared or browser cache must not
    keep them for the next user of a hall kiosk or a family tablet. One rule here instead of a
    decorator on each view, so a new page is covered without anyone remembering. Static files
    never get here: WhiteNoise answers them earlier in the chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response.headers and self._personal(request):
            response.headers["Cache-Control"] = "no-store, private"
        return response

    @staticmethod
    def _personal(request) -> bool:
        from django.conf import settings

        if "HTTP_AUTHORIZATION" in request.META:
            return True
        # Without a session cookie nobody is logged in: no session load, no Vary: Cookie.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return False
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated


class RefuseNulInputMiddleware:
    """Refuse input that carries a NUL character, before any view or query sees it.

    No name, code or answer legitimately holds one, SQLite would store it silently and
    PostgreSQL refuses it in the middle of a query (a 500). Checking once here covers every
    page and endpoint. Binary uploads (multipart) are not inspected: files may hold any byte.

    The check is on what the view will read, after decoding: `%00` in a query string or a
    form body is a NUL, `\\u0000` in a JSON string is a NUL, but the three characters `%00`
    inside a JSON string are just text (Base45 certificate texts contain them).
    """

    TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            return self._refuse(request)
        return self.get_response(request)

    def _carries_nul(self, request) -> bool:
        if "\x00" in request.path:  # already percent-decoded
            return True
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in query or ("%00" in query and _form_carries_nul(query)):
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method not in {"POST", "PUT", "PATCH"} or not content_type.startswith(
            self.TEXT_BODIES
        ):
            return False
        body = request.body
        if b"\x00" in body:
            return True
        if content_type.startswith("application/json"):
            # Only an escape can spell NUL in valid JSON; decode to tell `\u0000` from `\\u0000`.
            return b"\\u0000" in body and _json_carries_nul(body)
        if content_type.startswith("application/x-www-form-urlencoded"):
            return b"%00" in body and _form_carries_nul(body.decode("latin-1"))
        return False

    def _refuse(self, request):
        from django.http import JsonResponse
        from django.shortcuts import render

        message = "输入中含有不允许的控制字符，请删除后重新提交"
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": "INVALID_CHARACTERS", "message": message},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "error.html", {"status": 400, "message": message}, status=400)


def _form_carries_nul(encoded: str) -> bool:
    """Whether a percent-encoded query or form body decodes to a name or value holding NUL."""
    from urllib.parse import parse_qsl

    pairs = parse_qsl(encoded, keep_blank_values=True, encoding="latin-1")
    return any("\x00" in name or "\x00" in value for name, value in pairs)


def _json_carries_nul(body: bytes) -> bool:
    """Whether any string (key or value) of a JSON body holds NUL. A body that is not JSON is
    left to the view, which refuses it with its own code."""
    import json

    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    pending = [data]
    while pending:  # iterative: a deeply nested body must not exhaust the stack here
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
