"""Working hours: the days and local hours in which reps are expected to read their mail. Pure.

Reminders count waiting time in working hours, the digest goes out on working days, and an
automatic post's veto window runs in working time only, so an order that arrives at night or on
a weekend still gives a rep the full window to say HOLD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?$")


def parse_days(text: str) -> frozenset[int]:
    """Weekdays (0 = Monday) from "mon-fri", "mon,wed,fri", "sat-mon" or "mon-sun"; ValueError
    naming the part that is not a day."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        match = _PART.match(part)
        if not match or match["first"] not in DAY_NAMES or (match["last"] or "mon") not in DAY_NAMES:
            raise ValueError(f"{part!r} is not a day or range of days (mon..sun, e.g. mon-fri)")
        first = DAY_NAMES.index(match["first"])
        last = DAY_NAMES.index(match["last"]) if match["last"] else first
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    if not days:
        raise ValueError("no working days")
    return frozenset(days)


@dataclass(frozen=True)
class WorkingHours:
    tz: ZoneInfo
    start_hour: int = 8  # local, 0..23
    end_hour: int = 17  # local, start_hour+1..24
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))  # Monday..Friday

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.days

    def span(self, day: date) -> tuple[datetime, datetime]:
        """The working span of a day, local (end_hour 24 closes at the next midnight)."""
        midnight = datetime.combine(day, time(0), self.tz)
        return midnight + timedelta(hours=self.start_hour), midnight + timedelta(hours=self.end_hour)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of working time between two aware moments."""
        if end <= start:
            return 0.0
        start_local, end_local = start.astimezone(self.tz), end.astimezone(self.tz)
        total, day = 0.0, start_local.date()
        while day <= end_local.date():
            if self.is_workday(day):
                open_at, close_at = self.span(day)
                lo, hi = max(open_at, start_local), min(close_at, end_local)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time after `start` (aware, in this time zone)."""
        moment = start.astimezone(self.tz)
        left = seconds
        for _ in range(366 * 2):  # bounded: at most a couple of years of days
            day = moment.date()
            open_at, close_at = self.span(day)
            if self.is_workday(day) and moment < close_at:
                begin = max(moment, open_at)
                available = (close_at - begin).total_seconds()
                if left <= available:
                    return begin + timedelta(seconds=left)
                left -= available
            moment = datetime.combine(day + timedelta(days=1), time(0), self.tz)
        return moment

    def previous_workday(self, day: date) -> date:
        """The last working day before `day` (Monday's is the Friday before, with mon-fri)."""
        day -= timedelta(days=1)
        for _ in range(7):
            if self.is_workday(day):
                return day
            day -= timedelta(days=1)
        return day
