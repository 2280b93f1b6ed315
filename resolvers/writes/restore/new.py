"""createDatabase and restoreToNewDatabase: a new database, optionally filled from a
backup (a snapshot, the latest one, or a point in time), possibly from another cluster.

With a snapshot the database is created with ``spec.init.waitForInitialRestore`` (it stays
PROVISIONING until the data is in) and a RestoreSession fills it; the snapshot's manifest,
when it has one, gives back the source's auth Secret. A point in time is KubeDB's
archiver recovery: ``spec.init.archiver`` and no RestoreSession.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apis import objects
from apis.resources import REPOSITORIES, catalog_version
from core.quantities import parse_size
from resolvers import restores
from resolvers.writes.backup import EnableBackupInput, plan_enable_backup
from resolvers.writes.backup.common import GATEWAY, MANAGED_BY, database_resource
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import Change, JSONDict, Plan, Store, WarningCode
from resolvers.writes.restore.data import (
    MANIFEST_OPTION_KEYS,
    SessionSpec,
    auth_secret_name,
    encryption_of,
    picked_text,
    session_change,
    session_name,
)
from resolvers.writes.restore.inputs import (
    CreateDatabaseInput,
    PointInTimeInput,
    RestoreSourceInput,
    RestoreToNewDatabaseInput,
    SecretData,
)
from resolvers.writes.restore.overlay import Overlay
from resolvers.writes.restore.source import (
    Resolved,
    Target,
    given_source,
    latest_snapshot,
    named_snapshot,
)
from resolvers.writes.restore.transfer import transfer

_SOURCE: tuple[str, ...] = ("source",)

# No contract warning code says "the auth Secret is not restored"; the lead decides.
NO_MANIFEST_WARNING: WarningCode = "WAITING_FOR_DEPENDENCY"


@dataclass
class NewDatabasePlan:
    plan: Plan = field(default_factory=Plan)
    # (cluster, kind, namespace, name) of the new database; None when refused.
    database: tuple[str, str, str, str] | None = None
    restore_session: str | None = None
    snapshot: tuple[str, str] | None = None


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


def _rfc3339(when: datetime) -> str:
    # A time without a zone is read as UTC, as GraphQL DateTime values are.
    aware = when if when.utcoffset() is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _database_body(shape: Shape, *, init: JSONDict | None, auth_secret: str | None) -> JSONDict:
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


def _check_shape(store: Store, shape: Shape, plan: Plan) -> None:
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


def _catalog(
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


def _resolve(
    store: Store,
    source: RestoreSourceInput,
    *,
    which: str,
    default_cluster: str,
    target: Target,
    plan: Plan,
    field_root: tuple[str, ...],
) -> Resolved | None:
    if which == "snapshot":
        assert source.snapshot is not None
        return named_snapshot(
            store,
            source.snapshot,
            default_cluster=default_cluster,
            target=target,
            plan=plan,
            field=(*field_root, "snapshot"),
        )
    assert source.latest is not None
    return latest_snapshot(
        store,
        source.latest,
        default_cluster=default_cluster,
        target=target,
        database=None,
        plan=plan,
        field=(*field_root, "latest"),
    )


def _fill_from_snapshot(
    store: Store,
    result: NewDatabasePlan,
    shape: Shape,
    resolved: Resolved,
    *,
    now: datetime,
    secrets: Sequence[SecretData],
    can_create_storage: bool,
) -> tuple[JSONDict, Change] | None:
    """Plan what the target needs to read the snapshot (across clusters); answer the new
    database's body and the RestoreSession filling it, which go in after."""
    plan = result.plan
    verdict = resolved.verdict
    assert verdict.data is not None
    data_namespace = resolved.namespace
    repository = objects.name_of(resolved.repository)
    encryption = encryption_of(resolved.repository)
    if resolved.cluster != shape.cluster:
        moved = transfer(
            store,
            plan,
            source_cluster=resolved.cluster,
            repository=resolved.repository,
            target=shape.cluster,
            namespace=shape.namespace,
            app=(shape.kind, shape.namespace, shape.name),
            secrets=secrets,
            can_create_storage=can_create_storage,
        )
        if moved is None:
            return None
        data_namespace, repository, encryption = (
            moved.namespace,
            moved.name,
            moved.encryption_secret,
        )
    tasks = [verdict.data.task]
    components = [verdict.data.component]
    options: JSONDict | None = None
    auth: str | None = None
    key = MANIFEST_OPTION_KEYS.get(shape.kind)
    if verdict.manifest and verdict.manifest_task and key:
        auth = auth_secret_name(shape.name)
        tasks.insert(0, verdict.manifest_task)
        components.insert(0, verdict.manifest)
        options = {
            key: {
                "restoreNamespace": shape.namespace,
                "dbName": shape.name,
                "db": False,
                "authSecret": True,
                "authSecretName": auth,
                "configSecret": False,
                "initScript": False,
            }
        }
    else:
        plan.warn(
            NO_MANIFEST_WARNING,
            f"{resolved.label} holds no manifest that can be restored here, so the source's "
            f"auth Secret does not come back: KubeDB makes a new one for {shape.name}, and "
            "the restored users keep their old passwords.",
        )
    name = session_name(shape.name, now)
    body = _database_body(shape, init={"waitForInitialRestore": True}, auth_secret=auth)
    result.restore_session = name
    result.snapshot = (resolved.namespace, resolved.name)
    session = session_change(
        SessionSpec(
            cluster=shape.cluster,
            namespace=shape.namespace,
            name=name,
            target=(shape.kind, shape.namespace, shape.name),
            data_namespace=data_namespace,
            repository=repository,
            snapshot=resolved.name,
            encryption_secret=encryption,
            addon=restores.kind_addon_name(
                store, cluster=shape.cluster, kind=shape.kind, version=shape.version
            ),
            tasks=tasks,
            components=components,
            manifest_options=options,
        ),
        summary=f"Restore {resolved.label}{picked_text(resolved)} into the new "
        f"{shape.kind} {shape.namespace}/{shape.name} with {', '.join(tasks)}.",
    )
    return body, session


