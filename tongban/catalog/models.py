"""Catalog rows. The YAML definition is the source of truth; each load of a changed definition
appends a DefinitionVersion, and the index tables (ServiceItem, Bundle, DataElement) point at
the current version for listing and search. A case pins (kind, code, version) so later edits
never rewrite what an applicant applied under."""

from __future__ import annotations

from django.db import models


class Department(models.Model):
    """部门 — an implementing department, with its administrative region code."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("部门名称", max_length=80)
    short_name = models.CharField("简称", max_length=30, blank=True)
    region_code = models.CharField("行政区划代码", max_length=6)
    hotline = models.CharField("咨询电话", max_length=40, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    definition = models.ForeignKey(
        "DefinitionVersion", null=True, on_delete=models.PROTECT, related_name="+"
    )
    # A department removed from the definitions stays (staff and old cases point at it) but
    # is no longer offered.
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "部门"
        verbose_name_plural = "部门"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DefinitionVersion(models.Model):
    """定义版本 — one immutable version of one definition (department list entry, data element,
    service item or bundle), as validated at load time."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "部门"
        ELEMENT = "element", "数据元"
        ITEM = "item", "事项"
        BUNDLE = "bundle", "一件事"
        POLICY = "policy", "政策"
        WAITING_LIST = "waiting_list", "轮候名单"
        LEXICON = "lexicon", "检索词库"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    code = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    source_file = models.CharField(max_length=300, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "code", "version"], name="one_version_number")
        ]
        indexes = [models.Index(fields=["kind", "code", "-version"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}@v{self.version}"


class DataElement(models.Model):
    """数据元 — one entry of the data dictionary; every form field is one."""

    code = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=60)
    value_type = models.CharField(max_length=20)
    sensitivity = models.PositiveSmallIntegerField()
    current = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "数据元"
        verbose_name_plural = "数据元"
        ordering = ["code"]


class ServiceItem(models.Model):
    """事项 — a service item with its 办事指南; the current version's index row."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("事项名称", max_length=80)
    item_type = models.CharField("事项类型", max_length=10)
    subject = models.CharField(max_length=12)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="items")
    handling = models.CharField(max_length=10)
    promised_days = models.PositiveSmallIntegerField()
    visits = models.PositiveSmallIntegerField()
    online = models.BooleanField(default=False)
    search_text = models.TextField(blank=True)  # name + aliases + summary, for search
    current = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "事项"
        verbose_name_plural = "事项"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Bundle(models.Model):
    """一件事 — a life event bundling several service items behind one form."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("名称", max_length=80)
    subject = models.CharField(max_length=12)
    lead_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    promised_days = models.PositiveSmallIntegerField()
    search_text = models.TextField(blank=True)
    current = models.ForeignKey(DefinitionVersion, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "一件事"
        verbose_name_plural = "一件事"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CatalogRevision(models.Model):
    """事项库版本标记 — one row whose token changes whenever a load changes the catalog.

    Processes cache the catalog (listing, search index) keyed on this token. A random token
    rather than a counter or the newest version id, because those repeat after a rollback and
    cannot see an item being deactivated or reactivated without a new version.
    """

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)
