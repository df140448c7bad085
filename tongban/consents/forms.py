"""The consent form of 授权数据使用. Only shapes input: every rule is the service's."""

from __future__ import annotations

import datetime as dt

from django import forms

from tongban.consents.selectors import consentable_elements, today


class ConsentForm(forms.Form):
    institution = forms.ChoiceField(
        label="授权给哪家机构",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择授权使用机构", "invalid_choice": "请选择授权使用机构"},
    )
    elements = forms.MultipleChoiceField(
        label="允许机构查询的数据",
        help_text="只勾选办理业务需要的数据。机构只能查询您勾选的这些数据。",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "请至少勾选一项授权查询的数据",
            "invalid_choice": "所选数据项不可授权查询，请重新选择",
        },
    )
    purpose = forms.CharField(
        label="使用目的",
        max_length=200,
        help_text="例如：申请信易贷贷款。机构每次查询都会按此目的记录。",
        error_messages={"required": "请写明使用目的，例如：申请信易贷贷款"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    valid_until = forms.DateField(
        label="授权截止日期",
        help_text="最长一年。到期后自动失效，也可以随时撤销。",
        error_messages={"required": "请选择授权截止日期", "invalid": "请按 年-月-日 填写日期"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, holder_kind: str, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].choices = [
            (str(i.pk), f"{i.name}（{i.get_kind_display()}）") for i in institutions
        ]
        self.fields["elements"].choices = [
            (e.code, f"{e.label}（{e.source_name}）")
            for e in consentable_elements(holder_kind=holder_kind)
        ]
        if not self.is_bound:
            self.initial.setdefault("valid_until", today() + dt.timedelta(days=90))

    def add_service_errors(self, details: list[dict]) -> None:
        for d in details:
            field = d.get("field")
            if field in self.fields and field in self.errors:
                continue
            self.add_error(field if field in self.fields else None, d.get("message", ""))
