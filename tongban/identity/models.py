from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.common.fields import EncryptedTextField


class SmsChallenge(models.Model):
    """短信验证码 — one code sent (or, to keep the answer the same, not sent) to a mobile
    number during registration or password reset.

    The request only makes the row and queues its sending; the background worker draws the
    code, keeps a keyed hash of it bound to this row's id, and sends it. So the request does
    the same work whether or not an account exists, and the code is never stored in clear,
    not even in the task queue. A row whose code went nowhere (the ID number already has an
    account, or no account matches a reset) behaves like any other: every code typed against
    it is wrong."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "注册"
        RESET = "reset", "找回密码"
        VERIFY = "verify", "实名核验"

    class Sends(models.TextChoices):
        """What the worker sends for it, decided when the challenge is made."""

        CODE = "code", "验证码"
        REGISTERED = "registered", "已注册提示"
        SEVERAL = "several", "多个账户提示"
        NOTHING = "nothing", "不发送"

    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    # Who the code is for: registration carries the checked name, ID number and mobile to the
    # second step; reset carries the account (null when nothing matched: a decoy); 实名核验 of
    # a logged-in account carries the account and the mobile.
    name = EncryptedTextField(blank=True, default="", context="identity.challenge.name")
    id_number = EncryptedTextField(blank=True, default="", context="identity.challenge.id_number")
    mobile = EncryptedTextField(blank=True, default="", context="identity.challenge.mobile")
    mobile_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sends = models.CharField(max_length=10, choices=Sends.choices)
    # Set by the worker as it draws the code and sends it: until then no code matches.
    code_hash = models.CharField(max_length=64, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = "短信验证码"
        verbose_name_plural = "短信验证码"


class DemoSms(models.Model):
    """示例短信 — a text the demo SMS outbox "sent". Exists only while the demo outbox is the
    configured adapter (see tongban.identity.sms): a city with a real gateway has none."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    phone_masked = models.CharField("手机号（脱敏）", max_length=20)
    text = models.CharField("短信内容", max_length=300)
    sent_at = models.DateTimeField("发送时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "示例短信"
        verbose_name_plural = "示例短信"
        ordering = ["-sent_at", "-id"]
