"""Small value types shared across the graph: references, conditions, paging, errors."""

from __future__ import annotations

from datetime import datetime

import strawberry

from apis import objects
from core.ids import GlobalRef


@strawberry.type(description="A reference to a Kubernetes object, in a named cluster.")
class ObjectRef:
    cluster: str = strawberry.field(description="Name of the cluster the object lives in.")
    api_group: str | None = strawberry.field(
        description="API group, for example kubedb.com; empty for the core group."
    )
    kind: str = strawberry.field(description="Kind, for example Postgres or Repository.")
    namespace: str | None = strawberry.field(
        description="Namespace; null for cluster-scoped objects."
    )
    name: str = strawberry.field(description="Object name.")

    @classmethod
    def from_typed(cls, ref: objects.TypedRef, *, cluster: str) -> ObjectRef:
        """A reference read from an object's spec (``kind`` may be unknown there)."""
        return cls(
            cluster=cluster,
            api_group=ref.api_group,
            kind=ref.kind or "",
            namespace=ref.namespace,
            name=ref.name,
        )

    @classmethod
    def from_global(cls, ref: GlobalRef) -> ObjectRef:
        return cls(
            cluster=ref.cluster,
            api_group=ref.api_group,
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
        )


@strawberry.type(description="A status condition, as the operator reported it.")
class Condition:
    type: str = strawberry.field(description="Condition type, for example Ready.")
    status: str = strawberry.field(description='"True", "False" or "Unknown".')
    reason: str | None = strawberry.field(description="Machine-readable reason.")
    message: str | None = strawberry.field(description="Human-readable explanation.")
    last_transition_time: datetime | None = strawberry.field(
        description="When the status last changed."
    )

    @classmethod
    def from_data(cls, data: objects.ConditionData) -> Condition:
        return cls(
            type=data.type,
            status=data.status,
            reason=data.reason,
            message=data.message,
            last_transition_time=data.last_transition_time,
        )


def conditions_of(raw: objects.Raw) -> list[Condition]:
    """``status.conditions`` of a raw object as GraphQL Conditions."""
    return [Condition.from_data(c) for c in objects.conditions_of(raw)]


@strawberry.type(description="Where a page of a connection ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null for an empty page."
    )


@strawberry.type(
    description="A cluster that could not answer its part of a query; the rest is still returned."
)
class ClusterError:
    cluster: str = strawberry.field(description="Name of the cluster.")
    code: str = strawberry.field(
        description="UNREACHABLE, TIMEOUT, FORBIDDEN, NOT_INSTALLED or INTERNAL"
    )
    message: str = strawberry.field(description="What went wrong, in plain words.")
    retryable: bool = strawberry.field(description="Whether trying again later may help.")
    stale_since: datetime | None = strawberry.field(
        description=(
            "When data from this cluster was last known good, if it is served from a stale cache."
        )
    )


@strawberry.type(description="A database's data volume, as requested in its spec.")
class VolumeInfo:
    size: str | None = strawberry.field(
        description="Requested size (`spec.storage.resources.requests.storage`), e.g. 10Gi."
    )
    storage_class: str | None = strawberry.field(
        description="Storage class (`spec.storage.storageClassName`)."
    )


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
