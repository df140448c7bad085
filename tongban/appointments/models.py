"""Rows of the hall as a service (§一、§二十六 统一预约、线下超级智能政务服务窗口; §十四 轮候;
§八 文旅/健身 统一在线预约):

- where service is given: halls (政务服务大厅, 市/区/街镇), their windows (综合窗口, 专窗,
  出件窗口), service points (自助终端, 24小时自助区) and venues (文旅/健身场馆);
- 统一预约: booking rules, the slots they generate, bookings;
- 取号叫号: the clerk at a window, tickets, the queue's events, daily waiting figures;
- 轮候: waiting lists, their places, entries, offers and events.

Only rows and single-row rules here; the writes are in services/, the reads in selectors/.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.accounts.models import District

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class HallLevel(models.TextChoices):
    """大厅层级 — 两个集中: enterprise matters go to district centres, personal matters to
    the 街镇社区事务受理服务中心; the city centre handles both."""

    CITY = "city", "市级"
    DISTRICT = "district", "区级"
    STREET = "street", "街镇"


def _hours_default() -> list:
    return [[] for _ in range(7)]


class OpeningHours(models.Model):
    """Weekly opening hours with the holiday calendar, shared by halls, service points and
    venues. `weekly_hours` has seven entries, Monday first, each a list of ["HH:MM", "HH:MM"]
    periods. On an official day off (放假) the place is closed unless `open_on_holidays`; on
    a weekend day worked instead (调休上班) it keeps Monday's hours."""

    weekly_hours = models.JSONField("每周开放时间", default=_hours_default, blank=True)
    open_on_holidays = models.BooleanField("节假日照常开放", default=False)

    class Meta:
        abstract = True

    def periods_on(self, day: dt.date) -> list[tuple[dt.time, dt.time]]:
        """The periods the place is open on DAY (local times), [] when closed. Raises the
        calendar's CalendarNotCovered for a year the holiday file does not cover."""
        from tongban.common.calendar import default_calendar

        calendar = default_calendar()
        calendar.check_covered(day)
        if day in calendar.days_off and not self.open_on_holidays:
            return []
        weekday = 0 if day in calendar.extra_working_days else day.weekday()
        hours = self.weekly_hours or []
        periods = hours[weekday] if weekday < len(hours) else []
        return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in periods]

    def open_at(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ)
        return any(a <= local.time() < b for a, b in self.periods_on(local.date()))


class Hall(OpeningHours):
    """政务服务大厅 — a place residents walk into: where counter clerks file cases (帮办), the
    queue is called (取号叫号) and the unified window hands out results (统一窗口出件). Its
    level says which matters it takes (两个集中); HallItem lists the items it handles."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=80)
    level = models.CharField(
        "层级", max_length=10, choices=HallLevel.choices, default=HallLevel.DISTRICT
    )
    district = models.CharField("所在区", max_length=6, choices=District.choices)
    street = models.CharField("所在街镇", max_length=40, blank=True)
    address = models.CharField("地址", max_length=200)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    phone = models.CharField("咨询电话", max_length=20, blank=True)
    # The hours as people read them ("工作日 9:00-17:00"); weekly_hours is what slots use.
    opening_hours = models.CharField("办公时间", max_length=200, blank=True)
    # The hall's own 随申码 scanner (entrance check-in, the counters): its scans are logged
    # under the hall_checkin scenario like any connected scanner's.
    scanner = models.ForeignKey(
        "idcode.Scanner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="扫码终端",
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "政务服务大厅"
        verbose_name_plural = "政务服务大厅"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class HallItem(models.Model):
    """大厅可办事项 — one service item a hall handles (by the item's code)."""

    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="items")
    item_code = models.CharField("事项编码", max_length=64)

    class Meta:
        verbose_name = "大厅可办事项"
        verbose_name_plural = "大厅可办事项"
        constraints = [models.UniqueConstraint(fields=["hall", "item_code"], name="hall_item_once")]
        indexes = [models.Index(fields=["item_code"], name="hall_item_by_item")]


class WindowKind(models.TextChoices):
    """窗口类型 — 综合窗口 take any item the hall handles (无差别受理); a 专窗 takes its
    department's items; 出件窗口 hand out results. 综合窗口设置比例 counts the first two."""

    COMPREHENSIVE = "comprehensive", "综合窗口"
    DEPARTMENT = "department", "专窗"
    HANDOUT = "handout", "出件窗口"


