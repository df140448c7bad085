from __future__ import annotations

from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        error_messages={"required": "请输入用户名"},
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "请输入密码"},
    )


class TotpCodeForm(forms.Form):
    # Format is checked by the service (one message for one rule); the form only requires it.
    code = forms.CharField(
        label="6位动态验证码",
        max_length=12,
        help_text="打开手机上的身份验证器查看；验证码每30秒更新一次，每个只能使用一次。",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
            }
        ),
        error_messages={"required": "请输入6位动态验证码"},
    )
