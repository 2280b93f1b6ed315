"""The Subscription root: phase changes streamed from the shared informers.

Each field turns its filter into a read-side predicate and each event into its GraphQL
type; the stream itself (checks, coalescing, access) is ``resolvers.events``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry

from resolvers.events import stream
from resolvers.events import workflows as workflow_events
from resolvers.events.stream import Event
from resolvers.events.subscriptions import subscribe
from resolvers.reads import lists
from schema.arguments import ResumeToken
from schema.common import ObjectRef
from schema.enums import (
    BackupSessionPhase,
    ChangeType,
    DatabasePhase,
    RestoreSessionPhase,
    SnapshotPhase,
)
from schema.events import (
    BackupSessionEvent,
    DatabaseEvent,
    RestoreSessionEvent,
    RestoreWorkflowEvent,
    SnapshotEvent,
)
from schema.info import Info
from schema.inputs import (
    BackupSessionFilter,
    DatabaseFilter,
    RestoreSessionFilter,
    SnapshotFilter,
    database_query,
    session_query,
    snapshot_query,
)
from schema.linked import BackupSession, Database, RestoreSession, RestoreWorkflow, Snapshot
from schema.setup import SetupState
from schema.workflows import (
    RestoreStepKind,
    RestoreStepState,
    RestoreWorkflowFilter,
    workflow_filter,
    workflow_id,
)

PhaseT = TypeVar("PhaseT", bound=Enum)


def _setup(state: object | None) -> SetupState | None:
    """The tracked setup state of a database event (resolvers.reads.setup's names)."""
    return SetupState[state] if isinstance(state, str) and state in SetupState.__members__ else None


def _ref(event: Event) -> ObjectRef:
    r = event.resource
    return ObjectRef(
        cluster=event.cluster,
        api_group=r.group if r else None,
        kind=r.kind if r else "",
        namespace=event.namespace,
        name=event.name,
    )


def _phase(enum: type[PhaseT], value: str | None) -> PhaseT | None:
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
        async for e in subscribe(
            info.context,
            stream.DATABASES,
            accept=lambda g: lists.database_predicate(g, query),
            resume_token=resume_token,
        ):
            yield DatabaseEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                database=Database.maybe(e.item),
                previous_phase=_phase(DatabasePhase, e.previous_phase),
                phase=_phase(DatabasePhase, e.phase),
                at=e.at,
                resume_token=e.resume_token,
                previous_setup_state=_setup(e.previous_tracked),
                setup_state=_setup(e.tracked),
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
        async for e in subscribe(
            info.context,
            stream.BACKUP_SESSIONS,
            accept=lambda g: lists.session_predicate(g, "BackupSession", query),
            resume_token=resume_token,
        ):
            yield BackupSessionEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                backup_session=BackupSession.maybe(e.item),
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
        async for e in subscribe(
            info.context,
            stream.RESTORE_SESSIONS,
            accept=lambda g: lists.session_predicate(g, "RestoreSession", query),
            resume_token=resume_token,
        ):
            yield RestoreSessionEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                restore_session=RestoreSession.maybe(e.item),
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
        async for e in subscribe(
            info.context,
            stream.SNAPSHOTS,
            accept=lambda g: lists.snapshot_predicate(g, query),
            resume_token=resume_token,
        ):
            yield SnapshotEvent(
                type=ChangeType(e.type),
                ref=_ref(e),
                snapshot=Snapshot.maybe(e.item),
                previous_phase=_phase(SnapshotPhase, e.previous_phase),
                phase=_phase(SnapshotPhase, e.phase),
                at=e.at,
                resume_token=e.resume_token,
            )

    @strawberry.subscription(description="Step transitions of restore workflows.")
    async def restore_workflow_events(
        self,
        info: Info,
        filter: Annotated[
            RestoreWorkflowFilter | None, strawberry.argument(description="Which workflows.")
        ] = strawberry.UNSET,
        resume_token: Annotated[
            str | None,
            strawberry.argument(
                description="A `resumeToken` from an earlier event: continue after it."
            ),
        ] = strawberry.UNSET,
    ) -> AsyncGenerator[RestoreWorkflowEvent, None]:
        wanted = workflow_filter(None if filter is strawberry.UNSET else filter)
        async for e in subscribe(
            info.context,
            workflow_events.WORKFLOWS,
            accept=workflow_events.accept(wanted),
            resume_token=None if resume_token is strawberry.UNSET else resume_token,
        ):
            found = workflow_events.workflow_of(e)
            for moved in workflow_events.transitions(e):
                yield RestoreWorkflowEvent(
                    type=ChangeType(e.type),
                    workflow_id=strawberry.ID(workflow_id(found))
                    if found
                    else strawberry.ID(e.name),
                    database_ref=_workflow_database(e, found),
                    workflow=RestoreWorkflow.of(found) if found and e.type != "DELETED" else None,
                    step=RestoreStepKind(moved.step) if moved.step else None,
                    previous_state=RestoreStepState(moved.previous_state)
                    if moved.previous_state
                    else None,
                    state=RestoreStepState(moved.state) if moved.state else None,
                    at=e.at,
                    resume_token=e.resume_token,
                )


def _workflow_database(event: Event, found: Any) -> ObjectRef:
    if found is None:
        return ObjectRef(
            cluster=event.cluster, api_group="kubedb.com", kind="", namespace=None, name=""
        )
    db = found.database
    return ObjectRef(
        cluster=found.cluster,
        api_group="kubedb.com",
        kind=db.kind,
        namespace=db.namespace,
        name=db.name,
    )
