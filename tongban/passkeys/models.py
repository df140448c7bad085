from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.common.fields import EncryptedTextField


class Passkey(models.Model):
    """通行密钥 — a WebAuthn credential a person registered on their phone, computer or security
    key: a second factor after the password for residents, an alternative to the 6-digit
    dynamic code for staff.

    The credential id and public key are stored encrypted: the id can carry an authenticator's
    wrapped key material, and neither is needed in clear by anything but the ceremony. The
    keyed hash of the id finds the row and keeps one credential registered once.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField("名称", max_length=30)
    credential_id = EncryptedTextField("凭据标识", context="passkeys.credential_id")
    credential_id_hash = models.CharField(max_length=64, unique=True)
    public_key = EncryptedTextField("公钥", context="passkeys.public_key")
    # The authenticator's use counter; a response that does not move it forward is refused as
    # a possible clone (most synced passkeys always report 0, which the library allows).
    sign_count = models.PositiveBigIntegerField("签名计数", default=0)
    transports = models.JSONField("传输方式", default=list, blank=True)
    aaguid = models.CharField("认证器型号标识", max_length=36, blank=True)
    backed_up = models.BooleanField("已同步备份", default=False)
    created_at = models.DateTimeField("添加时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用时间", null=True, blank=True)

    class Meta:
        verbose_name = "通行密钥"
        verbose_name_plural = "通行密钥"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name
