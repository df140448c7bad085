"""The working-day calendar: exact dates from the 2026 notice, coverage, and refusing bad data."""

import datetime as dt

import pytest

from tongban.common import calendar
from tongban.common.calendar import (
    CalendarFileInvalid,
    CalendarNotCovered,
    add_working_days,
    covered_years,
    is_provisional,
    is_working_day,
    load_calendar,
    working_days_between,
)

D = dt.date
UTC = dt.UTC


def test_covered_years():
    assert covered_years() == (2026, 2027)


def test_2026_is_official_and_2027_provisional():
    assert is_provisional(2026) is False
    assert is_provisional(2027) is True
    with pytest.raises(CalendarNotCovered):
        is_provisional(2028)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 1, 2), False),  # Friday inside 元旦
        (D(2026, 1, 4), True),  # Sunday, 元旦调休上班
        (D(2026, 2, 14), True),  # Saturday, 春节调休上班
        (D(2026, 2, 16), False),  # Monday inside 春节
        (D(2026, 2, 23), False),  # Monday, last day of 春节
        (D(2026, 2, 28), True),  # Saturday, 春节调休上班
        (D(2026, 3, 7), False),  # an ordinary Saturday
        (D(2026, 3, 9), True),  # an ordinary Monday
        (D(2026, 5, 5), False),  # Tuesday inside 劳动节
        (D(2026, 5, 9), True),  # Saturday, 劳动节调休上班
        (D(2026, 9, 20), True),  # Sunday, 国庆调休上班
        (D(2026, 10, 7), False),  # Wednesday inside 国庆节
        (D(2026, 10, 10), True),  # Saturday, 国庆调休上班
        (D(2027, 2, 5), False),  # 除夕 2027 (provisional, statutory)
        (D(2027, 2, 9), True),  # Tuesday after the statutory 春节 days
        (D(2027, 6, 9), False),  # 端午 2027
        (D(2027, 9, 15), False),  # 中秋 2027
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


def test_working_days_in_2026():
    # 261 weekdays − 19 weekday holidays + 6 调休 Saturdays/Sundays.
    assert working_days_between(D(2026, 1, 1), D(2026, 12, 31)) == 248


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday → the 调休 Saturday is day 1
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # across the whole 春节 break
        (D(2026, 2, 14), 5, D(2026, 2, 28)),  # 24, 25, 26, 27, 28 (调休 Saturday)
        (D(2026, 2, 18), 1, D(2026, 2, 24)),  # submitted during the holiday
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # across 国庆
        (D(2026, 9, 30), 3, D(2026, 10, 10)),  # 8, 9, 10 (调休 Saturday)
        (D(2026, 9, 30), 4, D(2026, 10, 12)),
        (D(2026, 9, 18), 2, D(2026, 9, 21)),  # 18 Fri → 20 (调休 Sunday), 21 Mon
        (D(2026, 12, 31), 1, D(2027, 1, 4)),  # into the next covered year
        (D(2026, 3, 9), 0, D(2026, 3, 9)),
        (D(2026, 3, 9), 20, D(2026, 4, 7)),  # 19 by Fri 3 Apr; 清明 Mon 6 Apr skipped
    ],
)
def test_add_working_days(start, days, expected):
    assert add_working_days(start, days) == expected
    assert working_days_between(start, expected) == days


def test_aware_datetime_counts_from_its_shanghai_date():
    # 15:30 UTC is 23:30 on Friday 13 February in Shanghai: day 1 is the 调休 Saturday.
    assert add_working_days(dt.datetime(2026, 2, 13, 15, 30, tzinfo=UTC), 1) == D(2026, 2, 14)
    # 16:30 UTC is already Saturday 00:30 in Shanghai: the Saturday itself does not count.
    assert add_working_days(dt.datetime(2026, 2, 13, 16, 30, tzinfo=UTC), 1) == D(2026, 2, 24)


def test_after_hours_submission_gets_the_same_deadline():
    tz = calendar.LOCAL_TZ
    morning = dt.datetime(2026, 3, 9, 9, 0, tzinfo=tz)
    late = dt.datetime(2026, 3, 9, 23, 59, tzinfo=tz)
    assert add_working_days(morning, 3) == add_working_days(late, 3) == D(2026, 3, 12)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(dt.datetime(2026, 3, 9, 9, 0), 1)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 3, 9), -1)


def test_working_days_between_is_negative_backwards():
    assert working_days_between(D(2026, 10, 12), D(2026, 9, 30)) == -4
    assert working_days_between(D(2026, 3, 9), D(2026, 3, 9)) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: is_working_day(D(2025, 12, 31)),
        lambda: is_working_day(D(2028, 1, 3)),
        lambda: add_working_days(D(2025, 12, 31), 1),
        lambda: add_working_days(D(2027, 12, 31), 1),  # would run into 2028
        lambda: working_days_between(D(2027, 12, 1), D(2028, 1, 5)),
    ],
)
def test_outside_coverage_raises(call):
    with pytest.raises(CalendarNotCovered) as info:
        call()
    assert info.value.code == "CALENDAR_NOT_COVERED"
    assert (
        info.value.as_dict()["message"] == "办理时限日历尚未覆盖该日期，请联系管理员更新节假日数据"
    )


GOOD_YEAR = """
years:
  2030:
    status: official
    source: test
    holidays:
      - {name: 元旦, start: 2030-01-01, end: 2030-01-01}
    adjusted_working_days: []
"""


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("years: [unclosed", "cannot read holiday calendar"),
        ("years: {}", "no year is covered"),
        (GOOD_YEAR.replace("status: official", "status: maybe"), "years.2030.status"),
        (GOOD_YEAR.replace("    source: test\n", ""), "years.2030.source: Field required"),
        (
            GOOD_YEAR.replace("adjusted_working_days: []", "adjusted_working_days: [2030-01-07]"),
            "adjusted working day 2030-01-07 is not a weekend day",
        ),
        (
            GOOD_YEAR.replace("end: 2030-01-01", "end: 2029-12-31"),
            "end 2029-12-31 is before start 2030-01-01",
        ),
        (
            GOOD_YEAR.replace("2030-01-01, end: 2030-01-01", "2029-12-31, end: 2030-01-01"),
            "day 2029-12-31 is not in 2030",
        ),
        (
            GOOD_YEAR.replace(
                "adjusted_working_days: []", "adjusted_working_days: [2030-01-05]"
            ).replace("end: 2030-01-01", "end: 2030-01-05"),
            "2030-01-05 is both a holiday and a working day",
        ),
        (GOOD_YEAR + "    extra: 1\n", "years.2030.extra: Extra inputs are not permitted"),
    ],
)
def test_malformed_file_is_refused_with_a_clear_message(tmp_path, text, fault):
    path = tmp_path / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileInvalid) as info:
        load_calendar(path)
    assert str(path) in str(info.value)
    assert fault in str(info.value)


def test_a_valid_file_loads(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text(GOOD_YEAR, encoding="utf-8")
    cal = load_calendar(path)
    assert cal.years == (2030,)
    assert cal.is_working_day(D(2030, 1, 1)) is False
    assert cal.is_working_day(D(2030, 1, 2)) is True


def test_the_shipped_file_is_read_once():
    calendar.default_calendar.cache_clear()
    is_working_day(D(2026, 3, 9))
    is_working_day(D(2026, 3, 10))
    assert calendar.default_calendar.cache_info().misses == 1
