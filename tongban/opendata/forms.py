from __future__ import annotations

from django import forms


class DeveloperForm(forms.Form):
    app_name = forms.CharField(
        label="应用名称",
        max_length=100,
        help_text="使用开放数据的网站、应用或研究项目的名称。",
    )
    purpose = forms.CharField(
        label="用途说明",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="用这些数据做什么，不超过500字。",
    )
    contact_email = forms.EmailField(
        label="联系邮箱",
        max_length=200,
        help_text="接口变更或密钥出现异常时，平台通过此邮箱联系您；不对外公开。",
        error_messages={"invalid": "请填写有效的联系邮箱"},
    )
