"""Rows of 服务指标: daily and monthly roll-ups of what the platform records, and the one
raw table of its own (who was active on a day, under a key that changes every month).

Every figure a dashboard shows is a sum over these tables, never over cases: a day's rows
are computed once from the day's cases, ratings and hall records (services.rollup_day) and
computed again only when something of that day changes later. Reading a year therefore
costs twelve monthly rows per group, whether the city filed ten thousand cases or a hundred
million.
"""

from __future__ import annotations

from django.db import models


class ActivityChannel(models.TextChoices):
    WEB = "web", "网站"
    MOBILE = "mobile", "移动端与接口"
    COUNTER = "counter", "窗口"
    KIOSK = "kiosk", "自助终端"


class Audience(models.TextChoices):
    RESIDENT = "resident", "个人"
    ENTERPRISE = "enterprise", "企业"


class ActiveDay(models.Model):
    """活跃记录 — one person seen on one day through one channel, as a key that cannot be
    traced back: HMAC of the account under a key that changes each month, so a month's
    distinct count works and two months cannot be joined. Kept until the month is rolled up
    and closed (services.activity_purge), then only the counts remain."""

    day = models.DateField()
    channel = models.CharField(max_length=8, choices=ActivityChannel.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    person_key = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "audience", "person_key"], name="active_once_a_day"
            )
        ]


class CaseFactFields(models.Model):
    """The counts of one group of cases (see DailyCaseFact); shared by the monthly table."""

    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    service_kind = models.CharField(max_length=6)  # item / bundle, as Application.kind
    service_code = models.CharField(max_length=64)
    hall = models.ForeignKey(
        "appointments.Hall", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=8)  # as Application.channel
    # Filed on the day (提交).
    submitted = models.PositiveIntegerField(default=0)
    # 四减, of the cases filed on the day: what the path through this platform asked of
    # them, and what the same items one by one would have asked ("single_path").
    materials_required = models.PositiveIntegerField(default=0)
    materials_single_path = models.PositiveIntegerField(default=0)
    materials_uploaded = models.PositiveIntegerField(default=0)
    spared_certificate = models.PositiveIntegerField(default=0)
    spared_data_source = models.PositiveIntegerField(default=0)
    spared_commitment = models.PositiveIntegerField(default=0)
    spared_other = models.PositiveIntegerField(default=0)  # produced in the case, profile …
    deferred = models.PositiveIntegerField(default=0)  # 容缺后补
    visits = models.PositiveIntegerField(default=0)
    visits_single_path = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    steps_single_path = models.PositiveIntegerField(default=0)
    promised_days = models.PositiveIntegerField(default=0)
    promised_days_single_path = models.PositiveIntegerField(default=0)
    # Concluded on the day (办结).
    concluded = models.PositiveIntegerField(default=0)
    approved = models.PositiveIntegerField(default=0)
    concluded_same_day = models.PositiveIntegerField(default=0)  # 即办
    concluded_on_time = models.PositiveIntegerField(default=0)
    concluded_late = models.PositiveIntegerField(default=0)  # after the promised date
    full_online = models.PositiveIntegerField(default=0)  # 全程网办: no visit at all
    working_days_total = models.PositiveIntegerField(default=0)
    # {"3": 12, …}: how many concluded after that many working days; days over 60 count
    # as "60". Summed in Python for the 90th percentile.
    working_days_histogram = models.JSONField(default=dict)

    class Meta:
        abstract = True


class DailyCaseFact(CaseFactFields):
    """办件日统计 — the cases of one day, one row per department, service, hall, window and
    channel that had any."""

    day = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["day", "department"], name="casefact_day_dept"),
            models.Index(fields=["day", "hall"], name="casefact_day_hall"),
        ]


class MonthlyCaseFact(CaseFactFields):
    """办件月统计 — the sum of a month's DailyCaseFact rows, per the same groups."""

    month = models.DateField()  # the first day

    class Meta:
        indexes = [
            models.Index(fields=["month", "department"], name="casefact_month_dept"),
            models.Index(fields=["month", "hall"], name="casefact_month_hall"),
        ]


