"""Rows of 告知承诺事后核查: which commitments are checked, the verdicts, the department's
follow-up of a false one (失信处置) and the applicant's credit record (信用记录)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CheckReason(models.TextChoices):
    SAMPLED = "sampled", "随机抽查"
    SOURCE = "source", "数据源可核验"


class CheckStatus(models.TextChoices):
    PENDING = "pending", "待核查"
    TRUE = "true", "属实"
    FALSE = "false", "不实"
    UNVERIFIABLE = "unverifiable", "无法核查"


class CheckStage(models.TextChoices):
    """Where a pending check waits: for a data source to answer, or for a person."""

    SOURCE = "source", "等待数据源核验"
    PERSON = "person", "待人工核查"


class CaseScreening(models.Model):
    """Marks a concluded case as screened for checks, so the sweep draws each case once (the
    draw is deterministic anyway; this keeps the sweep from re-reading every old case)."""

    case = models.OneToOneField(
        "cases.Application", on_delete=models.CASCADE, related_name="commitment_screening"
    )
    screened_at = models.DateTimeField()
    selected = models.PositiveSmallIntegerField(default=0)


class CommitmentCheck(models.Model):
    """告知承诺核查 — the after-the-fact check of one commitment signed in place of a material."""

    case = models.ForeignKey(
        "cases.Application", on_delete=models.PROTECT, related_name="commitment_checks"
    )
    material_code = models.CharField(max_length=64)
    material_name = models.CharField("材料名称", max_length=120)
    item_code = models.CharField(max_length=64)
    item_name = models.CharField("事项名称", max_length=80)
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    commitment_text = models.TextField("承诺内容")  # as signed, from the case's material row
    reason = models.CharField("核查原因", max_length=8, choices=CheckReason.choices)
    # The data source that may answer (its Chinese name, as the item's waiver names it).
    source_name = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        "核查结论", max_length=12, choices=CheckStatus.choices, default=CheckStatus.PENDING
    )
    stage = models.CharField(max_length=8, choices=CheckStage.choices, default=CheckStage.PERSON)
    # Asking the source: how often, when next, and why the last try did not settle it.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_by_label = models.CharField(max_length=200, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField("核查说明", blank=True)
    # {"source", "lookup_id", "value_hash", "found", "as_of"} when a source answered; never
    # the values themselves (the SourceLookup row keeps what the exchange may keep).
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "告知承诺核查"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "material_code"], name="commitment_check_one_per_material"
            )
        ]
        indexes = [
            models.Index(fields=["department", "status", "stage"], name="commitment_check_queue"),
            models.Index(
                fields=["status", "stage", "next_attempt_at"], name="commitment_check_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.material_code}"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "待处置"
    CLOSED = "closed", "已处置"


class FollowUp(models.Model):
    """失信处置 — what the department does about a false commitment: revoke the result the
    case produced (its certificates), then close."""

    check_row = models.OneToOneField(
        CommitmentCheck, on_delete=models.PROTECT, related_name="follow_up"
    )
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_serials = models.JSONField(default=list, blank=True)
    note = models.CharField("处置说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "失信处置"
        indexes = [models.Index(fields=["department", "status"], name="followup_queue")]


class CreditKind(models.TextChoices):
    COMMITMENT_FALSE = "commitment_false", "告知承诺不实"


class CreditRecord(models.Model):
    """信用记录 — an entry in a person's or an enterprise's credit record, read by them on
    their own pages and by staff."""

    profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    kind = models.CharField(max_length=20, choices=CreditKind.choices)
    case = models.ForeignKey("cases.Application", on_delete=models.PROTECT, related_name="+")
    check_row = models.OneToOneField(
        CommitmentCheck, on_delete=models.PROTECT, related_name="credit_record"
    )
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    recorded_on = models.DateField("记录日期")
    reason = models.TextField("事由")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "信用记录"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(profile__isnull=False) | models.Q(enterprise__isnull=False),
                name="credit_record_has_subject",
            )
        ]
        indexes = [
            models.Index(fields=["profile", "-recorded_on"], name="credit_profile_recent"),
            models.Index(fields=["enterprise", "-recorded_on"], name="credit_enterprise_recent"),
        ]
