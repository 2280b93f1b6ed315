"""Cron schedules: parsing, next/previous run times (with DST) and clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import cron
from core.cron import CronSchedule, next_after, parse, previous_before, typical_interval
from core.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# 2024-05-06 is a Monday; 2024-05-10 and 2024-05-17 are Fridays; 2024-05-13 a Monday.
MONDAY = utc(2024, 5, 6, 10, 7)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expr", "attribute", "expected"),
    [
        ("*/15 * * * *", "minutes", {0, 15, 30, 45}),
        ("1-10/3 * * * *", "minutes", {1, 4, 7, 10}),
        ("5/20 * * * *", "minutes", {5, 25, 45}),
        ("0,30,59 * * * *", "minutes", {0, 30, 59}),
        ("0 9-17/4 * * *", "hours", {9, 13, 17}),
        ("0 22/1 * * *", "hours", {22, 23}),
        ("0 0 1,15,31 * *", "days_of_month", {1, 15, 31}),
        ("0 0 * jan-mar *", "months", {1, 2, 3}),
        ("0 0 * JUL,Dec,5 *", "months", {5, 7, 12}),
        ("0 0 * FEB/5 *", "months", {2, 7, 12}),
        ("0 0 * * *", "days_of_week", {0, 1, 2, 3, 4, 5, 6}),
        ("0 0 * * */2", "days_of_week", {0, 2, 4, 6}),
        # a/n stops at Saturday, so Sunday does not come back in as 7.
        ("0 0 * * 1/2", "days_of_week", {1, 3, 5}),
        ("0 0 * * 5-7", "days_of_week", {5, 6, 0}),
        ("0 0 * * 7", "days_of_week", {0}),
        ("0 0 * * 0-7", "days_of_week", {0, 1, 2, 3, 4, 5, 6}),
        ("0 0 * * MON-FRI", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 0 * * sat,Sun", "days_of_week", {0, 6}),
        ("0 0 * * MON-FRI/2", "days_of_week", {1, 3, 5}),
    ],
)
def test_field_values(expr: str, attribute: str, expected: set[int]) -> None:
    assert getattr(parse(expr), attribute) == frozenset(expected)


@pytest.mark.parametrize(
    ("expr", "dom_restricted", "dow_restricted"),
    [
        ("0 0 * * *", False, False),
        ("0 0 ? * ?", False, False),
        ("0 0 */1 * */1", False, False),
        ("0 0 */2 * *", True, False),
        ("0 0 1-31 * *", True, False),
        ("0 0 * * 0-6", False, True),
        ("0 0 13 * 5", True, True),
    ],
)
def test_which_day_fields_count_as_restricted(
    expr: str, dom_restricted: bool, dow_restricted: bool
) -> None:
    schedule = parse(expr)
    assert (schedule.dom_restricted, schedule.dow_restricted) == (dom_restricted, dow_restricted)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
        ("0 0 * * 7", "0 0 * * 0"),
        ("0 0 * * SUN", "0 0 * * 0"),
        ("0 0 * * sun", "0 0 * * 0"),
        ("0 0 1 JAN *", "0 0 1 1 *"),
        ("00 02 * * *", "0 2 * * *"),
        ("  0\t0  *  * *  ", "0 0 * * *"),
        ("0 0 ? * *", "0 0 * * *"),
        ("CRON_TZ=Europe/Berlin @daily", "TZ=Europe/Berlin 0 0 * * *"),
    ],
)
def test_equivalent_spellings_parse_equal(left: str, right: str) -> None:
    assert parse(left) == parse(right)
    assert hash(parse(left)) == hash(parse(right))


def test_schedule_keeps_its_text_and_zone() -> None:
    schedule = parse(" CRON_TZ=Europe/Berlin 0 3 * * * ")
    assert schedule.timezone == "Europe/Berlin"
    assert schedule.tzinfo == BERLIN
    assert schedule.expression == "CRON_TZ=Europe/Berlin 0 3 * * *"
    assert parse("0 3 * * *").timezone is None
    assert parse("0 3 * * *").tzinfo is UTC
    assert parse("TZ=UTC 0 3 * * *").timezone == "UTC"
    assert parse("CRON_TZ=Europe/Berlin 0 3 * * *") != parse("0 3 * * *")


def test_schedules_are_frozen_and_hashable() -> None:
    schedule = parse("*/5 * * * *")
    assert len({schedule, parse("0-55/5 * * * *"), parse("*/10 * * * *")}) == 2
    with pytest.raises(AttributeError):
        schedule.minutes = frozenset()  # type: ignore[misc]


def test_directly_built_schedule_works() -> None:
    schedule = CronSchedule(
        minutes=frozenset({30}),
        hours=frozenset({4}),
        days_of_month=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        days_of_week=frozenset(range(7)),
        dom_restricted=False,
        dow_restricted=False,
    )
    assert schedule == parse("30 4 * * *")
    assert next_after(schedule, MONDAY) == utc(2024, 5, 7, 4, 30)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("*/0 * * * *", "schedule '*/0 * * * *': step must be at least 1 in the minute field"),
        ("60 * * * *", "value 60 is out of range (allowed 0-59) in the minute field"),
        ("99999999999 * * * *", "out of range (allowed 0-59) in the minute field"),
        ("5-1 * * * *", "the range '5-1' starts after it ends (5 > 1) in the minute field"),
        ("1,,2 * * * *", "'1,,2' has an empty list item in the minute field"),
        ("1, * * * *", "has an empty list item in the minute field"),
        ("*/x * * * *", "the step in '*/x' is not a number in the minute field"),
        ("*/ * * * *", "the step in '*/' is not a number in the minute field"),
        ("*/1000000000000 * * * *", "is too large in the minute field"),
        ("-5 * * * *", "'-5' is missing a number in the minute field"),
        ("1-2-3 * * * *", "'2-3' is not a number in the minute field"),
        ("*-5 * * * *", "'*' is not a number in the minute field"),
        ("JAN * * * *", "'JAN' is not a number in the minute field"),
        ("1.5 * * * *", "'1.5' is not a number in the minute field"),
        ("\uff15 * * * *", "is not a number in the minute field"),
        ("0 24 * * *", "value 24 is out of range (allowed 0-23) in the hour field"),
        ("0 MON * * *", "'MON' is not a number in the hour field"),
        ("0 0 0 * *", "value 0 is out of range (allowed 1-31) in the day-of-month field"),
        ("0 0 32 * *", "value 32 is out of range (allowed 1-31) in the day-of-month field"),
        ("0 0 L * *", "'L' is not a number in the day-of-month field"),
        ("0 0 * 0 *", "value 0 is out of range (allowed 1-12) in the month field"),
        ("0 0 * 13 *", "value 13 is out of range (allowed 1-12) in the month field"),
        ("0 0 * FOO *", "'FOO' is not a number or a name in the month field"),
        ("0 0 * DEC-JAN *", "the range 'DEC-JAN' starts after it ends (12 > 1) in the month"),
        ("0 0 * * 8", "value 8 is out of range (allowed 0-7) in the day-of-week field"),
        ("0 0 * * MON-FOO", "'FOO' is not a number or a name in the day-of-week field"),
        ("0 0 * * SAT-SUN", "starts after it ends (6 > 0) in the day-of-week field"),
        ("0 0 * * 7/2", "'7/2' allows no value in the day-of-week field"),
        ("0 0 * * 5#3", "'5#3' is not a number or a name in the day-of-week field"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week) but found 4"),
        ("0 * * * * *", "but found 6; a seconds field is not supported"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("@every 1h", "'@every' intervals are a robfig/cron extension"),
        ("@every", "'@every' intervals are a robfig/cron extension"),
        ("@reboot", "unknown macro '@reboot'; expected one of @yearly"),
        ("@daily 0", "the macro '@daily' must stand alone"),
        ("CRON_TZ=Mars/Olympus_Mons 0 0 * * *", "unknown time zone 'Mars/Olympus_Mons'"),
        ("TZ=Europe 0 0 * * *", "unknown time zone 'Europe'"),
        ("CRON_TZ= 0 0 * * *", "the time zone after CRON_TZ=/TZ= is empty"),
        ("TZ=../../etc/passwd 0 0 * * *", "'../../etc/passwd' is not a valid time zone name"),
        ("TZ=/etc/localtime 0 0 * * *", "is not a valid time zone name"),
        ("CRON_TZ=Europe/Berlin", "nothing follows 'CRON_TZ=Europe/Berlin'"),
        ("CRON_TZ=Europe/Berlin @every 5m", "'@every' intervals"),
        ("CRON_TZ=Europe/Berlin 0 0 * *", "expected 5 fields"),
        ("0 0 * * * " * 300, "longer than 1024 characters"),
    ],
)
def test_invalid_expressions_name_the_problem(expr: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(expr)
    assert message in caught.value.message
    assert caught.value.message.startswith("schedule '")
    assert caught.value.extensions == {"code": "BAD_USER_INPUT", "argument": "schedule"}


def test_long_expressions_are_not_echoed_in_full() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse("1" * 5000)
    assert len(caught.value.message) < 200


# --------------------------------------------------------------------------- next_after


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        # Steps, strictly after, and the day boundary.
        ("*/15 * * * *", MONDAY, utc(2024, 5, 6, 10, 15)),
        ("*/15 * * * *", utc(2024, 5, 6, 10, 15), utc(2024, 5, 6, 10, 30)),
        ("*/15 * * * *", utc(2024, 5, 6, 10, 14, 59), utc(2024, 5, 6, 10, 15)),
        ("*/15 * * * *", utc(2024, 5, 6, 23, 50), utc(2024, 5, 7)),
        ("* * * * *", utc(2024, 5, 6, 10, 7, 30), utc(2024, 5, 6, 10, 8)),
        ("0,30 * * * *", MONDAY, utc(2024, 5, 6, 10, 30)),
        ("5/20 * * * *", MONDAY, utc(2024, 5, 6, 10, 25)),
        ("0 9-17/4 * * *", MONDAY, utc(2024, 5, 6, 13)),
        ("0 9-17/4 * * *", utc(2024, 5, 6, 17), utc(2024, 5, 7, 9)),
        # Weekly: Sunday as 0, 7 and SUN.
        ("0 2 * * 0", MONDAY, utc(2024, 5, 12, 2)),
        ("0 2 * * 7", MONDAY, utc(2024, 5, 12, 2)),
        ("0 2 * * SUN", utc(2024, 5, 12, 2), utc(2024, 5, 19, 2)),
        ("30 8 * * mon,wed", MONDAY, utc(2024, 5, 8, 8, 30)),
        ("0 0 * * 5-7", MONDAY, utc(2024, 5, 10)),
        ("0 0 * * 5-7", utc(2024, 5, 11), utc(2024, 5, 12)),
        ("0 0 * * 5-7", utc(2024, 5, 12), utc(2024, 5, 17)),
        ("0 0 * * 1/2", utc(2024, 5, 10), utc(2024, 5, 13)),
        # Monthly, across month and year ends.
        ("0 0 1 * *", MONDAY, utc(2024, 6, 1)),
        ("0 0 1 * *", utc(2024, 12, 15), utc(2025, 1, 1)),
        ("0 0 1 * *", utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1)),
        ("0 0 31 * *", utc(2024, 4, 1), utc(2024, 5, 31)),
        ("59 23 31 12 *", utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59)),
        ("0 9 * JAN-MAR MON-FRI", utc(2024, 3, 29, 10), utc(2025, 1, 1, 9)),
        # February 29th waits for the next leap year, across a skipped century leap day.
        ("0 0 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29)),
        ("0 0 29 2 *", utc(2024, 2, 28, 12), utc(2024, 2, 29)),
        ("0 0 29 2 *", utc(2096, 3, 1), utc(2104, 2, 29)),
        # Both day fields restricted: either one matching is enough.
        ("0 0 13 * 5", MONDAY, utc(2024, 5, 10)),
        ("0 0 13 * 5", utc(2024, 5, 10), utc(2024, 5, 13)),
        ("0 0 13 * 5", utc(2024, 5, 13), utc(2024, 5, 17)),
        ("0 0 */2 * 5", MONDAY, utc(2024, 5, 7)),
        # Only one restricted: both must match (the other is "any").
        ("0 0 13 * *", MONDAY, utc(2024, 5, 13)),
        ("0 0 13 * ?", MONDAY, utc(2024, 5, 13)),
        ("0 0 13 * */1", MONDAY, utc(2024, 5, 13)),
        ("0 0 ? * 5", MONDAY, utc(2024, 5, 10)),
        ("0 0 * * 5", MONDAY, utc(2024, 5, 10)),
        # Macros.
        ("@yearly", MONDAY, utc(2025, 1, 1)),
        ("@monthly", MONDAY, utc(2024, 6, 1)),
        ("@weekly", MONDAY, utc(2024, 5, 12)),
        ("@daily", MONDAY, utc(2024, 5, 7)),
        ("@hourly", MONDAY, utc(2024, 5, 6, 11)),
        # Zones: Berlin springs forward on 2024-03-31 and falls back on 2024-10-27.
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 3, 30, 2), utc(2024, 3, 31, 1)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 3, 31, 1), utc(2024, 4, 1, 1)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 10, 26, 1), utc(2024, 10, 27, 2)),
        ("TZ=America/New_York 0 9 * * *", MONDAY, utc(2024, 5, 6, 13)),
        ("TZ=America/New_York 0 9 * * *", utc(2024, 1, 8, 10), utc(2024, 1, 8, 14)),
        # 02:30 does not exist on 2024-03-31 in Berlin: that day is skipped...
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 3, 30, 1, 30), utc(2024, 4, 1, 0, 30)),
        # ...and happens twice on 2024-10-27 (CEST, then CET): it fires at both.
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 10, 27), utc(2024, 10, 27, 0, 30)),
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30)),
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 10, 27, 1, 30), utc(2024, 10, 28, 1, 30)),
        # In the repeated hour, instants interleave: 02:45 CEST comes before 02:00 CET.
        ("CRON_TZ=Europe/Berlin */15 * * * *", utc(2024, 10, 27, 0, 40), utc(2024, 10, 27, 0, 45)),
        ("CRON_TZ=Europe/Berlin */15 * * * *", utc(2024, 10, 27, 0, 59), utc(2024, 10, 27, 1)),
        # Monthly in a zone: midnight Berlin is the evening before in UTC.
        ("CRON_TZ=Europe/Berlin @monthly", MONDAY, utc(2024, 5, 31, 22)),
        # Lord Howe moves its clocks by 30 minutes: 02:15 does not exist on 2024-10-06.
        ("CRON_TZ=Australia/Lord_Howe 15 2 * * *", utc(2024, 10, 4, 16), utc(2024, 10, 6, 15, 15)),
    ],
)
def test_next_after(expr: str, after: datetime, expected: datetime) -> None:
    found = next_after(parse(expr), after)
    assert found == expected
    assert found is not None
    assert found.tzinfo is UTC


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 31 FEB *",
        "CRON_TZ=Europe/Berlin 0 0 30 2 *",
    ],
)
def test_impossible_schedules_never_fire(expr: str) -> None:
    assert next_after(parse(expr), MONDAY) is None
    assert previous_before(parse(expr), MONDAY) is None
    assert typical_interval(parse(expr), MONDAY) is None


def test_next_after_accepts_any_aware_time() -> None:
    local = datetime(2024, 5, 6, 12, 7, tzinfo=BERLIN)  # 10:07 UTC
    assert next_after(parse("*/15 * * * *"), local) == utc(2024, 5, 6, 10, 15)
    offset = datetime(2024, 5, 6, 5, 7, tzinfo=ZoneInfo("America/New_York"))  # 09:07 UTC
    assert previous_before(parse("0 * * * *"), offset) == utc(2024, 5, 6, 9)


def test_naive_times_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_after(parse("* * * * *"), datetime(2024, 5, 6))
    with pytest.raises(ValueError, match="timezone-aware"):
        previous_before(parse("* * * * *"), datetime(2024, 5, 6))


def test_searches_stop_at_the_ends_of_the_calendar() -> None:
    every_minute = parse("* * * * *")
    assert next_after(every_minute, utc(9999, 12, 31, 23, 58)) == utc(9999, 12, 31, 23, 59)
    assert next_after(every_minute, datetime.max.replace(tzinfo=UTC)) is None
    assert previous_before(every_minute, utc(1, 1, 1, 0, 1)) == utc(1, 1, 1)
    assert previous_before(every_minute, datetime.min.replace(tzinfo=UTC)) is None
    assert next_after(parse("0 0 1 1 *"), utc(9999, 6, 1)) is None


# --------------------------------------------------------------------------- previous_before


@pytest.mark.parametrize(
    ("expr", "before", "expected"),
    [
        ("*/15 * * * *", MONDAY, utc(2024, 5, 6, 10)),
        ("*/15 * * * *", utc(2024, 5, 6, 10, 15), utc(2024, 5, 6, 10)),
        (
            "*/15 * * * *",
            utc(2024, 5, 6, 10, 15) + timedelta(microseconds=1),
            utc(2024, 5, 6, 10, 15),
        ),
        ("*/15 * * * *", utc(2024, 5, 6), utc(2024, 5, 5, 23, 45)),
        ("0 9-17/4 * * *", utc(2024, 5, 6, 9), utc(2024, 5, 5, 17)),
        ("0 2 * * 0", MONDAY, utc(2024, 5, 5, 2)),
        ("0 2 * * 0", utc(2024, 5, 5, 2), utc(2024, 4, 28, 2)),
        ("0 0 1 * *", MONDAY, utc(2024, 5, 1)),
        ("0 0 1 * *", utc(2025, 1, 1), utc(2024, 12, 1)),
        ("0 0 31 * *", utc(2024, 5, 1), utc(2024, 3, 31)),
        ("0 0 29 2 *", utc(2028, 2, 28), utc(2024, 2, 29)),
        ("0 0 29 2 *", utc(2104, 1, 1), utc(2096, 2, 29)),
        ("0 0 13 * 5", utc(2024, 5, 17), utc(2024, 5, 13)),
        ("0 0 13 * 5", utc(2024, 5, 13), utc(2024, 5, 10)),
        ("0 0 13 * *", utc(2024, 5, 12), utc(2024, 4, 13)),
        ("@yearly", MONDAY, utc(2024, 1, 1)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 3, 31, 1), utc(2024, 3, 30, 2)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 10, 27, 2), utc(2024, 10, 26, 1)),
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 4, 1, 0, 30), utc(2024, 3, 30, 1, 30)),
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 10, 27, 1, 30), utc(2024, 10, 27, 0, 30)),
        ("CRON_TZ=Europe/Berlin */15 * * * *", utc(2024, 10, 27, 1, 5), utc(2024, 10, 27, 1)),
        (
            "CRON_TZ=Europe/Berlin */15 * * * *",
            utc(2024, 10, 27, 1, 0),
            utc(2024, 10, 27, 0, 45),
        ),
    ],
)
def test_previous_before(expr: str, before: datetime, expected: datetime) -> None:
    found = previous_before(parse(expr), before)
    assert found == expected
    assert found is not None
    assert found.tzinfo is UTC


@pytest.mark.parametrize(
    "expr",
    [
        "*/15 * * * *",
        "0 2 * * 0",
        "0 0 1 * *",
        "0 0 29 2 *",
        "0 0 13 * 5",
        "CRON_TZ=Europe/Berlin 30 2 * * *",
        "CRON_TZ=America/New_York 0 */5 * * 1-5",
    ],
)
@pytest.mark.parametrize(
    "start", [MONDAY, utc(2024, 3, 30, 23, 59), utc(2024, 10, 26, 23, 40), utc(2099, 12, 31)]
)
def test_next_and_previous_are_inverses(expr: str, start: datetime) -> None:
    schedule = parse(expr)
    fire = next_after(schedule, start)
    assert fire is not None
    assert fire > start
    assert previous_before(schedule, fire) is not None
    assert previous_before(schedule, fire + timedelta(seconds=1)) == fire
    assert next_after(schedule, fire - timedelta(seconds=1)) == fire
    earlier = previous_before(schedule, fire)
    assert earlier is not None
    assert earlier <= start
    assert next_after(schedule, earlier) == fire


# --------------------------------------------------------------------------- typical_interval


@pytest.mark.parametrize(
    ("expr", "around", "expected"),
    [
        ("*/15 * * * *", MONDAY, timedelta(minutes=15)),
        ("0 9-17/4 * * *", MONDAY, timedelta(hours=4)),
        ("0 9-17/4 * * *", utc(2024, 5, 6, 14), timedelta(hours=16)),
        ("0 2 * * 0", MONDAY, timedelta(days=7)),
        ("0 0 1 * *", MONDAY, timedelta(days=30)),
        ("0 0 29 2 *", utc(2024, 3, 1), timedelta(days=1461)),
        ("0 0 13 * 5", MONDAY, timedelta(days=3)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 3, 30, 1), timedelta(hours=23)),
        ("CRON_TZ=Europe/Berlin 0 3 * * *", utc(2024, 10, 26), timedelta(hours=25)),
        ("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2024, 10, 27), timedelta(hours=1)),
    ],
)
def test_typical_interval(expr: str, around: datetime, expected: timedelta) -> None:
    assert typical_interval(parse(expr), around) == expected


@pytest.mark.parametrize(
    ("expr", "around"),
    [
        ("0 0 30 2 *", MONDAY),
        ("0 0 1 1 *", utc(9998, 6, 1)),  # fires once more (9999-01-01), then the calendar ends
        ("0 0 1 1 *", utc(9999, 6, 1)),
    ],
)
def test_typical_interval_is_none_without_two_more_runs(expr: str, around: datetime) -> None:
    assert typical_interval(parse(expr), around) is None


# --------------------------------------------------------------------------- cross-check


def _brute_force(schedule: CronSchedule, t: datetime, *, forward: bool) -> datetime | None:
    """Minute-by-minute reference over two days, straight from the definition: the
    schedule fires at every UTC minute whose wall-clock time in its zone matches."""
    step = timedelta(minutes=1) if forward else -timedelta(minutes=1)
    instant = t.astimezone(UTC).replace(second=0, microsecond=0)
    if forward or instant == t:
        instant += step
    for _ in range(2 * 24 * 60):
        local = instant.astimezone(schedule.tzinfo)
        if (
            local.minute in schedule.minutes
            and local.hour in schedule.hours
            and schedule.day_matches(local.date())
        ):
            return instant
        instant += step
    return None


@pytest.mark.parametrize(
    "expr",
    [
        "*/15 * * * *",
        "*/7 1-3 * * *",
        "30 2 * * *",
        "0,30 1,2 * * *",
        "0 3 * * *",
        "59 23 * * *",
        "45 0 * * *",
    ],
)
@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("UTC", utc(2024, 5, 6, 10, 7)),
        ("Europe/Berlin", utc(2024, 3, 30, 23, 30)),
        ("Europe/Berlin", utc(2024, 10, 26, 23, 50)),
        ("Europe/Berlin", utc(2024, 10, 27, 0, 40)),
        ("America/New_York", utc(2024, 11, 3, 5, 20)),
        ("America/New_York", utc(2024, 3, 10, 6, 59)),
        ("Australia/Lord_Howe", utc(2024, 4, 6, 14, 50)),
        ("Australia/Lord_Howe", utc(2024, 10, 5, 15, 10)),
        ("Asia/Kolkata", utc(2024, 5, 6, 20, 0, 30)),
    ],
)
def test_searches_agree_with_a_minute_by_minute_scan(
    expr: str, zone: str, around: datetime
) -> None:
    schedule = parse(f"CRON_TZ={zone} {expr}")
    at = around
    for _ in range(6):  # walk a few runs forward through the DST change
        expected = _brute_force(schedule, at, forward=True)
        assert expected is not None
        assert next_after(schedule, at) == expected
        at = expected
    at = around + timedelta(hours=6)
    for _ in range(6):
        expected = _brute_force(schedule, at, forward=False)
        assert expected is not None
        assert previous_before(schedule, at) == expected
        at = expected


def test_search_window_covers_the_longest_possible_gap() -> None:
    # 2096-02-29 to 2104-02-29 is the longest wait any satisfiable schedule can have.
    longest = (utc(2104, 2, 29) - utc(2096, 2, 29)).days
    assert longest + 1 <= cron._SEARCH_DAYS
