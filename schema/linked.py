"""The object types that point at each other: databases, their snapshots, repositories
and backup and restore sessions, and the pages they are listed in.

A Database lists its Snapshots and sessions; a Snapshot names its Database, Repository
and BackupSession; and so on round. GraphQL types that refer to each other in a circle
must be resolved in one namespace, so they share this module (everything they point at
outside the circle lives in a module below it). Each field reads the raw object
(``apis.objects``) or delegates to a join in ``resolvers.reads``: no logic of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import strawberry

from apis import objects
from apis.resources import CORE
from core.times import parse_time
from resolvers.reads import backup, joins, lists, policies, recovery, setup
from resolvers.reads import traffic as traffic_reads
from resolvers.reads import workflows as model
from resolvers.reads import workflows as workflow_reads
from resolvers.reads.backup import BackupState
from resolvers.reads.graph import Item
from resolvers.reads.recovery import Window
from schema.arguments import After, First, OrderBy
from schema.common import (
    ClusterError,
    Condition,
    ObjectRef,
    PageInfo,
    VolumeInfo,
    conditions_of,
    size_bytes,
)
from schema.configurations import BackupConfiguration
from schema.connection import Connection, Edge
from schema.contents import SnapshotContents, snapshot_contents
from schema.enums import (
    BackupHealth,
    BackupMethod,
    BackupSessionPhase,
    DatabasePhase,
    RestoreSessionPhase,
    SnapshotPhase,
    SnapshotType,
    SortOrder,
)
from schema.info import Info, graph_of
from schema.inputs import SnapshotFilter, snapshot_query
from schema.interfaces import Node, Resource, computed
from schema.policies import BackupPolicy
from schema.setup import SetupStatus
from schema.status import ArchiverStatus, RestoreComponent, SnapshotComponent
from schema.storage import STORAGE_GROUP, BackupStorage, RetentionPolicy
from schema.workflows import DatabaseTrafficFields, RestoreWorkflowFields

KUBEDB_GROUP = "kubedb.com"
CORE_GROUP = "core.kubestash.com"


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
        return VolumeInfo.of(self.raw)

    @strawberry.field(description="`status.conditions`, e.g. Ready or DataRestored.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)

    @strawberry.field(description="Whether and how this database is backed up.")
    def backup(self, info: Info) -> BackupStatus:
        return BackupStatus.of(backup.backup_status(graph_of(info), self.item()))

    @strawberry.field(
        description="The archiver it uses for continuous backup (`spec.archiver.ref`)."
    )
    def archiver(self) -> ArchiverStatus | None:
        return ArchiverStatus.of(self.raw)

    @strawberry.field(description="The times it can be recovered to, from continuous backup.")
    def recovery_window(self, info: Info) -> RecoveryWindow | None:
        window = recovery.recovery_window(graph_of(info), self.item())
        return RecoveryWindow.of(window) if window is not None else None

    @strawberry.field(description="Backups of this database.")
    def snapshots(
        self,
        info: Info,
        *,
        filter: SnapshotFilter | None = None,
        order_by: OrderBy = SortOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> SnapshotConnection:
        found = joins.database_snapshots(graph_of(info), self.item())
        return SnapshotConnection.joined(found, filter, order_by, first=first, after=after)

    @strawberry.field(description="Backup runs for this database, newest first.")
    def backup_sessions(
        self, info: Info, *, first: First = None, after: After = None
    ) -> BackupSessionConnection:
        page = lists.database_sessions(
            graph_of(info), self.item(), "BackupSession", first=first, after=after
        )
        return BackupSessionConnection.of(page, [], node=BackupSession, edge=BackupSessionEdge)

    @strawberry.field(description="Restores into this database, newest first.")
    def restore_sessions(
        self, info: Info, *, first: First = None, after: After = None
    ) -> RestoreSessionConnection:
        page = lists.database_sessions(
            graph_of(info), self.item(), "RestoreSession", first=first, after=after
        )
        return RestoreSessionConnection.of(page, [], node=RestoreSession, edge=RestoreSessionEdge)

    @strawberry.field(description="Whether applications can connect, and why not.")
    def traffic(self, info: Info) -> DatabaseTraffic:
        view = traffic_reads.database_traffic(graph_of(info).cache, self.cluster_name, self.raw)
        return DatabaseTraffic(view=view, cluster=self.cluster_name)

    @strawberry.field(
        description="The restore workflow running on it, else the latest one; null if none."
    )
    def restore_workflow(self, info: Info) -> RestoreWorkflow | None:
        item = self.item()
        ref = workflow_reads.DatabaseRef(item.resource.kind, item.namespace, item.name)
        found = workflow_reads.database_workflow(graph_of(info), self.cluster_name, ref)
        return RestoreWorkflow.of(found) if found is not None else None

    @strawberry.field(description="The database and its backup setup as one state, for pipelines.")
    def setup_status(self, info: Info) -> SetupStatus:
        return SetupStatus.of(setup.setup_status_of(graph_of(info), self.item()))

    @strawberry.field(description="BackupBlueprints this database may use.")
    def available_backup_policies(self, info: Info) -> list[BackupPolicy]:
        item = self.item()
        found = policies.backup_policies(
            graph_of(info), item.cluster, item.namespace, item.resource.kind
        )
        return [BackupPolicy.from_item(b) for b in found]


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

    @classmethod
    def of(cls, state: BackupState) -> BackupStatus:
        return cls(
            enabled=state.enabled,
            via=state.via,
            policy=BackupPolicy.maybe(state.blueprint),
            configuration=BackupConfiguration.maybe(state.configuration),
            schedule=state.schedule,
            paused=state.paused,
            retention_policy=RetentionPolicy.maybe(state.retention),
            last_session=BackupSession.maybe(state.last_session),
            last_successful_snapshot=Snapshot.maybe(state.last_successful_snapshot),
            next_scheduled_at=state.next_scheduled_at,
            health=BackupHealth(state.health),
            problems=list(state.problems),
        )


@strawberry.type(
    description="The times to which a database can be recovered, from its continuous backup."
)
class RecoveryWindow:
    start: datetime | None = strawberry.field(description="Earliest recoverable time.")
    end: datetime | None = strawberry.field(description="Latest recoverable time.")
    lsn: str | None = strawberry.field(description="Last archived LSN (Postgres only).")
    # Built only when asked for: an archived database may have many full backups.
    base_backups: list[Snapshot] = strawberry.field(
        resolver=lambda root: [Snapshot.from_item(s) for s in root.base_items],
        description="Full backups that log replay can start from.",
    )
    healthy: bool = strawberry.field(description="Whether log shipping is currently working.")
    last_error: str | None = strawberry.field(description="The latest log-shipping error.")
    base_items: strawberry.Private[list[Item]]

    @classmethod
    def of(cls, window: Window) -> RecoveryWindow:
        return cls(
            start=window.start,
            end=window.end,
            lsn=window.lsn,
            healthy=window.healthy,
            last_error=window.last_error,
            base_items=list(window.base_backups),
        )


def _snapshot_methods(root: Snapshot) -> list[BackupMethod]:
    return [BackupMethod(m) for m in objects.snapshot_methods(root.raw)]


@strawberry.type(description="A KubeStash Snapshot: one backup run's data in one repository.")
class Snapshot(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "Snapshot"

    # The fields of a page of snapshots are plain attributes set in __post_init__
    # (schema.interfaces.computed). `methods` keeps its resolver; it is declared in
    # this order (not with the decorator, which would put it after every annotated
    # field) so the fields keep their place in the schema.
    type: SnapshotType = computed(description="FULL or INCREMENTAL (`spec.type`).")
    methods: list[BackupMethod] = strawberry.field(
        resolver=_snapshot_methods,
        description="How it was taken, from its type, components and drivers.",
    )
    phase: SnapshotPhase = computed(
        description="`status.phase`; PENDING until KubeStash reports one."
    )
    snapshot_time: datetime | None = computed(
        description="When the backup was taken (`status.snapshotTime`)."
    )
    size: str | None = computed(description="Size of the snapshot (`status.size`), e.g. 1.559 KiB.")

    def __post_init__(self) -> None:
        super().__post_init__()
        raw = self.raw
        self.type = SnapshotType(objects.snapshot_type(raw))
        self.phase = SnapshotPhase(objects.snapshot_phase(raw))
        self.snapshot_time = parse_time(objects.dig(raw, "status", "snapshotTime"))
        self.size = objects.str_at(raw, "status", "size")

    @strawberry.field(description="`size` in bytes, when it can be parsed.")
    def size_bytes(self) -> float | None:
        return size_bytes(self.size)

    @strawberry.field(
        description="Whether the data passed its integrity check (`status.integrity`)."
    )
    def integrity(self) -> bool | None:
        return objects.bool_at(self.raw, "status", "integrity")

    @strawberry.field(
        description="`status.verificationStatus`: Verified, NotVerified or VerificationFailed."
    )
    def verification_status(self) -> str | None:
        return objects.str_at(self.raw, "status", "verificationStatus")

    @strawberry.field(description="Per-component status, sorted by component name.")
    def components(self) -> list[SnapshotComponent]:
        return SnapshotComponent.all_of(self.raw)

    @strawberry.field(description="The repository holding this snapshot.")
    def repository(self, info: Info) -> Repository | None:
        return Repository.maybe(joins.snapshot_repository(graph_of(info), self.item()))

    @strawberry.field(description="The database this is a backup of (`spec.appRef`).")
    def database_ref(self) -> ObjectRef | None:
        return ObjectRef.app_database(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database this is a backup of, if the viewer may see it.")
    def database(self, info: Info) -> Database | None:
        return Database.maybe(joins.app_database(graph_of(info), self.item()))

    @strawberry.field(description="The backup run that produced it (`spec.backupSession`).")
    def backup_session(self, info: Info) -> BackupSession | None:
        return BackupSession.maybe(joins.snapshot_session(graph_of(info), self.item()))

    @strawberry.field(description="What it holds.")
    def contents(self) -> SnapshotContents:
        return snapshot_contents(self.raw)


@strawberry.type(
    description="A KubeStash Repository: one application's backups in one BackupStorage."
)
class Repository(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "Repository"

    @strawberry.field(description="The database backed up here (`spec.appRef`).")
    def database_ref(self) -> ObjectRef | None:
        return ObjectRef.app_database(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database backed up here, if the viewer may see it.")
    def database(self, info: Info) -> Database | None:
        return Database.maybe(joins.app_database(graph_of(info), self.item()))

    @strawberry.field(description="The BackupStorage this repository lives in (`spec.storageRef`).")
    def storage_ref(self) -> ObjectRef | None:
        return ObjectRef.storage_of(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The BackupStorage this repository lives in.")
    def storage(self, info: Info) -> BackupStorage | None:
        graph = graph_of(info)
        found = joins.repository_storage(graph, self.item())
        return BackupStorage.for_viewer(graph, found) if found is not None else None

    @strawberry.field(description="Directory inside the BackupStorage (`spec.path`).")
    def path(self) -> str | None:
        return objects.str_at(self.raw, "spec", "path")

    @strawberry.field(description="`status.phase`: Ready or NotReady.")
    def phase(self) -> str | None:
        return objects.str_at(self.raw, "status", "phase")

    @strawberry.field(description="Result of the last integrity check (`status.integrity`).")
    def integrity(self) -> bool | None:
        return objects.bool_at(self.raw, "status", "integrity")

    @strawberry.field(description="Number of snapshots (`status.snapshotCount`).")
    def snapshot_count(self) -> int:
        return objects.int_at(self.raw, "status", "snapshotCount") or 0

    @strawberry.field(description="Size of the repository (`status.size`), e.g. 1.559 KiB.")
    def size(self) -> str | None:
        return objects.str_at(self.raw, "status", "size")

    @strawberry.field(description="`size` in bytes, when it can be parsed.")
    def size_bytes(self) -> float | None:
        return size_bytes(objects.str_at(self.raw, "status", "size"))

    @strawberry.field(
        description="When the last successful backup finished (`status.lastBackupTime`)."
    )
    def last_backup_time(self) -> datetime | None:
        return parse_time(objects.dig(self.raw, "status", "lastBackupTime"))

    @strawberry.field(description="Snapshots in this repository.")
    def snapshots(
        self,
        info: Info,
        *,
        filter: SnapshotFilter | None = None,
        order_by: OrderBy = SortOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> SnapshotConnection:
        found = joins.repository_snapshots(graph_of(info), self.item())
        return SnapshotConnection.joined(found, filter, order_by, first=first, after=after)


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
        found = joins.session_configuration(graph_of(info), self.item())
        return BackupConfiguration.maybe(found)

    @strawberry.field(description="The database it backed up.")
    def database(self, info: Info) -> Database | None:
        return Database.maybe(joins.session_database(graph_of(info), self.item()))

    @strawberry.field(description="How long it took (`status.duration`).")
    def duration(self) -> str | None:
        return objects.str_at(self.raw, "status", "duration")

    @strawberry.field(description="Snapshots it produced (`status.snapshots`).")
    def snapshots(self, info: Info) -> list[Snapshot]:
        found = joins.session_snapshots(graph_of(info), self.item())
        return [Snapshot.from_item(i) for i in found]

    @strawberry.field(description="Whether this run was a retry (`status.retried`).")
    def retried(self) -> bool | None:
        return objects.bool_at(self.raw, "status", "retried")

    @strawberry.field(description="`status.conditions`, e.g. BackupSkipped.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)


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
        return ObjectRef.spec_target(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database restored into, if the viewer may see it.")
    def target(self, info: Info) -> Database | None:
        return Database.maybe(joins.target_database(graph_of(info), self.item()))

    @strawberry.field(description="The snapshot restored from (`spec.dataSource.snapshot`).")
    def snapshot(self, info: Info) -> Snapshot | None:
        return Snapshot.maybe(joins.restore_snapshot(graph_of(info), self.item()))

    @strawberry.field(description="The repository restored from (`spec.dataSource.repository`).")
    def repository(self, info: Info) -> Repository | None:
        return Repository.maybe(joins.restore_repository(graph_of(info), self.item()))

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
        return RestoreComponent.all_of(self.raw)

    @strawberry.field(description="`status.conditions`, e.g. ValidationPassed.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)


# ---------------------------------------------------------------- pages of these objects


@strawberry.type(description="A database in a page, with its cursor.")
class DatabaseEdge(Edge[Database]): ...


@strawberry.type(description="A page of databases.")
class DatabaseConnection(Connection[Database, DatabaseEdge]): ...


@strawberry.type(description="A snapshot in a page, with its cursor.")
class SnapshotEdge(Edge[Snapshot]): ...


@strawberry.type(description="A page of snapshots.")
class SnapshotConnection(Connection[Snapshot, SnapshotEdge]):
    @classmethod
    def joined(
        cls,
        items: list[Item],
        filter: SnapshotFilter | None,
        order_by: SortOrder | None,
        *,
        first: int | None,
        after: str | None,
    ) -> SnapshotConnection:
        """A page of snapshots already joined to one database or repository."""
        page = lists.joined_snapshots(
            items,
            snapshot_query(filter),
            first=first,
            after=after,
            descending=order_by == SortOrder.NEWEST_FIRST,
        )
        return cls.of(page, [], node=Snapshot, edge=SnapshotEdge)


@strawberry.type(description="A repository in a page, with its cursor.")
class RepositoryEdge(Edge[Repository]): ...


@strawberry.type(description="A page of repositories.")
class RepositoryConnection(Connection[Repository, RepositoryEdge]): ...


@strawberry.type(description="A backup session in a page, with its cursor.")
class BackupSessionEdge(Edge[BackupSession]): ...


@strawberry.type(description="A page of backup sessions.")
class BackupSessionConnection(Connection[BackupSession, BackupSessionEdge]): ...


@strawberry.type(description="A restore session in a page, with its cursor.")
class RestoreSessionEdge(Edge[RestoreSession]): ...


@strawberry.type(description="A page of restore sessions.")
class RestoreSessionConnection(Connection[RestoreSession, RestoreSessionEdge]): ...


# ----------------------------------------------------------- restore workflows and traffic
# A workflow joins its database, snapshot and RestoreSession, and a database shows its
# workflow and traffic: they close the same circle as the types above, so they live here.


@strawberry.type(
    description=(
        "A restore into a running database, step by step. Its state is kept in the "
        "cluster (on\nthe database and its RestoreSession), not in the gateway: it survives "
        "gateway restarts,\nevery replica reports the same, each step is carried out once "
        "however many replicas\nrun, and a workflow left while no gateway runs continues "
        "when one starts."
    )
)
class RestoreWorkflow(RestoreWorkflowFields, Node):
    @classmethod
    def of(cls, found: model.Workflow) -> RestoreWorkflow:
        return cls(model=found, raw={}, cluster_name=found.cluster)

    def __post_init__(self) -> None:
        # Not a Kubernetes object: its id and cluster are read from its record
        # (RestoreWorkflowFields), there is no raw object to read metadata from.
        pass

    @strawberry.field(description="The database, if the viewer may see it.")
    def database(self, info: Info) -> Database | None:
        db = self.model.database
        graph = graph_of(info)
        return Database.maybe(graph.database(self.model.cluster, db.kind, db.namespace, db.name))

    @strawberry.field(description="The snapshot restored.")
    def snapshot(self, info: Info) -> Snapshot | None:
        ref = self.model.snapshot
        if ref is None:
            return None
        found = graph_of(info).get(
            self.model.cluster, STORAGE_GROUP, "Snapshot", ref.namespace, ref.name
        )
        return Snapshot.maybe(found)

    @strawberry.field(description="The RestoreSession restoring the data.")
    def restore_session(self, info: Info) -> RestoreSession | None:
        w = self.model
        found = graph_of(info).get(
            w.cluster, CORE, "RestoreSession", w.database.namespace, w.restore_session
        )
        return RestoreSession.maybe(found)


@strawberry.type(description="Edge of a RestoreWorkflowConnection.")
class RestoreWorkflowEdge:
    node: RestoreWorkflow = strawberry.field(description="The workflow.")
    cursor: str = strawberry.field(description="Its cursor.")


@strawberry.type(description="A page of restore workflows.")
class RestoreWorkflowConnection:
    edges: list[RestoreWorkflowEdge] = strawberry.field(description="Items with cursors.")
    nodes: list[RestoreWorkflow] = strawberry.field(description="Items.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int = strawberry.field(description="Number of matching items.")
    cluster_errors: list[ClusterError] = strawberry.field(
        description="Clusters that could not answer."
    )

    @classmethod
    def of(cls, found: workflow_reads.WorkflowPage) -> RestoreWorkflowConnection:
        nodes = [RestoreWorkflow.of(w) for w in found.nodes]
        edges = [
            RestoreWorkflowEdge(node=n, cursor=workflow_reads.cursor_of(w))
            for n, w in zip(nodes, found.nodes, strict=True)
        ]
        return cls(
            edges=edges,
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=found.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=found.total,
            cluster_errors=ClusterError.from_problems(found.problems),
        )


@strawberry.type(description="Application traffic to a database.")
class DatabaseTraffic(DatabaseTrafficFields):
    cluster: strawberry.Private[str]

    @strawberry.field(description="The restore that paused it, if one did.")
    def restore(self, info: Info) -> RestoreWorkflow | None:
        wid = self.view.workflow
        if wid is None:
            return None
        for w in workflow_reads.cached_workflows(graph_of(info).cache):
            if w.cluster == self.cluster and w.id == wid:
                return RestoreWorkflow.of(w)
        return None
