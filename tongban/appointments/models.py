"""Rows of the service halls: 政务服务大厅 and their 窗口. Time slots, bookings and queue
tickets will hang off these."""

from __future__ import annotations

from django.db import models

from tongban.accounts.models import District


class Hall(models.Model):
    """政务服务大厅 — a place residents walk into: where counter clerks file cases (帮办) and
    the unified window hands out results (统一窗口出件)."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=80)
    district = models.CharField("所在区", max_length=6, choices=District.choices)
    address = models.CharField("地址", max_length=200)
    opening_hours = models.CharField("办公时间", max_length=200, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "政务服务大厅"
        verbose_name_plural = "政务服务大厅"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Window(models.Model):
    """窗口 — one counter position in a hall, e.g. "A03 综合受理"."""

    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="windows")
    number = models.CharField("窗口号", max_length=8)
    name = models.CharField("名称", max_length=60)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "窗口"
        verbose_name_plural = "窗口"
        ordering = ["hall", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="window_number_per_hall")
        ]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.number}"
