"""Where backups go and how long they stay: KubeStash BackupStorage and RetentionPolicy."""

from __future__ import annotations

from typing import ClassVar

import strawberry

from apis import objects
from resolvers.reads import offers
from resolvers.reads.graph import Graph, Item
from schema.common import size_bytes
from schema.enums import UsageScope
from schema.interfaces import Node, Resource

STORAGE_GROUP = "storage.kubestash.com"


@strawberry.type(description="How many snapshots a retention policy keeps, per period.")
class RetentionCounts:
    last: int | None = strawberry.field(description="Keep the newest N.")
    hourly: int | None = strawberry.field(
        description="Keep the newest of each of the last N hours."
    )
    daily: int | None = strawberry.field(description="Keep the newest of each of the last N days.")
    weekly: int | None = strawberry.field(
        description="Keep the newest of each of the last N weeks."
    )
    monthly: int | None = strawberry.field(
        description="Keep the newest of each of the last N months."
    )
    yearly: int | None = strawberry.field(
        description="Keep the newest of each of the last N years."
    )

    @classmethod
    def of(cls, counts: object) -> RetentionCounts | None:
        """The counts of ``spec.successfulSnapshots``, if set."""
        if not isinstance(counts, dict):
            return None
        return cls(
            last=objects.int_at(counts, "last"),
            hourly=objects.int_at(counts, "hourly"),
            daily=objects.int_at(counts, "daily"),
            weekly=objects.int_at(counts, "weekly"),
            monthly=objects.int_at(counts, "monthly"),
            yearly=objects.int_at(counts, "yearly"),
        )


@strawberry.type(description="Where a BackupStorage keeps its data.")
class StorageLocation:
    bucket: str | None = strawberry.field(description="Bucket (s3, gcs) or container (azure).")
    prefix: str | None = strawberry.field(description="Path prefix inside the bucket.")
    endpoint: str | None = strawberry.field(description="S3 endpoint URL.")
    region: str | None = strawberry.field(description="S3 region.")
    storage_account: str | None = strawberry.field(
        default=None, description="Azure storage account."
    )
    mount_path: str | None = strawberry.field(
        default=None, description="Local backends: where the volume is mounted."
    )
    sub_path: str | None = strawberry.field(
        default=None, description="Local backends: sub-path inside the volume."
    )

    @classmethod
    def of(cls, raw: objects.Raw) -> StorageLocation | None:
        """Bucket, prefix and endpoint from ``spec.storage`` (no secret names or credentials)."""
        provider = objects.str_at(raw, "spec", "storage", "provider")
        backend = objects.mapping_at(raw, "spec", "storage", provider) if provider else {}
        if provider in ("s3", "gcs"):
            return cls(
                bucket=objects.str_at(backend, "bucket"),
                prefix=objects.str_at(backend, "prefix"),
                endpoint=objects.str_at(backend, "endpoint"),
                region=objects.str_at(backend, "region"),
            )
        if provider == "azure":
            return cls(
                bucket=objects.str_at(backend, "container"),
                prefix=objects.str_at(backend, "prefix"),
                endpoint=None,
                region=None,
                storage_account=objects.str_at(backend, "storageAccount"),
            )
        if provider == "local":
            return cls(
                bucket=None,
                prefix=None,
                endpoint=None,
                region=None,
                mount_path=objects.str_at(backend, "mountPath"),
                sub_path=objects.str_at(backend, "subPath"),
            )
        return None


@strawberry.type(
    description="A KubeStash BackupStorage: a bucket or volume that Repositories live in."
)
class BackupStorage(Node, Resource):
    API_GROUP: ClassVar[str] = STORAGE_GROUP
    KIND: ClassVar[str] = "BackupStorage"

    # Whether the viewer may `get` this BackupStorage, decided by whoever builds the
    # object (an access check is I/O, so it cannot happen here). None = not decided.
    location_visible: strawberry.Private[bool | None] = None

    @classmethod
    def for_viewer(cls, graph: Graph, item: Item) -> BackupStorage:
        """The BackupStorage with its location decided for this viewer."""
        return cls(
            raw=item.raw,
            cluster_name=item.cluster,
            location_visible=offers.location_visible(graph, item),
        )

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
        return size_bytes(objects.str_at(self.raw, "status", "totalSize"))

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
        return StorageLocation.of(self.raw)


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
        return RetentionCounts.of(objects.dig(self.raw, "spec", "successfulSnapshots"))

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
