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
from datetime import datetime
from typing import Any

from apis import objects
from resolvers import restores
from resolvers.writes.backup import EnableBackupInput, plan_enable_backup
from resolvers.writes.backup.common import database_resource
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import Change, JSONDict, Plan, Store
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
    RestoreSourceInput,
    RestoreToNewDatabaseInput,
    SecretData,
)
from resolvers.writes.restore.overlay import Overlay
from resolvers.writes.restore.shape import (
    Shape,
    check_shape,
    database_body,
    database_change,
    ensure_catalog_version,
    point_in_time,
    rfc3339,
)
from resolvers.writes.restore.source import (
    SOURCE_FIELD,
    Resolved,
    Target,
    given_source,
    resolve_snapshot,
    source_cluster,
)
from resolvers.writes.restore.transfer import transfer


@dataclass
class NewDatabasePlan:
    plan: Plan = field(default_factory=Plan)
    # (cluster, kind, namespace, name) of the new database; None when refused.
    database: tuple[str, str, str, str] | None = None
    restore_session: str | None = None
    snapshot: tuple[str, str] | None = None


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
    # No warning code of the contract says "the auth Secret is not restored": the step
    # that restores the data says it in its summary instead.
    note = ""
    if options is None:
        note = (
            f" {resolved.label} holds no manifest that can be restored here, so the source's "
            f"auth Secret does not come back: KubeDB makes a new one for {shape.name} (users "
            "restored from the dump keep their passwords)."
        )
    name = session_name(shape.name, now)
    body = database_body(shape, init={"waitForInitialRestore": True}, auth_secret=auth)
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
        f"{shape.kind} {shape.namespace}/{shape.name} with {', '.join(tasks)}.{note}",
    )
    return body, session


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
    check_shape(store, shape, plan)
    ensure_catalog_version(store, shape, plan, copy_from=copy_catalog_from, field=version_field)
    if plan.refused:
        return
    what = f"{shape.kind} {shape.namespace}/{shape.name}"
    if source is not None and source.point_in_time is not None:
        pit = source.point_in_time
        body = point_in_time(store, shape, pit, plan=plan, source_field=source_field)
        if body is None:
            return
        plan.add(
            database_change(
                body,
                shape,
                summary=f"Create {what} {shape.version} in cluster {shape.cluster}, recovered "
                f"by KubeDB to {rfc3339(pit.time)} from the backups of "
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
            database_change(
                body,
                shape,
                summary=f"Create {what} {shape.version} in cluster {shape.cluster}; it stays "
                f"provisioning until {resolved.label}{picked_text(resolved)} is restored.",
            )
        )
        plan.add(session)
    else:
        plan.add(
            database_change(
                database_body(shape, init=None, auth_secret=None),
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
    result.snapshot = None
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
            resolved = resolve_snapshot(
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
    which = given_source(inp.source, plan, field=SOURCE_FIELD)
    if which is None:
        return result
    from_cluster = source_cluster(inp.source, cluster)
    target_cluster = inp.cluster or from_cluster
    resolved: Resolved | None = None
    saved: Mapping[str, Any] | None = None
    if which == "pointInTime":
        assert inp.source.point_in_time is not None
        ref = inp.source.point_in_time.database
        app = restores.find_app(
            store, cluster=from_cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
        )
        kind = app[0]
        saved = _saved_database(store, from_cluster, app)
        version = (
            inp.version
            or objects.str_at(saved, "spec", "version")
            or _base_version(store, from_cluster, app)
        )
        if not kind:
            plan.refuse(
                "RECOVERY_NOT_AVAILABLE",
                f"No backups of {ref.namespace}/{ref.name} were found in cluster {from_cluster}.",
                field=(*SOURCE_FIELD, "pointInTime", "database"),
            )
            return result
    else:
        first = Target(cluster=target_cluster, version=inp.version)
        resolved = resolve_snapshot(
            store,
            inp.source,
            which=which,
            default_cluster=cluster,
            target=first,
            plan=plan,
            field_root=SOURCE_FIELD,
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
    same_cluster = target_cluster == from_cluster
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
        copy_catalog_from=None if same_cluster else from_cluster,
        version_field=("version",),
        source_field=SOURCE_FIELD,
    )
    if plan.refused:
        return _refused(result)
    return result


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
