"""通行密钥 pages: manage one's passkeys, and the passkey step of a login.

The ceremonies need the browser's WebAuthn API, so the pages carry a small script of our own
(static/passkeys/passkeys.js) that fetches options from, and posts answers to, the JSON
endpoints here. Each endpoint is a thin call of a service; errors come back as
{"code", "message"} with the error's status, and the page shows the message.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.accounts.http import client_ip
from tongban.accounts.selectors import is_staff_member
from tongban.accounts.views import PENDING_LOGIN_KEY, _finish_login, _pending_user
from tongban.common.errors import DomainError, InvalidInput
from tongban.passkeys.errors import PasskeyNotFound, PasskeyUnavailableHere
from tongban.passkeys.forms import PasskeyNameForm, PasskeyRemoveForm
from tongban.passkeys.models import Passkey
from tongban.passkeys.relying_party import RelyingParty, relying_party_for
from tongban.passkeys.selectors import passkey_list_for, user_has_passkey
from tongban.passkeys.services import (
    login_passkey_step,
    passkey_login_begin,
    passkey_name_clean,
    passkey_register,
    passkey_registration_begin,
    passkey_remove_by_owner,
)

# Chinese messages as characters, not \u escapes: easier to read in a browser's tools.
_JSON = {"ensure_ascii": False}


def _rp(request: HttpRequest) -> RelyingParty:
    return relying_party_for(host=request.get_host(), secure=request.is_secure())


def _rp_available(request: HttpRequest) -> bool:
    try:
        _rp(request)
    except PasskeyUnavailableHere:
        return False
    return True


def _localhost_url(request: HttpRequest, path: str | None = None) -> str:
    """On a developer's machine opened as http://127.0.0.1:8000 (what `make run` prints), the
    page at localhost instead, where passkeys work; empty anywhere else."""
    if settings.TONGBAN_WEBAUTHN_RP_ID:
        return ""
    parts = urlsplit("//" + request.get_host())
    if parts.hostname not in {"127.0.0.1", "::1"}:
        return ""
    scheme = "https" if request.is_secure() else "http"
    port = f":{parts.port}" if parts.port else ""
    return f"{scheme}://localhost{port}{path or request.get_full_path()}"


def _error(exc: DomainError) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=exc.http_status, json_dumps_params=_JSON)
    seconds = getattr(exc, "retry_after_seconds", None)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("提交的内容格式不正确，请刷新页面后重试") from exc
    if not isinstance(body, dict):
        raise InvalidInput("提交的内容格式不正确，请刷新页面后重试")
    return body


# --- manage ---------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def manage_view(request: HttpRequest) -> HttpResponse:
    """通行密钥管理: what a passkey is, the person's passkeys, add one."""
    user = request.user
    context = {
        "passkeys": passkey_list_for(user=user),
        "form": PasskeyNameForm(),
        "available": _rp_available(request),
        "localhost_url": _localhost_url(request),
        "is_staff": is_staff_member(user),
        "totp_enabled": user.totp_enabled,
    }
    return render(request, "passkeys/manage.html", context)


@never_cache
@login_required
@require_POST
def register_options_view(request: HttpRequest) -> JsonResponse:
    try:
        passkey_name_clean(request.POST.get("name"))
        options = passkey_registration_begin(
            user=request.user, rp=_rp(request), store=request.session
        )
    except DomainError as exc:
        return _error(exc)
    return JsonResponse(options)


@never_cache
@login_required
@require_POST
def register_view(request: HttpRequest) -> JsonResponse:
    try:
        body = _json_body(request)
        passkey = passkey_register(
            user=request.user,
            name=body.get("name") if isinstance(body.get("name"), str) else "",
            credential=body.get("credential") or {},
            rp=_rp(request),
            store=request.session,
            ip_address=client_ip(request),
        )
    except DomainError as exc:
        return _error(exc)
    messages.success(
        request, f"已添加通行密钥“{passkey.name}”。下次登录输入密码后，可用它确认身份。"
    )
    return JsonResponse({"redirect": "/accounts/passkeys/"})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def remove_view(request: HttpRequest, passkey_id: int) -> HttpResponse:
    """删除通行密钥, after the password is typed again."""
    passkey = Passkey.objects.filter(pk=passkey_id, user=request.user).first()
    if passkey is None:
        # Someone else's passkey looks exactly like one that does not exist.
        context = {"status": 404, "message": PasskeyNotFound.message}
        return render(request, "error.html", context, status=404)
    form = PasskeyRemoveForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    retry_after = None
    if request.method == "POST":
        if form.is_valid():
            try:
                passkey_remove_by_owner(
                    user=request.user,
                    passkey_id=passkey.pk,
                    password=form.cleaned_data["password"],
                    ip_address=client_ip(request),
                )
            except DomainError as exc:
                error, status = exc.message, exc.http_status
                retry_after = getattr(exc, "retry_after_seconds", None)
            else:
                messages.success(request, f"已删除通行密钥“{passkey.name}”。")
                return redirect("passkeys:manage")
        else:
            status = 400
    context = {"passkey": passkey, "form": form, "error": error, "last_one": _is_last(passkey)}
    response = render(request, "passkeys/remove.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _is_last(passkey: Passkey) -> bool:
    return not Passkey.objects.filter(user_id=passkey.user_id).exclude(pk=passkey.pk).exists()


# --- login ----------------------------------------------------------------------------------


def _login_expired(request: HttpRequest) -> None:
    request.session.pop(PENDING_LOGIN_KEY, None)
    messages.info(request, "登录已超时，请重新输入用户名和密码")


@never_cache
@require_GET
def login_view(request: HttpRequest) -> HttpResponse:
    """Second step of a login with a passkey."""
    user, _ = _pending_user(request)
    if user is None:
        _login_expired(request)
        return redirect("accounts:login")
    if not user_has_passkey(user=user):
        return redirect("accounts:login_code" if user.totp_enabled else "accounts:login")
    context = {
        "totp_enabled": user.totp_enabled,
        "is_staff": is_staff_member(user),
        "available": _rp_available(request),
        # The pending login lives in this host's session: at localhost it starts again.
        "localhost_url": _localhost_url(request, "/accounts/login/"),
    }
    return render(request, "passkeys/login.html", context)


@never_cache
@require_POST
def login_options_view(request: HttpRequest) -> JsonResponse:
    user, _ = _pending_user(request)
    if user is None:
        _login_expired(request)
        return JsonResponse(_EXPIRED, status=401)
    try:
        options = passkey_login_begin(user=user, rp=_rp(request), store=request.session)
    except DomainError as exc:
        return _error(exc)
    return JsonResponse(options)


_EXPIRED = {
    "code": "LOGIN_EXPIRED",
    "message": "登录已超时，请重新输入用户名和密码",
    "redirect": "/accounts/login/",
}


@never_cache
@require_POST
def login_verify_view(request: HttpRequest) -> JsonResponse:
    user, pending = _pending_user(request)
    if user is None:
        _login_expired(request)
        return JsonResponse(_EXPIRED, status=401)
    try:
        body = _json_body(request)
        login_passkey_step(
            user=user,
            credential=body.get("credential") or {},
            rp=_rp(request),
            store=request.session,
            ip_address=client_ip(request),
        )
    except DomainError as exc:
        return _error(exc)
    request.session.pop(PENDING_LOGIN_KEY, None)
    response = _finish_login(request, user, pending.get("next", ""), pending.get("backend"))
    return JsonResponse({"redirect": response.url})
