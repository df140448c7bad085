from __future__ import annotations

from django import forms

from tongban.passkeys.services import NAME_MAX_LENGTH


class PasskeyNameForm(forms.Form):
    # Length and characters are checked by the service (one rule, one message); the form only
    # labels the field and requires it.
    name = forms.CharField(
        label="通行密钥名称",
        max_length=NAME_MAX_LENGTH * 2,
        help_text="起一个您认得出的名字，例如：我的手机、家里的电脑。",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "请为通行密钥起一个名称"},
    )


class PasskeyRemoveForm(forms.Form):
    password = forms.CharField(
        label="登录密码",
        strip=False,
        help_text="为保护您的账户，删除通行密钥前请再输入一次登录密码。",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "请输入登录密码"},
    )