class ReviewFactFields(models.Model):
    """The 好差评 counts of one group (see DailyReviewFact)."""

    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    item_code = models.CharField(max_length=64, blank=True)
    hall = models.ForeignKey(
        "appointments.Hall", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=12)  # as Rating.channel
    ratings = models.PositiveIntegerField(default=0)
    level_1 = models.PositiveIntegerField(default=0)
    level_2 = models.PositiveIntegerField(default=0)
    level_3 = models.PositiveIntegerField(default=0)
    level_4 = models.PositiveIntegerField(default=0)
    level_5 = models.PositiveIntegerField(default=0)
    orders_opened = models.PositiveIntegerField(default=0)  # 差评整改 opened on the day
    orders_closed = models.PositiveIntegerField(default=0)  # closed on the day
    orders_closed_on_time = models.PositiveIntegerField(default=0)
    # {"attitude": 2, …}: the classification of the orders opened on the day, once verified.
    classifications = models.JSONField(default=dict)

    class Meta:
        abstract = True


class DailyReviewFact(ReviewFactFields):
    """好差评日统计 — one day's ratings and work orders per department, item, hall, window
    and channel."""

    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["day", "department"], name="reviewfact_day_dept")]


class MonthlyReviewFact(ReviewFactFields):
    """好差评月统计."""

    month = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["month", "department"], name="reviewfact_month_dept")]


class HallFactFields(models.Model):
    """What one hall (window blank) or one window of it did (see DailyHallFact)."""

    hall = models.ForeignKey("appointments.Hall", on_delete=models.PROTECT, related_name="+")
    window = models.ForeignKey(
        "appointments.Window", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Hall rows only: the windows it had open (综合窗口设置比例), counted in window-days so a
    # month sums; and the bookings for the day.
    windows_comprehensive = models.PositiveIntegerField(default=0)
    windows_department = models.PositiveIntegerField(default=0)
    bookings = models.PositiveIntegerField(default=0)
    bookings_kept = models.PositiveIntegerField(default=0)
    bookings_missed = models.PositiveIntegerField(default=0)
    bookings_cancelled = models.PositiveIntegerField(default=0)
    # Tickets: taken (hall rows), and called with their wait (per window, and the hall sum).
    tickets = models.PositiveIntegerField(default=0)
    tickets_called = models.PositiveIntegerField(default=0)
    wait_seconds_total = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyHallFact(HallFactFields):
    """大厅日统计 — windows, bookings, tickets and waits of one hall (or window) on one day."""

    day = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["day", "hall"], name="hallfact_day_hall")]


class MonthlyHallFact(HallFactFields):
    """大厅月统计."""

    month = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["month", "hall"], name="hallfact_month_hall")]


class ActiveUsers(models.Model):
    """活跃用户数 — distinct people of a day (period=day) or a month (period=month), per
    channel and audience; channel "all" and audience "all" count each person once."""

    period = models.CharField(max_length=5)  # day / month
    start = models.DateField()  # the day, or the first of the month
    channel = models.CharField(max_length=8)  # an ActivityChannel or "all"
    audience = models.CharField(max_length=10)  # an Audience or "all"
    users = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "start", "channel", "audience"], name="active_users_once"
            )
        ]


class RolledUpDay(models.Model):
    """统计进度 — when a day (and its month) were last computed, and from what. A day is
    computed again only when a fact of it changed after this (services.rollup_sweep)."""

    day = models.DateField(unique=True)
    computed_at = models.DateTimeField()
    cases = models.PositiveIntegerField(default=0)  # cases filed that day, for the operator
    seconds = models.FloatField(default=0)


class RollupWatermark(models.Model):
    """How far the roll-up has read each source's changes ("cases" → the newest
    Application.updated_at seen, …): a change after the watermark marks its day dirty."""

    source = models.CharField(max_length=20, unique=True)
    seen_until = models.DateTimeField(null=True, blank=True)
    seen_id = models.BigIntegerField(default=0)
