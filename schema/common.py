"""Small value types shared across the graph: references, conditions, paging, errors."""

from __future__ import annotations

from datetime import datetime

import strawberry

from apis import objects
from core import quantities
from core.ids import GlobalRef
from watchers.cache import ClusterProblem


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
    def spec_target(cls, raw: objects.Raw, *, cluster: str) -> ObjectRef | None:
        """What a BackupConfiguration or RestoreSession is about (``spec.target``)."""
        ref = objects.typed_ref(
            objects.dig(raw, "spec", "target"), default_namespace=objects.namespace_of(raw)
        )
        return cls.from_typed(ref, cluster=cluster) if ref is not None else None

    @classmethod
    def app_database(cls, raw: objects.Raw, *, cluster: str) -> ObjectRef | None:
        """The app a Snapshot or Repository backs up, if it is (or may be) a KubeDB database."""
        ref = objects.app_ref(raw)
        if ref is None or ref.api_group not in (None, "kubedb.com"):
            return None
        return cls.from_typed(ref, cluster=cluster)

    @classmethod
    def storage_of(cls, repository: objects.Raw, *, cluster: str) -> ObjectRef | None:
        """The BackupStorage a Repository lives in (``spec.storageRef``)."""
        ref = objects.typed_ref(
            objects.dig(repository, "spec", "storageRef"),
            default_namespace=objects.namespace_of(repository),
        )
        if ref is None:
            return None
        return cls(
            cluster=cluster,
            api_group="storage.kubestash.com",
            kind="BackupStorage",
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


def size_bytes(value: str | None) -> float | None:
    """A size string (``status.size``) in bytes, when it can be parsed."""
    return quantities.parse_size(value) if value is not None else None


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

    @classmethod
    def from_problems(cls, problems: list[ClusterProblem]) -> list[ClusterError]:
        """One error per cluster (the first problem named for it)."""
        seen: dict[str, ClusterError] = {}
        for p in problems:
            seen.setdefault(
                p.cluster,
                cls(
                    cluster=p.cluster,
                    code=p.code,
                    message=p.message,
                    retryable=p.retryable,
                    stale_since=p.stale_since,
                ),
            )
        return list(seen.values())


@strawberry.type(description="A database's data volume, as requested in its spec.")
class VolumeInfo:
    size: str | None = strawberry.field(
        description="Requested size (`spec.storage.resources.requests.storage`), e.g. 10Gi."
    )
    storage_class: str | None = strawberry.field(
        description="Storage class (`spec.storage.storageClassName`)."
    )

    @classmethod
    def of(cls, raw: objects.Raw) -> VolumeInfo | None:
        """The volume a database asks for (``spec.storage``), if it names any."""
        size = objects.str_at(raw, "spec", "storage", "resources", "requests", "storage")
        storage_class = objects.str_at(raw, "spec", "storage", "storageClassName")
        if size is None and storage_class is None:
            return None
        return cls(size=size, storage_class=storage_class)
