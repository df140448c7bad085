"""Rows of 亲友代办: one authorisation from a resident to a relative or friend."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models


class DelegationState(models.TextChoices):
    PROPOSED = "proposed", "待对方确认"
    ACTIVE = "active", "生效"
    DECLINED = "declined", "已拒绝"
    REVOKED = "revoked", "已撤销"
    # Never stored: an active row past its end date reads as this (see Delegation.state_now).
    EXPIRED = "expired", "已过期"


class RecordedVia(models.TextChoices):
    ONLINE = "online", "本人网上授权"
    COUNTER = "counter", "综合窗口当面登记"


class Delegation(models.Model):
    """亲友代办授权 — a resident (被代办人) lets another person (代办人) apply and follow
    cases for them, for chosen items or all, until a date.

    The 代办人 is named by ID number and name; only a keyed hash of the number is kept, and the
    row waits (待对方确认) until the person holding that number and name accepts it while
    signed in. Whether such a person has an account is never told to the 被代办人."""

    principal = models.ForeignKey(
        "accounts.ResidentProfile",
        on_delete=models.CASCADE,
        related_name="delegations_given",
        verbose_name="被代办人",
    )
    agent_id_hash = models.CharField("代办人身份证号码（密钥散列）", max_length=64, db_index=True)
    agent_name = models.CharField("代办人姓名", max_length=60)
    # Set when the 代办人 accepts: from then on only this account may act.
    agent_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delegations_received",
        verbose_name="代办人账户",
    )
    # 授权范围: item and bundle codes; empty means every 事项 a person may apply for.
    items = models.JSONField("可代办事项", default=list, blank=True)
    valid_until = models.DateField("授权截止日期")
    state = models.CharField(
        "状态", max_length=10, choices=DelegationState.choices, default=DelegationState.PROPOSED
    )
    recorded_via = models.CharField(
        "登记方式", max_length=8, choices=RecordedVia.choices, default=RecordedVia.ONLINE
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="登记人",
    )
    hall = models.ForeignKey(
        "appointments.Hall",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记大厅",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField("确认时间", null=True, blank=True)
    declined_at = models.DateTimeField("拒绝时间", null=True, blank=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="撤销人",
    )

    class Meta:
        verbose_name = "亲友代办授权"
        verbose_name_plural = "亲友代办授权"
        constraints = [
            # One open authorisation per pair: a second one would leave two scopes to reconcile.
            models.UniqueConstraint(
                fields=["principal", "agent_id_hash"],
                condition=models.Q(state__in=["proposed", "active"]),
                name="one_open_delegation_per_pair",
            )
        ]

    def __str__(self) -> str:
        return f"{self.principal_id} → {self.agent_name}"

    def state_now(self, today: dt.date) -> str:
        """The state as people read it: an accepted or waiting row past its end date has
        expired, though nothing was written when the date passed."""
        if self.state in (DelegationState.ACTIVE, DelegationState.PROPOSED) and (
            self.valid_until < today
        ):
            return DelegationState.EXPIRED
        return self.state

    def covers(self, code: str) -> bool:
        return not self.items or code in self.items
