"""What a list or an event stream is asked for: the filters, as the read side sees them.

The schema's filter inputs turn into these (enum members as their names), so nothing
below the schema depends on strawberry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RefQuery:
    """A database named in a filter (ObjectRefInput)."""

    namespace: str
    name: str
    cluster: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class DatabaseQuery:
    clusters: list[str] | None = None
    namespaces: list[str] | None = None
    kinds: list[str] | None = None
    phases: list[str] | None = None
    backup_health: list[str] | None = None
    name_contains: str | None = None
    label_selector: str | None = None


@dataclass(frozen=True)
class SnapshotQuery:
    clusters: list[str] | None = None
    namespaces: list[str] | None = None
    database: RefQuery | None = None
    repository: str | None = None
    types: list[str] | None = None
    phases: list[str] | None = None
    methods: list[str] | None = None
    taken_after: datetime | None = None
    taken_before: datetime | None = None


@dataclass(frozen=True)
class ResourceQuery:
    clusters: list[str] | None = None
    namespaces: list[str] | None = None
    name_contains: str | None = None
    label_selector: str | None = None


@dataclass(frozen=True)
class SessionQuery:
    clusters: list[str] | None = None
    namespaces: list[str] | None = None
    database: RefQuery | None = None
    phases: list[str] | None = None
