"""Standard 5-field cron schedules, evaluated the way Kubernetes CronJobs evaluate them.

KubeStash's ``scheduler.schedule`` becomes a CronJob, and the CronJob controller parses
it with robfig/cron (``ParseStandard``), so this module follows that library's rules
where cron dialects disagree:

* Fields are minute, hour, day-of-month, month and day-of-week. ``*`` and ``?`` mean
  "any"; lists, ranges, ``*/n``, ``a-b/n`` and ``a/n`` (``a`` up to the field's maximum)
  are allowed; months and weekdays also take three-letter English names.
* Day-of-week accepts 0-7 with both 0 and 7 meaning Sunday. The implied ranges of
  ``*/n`` and ``a/n`` end at 6 (Saturday), as in robfig/cron, so ``1/2`` is Mon, Wed,
  Fri and does not sneak Sunday in through 7.
* A day matches when day-of-month AND day-of-week match, except when both fields are
  restricted: then EITHER may match (``0 0 13 * 5`` fires on every 13th and on every
  Friday). A field is unrestricted when it is ``*`` or ``?`` (a ``*/1`` included); a
  stepped star such as ``*/2`` is a restriction.
* ``CRON_TZ=<zone>`` or ``TZ=<zone>`` in front evaluates the fields on that zone's wall
  clock; otherwise they are UTC. A wall-clock time that a DST change skips does not fire
  that day, and one that a DST change repeats fires at both instants. That is what the
  controller does, and it keeps the definition simple: the schedule fires at every
  instant whose local wall-clock time matches the fields.

``@every <duration>`` is robfig/cron's own extension, not cron; it is refused.

Searches walk calendar days (skipping whole months that cannot match) and pick the hour
and minute from the sorted field values, so even a schedule that fires once in eight
years, or never, costs a few thousand cheap steps, not a minute-by-minute scan.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import InvalidInput

__all__ = [
    "MAX_SCHEDULE_LENGTH",
    "CronSchedule",
    "next_after",
    "parse",
    "previous_before",
    "typical_interval",
]

# Real schedules are a few dozen characters; refusing long input keeps the work bounded.
MAX_SCHEDULE_LENGTH = 1024

_ARGUMENT = "schedule"
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)

# How far to look for the next or previous run. Eight years is the longest gap a
# satisfiable schedule can have: ``0 0 29 2 *`` after 2096 next fires in 2104, because
# 2100 is not a leap year. Beyond that nothing can ever match (``0 0 30 2 *``).
_SEARCH_DAYS = 8 * 366 + 2

_NUMBER = re.compile(r"[0-9]{1,9}")
# IANA zone names: letters, digits and a few punctuation marks in slash-separated parts.
# Checked before zoneinfo sees the name, so nothing path-like reaches the file lookup.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
_MAX_ZONE_NAME = 255

_MONTH_NAMES: Mapping[str, int] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_WEEKDAY_NAMES: Mapping[str, int] = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}

_MACROS: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    # Where ``*`` and ``a/n`` stop; differs from ``high`` only for day-of-week (see above).
    implied_high: int
    names: Mapping[str, int]


_MINUTE_FIELD = _FieldSpec("minute", 0, 59, 59, {})
_HOUR_FIELD = _FieldSpec("hour", 0, 23, 23, {})
_DOM_FIELD = _FieldSpec("day-of-month", 1, 31, 31, {})
_MONTH_FIELD = _FieldSpec("month", 1, 12, 12, _MONTH_NAMES)
_DOW_FIELD = _FieldSpec("day-of-week", 0, 7, 6, _WEEKDAY_NAMES)
_FIELDS = (_MINUTE_FIELD, _HOUR_FIELD, _DOM_FIELD, _MONTH_FIELD, _DOW_FIELD)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: the allowed values of each field, and the zone it runs in.

    ``days_of_week`` uses 0 for Sunday (a 7 in the expression is stored as 0).
    ``dom_restricted``/``dow_restricted`` record whether the field was anything but
    ``*``/``?``, which decides how the two day fields combine. ``timezone`` is None for
    UTC. ``expression`` is the text it came from; it is left out of equality so that
    ``@daily`` equals ``0 0 * * *``.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    dom_restricted: bool
    dow_restricted: bool
    timezone: str | None = None
    expression: str = field(default="", compare=False)
    _sorted_minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _sorted_hours: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Searches bisect into these; sorting once here keeps next_after cheap.
        object.__setattr__(self, "_sorted_minutes", tuple(sorted(self.minutes)))
        object.__setattr__(self, "_sorted_hours", tuple(sorted(self.hours)))

    @property
    def tzinfo(self) -> tzinfo:
        """The zone whose wall clock the fields describe (UTC unless CRON_TZ/TZ was given)."""
        return UTC if self.timezone is None else ZoneInfo(self.timezone)

    def day_matches(self, day: date) -> bool:
        """Whether the schedule fires at all on this calendar day (in its own zone)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = day.isoweekday() % 7 in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow


