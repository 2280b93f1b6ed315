"""Times as Kubernetes objects carry them: RFC 3339 (metav1.Time, up to nanoseconds) and,
in some KubeStash status fields that are plain strings, Go's default time format."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Go's time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST", sometimes with a
# monotonic-clock suffix " m=+0.000000001". Some KubeStash status fields that are plain
# strings (not metav1.Time) have been seen in this form.
_GO_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{4})(?: [A-Za-z0-9+-]+)?"
    r"(?: m=[+-][0-9.]+)?"
)
_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: object) -> datetime | None:
    """A timezone-aware datetime from RFC 3339 (metav1.Time) or Go's default time format.

    Naive times are taken as UTC; anything unparseable is None.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        go = _GO_TIME.fullmatch(text)
        if go is not None:
            date, clock, fraction, offset = go.groups()
            text = f"{date}T{clock}{_micro(fraction)}{offset[:3]}:{offset[3:]}"
        else:
            # fromisoformat accepts at most microseconds; Kubernetes may send nanoseconds.
            text = _FRACTION.sub(lambda m: _micro(m.group(1)), text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _micro(fraction: str | None) -> str:
    return f".{fraction[:6].ljust(6, '0')}" if fraction else ""
