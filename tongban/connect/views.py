"""接入管理 pages: the OIDC consent page, the resident's 已授权的网站/应用, and the city
administrator's client register. Thin: the services and selectors hold the rules."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.views import AuthorizationView, RPInitiatedLogoutView

from tongban.common.errors import DomainError
from tongban.common.middleware import SecurityHeadersMiddleware
from tongban.connect import selectors, services
from tongban.connect.forms import ClientRegisterForm
from tongban.connect.scopes import LEGAL_BASIS_SCOPES
from tongban.portal.views import forbidden


def _allow_form_redirect(response, uri: str | None):
    """The consent and logout forms answer with a redirect to the site that asked, and
    browsers hold that redirect to the page's `form-action`: widen it to that site's origin
    (a URI the library has already checked against the registration), nothing more."""
    parts = urlsplit(uri or "")
    if parts.scheme in ("http", "https") and parts.netloc and hasattr(response, "headers"):
        origin = f"{parts.scheme}://{parts.netloc}"
        response.headers["Content-Security-Policy"] = SecurityHeadersMiddleware.CSP.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    return response


class AuthorizeView(AuthorizationView):
    """统一身份认证 — the consent page. Shown the first time a site asks, and again only if
    it asks for more than the resident allowed; `prompt=consent` asks again in any case."""

    template_name = "oauth2_provider/authorize.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        application = context.get("application")
        client = selectors.client_of(application) if application is not None else None
        if client is not None:
            scopes = context.get("scopes") or []
            context["client"] = client
            context["scope_items"] = selectors.scope_labels(scopes)
            context["legal_basis"] = client.legal_basis if set(scopes) & LEGAL_BASIS_SCOPES else ""
        return context

    def render_to_response(self, context, **response_kwargs):
        if self._consent_given(context):
            # Same path as pressing 同意 on the page: DOT builds and redirects with the code.
            form = self.get_form_class()(data={**self.get_initial(), "allow": "on"})
            if form.is_valid():
                return super().form_valid(form)
        if self._silent(context):
            # prompt=none and consent still to give: the site is told so, nothing is shown
            # (OpenID Connect Core 1.0 §3.1.2.6). The redirect URI was checked already.
            query = {"error": "consent_required"}
            if context.get("state"):
                query["state"] = context["state"]
            return self.redirect(
                f"{context['redirect_uri']}?{urlencode(query)}", context["application"]
            )
        response = super().render_to_response(context, **response_kwargs)
        if not context.get("error"):
            _allow_form_redirect(response, context.get("redirect_uri"))
        return response

    def _silent(self, context) -> bool:
        return (
            self.request.method == "GET"
            and not context.get("error")
            and "form" in context
            and "none" in self.request.GET.get("prompt", "").split()
        )

    def _consent_given(self, context) -> bool:
        if self.request.method != "GET" or context.get("error") or "form" not in context:
            return False
        if "consent" in self.request.GET.get("prompt", "").split():
            return False
        application = context.get("application")
        return application is not None and (
            selectors.consent_covering(
                user=self.request.user, application=application, scopes=context.get("scopes", [])
            )
            is not None
        )

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.cleaned_data.get("allow") and getattr(self, "success_url", None):
            client = selectors.client_of(_application_for(form.cleaned_data.get("client_id", "")))
            if client is not None:
                services.consent_grant(
                    user=self.request.user,
                    client=client,
                    scopes=form.cleaned_data.get("scope", "").split(),
                )
        return response


def _application_for(client_id: str):
    from oauth2_provider.models import get_application_model

    return get_application_model().objects.filter(client_id=client_id).first()


class LogoutView(RPInitiatedLogoutView):
    """退出登录 asked for by a connected site (OIDC RP-initiated logout), confirmed in Chinese."""

    template_name = "oauth2_provider/logout_confirm.html"

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if not context.get("error") and context.get("application") is not None:
            _allow_form_redirect(response, self.request.GET.get("post_logout_redirect_uri"))
        return response


@require_GET
@login_required
def consents_view(request: HttpRequest) -> HttpResponse:
    """已授权的网站/应用 — where the resident sees and withdraws the sites they allowed."""
    return render(
        request, "connect/consents.html", {"consents": selectors.consents_for(user=request.user)}
    )


@require_POST
@login_required
def consent_withdraw_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    try:
        consent = services.consent_withdraw(actor=request.user, consent_id=consent_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"已撤销对「{consent.client.application.name}」的授权，它不能再获取您的信息。"
        )
    return redirect("connect:consents")


def _staff_gate(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    if not selectors.may_view_clients(request.user):
        return forbidden(request, "接入管理仅限系统管理员和城市运营人员使用。")
    return None


@require_GET
def clients_view(request: HttpRequest) -> HttpResponse:
    """接入管理 — the registered clients and their activity over the last 30 days."""
    if (denied := _staff_gate(request)) is not None:
        return denied
    context = {
        "clients": selectors.clients_for(viewer=request.user),
        "may_manage": selectors.may_manage_clients(request.user),
    }
    return render(request, "connect/clients.html", context)


@require_http_methods(["GET", "POST"])
def client_register_view(request: HttpRequest) -> HttpResponse:
    if (denied := _staff_gate(request)) is not None:
        return denied
    if not selectors.may_manage_clients(request.user):
        return forbidden(request, "只有系统管理员可以登记接入应用。")
    form = ClientRegisterForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registered = services.client_register(
                actor=request.user,
                name=data["name"],
                kind=data["kind"],
                confidential=data["confidential"],
                redirect_uris=data["redirect_uris"],
                post_logout_redirect_uris=data["post_logout_redirect_uris"],
                scopes=data["scopes"],
                legal_basis=data["legal_basis"],
                department=data["department"],
                service_roles=data["service_roles"],
            )
        except DomainError as exc:
            error = exc.message
        else:
            return _show_secret(request, registered, fresh=True)
    return render(
        request,
        "connect/client_register.html",
        {"form": form, "error": error},
        status=422 if error else 200,
    )


def _show_secret(request: HttpRequest, registered, *, fresh: bool) -> HttpResponse:
    # Rendered once, straight from the POST: the secret is stored hashed and never shown again.
    context = {
        "client": selectors.client_for(viewer=request.user, client_pk=registered.client.pk),
        "client_id": registered.client_id,
        "client_secret": registered.client_secret,
        "fresh": fresh,
    }
    return render(request, "connect/client_secret.html", context)


@require_GET
def client_view(request: HttpRequest, client_pk: int) -> HttpResponse:
    if (denied := _staff_gate(request)) is not None:
        return denied
    try:
        client = selectors.client_for(viewer=request.user, client_pk=client_pk)
    except DomainError as exc:
        return render(
            request, "portal/forbidden.html", {"message": exc.message}, status=exc.http_status
        )
    context = {"client": client, "may_manage": selectors.may_manage_clients(request.user)}
    return render(request, "connect/client.html", context)


@require_POST
def client_rotate_view(request: HttpRequest, client_pk: int) -> HttpResponse:
    if (denied := _staff_gate(request)) is not None:
        return denied
    try:
        registered = services.client_rotate_secret(actor=request.user, client_pk=client_pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("connect:client", client_pk=client_pk)
    return _show_secret(request, registered, fresh=False)


@require_POST
def client_disable_view(request: HttpRequest, client_pk: int) -> HttpResponse:
    if (denied := _staff_gate(request)) is not None:
        return denied
    try:
        client = services.client_disable(actor=request.user, client_pk=client_pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已停用「{client.application.name}」，其令牌已全部失效。")
    return redirect("connect:client", client_pk=client_pk)
