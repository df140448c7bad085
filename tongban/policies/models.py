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


class PolicyRun(models.Model):
    """政策比对批次 — one evaluation of every policy over the whole population."""

    class Status(models.TextChoices):
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    evaluated_on = models.DateField("比对日期")  # ages and validity are taken on this day
    engine = models.CharField(max_length=10)  # polars | sql
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    triggered_by = models.CharField(max_length=60)
    # Per policy: {code: {eligible, new, ended, granted, told, error}}.
    counts = models.JSONField(default=dict)

    class Meta:
        verbose_name = "政策比对批次"
        verbose_name_plural = "政策比对批次"
        ordering = ["-started_at"]


class PolicyMatch(models.Model):
    """政策匹配 — a resident (or, for 惠企政策, an enterprise) found eligible for a policy, from
    when, by which version of its rules; ended (not deleted) when a later run no longer finds
    them eligible."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="matches")
    version = models.ForeignKey(
        "catalog.DefinitionVersion", on_delete=models.PROTECT, related_name="+"
    )
    profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policy_matches",
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policy_matches",
    )
    since = models.DateTimeField()
    found_by = models.ForeignKey(PolicyRun, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        PolicyRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    told = models.BooleanField("已告知", default=False)
    told_at = models.DateTimeField(null=True, blank=True)
    # 免申即享 declined by the person (the enterprise's legal representative): no later
    # period is granted, though periods already paid stay paid.
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "政策匹配"
        verbose_name_plural = "政策匹配"
        constraints = [
            # One open match per person and policy, whatever runs overlap.
            models.UniqueConstraint(
                fields=["policy", "profile"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_match_per_policy_and_person",
            ),
            models.UniqueConstraint(
                fields=["policy", "enterprise"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_match_per_policy_and_enterprise",
            ),
            models.CheckConstraint(
                condition=models.Q(profile__isnull=True) ^ models.Q(enterprise__isnull=True),
                name="match_is_of_a_person_or_an_enterprise",
            ),
        ]


class PolicyGrant(models.Model):
    """免申即享 — a benefit granted without an application, once per person (or enterprise),
    policy and period; the person (the enterprise's legal representative) may decline it."""

    class Status(models.TextChoices):
        GRANTED = "granted", "已享受"
        DECLINED = "declined", "本人已放弃"

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="grants")
    version = models.ForeignKey(
        "catalog.DefinitionVersion", on_delete=models.PROTECT, related_name="+"
    )
    profile = models.ForeignKey(
        "accounts.ResidentProfile",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policy_grants",
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policy_grants",
    )
    # How much, where the policy's benefit says (a fixed sum or a formula over the person's
    # or enterprise's data, e.g. 参保人数 × 500 元), worked out when granted.
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # "once", or the month ("2026-12") or year ("2026") a periodic benefit is for.
    period = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.GRANTED)
    granted_at = models.DateTimeField()
    granted_by = models.ForeignKey(PolicyRun, on_delete=models.PROTECT, related_name="+")
    declined_at = models.DateTimeField(null=True, blank=True)
    # 自动办结: the case the platform concluded for this person and policy (one for all of a
    # periodic benefit's grants), where the policy says so.
    case = models.ForeignKey(
        "cases.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 发放指令: the payment file this grant's amount was paid in; none yet: 待发放.
    batch = models.ForeignKey(
        "PaymentBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="grants"
    )

    class Meta:
        verbose_name = "免申即享记录"
        verbose_name_plural = "免申即享记录"
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "profile", "period"], name="one_grant_per_policy_person_period"
            ),
            models.UniqueConstraint(
                fields=["policy", "enterprise", "period"],
                name="one_grant_per_policy_enterprise_period",
            ),
            models.CheckConstraint(
                condition=models.Q(profile__isnull=True) ^ models.Q(enterprise__isnull=True),
                name="grant_is_to_a_person_or_an_enterprise",
            ),
        ]
        indexes = [
            # 自动办结: the grants still waiting for their case, found without reading the rest.
            models.Index(
                fields=["policy"], condition=models.Q(case__isnull=True), name="grant_without_case"
            ),
        ]


class PaymentBatch(models.Model):
    """发放批次 — one policy's payment file for one period: every granted amount of that period
    not yet paid, handed to the paying bank (代发) by the department, then confirmed paid."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="payment_batches")
    period = models.CharField(max_length=10)
    number = models.CharField("批次号", max_length=40, unique=True)  # SH-MZJ-P001-2026-12-01
    count = models.PositiveIntegerField("笔数")
    total = models.DecimalField("金额合计", max_digits=16, decimal_places=2)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    paid_at = models.DateTimeField("发放时间", null=True, blank=True)
    paid_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "发放批次"
        verbose_name_plural = "发放批次"
        ordering = ["-created_at", "-id"]

    @property
    def total_label(self) -> str:
        return f"{self.total:,.2f}"


class EligibilityReview(models.Model):
    """资格复核 — someone with an ongoing benefit whom a run no longer finds eligible. Never cut
    silently: a person of the policy's department decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "待复核"
        CONTINUED = "continued", "继续享受"
        STOPPED = "stopped", "停止享受"

    match = models.OneToOneField(PolicyMatch, on_delete=models.CASCADE, related_name="review")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField("不再符合的条件", max_length=200)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=60, blank=True)
    # Why it was stopped (told to the person) or continued.
    note = models.CharField("复核意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "资格复核"
        verbose_name_plural = "资格复核"


class FundRound(models.Model):
    """专项资金申报批次 — the state of one round of a 专项资金 policy (its dates and budget are
    in the policy definition): results published for 公示, then granted."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="fund_rounds")
    code = models.CharField("批次", max_length=10)
    published_at = models.DateTimeField("公示时间", null=True, blank=True)
    published_by = models.CharField(max_length=60, blank=True)
    objection_until = models.DateField("异议截止日期", null=True, blank=True)
    granted_at = models.DateTimeField("资助下达时间", null=True, blank=True)
    granted_by = models.CharField(max_length=60, blank=True)

    class Meta:
        verbose_name = "专项资金批次"
        verbose_name_plural = "专项资金批次"
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="one_state_per_fund_round")
        ]


class FundScore(models.Model):
    """专项资金评审 — the department's score and proposed award for one application of a round."""

    round = models.ForeignKey(FundRound, on_delete=models.CASCADE, related_name="scores")
    application = models.OneToOneField(
        "cases.Application", on_delete=models.PROTECT, related_name="fund_score"
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise", on_delete=models.PROTECT, related_name="+"
    )
    score = models.PositiveSmallIntegerField("评审得分")
    amount = models.DecimalField("拟资助金额（元）", max_digits=12, decimal_places=2)
    note = models.CharField("评审意见", max_length=300, blank=True)
    scored_by = models.CharField(max_length=60)
    scored_at = models.DateTimeField()

    @property
    def awarded(self) -> bool:
        return self.amount > 0

    @property
    def amount_label(self) -> str:
        return f"{self.amount:,.2f}"


class FundObjection(models.Model):
    """公示异议 — an objection raised against a round's published results, and the reply."""

    round = models.ForeignKey(FundRound, on_delete=models.CASCADE, related_name="objections")
    raised_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    text = models.CharField("异议内容", max_length=1000)
    raised_at = models.DateTimeField()
    reply = models.CharField("答复", max_length=1000, blank=True)
    replied_by = models.CharField(max_length=60, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
