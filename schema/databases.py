"""KubeDB databases (group kubedb.com) and their backup status."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry

from apis import objects
from resolvers.reads import backup, lists, policies, recovery
from schema.arguments import After, First, OrderBy
from schema.build import Info, connection, graph_of, maybe, wrap
from schema.common import Condition, VolumeInfo, conditions_of
from schema.enums import BackupHealth, DatabasePhase, SortOrder
from schema.inputs import SnapshotFilter
from schema.interfaces import Node, Resource
from schema.policies import BackupPolicy
from schema.sessions import BackupConfiguration, BackupSession
from schema.storage import RetentionPolicy, Snapshot

if TYPE_CHECKING:
    from schema.connections import (
        BackupSessionConnection,
        RestoreSessionConnection,
        SnapshotConnection,
    )

KUBEDB_GROUP = "kubedb.com"


@strawberry.type(description="Whether and how a database is backed up, and how well.")
class BackupStatus:
    enabled: bool = strawberry.field(description="Whether any backup is set up.")
    via: str | None = strawberry.field(
        description="BackupBlueprint, BackupConfiguration or Archiver: how the backup was set up."
    )
    policy: BackupPolicy | None = strawberry.field(
        description="The BackupBlueprint it was set up from, if any."
    )
    configuration: BackupConfiguration | None = strawberry.field(
        description="The BackupConfiguration that runs it."
    )
    schedule: str | None = strawberry.field(description="Cron schedule of the main session.")
    paused: bool = strawberry.field(description="Whether backups are paused.")
    retention_policy: RetentionPolicy | None = strawberry.field(
        description="The RetentionPolicy applied to its snapshots."
    )
    last_session: BackupSession | None = strawberry.field(description="The newest BackupSession.")
    last_successful_snapshot: Snapshot | None = strawberry.field(
        description="The newest Snapshot that succeeded."
    )
    next_scheduled_at: datetime | None = strawberry.field(description="When the next run is due.")
    health: BackupHealth = strawberry.field(description="Overall health.")
    problems: list[str] = strawberry.field(
        description="Plain sentences naming what is wrong, for example a missing BackupStorage."
    )


@strawberry.type(description="The KubeDB archiver (continuous backup) a database uses.")
class ArchiverStatus:
    kind: str = strawberry.field(description="Archiver kind, for example PostgresArchiver.")
    namespace: str = strawberry.field(description="Namespace of the archiver.")
    name: str = strawberry.field(description="Name of the archiver.")
    paused: bool = strawberry.field(
        description="Whether archiving is paused (`spec.archiver.pause`)."
    )


@strawberry.type(
    description="The times to which a database can be recovered, from its continuous backup."
)
class RecoveryWindow:
    start: datetime | None = strawberry.field(description="Earliest recoverable time.")
    end: datetime | None = strawberry.field(description="Latest recoverable time.")
    lsn: str | None = strawberry.field(description="Last archived LSN (Postgres only).")
    base_backups: list[Snapshot] = strawberry.field(
        description="Full backups that log replay can start from."
    )
    healthy: bool = strawberry.field(description="Whether log shipping is currently working.")
    last_error: str | None = strawberry.field(description="The latest log-shipping error.")


@strawberry.type(description="A KubeDB database, for example a Postgres or MongoDB object.")
class Database(Node, Resource):
    API_GROUP: ClassVar[str] = KUBEDB_GROUP
    # KIND stays empty: the kind (Postgres, MySQL, ...) is read from the object.

    @strawberry.field(description="KubeDB kind, for example Postgres.")
    def kind(self) -> str:
        return self.object_kind()

    @strawberry.field(description="Catalog version (`spec.version`).")
    def version(self) -> str | None:
        return objects.str_at(self.raw, "spec", "version")

    @strawberry.field(description="`status.phase`; UNKNOWN when missing or unrecognised.")
    def phase(self) -> DatabasePhase:
        return DatabasePhase(objects.database_phase(self.raw))

    @strawberry.field(description="Whether the database is halted (`spec.halted`).")
    def halted(self) -> bool:
        return objects.bool_at(self.raw, "spec", "halted") or False

    @strawberry.field(
        description="Halt, Delete, WipeOut or DoNotTerminate (`spec.deletionPolicy`)."
    )
    def deletion_policy(self) -> str | None:
        # Older v1alpha2 objects still carry the pre-rename field terminationPolicy.
        return objects.str_at(self.raw, "spec", "deletionPolicy") or objects.str_at(
            self.raw, "spec", "terminationPolicy"
        )

    @strawberry.field(description="The requested data volume (`spec.storage`).")
    def volume(self) -> VolumeInfo | None:
        size = objects.str_at(self.raw, "spec", "storage", "resources", "requests", "storage")
        storage_class = objects.str_at(self.raw, "spec", "storage", "storageClassName")
        if size is None and storage_class is None:
            return None
        return VolumeInfo(size=size, storage_class=storage_class)

    @strawberry.field(description="`status.conditions`, e.g. Ready or DataRestored.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)

    @strawberry.field(description="Whether and how this database is backed up.")
    def backup(self, info: Info) -> BackupStatus:
        graph = graph_of(info)
        state = backup.backup_status(graph, self.item())
        first_session = None
        if state.blueprint is not None:
            first_session = BackupPolicy(
                raw=state.blueprint.raw, cluster_name=state.blueprint.cluster
            )
        return BackupStatus(
            enabled=state.enabled,
            via=state.via,
            policy=first_session,
            configuration=maybe(state.configuration),
            schedule=state.schedule,
            paused=state.paused,
            retention_policy=maybe(state.retention),
            last_session=maybe(state.last_session),
            last_successful_snapshot=maybe(state.last_successful_snapshot),
            next_scheduled_at=state.next_scheduled_at,
            health=BackupHealth(state.health),
            problems=list(state.problems),
        )

    @strawberry.field(
        description="The archiver it uses for continuous backup (`spec.archiver.ref`)."
    )
    def archiver(self) -> ArchiverStatus | None:
        name = objects.str_at(self.raw, "spec", "archiver", "ref", "name")
        if name is None:
            return None
        return ArchiverStatus(
            # Each archiver kind is named after its database kind (PostgresArchiver, ...).
            kind=f"{self.object_kind()}Archiver",
            namespace=objects.str_at(self.raw, "spec", "archiver", "ref", "namespace")
            or objects.namespace_of(self.raw)
            or "",
            name=name,
            paused=objects.bool_at(self.raw, "spec", "archiver", "pause") or False,
        )

    @strawberry.field(description="The times it can be recovered to, from continuous backup.")
    def recovery_window(self, info: Info) -> RecoveryWindow | None:
        window = recovery.recovery_window(graph_of(info), self.item())
        if window is None:
            return None
        return RecoveryWindow(
            start=window.start,
            end=window.end,
            lsn=window.lsn,
            base_backups=[wrap(s) for s in window.base_backups],
            healthy=window.healthy,
            last_error=window.last_error,
        )

    @strawberry.field(description="Backups of this database.")
    def snapshots(
        self,
        info: Info,
        *,
        filter: SnapshotFilter | None = None,
        order_by: OrderBy = SortOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> Annotated[SnapshotConnection, strawberry.lazy("schema.connections")]:
        from schema.connections import snapshot_connection

        graph = graph_of(info)
        item = self.item()
        app = (item.resource.kind, item.namespace, item.name)
        return snapshot_connection(
            graph,
            graph.related(item.cluster, "storage.kubestash.com", "Snapshot", "app", app),
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
        )

    @strawberry.field(description="Backup runs for this database, newest first.")
    def backup_sessions(
        self, info: Info, *, first: First = None, after: After = None
    ) -> Annotated[BackupSessionConnection, strawberry.lazy("schema.connections")]:
        from schema.connections import BackupSessionConnection, BackupSessionEdge

        page = lists.database_sessions(
            graph_of(info), self.item(), "BackupSession", first=first, after=after
        )
        return connection(
            page, [], connection_type=BackupSessionConnection, edge_type=BackupSessionEdge
        )

    @strawberry.field(description="Restores into this database, newest first.")
    def restore_sessions(
        self, info: Info, *, first: First = None, after: After = None
    ) -> Annotated[RestoreSessionConnection, strawberry.lazy("schema.connections")]:
        from schema.connections import RestoreSessionConnection, RestoreSessionEdge

        page = lists.database_sessions(
            graph_of(info), self.item(), "RestoreSession", first=first, after=after
        )
        return connection(
            page, [], connection_type=RestoreSessionConnection, edge_type=RestoreSessionEdge
        )

    @strawberry.field(description="BackupBlueprints this database may use.")
    def available_backup_policies(self, info: Info) -> list[BackupPolicy]:
        item = self.item()
        found = policies.backup_policies(
            graph_of(info), item.cluster, item.namespace, item.resource.kind
        )
        return [BackupPolicy(raw=b.raw, cluster_name=b.cluster) for b in found]
