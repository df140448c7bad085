"""The 亲友代办 grant form, for the resident online and for the counter clerk. Only shapes
input: every rule (ID number, dates, scope) is the service's."""

from __future__ import annotations

from django import forms

ALL = "all"
CHOSEN = "chosen"


def scope_choices() -> list[tuple[str, str]]:
    from tongban.catalog.selectors import bundle_list, item_list

    bundles = [(b.code, f"一件事：{b.name}") for b in bundle_list(subject="person")]
    items = [(i.code, i.name) for i in item_list(subject="person")]
    return bundles + items


class DelegationGrantForm(forms.Form):
    agent_name = forms.CharField(
        label="代办人姓名",
        max_length=60,
        error_messages={"required": "请填写代办人姓名"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    agent_id_number = forms.CharField(
        label="代办人身份证号码",
        max_length=18,
        help_text="18位，最后一位可为 X。对方登录后会看到您的邀请，确认后生效。",
        error_messages={"required": "请填写代办人身份证号码"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    valid_until = forms.DateField(
        label="授权截止日期",
        help_text="最长3年。到期后自动失效，可随时提前撤销。",
        error_messages={"required": "请选择授权截止日期", "invalid": "请按 年-月-日 填写日期"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    scope = forms.ChoiceField(
        label="可代办的事项",
        choices=[(ALL, "全部事项"), (CHOSEN, "只限下面勾选的事项")],
        initial=ALL,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择可代办的事项"},
    )
    items = forms.MultipleChoiceField(
        label="勾选可代办的事项",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "所选事项不存在，请重新选择"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = scope_choices()

    def clean(self):
        data = super().clean()
        if data.get("scope") == CHOSEN and not data.get("items"):
            self.add_error("items", "请至少勾选一项，或选择“全部事项”")
        return data

    def service_items(self) -> list[str]:
        data = self.cleaned_data
        return [] if data.get("scope") == ALL else list(data.get("items") or [])

    def add_service_errors(self, details: list[dict]) -> None:
        for d in details:
            field = d.get("field")
            if field in self.fields and field in self.errors:
                continue  # the form named this field's problem already
            self.add_error(field if field in self.fields else None, d.get("message", ""))

    def raw(self, name: str) -> str:
        return str(self.data.get(name, ""))
