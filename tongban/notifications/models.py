from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notice(models.Model):
    """站内消息: one message in a user's message centre (消息中心).

    The in-app copy is the record; other channels (email, later SMS) are deliveries of it,
    made by a background task after the sender's transaction commits.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    # Relative only, so a notice can never send a resident to another site.
    link = models.CharField("链接", max_length=500, blank=True)
    category = models.CharField("类别", max_length=40, blank=True)
    # The category group (办件进度, 证照, 评价, 系统/工作提醒), fixed at sending for filtering.
    group = models.CharField("类别组", max_length=20, blank=True, default="system")
    # The message template it was rendered from, and its SMS text (≤ 70 characters); a
    # notice without a template is never sent by SMS.
    template = models.CharField("消息模板", max_length=60, blank=True)
    sms_text = models.CharField("短信内容", max_length=70, blank=True)
    created_at = models.DateTimeField("发送时间", default=timezone.now)
    read_at = models.DateTimeField("阅读时间", null=True, blank=True)
    delivered_at = models.DateTimeField("外部渠道送达时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内消息"
        verbose_name_plural = "站内消息"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notice_recipient_read")]

    def __str__(self) -> str:
        return self.title

    @property
    def group_label(self) -> str:
        return dict(Group.choices).get(self.group, "")


class Channel(models.TextChoices):
    """Channels beyond the in-app record, which every notice has."""

    EMAIL = "email", "电子邮件"
    SMS = "sms", "短信"


class Group(models.TextChoices):
    """The category groups people filter by and set preferences for."""

    CASE = "case", "办件进度"
    CERTIFICATE = "certificate", "证照"
    REVIEW = "review", "评价"
    POLICY = "policy", "政策推荐"
    SYSTEM = "system", "系统/工作提醒"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"
    SKIPPED = "skipped", "未发送"


class SkipReason(models.TextChoices):
    NO_ADDRESS = "no_address", "无联系地址"
    OPTED_OUT = "opted_out", "用户已关闭"
    NOT_ALLOWED = "not_allowed", "该类消息不经此渠道发送"


class Delivery(models.Model):
    """消息投递: one notice on one external channel. The row is the worker's lock and memory:
    a retried task finds it sent and sends nothing twice."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    status = models.CharField(
        "状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    reason = models.CharField("未发送原因", max_length=20, choices=SkipReason.choices, blank=True)
    # Masked (e.g. 138****5678 / w***@example.org): the full address stays in the profile.
    address_masked = models.CharField("地址（脱敏）", max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.CharField("最近错误", max_length=500, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "消息投递"
        verbose_name_plural = "消息投递"
        constraints = [
            models.UniqueConstraint(fields=["notice", "channel"], name="one_delivery_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.channel}:{self.status}"


class NoticePreference(models.Model):
    """消息订阅设置: one explicit choice of a user for a group on a channel. Without a row the
    default applies (see tongban.notifications.preferences)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    group = models.CharField("消息类别", max_length=20, choices=Group.choices)
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    enabled = models.BooleanField("接收")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "消息订阅设置"
        verbose_name_plural = "消息订阅设置"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group", "channel"], name="one_preference_per_group_channel"
            )
        ]
