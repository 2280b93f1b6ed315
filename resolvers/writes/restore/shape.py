"""The new database itself: its shape, its object, the catalog version it needs, and
its body when KubeDB recovers it to a point in time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apis import objects
from apis.resources import REPOSITORIES, catalog_version
from core.quantities import parse_size
from resolvers import restores
from resolvers.writes.backup.common import GATEWAY, MANAGED_BY, database_resource
from resolvers.writes.plan import Change, JSONDict, Plan, Store
from resolvers.writes.restore.data import encryption_of
from resolvers.writes.restore.inputs import PointInTimeInput


@dataclass(frozen=True)
class Shape:
    """The new database, as the planners settled it."""

    cluster: str
    kind: str
    namespace: str
    name: str
    version: str
    storage_size: str
    storage_class: str | None
    replicas: int
    labels: Mapping[str, str]


def rfc3339(when: datetime) -> str:
    # A time without a zone is read as UTC, as GraphQL DateTime values are.
    aware = when if when.utcoffset() is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def database_body(shape: Shape, *, init: JSONDict | None, auth_secret: str | None) -> JSONDict:
    resource = database_resource(shape.kind)
    storage: JSONDict = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": shape.storage_size}},
    }
    if shape.storage_class:
        storage["storageClassName"] = shape.storage_class
    spec: JSONDict = {
        "version": shape.version,
        "replicas": shape.replicas,
        "storageType": "Durable",
        "storage": storage,
        "deletionPolicy": "Delete",
    }
    if init:
        spec["init"] = init
    if auth_secret:
        spec["authSecret"] = {"name": auth_secret}
    metadata: JSONDict = {"name": shape.name, "namespace": shape.namespace}
    if shape.labels:
        metadata["labels"] = dict(shape.labels)
    return {
        "apiVersion": resource.api_version,
        "kind": shape.kind,
        "metadata": metadata,
        "spec": spec,
    }


def check_shape(store: Store, shape: Shape, plan: Plan) -> None:
    resource = database_resource(shape.kind)
    if store.get(shape.cluster, resource, shape.namespace, shape.name) is not None:
        plan.refuse(
            "TARGET_EXISTS",
            f"{shape.kind} {shape.namespace}/{shape.name} already exists in cluster "
            f"{shape.cluster}; choose another name.",
            field=("name",),
        )
    if parse_size(shape.storage_size) is None:
        plan.refuse(
            "INVALID_INPUT",
            f"Storage size {shape.storage_size!r} is not a size such as 10Gi.",
            field=("storageSize",),
        )
    if shape.replicas < 1:
        plan.refuse("INVALID_INPUT", "Replicas must be at least 1.", field=("replicas",))


def ensure_catalog_version(
    store: Store, shape: Shape, plan: Plan, *, copy_from: str | None, field: Sequence[str]
) -> None:
    """The target cluster must have the catalog version; across clusters it is copied."""
    resource = catalog_version(shape.kind)
    if store.get(shape.cluster, resource, None, shape.version) is not None:
        return
    source = store.get(copy_from, resource, None, shape.version) if copy_from else None
    if source is None:
        plan.refuse(
            "CATALOG_VERSION_MISSING",
            f"Cluster {shape.cluster} has no {resource.kind} {shape.version}; choose a version "
            "it offers.",
            field=field,
        )
        return
    labels = {MANAGED_BY: GATEWAY}
    plan.add(
        Change(
            action="CREATE",
            cluster=shape.cluster,
            resource=resource,
            namespace=None,
            name=shape.version,
            summary=f"Copy {resource.kind} {shape.version} from cluster {copy_from} into "
            f"cluster {shape.cluster}.",
            body={
                "apiVersion": resource.api_version,
                "kind": resource.kind,
                "metadata": {"name": shape.version, "labels": labels},
                "spec": dict(objects.mapping_at(source, "spec")),
            },
        )
    )
    plan.warn(
        "CATALOG_VERSION_COPIED",
        f"Cluster {shape.cluster} lacked {resource.kind} {shape.version}; it is created there "
        "(cluster-wide) as cluster "
        f"{copy_from} has it.",
    )


def point_in_time(
    store: Store,
    shape: Shape,
    pit: PointInTimeInput,
    *,
    plan: Plan,
    source_field: tuple[str, ...],
) -> JSONDict | None:
    """The database body recovering the source to ``pit.time``; None when refused."""
    where = (*source_field, "pointInTime")
    ref = pit.database
    cluster = shape.cluster  # the same as the source's (checked by the caller)
    app = restores.find_app(
        store, cluster=cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
    )
    label = f"{app[0] or 'Database'} {ref.namespace}/{ref.name}"
    window = restores.window_of(store, cluster=cluster, app=app) if app[0] else None
    if window is None:
        plan.refuse(
            "RECOVERY_NOT_AVAILABLE",
            f"{label} has no continuous backup, so it cannot be recovered to a point in time.",
            field=(*where, "database"),
        )
        return None
    if app[0] != shape.kind:
        plan.refuse(
            "INVALID_INPUT",
            f"{label} is a {app[0]}; a point in time recovers into the same kind.",
            field=("kind",),
        )
        return None
    if not restores.within(window, pit.time):
        plan.refuse(
            "RECOVERY_TIME_OUTSIDE_WINDOW",
            f"{pit.time.isoformat()} is outside the recovery window of {label}: "
            f"{restores.window_text(window)}.",
            field=(*where, "time"),
        )
        return None
    full = store.get(cluster, REPOSITORIES, ref.namespace, f"{ref.name}-full")
    if full is None and window.base_backups:
        repo = objects.str_at(window.base_backups[-1].raw, "spec", "repository")
        full = store.get(cluster, REPOSITORIES, ref.namespace, repo) if repo else None
    if full is None:
        plan.refuse(
            "RECOVERY_NOT_AVAILABLE",
            f"The repository of the full backups of {label} was not found.",
            field=(*where, "database"),
        )
        return None
    archiver: JSONDict = {
        "recoveryTimestamp": rfc3339(pit.time),
        "fullDBRepository": {
            "namespace": objects.namespace_of(full),
            "name": objects.name_of(full),
        },
    }
    encryption = encryption_of(full)
    if encryption is not None:
        archiver["encryptionSecret"] = encryption
    manifest = store.get(cluster, REPOSITORIES, ref.namespace, f"{ref.name}-manifest")
    if manifest is not None:
        archiver["manifestRepository"] = {
            "namespace": objects.namespace_of(manifest),
            "name": objects.name_of(manifest),
        }
    return database_body(shape, init={"archiver": archiver}, auth_secret=None)


def database_change(body: JSONDict, shape: Shape, *, summary: str) -> Change:
    return Change(
        action="CREATE",
        cluster=shape.cluster,
        resource=database_resource(shape.kind),
        namespace=shape.namespace,
        name=shape.name,
        summary=summary,
        body=body,
    )
