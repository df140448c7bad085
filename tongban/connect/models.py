"""接入管理: the platform's own record of the systems that log residents in or call the API.

The tokens, codes and client credentials themselves are django-oauth-toolkit's models
(oauth2_provider.Application, AccessToken, ...); this app adds what the city decides about
each client and what the resident decided about it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


class ClientKind(models.TextChoices):
    WEBSITE = "website", "政务网站"
    MOBILE_APP = "mobile_app", "移动应用"
    DEPARTMENT_SYSTEM = "department_system", "部门系统"


class ConnectedClient(models.Model):
    """接入应用 — what the city administrator decided about one OAuth/OIDC client: its kind,
    the scopes it may ask for, the legal basis for the ID number, and, for a department
    system, the service account whose staff posts its token acts with."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="connected",
    )
    kind = models.CharField("类型", max_length=20, choices=ClientKind.choices)
    # Space-separated, as OAuth writes scopes; a request for anything outside it is refused.
    allowed_scopes = models.CharField("允许的权限范围", max_length=300)
    legal_basis = models.TextField("调用身份证号码的法律依据", blank=True, default="")
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_clients",
        verbose_name="服务账户",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField("停用时间", null=True, blank=True)
    is_synthetic = models.BooleanField("示例数据", default=False)

    class Meta:
        verbose_name = "接入应用"
        verbose_name_plural = "接入应用"

    def __str__(self) -> str:
        return self.application.name

    @property
    def scope_set(self) -> set[str]:
        return set(self.allowed_scopes.split())

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class Consent(models.Model):
    """授权记录 — a resident's permission for one site or app to receive the listed scopes.

    Remembered so the consent page is shown only the first time (or when a site asks for
    more); withdrawn by the resident from 已授权的网站/应用, which also revokes its tokens.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connect_consents"
    )
    client = models.ForeignKey(ConnectedClient, on_delete=models.CASCADE, related_name="consents")
    scopes = models.CharField(max_length=300)
    granted_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "授权记录"
        verbose_name_plural = "授权记录"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="one_live_consent_per_client",
            )
        ]

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())


class ClientDailyActivity(models.Model):
    """调用统计 — API calls one client made on one day (Asia/Shanghai), for the administrator."""

    client = models.ForeignKey(ConnectedClient, on_delete=models.CASCADE, related_name="activity")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField()

    class Meta:
        verbose_name = "调用统计"
        verbose_name_plural = "调用统计"
        constraints = [
            models.UniqueConstraint(fields=["client", "day"], name="one_activity_row_per_day")
        ]
