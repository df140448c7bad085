"""Rows of the case engine: 办件, its event log, department tasks, materials, drafts, 补正."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models

from tongban.common.fields import EncryptedTextField


class CaseKind(models.TextChoices):
    BUNDLE = "bundle", "一件事"
    ITEM = "item", "单个事项"


class CaseStatus(models.TextChoices):
    SUBMITTED = "submitted", "已提交，待受理"
    SUPPLEMENT_REQUESTED = "supplement_requested", "待补正"
    REFUSED = "refused", "不予受理"
    ACCEPTED = "accepted", "已受理，办理中"
    CONCLUDED = "concluded", "已办结"
    ARCHIVED = "archived", "已归档"


class CaseOutcome(models.TextChoices):
    APPROVED = "approved", "准予办理"
    PARTLY_APPROVED = "partly_approved", "部分准予"
    DENIED = "denied", "不予办理"


class Channel(models.TextChoices):
    ONLINE = "online", "网上申请"
    COUNTER = "counter", "综合窗口"
    # Opened and concluded by the platform itself for a policy's 免申即享 grant; never a
    # channel anyone applies through (case_submit refuses it).
    AUTOMATIC = "auto", "免申即享"


class Delivery(models.TextChoices):
    ONLINE = "online", "网上领取"
    COUNTER = "counter", "窗口领取"
    POST = "post", "邮寄送达"


class FormDataMixin:
    """The applicant's answers as a dict, kept as encrypted JSON text in `form_data_text`."""

    form_data_text: str

    @property
    def form_data(self) -> dict[str, Any]:
        return json.loads(self.form_data_text) if self.form_data_text else {}

    @form_data.setter
    def form_data(self, value: dict[str, Any]) -> None:
        self.form_data_text = json.dumps(value, ensure_ascii=False, sort_keys=True)


class Application(FormDataMixin, models.Model):
    """办件 — one application, for a 一件事 (bundle) or a single 事项 (item).

    `status` is denormalised from the CaseEvent log for indexed queries; every service that
    changes it appends the event in the same transaction (see `status_from_events`).
    """

    receipt_no = models.CharField("受理编号", max_length=13, unique=True)
    kind = models.CharField(max_length=6, choices=CaseKind.choices)
    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField("定义版本")
    name = models.CharField("名称", max_length=80)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications"
    )
    applicant_profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.ONLINE)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # 帮办: the counter clerk who filed it for the applicant
    # 帮办: the hall it was filed at; its clerks accept it and its windows hand it out.
    hall = models.ForeignKey(
        "appointments.Hall", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The window that served the filing (the clerk's signed-in window): 好差评's 三对应.
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 亲友代办: the relative who filed it for the applicant, and the authorisation they used.
    # The applicant stays the 被代办人 (their case, in their 我的办件).
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_acted_for",
    )
    delegation = models.ForeignKey(
        "delegation.Delegation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    lead_department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=24, choices=CaseStatus.choices)
    outcome = models.CharField(max_length=16, choices=CaseOutcome.choices, blank=True)
    answers = models.JSONField(default=dict)
    # The guide's result at submission: items (department, after, promised days), materials
    # and fields. Acceptance and review read this, not today's definitions.
    plan = models.JSONField(default=dict)
    form_data_text = EncryptedTextField(default="", blank=True, context="cases.form_data")
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.ONLINE)
    idempotency_key = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)
    # 重复申请: a keyed hash of the service and whom it is for (the person or enterprise the
    # form is about, else the applicant). Two open cases with the same key are duplicates.
    subject_key = models.CharField(max_length=64, blank=True, default="")
    promised_date = models.DateField("承诺办结日期", null=True, blank=True)
    submitted_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    # 统一窗口出件: results delivered at the counter or by post are handed out by a person.
    handed_out_at = models.DateTimeField(null=True, blank=True)
    handed_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handout_note = models.CharField("出件说明", max_length=200, blank=True)  # tracking no., who
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"], name="case_one_per_idempotency_key"
            )
        ]
        indexes = [
            # 我的办件: newest first per applicant, and per enterprise.
            models.Index(fields=["applicant", "-submitted_at"], name="case_applicant_recent"),
            models.Index(fields=["enterprise", "-submitted_at"], name="case_enterprise_recent"),
            # Intake queue of a lead department.
            models.Index(fields=["lead_department", "status"], name="case_lead_status"),
            # 出件队列: a hall's concluded cases, oldest first.
            models.Index(fields=["status", "hall", "concluded_at"], name="case_handout_queue"),
            # 重复申请: open cases for the same person and service.
            models.Index(fields=["subject_key", "status"], name="case_subject_open"),
            # 服务指标: a day's cases filed and concluded, and what changed since the last
            # roll-up (tongban.metrics).
            models.Index(fields=["submitted_at"], name="case_submitted_at"),
            models.Index(fields=["concluded_at"], name="case_concluded_at"),
            models.Index(fields=["updated_at"], name="case_updated_at"),
        ]

    def __str__(self) -> str:
        return self.receipt_no


class CaseEvent(models.Model):
    """办件事件 — one step in a case's life: who, what, when, from which status to which, why."""

    case = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)  # blank: status unchanged
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="caseevent_seq_unique")]


def status_from_events(events) -> str:
    """The status a case is in after EVENTS (in seq order): the last status any of them set."""
    status = ""
    for event in events:
        if event.to_status:
            status = event.to_status
    return status


