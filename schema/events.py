"""Subscription events: one object's change, with the phase before and after."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.common import ObjectRef
from schema.enums import (
    BackupSessionPhase,
    ChangeType,
    DatabasePhase,
    RestoreSessionPhase,
    SnapshotPhase,
)
from schema.linked import BackupSession, Database, RestoreSession, RestoreWorkflow, Snapshot
from schema.setup import SetupState
from schema.workflows import RestoreStepKind, RestoreStepState

_TYPE = "What happened."
_REF = "The object the event is about (also set for DELETED and RESYNC)."
_AT = "When the gateway saw the change."
_RESUME = "Pass as `resumeToken` when resubscribing to continue after this event."


@strawberry.type(description="A change to a database.")
class DatabaseEvent:
    type: ChangeType = strawberry.field(description=_TYPE)
    ref: ObjectRef = strawberry.field(description=_REF)
    database: Database | None = strawberry.field(
        description="The database after the change; null when deleted or not visible."
    )
    previous_phase: DatabasePhase | None = strawberry.field(description="Phase before the change.")
    phase: DatabasePhase | None = strawberry.field(description="Phase after the change.")
    at: datetime = strawberry.field(description=_AT)
    resume_token: str = strawberry.field(description=_RESUME)
    previous_setup_state: SetupState | None = strawberry.field(
        default=None,
        description="`setupStatus.state` before; an event is also sent when it changes.",
    )
    setup_state: SetupState | None = strawberry.field(
        default=None, description="`setupStatus.state` now."
    )


@strawberry.type(description="A change to a backup session.")
class BackupSessionEvent:
    type: ChangeType = strawberry.field(description=_TYPE)
    ref: ObjectRef = strawberry.field(description=_REF)
    backup_session: BackupSession | None = strawberry.field(
        description="The session after the change; null when deleted."
    )
    previous_phase: BackupSessionPhase | None = strawberry.field(
        description="Phase before the change."
    )
    phase: BackupSessionPhase | None = strawberry.field(description="Phase after the change.")
    at: datetime = strawberry.field(description=_AT)
    resume_token: str = strawberry.field(description=_RESUME)


@strawberry.type(description="A change to a restore session.")
class RestoreSessionEvent:
    type: ChangeType = strawberry.field(description=_TYPE)
    ref: ObjectRef = strawberry.field(description=_REF)
    restore_session: RestoreSession | None = strawberry.field(
        description="The session after the change; null when deleted."
    )
    previous_phase: RestoreSessionPhase | None = strawberry.field(
        description="Phase before the change."
    )
    phase: RestoreSessionPhase | None = strawberry.field(description="Phase after the change.")
    progress_percent: float | None = strawberry.field(description="Overall progress in percent.")
    at: datetime = strawberry.field(description=_AT)
    resume_token: str = strawberry.field(description=_RESUME)


@strawberry.type(description="A change to a snapshot.")
class SnapshotEvent:
    type: ChangeType = strawberry.field(description=_TYPE)
    ref: ObjectRef = strawberry.field(description=_REF)
    snapshot: Snapshot | None = strawberry.field(
        description="The snapshot after the change; null when deleted."
    )
    previous_phase: SnapshotPhase | None = strawberry.field(description="Phase before the change.")
    phase: SnapshotPhase | None = strawberry.field(description="Phase after the change.")
    at: datetime = strawberry.field(description=_AT)
    resume_token: str = strawberry.field(description=_RESUME)


@strawberry.type(description="A restore workflow changed, step by step.")
class RestoreWorkflowEvent:
    type: ChangeType = strawberry.field(description="INITIAL, ADDED, UPDATED, DELETED or RESYNC.")
    workflow_id: strawberry.ID = strawberry.field(description="ID of the workflow.")
    database_ref: ObjectRef = strawberry.field(description="The database restored into.")
    workflow: RestoreWorkflow | None = strawberry.field(description="The workflow now.")
    step: RestoreStepKind | None = strawberry.field(description="The step that changed.")
    previous_state: RestoreStepState | None = strawberry.field(description="Its state before.")
    state: RestoreStepState | None = strawberry.field(description="Its state now.")
    at: datetime = strawberry.field(description="When it changed.")
    resume_token: str = strawberry.field(
        description="Pass as `resumeToken` to continue after this event."
    )
