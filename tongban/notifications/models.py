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
