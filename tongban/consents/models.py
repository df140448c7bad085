"""授权数据使用 (普惠金融 信易贷, §十八): a resident or an enterprise lets a registered
institution — a bank weighing a loan — read a named set of the government's data about them,
for a purpose, until a date; the institution reads through the API with its own client
credentials and the consent's id; every read is recorded; the holder revokes at any time."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings


class InstitutionKind(models.TextChoices):
    BANK = "bank", "银行"
    GUARANTEE = "guarantee", "融资担保机构"
    MICROLOAN = "microloan", "小额贷款公司"
    INSURANCE = "insurance", "保险机构"
    OTHER = "other", "其他金融机构"


class Institution(models.Model):
    """授权使用机构 — a body outside government (e.g. 示例银行上海分行) the platform registered
    to read data its holders consent to. It reads with the OAuth client made for it
    (client credentials, scope `consented_data`), and only while it is active."""

    name = models.CharField("机构名称", max_length=100)
    kind = models.CharField("机构类型", max_length=12, choices=InstitutionKind.choices)
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="consent_institution",
        verbose_name="接入凭据",
    )
    is_active = models.BooleanField("可查询", default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    is_synthetic = models.BooleanField("示例数据", default=False)

    class Meta:
        verbose_name = "授权使用机构"
        verbose_name_plural = "授权使用机构"

    def __str__(self) -> str:
        return self.name


class DataConsent(models.Model):
    """数据授权 — the holder (a resident, or an enterprise by its 法定代表人 or 管理员) lets
    INSTITUTION read ELEMENTS ("source.element" codes of the sources' consentable elements)
    for PURPOSE until VALID_UNTIL (inclusive, Asia/Shanghai). The institution names it by
    `public_id`, which is random so that one consent's id tells nothing about another's."""

    public_id = models.CharField("授权编号", max_length=40, unique=True)
    holder_profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="data_consents",
        verbose_name="授权人（个人）",
    )
    holder_enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="data_consents",
        verbose_name="授权人（企业）",
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="consents", verbose_name="使用机构"
    )
    elements = models.JSONField("授权数据项", default=list)
    purpose = models.CharField("使用目的", max_length=200)
    valid_until = models.DateField("授权截止日期")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "数据授权"
        verbose_name_plural = "数据授权"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(holder_profile__isnull=False, holder_enterprise__isnull=True)
                    | models.Q(holder_profile__isnull=True, holder_enterprise__isnull=False)
                ),
                name="data_consent_one_holder",
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class ReadOutcome(models.TextChoices):
    ANSWERED = "answered", "已提供"
    UNAVAILABLE = "unavailable", "数据源暂时无法访问，未提供"


class ConsentRead(models.Model):
    """授权查询记录 — one read by the institution under a consent: when, which elements it
    was given (or that the source was down and it was given nothing). Refused reads
    (revoked, expired, another institution's) leave no row here, only an audit row."""

    consent = models.ForeignKey(DataConsent, on_delete=models.CASCADE, related_name="reads")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    elements = models.JSONField("查询的数据项", default=list)
    outcome = models.CharField(max_length=12, choices=ReadOutcome.choices)
    # The exchange's 数据核验记录 rows behind this read (one per source asked).
    lookup_ids = models.JSONField(default=list)

    class Meta:
        verbose_name = "授权查询记录"
        verbose_name_plural = "授权查询记录"
        ordering = ["-at", "-id"]
