"""注册 (with 实名认证), 找回密码 and 示例短信 pages. Each step calls one service; the session
carries only which challenge the second step answers, and for a few minutes."""

from __future__ import annotations

import contextlib
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tongban.accounts.http import client_ip
from tongban.accounts.services import login_attempt_record
from tongban.accounts.validators import mask_phone
from tongban.common.errors import DomainError, InvalidInput
from tongban.identity.forms import (
    DemoSmsLookupForm,
    RegisterCompleteForm,
    RegisterStartForm,
    ResetCompleteForm,
    ResetStartForm,
    VerifyCompleteForm,
    VerifyStartForm,
)
from tongban.identity.selectors import demo_sms_for, mobile_hash, mobile_normalise
from tongban.identity.services import (
    CODE_TTL,
    assurance_raise_complete,
    assurance_raise_start,
    password_reset_complete,
    password_reset_start,
    registration_complete,
    registration_start,
)
from tongban.identity.sms import demo_outbox_enabled

REGISTER_KEY = "identity_register"
VERIFY_KEY = "identity_verify"
RESET_KEY = "identity_reset"
DEMO_SMS_KEY = "identity_demo_sms"
PENDING_SECONDS = int(CODE_TTL.total_seconds())

# Which form field a refusal belongs to; anything else is shown at the top of the form.
_FIELD_OF = {
    "NAME_REQUIRED": "name",
    "NAME_INVALID": "name",
    "INVALID_ID_NUMBER": "id_number",
    "MOBILE_INVALID": "mobile",
    "USERNAME_REQUIRED": "username",
    "USERNAME_INVALID": "username",
    "USERNAME_TAKEN": "username",
    "PASSWORD_TOO_WEAK": "password1",
    "SMS_CODE_INVALID": "code",
    "RESET_IDENTIFIER_REQUIRED": "identifier",
    "RESET_IDENTIFIER_INVALID": "identifier",
}


def _refusal(form, exc: DomainError) -> str:
    """Put EXC on its field when the form has one; return the message for the top otherwise."""
    field = _FIELD_OF.get(exc.code)
    if field in form.fields:
        for detail in exc.details or [{"message": exc.message}]:
            form.add_error(field, detail["message"])
        return ""
    return exc.message


def _respond(request, template, context, status, exc: DomainError | None = None):
    response = render(request, template, context, status=status)
    seconds = getattr(exc, "retry_after_seconds", None)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def _remember_demo_mobile(request: HttpRequest, number: str) -> None:
    # The 示例短信 page shows what was sent to the mobiles this browser typed, as if it were
    # the phone: nothing for other numbers unless the visitor types them there.
    if not demo_outbox_enabled() or not number:
        return
    known = [h for h in request.session.get(DEMO_SMS_KEY, []) if h != mobile_hash(number)]
    request.session[DEMO_SMS_KEY] = [mobile_hash(number), *known][:5]


def _pending(request: HttpRequest, key: str) -> dict:
    """The code step's state in the session; a stale one is dropped, so the person starts over."""
    pending = request.session.get(key) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(key, None)
        return {}
    return pending


def _code_page_context(form, pending: dict, error: str) -> dict:
    return {
        "form": form,
        "error": error,
        "mobile_masked": pending.get("mobile", ""),
        "demo_sms": demo_outbox_enabled(),
    }


# ---------------------------------------------------------------- 注册


