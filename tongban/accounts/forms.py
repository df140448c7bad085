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


class ActivationForm(forms.Form):
    """账号激活: what the resident types from the counter's printed slip, and a new password."""

    id_number = forms.CharField(
        label="身份证号码",
        max_length=18,
        help_text="18位居民身份证号码，最后一位如是X请输入X。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": "请输入身份证号码"},
    )
    code = forms.CharField(
        label="账号激活码",
        max_length=20,
        help_text="综合窗口交给您的回执上的8位激活码，字母和数字，不区分大小写。",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
        error_messages={"required": "请输入账号激活码"},
    )
    username = forms.CharField(
        label="用户名（可不填）",
        max_length=150,
        required=False,
        help_text="以后登录用的名字，可用字母、数字和 @ . + - _。不填则沿用回执上的用户名。",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password1 = forms.CharField(
        label="新密码",
        strip=False,
        help_text="至少8位，不要全是数字，不要使用生日、电话等容易被猜到的内容。",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "请设置新密码"},
    )
    password2 = forms.CharField(
        label="再次输入新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "请再次输入新密码"},
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "两次输入的密码不一致")
        return data
