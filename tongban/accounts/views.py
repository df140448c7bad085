"""Login (password, then TOTP if enabled), logout, TOTP enrolment and 账号激活 pages."""

from __future__ import annotations

import base64
import io
import time

import segno
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tongban.accounts.errors import (
    ActivationInvalid,
    ActivationThrottled,
    InvalidCredentials,
    LoginThrottled,
    TotpAlreadyEnabled,
    TotpCodeMalformed,
    TotpInvalid,
    TotpNotEnrolled,
    TotpReplayed,
)
from tongban.accounts.forms import ActivationForm, LoginForm, TotpCodeForm
from tongban.accounts.http import client_ip, safe_next
from tongban.accounts.models import User
from tongban.accounts.selectors import is_staff_member
from tongban.accounts.services import (
    account_activate,
    login_attempt_record,
    login_password_step,
    login_totp_step,
    totp_enrol_begin,
    totp_enrol_confirm,
    totp_provisioning_uri,
    user_set_elder_mode,
)
from tongban.common.errors import DomainError, InvalidInput
from tongban.passkeys.selectors import user_has_passkey
from tongban.portal.context import ELDER_COOKIE

# Between the password and the code the session holds only "who passed step one, when" —
# never a logged-in user — and for a few minutes only.
PENDING_LOGIN_KEY = "tongban_pending_login"
PENDING_LOGIN_SECONDS = 300


def _with_retry_after(response: HttpResponse, seconds: int | None) -> HttpResponse:
    # The page says how long to wait in words; the header says it to browsers and scripts,
    # as the API does with its 429s.
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def landing_url_for(user: User) -> str:
    return "/staff/" if is_staff_member(user) else "/me/"


def _finish_login(request: HttpRequest, user: User, next_url: str, backend: str | None):
    login(request, user, backend=backend)
    login_attempt_record(
        username=user.get_username(), ip_address=client_ip(request), succeeded=True, user=user
    )
    # 长者版 chosen before logging in is carried into the account, so it follows the person
    # to other devices. Only "on" is carried: turning large text off is never urgent.
    if request.COOKIES.get(ELDER_COOKIE) == "1" and not user.elder_mode:
        user_set_elder_mode(actor=user, user=user, enabled=True)
    return redirect(safe_next(request, next_url, landing_url_for(user)))


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(safe_next(request, next_url, landing_url_for(request.user)))
    form = LoginForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    retry_after = None
    if request.method == "POST" and form.is_valid():
        try:
            user = login_password_step(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                ip_address=client_ip(request),
            )
        except (LoginThrottled, InvalidCredentials) as exc:
            error, status = exc.message, exc.http_status
            retry_after = getattr(exc, "retry_after_seconds", None)
        else:
            backend = getattr(user, "backend", None)
            # A passkey (通行密钥) is a second factor like TOTP; with both, the passkey page
            # comes first and links to the code page.
            has_passkey = user_has_passkey(user=user)
            if user.totp_enabled or has_passkey:
                request.session[PENDING_LOGIN_KEY] = {
                    "user_id": user.pk,
                    "at": int(time.time()),
                    "next": next_url,
                    "backend": backend,
                }
                return redirect("passkeys:login" if has_passkey else "accounts:login_code")
            return _finish_login(request, user, next_url, backend)
    elif request.method == "POST":
        status = 400
    context = {"form": form, "error": error, "next": next_url}
    return _with_retry_after(
        render(request, "accounts/login.html", context, status=status), retry_after
    )


def _pending_user(request: HttpRequest) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING_LOGIN_KEY) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None, {}
    user = User.objects.filter(pk=pending.get("user_id"), is_active=True).first()
    return user, pending


@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_LOGIN_KEY, None)
        messages.info(request, "登录已超时，请重新输入用户名和密码")
        return redirect("accounts:login")
    if not user.totp_enabled:  # pending for a passkey only: there is no code to type
        return redirect("passkeys:login")
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    retry_after = None
    if request.method == "POST" and form.is_valid():
        try:
            login_totp_step(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except (LoginThrottled, TotpInvalid, TotpReplayed, TotpCodeMalformed) as exc:
            error, status = exc.message, exc.http_status
            retry_after = getattr(exc, "retry_after_seconds", None)
        else:
            request.session.pop(PENDING_LOGIN_KEY, None)
            return _finish_login(request, user, pending.get("next", ""), pending.get("backend"))
    elif request.method == "POST":
        status = 400
    context = {"form": form, "error": error, "has_passkey": user_has_passkey(user=user)}
    response = render(request, "accounts/login_code.html", context, status=status)
    return _with_retry_after(response, retry_after)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/")


def _qr_data_uri(text: str) -> str:
    # SVG in a data: URI is allowed by the CSP (img-src data:) where an inline <svg> with
    # styling or a script-drawn QR would not be.
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer, kind="svg", scale=5, border=3, xmldecl=False, title="双因素认证二维码"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    """双因素认证设置: begin (POST) → scan and type a code (POST confirm) → enabled."""
    user: User = request.user
    form = TotpCodeForm(request.POST if request.POST.get("action") == "confirm" else None)
    error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "begin":
                totp_enrol_begin(user=user)
                return redirect("accounts:totp_setup")
            if action == "confirm" and form.is_valid():
                totp_enrol_confirm(user=user, code=form.cleaned_data["code"])
                messages.success(request, "双因素认证已启用。今后登录时需要输入动态验证码。")
                return redirect(landing_url_for(user))
            status = 400
        except TotpAlreadyEnabled:
            return redirect("accounts:totp_setup")
        except (TotpNotEnrolled, TotpInvalid, TotpReplayed, TotpCodeMalformed) as exc:
            error, status = exc.message, exc.http_status
            status = 400 if status == 401 else status
    context = {"form": form, "error": error, "enabled": user.totp_enabled, "pending": False}
    if not user.totp_enabled and user.totp_secret:
        uri = totp_provisioning_uri(user=user, secret=user.totp_secret)
        context.update(
            pending=True, secret=_grouped(user.totp_secret), qr_data_uri=_qr_data_uri(uri)
        )
    return render(request, "accounts/totp_setup.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def activate_view(request: HttpRequest) -> HttpResponse:
    """账号激活 (public): a resident whose account was opened at the counter sets their own
    password with the code printed for them, then is logged in."""
    form = ActivationForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    retry_after = None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = account_activate(
                    id_number=data["id_number"],
                    code=data["code"],
                    username=data["username"],
                    password=data["password1"],
                    ip_address=client_ip(request),
                )
            except (ActivationInvalid, ActivationThrottled) as exc:
                error, status = exc.message, exc.http_status
                retry_after = getattr(exc, "retry_after_seconds", None)
            except InvalidInput as exc:  # weak password, bad username: told at the field
                field = "password1" if exc.details else "username"
                for detail in exc.details or [{"message": exc.message}]:
                    form.add_error(field, detail["message"])
                status = 422
            except DomainError as exc:  # e.g. USERNAME_TAKEN
                form.add_error("username", exc.message)
                status = exc.http_status
            else:
                messages.success(request, "账号激活成功，已为您登录。请牢记用户名和密码。")
                backend = "django.contrib.auth.backends.ModelBackend"
                return _finish_login(request, user, "", backend)
        else:
            status = 422
    response = render(
        request, "accounts/activate.html", {"form": form, "error": error}, status=status
    )
    return _with_retry_after(response, retry_after)
