"""Reads of 服务指标: every figure is a sum of roll-up rows (see models), never of cases.

A range reads whole months from the monthly tables and only its ragged ends from the daily
ones, so a year costs twelve rows per group however many cases the city filed.

What each figure means (the dashboard and the API say the same):
- 网办比例: cases filed online (and 免申即享 grants, which need no visit) / all cases filed;
- 全程网办: concluded cases filed online, delivered online, with no counter visit and no
  queue ticket / all concluded;
- 即办率: concluded on the local day they were filed / all concluded;
- 按时办结率: concluded on or before the promised date / all concluded; 超期办结 the rest;
- 平均/90%办结用时: working days from filing to conclusion (holiday calendar);
- 减材料: materials the case needed that the applicant did not hand in (spared by an
  e-certificate, a data source, a signed commitment, or produced within the case) / needed;
  against the "single path" — the same items applied for one by one, each asking its own
  materials, visits (最多跑动次数), steps (办理环节) and promised days;
- 好差评: 满意率 = levels 4–5 / ratings, 差评率 = levels 1–2 / ratings, 整改率 = orders
  closed / orders opened, 按时整改率 = closed on time / closed;
- 综合窗口设置比例: 综合窗口 / (综合窗口 + 专窗), counted in window-days;
- 活跃用户: distinct people of a day or month (each person once, whatever they did).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from tongban.accounts.models import District, StaffAssignment, StaffRole
from tongban.appointments.models import Hall, HallLevel, Window
from tongban.cases.models import Channel
from tongban.catalog.models import Department
from tongban.catalog.selectors import current_definitions
from tongban.common.errors import InvalidInput
from tongban.metrics.definitions import targets
from tongban.metrics.models import (
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
)
from tongban.metrics.services import (
    CASE_COUNTERS,
    HALL_COUNTERS,
    REVIEW_COUNTERS,
    month_start,
    next_month,
)
from tongban.reviews.models import Classification, RatingChannel

MAX_RANGE_DAYS = 366 * 5
CHANNEL_LABELS = {**dict(Channel.choices), "": "全部"}
BREAKDOWNS = {
    "department": "部门",
    "item": "事项与一件事",
    "district": "区",
    "hall": "大厅",
    "window": "窗口",
    "channel": "申请渠道",
}


# --- scope ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a figure is about: a date range (inclusive, local days) and optional filters.
    `departments` None means every department; a department lead's scope is always theirs."""

    start: dt.date
    end: dt.date
    departments: tuple[int, ...] | None = None
    service: str = ""  # an item or bundle code
    hall: int | None = None
    district: str = ""
    channel: str = ""

    @property
    def whole_city(self) -> bool:
        return self.departments is None


def _invalid(field: str, message: str, value: Any = "") -> InvalidInput:
    return InvalidInput(
        message,
        code="METRICS_FILTER_INVALID",
        details=[{"field": field, "message": str(value)[:40]}],
    )


def _parse_day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _invalid(field, "日期格式应为 YYYY-MM-DD", value) from None


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This year so far: the seed's targets are yearly."""
    today = today or timezone.localdate()
    return today.replace(month=1, day=1), today


def metrics_access(user) -> tuple[int, ...] | bool | None:
    """Whose figures USER may read: None for the whole city (城市运营, 系统管理员), the
    department ids of their 部门负责人 posts, or False for nobody else."""
    if not getattr(user, "is_authenticated", False):
        return False
    posts = list(StaffAssignment.objects.filter(user=user).values_list("role", "department_id"))
    if any(role in (StaffRole.CITY_OPERATOR, StaffRole.ADMINISTRATOR) for role, _ in posts):
        return None
    leads = tuple(sorted({d for role, d in posts if role == StaffRole.DEPARTMENT_LEAD}))
    return leads or False


def may_open_metrics(user) -> bool:
    return metrics_access(user) is not False


