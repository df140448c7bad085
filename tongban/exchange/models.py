"""数据共享交换: the registry of department systems the platform may ask (数据源目录, versioned
like the catalog) and the record of every question asked (数据核验记录)."""

from __future__ import annotations

from django.db import models

from tongban.common.fields import EncryptedTextField


class DataSourceVersion(models.Model):
    """数据源定义版本 — one immutable version of a data source definition, as loaded. A
    look-up names the version it was asked under, so editing a definition never rewrites what
    a case recorded."""

    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    source_file = models.CharField(max_length=300, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="one_data_source_version_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}@v{self.version}"


class DataSource(models.Model):
    """数据源 — a department system in the 数据共享目录, pointing at its current version."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("数据源名称", max_length=40)
    key = models.CharField(max_length=16)  # id_number / uscc / property_unit
    department = models.CharField(max_length=64)
    current = models.ForeignKey(DataSourceVersion, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["name", "key"], name="data_source_name_key")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class LookupOutcome(models.TextChoices):
    FOUND = "found", "核验到记录"
    NOT_FOUND = "not_found", "无记录"
    UNAVAILABLE = "unavailable", "暂时无法核验"
    REFUSED = "refused", "请求被拒绝"


class SourceLookup(models.Model):
    """数据核验记录 — one question the platform asked a data source: about whom (by a keyed
    hash of the key, never the key itself), which elements, for whom and why, and what came
    back. The values themselves are kept only encrypted; the case records their hash."""

    source = models.CharField(max_length=64, db_index=True)
    source_version = models.PositiveIntegerField()
    lookup_hash = models.CharField(max_length=64)
    subject_profile_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subject_enterprise_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    elements = models.JSONField(default=list)
    requester_department = models.CharField(max_length=64)
    requester_item = models.CharField(max_length=64, blank=True)
    receipt_no = models.CharField(max_length=32, blank=True, db_index=True)
    purpose = models.CharField(max_length=200)
    legal_basis = models.CharField(max_length=200)
    consent = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    outcome = models.CharField(max_length=12, choices=LookupOutcome.choices)
    error_code = models.CharField(max_length=64, blank=True)
    value_hash = models.CharField(max_length=64, blank=True)
    values_text = EncryptedTextField(default="", blank=True, context="exchange.lookup_values")
    as_of = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["source", "lookup_hash", "at"], name="lookup_source_key_at"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.outcome} @ {self.at:%Y-%m-%d %H:%M}"
