from __future__ import annotations

from django.db import models

from tongban.common.fields import EncryptedTextField


class IdCodeKey(models.Model):
    """随申码签名密钥 — signs codes. Its own table rather than a certificates IssuingKey role:
    a 随申码 key signs nothing a certificate verifier should trust, so the trust list
    publishes it apart, under `idcode_keys` (role `idcode`), for scanners only. Retired keys
    stay so codes signed just before a rotation verify."""

    class State(models.TextChoices):
        ACTIVE = "active", "在用"
        RETIRED = "retired", "已停用"

    kid = models.CharField(max_length=16, unique=True)
    alg = models.SmallIntegerField(default=-7)
    public_key_pem = models.TextField()
    private_key_pem = EncryptedTextField(context="idcode.key")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "随申码签名密钥"
        verbose_name_plural = "随申码签名密钥"
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="one_active_idcode_key"
            )
        ]

    def __str__(self) -> str:
        return self.kid


class Scanner(models.Model):
    """扫码终端 — a connected system allowed to scan 随申码 for the listed scenarios. Its API key
    is shown once at creation; only a keyed hash of it is stored."""

    name = models.CharField("名称", max_length=80)
    organisation = models.CharField("所属单位", max_length=120)
    scenarios = models.JSONField("授权场景", default=list)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, so an operator can tell keys apart.
    key_prefix = models.CharField(max_length=12)
    is_active = models.BooleanField("启用", default=True)
    is_synthetic = models.BooleanField("示例数据", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "扫码终端"
        verbose_name_plural = "扫码终端"

    def __str__(self) -> str:
        return f"{self.organisation} · {self.name}"


class ScanLog(models.Model):
    """扫码记录 — every scan, whatever its result. The attributes released are not stored:
    the scenario says which they were. `cti` is unique among successful scans, which is what
    makes a second scan of one code a replay even when two scanners race."""

    scanner = models.ForeignKey(Scanner, on_delete=models.PROTECT, related_name="scans")
    scenario = models.CharField(max_length=40)
    result = models.CharField(max_length=24)
    at = models.DateTimeField(db_index=True)
    # Whose code it was, when the code could be opened: the resident's own page lists these.
    # A deleted holder leaves the row, linked to no one.
    profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who showed it: the resident, or the enterprise's agent who asked for the code.
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cti = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = "扫码记录"
        verbose_name_plural = "扫码记录"
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cti"], condition=models.Q(result="ok"), name="one_ok_scan_per_code"
            )
        ]
