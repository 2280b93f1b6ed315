"""The Subscription root: phase changes streamed from the shared informers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeVar

import strawberry

from core.errors import NotImplementedYet
from schema.arguments import ResumeToken
from schema.events import BackupSessionEvent, DatabaseEvent, RestoreSessionEvent, SnapshotEvent
from schema.inputs import BackupSessionFilter, DatabaseFilter, RestoreSessionFilter, SnapshotFilter

T = TypeVar("T")


async def _not_yet(event_type: type[T], what: str) -> AsyncGenerator[T, None]:
    """An event stream that fails on first use; stands in for an unbuilt subscription."""
    raise NotImplementedYet(what)
    yield  # pragma: no cover - makes this an async generator


@strawberry.type(
    description="Live changes. Each stream starts with INITIAL events for the current state."
)
class Subscription:
    @strawberry.subscription(description="Changes to databases, phase transitions first of all.")
    async def database_events(
        self,
        *,
        filter: DatabaseFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[DatabaseEvent, None]:
        async for event in _not_yet(DatabaseEvent, "Subscription.databaseEvents"):
            yield event

    @strawberry.subscription(description="Changes to backup sessions.")
    async def backup_session_events(
        self,
        *,
        filter: BackupSessionFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[BackupSessionEvent, None]:
        async for event in _not_yet(BackupSessionEvent, "Subscription.backupSessionEvents"):
            yield event

    @strawberry.subscription(description="Changes to restore sessions, with progress.")
    async def restore_session_events(
        self,
        *,
        filter: RestoreSessionFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[RestoreSessionEvent, None]:
        async for event in _not_yet(RestoreSessionEvent, "Subscription.restoreSessionEvents"):
            yield event

    @strawberry.subscription(description="Changes to snapshots.")
    async def snapshot_events(
        self,
        *,
        filter: SnapshotFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[SnapshotEvent, None]:
        async for event in _not_yet(SnapshotEvent, "Subscription.snapshotEvents"):
            yield event
