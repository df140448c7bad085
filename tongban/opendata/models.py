"""开放数据: the developers who call the data API, their keys, and what each key used.

The datasets themselves are not rows here: each is computed from the app that owns the data
(tongban/opendata/datasets.py), so what is published never drifts from what the portal shows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Developer(models.Model):
    """开发者 — an account that registered an application to call the open-data API. The
    contact address is the developer's own and is never published."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="opendata_developer"
    )
    app_name = models.CharField("应用名称", max_length=100)
    purpose = models.TextField("用途说明", max_length=500)
    contact_email = models.EmailField("联系邮箱", max_length=200)
    registered_at = models.DateTimeField("登记时间")

    class Meta:
        verbose_name = "开发者"
        verbose_name_plural = "开发者"

    def __str__(self) -> str:
        return self.app_name


class ApiKey(models.Model):
    """接口密钥 — one developer's key for the data API. Only a keyed hash is stored; the key is
    shown once, when created. A developer holds at most one live key, so the rate limit per
    key is also the limit per developer.

    The rate limit's counter lives on the row (the minute it counts and the calls in it), so
    one conditional UPDATE admits or refuses a call on every app server alike."""

    developer = models.ForeignKey(Developer, on_delete=models.CASCADE, related_name="keys")
    key_hash = models.CharField(max_length=64, unique=True)
    # Enough of the key for its owner to tell keys apart; useless for calling.
    key_prefix = models.CharField("密钥前缀", max_length=16)
    created_at = models.DateTimeField("创建时间")
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近调用", null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_calls = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "接口密钥"
        verbose_name_plural = "接口密钥"
        constraints = [
            models.UniqueConstraint(
                fields=["developer"],
                condition=Q(revoked_at__isnull=True),
                name="opendata_one_live_key_per_developer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiKeyDailyUsage(models.Model):
    """调用统计 — calls one key made to one dataset on one day (Asia/Shanghai): answered, and
    refused for going over the rate limit."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    dataset = models.CharField(max_length=40)
    calls = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "调用统计"
        verbose_name_plural = "调用统计"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "day", "dataset"], name="opendata_one_usage_row_per_day"
            )
        ]
