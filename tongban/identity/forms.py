from __future__ import annotations

from django import forms

_CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}


class RegisterStartForm(forms.Form):
    """注册第一步: who the person is, and the mobile the code goes to."""

    name = forms.CharField(
        label="姓名",
        max_length=60,
        help_text="与身份证上的姓名一致。",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "请输入姓名"},
    )
    id_number = forms.CharField(
        label="身份证号码",
        max_length=18,
        help_text="18位居民身份证号码，最后一位如是X请输入X。",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
        error_messages={"required": "请输入身份证号码"},
    )
    mobile = forms.CharField(
        label="手机号码",
        max_length=20,
        help_text="用于接收验证码，今后找回密码也发送到这个号码。",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "请输入手机号码"},
    )


class _NewPasswordMixin(forms.Form):
    password1 = forms.CharField(
        label="设置密码",
        strip=False,
        help_text="至少8位，不要全是数字，不要使用生日、电话等容易被猜到的内容。",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "请设置密码"},
    )
    password2 = forms.CharField(
        label="再次输入密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "请再次输入密码"},
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "两次输入的密码不一致")
        return data


class RegisterCompleteForm(_NewPasswordMixin):
    code = forms.CharField(
        label="短信验证码",
        max_length=12,
        help_text="短信中的6位数字，10分钟内有效。",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
        error_messages={"required": "请输入短信验证码"},
    )
    username = forms.CharField(
        label="用户名",
        max_length=150,
        help_text="以后登录用的名字，可用字母、数字和 @ . + - _。",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        error_messages={"required": "请设置用户名"},
    )
    field_order = ["code", "username", "password1", "password2"]


class ResetStartForm(forms.Form):
    identifier = forms.CharField(
        label="用户名、身份证号码或手机号码",
        max_length=150,
        help_text="填写其中任意一项即可。",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        error_messages={"required": "请输入用户名、身份证号码或手机号码"},
    )


class ResetCompleteForm(_NewPasswordMixin):
    code = forms.CharField(
        label="短信验证码",
        max_length=12,
        help_text="发送到账户已验证手机号的6位数字，10分钟内有效。",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
        error_messages={"required": "请输入短信验证码"},
    )
    field_order = ["code", "password1", "password2"]


class DemoSmsLookupForm(forms.Form):
    mobile = forms.CharField(
        label="手机号码",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "请输入手机号码"},
    )


class VerifyStartForm(forms.Form):
    mobile = forms.CharField(
        label="手机号码",
        max_length=20,
        help_text="本人使用的手机号码，用于接收验证码，今后找回密码也发送到这个号码。",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "请输入手机号码"},
    )


class VerifyCompleteForm(forms.Form):
    code = forms.CharField(
        label="短信验证码",
        max_length=12,
        help_text="短信中的6位数字，10分钟内有效。",
        widget=forms.TextInput(attrs=_CODE_ATTRS),
        error_messages={"required": "请输入短信验证码"},
    )
