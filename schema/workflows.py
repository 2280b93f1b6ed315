"""Restore workflows and database traffic (``shared/contract/pending/write.graphql``).

The types are built from the record model (``resolvers/reads/workflows.py``) and the
traffic view (``resolvers/reads/traffic.py``) and do no I/O. The fields joining other
objects (``RestoreWorkflow.database``, ``snapshot``, ``restoreSession`` and
``DatabaseTraffic.restore``) need the linked types and the viewer's graph; they are
wired where those live (``schema/linked.py``), not here, so this module stays below
them in the layers.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from core.ids import GlobalRef
from resolvers.reads import workflows as model
from resolvers.reads.traffic import TrafficView
from schema.common import ObjectRef
from schema.inputs import ObjectRefInput

WORKFLOW_KIND = "RestoreWorkflow"
WORKFLOW_GROUP = "stashql.io"


@strawberry.enum(description="A step of a restore workflow; they run in this order.")
class RestoreStepKind(Enum):
    PAUSE_TRAFFIC = strawberry.enum_value(
        "PAUSE_TRAFFIC", description="Application connections are stopped."
    )
    PAUSE_BACKUPS = strawberry.enum_value(
        "PAUSE_BACKUPS", description="Scheduled backups are paused."
    )
    RESTORE_DATA = strawberry.enum_value("RESTORE_DATA", description="The data is restored.")
    RUN_CHECKS = strawberry.enum_value("RUN_CHECKS", description="The checks run.")
    RESUME_BACKUPS = strawberry.enum_value(
        "RESUME_BACKUPS",
        description=(
            "Paused backups run again; after a failure they stay paused, so no bad data "
            "is backed up."
        ),
    )
    AWAIT_RESUME = strawberry.enum_value(
        "AWAIT_RESUME", description="Waiting for resumeDatabaseTraffic (resume MANUAL)."
    )
    RESUME_TRAFFIC = strawberry.enum_value(
        "RESUME_TRAFFIC", description="Applications can connect again."
    )


@strawberry.enum(description="How far a step or a check got.")
class RestoreStepState(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not started.")
    RUNNING = strawberry.enum_value("RUNNING", description="In progress.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Done.")
    FAILED = strawberry.enum_value("FAILED", description="Failed; the steps after it do not run.")
    SKIPPED = strawberry.enum_value(
        "SKIPPED",
        description="Not part of this restore, for example when no checks were asked for.",
    )


@strawberry.enum(description="Where a restore workflow stands.")
class RestoreWorkflowPhase(Enum):
    RUNNING = strawberry.enum_value("RUNNING", description="Steps are running.")
    AWAITING_RESUME = strawberry.enum_value(
        "AWAITING_RESUME", description="Data restored; waiting for resumeDatabaseTraffic."
    )
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Every step is done.")
    FAILED = strawberry.enum_value(
        "FAILED", description="A step failed; traffic and backups stay paused until resumed."
    )


@strawberry.enum(description="When application traffic resumes after a restore.")
class TrafficResume(Enum):
    AUTOMATIC = strawberry.enum_value(
        "AUTOMATIC", description="As soon as the data is restored; takes no checks."
    )
    AFTER_CHECKS = strawberry.enum_value(
        "AFTER_CHECKS",
        description=(
            "Once every check passed (at least one is needed); if one fails, traffic stays paused."
        ),
    )
    MANUAL = strawberry.enum_value(
        "MANUAL",
        description=(
            "Only on resumeDatabaseTraffic; checks, if any, run first (warning "
            "MANUAL_RESUME_REQUIRED)."
        ),
    )


@strawberry.enum(description="Whether applications can connect to a database.")
class TrafficState(Enum):
    ACCEPTING = strawberry.enum_value("ACCEPTING", description="Applications can connect.")
    PAUSED = strawberry.enum_value(
        "PAUSED",
        description="Applications cannot; the maintenance Service still reaches the database.",
    )
    DRIFTED = strawberry.enum_value(
        "DRIFTED",
        description=(
            "Recorded as paused, yet applications can connect (the Service was changed "
            "back); pause or resume."
        ),
    )


@strawberry.type(description="One step of a restore workflow.")
class RestoreStep:
    kind: RestoreStepKind = strawberry.field(description="Which step.")
    state: RestoreStepState = strawberry.field(description="How far it got.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    message: str | None = strawberry.field(
        description="Plain sentence on what it does or why it failed."
    )

    @classmethod
    def of(cls, step: model.Step) -> RestoreStep:
        return cls(
            kind=RestoreStepKind(step.kind),
            state=RestoreStepState(step.state),
            started_at=step.started_at,
            finished_at=step.finished_at,
            message=step.message,
        )


@strawberry.type(description="One check of a restore workflow.")
class RestoreCheck:
    hook_template: ObjectRef = strawberry.field(description="The HookTemplate run.")
    state: RestoreStepState = strawberry.field(description="Its result.")
    message: str | None = strawberry.field(description="Why it failed.")


def workflow_id(w: model.Workflow) -> str:
    """The workflow's opaque global ID (a ConfigMap record of the gateway's namespace)."""
    return GlobalRef(w.cluster, WORKFLOW_GROUP, WORKFLOW_KIND, None, w.id).encode()


@strawberry.type
class RestoreWorkflowFields:
    """The fields of RestoreWorkflow that read only its record; ``schema/linked.py``
    adds the joins (database, snapshot, restoreSession) and names the GraphQL type."""

    model: strawberry.Private[model.Workflow]

    @strawberry.field(description="Opaque global ID.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(workflow_id(self.model))

    @strawberry.field(description="Cluster of the database.")
    def cluster(self) -> str:
        return self.model.cluster

    @strawberry.field(description="The database restored into.")
    def database_ref(self) -> ObjectRef:
        db = self.model.database
        return ObjectRef(
            cluster=self.model.cluster,
            api_group="kubedb.com",
            kind=db.kind,
            namespace=db.namespace,
            name=db.name,
        )

    @strawberry.field(description="Where it stands.")
    def phase(self) -> RestoreWorkflowPhase:
        return RestoreWorkflowPhase(self.model.phase)

    @strawberry.field(description="Its steps, in order.")
    def steps(self) -> list[RestoreStep]:
        return [RestoreStep.of(s) for s in self.model.steps]

    @strawberry.field(description="The step running, waiting or failed; null when done.")
    def current_step(self) -> RestoreStep | None:
        step = self.model.current_step
        return RestoreStep.of(step) if step is not None else None

    @strawberry.field(description="Whether application connections were stopped for it.")
    def pause_traffic(self) -> bool:
        return self.model.pause_traffic

    @strawberry.field(description="When traffic resumes.")
    def resume(self) -> TrafficResume:
        return TrafficResume(self.model.resume)

    @strawberry.field(description="Its checks and their results.")
    def checks(self) -> list[RestoreCheck]:
        return [
            RestoreCheck(
                hook_template=ObjectRef(
                    cluster=self.model.cluster,
                    api_group="core.kubestash.com",
                    kind="HookTemplate",
                    namespace=c.hook_template.namespace,
                    name=c.hook_template.name,
                ),
                state=RestoreStepState(c.state),
                message=c.message,
            )
            for c in self.model.checks
        ]

    @strawberry.field(description="Who started it.")
    def started_by(self) -> str:
        return self.model.started_by

    @strawberry.field(description="When it started.")
    def started_at(self) -> datetime:
        return self.model.started_at

    @strawberry.field(description="When it ended.")
    def finished_at(self) -> datetime | None:
        return self.model.finished_at


@strawberry.input(description="Which restore workflows to return.")
class RestoreWorkflowFilter:
    clusters: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Only these clusters."
    )
    namespaces: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Only these namespaces."
    )
    database: ObjectRefInput | None = strawberry.field(
        default=strawberry.UNSET, description="Only restores into this database."
    )
    phases: list[RestoreWorkflowPhase] | None = strawberry.field(
        default=strawberry.UNSET, description="Only these phases."
    )


@strawberry.type
class DatabaseTrafficFields:
    """DatabaseTraffic's own fields; ``schema/linked.py`` adds ``restore`` and names it."""

    view: strawberry.Private[TrafficView]

    @strawberry.field(description="Whether applications can connect.")
    def state(self) -> TrafficState:
        return TrafficState(self.view.state)

    @strawberry.field(description="When traffic was paused.")
    def paused_at(self) -> datetime | None:
        return self.view.paused_at

    @strawberry.field(description="Who paused it.")
    def paused_by(self) -> str | None:
        return self.view.paused_by

    @strawberry.field(description="Why, as given when pausing.")
    def reason(self) -> str | None:
        return self.view.reason

    @strawberry.field(
        description="The Service that still reaches the database while traffic is paused."
    )
    def maintenance_service(self) -> str | None:
        return self.view.maintenance_service


def workflow_filter(given: RestoreWorkflowFilter | None) -> model.WorkflowFilter | None:
    """The read side's filter for a GraphQL RestoreWorkflowFilter."""
    if given is None:
        return None

    def left_out(value: Any) -> Any:
        # The contract gives these fields no default: left out, they are UNSET.
        return None if value is strawberry.UNSET else value

    db = left_out(given.database)
    phases = left_out(given.phases)
    return model.WorkflowFilter(
        clusters=left_out(given.clusters),
        namespaces=left_out(given.namespaces),
        database=model.DatabaseRef(db.kind or "", db.namespace, db.name) if db else None,
        database_kind_given=bool(db and db.kind),
        phases=[p.name for p in phases] if phases else None,
    )