class TaskStatus(models.TextChoices):
    WAITING = "waiting", "等待前序事项"
    PENDING = "pending", "待认领"
    CLAIMED = "claimed", "审核中"
    APPROVED = "approved", "准予"
    DENIED = "denied", "不予"
    SUPPLEMENT_REQUESTED = "supplement_requested", "待补正"


# What the applicant reads for a task's status: 待认领 and 审核中 are the department's own
# words for whether a reviewer has taken it yet.
APPLICANT_TASK_LABELS = {
    TaskStatus.WAITING: "等待前序事项办结",
    TaskStatus.PENDING: "待办理",
    TaskStatus.CLAIMED: "办理中",
    TaskStatus.APPROVED: "准予办理",
    TaskStatus.DENIED: "不予办理",
    TaskStatus.SUPPLEMENT_REQUESTED: "待补正",
}

OPEN_TASK_STATUSES = (TaskStatus.WAITING, TaskStatus.PENDING, TaskStatus.CLAIMED)
DECIDED_TASK_STATUSES = (TaskStatus.APPROVED, TaskStatus.DENIED)


class Task(models.Model):
    """部门任务 — one item of a case, worked by its department (后台分类审批)."""

    case = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tasks")
    item_code = models.CharField(max_length=64)
    item_version = models.PositiveIntegerField()
    item_name = models.CharField(max_length=80)
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    after = models.JSONField(default=list)  # item codes that must be approved first
    status = models.CharField(max_length=24, choices=TaskStatus.choices)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    promised_days = models.PositiveSmallIntegerField(default=0)
    due_date = models.DateField("办理期限", null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    row_version = models.PositiveIntegerField(default=1)
    auto_decision = models.JSONField(default=dict)
    # SLA: set once, so a sweep run twice (or by two workers) reminds and escalates once.
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "item_code"], name="task_one_per_item")
        ]
        indexes = [
            # The workbench: a department's queue by status, soonest due first; flat in the
            # number of cases because every query starts from (department, status).
            models.Index(fields=["department", "status", "due_date"], name="task_queue"),
            models.Index(fields=["department", "item_code", "status"], name="task_queue_item"),
        ]


class MaterialHow(models.TextChoices):
    UPLOAD = "upload", "上传"
    COMMITMENT = "commitment", "告知承诺"
    WAIVED = "waived", "免提交"
    DEFERRED = "deferred", "容缺后补"
    # A data source that could spare it did not answer when the applicant applied: the
    # platform asks again before review (exchange.tasks), and it becomes 免提交 or 容缺后补.
    SOURCE_RETRY = "source_retry", "平台稍后核验"


class MaterialSubmission(models.Model):
    """申请材料 — how one material of a case was satisfied."""

    case = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material_code = models.CharField(max_length=64)
    how = models.CharField(max_length=12, choices=MaterialHow.choices)
    file = models.FileField(upload_to="cases/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)  # the commitment text signed, or why it was waived
    due_date = models.DateField(null=True, blank=True)  # 容缺: when it must follow
    # 免提交 by an e-certificate: the serial of the certificate that proved it (a serial, not a
    # foreign key: the case keeps its record if the certificate row is ever archived).
    certificate_serial = models.CharField(max_length=64, blank=True)
    # 免提交 by a data-source look-up (数据共享核验): the source, the look-up record, the hash
    # of the values it answered and when (the values themselves stay with the look-up,
    # encrypted). For 平台稍后核验, the source still to be asked.
    source_code = models.CharField(max_length=64, blank=True)
    source_lookup_id = models.BigIntegerField(null=True, blank=True)
    source_value_hash = models.CharField(max_length=64, blank=True)
    source_answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["case", "material_code"], name="material_case_code")]


class Draft(FormDataMixin, models.Model):
    """草稿 — a form being filled in, to be resumed later."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_drafts"
    )
    kind = models.CharField(max_length=6, choices=CaseKind.choices)
    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    answers = models.JSONField(default=dict)
    form_data_text = EncryptedTextField(default="", blank=True, context="cases.draft_form_data")
    # The step-by-step form keeps everything else with the draft too: whom the agent acts
    # for, 送达方式, how each material is satisfied (告知承诺, 容缺), which steps were seen,
    # and the Idempotency-Key its one submit will use.
    enterprise = models.ForeignKey(
        "accounts.Enterprise", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # 亲友代办: the 被代办人 this draft is filled in for (the authorisation), if any.
    delegation = models.ForeignKey(
        "delegation.Delegation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    delivery = models.CharField(max_length=8, choices=Delivery.choices, blank=True)
    material_how = models.JSONField(default=dict, blank=True)
    steps_seen = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "kind", "code"], name="draft_one_per_service"
            )
        ]


class SupplementRequest(models.Model):
    """补正 — exactly which materials and fields the applicant must supply, by when."""

    case = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="supplements")
    material_codes = models.JSONField(default=list)
    field_codes = models.JSONField(default=list)
    reason = models.TextField()
    deadline = models.DateField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True)


class DraftUpload(models.Model):
    """A file chosen for a material while the form is being filled in: kept with the draft
    (never public, under the applicant's own folder) until the case is submitted, when it
    becomes one of the case's materials, or until the applicant removes it."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="uploads")
    material_code = models.CharField(max_length=64)
    file = models.FileField(upload_to="drafts/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["draft", "material_code"], name="draftupload_code")]