def _point_in_time(
    store: Store,
    shape: Shape,
    pit: PointInTimeInput,
    *,
    plan: Plan,
    default_cluster: str,
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
        "recoveryTimestamp": _rfc3339(pit.time),
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
    return _database_body(shape, init={"archiver": archiver}, auth_secret=None)


def _database_change(body: JSONDict, shape: Shape, *, summary: str) -> Change:
    return Change(
        action="CREATE",
        cluster=shape.cluster,
        resource=database_resource(shape.kind),
        namespace=shape.namespace,
        name=shape.name,
        summary=summary,
        body=body,
    )


def _finish(
    store: Store,
    result: NewDatabasePlan,
    shape: Shape,
    *,
    source: RestoreSourceInput | None,
    default_cluster: str,
    resolved: Resolved | None,
    now: datetime,
    secrets: Sequence[SecretData],
    can_create_storage: bool,
    copy_catalog_from: str | None,
    version_field: tuple[str, ...],
    source_field: tuple[str, ...],
) -> None:
    """The shared tail: checks, catalog, transfer, the database, its restore."""
    plan = result.plan
    if source is not None and source.point_in_time is not None:
        home = source.point_in_time.database.cluster or default_cluster
        if home != shape.cluster:
            plan.refuse(
                "RECOVERY_NOT_AVAILABLE",
                f"A point in time can only be recovered in the source's cluster ({home}), "
                f"not into cluster {shape.cluster}.",
                field=(*source_field, "pointInTime", "database"),
            )
            return
    _check_shape(store, shape, plan)
    _catalog(store, shape, plan, copy_from=copy_catalog_from, field=version_field)
    if plan.refused:
        return
    what = f"{shape.kind} {shape.namespace}/{shape.name}"
    if source is not None and source.point_in_time is not None:
        pit = source.point_in_time
        body = _point_in_time(
            store, shape, pit, plan=plan, default_cluster=default_cluster, source_field=source_field
        )
        if body is None:
            return
        plan.add(
            _database_change(
                body,
                shape,
                summary=f"Create {what} {shape.version} in cluster {shape.cluster}, recovered "
                f"by KubeDB to {_rfc3339(pit.time)} from the backups of "
                f"{pit.database.namespace}/{pit.database.name}.",
            )
        )
    elif resolved is not None:
        filled = _fill_from_snapshot(
            store,
            result,
            shape,
            resolved,
            now=now,
            secrets=secrets,
            can_create_storage=can_create_storage,
        )
        if filled is None:
            return
        body, session = filled
        plan.add(
            _database_change(
                body,
                shape,
                summary=f"Create {what} {shape.version} in cluster {shape.cluster}; it stays "
                f"provisioning until {resolved.label}{picked_text(resolved)} is restored.",
            )
        )
        plan.add(session)
    else:
        plan.add(
            _database_change(
                _database_body(shape, init=None, auth_secret=None),
                shape,
                summary=f"Create {what} {shape.version} in cluster {shape.cluster}.",
            )
        )
    result.database = (shape.cluster, shape.kind, shape.namespace, shape.name)


def _labels(value: Any, plan: Plan) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        plan.refuse(
            "INVALID_INPUT", "Labels must be an object of names to text values.", field=("labels",)
        )
        return {}
    return dict(value)


def _refused(result: NewDatabasePlan) -> NewDatabasePlan:
    # A refused plan changes nothing: drop what was planned before the refusal.
    result.plan.changes.clear()
    result.database = None
    result.restore_session = None
    return result


def plan_create_database(
    inp: CreateDatabaseInput,
    *,
    store: Store,
    cluster: str,
    now: datetime,
    secrets: Sequence[SecretData] = (),
    can_create_storage: bool = True,
) -> NewDatabasePlan:
    """createDatabase in ``cluster`` (the input's, resolved by the mutation)."""
    result = NewDatabasePlan()
    plan = result.plan
    cluster = inp.cluster or cluster
    shape = Shape(
        cluster=cluster,
        kind=inp.kind,
        namespace=inp.namespace,
        name=inp.name,
        version=inp.version,
        storage_size=inp.storage_size,
        storage_class=inp.storage_class,
        replicas=inp.replicas,
        labels=_labels(inp.labels, plan),
    )
    resolved: Resolved | None = None
    copy_from: str | None = None
    if inp.init_from is not None:
        which = given_source(inp.init_from, plan, field=("initFrom",))
        if which is None:
            return _refused(result)
        if which != "pointInTime":
            target = Target(cluster=cluster, kind=inp.kind, version=inp.version)
            resolved = _resolve(
                store,
                inp.init_from,
                which=which,
                default_cluster=cluster,
                target=target,
                plan=plan,
                field_root=("initFrom",),
            )
            if resolved is None:
                return _refused(result)
            if resolved.app[0] and resolved.app[0] != inp.kind:
                plan.refuse(
                    "INVALID_INPUT",
                    f"{resolved.label} is a backup of a {resolved.app[0]}, not a {inp.kind}.",
                    field=("kind",),
                )
                return _refused(result)
            copy_from = resolved.cluster if resolved.cluster != cluster else None
    _finish(
        store,
        result,
        shape,
        source=inp.init_from,
        default_cluster=cluster,
        resolved=resolved,
        now=now,
        secrets=secrets,
        can_create_storage=can_create_storage,
        copy_catalog_from=copy_from,
        version_field=("version",),
        source_field=("initFrom",),
    )
    if plan.refused:
        return _refused(result)
    if inp.backup is not None:
        bodies = [c.body for c in plan.changes if c.resource.group == "kubedb.com" and c.body]
        overlay = Overlay(store, cluster=cluster, objects=bodies)
        backup = plan_enable_backup(
            EnableBackupInput(
                database=ObjectRefInput(namespace=inp.namespace, name=inp.name, kind=inp.kind),
                backup=inp.backup,
            ),
            store=overlay,
            cluster=cluster,
            now=now,
        )
        plan.changes.extend(backup.plan.changes)
        plan.warnings.extend(backup.plan.warnings)
        plan.errors.extend(backup.plan.errors)
        if plan.refused:
            return _refused(result)
    return result


def plan_restore_to_new_database(
    inp: RestoreToNewDatabaseInput,
    *,
    store: Store,
    cluster: str,
    now: datetime,
    secrets: Sequence[SecretData] = (),
    can_create_storage: bool = True,
) -> NewDatabasePlan:
    """restoreToNewDatabase; ``cluster`` is the default one (the source's when the input
    names none), and the new database goes to ``inp.cluster`` or the source's."""
    result = NewDatabasePlan()
    plan = result.plan
    which = given_source(inp.source, plan, field=_SOURCE)
    if which is None:
        return result
    source_cluster = _source_cluster(inp.source, cluster)
    target_cluster = inp.cluster or source_cluster
    resolved: Resolved | None = None
    saved: Mapping[str, Any] | None = None
    if which == "pointInTime":
        assert inp.source.point_in_time is not None
        ref = inp.source.point_in_time.database
        app = restores.find_app(
            store, cluster=source_cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
        )
        kind = app[0]
        saved = _saved_database(store, source_cluster, app)
        version = (
            inp.version
            or objects.str_at(saved, "spec", "version")
            or _base_version(store, source_cluster, app)
        )
        if not kind:
            plan.refuse(
                "RECOVERY_NOT_AVAILABLE",
                f"No backups of {ref.namespace}/{ref.name} were found in cluster {source_cluster}.",
                field=(*_SOURCE, "pointInTime", "database"),
            )
            return result
    else:
        first = Target(cluster=target_cluster, version=inp.version)
        resolved = _resolve(
            store,
            inp.source,
            which=which,
            default_cluster=cluster,
            target=first,
            plan=plan,
            field_root=_SOURCE,
        )
        if resolved is None:
            return _refused(result)
        kind = resolved.app[0]
        saved = _saved_database(store, resolved.cluster, resolved.app)
        version = (
            inp.version
            or restores.snapshot_version(resolved.snapshot)
            or objects.str_at(saved, "spec", "version")
        )
    if not version:
        plan.refuse(
            "INVALID_INPUT",
            "The backup does not say which version it was taken from; give the version.",
            field=("version",),
        )
        return _refused(result)
    size = inp.storage_size or objects.str_at(
        saved, "spec", "storage", "resources", "requests", "storage"
    )
    if not size:
        plan.refuse(
            "INVALID_INPUT",
            "The source database's storage size is not known; give storageSize.",
            field=("storageSize",),
        )
        return _refused(result)
    same_cluster = target_cluster == source_cluster
    storage_class = inp.storage_class or (
        objects.str_at(saved, "spec", "storage", "storageClassName") if same_cluster else None
    )
    shape = Shape(
        cluster=target_cluster,
        kind=kind,
        namespace=inp.namespace,
        name=inp.name,
        version=version,
        storage_size=size,
        storage_class=storage_class,
        replicas=objects.int_at(saved, "spec", "replicas") or 1,
        # No labels: an ArchiverPolicy selecting them would start backup, and the new
        # database starts without backup.
        labels={},
    )
    _finish(
        store,
        result,
        shape,
        source=inp.source,
        default_cluster=cluster,
        resolved=resolved,
        now=now,
        secrets=secrets,
        can_create_storage=can_create_storage,
        copy_catalog_from=None if same_cluster else source_cluster,
        version_field=("version",),
        source_field=_SOURCE,
    )
    if plan.refused:
        return _refused(result)
    return result


def _source_cluster(source: RestoreSourceInput, default: str) -> str:
    ref = (
        source.snapshot
        or (source.latest.repository or source.latest.database if source.latest else None)
        or (source.point_in_time.database if source.point_in_time else None)
    )
    return (ref.cluster if ref is not None else None) or default


def _saved_database(
    store: Store, cluster: str, app: tuple[str, str, str]
) -> Mapping[str, Any] | None:
    """The source database, while it still exists: its settings are the saved ones."""
    if not app[0]:
        return None
    return store.get(cluster, database_resource(app[0]), app[1], app[2])


def _base_version(store: Store, cluster: str, app: tuple[str, str, str]) -> str | None:
    for snap in restores.database_snapshots(store, cluster=cluster, app=app):
        version = restores.snapshot_version(snap)
        if version:
            return version
    return None