def scope_from(
    *,
    allowed: tuple[int, ...] | None,
    start: str = "",
    end: str = "",
    department: str = "",
    service: str = "",
    hall: str = "",
    district: str = "",
    channel: str = "",
    today: dt.date | None = None,
) -> Scope:
    """A Scope from query parameters, checked: bad input is a 422 naming the field, and a
    department outside ALLOWED is refused, never silently widened or narrowed."""
    first, last = default_range(today)
    s = _parse_day(start, "start") if start else first
    e = _parse_day(end, "end") if end else last
    if e < s:
        raise _invalid("end", "结束日期不能早于开始日期", end)
    if (e - s).days > MAX_RANGE_DAYS:
        raise _invalid("end", "统计区间最长五年", end)
    departments = allowed
    if department:
        dept = Department.objects.filter(code=department).values_list("id", flat=True).first()
        if dept is None:
            raise _invalid("department", "没有这个部门", department)
        if allowed is not None and dept not in allowed:
            raise InvalidInput(
                "您只能查看本部门的指标",
                code="METRICS_DEPARTMENT_FORBIDDEN",
                details=[{"field": "department", "message": department[:40]}],
            )
        departments = (dept,)
    hall_id = None
    if hall:
        hall_id = Hall.objects.filter(code=hall).values_list("id", flat=True).first()
        if hall_id is None:
            raise _invalid("hall", "没有这个大厅", hall)
    if district and district not in District.values:
        raise _invalid("district", "没有这个区", district)
    if channel and channel not in Channel.values:
        raise _invalid("channel", "申请渠道应为 online、counter 或 auto", channel)
    if service:
        items, bundles = current_definitions()
        if service not in items and service not in bundles:
            raise _invalid("service", "没有这个事项或一件事", service)
    return Scope(
        start=s,
        end=e,
        departments=departments,
        service=service,
        hall=hall_id,
        district=district,
        channel=channel,
    )


# --- reading roll-ups -------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    daily: Any
    monthly: Any
    counters: tuple[str, ...]
    json_field: str


CASES = _Source(DailyCaseFact, MonthlyCaseFact, CASE_COUNTERS, "working_days_histogram")
REVIEWS = _Source(DailyReviewFact, MonthlyReviewFact, REVIEW_COUNTERS, "classifications")
HALLS = _Source(DailyHallFact, MonthlyHallFact, HALL_COUNTERS, "")


def _parts(source: _Source, start: dt.date, end: dt.date) -> list[tuple[Any, Q, str]]:
    """(model, date filter, date field) covering START..END: whole months monthly."""
    parts: list[tuple[Any, Q, str]] = []
    months: list[dt.date] = []
    month = month_start(start)
    while month <= end:
        following = next_month(month)
        last = following - dt.timedelta(days=1)
        if month >= start and last <= end:
            months.append(month)
        else:
            parts.append(
                (source.daily, Q(day__gte=max(month, start), day__lte=min(last, end)), "day")
            )
        month = following
    if months:
        parts.append((source.monthly, Q(month__in=months), "month"))
    return parts


def _filters(source: _Source, scope: Scope) -> Q:
    q = Q()
    if scope.departments is not None and source is not HALLS:
        q &= Q(department_id__in=scope.departments)
    if scope.service:
        q &= Q(service_code=scope.service) if source is CASES else Q(item_code=scope.service)
    if scope.hall:
        q &= Q(hall_id=scope.hall)
    if scope.district:
        q &= Q(hall__district=scope.district)
    if scope.channel and source is CASES:
        q &= Q(channel=scope.channel)
    return q


