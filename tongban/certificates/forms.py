from __future__ import annotations

from django import forms

from tongban.certificates.api import MAX_BODY_TEXT


class VerifyForm(forms.Form):
    text = forms.CharField(
        label="证照文本",
        max_length=MAX_BODY_TEXT,
        help_text="扫描电子证照二维码所得的文本，以 TB1: 开头。",
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "autocomplete": "off",
                "spellcheck": "false",
                "aria-describedby": "id_text-help",
            }
        ),
    )
