"""授权数据使用 pages, for a resident (/me/consents/) and for an enterprise's 法定代表人 or
管理员 (/enterprise/<id>/consents/): the consents, each one's reads, a new consent (form,
then a confirmation with the password), and revocation. Rules live in services/selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tongban.accounts.errors import EnterpriseNotFound
from tongban.common.errors import DomainError
from tongban.consents import selectors, services
from tongban.consents.errors import ConsentInvalid, ConsentNotFound
from tongban.consents.forms import ConsentForm


def _holder(request: HttpRequest, enterprise_id: int | None):
    """The holder, or the page that says why not (404 for an enterprise one is no member
    of, 403 for an 经办人 or an account without a resident profile)."""
    try:
        return selectors.consent_holder(user=request.user, enterprise_id=enterprise_id), None
    except EnterpriseNotFound as exc:
        return None, render(request, "portal/forbidden.html", {"message": exc.message}, status=404)
    except DomainError as exc:
        return None, render(request, "portal/forbidden.html", {"message": exc.message}, status=403)


def _urls(enterprise_id: int | None) -> dict[str, str]:
    base = f"/enterprise/{enterprise_id}/consents/" if enterprise_id else "/me/consents/"
    return {
        "base": base,
        "new": f"{base}new/",
        "home": f"/enterprise/?enterprise={enterprise_id}" if enterprise_id else "/me/",
        "home_label": "企业主页" if enterprise_id else "我的主页",
    }


def _page(request, holder, enterprise_id, form=None, status=200) -> HttpResponse:
    institutions = selectors.active_institutions()
    context = {
        "holder": holder,
        "is_enterprise": holder.kind == selectors.ENTERPRISE,
        "urls": _urls(enterprise_id),
        "consents": selectors.consents_of(holder=holder),
        "form": form or ConsentForm(holder_kind=holder.kind, institutions=institutions),
    }
    return render(request, "consents/consents.html", context, status=status)


@login_required
@require_GET
def consents_view(request: HttpRequest, enterprise_id: int | None = None) -> HttpResponse:
    holder, refused = _holder(request, enterprise_id)
    if refused:
        return refused
    return _page(request, holder, enterprise_id)


@login_required
@require_POST
def consent_new_view(request: HttpRequest, enterprise_id: int | None = None) -> HttpResponse:
    """Two steps on one URL: the filled form is checked and shown back for confirmation;
    only the confirmation (with the password re-entered) grants."""
    holder, refused = _holder(request, enterprise_id)
    if refused:
        return refused
    institutions = selectors.active_institutions()
    form = ConsentForm(request.POST, holder_kind=holder.kind, institutions=institutions)
    if not form.is_valid():
        form.add_service_errors(_problems(holder, form))
        return _page(request, holder, enterprise_id, form, status=422)
    data = form.cleaned_data
    problems = services.consent_problems(
        holder=holder,
        institution_id=data["institution"],
        elements=data["elements"],
        purpose=data["purpose"],
        valid_until=data["valid_until"],
    )
    if problems:
        form.add_service_errors(problems)
        return _page(request, holder, enterprise_id, form, status=422)
    confirm_error = ""
    if request.POST.get("step") == "confirm":
        user = request.user
        if user.has_usable_password() and not user.check_password(request.POST.get("password", "")):
            confirm_error = "密码不正确，请重新输入您的登录密码"
        else:
            try:
                services.consent_grant(
                    user=user,
                    holder=holder,
                    institution_id=int(data["institution"]),
                    elements=data["elements"],
                    purpose=data["purpose"],
                    valid_until=data["valid_until"],
                )
            except ConsentInvalid as exc:
                form.add_service_errors(exc.details)
                return _page(request, holder, enterprise_id, form, status=422)
            messages.success(
                request, "授权已生效。机构每次查询都会记录在下方，您可以随时撤销授权。"
            )
            return redirect(_urls(enterprise_id)["base"])
    institution = next(i for i in institutions if str(i.pk) == data["institution"])
    context = {
        "holder": holder,
        "is_enterprise": holder.kind == selectors.ENTERPRISE,
        "urls": _urls(enterprise_id),
        "form": form,
        "institution": institution,
        "elements": selectors.element_labels(list(data["elements"])),
        "purpose": data["purpose"],
        "valid_until": data["valid_until"],
        "needs_password": request.user.has_usable_password(),
        "confirm_error": confirm_error,
    }
    return render(request, "consents/confirm.html", context, status=422 if confirm_error else 200)


def _problems(holder, form: ConsentForm) -> list[dict]:
    """Every problem at once: the service's about the values the form could read."""
    return services.consent_problems(
        holder=holder,
        institution_id=form.data.get("institution", ""),
        elements=form.data.getlist("elements"),
        purpose=form.data.get("purpose", ""),
        valid_until=form.data.get("valid_until", ""),
    )


@login_required
@require_POST
def consent_revoke_view(
    request: HttpRequest, consent_id: int, enterprise_id: int | None = None
) -> HttpResponse:
    holder, refused = _holder(request, enterprise_id)
    if refused:
        return refused
    try:
        consent = services.consent_revoke(user=request.user, holder=holder, consent_id=consent_id)
    except ConsentNotFound as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=404)
    messages.success(
        request, f"已撤销对{consent.institution.name}的授权，即刻生效：该机构不能再查询。"
    )
    return redirect(_urls(enterprise_id)["base"])
