"""企业授权管理 on 企业专属网页, and the invitee's answers on 市民主页.

The pages only parse and route: who may grant, revoke or accept, and what a grant may say,
are the accounts services' rules (the API calls the same ones).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import NEED_MANAGE, agent_service_choices, enterprise_authority
from tongban.accounts.services import (
    enterprise_agent_accept,
    enterprise_agent_decline,
    enterprise_agent_grant,
    enterprise_agent_resign,
    enterprise_agent_revoke,
)
from tongban.common.errors import DomainError

SCOPE_ALL, SCOPE_CHOSEN = "all", "chosen"


class AgentGrantForm(forms.Form):
    """授权经办人. The form checks only that the fields are there and well formed; the ID
    number, the name, the services and the date are the service's rules."""

    id_number = forms.CharField(
        label="被授权人身份证号码",
        max_length=18,
        help_text="18位居民身份证号码，最后一位如是X请输入X。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": "请输入被授权人的身份证号码"},
    )
    name = forms.CharField(
        label="被授权人姓名",
        max_length=30,
        help_text="与身份证上的姓名一致。对方登录后，在“市民主页”确认接受，授权才生效。",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "请输入被授权人的姓名"},
    )
    role = forms.ChoiceField(
        label="授权身份",
        choices=[
            (EnterpriseMembership.Role.AGENT, "经办人（按下面的范围办理）"),
            (EnterpriseMembership.Role.ADMINISTRATOR, "管理员（可办理全部业务，并管理经办人）"),
        ],
        initial=EnterpriseMembership.Role.AGENT,
        widget=forms.RadioSelect,
        required=False,
    )
    scope = forms.ChoiceField(
        label="可办理的事项",
        choices=[(SCOPE_ALL, "本企业的全部事项"), (SCOPE_CHOSEN, "只办理下面勾选的事项")],
        initial=SCOPE_ALL,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择可办理的事项"},
    )
    items = forms.MultipleChoiceField(
        label="勾选事项",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "所选事项不在本企业可办理的事项中，请重新选择"},
    )
    may_certificates = forms.BooleanField(label="可以查看和出示企业证照", required=False)
    may_idcode = forms.BooleanField(label="可以出示企业随申码（一企一码）", required=False)
    expires_on = forms.DateField(
        label="授权截止日期（含当天）",
        required=False,
        help_text="不填表示长期有效，直到撤销。",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请按“年-月-日”填写授权截止日期，例如2027-12-31"},
    )

    def __init__(self, *args, is_legal_rep: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = agent_service_choices()
        if not is_legal_rep:
            # Only the legal representative appoints administrators.
            del self.fields["role"]

    def clean(self):
        data = super().clean()
        if data.get("scope") == SCOPE_CHOSEN and not data.get("items") and not self.errors:
            self.add_error("items", "请至少勾选一项可办理的事项，或选择“本企业的全部事项”")
        return data


# Which field a service refusal is about, so the message stands next to it.
_ERROR_FIELDS = {
    "INVALID_ID_NUMBER": "id_number",
    "AGENT_GRANT_TO_SELF": "id_number",
    "AGENT_ALREADY_INVITED": "id_number",
    "AGENT_NAME_INVALID": "name",
    "AGENT_EXPIRY_INVALID": "expires_on",
    "AGENT_ITEMS_INVALID": "items",
    "AGENT_ROLE_INVALID": "role",
}


def grant_submit(request: HttpRequest, *, enterprise_id: int, is_legal_rep: bool):
    """Handle the grant form posted to 企业专属网页. Returns (form, status): a bound form with
    errors and its 4xx status, or (None, 302-worthy) after a grant."""
    form = AgentGrantForm(request.POST, is_legal_rep=is_legal_rep)
    if not form.is_valid():
        return form, 422
    data = form.cleaned_data
    chosen = data["scope"] == SCOPE_CHOSEN
    try:
        enterprise_agent_grant(
            actor=request.user,
            enterprise_id=enterprise_id,
            id_number=data["id_number"],
            name=data["name"],
            role=data.get("role") or EnterpriseMembership.Role.AGENT,
            items=data["items"] if chosen else [],
            may_certificates=data["may_certificates"],
            may_idcode=data["may_idcode"],
            expires_on=data["expires_on"],
        )
    except DomainError as exc:
        field = _ERROR_FIELDS.get(exc.code)
        if field is not None and field in form.fields:
            form.add_error(field, exc.message)
        else:
            form.add_error(None, exc.message)
        return form, exc.http_status
    messages.success(
        request,
        f"已向{data['name'][:1]}{'*' * (len(data['name']) - 1)}发出授权邀请，对方确认接受后生效。",
    )
    return None, 302


def _back_to_enterprise(enterprise_id: int) -> HttpResponse:
    return redirect(f"/enterprise/?enterprise={enterprise_id}#agents")


def _refused(request: HttpRequest, exc: DomainError, back: str) -> HttpResponse:
    """A refused action: the service's message, its 4xx status, and the way back."""
    context = {"message": exc.message, "back": back}
    return render(request, "portal/agent_refused.html", context, status=exc.http_status)


@require_POST
@login_required
def agent_grant_view(request: HttpRequest, enterprise_id: int) -> HttpResponse:
    """授权: the grant form of 企业专属网页. A refusal shows the page again with the form, its
    messages next to the fields, and the refusal's 4xx status."""
    from tongban.portal.views import CURRENT_ENTERPRISE_KEY, enterprise_page

    try:
        me = enterprise_authority(user=request.user, enterprise_id=enterprise_id, need=NEED_MANAGE)
    except EnterpriseNotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _refused(request, exc, f"/enterprise/?enterprise={enterprise_id}")
    request.session[CURRENT_ENTERPRISE_KEY] = enterprise_id
    form, status = grant_submit(
        request,
        enterprise_id=enterprise_id,
        is_legal_rep=me.role == EnterpriseMembership.Role.LEGAL_REPRESENTATIVE,
    )
    if form is None:
        return _back_to_enterprise(enterprise_id)
    return enterprise_page(request, grant_form=form, status=status)


@require_POST
@login_required
def agent_revoke_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    # The way back names no enterprise: a refused request learns nothing about the grant.
    back = "/enterprise/"
    try:
        membership = enterprise_agent_revoke(actor=request.user, membership_id=membership_id)
    except DomainError as exc:
        return _refused(request, exc, back)
    messages.success(request, "已撤销该授权，对方即刻不能再以本企业名义办理。")
    return _back_to_enterprise(membership.enterprise_id)


@require_POST
@login_required
def invitation_accept_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        membership = enterprise_agent_accept(user=request.user, membership_id=membership_id)
    except DomainError as exc:
        return _refused(request, exc, "/me/#agent-invitations")
    messages.success(request, f"已接受授权，现在可以为{membership.enterprise.name}办事。")
    return _back_to_enterprise(membership.enterprise_id)


@require_POST
@login_required
def invitation_decline_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        enterprise_agent_decline(user=request.user, membership_id=membership_id)
    except DomainError as exc:
        return _refused(request, exc, "/me/#agent-invitations")
    messages.success(request, "已拒绝该企业授权邀请。")
    return redirect("/me/")


@require_POST
@login_required
def authority_resign_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    try:
        enterprise_agent_resign(user=request.user, membership_id=membership_id)
    except DomainError as exc:
        return _refused(request, exc, "/enterprise/")
    messages.success(request, "您已放弃该企业的授权，不能再以该企业名义办理。")
    return redirect("/enterprise/")
