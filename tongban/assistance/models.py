"""Rows of 行政协助: one department asks another for what no data source answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.common.fields import EncryptedTextField


class AssistanceStatus(models.TextChoices):
    OPEN = "open", "待答复"
    ANSWERED = "answered", "已答复"
    WITHDRAWN = "withdrawn", "已撤回"
    # Set by the sweep the day after the due date; still answerable, and still waited on.
    OVERDUE = "overdue", "已逾期"


# The case waits on a request in these states; an answer or a withdrawal ends the wait.
WAITING_STATUSES = (AssistanceStatus.OPEN, AssistanceStatus.OVERDUE)


class AssistanceRequest(models.Model):
    """行政协助请求 — a reviewer's question about one person or enterprise of a case, sent to
    another department, answered by that department's staff by a working-day deadline; the
    answer is evidence (审查依据) of the case."""

    case = models.ForeignKey(
        "cases.Application", on_delete=models.CASCADE, related_name="assistance_requests"
    )
    # The review work it was raised from: its department is the requesting department.
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="+")
    requesting_department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The post as both departments read it (示例市民政局（审核岗）), never a name.
    requested_by_label = models.CharField("发起岗位", max_length=200)
    target_department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="assistance_requests"
    )
    # About whom: a role of the case (applicant, mother, enterprise …) and how the target
    # department recognises them. The identifier (ID number or credit code) is encrypted and
    # shown only to whoever answers.
    subject_role = models.CharField("协助对象", max_length=24)
    subject_label = models.CharField("协助对象说明", max_length=120)
    subject_identifier = EncryptedTextField(
        blank=True, default="", context="assistance.subject_identifier"
    )
    question = EncryptedTextField("协助事项", context="assistance.question")
    # Materials of the requesting item the answer stands in for: [{code, name}].
    materials = models.JSONField(default=list, blank=True)
    due_days = models.PositiveSmallIntegerField("答复时限（工作日）")
    due_date = models.DateField("答复期限")
    status = models.CharField(
        max_length=12, choices=AssistanceStatus.choices, default=AssistanceStatus.OPEN
    )
    answer = EncryptedTextField("答复意见", blank=True, default="", context="assistance.answer")
    answer_file = models.FileField(upload_to="assistance/%Y/%m/", blank=True)
    answer_file_type = models.CharField(max_length=40, blank=True)
    answer_file_size = models.PositiveIntegerField(default=0)
    answer_file_sha256 = models.CharField(max_length=64, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_by_label = models.CharField("答复岗位", max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = models.CharField(max_length=200, blank=True)
    # Reminders to the target department: how many, and on which day the last one went, so
    # a sweep run many times a day reminds once per day (the working day before, the due day).
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_on = models.DateField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "行政协助请求"
        verbose_name_plural = "行政协助请求"
        indexes = [
            # A department's incoming queue, soonest due first.
            models.Index(
                fields=["target_department", "status", "due_date"], name="assistance_queue"
            ),
            models.Index(fields=["case", "status"], name="assistance_case_status"),
            # The sweep: everything still waited on, by due date.
            models.Index(fields=["status", "due_date"], name="assistance_due"),
        ]

    def __str__(self) -> str:
        return f"行政协助 {self.pk}"