@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("/me/")
    form = RegisterStartForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                challenge = registration_start(
                    name=data["name"],
                    id_number=data["id_number"],
                    mobile=data["mobile"],
                    ip_address=client_ip(request),
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                number = mobile_normalise(data["mobile"])
                request.session[REGISTER_KEY] = {
                    "challenge": challenge.pk,
                    "mobile": mask_phone(number),
                    "at": int(time.time()),
                }
                _remember_demo_mobile(request, number)
                return redirect("identity:register_code")
        else:
            status = 422
    return _respond(request, "identity/register.html", {"form": form, "error": error}, status, exc)


@never_cache
@require_http_methods(["GET", "POST"])
def register_code_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request, REGISTER_KEY)
    if not pending:
        messages.info(request, "验证码已过期或尚未获取，请重新填写并获取验证码")
        return redirect("identity:register")
    form = RegisterCompleteForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = registration_complete(
                    challenge_id=pending.get("challenge"),
                    code=data["code"],
                    username=data["username"],
                    password=data["password1"],
                    ip_address=client_ip(request),
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                request.session.pop(REGISTER_KEY, None)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                login_attempt_record(
                    username=user.get_username(),
                    ip_address=client_ip(request),
                    succeeded=True,
                    user=user,
                )
                messages.success(
                    request, "注册成功，已完成实名核验并为您登录。请牢记用户名和密码。"
                )
                return redirect("/me/")
        else:
            status = 422
    context = _code_page_context(form, pending, error)
    return _respond(request, "identity/register_code.html", context, status, exc)


# ---------------------------------------------------------------- 找回密码


@never_cache
@require_http_methods(["GET", "POST"])
def reset_view(request: HttpRequest) -> HttpResponse:
    form = ResetStartForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            identifier = form.cleaned_data["identifier"]
            try:
                challenge = password_reset_start(
                    identifier=identifier, ip_address=client_ip(request)
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                request.session[RESET_KEY] = {"challenge": challenge.pk, "at": int(time.time())}
                with contextlib.suppress(InvalidInput):
                    _remember_demo_mobile(request, mobile_normalise(identifier))
                return redirect("identity:reset_code")
        else:
            status = 422
    return _respond(request, "identity/reset.html", {"form": form, "error": error}, status, exc)


@never_cache
@require_http_methods(["GET", "POST"])
def reset_code_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request, RESET_KEY)
    if not pending:
        messages.info(request, "验证码已过期或尚未获取，请重新填写并获取验证码")
        return redirect("identity:reset")
    form = ResetCompleteForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                password_reset_complete(
                    challenge_id=pending.get("challenge"),
                    code=data["code"],
                    password=data["password1"],
                    ip_address=client_ip(request),
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                request.session.pop(RESET_KEY, None)
                messages.success(
                    request, "密码已重新设置，所有已登录的设备均已退出。请用新密码登录。"
                )
                return redirect("accounts:login")
        else:
            status = 422
    context = _code_page_context(form, pending, error)
    return _respond(request, "identity/reset_code.html", context, status, exc)


# ---------------------------------------------------------------- 在线实名核验


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """实名核验 for a logged-in account below 已实名核验: the profile is checked, the mobile
    confirmed by a code."""
    form = VerifyStartForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            try:
                challenge = assurance_raise_start(
                    user=request.user,
                    mobile=form.cleaned_data["mobile"],
                    ip_address=client_ip(request),
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                number = mobile_normalise(form.cleaned_data["mobile"])
                request.session[VERIFY_KEY] = {
                    "challenge": challenge.pk,
                    "mobile": mask_phone(number),
                    "at": int(time.time()),
                }
                _remember_demo_mobile(request, number)
                return redirect("identity:verify_code")
        else:
            status = 422
    context = {"form": form, "error": error}
    return _respond(request, "identity/verify.html", context, status, exc)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_code_view(request: HttpRequest) -> HttpResponse:
    pending = _pending(request, VERIFY_KEY)
    if not pending:
        messages.info(request, "验证码已过期或尚未获取，请重新获取")
        return redirect("identity:verify")
    form = VerifyCompleteForm(request.POST if request.method == "POST" else None)
    error, status, exc = "", 200, None
    if request.method == "POST":
        if form.is_valid():
            try:
                assurance_raise_complete(
                    user=request.user,
                    challenge_id=pending.get("challenge"),
                    code=form.cleaned_data["code"],
                    ip_address=client_ip(request),
                )
            except DomainError as caught:
                exc, status = caught, caught.http_status
                error = _refusal(form, caught)
            else:
                request.session.pop(VERIFY_KEY, None)
                messages.success(request, "实名核验已完成，您的账户已达到“已实名核验”等级。")
                return redirect("/me/")
        else:
            status = 422
    context = _code_page_context(form, pending, error)
    return _respond(request, "identity/verify_code.html", context, status, exc)


# ---------------------------------------------------------------- 示例短信


@never_cache
@require_http_methods(["GET", "POST"])
def demo_sms_view(request: HttpRequest) -> HttpResponse:
    """示例短信: in the demo city only, what the SMS outbox sent to the mobiles this browser
    typed (registration, reset by mobile), to the logged-in person's own phone, and to a
    number typed here — the phone a demo visitor does not have."""
    if not demo_outbox_enabled():
        raise Http404("未找到该页面")
    hashes = list(request.session.get(DEMO_SMS_KEY, []))
    form = DemoSmsLookupForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _remember_demo_mobile(request, mobile_normalise(form.cleaned_data["mobile"]))
            except InvalidInput as exc:
                form.add_error("mobile", exc.message)
                status = 422
            else:
                return redirect("identity:demo_sms")
        else:
            status = 422
    sent = demo_sms_for(mobile_hashes=hashes, user=request.user)
    context = {"form": form, "messages_sent": sent}
    return render(request, "identity/demo_sms.html", context, status=status)
