"""Writes of 服务指标: the daily roll-up, its monthly sum, and the activity marks.

A day is computed from its sources in one transaction (delete the day's rows, insert the
new ones, write the audit row); its month is summed again from the daily rows in the same
transaction, so a reader never sees a month that disagrees with its days. `rollup_sweep`
decides which days need it: today (at most every TONGBAN_METRICS_REFRESH_SECONDS), and any
earlier day a source changed for after the day was computed (a case concluded, a rating
excluded on appeal, a late booking record) — found by each source's watermark, so finding
them costs the number of changes, not the number of cases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from tongban.accounts.models import StaffAssignment
from tongban.appointments.models import (
    Booking,
    BookingStatus,
    QueueEvent,
    Ticket,
    Window,
    WindowKind,
)
from tongban.cases.models import (
    Application,
    CaseKind,
    CaseOutcome,
    Channel,
    Delivery,
    MaterialHow,
    MaterialSubmission,
)
from tongban.catalog.selectors import item_definition
from tongban.common.calendar import CalendarNotCovered, working_days_between
from tongban.common.crypto import lookup_hash
from tongban.common.services import audit_record
from tongban.metrics.models import (
    ActiveDay,
    ActiveUsers,
    ActivityChannel,
    Audience,
    DailyCaseFact,
    DailyHallFact,
    DailyReviewFact,
    MonthlyCaseFact,
    MonthlyHallFact,
    MonthlyReviewFact,
    RolledUpDay,
    RollupWatermark,
)
from tongban.reviews.models import OrderEvent, Rating, RatingSubject, WorkOrder

logger = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ACTOR = "system:metrics"
HISTOGRAM_CAP = 60
# A transaction that began before the sweep read a source may commit after it with an older
# timestamp: every sweep reads this far back again (recomputing a day twice is harmless).
WATERMARK_OVERLAP = dt.timedelta(minutes=5)

CASE_COUNTERS = (
    "submitted",
    "materials_required",
    "materials_single_path",
    "materials_uploaded",
    "spared_certificate",
    "spared_data_source",
    "spared_commitment",
    "spared_other",
    "deferred",
    "visits",
    "visits_single_path",
    "steps",
    "steps_single_path",
    "promised_days",
    "promised_days_single_path",
    "concluded",
    "approved",
    "concluded_same_day",
    "concluded_on_time",
    "concluded_late",
    "full_online",
    "working_days_total",
)
CASE_GROUP = ("department_id", "service_kind", "service_code", "hall_id", "window_id", "channel")
REVIEW_COUNTERS = (
    "ratings",
    "level_1",
    "level_2",
    "level_3",
    "level_4",
    "level_5",
    "orders_opened",
    "orders_closed",
    "orders_closed_on_time",
)
REVIEW_GROUP = ("department_id", "item_code", "hall_id", "window_id", "channel")
HALL_COUNTERS = (
    "windows_comprehensive",
    "windows_department",
    "bookings",
    "bookings_kept",
    "bookings_missed",
    "bookings_cancelled",
    "tickets",
    "tickets_called",
    "wait_seconds_total",
)
HALL_GROUP = ("hall_id", "window_id")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
    return start, start + dt.timedelta(days=1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


# --- activity (活跃用户) ---------------------------------------------------------------


def person_key(*, user_id: int, day: dt.date) -> str:
    """The month's key of one account: the same all month, unrelated to next month's."""
    return lookup_hash(str(user_id), context=f"metrics.active:{day:%Y-%m}")[:32]


def activity_record(*, user_ids: Iterable[int], channel: str, audience: str, day: dt.date) -> int:
    """Marks people active on DAY: one row per person, channel and audience however often
    they come back (the unique constraint absorbs the rest). Returns rows offered."""
    rows = [
        ActiveDay(
            day=day, channel=channel, audience=audience, person_key=person_key(user_id=u, day=day)
        )
        for u in set(user_ids)
    ]
    ActiveDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def activity_purge(*, today: dt.date) -> int:
    """Removes the marks of months before last month: their counts are rolled up by then
    (a month is summed whenever one of its days is), and the keys serve nothing else."""
    keep_from = month_start(month_start(today) - dt.timedelta(days=1))
    deleted, _ = ActiveDay.objects.filter(day__lt=keep_from).delete()
    return deleted


def _active_counts(qs) -> list[tuple[str, str, int]]:
    """(channel, audience, distinct people) for every channel/audience and the "all" sums."""
    out = [
        (r["channel"], r["audience"], r["n"])
        for r in qs.values("channel", "audience").annotate(n=Count("person_key", distinct=True))
    ]
    out += [
        (r["channel"], "all", r["n"])
        for r in qs.values("channel").annotate(n=Count("person_key", distinct=True))
    ]
    out += [
        ("all", r["audience"], r["n"])
        for r in qs.values("audience").annotate(n=Count("person_key", distinct=True))
    ]
    total = qs.aggregate(n=Count("person_key", distinct=True))["n"]
    if total:
        out.append(("all", "all", total))
    return out


# --- one day ----------------------------------------------------------------------------


@dataclass
class _Groups:
    counters: tuple[str, ...]
    rows: dict[tuple, dict[str, int]] = field(default_factory=dict)
    histograms: dict[tuple, dict[str, int]] = field(default_factory=dict)

    def add(self, key: tuple, **counts: int) -> None:
        row = self.rows.setdefault(key, dict.fromkeys(self.counters, 0))
        for name, value in counts.items():
            row[name] += value

    def histogram(self, key: tuple, days: int) -> None:
        bucket = str(min(max(days, 0), HISTOGRAM_CAP))
        hist = self.histograms.setdefault(key, {})
        hist[bucket] = hist.get(bucket, 0) + 1


@lru_cache(maxsize=4096)
def _item_shape(code: str, version: int) -> tuple[int, int]:
    """(最多跑动次数, 办理环节) of an item version, as its guide publishes them."""
    try:
        item = item_definition(code, version)
    except Exception:  # a definition gone from the catalog counts as nothing saved
        return 0, 0
    return item.visits, len(item.process)


def _case_shape(case: dict[str, Any]) -> dict[str, int]:
    """四减 of one case: what it asked of the applicant against the same items one by one."""
    plan = case["plan"] or {}
    items = plan.get("items") or []
    materials = [m for m in plan.get("materials") or [] if m.get("required", True)]
    shapes = [_item_shape(i["code"], i["version"]) for i in items]
    visits_single = sum(s[0] for s in shapes)
    steps_single = sum(s[1] for s in shapes)
    promised_single = sum(int(i.get("promised_days") or 0) for i in items)
    visits = int(case["channel"] == Channel.COUNTER) + int(case["delivery"] == Delivery.COUNTER)
    if case["kind"] == CaseKind.BUNDLE:
        # One application runs every item's steps side by side: the longest path counts.
        steps = max((s[1] for s in shapes), default=0)
    else:
        steps = steps_single
    promised = promised_single
    if case["promised_date"]:
        with contextlib.suppress(CalendarNotCovered):
            promised = max(
                working_days_between(local_day(case["submitted_at"]), case["promised_date"]), 0
            )
    return {
        "materials_required": len(materials),
        "materials_single_path": sum(max(len(m.get("items") or []), 1) for m in materials),
        "visits": visits,
        "visits_single_path": max(visits_single, visits),
        "steps": steps,
        "steps_single_path": steps_single,
        "promised_days": promised,
        "promised_days_single_path": max(promised_single, promised),
    }


def _material_counts(case_ids: list[int]) -> dict[int, dict[str, int]]:
    """How each case's materials were satisfied, one count per material (a material with
    three uploaded pages counts once)."""
    seen: dict[int, dict[str, str]] = defaultdict(dict)
    # Later rows win: a 容缺 material uploaded afterwards counts as uploaded.
    rows = (
        MaterialSubmission.objects.filter(case_id__in=case_ids)
        .order_by("id")
        .values_list("case_id", "material_code", "how", "certificate_serial", "source_code")
    )
    for case_id, code, how, serial, source in rows.iterator(chunk_size=5000):
        if how == MaterialHow.WAIVED:
            kind = (
                "spared_certificate"
                if serial
                else "spared_data_source"
                if source
                else "spared_other"
            )
        elif how == MaterialHow.COMMITMENT:
            kind = "spared_commitment"
        elif how == MaterialHow.DEFERRED:
            kind = "deferred"
        elif how == MaterialHow.UPLOAD:
            kind = "materials_uploaded"
        else:  # 平台稍后核验: spared once the source answers
            kind = "spared_data_source"
        seen[case_id][code] = kind
    out: dict[int, dict[str, int]] = {}
    for case_id, by_code in seen.items():
        counts: dict[str, int] = defaultdict(int)
        for kind in by_code.values():
            counts[kind] += 1
        out[case_id] = dict(counts)
    return out


def _chunks(values: list, size: int = 5000):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _case_groups(day: dt.date) -> tuple[_Groups, list[tuple[int, int | None, str]]]:
    start, end = day_bounds(day)
    groups = _Groups(CASE_COUNTERS)
    counter_people: list[tuple[int, int | None, str]] = []
    fields = (
        "id",
        "kind",
        "code",
        "lead_department_id",
        "hall_id",
        "window_id",
        "channel",
        "delivery",
        "promised_date",
        "submitted_at",
        "applicant_id",
        "enterprise_id",
    )

    def key(c: dict[str, Any]) -> tuple:
        return (
            c["lead_department_id"],
            c["kind"],
            c["code"],
            c["hall_id"],
            c["window_id"],
            c["channel"],
        )

    filed = list(
        Application.objects.filter(submitted_at__gte=start, submitted_at__lt=end).values(
            *fields, "plan"
        )
    )
    for chunk in _chunks(filed):
        materials = _material_counts([c["id"] for c in chunk])
        for c in chunk:
            groups.add(key(c), submitted=1, **_case_shape(c), **materials.get(c["id"], {}))
            if c["channel"] == Channel.COUNTER or c["enterprise_id"]:
                counter_people.append((c["applicant_id"], c["enterprise_id"], c["channel"]))
    visited = Q(Exists(_encounters().filter(case=OuterRef("pk")))) | Q(
        Exists(Ticket.objects.filter(case=OuterRef("pk")))
    )
    concluded = (
        Application.objects.filter(concluded_at__gte=start, concluded_at__lt=end)
        .annotate(visited=visited)
        .values(*fields, "concluded_at", "outcome", "visited")
    )
    for c in concluded.iterator(chunk_size=5000):
        k = key(c)
        done_on = local_day(c["concluded_at"])
        filed_on = local_day(c["submitted_at"])
        on_time = c["promised_date"] is None or done_on <= c["promised_date"]
        try:
            days = max(working_days_between(filed_on, done_on), 0)
        except CalendarNotCovered:
            days = max((done_on - filed_on).days, 0)
        groups.add(
            k,
            concluded=1,
            approved=int(c["outcome"] in (CaseOutcome.APPROVED, CaseOutcome.PARTLY_APPROVED)),
            concluded_same_day=int(done_on == filed_on),
            concluded_on_time=int(on_time),
            concluded_late=int(not on_time),
            full_online=int(
                c["channel"] in (Channel.ONLINE, Channel.AUTOMATIC)
                and c["delivery"] == Delivery.ONLINE
                and not c["visited"]
            ),
            working_days_total=days,
        )
        groups.histogram(k, days)
    return groups, counter_people


def _encounters():
    from tongban.reviews.models import ServiceEncounter

    return ServiceEncounter.objects.all()


def _review_groups(day: dt.date) -> _Groups:
    start, end = day_bounds(day)
    groups = _Groups(REVIEW_COUNTERS)
    classifications: dict[tuple, dict[str, int]] = {}
    subjects = (
        RatingSubject.objects.filter(
            rating__created_at__gte=start, rating__created_at__lt=end, rating__excluded=False
        )
        .values(
            "department_id",
            "item_code",
            "rating__hall_id",
            "rating__window_id",
            "rating__channel",
            "rating__level",
        )
        .annotate(n=Count("rating_id", distinct=True))
    )
    for s in subjects:
        k = (
            s["department_id"],
            s["item_code"],
            s["rating__hall_id"],
            s["rating__window_id"],
            s["rating__channel"],
        )
        groups.add(k, ratings=s["n"], **{f"level_{s['rating__level']}": s["n"]})

    def order_key(order: WorkOrder) -> tuple:
        rating = order.rating
        item = next(
            (s.item_code for s in rating.subjects.all() if s.department_id == order.department_id),
            "",
        )
        return (order.department_id, item, rating.hall_id, rating.window_id, rating.channel)

    orders = (
        WorkOrder.objects.filter(rating__isnull=False, rating__excluded=False)
        .select_related("rating")
        .prefetch_related("rating__subjects")
    )
    for o in orders.filter(created_at__gte=start, created_at__lt=end):
        k = order_key(o)
        groups.add(k, orders_opened=1)
        if o.classification:
            cls = classifications.setdefault(k, {})
            cls[o.classification] = cls.get(o.classification, 0) + 1
    for o in orders.filter(closed_at__gte=start, closed_at__lt=end):
        groups.add(order_key(o), orders_closed=1, orders_closed_on_time=int(bool(o.closed_on_time)))
    groups.histograms = classifications
    return groups


def _hall_groups(day: dt.date, previous: dict[tuple, dict[str, int]]) -> _Groups:
    groups = _Groups(HALL_COUNTERS)
    today = timezone.localdate()
    # Windows are a state, not events: a day keeps the count it was first computed with,
    # and only today (or a day never computed) reads the halls as they are now.
    if day >= today or not previous:
        windows = (
            Window.objects.filter(is_active=True, hall__is_active=True)
            .values("hall_id", "kind")
            .annotate(n=Count("id"))
        )
        for w in windows:
            if w["kind"] == WindowKind.COMPREHENSIVE:
                groups.add((w["hall_id"], None), windows_comprehensive=w["n"])
            elif w["kind"] == WindowKind.DEPARTMENT:
                groups.add((w["hall_id"], None), windows_department=w["n"])
    else:
        for k, counts in previous.items():
            if counts["windows_comprehensive"] or counts["windows_department"]:
                groups.add(
                    k,
                    windows_comprehensive=counts["windows_comprehensive"],
                    windows_department=counts["windows_department"],
                )
    bookings = (
        Booking.objects.filter(slot__day=day, slot__hall__isnull=False)
        .values("slot__hall_id", "status")
        .annotate(n=Count("id"))
    )
    for b in bookings:
        k = (b["slot__hall_id"], None)
        groups.add(
            k,
            bookings=b["n"],
            bookings_kept=b["n"]
            if b["status"] in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)
            else 0,
            bookings_missed=b["n"] if b["status"] == BookingStatus.NO_SHOW else 0,
            bookings_cancelled=b["n"] if b["status"] == BookingStatus.CANCELLED else 0,
        )
    tickets = Ticket.objects.filter(day=day).values_list(
        "hall_id", "window_id", "taken_at", "called_at"
    )
    for hall_id, window_id, taken_at, called_at in tickets.iterator(chunk_size=5000):
        groups.add((hall_id, None), tickets=1)
        if called_at:
            wait = max(int((called_at - taken_at).total_seconds()), 0)
            groups.add((hall_id, None), tickets_called=1, wait_seconds_total=wait)
            if window_id:
                groups.add((hall_id, window_id), tickets_called=1, wait_seconds_total=wait)
    return groups


def _people_of_tickets(day: dt.date) -> list[int]:
    return list(
        Ticket.objects.filter(day=day, user__isnull=False, called_at__isnull=False)
        .values_list("user_id", flat=True)
        .distinct()
    )


def _staff_ids(user_ids: set[int]) -> set[int]:
    return set(
        StaffAssignment.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True)
    )


def _record_case_activity(day: dt.date, people: list[tuple[int, int | None, str]]) -> None:
    """Activity the cases themselves show: the people served at a counter (filed for them,
    or called from a hall's queue) and, for enterprises, whoever filed in a firm's name."""
    counter = {a for a, e, ch in people if ch == Channel.COUNTER and not e}
    counter |= set(_people_of_tickets(day))
    counter -= _staff_ids(counter)
    activity_record(
        user_ids=counter, channel=ActivityChannel.COUNTER, audience=Audience.RESIDENT, day=day
    )
    for case_channel, channel in (
        (Channel.COUNTER, ActivityChannel.COUNTER),
        (Channel.ONLINE, ActivityChannel.WEB),
    ):
        activity_record(
            user_ids=[a for a, e, ch in people if e and ch == case_channel],
            channel=channel,
            audience=Audience.ENTERPRISE,
            day=day,
        )


@dataclass(frozen=True)
class DayRollup:
    day: dt.date
    cases: int
    case_rows: int
    review_rows: int
    hall_rows: int
    seconds: float


def rollup_day(
    *, day: dt.date, now: dt.datetime | None = None, sum_month: bool = True
) -> DayRollup:
    """Computes DAY's facts from scratch, and sums its month again (unless SUM_MONTH is
    False: rollup_range sums each month once, after its last day)."""
    began = time.perf_counter()
    now = now or timezone.now()
    with transaction.atomic():
        case_groups, people = _case_groups(day)
        review_groups = _review_groups(day)
        previous = {
            (r["hall_id"], r["window_id"]): r
            for r in DailyHallFact.objects.filter(day=day).values(*HALL_GROUP, *HALL_COUNTERS)
        }
        hall_groups = _hall_groups(day, previous)

        _record_case_activity(day, people)
        DailyCaseFact.objects.filter(day=day).delete()
        DailyReviewFact.objects.filter(day=day).delete()
        DailyHallFact.objects.filter(day=day).delete()
        DailyCaseFact.objects.bulk_create(
            [
                DailyCaseFact(
                    day=day,
                    **dict(zip(CASE_GROUP, k, strict=True)),
                    **counts,
                    working_days_histogram=case_groups.histograms.get(k, {}),
                )
                for k, counts in case_groups.rows.items()
            ],
            batch_size=1000,
        )
        DailyReviewFact.objects.bulk_create(
            [
                DailyReviewFact(
                    day=day,
                    **dict(zip(REVIEW_GROUP, k, strict=True)),
                    **counts,
                    classifications=review_groups.histograms.get(k, {}),
                )
                for k, counts in review_groups.rows.items()
            ],
            batch_size=1000,
        )
        DailyHallFact.objects.bulk_create(
            [
                DailyHallFact(day=day, **dict(zip(HALL_GROUP, k, strict=True)), **counts)
                for k, counts in hall_groups.rows.items()
            ],
            batch_size=1000,
        )
        ActiveUsers.objects.filter(period="day", start=day).delete()
        ActiveUsers.objects.bulk_create(
            [
                ActiveUsers(period="day", start=day, channel=c, audience=a, users=n)
                for c, a, n in _active_counts(ActiveDay.objects.filter(day=day))
            ]
        )
        cases = case_groups_submitted(case_groups)
        seconds = round(time.perf_counter() - began, 3)
        RolledUpDay.objects.update_or_create(
            day=day, defaults={"computed_at": now, "cases": cases, "seconds": seconds}
        )
        if sum_month:
            _rollup_month(month_start(day))
        audit_record(
            actor_label=ACTOR,
            action="metrics.rollup_day",
            object_type="metrics.day",
            object_id=day.isoformat(),
            data={"cases": cases, "case_rows": len(case_groups.rows), "seconds": seconds},
        )
    return DayRollup(
        day=day,
        cases=cases,
        case_rows=len(case_groups.rows),
        review_rows=len(review_groups.rows),
        hall_rows=len(hall_groups.rows),
        seconds=round(time.perf_counter() - began, 3),
    )


def case_groups_submitted(groups: _Groups) -> int:
    return sum(r["submitted"] for r in groups.rows.values())


def _merge_json(rows: Iterable[tuple[tuple, dict]]) -> dict[tuple, dict[str, int]]:
    merged: dict[tuple, dict[str, int]] = {}
    for key, hist in rows:
        if not hist:
            continue
        target = merged.setdefault(key, {})
        for bucket, n in hist.items():
            target[bucket] = target.get(bucket, 0) + n
    return merged


def _rollup_month(month: dt.date) -> None:
    """Sums the month's daily rows into its monthly rows (inside the day's transaction)."""
    end = next_month(month)
    days = Q(day__gte=month, day__lt=end)

    def summed(daily, monthly, group, counters, json_field):
        monthly.objects.filter(month=month).delete()
        qs = daily.objects.filter(days)
        sums = qs.values(*group).annotate(**{f"s_{c}": Sum(c) for c in counters}).order_by()
        merged = (
            _merge_json(
                (tuple(r[g] for g in group), r[json_field])
                for r in qs.exclude(**{json_field: {}}).values(*group, json_field)
            )
            if json_field
            else {}
        )
        rows = []
        for r in sums:
            key = tuple(r[g] for g in group)
            extra = {json_field: merged.get(key, {})} if json_field else {}
            rows.append(
                monthly(
                    month=month,
                    **{g: r[g] for g in group},
                    **{c: r[f"s_{c}"] or 0 for c in counters},
                    **extra,
                )
            )
        monthly.objects.bulk_create(rows, batch_size=1000)

    summed(DailyCaseFact, MonthlyCaseFact, CASE_GROUP, CASE_COUNTERS, "working_days_histogram")
    summed(DailyReviewFact, MonthlyReviewFact, REVIEW_GROUP, REVIEW_COUNTERS, "classifications")
    summed(DailyHallFact, MonthlyHallFact, HALL_GROUP, HALL_COUNTERS, "")
    ActiveUsers.objects.filter(period="month", start=month).delete()
    ActiveUsers.objects.bulk_create(
        [
            ActiveUsers(period="month", start=month, channel=c, audience=a, users=n)
            for c, a, n in _active_counts(ActiveDay.objects.filter(days))
        ]
    )


# --- which days ---------------------------------------------------------------------------


def _dirty_days() -> set[dt.date]:
    """The days a source changed for since the sweep last looked, and the new watermarks."""
    # The clock the sources' timestamps were written with, read before the sources are.
    read_at = timezone.now()
    days: set[dt.date] = set()
    marks = {w.source: w for w in RollupWatermark.objects.select_for_update()}

    def since(source: str) -> dt.datetime | None:
        mark = marks.get(source)
        return mark.seen_until - WATERMARK_OVERLAP if mark and mark.seen_until else None

    def after_id(source: str) -> int:
        mark = marks.get(source)
        return mark.seen_id if mark else 0

    def add_moments(values: Iterable[dt.datetime | None]) -> None:
        days.update(local_day(v) for v in values if v)

    cases_since = since("cases")
    cases = Application.objects.all()
    if cases_since:
        cases = cases.filter(updated_at__gt=cases_since)
    for submitted, concluded in cases.values_list("submitted_at", "concluded_at").iterator(
        chunk_size=5000
    ):
        add_moments((submitted, concluded))

    ratings_since = since("ratings")
    ratings = Rating.objects.all()
    if ratings_since:
        ratings = ratings.filter(Q(created_at__gt=ratings_since) | Q(excluded_at__gt=ratings_since))
    add_moments(ratings.values_list("created_at", flat=True))

    order_events = OrderEvent.objects.filter(id__gt=after_id("orders"))
    top_order_event = order_events.order_by("-id").values_list("id", flat=True).first()
    for created, closed in WorkOrder.objects.filter(
        id__in=order_events.values("order_id")
    ).values_list("created_at", "closed_at"):
        add_moments((created, closed))

    queue = QueueEvent.objects.filter(id__gt=after_id("queue"))
    top_queue = queue.order_by("-id").values_list("id", flat=True).first()
    days.update(
        Ticket.objects.filter(id__in=queue.values("ticket_id"))
        .values_list("day", flat=True)
        .distinct()
    )

    bookings_since = since("bookings")
    bookings = Booking.objects.filter(slot__hall__isnull=False)
    if bookings_since:
        bookings = bookings.filter(
            Q(created_at__gt=bookings_since)
            | Q(closed_at__gt=bookings_since)
            | Q(checked_in_at__gt=bookings_since)
        )
    days.update(bookings.values_list("slot__day", flat=True).distinct())

    activity = ActiveDay.objects.filter(id__gt=after_id("activity"))
    top_activity = activity.order_by("-id").values_list("id", flat=True).first()
    days.update(activity.values_list("day", flat=True).distinct())

    for source, values in (
        ("cases", {"seen_until": read_at}),
        ("ratings", {"seen_until": read_at}),
        ("bookings", {"seen_until": read_at}),
        ("orders", {"seen_id": top_order_event or after_id("orders")}),
        ("queue", {"seen_id": top_queue or after_id("queue")}),
        ("activity", {"seen_id": top_activity or after_id("activity")}),
    ):
        RollupWatermark.objects.update_or_create(source=source, defaults=values)
    return days


@dataclass(frozen=True)
class SweepResult:
    days: tuple[dt.date, ...]
    seconds: float


def rollup_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The maintenance tick's part: every changed day, and today once it is stale."""
    now = now or timezone.now()
    today = local_day(now)
    with transaction.atomic():
        days = _dirty_days()
    last = RolledUpDay.objects.filter(day=today).values_list("computed_at", flat=True).first()
    refresh = dt.timedelta(seconds=settings.TONGBAN_METRICS_REFRESH_SECONDS)
    if last is None or now - last >= refresh:
        days.add(today)
    else:
        days.discard(today)
    done = 0
    for day in sorted(d for d in days if d <= today):
        rollup_day(day=day, now=now)
        done += 1
    purged = activity_purge(today=today)
    return {"days": done, "activity_purged": purged}


def rollup_range(
    *, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> list[DayRollup]:
    """Every day from START to END (the `metrics_rollup` command: after an import, or to
    build the figures of a database that had none). Each month is summed once, in the
    transaction of its last day in the range."""
    out = []
    day = start
    while day <= end:
        following = day + dt.timedelta(days=1)
        last_of_month = following > end or following.day == 1
        if last_of_month:
            with transaction.atomic():
                out.append(rollup_day(day=day, now=now, sum_month=False))
                _rollup_month(month_start(day))
        else:
            out.append(rollup_day(day=day, now=now, sum_month=False))
        day = following
    return out
