"""Deadlines in working days, from the holiday calendar (tongban.common.calendar).

One call site, so every deadline of the case engine follows the same rule: the day of
acceptance never counts; day 1 is the next working day. A date the calendar does not cover
raises CalendarNotCovered (503): a guessed deadline would be wrong around every holiday.
"""

from __future__ import annotations

import datetime as dt

from tongban.common.calendar import add_working_days


def due_date(start: dt.date, days: int) -> dt.date:
    return add_working_days(start, days)