class Window(models.Model):
    """窗口 — one counter position in a hall, e.g. "A03 综合受理"."""

    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="windows")
    number = models.CharField("窗口号", max_length=8)
    name = models.CharField("名称", max_length=60)
    kind = models.CharField(
        "类型", max_length=14, choices=WindowKind.choices, default=WindowKind.COMPREHENSIVE
    )
    # A 专窗's department; its items are that department's among the hall's.
    department = models.ForeignKey(
        "catalog.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="所属部门",
    )
    # Narrows what the window takes to these item codes; empty: everything its kind allows.
    item_codes = models.JSONField("仅办理事项", default=list, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "窗口"
        verbose_name_plural = "窗口"
        ordering = ["hall", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="window_number_per_hall"),
            models.CheckConstraint(
                condition=~Q(kind="department") | Q(department__isnull=False),
                name="department_window_has_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.number}"

    def serves(self, item_code: str, item_department_id: int | None) -> bool:
        """Whether this window takes ITEM_CODE (an item of ITEM_DEPARTMENT_ID) — the hall
        handling the item is checked by the caller."""
        if not self.is_active or self.kind == WindowKind.HANDOUT:
            return False
        if self.item_codes and item_code not in self.item_codes:
            return False
        if self.kind == WindowKind.DEPARTMENT:
            return self.department_id == item_department_id
        return True


class ServicePointKind(models.TextChoices):
    KIOSK = "kiosk", "自助终端"
    AREA_24H = "area_24h", "24小时自助区"


class ServicePoint(OpeningHours):
    """服务点 — a self-service terminal or a 24-hour self-service area, in a hall or on its
    own (a bank branch, a 居委会); with the halls, the points of the 15分钟服务圈. A terminal
    is enrolled as a kiosk (自助终端模式) by staff of its hall logged in on it: the browser
    then holds a key (only its keyed hash is kept here) and scans 随申码 through `scanner`."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=80)
    kind = models.CharField("类型", max_length=10, choices=ServicePointKind.choices)
    hall = models.ForeignKey(
        Hall,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_points",
        verbose_name="所在大厅",
    )
    district = models.CharField("所在区", max_length=6, choices=District.choices)
    address = models.CharField("地址", max_length=200)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    # The self-service items one can do here (on a terminal: the guide + one form).
    item_codes = models.JSONField("可自助办理事项", default=list, blank=True)
    scanner = models.ForeignKey(
        "idcode.Scanner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="扫码终端",
    )
    # A keyed hash of the key the enrolled browser holds; empty until enrolled.
    kiosk_key_hash = models.CharField(max_length=64, blank=True)
    kiosk_enrolled_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "服务点"
        verbose_name_plural = "服务点"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class VenueKind(models.TextChoices):
    SPORTS = "sports", "体育健身"
    CULTURE = "culture", "文化旅游"


class Venue(OpeningHours):
    """文旅/健身场馆 — a public venue booked through 统一预约 (a sports hall's courts, a
    museum's entry times); its bookable resources are its booking rules."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=80)
    kind = models.CharField("类型", max_length=10, choices=VenueKind.choices)
    district = models.CharField("所在区", max_length=6, choices=District.choices)
    address = models.CharField("地址", max_length=200)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    department = models.ForeignKey(
        "catalog.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField("简介", blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "场馆"
        verbose_name_plural = "场馆"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------- 统一预约


class BookingRule(models.Model):
    """预约规则 — how a hall's item (or a venue's resource) is offered: slots of
    `slot_minutes` within the opening hours, `capacity` places each, bookable up to
    `days_ahead` days ahead. Slots are generated from it (services.booking)."""

    hall = models.ForeignKey(
        Hall, null=True, blank=True, on_delete=models.PROTECT, related_name="booking_rules"
    )
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="booking_rules"
    )
    item_code = models.CharField("事项编码", max_length=64, blank=True)
    resource = models.CharField("场地/项目", max_length=60, blank=True)
    slot_minutes = models.PositiveSmallIntegerField("每个时段（分钟）", default=30)
    capacity = models.PositiveSmallIntegerField("每时段名额", default=4)
    days_ahead = models.PositiveSmallIntegerField("可提前预约天数", default=14)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "预约规则"
        verbose_name_plural = "预约规则"
        constraints = [
            models.CheckConstraint(
                condition=(Q(hall__isnull=False, venue__isnull=True) & ~Q(item_code=""))
                | (Q(hall__isnull=True, venue__isnull=False) & ~Q(resource="")),
                name="booking_rule_hall_item_or_venue_resource",
            ),
            models.UniqueConstraint(
                fields=["hall", "item_code"],
                condition=Q(hall__isnull=False),
                name="booking_rule_once_per_hall_item",
            ),
            models.UniqueConstraint(
                fields=["venue", "resource"],
                condition=Q(venue__isnull=False),
                name="booking_rule_once_per_venue_resource",
            ),
        ]


class Slot(models.Model):
    """预约时段 — one period of a booking rule with its places. `booked` only ever moves
    by a conditional UPDATE (booked < capacity) and the check constraint stands behind it:
    the last place cannot be sold twice, whatever the concurrency."""

    rule = models.ForeignKey(BookingRule, on_delete=models.PROTECT, related_name="slots")
    hall = models.ForeignKey(
        Hall, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item_code = models.CharField(max_length=64, blank=True)
    resource = models.CharField(max_length=60, blank=True)
    day = models.DateField()  # local date
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "预约时段"
        verbose_name_plural = "预约时段"
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "starts_at"], name="slot_once_per_rule_start"),
            models.CheckConstraint(
                condition=Q(booked__lte=models.F("capacity")), name="slot_never_overbooked"
            ),
        ]
        indexes = [
            models.Index(fields=["hall", "item_code", "day"], name="slot_by_hall_item_day"),
            models.Index(fields=["venue", "day"], name="slot_by_venue_day"),
            models.Index(fields=["day"], name="slot_by_day"),  # 服务指标: a day's bookings
        ]

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "已预约"
    CHECKED_IN = "checked_in", "已签到"
    COMPLETED = "completed", "已办理"
    CANCELLED = "cancelled", "已取消"
    NO_SHOW = "no_show", "未到场（爽约）"


ACTIVE_BOOKING = (BookingStatus.BOOKED, BookingStatus.CHECKED_IN)


class Booking(models.Model):
    """预约 — a place in a slot, for one person (and, for an enterprise matter, the
    enterprise they act for). Made by the person or by a clerk on their behalf
    (`booked_by`); may serve a case (a 补正 that needs a visit, a 婚姻登记 appointment).
    Rescheduling cancels this booking and makes a new one that names it."""

    reference = models.CharField("预约号", max_length=20, unique=True)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    enterprise = models.ForeignKey(
        "accounts.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=BookingStatus.choices)
    rescheduled_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescheduled_to"
    )
    created_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # cancelled, no-show or completed
    # The client's Idempotency-Key (API): the same key from the same person is the same booking.
    idempotency_key = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name = "预约"
        verbose_name_plural = "预约"
        ordering = ["-created_at"]
        constraints = [
            # Double submits, two tabs: one person holds one place in a slot.
            models.UniqueConstraint(
                fields=["user", "slot"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="booking_once_per_user_slot",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="booking_once_per_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="booking_by_user_status"),
            models.Index(fields=["status", "reminded_at"], name="booking_by_status_reminded"),
            # 服务指标: bookings made, kept or cancelled since the last roll-up.
            models.Index(fields=["created_at"], name="booking_created"),
            models.Index(fields=["closed_at"], name="booking_closed"),
            models.Index(fields=["checked_in_at"], name="booking_checked_in"),
        ]


# ---------------------------------------------------------------- 取号叫号


class WindowSession(models.Model):
    """窗口签到 — a clerk sitting at a window, from sign-in to sign-out. Calling the queue and
    filing at the counter name this window; the case records it (好差评's 三对应)."""

    window = models.ForeignKey(Window, on_delete=models.PROTECT, related_name="sessions")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "窗口签到"
        verbose_name_plural = "窗口签到"
        constraints = [
            models.UniqueConstraint(
                fields=["window"], condition=Q(ended_at__isnull=True), name="one_clerk_per_window"
            ),
            models.UniqueConstraint(
                fields=["clerk"], condition=Q(ended_at__isnull=True), name="one_window_per_clerk"
            ),
        ]


class TicketSource(models.TextChoices):
    BOOKING = "booking", "预约签到"
    KIOSK = "kiosk", "自助取号"
    RECEPTION = "reception", "导服台取号"


class TicketStatus(models.TextChoices):
    WAITING = "waiting", "等候中"
    CALLED = "called", "已叫号"
    SERVING = "serving", "办理中"
    DONE = "done", "已办结"
    SKIPPED = "skipped", "已过号"
    CANCELLED = "cancelled", "已取消"


OPEN_TICKET = (TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING)


class Ticket(models.Model):
    """排队号 — one place in a hall's queue for one item, taken by checking in a booking or
    as a walk-in. `number` is what the screen shows (e.g. "A015"); `name_masked` the only
    personal data the screen may show. Bookings are called first within their slot
    (`slot_starts_at`); a transfer names the window that must call it next."""

    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField()  # local date
    number = models.CharField("号码", max_length=8)
    sequence = models.PositiveIntegerField()
    item_code = models.CharField(max_length=64)
    source = models.CharField(max_length=10, choices=TicketSource.choices)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="ticket"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name_masked = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=10, choices=TicketStatus.choices)
    slot_starts_at = models.DateTimeField(null=True, blank=True)
    window = models.ForeignKey(
        Window, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    transferred_to = models.ForeignKey(
        Window, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taken_at = models.DateTimeField()
    called_at = models.DateTimeField(null=True, blank=True)  # first call: the wait ends here
    finished_at = models.DateTimeField(null=True, blank=True)
    calls = models.PositiveSmallIntegerField(default=0)
    transferred_at = models.DateTimeField(null=True, blank=True)  # orders transferred tickets
    soon_notified_at = models.DateTimeField(null=True, blank=True)  # 即将轮到您, told once
    # 过号重排: the latest time the reception put a skipped ticket back in line; it then
    # waits like a walk-in taken at this time (behind everybody already waiting).
    requeued_at = models.DateTimeField("重新排队时间", null=True, blank=True)

    class Meta:
        verbose_name = "排队号"
        verbose_name_plural = "排队号"
        ordering = ["hall", "day", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "day", "number"], name="ticket_number_per_day"),
            models.UniqueConstraint(
                fields=["hall", "day", "sequence"], name="ticket_sequence_per_day"
            ),
        ]
        indexes = [
            models.Index(fields=["hall", "day", "status"], name="ticket_queue"),
            models.Index(fields=["user", "day"], name="ticket_by_user_day"),
            models.Index(fields=["day"], name="ticket_by_day"),  # 服务指标: a day's tickets
        ]


class QueueEventKind(models.TextChoices):
    TAKEN = "taken", "取号"
    CALLED = "called", "叫号"
    RECALLED = "recalled", "重呼"
    SKIPPED = "skipped", "过号"
    TRANSFERRED = "transferred", "转窗口"
    STARTED = "started", "开始办理"
    DONE = "done", "办结"
    CANCELLED = "cancelled", "取消"
    REQUEUED = "requeued", "重新排队"


class QueueEvent(models.Model):
    """叫号记录 — every move of a ticket, in order; the hall's screen reads the calls after
    the last one it showed, so an update needs no reload and no personal data."""

    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=QueueEventKind.choices)
    window = models.ForeignKey(
        Window, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=60, blank=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "叫号记录"
        verbose_name_plural = "叫号记录"
        indexes = [models.Index(fields=["hall", "id"], name="queue_event_feed")]


class WaitStat(models.Model):
    """等候时长日统计 — per hall and day (window empty: the whole hall) and per window:
    tickets called, average and 90th-percentile wait from taking the number to the first
    call. Computed from the tickets after the day ends, again if a late call changes it."""

    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="+")
    window = models.ForeignKey(
        Window, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    tickets = models.PositiveIntegerField()
    average_wait_seconds = models.PositiveIntegerField()
    p90_wait_seconds = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = "等候时长日统计"
        verbose_name_plural = "等候时长日统计"
        constraints = [
            models.UniqueConstraint(
                fields=["hall", "day"], condition=Q(window__isnull=True), name="wait_stat_hall_day"
            ),
            models.UniqueConstraint(
                fields=["window", "day"],
                condition=Q(window__isnull=False),
                name="wait_stat_window_day",
            ),
        ]


# ---------------------------------------------------------------- 轮候


class WaitingList(models.Model):
    """轮候名单 — allocation by position for scarce places (养老机构入住轮候 first; 公租房
    can reuse it). Defined in YAML (definitions/waiting_lists): its item, its priority
    classes (from the policy: 低保, 失能等级 …, best first) and the days an offer stays open."""

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField("名称", max_length=80)
    item_code = models.CharField("事项编码", max_length=64, blank=True)
    department = models.ForeignKey("catalog.Department", on_delete=models.PROTECT, related_name="+")
    # [{"code": "dibao", "label": "低保对象", "rank": 1, ...}] as the definition gives them.
    priority_classes = models.JSONField(default=list)
    offer_days = models.PositiveSmallIntegerField("接受期限（天）", default=3)
    definition_version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "轮候名单"
        verbose_name_plural = "轮候名单"

    def __str__(self) -> str:
        return self.name


class PlaceStatus(models.TextChoices):
    OCCUPIED = "occupied", "已入住"
    FREE = "free", "空闲"
    OFFERED = "offered", "已发出入住通知"
    CLOSED = "closed", "停用"


class WaitingPlace(models.Model):
    """轮候资源 — one place a list allocates (a bed at a 养老机构, a flat)."""

    waiting_list = models.ForeignKey(WaitingList, on_delete=models.PROTECT, related_name="places")
    facility = models.CharField("机构", max_length=80)
    name = models.CharField("床位/房源", max_length=60)
    district = models.CharField("所在区", max_length=6, choices=District.choices, blank=True)
    status = models.CharField(max_length=10, choices=PlaceStatus.choices)

    class Meta:
        verbose_name = "轮候资源"
        verbose_name_plural = "轮候资源"
        constraints = [
            models.UniqueConstraint(
                fields=["waiting_list", "facility", "name"], name="waiting_place_once"
            )
        ]


class EntryStatus(models.TextChoices):
    WAITING = "waiting", "轮候中"
    OFFERED = "offered", "待确认入住"
    PLACED = "placed", "已入住"
    WITHDRAWN = "withdrawn", "已撤回"
    REMOVED = "removed", "已移出"


class WaitingEntry(models.Model):
    """轮候登记 — one person on a list: ordered by priority rank, then by when they joined.
    A declined or lapsed offer puts them back in their place (policy may say otherwise:
    `declines` counts them)."""

    waiting_list = models.ForeignKey(WaitingList, on_delete=models.PROTECT, related_name="entries")
    # The account that put the person on the list (the person, a relative, a clerk); empty
    # for a person entered by the department who has no account. The person reads and
    # answers through their profile's account.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    profile = models.ForeignKey(
        "accounts.ResidentProfile", on_delete=models.PROTECT, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    priority_class = models.CharField(max_length=32)
    priority_rank = models.PositiveSmallIntegerField()
    joined_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=EntryStatus.choices)
    declines = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "轮候登记"
        verbose_name_plural = "轮候登记"
        constraints = [
            models.UniqueConstraint(
                fields=["waiting_list", "profile"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waiting_entry_once_per_person",
            )
        ]
        indexes = [
            models.Index(
                fields=["waiting_list", "status", "priority_rank", "joined_at"],
                name="waiting_entry_order",
            )
        ]


class OfferStatus(models.TextChoices):
    OPEN = "open", "待答复"
    ACCEPTED = "accepted", "已接受"
    DECLINED = "declined", "已放弃"
    EXPIRED = "expired", "逾期未答复"
    WITHDRAWN = "withdrawn", "已撤回"


class WaitingOffer(models.Model):
    """入住通知 — a freed place offered to the first entry, to accept or decline by
    `respond_by`; then the next."""

    entry = models.ForeignKey(WaitingEntry, on_delete=models.PROTECT, related_name="offers")
    place = models.ForeignKey(WaitingPlace, on_delete=models.PROTECT, related_name="offers")
    status = models.CharField(max_length=10, choices=OfferStatus.choices)
    offered_at = models.DateTimeField()
    respond_by = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "入住通知"
        verbose_name_plural = "入住通知"
        constraints = [
            models.UniqueConstraint(
                fields=["place"], condition=Q(status="open"), name="one_open_offer_per_place"
            ),
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="open"), name="one_open_offer_per_entry"
            ),
        ]


class WaitingEvent(models.Model):
    """轮候记录 — every move of an entry (joined, offered, accepted, declined, expired,
    withdrawn, re-ranked), with the position it had after the move, so the person sees how
    their position moved."""

    entry = models.ForeignKey(WaitingEntry, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16)
    position = models.PositiveIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=60, blank=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "轮候记录"
        verbose_name_plural = "轮候记录"
        ordering = ["at", "id"]
