"""storage.kubestash.com objects: BackupStorage, RetentionPolicy, Repository, Snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry

from apis import objects
from core import quantities
from resolvers.reads import joins
from schema.arguments import After, First, OrderBy
from schema.build import Info, graph_of, location_visible, of
from schema.common import ObjectRef, RetentionCounts, StorageLocation
from schema.enums import BackupMethod, SnapshotPhase, SnapshotType, SortOrder, UsageScope
from schema.inputs import SnapshotFilter
from schema.interfaces import Node, Resource

if TYPE_CHECKING:
    from schema.connections import SnapshotConnection
    from schema.databases import Database
    from schema.sessions import BackupSession

STORAGE_GROUP = "storage.kubestash.com"


def _database_ref(raw: dict[str, Any], *, cluster: str) -> ObjectRef | None:
    """The app a Snapshot or Repository backs up, if it is (or may be) a KubeDB database."""
    ref = objects.app_ref(raw)
    if ref is None or ref.api_group not in (None, "kubedb.com"):
        return None
    return ObjectRef.from_typed(ref, cluster=cluster)


def _size_bytes(value: str | None) -> float | None:
    return quantities.parse_size(value) if value is not None else None


@strawberry.type(
    description="A KubeStash BackupStorage: a bucket or volume that Repositories live in."
)
class BackupStorage(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "BackupStorage"

    # Whether the viewer may `get` this BackupStorage, decided by whoever builds the
    # object (an access check is I/O, so it cannot happen here). None = not decided.
    location_visible: strawberry.Private[bool | None] = None

    @strawberry.field(
        description="Backend provider (`spec.storage.provider`): local, s3, gcs or azure."
    )
    def provider(self) -> str:
        return objects.str_at(self.raw, "spec", "storage", "provider") or ""

    @strawberry.field(description="`status.phase`: Ready or NotReady.")
    def phase(self) -> str | None:
        return objects.str_at(self.raw, "status", "phase")

    @strawberry.field(description="Total size of all its repositories (`status.totalSize`).")
    def total_size(self) -> str | None:
        return objects.str_at(self.raw, "status", "totalSize")

    @strawberry.field(description="`totalSize` in bytes, when it can be parsed.")
    def total_size_bytes(self) -> float | None:
        return _size_bytes(objects.str_at(self.raw, "status", "totalSize"))

    @strawberry.field(
        description="Whether this is its namespace's default BackupStorage (`spec.default`)."
    )
    def is_default(self) -> bool:
        return objects.bool_at(self.raw, "spec", "default") or False

    @strawberry.field(description="Which namespaces may use it (`spec.usagePolicy`).")
    def usage(self) -> UsageScope:
        return UsageScope(objects.usage_scope(self.raw))

    @strawberry.field(description="Null unless the viewer may get this BackupStorage.")
    def location(self) -> StorageLocation | None:
        # Unknown (None) is treated as "no": locations leak where buckets are.
        if not self.location_visible:
            return None
        return storage_location(self.raw)


def storage_location(raw: dict[str, Any]) -> StorageLocation | None:
    """Bucket, prefix and endpoint from ``spec.storage`` (no secret names, no credentials)."""
    provider = objects.str_at(raw, "spec", "storage", "provider")
    backend = objects.mapping_at(raw, "spec", "storage", provider) if provider else {}
    if provider in ("s3", "gcs"):
        return StorageLocation(
            bucket=objects.str_at(backend, "bucket"),
            prefix=objects.str_at(backend, "prefix"),
            endpoint=objects.str_at(backend, "endpoint"),
            region=objects.str_at(backend, "region"),
        )
    if provider == "azure":
        return StorageLocation(
            bucket=objects.str_at(backend, "container"),
            prefix=objects.str_at(backend, "prefix"),
            endpoint=None,
            region=None,
            storage_account=objects.str_at(backend, "storageAccount"),
        )
    if provider == "local":
        return StorageLocation(
            bucket=None,
            prefix=None,
            endpoint=None,
            region=None,
            mount_path=objects.str_at(backend, "mountPath"),
            sub_path=objects.str_at(backend, "subPath"),
        )
    return None


@strawberry.type(description="A KubeStash RetentionPolicy: which snapshots to keep.")
class RetentionPolicy(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "RetentionPolicy"

    @strawberry.field(
        description="Delete snapshots older than this (`spec.maxRetentionPeriod`, e.g. 30d)."
    )
    def max_retention_period(self) -> str | None:
        return objects.str_at(self.raw, "spec", "maxRetentionPeriod")

    @strawberry.field(
        description="How many successful snapshots to keep (`spec.successfulSnapshots`)."
    )
    def successful_snapshots(self) -> RetentionCounts | None:
        counts = objects.dig(self.raw, "spec", "successfulSnapshots")
        if not isinstance(counts, dict):
            return None
        return RetentionCounts(
            last=objects.int_at(counts, "last"),
            hourly=objects.int_at(counts, "hourly"),
            daily=objects.int_at(counts, "daily"),
            weekly=objects.int_at(counts, "weekly"),
            monthly=objects.int_at(counts, "monthly"),
            yearly=objects.int_at(counts, "yearly"),
        )

    @strawberry.field(
        description="How many failed snapshots to keep (`spec.failedSnapshots.last`)."
    )
    def failed_snapshots_last(self) -> int | None:
        return objects.int_at(self.raw, "spec", "failedSnapshots", "last")

    @strawberry.field(
        description="Whether this is its namespace's default RetentionPolicy (`spec.default`)."
    )
    def is_default(self) -> bool:
        return objects.bool_at(self.raw, "spec", "default") or False

    @strawberry.field(description="Which namespaces may use it (`spec.usagePolicy`).")
    def usage(self) -> UsageScope:
        return UsageScope(objects.usage_scope(self.raw))


@strawberry.type(
    description="A KubeStash Repository: one application's backups in one BackupStorage."
)
class Repository(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "Repository"

    @strawberry.field(description="The database backed up here (`spec.appRef`).")
    def database_ref(self) -> ObjectRef | None:
        return _database_ref(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database backed up here, if the viewer may see it.")
    def database(
        self, info: Info
    ) -> Annotated[Database, strawberry.lazy("schema.databases")] | None:
        from schema.databases import Database

        return of(Database, joins.app_database(graph_of(info), self.item()))

    @strawberry.field(description="The BackupStorage this repository lives in (`spec.storageRef`).")
    def storage_ref(self) -> ObjectRef | None:
        ref = objects.typed_ref(
            objects.dig(self.raw, "spec", "storageRef"),
            default_namespace=objects.namespace_of(self.raw),
        )
        if ref is None:
            return None
        return ObjectRef(
            cluster=self.cluster_name,
            api_group=STORAGE_GROUP,
            kind=BackupStorage.KIND,
            namespace=ref.namespace,
            name=ref.name,
        )

    @strawberry.field(description="The BackupStorage this repository lives in.")
    def storage(self, info: Info) -> BackupStorage | None:
        found = joins.repository_storage(graph_of(info), self.item())
        if found is None:
            return None
        return BackupStorage(
            raw=found.raw,
            cluster_name=found.cluster,
            location_visible=location_visible(info, found),
        )

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
        return _size_bytes(objects.str_at(self.raw, "status", "size"))

    @strawberry.field(
        description="When the last successful backup finished (`status.lastBackupTime`)."
    )
    def last_backup_time(self) -> datetime | None:
        return objects.parse_time(objects.dig(self.raw, "status", "lastBackupTime"))

    @strawberry.field(description="Snapshots in this repository.")
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
        return snapshot_connection(
            graph,
            joins.repository_snapshots(graph, self.item()),
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
        )


@strawberry.type(description="One component of a snapshot (`status.components.<name>`), e.g. dump.")
class SnapshotComponent:
    name: str = strawberry.field(description="Component name, for example dump, manifest or wal.")
    phase: SnapshotPhase | None = strawberry.field(description="Phase of this component.")
    driver: str | None = strawberry.field(description="Driver, for example Restic or WalG.")
    size: str | None = strawberry.field(description="Size of this component's data.")
    duration: str | None = strawberry.field(description="How long it took.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")

    @classmethod
    def from_raw(cls, name: str, component: Mapping[str, Any]) -> SnapshotComponent:
        phase = objects.component_phase(component)
        return cls(
            name=name,
            phase=SnapshotPhase(phase) if phase is not None else None,
            driver=objects.str_at(component, "driver"),
            size=objects.str_at(component, "size"),
            duration=objects.str_at(component, "duration"),
            error=objects.str_at(component, "error"),
        )


@strawberry.type(description="A KubeStash Snapshot: one backup run's data in one repository.")
class Snapshot(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "Snapshot"

    @strawberry.field(description="FULL or INCREMENTAL (`spec.type`).")
    def type(self) -> SnapshotType:
        return SnapshotType(objects.snapshot_type(self.raw))

    @strawberry.field(description="How it was taken, from its type, components and drivers.")
    def methods(self) -> list[BackupMethod]:
        return [BackupMethod(m) for m in objects.snapshot_methods(self.raw)]

    @strawberry.field(description="`status.phase`; PENDING until KubeStash reports one.")
    def phase(self) -> SnapshotPhase:
        return SnapshotPhase(objects.snapshot_phase(self.raw))

    @strawberry.field(description="When the backup was taken (`status.snapshotTime`).")
    def snapshot_time(self) -> datetime | None:
        return objects.parse_time(objects.dig(self.raw, "status", "snapshotTime"))

    @strawberry.field(description="Size of the snapshot (`status.size`), e.g. 1.559 KiB.")
    def size(self) -> str | None:
        return objects.str_at(self.raw, "status", "size")

    @strawberry.field(description="`size` in bytes, when it can be parsed.")
    def size_bytes(self) -> float | None:
        return _size_bytes(objects.str_at(self.raw, "status", "size"))

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
        return [
            SnapshotComponent.from_raw(name, component)
            for name, component in objects.named_entries(self.raw, "status", "components")
        ]

    @strawberry.field(description="The repository holding this snapshot.")
    def repository(self, info: Info) -> Repository | None:
        return of(Repository, joins.snapshot_repository(graph_of(info), self.item()))

    @strawberry.field(description="The database this is a backup of (`spec.appRef`).")
    def database_ref(self) -> ObjectRef | None:
        return _database_ref(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="The database this is a backup of, if the viewer may see it.")
    def database(
        self, info: Info
    ) -> Annotated[Database, strawberry.lazy("schema.databases")] | None:
        from schema.databases import Database

        return of(Database, joins.app_database(graph_of(info), self.item()))

    @strawberry.field(description="The backup run that produced it (`spec.backupSession`).")
    def backup_session(
        self,
        info: Info,
    ) -> Annotated[BackupSession, strawberry.lazy("schema.sessions")] | None:
        from schema.sessions import BackupSession

        return of(BackupSession, joins.snapshot_session(graph_of(info), self.item()))
