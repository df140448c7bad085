"""Forms of the 行政协助 pages: they parse what a person typed; the rules are the services'."""

from __future__ import annotations

from django import forms

from tongban.assistance.services import (
    ANSWER_MAX,
    DUE_DAYS_DEFAULT,
    DUE_DAYS_MAX,
    DUE_DAYS_MIN,
    QUESTION_MAX,
    WITHDRAW_REASON_MAX,
)
from tongban.cases.services import MAX_UPLOAD_BYTES


class RequestForm(forms.Form):
    target_department = forms.ChoiceField(
        label="协助部门", error_messages={"required": "请选择协助部门"}
    )
    subject_role = forms.ChoiceField(
        label="协助对象",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择协助对象"},
        help_text="只能选择本办件中的人员或企业。",
    )
    question = forms.CharField(
        label="协助事项",
        max_length=QUESTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "请填写需要协助核实的事项"},
        help_text=f"写明需要核实什么，不超过{QUESTION_MAX}字。申请人看不到这段内容。",
    )
    material_codes = forms.MultipleChoiceField(
        label="代替的材料（选填）",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    due_days = forms.IntegerField(
        label="答复时限（工作日）",
        min_value=DUE_DAYS_MIN,
        max_value=DUE_DAYS_MAX,
        initial=DUE_DAYS_DEFAULT,
        error_messages={
            "required": "请填写答复时限",
            "invalid": "请填写整数",
            "min_value": f"至少{DUE_DAYS_MIN}个工作日",
            "max_value": f"最多{DUE_DAYS_MAX}个工作日",
        },
    )

    def __init__(self, *args, departments, subjects, materials, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_department"].choices = [("", "请选择"), *departments]
        self.fields["subject_role"].choices = subjects
        self.fields["material_codes"].choices = materials
        if not materials:
            del self.fields["material_codes"]


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label="答复意见",
        max_length=ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "请填写答复意见"},
        help_text=f"不超过{ANSWER_MAX}字。答复将作为该办件的审查依据。",
    )
    file = forms.FileField(
        label="答复文件（选填）",
        required=False,
        help_text="PDF、JPG或PNG，不超过10MB。",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def clean_file(self):
        f = self.cleaned_data.get("file")
        if f and f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("文件超过10MB，请压缩后上传")
        return f


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="撤回理由（选填）",
        required=False,
        max_length=WITHDRAW_REASON_MAX,
        widget=forms.TextInput,
    )
