"""服务时间 of 在线客服: when a hand-over joins the queue rather than becoming a 留言.

`settings.TONGBAN_HELPDESK_HOURS` is `;`-separated `DAYKIND=HH:MM-HH:MM` entries, DAYKIND one
of `workday` (a working day by the holiday calendar, 调休上班日 included), `weekend` (a
rest day that is not a statutory holiday) and `holiday` (法定节假日). A day kind left out is
closed. Default: workday=09:00-17:00;weekend=09:00-12:00 — the city's hall hours, plus a
Saturday-morning-style half day on ordinary rest days; statutory holidays are closed.

A date the holiday calendar does not cover counts as closed: a message left loses nothing,
whereas a queue nobody staffs would leave the resident waiting.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from tongban.common.calendar import LOCAL_TZ, CalendarNotCovered, default_calendar

DAY_KINDS = {"workday": "工作日", "weekend": "周末", "holiday": "法定节假日"}
_ENTRY = re.compile(r"^(workday|weekend|holiday)=(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Window:
    day_kind: str
    start: dt.time
    end: dt.time

    @property
    def label(self) -> str:
        start, end = self.start.strftime("%H:%M"), self.end.strftime("%H:%M")
        return f"{DAY_KINDS[self.day_kind]} {start}–{end}"


def parse_hours(spec: str) -> dict[str, Window]:
    windows: dict[str, Window] = {}
    for raw in (spec or "").split(";"):
        entry = raw.strip()
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if not match:
            raise ImproperlyConfigured(f"TONGBAN_HELPDESK_HOURS: cannot read {entry!r}")
        kind, h1, m1, h2, m2 = match.groups()
        try:
            start, end = dt.time(int(h1), int(m1)), dt.time(int(h2), int(m2))
        except ValueError as exc:
            raise ImproperlyConfigured(f"TONGBAN_HELPDESK_HOURS: {entry!r}: {exc}") from exc
        if end <= start:
            raise ImproperlyConfigured(f"TONGBAN_HELPDESK_HOURS: {entry!r} ends before it starts")
        windows[kind] = Window(kind, start, end)
    return windows


def _windows() -> dict[str, Window]:
    return parse_hours(settings.TONGBAN_HELPDESK_HOURS)


def day_kind(day: dt.date) -> str:
    calendar = default_calendar()
    if calendar.is_working_day(day):
        return "workday"
    return "holiday" if day in calendar.days_off else "weekend"


def is_open(at: dt.datetime | None = None) -> bool:
    local = (at or timezone.now()).astimezone(LOCAL_TZ)
    try:
        kind = day_kind(local.date())
    except CalendarNotCovered:
        return False
    window = _windows().get(kind)
    return window is not None and window.start <= local.time() < window.end


def hours_label() -> str:
    """The hours as the page states them (工作日 09:00–17:00；周末 09:00–12:00；法定节假日休息)."""
    windows = _windows()
    parts = [windows[k].label for k in DAY_KINDS if k in windows]
    closed = [DAY_KINDS[k] for k in DAY_KINDS if k not in windows]
    if closed:
        parts.append("、".join(closed) + "休息")
    return "；".join(parts) or "暂不提供在线人工服务"
