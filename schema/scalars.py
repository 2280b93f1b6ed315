"""The contract's custom scalars.

``DateTime`` is strawberry's built-in scalar for ``datetime.datetime`` (already named
DateTime; serialised as ISO 8601), so fields are simply annotated ``datetime``.
``JSON`` is strawberry's JSON scalar, re-exported here with a helper that wraps a dict.
"""

from __future__ import annotations

from collections.abc import Mapping

from strawberry.scalars import JSON


def json_object(values: Mapping[str, object]) -> JSON:
    """A plain dict as a value of the JSON scalar."""
    return JSON(dict(values))


__all__ = ["JSON", "json_object"]
