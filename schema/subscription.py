"""The Subscription root: phase changes streamed from the shared informers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

import strawberry

from core.errors import BadRequest, TooManySubscriptions
from resolvers.events import stream as events
from resolvers.reads import lists
from resolvers.reads.context import RequestContext
from resolvers.events.stream import Event, StreamSpec
from resolvers.reads.graph import Graph, Item
from schema.arguments import ResumeToken
from schema.build import database_query, session_query, snapshot_query, wrap
from schema.common import ObjectRef
from schema.enums import (
    BackupSessionPhase,
    ChangeType,
    DatabasePhase,
    RestoreSessionPhase,
    SnapshotPhase,
)
from schema.events import BackupSessionEvent, DatabaseEvent, RestoreSessionEvent, SnapshotEvent
from schema.inputs import BackupSessionFilter, DatabaseFilter, RestoreSessionFilter, SnapshotFilter

Info = strawberry.Info[RequestContext, None]
T = TypeVar("T")


def _ref(event: Event) -> ObjectRef:
    r = event.resource
    return ObjectRef(
        cluster=event.cluster,
        api_group=r.group if r else None,
        kind=r.kind if r else "",
        namespace=event.namespace,
        name=event.name,
    )


async def _run(
    info: Info,
    spec: StreamSpec,
    accept: Callable[[Graph], Callable[[Item], bool]],
    resume_token: str | None,
) -> AsyncIterator[Event]:
    context = info.context
    if context.hub is None or context.refresh_graph is None:
        raise BadRequest(
            "subscriptions are served over WebSocket (graphql-transport-ws) at /graphql"
        )
    if context.subscriptions >= context.max_subscriptions:
        raise TooManySubscriptions(
            f"at most {context.max_subscriptions} subscriptions may be open on one connection; "
            "close some or open another connection"
        )
    context.subscriptions += 1
    try:
        graph = context.require_graph()
        predicates: dict[int, Callable[[Item], bool]] = {}

        def matches(g: Graph, item: Item) -> bool:
            # The filter's joins (e.g. database -> sessions) are resolved per access view.
            if id(g) not in predicates:
                predicates.clear()
                predicates[id(g)] = accept(g)
            return predicates[id(g)](item)

        refresh_graph = context.refresh_graph

        async def refresh() -> Graph:
            # Joined fields of the events read the connection's view: keep it current.
            context.graph = await refresh_graph()
            return context.graph

        async for event in events.stream(
            hub=context.hub,
            spec=spec,
            graph=graph,
            refresh=refresh,
            accept=matches,
            resume_token=resume_token,
        ):
            yield event
    finally:
        context.subscriptions -= 1


def _phase(enum: type[Any], value: str | None) -> Any:
    return enum(value) if value is not None else None


@strawberry.type(
    description="Live changes. Each stream starts with INITIAL events for the current state."
)
class Subscription:
    @strawberry.subscription(description="Changes to databases, phase transitions first of all.")
    async def database_events(
        self,
        info: Info,
        *,
        filter: DatabaseFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[DatabaseEvent, None]:
        query = database_query(filter)
        async for e in _run(
            info, events.DATABASES, lambda g: lists.database_predicate(g, query), resume_token
        ):
            yield DatabaseEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                database=wrap(e.item) if e.item else None,
                previous_phase=_phase(DatabasePhase, e.previous_phase),
                phase=_phase(DatabasePhase, e.phase),
                at=e.at,
                resume_token=e.resume_token,
            )

    @strawberry.subscription(description="Changes to backup sessions.")
    async def backup_session_events(
        self,
        info: Info,
        *,
        filter: BackupSessionFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[BackupSessionEvent, None]:
        query = session_query(filter)
        async for e in _run(
            info,
            events.BACKUP_SESSIONS,
            lambda g: lists.session_predicate(g, "BackupSession", query),
            resume_token,
        ):
            yield BackupSessionEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                backup_session=wrap(e.item) if e.item else None,
                previous_phase=_phase(BackupSessionPhase, e.previous_phase),
                phase=_phase(BackupSessionPhase, e.phase),
                at=e.at,
                resume_token=e.resume_token,
            )

    @strawberry.subscription(description="Changes to restore sessions, with progress.")
    async def restore_session_events(
        self,
        info: Info,
        *,
        filter: RestoreSessionFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[RestoreSessionEvent, None]:
        query = session_query(filter)
        async for e in _run(
            info,
            events.RESTORE_SESSIONS,
            lambda g: lists.session_predicate(g, "RestoreSession", query),
            resume_token,
        ):
            yield RestoreSessionEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                restore_session=wrap(e.item) if e.item else None,
                previous_phase=_phase(RestoreSessionPhase, e.previous_phase),
                phase=_phase(RestoreSessionPhase, e.phase),
                progress_percent=e.progress,
                at=e.at,
                resume_token=e.resume_token,
            )

    @strawberry.subscription(description="Changes to snapshots.")
    async def snapshot_events(
        self,
        info: Info,
        *,
        filter: SnapshotFilter | None = None,
        resume_token: ResumeToken = None,
    ) -> AsyncGenerator[SnapshotEvent, None]:
        query = snapshot_query(filter)
        async for e in _run(
            info, events.SNAPSHOTS, lambda g: lists.snapshot_predicate(g, query), resume_token
        ):
            yield SnapshotEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                snapshot=wrap(e.item) if e.item else None,
                previous_phase=_phase(SnapshotPhase, e.previous_phase),
                phase=_phase(SnapshotPhase, e.phase),
                at=e.at,
                resume_token=e.resume_token,
            )
