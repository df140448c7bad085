from __future__ import annotations


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: a strict Content-Security-Policy and a
    Permissions-Policy. Pages use no inline script, so 'self' is enough."""

    CSP = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The API docs page loads its own assets; keep the policy off that one page only.
        if not request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy", self.CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(self), geolocation=(), microphone=(), payment=()"
        )
        return response


class RefuseNulInputMiddleware:
    """Refuse input that carries a NUL character, before any view or query sees it.

    No name, code or answer legitimately holds one, SQLite would store it silently and
    PostgreSQL refuses it in the middle of a query (a 500). Checking once here covers every
    page and endpoint. Binary uploads (multipart) are not inspected: files may hold any byte.
    """

    TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            return self._refuse(request)
        return self.get_response(request)

    def _carries_nul(self, request) -> bool:
        if "\x00" in request.path:
            return True
        if "%00" in request.META.get("QUERY_STRING", "").lower() or "\x00" in request.META.get(
            "QUERY_STRING", ""
        ):
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method in {"POST", "PUT", "PATCH"} and content_type.startswith(self.TEXT_BODIES):
            body = request.body.lower()
            if b"\x00" in body or b"\\u0000" in body:
                return True
            # "%00" is a NUL only in a urlencoded body; elsewhere it is three characters that
            # real text holds (Base45 certificate texts use "%" and "0").
            return content_type.startswith("application/x-www-form-urlencoded") and b"%00" in body
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