def _sums(
    source: _Source, scope: Scope, group: tuple[str, ...] = (), grain: str = ""
) -> dict[tuple, dict[str, Any]]:
    """Counters summed per GROUP (and per day or month when GRAIN is set)."""
    out: dict[tuple, dict[str, Any]] = {}
    where = _filters(source, scope)
    for model, dates, date_field in _parts(source, scope.start, scope.end):
        qs = model.objects.filter(dates & where)
        fields = [*group, date_field] if grain else list(group)

        def key(row: dict[str, Any], fields=fields, date_field=date_field) -> tuple:
            base = tuple(row[g] for g in group)
            if not grain:
                return base
            moment = row[date_field]
            return (*base, month_start(moment) if grain == "month" else moment)

        sums = qs.values(*fields).annotate(**{f"s_{c}": Sum(c) for c in source.counters})
        for row in sums.order_by():
            acc = out.setdefault(key(row), dict.fromkeys(source.counters, 0))
            for c in source.counters:
                acc[c] += row[f"s_{c}"] or 0
        if source.json_field:
            for row in qs.exclude(**{source.json_field: {}}).values(*fields, source.json_field):
                acc = out.setdefault(key(row), dict.fromkeys(source.counters, 0))
                merged = acc.setdefault(source.json_field, {})
                for bucket, n in (row[source.json_field] or {}).items():
                    merged[bucket] = merged.get(bucket, 0) + n
    return out


def _total(source: _Source, scope: Scope) -> dict[str, Any]:
    return _sums(source, scope).get((), dict.fromkeys(source.counters, 0))


def ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def _average(total: int, count: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(total) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def percentile(histogram: dict[str, int], share: float) -> int | None:
    """The smallest bucket at or below which SHARE of the cases fall."""
    total = sum(histogram.values())
    if not total:
        return None
    running = 0
    for bucket in sorted(histogram, key=int):
        running += histogram[bucket]
        if running >= share * total:
            return int(bucket)
    return None


# --- figures ------------------------------------------------------------------------------


def case_figures(c: dict[str, Any]) -> dict[str, Any]:
    """The rates of one group of case counters."""
    spared = (
        c["spared_certificate"]
        + c["spared_data_source"]
        + c["spared_commitment"]
        + c["spared_other"]
    )
    histogram = c.get("working_days_histogram") or {}
    return {
        "submitted": c["submitted"],
        "submitted_online": c.get("submitted_online", 0),
        "online_share": ratio(c.get("submitted_online", 0), c["submitted"]),
        "concluded": c["concluded"],
        "full_online": c["full_online"],
        "full_online_rate": ratio(c["full_online"], c["concluded"]),
        "same_day": c["concluded_same_day"],
        "same_day_rate": ratio(c["concluded_same_day"], c["concluded"]),
        "on_time_rate": ratio(c["concluded_on_time"], c["concluded"]),
        "late": c["concluded_late"],
        "average_working_days": _average(c["working_days_total"], c["concluded"]),
        "p90_working_days": percentile(histogram, 0.9),
        "materials_required": c["materials_required"],
        "materials_single_path": c["materials_single_path"],
        "materials_submitted": c["materials_uploaded"],
        "materials_spared": spared,
        "spared_by": {
            "certificate": c["spared_certificate"],
            "data_source": c["spared_data_source"],
            "commitment": c["spared_commitment"],
            "other": c["spared_other"],
        },
        "deferred": c["deferred"],
        "spared_rate": ratio(spared, c["materials_required"]),
        "materials_saved": c["materials_single_path"] - c["materials_uploaded"],
        "visits": c["visits"],
        "visits_single_path": c["visits_single_path"],
        "steps": c["steps"],
        "steps_single_path": c["steps_single_path"],
        "promised_days": c["promised_days"],
        "promised_days_single_path": c["promised_days_single_path"],
    }


def review_figures(r: dict[str, Any]) -> dict[str, Any]:
    good = r["level_4"] + r["level_5"]
    bad = r["level_1"] + r["level_2"]
    return {
        "ratings": r["ratings"],
        "distribution": {str(n): r[f"level_{n}"] for n in range(1, 6)},
        "satisfied": good,
        "dissatisfied": bad,
        "satisfaction_rate": ratio(good, r["ratings"]),
        "bad_rate": ratio(bad, r["ratings"]),
        "orders_opened": r["orders_opened"],
        "orders_closed": r["orders_closed"],
        "rectification_rate": ratio(r["orders_closed"], r["orders_opened"]),
        "on_time_rate": ratio(r["orders_closed_on_time"], r["orders_closed"]),
    }


def hall_figures(h: dict[str, Any]) -> dict[str, Any]:
    accepting = h["windows_comprehensive"] + h["windows_department"]
    shown = h["bookings"] - h["bookings_cancelled"]
    return {
        "comprehensive_window_share": ratio(h["windows_comprehensive"], accepting),
        "bookings": h["bookings"],
        "bookings_kept": h["bookings_kept"],
        "bookings_missed": h["bookings_missed"],
        "bookings_kept_rate": ratio(h["bookings_kept"], shown),
        "tickets": h["tickets"],
        "tickets_called": h["tickets_called"],
        "average_wait_minutes": _average(h["wait_seconds_total"], h["tickets_called"] * 60),
    }


def _with_online(rows: dict[tuple, dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """Collapses the channel (the last key part) into submitted_online."""
    out: dict[tuple, dict[str, Any]] = {}
    for key, counts in rows.items():
        *rest, channel = key
        acc = out.setdefault(
            tuple(rest), {**dict.fromkeys(CASE_COUNTERS, 0), "submitted_online": 0}
        )
        for c in CASE_COUNTERS:
            acc[c] += counts[c]
        if channel in (Channel.ONLINE, Channel.AUTOMATIC):
            acc["submitted_online"] += counts["submitted"]
        hist = counts.get("working_days_histogram")
        if hist:
            merged = acc.setdefault("working_days_histogram", {})
            for bucket, n in hist.items():
                merged[bucket] = merged.get(bucket, 0) + n
    return out


def _cases_by(scope: Scope, group: tuple[str, ...], grain: str = "") -> dict[tuple, dict]:
    rows = _sums(CASES, scope, (*group, "channel"), grain)
    if grain:  # the period sits after the channel: move it before for _with_online
        rows = {(*k[:-2], k[-1], k[-2]): v for k, v in rows.items()}
    return _with_online(rows)


def active_users(*, scope: Scope) -> dict[str, Any]:
    """Monthly active people of the range's last month, and the average day of the range,
    each by channel and audience (city-wide: activity is not a department's)."""
    month = month_start(scope.end)
    monthly = {
        (r.channel, r.audience): r.users
        for r in ActiveUsers.objects.filter(period="month", start=month)
    }
    daily = (
        ActiveUsers.objects.filter(period="day", start__gte=scope.start, start__lte=scope.end)
        .values("channel", "audience")
        .annotate(total=Sum("users"))
    )
    days = (scope.end - scope.start).days + 1
    average = {(r["channel"], r["audience"]): r["total"] / days for r in daily}
    channels = [("all", "全部渠道"), *ActivityChannel.choices]
    audiences = [("all", "全部"), *Audience.choices]
    return {
        "month": month.strftime("%Y-%m"),
        "monthly": monthly.get(("all", "all"), 0),
        "daily_average": round(average.get(("all", "all"), 0)),
        "rows": [
            {
                "channel": c,
                "channel_label": cl,
                "audience": a,
                "audience_label": al,
                "monthly": monthly.get((c, a), 0),
                "daily_average": round(average.get((c, a), 0)),
            }
            for c, cl in channels
            for a, al in audiences
        ],
    }


def _target(indicator: str, year: int, value: Decimal | int | None) -> dict[str, Any] | None:
    target = targets().get(indicator)
    found = target.for_year(year) if target else None
    if not found:
        return None
    set_for, goal = found
    met = None if value is None else float(value) >= goal
    return {"label": target.label, "year": set_for, "value": goal, "met": met}


def summary(*, scope: Scope) -> dict[str, Any]:
    """The headline tiles and the totals behind them."""
    cases = case_figures(_cases_by(scope, ()).get((), _empty_cases()))
    reviews = review_figures(_total(REVIEWS, scope))
    hall_scope = scope if scope.whole_city else None
    halls = hall_figures(_total(HALLS, hall_scope)) if hall_scope else None
    users = active_users(scope=scope)
    year = scope.end.year
    return {
        "start": scope.start,
        "end": scope.end,
        "cases": cases,
        "reviews": reviews,
        "halls": halls,
        "active_users": users,
        "targets": {
            "online_share": _target("online_share", year, cases["online_share"]),
            "monthly_active_users": _target("monthly_active_users", year, users["monthly"]),
            "comprehensive_window_share": _target(
                "comprehensive_window_share",
                year,
                halls["comprehensive_window_share"] if halls else None,
            ),
        },
        "computed_at": RolledUpDay.objects.order_by("-computed_at")
        .values_list("computed_at", flat=True)
        .first(),
    }


def _empty_cases() -> dict[str, Any]:
    return {**dict.fromkeys(CASE_COUNTERS, 0), "submitted_online": 0}


def _names() -> dict[str, dict]:
    items, bundles = current_definitions()
    return {
        "service": {
            **{c: d.name for c, d in items.items()},
            **{c: d.name for c, d in bundles.items()},
        },
        "bundle_items": {c: [i.item for i in d.items] for c, d in bundles.items()},
    }


def breakdown(*, scope: Scope, by: str) -> dict[str, Any]:
    """Rows of one breakdown, each with its case and 好差评 figures and the filter that
    drills into it."""
    if by not in BREAKDOWNS:
        raise _invalid("by", "分组应为 " + "、".join(BREAKDOWNS), by)
    rows: list[dict[str, Any]] = []
    if by == "department":
        group: tuple[str, ...] = ("department_id",)
        cases = _cases_by(scope, group)
        reviews = _sums(REVIEWS, scope, group)
        departments = Department.objects.in_bulk({k[0] for k in {*cases, *reviews}})
        for key in sorted({*cases, *reviews}, key=lambda k: departments[k[0]].code):
            d = departments[key[0]]
            rows.append(
                _row(d.code, d.name, cases.get(key), reviews.get(key), {"department": d.code})
            )
    elif by == "item":
        names = _names()["service"]
        cases = _cases_by(scope, ("service_code",))
        reviews = _sums(REVIEWS, scope, ("item_code",))
        for key in sorted({*cases, *reviews}):
            code = key[0]
            rows.append(
                _row(
                    code, names.get(code, code), cases.get(key), reviews.get(key), {"service": code}
                )
            )
    elif by in ("district", "hall", "window"):
        field = {"district": "hall__district", "hall": "hall_id", "window": "window_id"}[by]
        cases = _cases_by(scope, (field,))
        reviews = _sums(REVIEWS, scope, (field,))
        halls = _sums(HALLS, scope, (field,)) if scope.whole_city else {}
        labels = _place_labels(by, {k[0] for k in {*cases, *reviews, *halls}})
        for key in sorted({*cases, *reviews, *halls}, key=lambda k: labels[k[0]][0]):
            _sort, label, drill = labels[key[0]]
            row = _row(str(key[0] or ""), label, cases.get(key), reviews.get(key), drill)
            row["halls"] = hall_figures(halls[key]) if key in halls else None
            rows.append(row)
    else:  # channel
        raw = _sums(CASES, scope, ("channel",))
        for key in sorted(raw):
            counts = {
                **raw[key],
                "submitted_online": raw[key]["submitted"] if key[0] != Channel.COUNTER else 0,
            }
            rows.append(
                _row(key[0], CHANNEL_LABELS.get(key[0], key[0]), counts, None, {"channel": key[0]})
            )
    return {"by": by, "by_label": BREAKDOWNS[by], "rows": rows}


def _place_labels(by: str, keys: set) -> dict[Any, tuple[str, str, dict[str, str]]]:
    """(sort key, label, drill-down filter) for districts, halls or windows; None is the
    cases with no place (filed online)."""
    nowhere = "未关联窗口（网上办理或大厅合计）" if by == "window" else "网上办理（不经大厅）"
    out: dict[Any, tuple[str, str, dict[str, str]]] = {
        None: ("~", nowhere, {}),
        "": ("~", nowhere, {}),
    }
    if by == "district":
        labels = dict(District.choices)
        for k in keys - {None, ""}:
            out[k] = (k, labels.get(k, k), {"district": k})
    elif by == "hall":
        for h in Hall.objects.filter(id__in=keys - {None}):
            out[h.id] = (h.code, h.name, {"hall": h.code})
    else:
        for w in Window.objects.filter(id__in=keys - {None}).select_related("hall"):
            out[w.id] = (f"{w.hall.code}-{w.number}", f"{w.hall.name} {w.number} {w.name}", {})
    return out


def _row(code: str, name: str, cases, reviews, drill: dict[str, str]) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "cases": case_figures(cases or _empty_cases()),
        "reviews": review_figures(reviews or dict.fromkeys(REVIEW_COUNTERS, 0)),
        "drill": drill,
    }


def trend(*, scope: Scope) -> dict[str, Any]:
    """Per month (a range over 62 days) or per day: 网办比例, 即办率, cases, 满意率."""
    grain = "month" if (scope.end - scope.start).days > 62 else "day"
    cases = _cases_by(scope, (), grain)
    reviews = _sums(REVIEWS, scope, (), grain)
    periods = []
    moment = month_start(scope.start) if grain == "month" else scope.start
    while moment <= scope.end:
        periods.append(moment)
        moment = next_month(moment) if grain == "month" else moment + dt.timedelta(days=1)
    points = []
    for p in periods:
        c = case_figures(cases.get((p,), _empty_cases()))
        r = review_figures(reviews.get((p,), dict.fromkeys(REVIEW_COUNTERS, 0)))
        points.append(
            {
                "period": p.strftime("%Y-%m") if grain == "month" else p.isoformat(),
                "label": f"{p.year}年{p.month}月" if grain == "month" else f"{p.month}月{p.day}日",
                "submitted": c["submitted"],
                "online_share": c["online_share"],
                "same_day_rate": c["same_day_rate"],
                "satisfaction_rate": r["satisfaction_rate"],
            }
        )
    return {"grain": grain, "points": points}


def bundle_uptake(*, scope: Scope) -> list[dict[str, Any]]:
    """一件事 uptake: per bundle, its cases against the separate cases of its items. People
    who went item by item filed each item; the item filed most on its own stands for them."""
    names = _names()
    cases = _cases_by(replace(scope, service=""), ("service_kind", "service_code"))
    by_code = {k[1]: v["submitted"] for k, v in cases.items()}
    rows = []
    for bundle, items in sorted(names["bundle_items"].items()):
        if scope.service and scope.service != bundle:
            continue
        bundled = by_code.get(bundle, 0) if ("bundle", bundle) in cases else 0
        separate = {i: by_code.get(i, 0) if ("item", i) in cases else 0 for i in items}
        alone = max(separate.values(), default=0)
        rows.append(
            {
                "code": bundle,
                "name": names["service"].get(bundle, bundle),
                "bundle_cases": bundled,
                "separate": [
                    {"code": i, "name": names["service"].get(i, i), "cases": n}
                    for i, n in separate.items()
                ],
                "uptake": ratio(bundled, bundled + alone),
                # The items someone did file on their own, for the page to list.
                "separate_filed": [
                    {"code": i, "name": names["service"].get(i, i), "cases": n}
                    for i, n in separate.items()
                    if n
                ],
            }
        )
    return rows


def hall_levels(*, scope: Scope) -> list[dict[str, Any]]:
    """综合窗口设置比例 and the queue per hall level (市级、区级、街镇)."""
    rows = _sums(HALLS, scope, ("hall__level",))
    out = []
    for level, label in HallLevel.choices:
        counts = rows.get((level,))
        if counts:
            out.append({"level": level, "label": label, **hall_figures(counts)})
    return out


def review_lowlights(*, scope: Scope, limit: int = 5) -> dict[str, Any]:
    """The items and halls whose 满意率 fell most from the month before the range's last
    month, and the most frequent 差评 classifications of the range."""
    month = month_start(scope.end)
    before = month_start(month - dt.timedelta(days=1))
    this = replace(scope, start=month, end=next_month(month) - dt.timedelta(days=1))
    last = replace(scope, start=before, end=month - dt.timedelta(days=1))
    names = _names()["service"]
    halls = dict(Hall.objects.values_list("id", "name"))

    def fallen(field: str, label) -> list[dict[str, Any]]:
        now_rows = _sums(REVIEWS, this, (field,))
        then_rows = _sums(REVIEWS, last, (field,))
        out = []
        for key, counts in now_rows.items():
            if key[0] in (None, "") or key not in then_rows:
                continue
            now_rate = review_figures(counts)["satisfaction_rate"]
            then_rate = review_figures(then_rows[key])["satisfaction_rate"]
            if now_rate is None or then_rate is None or now_rate >= then_rate:
                continue
            out.append(
                {
                    "code": str(key[0]),
                    "name": label(key[0]),
                    "before": then_rate,
                    "now": now_rate,
                    "change": now_rate - then_rate,
                    "ratings": counts["ratings"],
                }
            )
        return sorted(out, key=lambda r: r["change"])[:limit]

    classes = _total(REVIEWS, scope).get("classifications") or {}
    labels = dict(Classification.choices)
    return {
        "month": month.strftime("%Y-%m"),
        "items": fallen("item_code", lambda code: names.get(code, code)),
        "halls": fallen("hall_id", lambda hid: halls.get(hid, "")),
        "classifications": [
            {"code": c, "label": labels.get(c, c), "orders": n}
            for c, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def dashboard(*, scope: Scope, by: str = "") -> dict[str, Any]:
    """Everything /staff/metrics/ shows for SCOPE. BY defaults to the next level down."""
    if not by:
        if scope.hall:
            by = "window"
        elif scope.district:
            by = "hall"
        elif (scope.departments and len(scope.departments) == 1) or scope.service:
            by = "item"
        else:
            by = "department"
    return {
        "summary": summary(scope=scope),
        "trend": trend(scope=scope),
        "breakdown": breakdown(scope=scope, by=by),
        "bundles": bundle_uptake(scope=scope),
        "hall_levels": hall_levels(scope=scope) if scope.whole_city else [],
        "lowlights": review_lowlights(scope=scope),
    }


# --- public figures and open data ---------------------------------------------------------


def min_public_cell() -> int:
    return int(getattr(settings, "TONGBAN_OPENDATA_MIN_CELL", 10))


def public_figures(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """What /figures/ shows anyone: the city's headline rates, the monthly trend, and
    好差评 by department and item. A rate over fewer than min_public_cell() cases or
    ratings is withheld (None with "withheld": True), so no small group shows."""
    scope = Scope(start=start, end=end)
    low = min_public_cell()
    s = summary(scope=scope)

    def guard(figures: dict[str, Any], base: str, keys: Iterable[str]) -> dict[str, Any]:
        withheld = figures[base] < low
        return {
            **{k: (None if withheld else figures[k]) for k in keys},
            base: None if withheld else figures[base],
            "withheld": withheld,
        }

    by_department = breakdown(scope=scope, by="department")["rows"]
    by_item = breakdown(scope=scope, by="item")["rows"]
    review_keys = ("satisfaction_rate", "bad_rate", "rectification_rate", "on_time_rate")
    return {
        "start": start,
        "end": end,
        "min_cell": low,
        "cases": guard(
            s["cases"],
            "submitted",
            (
                "online_share",
                "full_online_rate",
                "same_day_rate",
                "on_time_rate",
                "spared_rate",
                "average_working_days",
            ),
        ),
        "reviews": guard(s["reviews"], "ratings", review_keys),
        "targets": s["targets"],
        "trend": trend(scope=scope),
        "departments": [
            {
                "code": r["code"],
                "name": r["name"],
                **guard(r["reviews"], "ratings", review_keys),
                "cases": guard(r["cases"], "submitted", ("online_share", "same_day_rate")),
            }
            for r in by_department
        ],
        "items": [
            {"code": r["code"], "name": r["name"], **guard(r["reviews"], "ratings", review_keys)}
            for r in by_item
            if r["reviews"]["ratings"]
        ],
    }


def _monthly_rows(source: _Source, group: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every whole month rolled up so far (the current month excluded: still moving)."""
    current = month_start(timezone.localdate())
    qs = source.monthly.objects.filter(month__lt=current).values("month", *group)
    return list(
        qs.annotate(**{f"s_{c}": Sum(c) for c in source.counters}).order_by("month", *group)
    )


def open_service_rows() -> list[dict[str, Any]]:
    """开放数据 政务服务月度统计: raw counts per month, department and service (the open
    data app withholds small cells and adds the rates)."""
    names = _names()["service"]
    departments = dict(Department.objects.values_list("id", "code"))
    dept_names = dict(Department.objects.values_list("id", "name"))
    rows: dict[tuple, dict[str, Any]] = {}
    for r in _monthly_rows(CASES, ("department_id", "service_kind", "service_code", "channel")):
        key = (r["month"], r["department_id"], r["service_kind"], r["service_code"])
        row = rows.setdefault(
            key,
            {
                "month": r["month"].strftime("%Y-%m"),
                "department_code": departments.get(r["department_id"], ""),
                "department_name": dept_names.get(r["department_id"], ""),
                "service_kind": r["service_kind"],
                "service_code": r["service_code"],
                "service_name": names.get(r["service_code"], r["service_code"]),
                "submitted": 0,
                "submitted_online": 0,
                "concluded": 0,
                "concluded_same_day": 0,
                "concluded_on_time": 0,
                "materials_required": 0,
                "materials_spared": 0,
            },
        )
        row["submitted"] += r["s_submitted"] or 0
        if r["channel"] in (Channel.ONLINE, Channel.AUTOMATIC):
            row["submitted_online"] += r["s_submitted"] or 0
        for c in ("concluded", "concluded_same_day", "concluded_on_time", "materials_required"):
            row[c] += r[f"s_{c}"] or 0
        row["materials_spared"] += sum(
            r[f"s_{c}"] or 0
            for c in (
                "spared_certificate",
                "spared_data_source",
                "spared_commitment",
                "spared_other",
            )
        )
    return list(rows.values())


def open_review_rows() -> list[dict[str, Any]]:
    """开放数据 好差评月度统计: raw counts per month, department and item."""
    names = _names()["service"]
    departments = {d.id: d for d in Department.objects.all()}
    out = []
    for r in _monthly_rows(REVIEWS, ("department_id", "item_code")):
        d = departments.get(r["department_id"])
        out.append(
            {
                "month": r["month"].strftime("%Y-%m"),
                "department_code": d.code if d else "",
                "department_name": d.name if d else "",
                "item_code": r["item_code"],
                "item_name": names.get(r["item_code"], r["item_code"]),
                "ratings": r["s_ratings"] or 0,
                "satisfied": (r["s_level_4"] or 0) + (r["s_level_5"] or 0),
                "dissatisfied": (r["s_level_1"] or 0) + (r["s_level_2"] or 0),
                "orders": r["s_orders_opened"] or 0,
                "orders_closed": r["s_orders_closed"] or 0,
                "orders_closed_on_time": r["s_orders_closed_on_time"] or 0,
            }
        )
    return out


RATING_CHANNEL_LABELS = dict(RatingChannel.choices)