# --------------------------------------------------------------------------- parsing


def parse(expr: str) -> CronSchedule:
    """Parse a 5-field cron expression (optionally ``CRON_TZ=zone``-prefixed, or a macro).

    Raises InvalidInput, naming the field at fault, for malformed or out-of-range fields,
    unknown zones and macros, and ``@every`` (valid for robfig/cron but not cron).
    """
    if len(expr) > MAX_SCHEDULE_LENGTH:
        raise _invalid(expr, f"it is longer than {MAX_SCHEDULE_LENGTH} characters")
    text = expr.strip()
    if not text:
        raise _invalid(expr, "it is empty; expected 5 fields or a macro such as @daily")

    timezone: str | None = None
    if text.startswith(("CRON_TZ=", "TZ=")):
        assignment, *rest = text.split(None, 1)
        text = rest[0] if rest else ""
        timezone = _parse_zone(expr, assignment.partition("=")[2])
        if not text:
            raise _invalid(expr, f"nothing follows {assignment!r}; expected 5 fields")

    if text.startswith("@"):
        text = _expand_macro(expr, text)

    parts = text.split()
    if len(parts) != len(_FIELDS):
        extra = "; a seconds field is not supported" if len(parts) == 6 else ""
        raise _invalid(
            expr,
            f"expected 5 fields (minute hour day-of-month month day-of-week) "
            f"but found {len(parts)}{extra}",
        )

    parsed = [_parse_field(expr, part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = parsed
    # 7 is another name for Sunday; store one spelling so membership tests are simple.
    dows = frozenset(0 if d == 7 else d for d in dows)
    return CronSchedule(
        minutes=minutes,
        hours=hours,
        days_of_month=doms,
        months=months,
        days_of_week=dows,
        dom_restricted=not dom_star,
        dow_restricted=not dow_star,
        timezone=timezone,
        expression=expr.strip(),
    )


def _parse_zone(expr: str, name: str) -> str:
    if not name:
        raise _invalid(expr, "the time zone after CRON_TZ=/TZ= is empty")
    if len(name) > _MAX_ZONE_NAME or not _ZONE_NAME.fullmatch(name):
        raise _invalid(expr, f"{name!r} is not a valid time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _invalid(expr, f"unknown time zone {name!r}") from None
    return name


def _expand_macro(expr: str, text: str) -> str:
    word, *rest = text.split()
    lowered = word.lower()
    if lowered == "@every":
        raise _invalid(
            expr,
            "'@every' intervals are a robfig/cron extension, not a cron schedule, and are "
            "not supported; use a 5-field expression such as '0 */6 * * *'",
        )
    if lowered not in _MACROS:
        known = ", ".join(_MACROS)
        raise _invalid(expr, f"unknown macro {word!r}; expected one of {known}")
    if rest:
        raise _invalid(expr, f"the macro {word!r} must stand alone, without other fields")
    return _MACROS[lowered]


def _parse_field(expr: str, text: str, spec: _FieldSpec) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is unrestricted (``*``/``?``)."""
    values: set[int] = set()
    star = False
    for item in text.split(","):
        if not item:
            raise _field_error(expr, spec, f"{text!r} has an empty list item")
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _NUMBER.fullmatch(step_text):
                problem = (
                    "too large" if step_text.isascii() and step_text.isdigit() else "not a number"
                )
                raise _field_error(expr, spec, f"the step in {item!r} is {problem}")
            step = int(step_text)
            if step < 1:
                raise _field_error(expr, spec, "step must be at least 1")
        if span in ("*", "?"):
            low, high = spec.low, spec.implied_high
            # robfig/cron: */1 is still "any"; a real step restricts the field.
            star = star or step == 1
        elif "-" in span:
            first, _, last = span.partition("-")
            low = _parse_value(expr, first, spec, item)
            high = _parse_value(expr, last, spec, item)
            if low > high:
                raise _field_error(
                    expr, spec, f"the range {span!r} starts after it ends ({low} > {high})"
                )
        else:
            low = _parse_value(expr, span, spec, item)
            high = spec.implied_high if slash else low
        values.update(range(low, high + 1, step))
    if not values:
        # Only "a/n" with a past the implied end (day-of-week 7/2) can leave nothing.
        raise _field_error(expr, spec, f"{text!r} allows no value")
    return frozenset(values), star


def _parse_value(expr: str, text: str, spec: _FieldSpec, item: str) -> int:
    if not text:
        raise _field_error(expr, spec, f"{item!r} is missing a number")
    if _NUMBER.fullmatch(text):
        value = int(text)
    elif text.lower() in spec.names:
        return spec.names[text.lower()]
    elif text.isascii() and text.isdigit():
        value = spec.high + 1  # absurdly long digit strings are just out of range
    else:
        kind = "a number or a name" if spec.names else "a number"
        raise _field_error(expr, spec, f"{text!r} is not {kind}")
    if not spec.low <= value <= spec.high:
        raise _field_error(
            expr, spec, f"value {text} is out of range (allowed {spec.low}-{spec.high})"
        )
    return value


def _field_error(expr: str, spec: _FieldSpec, problem: str) -> InvalidInput:
    return _invalid(expr, f"{problem} in the {spec.name} field")


def _invalid(expr: str, problem: str) -> InvalidInput:
    shown = expr if len(expr) <= 100 else expr[:100] + "..."
    return InvalidInput(f"schedule '{shown}': {problem}", extensions={"argument": _ARGUMENT})


# --------------------------------------------------------------------------- searching


def next_after(schedule: CronSchedule, t: datetime) -> datetime | None:
    """The first time the schedule fires strictly after ``t``, in UTC.

    None if it never fires again within eight years (which means never; see
    ``_SEARCH_DAYS``) or the search runs off the end of the calendar.
    """
    _require_aware(t)
    zone = schedule.tzinfo
    try:
        # Start a day early: a wall clock set back over midnight can give the previous
        # local date instants that are still ahead of t.
        day: date | None = t.astimezone(zone).date() - _DAY
        last = _clamped_shift(t.astimezone(zone).date(), _SEARCH_DAYS)
        while day is not None and day <= last:
            if day.month not in schedule.months:
                day = _first_of_next_month(day)
            elif schedule.day_matches(day) and (found := _earliest_in_day(schedule, zone, day, t)):
                return found
            else:
                day = day + _DAY
    except OverflowError:  # ran off the end of the calendar
        return None
    return None


def previous_before(schedule: CronSchedule, t: datetime) -> datetime | None:
    """The last time the schedule fired strictly before ``t``, in UTC (None as above)."""
    _require_aware(t)
    zone = schedule.tzinfo
    try:
        day: date | None = t.astimezone(zone).date() + _DAY
        first = _clamped_shift(t.astimezone(zone).date(), -_SEARCH_DAYS)
        while day is not None and day >= first:
            if day.month not in schedule.months:
                day = _last_of_previous_month(day)
            elif schedule.day_matches(day) and (found := _latest_in_day(schedule, zone, day, t)):
                return found
            else:
                day = day - _DAY
    except OverflowError:
        return None
    return None


def typical_interval(schedule: CronSchedule, around: datetime) -> timedelta | None:
    """The gap between the next two runs after ``around``: how long the schedule expects
    to go without a run at that point. None if it does not fire twice more."""
    first = next_after(schedule, around)
    if first is None:
        return None
    second = next_after(schedule, first)
    return None if second is None else second - first


def _require_aware(t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("cron searches need a timezone-aware datetime")


def _clamped_shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, stopping at the ends of the calendar."""
    if days >= 0:
        return date.max if (date.max - day).days < days else day + timedelta(days=days)
    return date.min if (day - date.min).days < -days else day + timedelta(days=days)


def _first_of_next_month(day: date) -> date | None:
    if day.month == 12:
        return None if day.year == MAXYEAR else date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


def _last_of_previous_month(day: date) -> date | None:
    if day.year == MINYEAR and day.month == 1:
        return None
    return day.replace(day=1) - _DAY


def _earliest_in_day(
    schedule: CronSchedule, zone: tzinfo, day: date, t: datetime
) -> datetime | None:
    """The earliest instant after ``t`` among the day's matching wall-clock times."""
    minutes = schedule._sorted_minutes
    best: datetime | None = None
    for hour in schedule._sorted_hours:
        start = _regular_hour_start(zone, day, hour)
        candidate: datetime | None = None
        if start is not None:
            # Minutes of a regular hour are evenly spaced instants: bisect for the first
            # one after t.
            index = bisect_left(minutes, max(0, (t - start) // _MINUTE + 1))
            if index < len(minutes):
                candidate = start + minutes[index] * _MINUTE
        else:
            candidate = min(
                (i for m in minutes for i in _wall_instants(zone, day, hour, m) if i > t),
                default=None,
            )
        if candidate is not None and (best is None or candidate < best):
            best = candidate
            if zone is UTC:
                break  # without DST, later hours are later instants
    return best


def _latest_in_day(schedule: CronSchedule, zone: tzinfo, day: date, t: datetime) -> datetime | None:
    """The latest instant before ``t`` among the day's matching wall-clock times."""
    minutes = schedule._sorted_minutes
    best: datetime | None = None
    for hour in reversed(schedule._sorted_hours):
        start = _regular_hour_start(zone, day, hour)
        candidate: datetime | None = None
        if start is not None:
            # The last whole minute m with start + m < t: m < ceil((t - start) / 1 min).
            index = bisect_right(minutes, -((start - t) // _MINUTE) - 1) - 1
            if index >= 0:
                candidate = start + minutes[index] * _MINUTE
        else:
            candidate = max(
                (i for m in minutes for i in _wall_instants(zone, day, hour, m) if i < t),
                default=None,
            )
        if candidate is not None and (best is None or candidate > best):
            best = candidate
            if zone is UTC:
                break
    return best


def _regular_hour_start(zone: tzinfo, day: date, hour: int) -> datetime | None:
    """The UTC instant of ``hour:00`` if the whole wall-clock hour has one fixed offset.

    None for an hour that a zone change touches (a DST gap or repeat); the caller then
    resolves that hour minute by minute. PEP 495 gives a wall time different offsets for
    fold=0 and fold=1 exactly when the time is skipped or repeated, so equal offsets at
    both ends of the hour mean no change happens inside it.
    """
    if zone is UTC:
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    opens = datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)
    closes = opens.replace(minute=59)
    offset = opens.utcoffset()
    if (
        opens.replace(fold=1).utcoffset() != offset
        or closes.utcoffset() != offset
        or closes.replace(fold=1).utcoffset() != offset
    ):
        return None
    return opens.astimezone(UTC)


def _wall_instants(zone: tzinfo, day: date, hour: int, minute: int) -> tuple[datetime, ...]:
    """Every UTC instant at which the zone's clock shows this wall time: one normally,
    none in a gap (clocks jumped forward past it), two in a repeat (clocks went back)."""
    earlier = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    later = earlier.replace(fold=1)
    before, after = earlier.utcoffset(), later.utcoffset()
    if before is None or after is None or before == after:
        return (earlier.astimezone(UTC),)
    if before < after:
        return ()  # the offset grew: the clock skipped this time
    return (earlier.astimezone(UTC), later.astimezone(UTC))
