"""Figures of the hall as a service for the seed's targets, computed from the records:

- 综合窗口设置比例: comprehensive windows ÷ (comprehensive + 专窗), active windows of active
  halls only (出件窗口 are neither), per hall, per hall level and city-wide (target 80% → 100%);
- bookings kept and no-show over a date range of the slots' days: kept = checked in or
  completed, no-show = recorded no-show; booked and cancelled are neither;
- waits: average and 90th-percentile waits per hall and per window from the daily WaitStat
  rows. Over several days the average is weighted by tickets (exact); the 90th percentile of
  several days cannot be rebuilt from daily figures, so the highest daily one is given.

Who may read them is the caller's check (`may_view_figures`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Max, Q, Sum

from tongban.accounts.models import StaffRole
from tongban.accounts.selectors import staff_roles_of
from tongban.appointments.models import (
    Booking,
    BookingStatus,
    Hall,
    HallLevel,
    WaitStat,
    Window,
    WindowKind,
)
from tongban.common.errors import InvalidInput

FIGURE_ROLES = {StaffRole.CITY_OPERATOR, StaffRole.ADMINISTRATOR}
KEPT = (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)


DEFAULT_DAYS = 30
MAX_DAYS = 366


def figure_range(
    *, start: dt.date | None, end: dt.date | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The range asked for: both optional (the last 30 days up to today); at most a year."""
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("开始日期不能晚于结束日期", code="DATE_RANGE_INVALID")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput("一次最多统计一年", code="DATE_RANGE_INVALID")
    return start, end


def may_view_figures(user) -> bool:
    return bool(staff_roles_of(user) & FIGURE_ROLES)


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    """A share to four places (0.6667), None when there is nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def _window_row(comprehensive: int, department: int) -> dict[str, Any]:
    return {
        "comprehensive": comprehensive,
        "department": department,
        "ratio": _ratio(comprehensive, comprehensive + department),
    }


def window_ratio() -> dict[str, Any]:
    """综合窗口设置比例 now: {"city": row, "levels": [row per level], "halls": [row per
    hall]}, each row {"comprehensive", "department", "ratio"}."""
    counted = (
        Window.objects.filter(is_active=True, hall__is_active=True)
        .filter(kind__in=[WindowKind.COMPREHENSIVE, WindowKind.DEPARTMENT])
        .values("hall_id", "kind")
        .annotate(n=Count("id"))
    )
    per_hall: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counted:
        per_hall[row["hall_id"]][row["kind"]] += row["n"]
    halls = Hall.objects.filter(is_active=True).order_by("level", "code")
    levels: dict[str, list[int]] = {level: [0, 0] for level in HallLevel.values}
    hall_rows = []
    for hall in halls:
        c = per_hall[hall.pk][WindowKind.COMPREHENSIVE]
        d = per_hall[hall.pk][WindowKind.DEPARTMENT]
        levels[hall.level][0] += c
        levels[hall.level][1] += d
        hall_rows.append(
            {
                "code": hall.code,
                "name": hall.name,
                "level": hall.level,
                "level_label": HallLevel(hall.level).label,
                **_window_row(c, d),
            }
        )
    total_c = sum(c for c, _ in levels.values())
    total_d = sum(d for _, d in levels.values())
    return {
        "city": _window_row(total_c, total_d),
        "levels": [
            {"level": level, "level_label": HallLevel(level).label, **_window_row(c, d)}
            for level, (c, d) in levels.items()
        ],
        "halls": hall_rows,
    }


def _kept_row(kept: int, no_show: int) -> dict[str, Any]:
    return {"kept": kept, "no_show": no_show, "kept_rate": _ratio(kept, kept + no_show)}


def bookings_kept(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Bookings of slots from START to END (inclusive) kept vs no-show: {"city": row,
    "halls": [row per hall with any], "venues": row for all venues}."""
    rows = (
        Booking.objects.filter(slot__day__gte=start, slot__day__lte=end)
        .values("slot__hall_id")
        .annotate(
            kept=Count("id", filter=Q(status__in=KEPT)),
            no_show=Count("id", filter=Q(status=BookingStatus.NO_SHOW)),
        )
    )
    by_hall = {r["slot__hall_id"]: (r["kept"], r["no_show"]) for r in rows}
    venues = by_hall.pop(None, (0, 0))
    names = Hall.objects.filter(pk__in=list(by_hall)).order_by("code").values("pk", "code", "name")
    halls = [{"code": h["code"], "name": h["name"], **_kept_row(*by_hall[h["pk"]])} for h in names]
    kept = sum(k for k, _ in by_hall.values()) + venues[0]
    no_show = sum(n for _, n in by_hall.values()) + venues[1]
    return {"city": _kept_row(kept, no_show), "halls": halls, "venues": _kept_row(*venues)}


def _wait_row(tickets: int, weighted: int, p90_max: int | None) -> dict[str, Any]:
    average = (
        int((Decimal(weighted) / Decimal(tickets)).quantize(Decimal("1"), ROUND_HALF_UP))
        if tickets
        else None
    )
    return {
        "tickets": tickets,
        "average_wait_seconds": average,
        "p90_wait_seconds": p90_max if tickets else None,
    }


def waits(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Waits from START to END (inclusive): {"city": row, "halls": [row], "windows": [row]},
    each row {"tickets", "average_wait_seconds" (ticket-weighted), "p90_wait_seconds"
    (the highest daily 90th percentile)}."""
    stats = WaitStat.objects.filter(day__gte=start, day__lte=end)
    hall_rows = (
        stats.filter(window__isnull=True)
        .values("hall_id", "hall__code", "hall__name")
        .annotate(
            tickets=Sum("tickets"),
            p90=Max("p90_wait_seconds"),
        )
        .order_by("hall__code")
    )
    weighted_by_hall: dict[int, int] = defaultdict(int)
    weighted_by_window: dict[int, int] = defaultdict(int)
    for hall_id, window_id, tickets, average in stats.values_list(
        "hall_id", "window_id", "tickets", "average_wait_seconds"
    ):
        if window_id is None:
            weighted_by_hall[hall_id] += tickets * average
        else:
            weighted_by_window[window_id] += tickets * average
    halls = [
        {
            "code": r["hall__code"],
            "name": r["hall__name"],
            **_wait_row(r["tickets"], weighted_by_hall[r["hall_id"]], r["p90"]),
        }
        for r in hall_rows
    ]
    window_rows = (
        stats.filter(window__isnull=False)
        .values("window_id", "hall__code", "hall__name", "window__number", "window__name")
        .annotate(tickets=Sum("tickets"), p90=Max("p90_wait_seconds"))
        .order_by("hall__code", "window__number")
    )
    windows = [
        {
            "hall_code": r["hall__code"],
            "hall_name": r["hall__name"],
            "number": r["window__number"],
            "name": r["window__name"],
            **_wait_row(r["tickets"], weighted_by_window[r["window_id"]], r["p90"]),
        }
        for r in window_rows
    ]
    tickets = sum(r["tickets"] for r in hall_rows)
    p90 = max((r["p90"] for r in hall_rows), default=None)
    return {
        "city": _wait_row(tickets, sum(weighted_by_hall.values()), p90),
        "halls": halls,
        "windows": windows,
    }


def hall_figures(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """All three, for the operator's page and the API."""
    return {
        "start": start,
        "end": end,
        "windows": window_ratio(),
        "bookings": bookings_kept(start=start, end=end),
        "waits": waits(start=start, end=end),
    }
