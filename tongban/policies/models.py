from __future__ import annotations

from django.db import models


class Policy(models.Model):
    """政策 — the current version's index row of a policy definition (惠民惠企政策). The
    definition itself, eligibility included, is the catalog's DefinitionVersion it points at,
    so a match can always say which version of the rules it came from."""

    class Mode(models.TextChoices):
        PUSH = "push", "精准推送"
        AUTOMATIC = "automatic", "免申即享"
        ON_APPLICATION = "on_application", "依申请"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("政策名称", max_length=80)
    subject = models.CharField(max_length=12)
    mode = models.CharField("兑现方式", max_length=16, choices=Mode.choices)
    department = models.ForeignKey(
        "catalog.Department", on_delete=models.PROTECT, related_name="policies"
    )
    valid_from = models.DateField("生效日期")
    valid_until = models.DateField("截止日期", null=True, blank=True)
    current = models.ForeignKey(
        "catalog.DefinitionVersion", on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "政策"
        verbose_name_plural = "政策"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
