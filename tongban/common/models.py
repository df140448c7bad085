from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """审计日志 — one row for every state change and every read of personal data.

    `purpose` is required for reads of personal data (数据使用目的), so a resident can later be
    shown who looked at their data and why.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept separately from the FK so the trail still says who acted after a user is removed,
    # and so system actors ("system:catalog_load") can be named.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    # The resident whose personal data was touched, if any, so 我的数据使用记录 is one indexed
    # query.
    subject_resident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The enterprise whose data was touched (企业数据使用记录), likewise.
    subject_enterprise_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    purpose = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
