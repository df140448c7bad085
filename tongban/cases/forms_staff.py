"""Forms of the staff pages. They only parse what a person typed; every rule (who may act,
which materials exist, deadlines after today) is the services' and comes back as a
DomainError that the view shows next to the form."""

from __future__ import annotations

from typing import Any

from django import forms

from tongban.cases.models import TaskStatus
from tongban.cases.services import REASON_MAX

DECISIONS = [
    (TaskStatus.APPROVED.value, "通过（准予）"),
    (TaskStatus.DENIED.value, "不通过（不予）"),
]
OVERDUE_FILTER = "overdue"
STATUS_FILTERS = [
    ("", "待认领和审核中"),
    # Not a task status: open tasks past their due date (the SLA breach list).
    (OVERDUE_FILTER, "已超期"),
    (TaskStatus.PENDING.value, TaskStatus.PENDING.label),
    (TaskStatus.CLAIMED.value, TaskStatus.CLAIMED.label),
    (TaskStatus.SUPPLEMENT_REQUESTED.value, TaskStatus.SUPPLEMENT_REQUESTED.label),
    (TaskStatus.WAITING.value, TaskStatus.WAITING.label),
    (TaskStatus.APPROVED.value, "已准予"),
    (TaskStatus.DENIED.value, "已不予"),
]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="内部备注（选填）",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea,
        help_text="仅工作人员可见，不告知申请人。",
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label="不予受理理由",
        max_length=REASON_MAX,
        widget=forms.Textarea,
        error_messages={"required": "请填写不予受理的理由"},
        help_text="申请人将看到这段理由。",
    )

    def __init__(self, *args, **kwargs):
        # Shown on the intake page beside the 受理 form, whose field is also `reason`: ids
        # of their own, so each label names its own box.
        kwargs.setdefault("auto_id", "refuse_%s")
        super().__init__(*args, **kwargs)


class SupplementForm(forms.Form):
    """补正: exactly which materials and fields, by when, and why. The choices are the case's
    own (or, for a reviewer, the item's own) materials and fields."""

    materials = forms.MultipleChoiceField(
        label="需补正的材料", required=False, widget=forms.CheckboxSelectMultiple
    )
    fields = forms.MultipleChoiceField(
        label="需补正的字段", required=False, widget=forms.CheckboxSelectMultiple
    )
    deadline = forms.DateField(
        label="补正期限",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="不填则为5个工作日后。",
        error_messages={"invalid": "请按 YYYY-MM-DD 填写日期"},
    )
    reason = forms.CharField(
        label="补正理由",
        max_length=REASON_MAX,
        widget=forms.Textarea,
        error_messages={"required": "请填写补正理由"},
    )

    def __init__(self, *args, materials: dict[str, str], fields: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["materials"].choices = list(materials.items())
        self.fields["fields"].choices = list(fields.items())

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("materials") and not data.get("fields"):
            raise forms.ValidationError("请至少选择一项需补正的材料或字段")
        return data


class TaskSupplementForm(SupplementForm):
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RowVersionForm(forms.Form):
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="审核决定",
        choices=DECISIONS,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择审核决定"},
    )
    reason = forms.CharField(
        label="理由",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea,
        help_text="不通过时必填，申请人将看到这段理由；通过时为内部备注，仅工作人员可见。",
    )
    # The version the reviewer saw: a form left open while someone else acted is refused.
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, produces: list[dict[str, Any]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        # Data this item creates for the items after it; the service validates the values.
        for p in produces:
            self.fields[f"produced.{p['code']}"] = forms.CharField(
                label=p["label"],
                required=False,
                max_length=200,
                help_text=(
                    "准予办理时必填：本事项办结后产生，同一件事的后续事项直接使用。"
                    + (
                        "已按出生日期、性别和户口所在区编制一个尚未使用的号码，请核对后登记，也可修改。"
                        if p.get("suggested")
                        else ""
                    )
                ),
            )

    def clean(self):
        data = super().clean()
        if data.get("decision") == TaskStatus.DENIED and not (data.get("reason") or "").strip():
            self.add_error("reason", "不通过时请填写理由")
        return data


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(label="状态", required=False, choices=STATUS_FILTERS)
    item = forms.ChoiceField(label="事项", required=False)
    due_before = forms.DateField(
        label="办理期限不晚于",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请按 YYYY-MM-DD 填写日期"},
    )

    def __init__(self, *args, items: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "全部事项"), *items]


class ResidentLookupForm(forms.Form):
    id_number = forms.CharField(
        label="居民身份证号码",
        max_length=18,
        min_length=18,
        help_text="18位，最后一位可为 X。核对群众出示的身份证原件后输入。",
        error_messages={
            "required": "请输入居民身份证号码",
            "min_length": "身份证号码应为18位",
            "max_length": "身份证号码应为18位",
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )


class ResidentRegisterForm(ResidentLookupForm):
    """A walk-in resident with no 一人一档 yet: the clerk types what the ID card and the
    person say; the service checks it and opens the profile."""

    name = forms.CharField(
        label="姓名",
        max_length=60,
        help_text="与身份证一致。",
        error_messages={"required": "请填写姓名"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label="联系电话",
        max_length=20,
        help_text="11位手机号码或带区号的固定电话，用于通知办理结果。",
        error_messages={"required": "请填写联系电话"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )


class HandOutForm(forms.Form):
    note = forms.CharField(
        label="出件说明",
        required=False,
        max_length=200,
        help_text="窗口领取：领取人（本人或受托人）；邮寄送达：快递单号（必填）。",
    )
