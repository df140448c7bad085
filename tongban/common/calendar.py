"""Working-day calendar (工作日历): which days count towards a deadline counted in working days.

The data is `tongban/common/data/holidays.yaml`: per covered year, the official days off
(放假日期) and the weekend days worked instead (调休上班日). A date outside the covered years
raises `CalendarNotCovered`: a deadline guessed from weekdays alone would be wrong around every
holiday, so the calendar refuses rather than guesses.

The deadline rule (`add_working_days`): the day of submission never counts, whatever the hour.
Day 1 is the first working day after the local (Asia/Shanghai) date of submission. So a
submission on a working day at 09:00 and one at 23:30 get the same deadline, and a submission
on a holiday or a weekend starts its clock on the next working day — the same deadline as a
submission on the last working day before it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from tongban.common.errors import DomainError

DATA_FILE = Path(__file__).resolve().parent / "data" / "holidays.yaml"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class CalendarNotCovered(DomainError):
    code = "CALENDAR_NOT_COVERED"
    message = "办理时限日历尚未覆盖该日期，请联系管理员更新节假日数据"
    # Not the caller's fault: the operator has not loaded the year's holiday arrangements.
    http_status = 503


class CalendarFileInvalid(ValueError):
    """The holiday file is malformed; raised at first use so nothing computes a wrong deadline."""


class _Holiday(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> _Holiday:
        if self.end < self.start:
            raise ValueError(f"{self.name}: end {self.end} is before start {self.start}")
        return self


class _Year(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["official", "provisional"]
    source: str
    holidays: list[_Holiday]
    adjusted_working_days: list[dt.date]

    @field_validator("source")
    @classmethod
    def _has_source(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source must name the notice or rule the dates come from")
        return value


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    years: dict[int, _Year]

    @model_validator(mode="after")
    def _consistent(self) -> _CalendarFile:
        if not self.years:
            raise ValueError("no year is covered")
        for year, spec in self.years.items():
            off: set[dt.date] = set()
            for holiday in spec.holidays:
                for day in _days(holiday.start, holiday.end):
                    if day.year != year:
                        raise ValueError(f"{year}: {holiday.name} day {day} is not in {year}")
                    if day in off:
                        raise ValueError(f"{year}: {day} is listed in two holidays")
                    off.add(day)
            for day in spec.adjusted_working_days:
                if day.year != year:
                    raise ValueError(f"{year}: adjusted working day {day} is not in {year}")
                if day.weekday() < 5:
                    # A 调休上班日 is by definition a Saturday or Sunday; a weekday here is a typo.
                    raise ValueError(f"{year}: adjusted working day {day} is not a weekend day")
                if day in off:
                    raise ValueError(f"{year}: {day} is both a holiday and a working day")
        return self


def _days(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    days_off: frozenset[dt.date]
    extra_working_days: frozenset[dt.date]
    provisional_years: frozenset[int]
    years: tuple[int, ...]

    def check_covered(self, day: dt.date) -> None:
        if day.year not in self.years:
            raise CalendarNotCovered(details=[{"field": "date", "message": day.isoformat()}])

    def is_working_day(self, day: dt.date) -> bool:
        self.check_covered(day)
        if day in self.extra_working_days:
            return True
        return day.weekday() < 5 and day not in self.days_off


def load_calendar(path: Path) -> WorkingCalendar:
    """Read and validate a holiday file; `CalendarFileInvalid` names the file and the fault."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CalendarFileInvalid(f"{path}: cannot read holiday calendar: {exc}") from exc
    try:
        data = _CalendarFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise CalendarFileInvalid(f"{path}: invalid holiday calendar: {problems}") from exc
    days_off: set[dt.date] = set()
    extra: set[dt.date] = set()
    for spec in data.years.values():
        for holiday in spec.holidays:
            days_off.update(_days(holiday.start, holiday.end))
        extra.update(spec.adjusted_working_days)
    return WorkingCalendar(
        days_off=frozenset(days_off),
        extra_working_days=frozenset(extra),
        provisional_years=frozenset(y for y, s in data.years.items() if s.status == "provisional"),
        years=tuple(sorted(data.years)),
    )


@cache
def default_calendar() -> WorkingCalendar:
    return load_calendar(DATA_FILE)


def _local_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            # A naive datetime has no defined local date; guessing the zone would move
            # deadlines by a day for late-evening submissions.
            raise ValueError("add_working_days needs a timezone-aware datetime or a date")
        return value.astimezone(LOCAL_TZ).date()
    return value


def covered_years() -> tuple[int, ...]:
    return default_calendar().years


def is_provisional(year: int) -> bool:
    """True when the year's dates are statutory days only, before the State Council notice."""
    calendar = default_calendar()
    if year not in calendar.years:
        raise CalendarNotCovered(details=[{"field": "year", "message": str(year)}])
    return year in calendar.provisional_years


def is_working_day(day: dt.date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: dt.date | dt.datetime, days: int) -> dt.date:
    """The date `days` working days after `start` (see the module docstring for the rule).

    `days == 0` is the local date of `start` itself.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    calendar = default_calendar()
    day = _local_date(start)
    calendar.check_covered(day)
    remaining = days
    while remaining:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: the inverse of add_working_days.

    Negative when `end` is before `start`, so an overdue SLA reads as a negative balance.
    """
    if end < start:
        return -working_days_between(end, start)
    calendar = default_calendar()
    calendar.check_covered(start)
    calendar.check_covered(end)
    return sum(
        1 for day in _days(start + dt.timedelta(days=1), end) if calendar.is_working_day(day)
    )


def chinese_date(day: dt.date) -> str:
    """2026年12月3日 — a date as people read it (zh-hans formats leave the day unpadded)."""
    return f"{day.year}年{day.month}月{day.day}日"
