from __future__ import annotations

from django import forms

from tongban.catalog.models import Department
from tongban.connect.models import ClientKind
from tongban.connect.scopes import SCOPES
from tongban.connect.services import SERVICE_ROLES


class ClientRegisterForm(forms.Form):
    name = forms.CharField(label="应用名称", max_length=100)
    kind = forms.ChoiceField(label="应用类型", choices=ClientKind.choices, widget=forms.RadioSelect)
    confidential = forms.TypedChoiceField(
        label="客户端类别",
        choices=[
            ("1", "机密客户端：在服务器上运行，能保管密钥（政务网站、部门系统）"),
            ("0", "公开客户端：手机应用，不能保管密钥，必须使用 PKCE"),
        ],
        coerce=lambda v: v == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label="回调地址",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="登录后跳回的完整网址，每行一个，须完全一致；部门系统不填。",
    )
    post_logout_redirect_uris = forms.CharField(
        label="退出后跳回的地址",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="可不填；每行一个。",
    )
    scopes = forms.MultipleChoiceField(
        label="允许的权限范围",
        choices=[(code, f"{label}（{code}）") for code, label in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    legal_basis = forms.CharField(
        label="调用身份证号码的法律依据",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="申请“身份证号码”时必填：写明法律、法规或规章的名称和条款。",
    )
    department = forms.ModelChoiceField(
        label="部门系统所属部门",
        required=False,
        queryset=Department.objects.order_by("code"),
        empty_label="（部门系统必选）",
    )
    service_roles = forms.MultipleChoiceField(
        label="部门系统的岗位",
        required=False,
        choices=[(r.value, r.label) for r in SERVICE_ROLES],
        widget=forms.CheckboxSelectMultiple,
        help_text="部门系统以系统账户身份办理，只能做这些岗位的工作人员能做的事。",
    )
