"""core.kubestash.com objects: BackupConfiguration, BackupSession, RestoreSession."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry

from apis import objects
from resolvers.reads import joins
from schema.build import Info, graph_of, of, wrap
from schema.common import Condition, ObjectRef, conditions_of
from schema.enums import BackupSessionPhase, RestoreSessionPhase
from schema.interfaces import Node, Resource
from schema.storage import Repository, Snapshot

if TYPE_CHECKING:
    from schema.databases import Database

CORE_GROUP = "core.kubestash.com"


def _target_ref(raw: dict[str, Any], *, cluster: str) -> ObjectRef | None:
    ref = objects.typed_ref(
        objects.dig(raw, "spec", "target"), default_namespace=objects.namespace_of(raw)
    )
    return ObjectRef.from_typed(ref, cluster=cluster) if ref is not None else None


@strawberry.type(description="One backup session of a BackupConfiguration (`spec.sessions[]`).")
class BackupConfigurationSession:
    name: str = strawberry.field(description="Session name, for example full-backup.")
    schedule: str | None = strawberry.field(description="Cron schedule (`scheduler.schedule`).")
    next_scheduled_at: datetime | None = strawberry.field(
        description="Next scheduled run (`status.sessions[].nextSchedule`)."
    )
    addon: str | None = strawberry.field(description="Addon name, for example postgres-addon.")
    tasks: list[str] = strawberry.field(description="Addon task names, e.g. logical-backup.")


@strawberry.type(
    description="A KubeStash BackupConfiguration: how and when one target is backed up."
)
class BackupConfiguration(Node, Resource):
    API_GROUP: ClassVar[str] = CORE_GROUP
    KIND: ClassVar[str] = "BackupConfiguration"

    @strawberry.field(description="`status.phase`: Ready, NotReady or Invalid.")
    def phase(self) -> str | None:
        return objects.str_at(self.raw, "status", "phase")

    @strawberry.field(description="Whether backups are paused (`spec.paused`).")
    def paused(self) -> bool:
        return objects.bool_at(self.raw, "spec", "paused") or False

    @strawberry.field(description="What is backed up (`spec.target`).")
    def target_ref(self) -> ObjectRef | None:
        return _target_ref(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="Sessions with their schedules and next runs.")
    def sessions(self) -> list[BackupConfigurationSession]:
        return [
            BackupConfigurationSession(
                name=s.name,
                schedule=s.schedule,
                next_scheduled_at=s.next_scheduled_at,
                addon=s.addon,
                tasks=s.tasks,
            )
            for s in objects.configured_sessions(self.raw)
        ]

    @strawberry.field(description="`status.conditions`, e.g. ValidationPassed.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)


@strawberry.type(description="A KubeStash BackupSession: one run of one backup session.")
class BackupSession(Node, Resource):
    API_GROUP: ClassVar[str] = CORE_GROUP
    KIND: ClassVar[str] = "BackupSession"

    @strawberry.field(description="`status.phase`; PENDING until KubeStash reports one.")
    def phase(self) -> BackupSessionPhase:
        return BackupSessionPhase(objects.backup_session_phase(self.raw))

    @strawberry.field(description="Name of the session it ran (`spec.session`).")
    def session(self) -> str | None:
        return objects.str_at(self.raw, "spec", "session")

    @strawberry.field(description="The BackupConfiguration that invoked it (`spec.invoker`).")
    def configuration(self, info: Info) -> BackupConfiguration | None:
        return of(BackupConfiguration, joins.session_configuration(graph_of(info), self.item()))

    @strawberry.field(description="The database it backed up.")
    def database(
        self, info: Info
    ) -> Annotated[Database, strawberry.lazy("schema.databases")] | None:
        from schema.databases import Database

        return of(Database, joins.session_database(graph_of(info), self.item()))

    @strawberry.field(description="How long it took (`status.duration`).")
    def duration(self) -> str | None:
        return objects.str_at(self.raw, "status", "duration")

    @strawberry.field(description="Snapshots it produced (`status.snapshots`).")
    def snapshots(self, info: Info) -> list[Snapshot]:
        return [wrap(i) for i in joins.session_snapshots(graph_of(info), self.item())]

    @strawberry.field(description="Whether this run was a retry (`status.retried`).")
    def retried(self) -> bool | None:
        return objects.bool_at(self.raw, "status", "retried")

    @strawberry.field(description="`status.conditions`, e.g. BackupSkipped.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)


@strawberry.type(description="One component of a restore (`status.components.<name>`).")
class RestoreComponent:
    name: str = strawberry.field(description="Component name, for example dump.")
    phase: str | None = strawberry.field(description="Phase of this component, e.g. Running.")
    percent_done: float | None = strawberry.field(
        description="Progress in percent (`progress.percentDone`)."
    )
    duration: str | None = strawberry.field(description="How long it took.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")

    @classmethod
    def from_raw(cls, name: str, component: Mapping[str, Any]) -> RestoreComponent:
        return cls(
            name=name,
            phase=objects.str_at(component, "phase"),
            percent_done=objects.percent(objects.dig(component, "progress", "percentDone")),
            duration=objects.str_at(component, "duration"),
            error=objects.str_at(component, "error"),
        )


@strawberry.type(description="A KubeStash RestoreSession: one restore run.")
class RestoreSession(Node, Resource):
    API_GROUP: ClassVar[str] = CORE_GROUP
    KIND: ClassVar[str] = "RestoreSession"

    @strawberry.field(description="`status.phase`; PENDING until KubeStash reports one.")
    def phase(self) -> RestoreSessionPhase:
        return RestoreSessionPhase(objects.restore_session_phase(self.raw))

    @strawberry.field(
        description="What is restored into (`spec.target`); null for application-level restores."
    )
    def target_ref(self) -> ObjectRef | None:
        return _target_ref(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database restored into, if the viewer may see it.")
    def target(self, info: Info) -> Annotated[Database, strawberry.lazy("schema.databases")] | None:
        from schema.databases import Database

        return of(Database, joins.target_database(graph_of(info), self.item()))

    @strawberry.field(description="The snapshot restored from (`spec.dataSource.snapshot`).")
    def snapshot(self, info: Info) -> Snapshot | None:
        return of(Snapshot, joins.restore_snapshot(graph_of(info), self.item()))

    @strawberry.field(description="The repository restored from (`spec.dataSource.repository`).")
    def repository(self, info: Info) -> Repository | None:
        return of(Repository, joins.restore_repository(graph_of(info), self.item()))

    @strawberry.field(
        description=(
            "Overall progress in percent: the mean of the components' progress, "
            "100 once succeeded, null while nothing is reported."
        )
    )
    def progress_percent(self) -> float | None:
        return objects.restore_progress(self.raw)

    @strawberry.field(description="How long it took (`status.duration`).")
    def duration(self) -> str | None:
        return objects.str_at(self.raw, "status", "duration")

    @strawberry.field(description="Per-component status, sorted by component name.")
    def components(self) -> list[RestoreComponent]:
        return [
            RestoreComponent.from_raw(name, component)
            for name, component in objects.named_entries(self.raw, "status", "components")
        ]

    @strawberry.field(description="`status.conditions`, e.g. ValidationPassed.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)
