"""Working hours: days, hours and time zone, pure; and their settings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from mailorder.agent.config import ConfigError, Settings
from mailorder.agent.workhours import WorkingHours, parse_days

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = WorkingHours(AMS, 8, 17)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def test_working_seconds_skip_nights_and_weekends():
    hours = lambda a, b: OFFICE.seconds_between(at(a), at(b)) / 3600  # noqa: E731
    assert hours("2026-03-02 10:00", "2026-03-02 14:00") == 4  # Monday
    assert hours("2026-03-02 16:00", "2026-03-03 09:00") == 2  # overnight
    assert hours("2026-03-06 15:00", "2026-03-09 10:00") == 4  # Friday to Monday
    assert hours("2026-03-07 10:00", "2026-03-08 18:00") == 0  # weekend
    assert hours("2026-03-02 18:00", "2026-03-02 10:00") == 0


def test_adding_working_time_waits_for_the_next_working_moment():
    assert OFFICE.add(at("2026-03-06 16:55"), 1800) == at("2026-03-09 08:25")  # Friday late -> Monday
    assert OFFICE.add(at("2026-03-02 10:00"), 15) == at("2026-03-02 10:00:15")
    assert OFFICE.add(at("2026-03-02 22:00"), 60) == at("2026-03-03 08:01")  # night -> morning
    assert OFFICE.add(at("2026-03-02 16:59:50"), 20) == at("2026-03-03 08:00:10")  # split over days


def test_round_the_clock_and_other_weeks():
    always = WorkingHours(AMS, 0, 24, parse_days("mon-sun"))
    assert always.add(at("2026-03-07 03:00"), 15) == at("2026-03-07 03:00:15")  # Saturday night
    assert always.add(at("2026-03-08 23:59:50"), 20) == at("2026-03-09 00:00:10")
    assert always.seconds_between(at("2026-03-07 00:00"), at("2026-03-08 00:00")) == 24 * 3600
    saturdays = WorkingHours(AMS, 8, 17, parse_days("mon-sat"))
    assert saturdays.add(at("2026-03-06 16:55"), 1800) == at("2026-03-07 08:25")
    assert saturdays.previous_workday(date(2026, 3, 9)) == date(2026, 3, 7)
    assert OFFICE.previous_workday(date(2026, 3, 9)) == date(2026, 3, 6)


def test_the_window_keeps_wall_clock_hours_across_daylight_saving():
    # 2026-03-29: clocks go from 02:00 to 03:00 in Amsterdam; work still starts at 08:00 local
    assert OFFICE.add(at("2026-03-27 16:59"), 120) == at("2026-03-30 08:01")


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("Mon, Wed,fri", {0, 2, 4}),
        ("sat-mon", {5, 6, 0}),
        ("mon-sun", set(range(7))),
        ("tue", {1}),
    ],
)
def test_days_are_read_from_names_and_ranges(text, days):
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize("text", ["", "monday-friday", "mon-xyz", "1-5", "mon;fri"])
def test_days_that_are_no_days_are_refused(text):
    with pytest.raises(ValueError):
        parse_days(text)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"MAILORDER_WORK_DAYS": "weekdays"}, "MAILORDER_WORK_DAYS"),
        ({"MAILORDER_WORK_END_HOUR": "25"}, "MAILORDER_WORK_END_HOUR"),
        ({"MAILORDER_WORK_START_HOUR": "-1"}, "MAILORDER_WORK_START_HOUR"),
        ({"MAILORDER_WORK_START_HOUR": "17", "MAILORDER_WORK_END_HOUR": "9"}, "MAILORDER_WORK_END_HOUR"),
        ({"MAILORDER_TIMEZONE": "Mars/Olympus"}, "MAILORDER_TIMEZONE"),
    ],
)
def test_bad_working_hours_stop_the_command_naming_the_variable(environ, named):
    with pytest.raises(ConfigError, match=named):
        Settings.load(environ=environ)


def test_settings_give_the_working_hours():
    hours = Settings.load(
        environ={
            "MAILORDER_WORK_DAYS": "mon-sun",
            "MAILORDER_WORK_START_HOUR": "0",
            "MAILORDER_WORK_END_HOUR": "24",
        }
    ).working_hours
    assert hours.days == frozenset(range(7)) and (hours.start_hour, hours.end_hour) == (0, 24)
    assert Settings().working_hours == WorkingHours(AMS)
