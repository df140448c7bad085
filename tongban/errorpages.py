"""Error answers for requests no view handled. API paths get the API's JSON shape, pages get a
Chinese page that says what happened and where to go next."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

_TEXT = {
    400: ("BAD_REQUEST", "请求格式不正确"),
    403: ("PERMISSION_DENIED", "无权访问此页面"),
    404: ("NOT_FOUND", "未找到您要访问的页面或数据"),
    500: ("SERVER_ERROR", "系统暂时无法处理您的请求，请稍后再试"),
}


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
    return _answer(request, 500)
