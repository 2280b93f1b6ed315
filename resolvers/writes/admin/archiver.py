"""createArchiverPolicy / updateArchiverPolicy: an ArchiverPolicy is the KubeDB archiver
of its kind (archiver.kubedb.com/v1alpha1 ``<Kind>Archiver``, reference §4.2).

Full backups: VOLUME_SNAPSHOT uses the VolumeSnapshotter driver (with the
VolumeSnapshotClass as task param when given), PHYSICAL uses Restic with the addon's
physical-backup task; the kind's Addon in the cluster must have that task
(METHOD_NOT_AVAILABLE otherwise). ClickHouse archivers take full backups with their own
ClickHouseBackup driver and have incremental backups instead of log shipping, so only
PHYSICAL applies there and no ``logBackup`` is written. Manifest backups run on the
full-backup schedule.

``databaseSelector`` null means any database: it is written as the empty selector
``{}``, which matches every database, because an absent selector's meaning is KubeDB's
to decide (its double opt-in), not the contract's.

Databases the new archiver admits that have no archiver yet may take it up on their own
(KubeDB's implicit choice, §4.3): the plan names them. The gateway assumes turning log
shipping on restarts Postgres, MySQL, MariaDB and MongoDB once (the archiver sidecar
and the WAL/binlog/oplog settings), hence DATABASE_UNAVAILABLE_DURING_SETUP for those.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence

from apis import objects
from apis.resources import BACKUP_STORAGES, ResourceType, archiver
from core.selectors import selector_from_label_selector
from resolvers.writes.admin.common import (
    ARCHIVER_KINDS,
    body,
    check_absent,
    check_label_selector,
    check_name,
    check_place,
    check_ref,
    check_schedule,
    database_resource,
    encryption_ref,
    kind_addon_tasks,
    lookup,
    names,
    namespace_admits,
    ref_text,
    retention_choice,
    unchanged,
    update_body,
)
from resolvers.writes.admin.inputs import CreateArchiverPolicy, ObjectRef, UpdateArchiverPolicy
from resolvers.writes.admin.usage import allowed_namespaces
from resolvers.writes.plan import Change, JSONDict, Plan, Store

RESTARTED_BY_LOG_SHIPPING = frozenset({"Postgres", "MySQL", "MariaDB", "MongoDB"})
DELETION_POLICIES = {"DELETE": "Delete", "WIPE_OUT": "WipeOut", "RETAIN": "Retain"}
_LOG_PERIOD = re.compile(r"^[1-9][0-9]*[dwmy]$")
_SPEC_KEYS = (
    "databases",
    "pause",
    "retentionPolicy",
    "encryptionSecret",
    "backupStorage",
    "deletionPolicy",
    "fullBackup",
    "logBackup",
    "manifestBackup",
)


def encryption_secret_name(archiver_name: str) -> str:
    # Apart from a BackupPolicy's <name>-encryption: both may share a name in one namespace.
    return f"{archiver_name}-archiver-encryption"


def _kind(plan: Plan, kind: str) -> str | None:
    found = next((k for k in ARCHIVER_KINDS if k.lower() == kind.lower()), None)
    if found is None:
        plan.refuse(
            "INVALID_INPUT",
            f"KubeDB has no archiver for {kind!r}; databaseKind must be one of "
            f"{', '.join(ARCHIVER_KINDS)}.",
            field=("databaseKind",),
        )
    return found


def _full_backup(
    plan: Plan, store: Store, inp: CreateArchiverPolicy, *, kind: str, cluster: str
) -> JSONDict | None:
    method = inp.full_backup_method
    if method not in ("VOLUME_SNAPSHOT", "PHYSICAL") or (
        kind == "ClickHouse" and method != "PHYSICAL"
    ):
        offered = "PHYSICAL" if kind == "ClickHouse" else "VOLUME_SNAPSHOT or PHYSICAL"
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"{kind} archivers take full backups by {offered}, not {method}.",
            field=("fullBackupMethod",),
        )
        return None
    if inp.volume_snapshot_class is not None and method != "VOLUME_SNAPSHOT":
        plan.refuse(
            "INVALID_INPUT",
            "volumeSnapshotClass applies only to fullBackupMethod VOLUME_SNAPSHOT.",
            field=("volumeSnapshotClass",),
        )
        return None
    if kind == "ClickHouse":
        return {"driver": "ClickHouseBackup"}
    task = "volume-snapshot" if method == "VOLUME_SNAPSHOT" else "physical-backup"
    addons, tasks = kind_addon_tasks(store, cluster, kind)
    if task not in tasks:
        where = (
            f"{names(addons)} offers no {task} task"
            if addons
            else (f"cluster {cluster} has no KubeStash addon for {kind}")
        )
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"{method} full backups need the {task} task, but {where}; choose the other "
            "method or install the KubeDB KubeStash catalog.",
            field=("fullBackupMethod",),
        )
        return None
    full: JSONDict = {"driver": "VolumeSnapshotter" if method == "VOLUME_SNAPSHOT" else "Restic"}
    if inp.volume_snapshot_class is not None:
        if not check_name(plan, inp.volume_snapshot_class, field=("volumeSnapshotClass",)):
            return None
        full["task"] = {"params": {"volumeSnapshotClassName": inp.volume_snapshot_class}}
    return full


def _check_log_period(plan: Plan, value: str) -> bool:
    if _LOG_PERIOD.match(value):
        return True
    plan.refuse(
        "INVALID_INPUT",
        f"logRetentionPeriod {value!r} is not a period KubeDB takes: a number and one unit "
        "d, w, m or y, for example 30d or 1y.",
        field=("logRetentionPeriod",),
    )
    return False


def _retention(
    plan: Plan, store: Store, ref: ObjectRef | None, *, cluster: str, namespace: str
) -> JSONDict | None:
    found = retention_choice(plan, store, ref, cluster=cluster, namespace=namespace)
    return None if found is None else {"namespace": found[0], "name": found[1]}


def _admitted(store: Store, *, cluster: str, kind: str, home: str, spec: JSONDict) -> list[str]:
    """Databases of ``kind`` the archiver admits that have no archiver yet. A namespace
    whose labels the cache lacks counts as admitted: the warning errs on telling."""
    databases = objects.mapping_at(spec, "databases")
    allowed = objects.mapping_at(databases, "namespaces")
    selector = selector_from_label_selector(databases.get("selector") or {})
    found = []
    for db in store.list(cluster, database_resource(kind)):
        if objects.mapping_at(db, "spec", "archiver"):
            continue
        ns = objects.namespace_of(db) or ""
        admits = namespace_admits(store, cluster=cluster, allowed=allowed, home=home, namespace=ns)
        if admits is not False and selector.matches(objects.labels_of(db)):
            found.append(ref_text(ns, objects.name_of(db)))
    return found


def plan_create_archiver_policy(inp: CreateArchiverPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ok = check_place(plan, inp.namespace, inp.name)
    kind = _kind(plan, inp.database_kind)
    storage = lookup(
        plan, store, inp.storage, cluster=cluster, resource=BACKUP_STORAGES, field=("storage",)
    )
    retention = _retention(
        plan, store, inp.retention_policy, cluster=cluster, namespace=inp.namespace
    )
    secret_ref, secret = encryption_ref(
        plan,
        inp.encryption,
        cluster=cluster,
        namespace=inp.namespace,
        secret_name=encryption_secret_name(inp.name),
    )
    check_schedule(plan, inp.full_backup_schedule, field=("fullBackupSchedule",))
    full = _full_backup(plan, store, inp, kind=kind, cluster=cluster) if kind else None
    _check_log_period(plan, inp.log_retention_period)
    databases: JSONDict = {}
    if inp.usage is not None:
        allowed = allowed_namespaces(plan, inp.usage, field=("usage",))
        if allowed is not None:
            databases["namespaces"] = allowed
    if inp.database_selector is not None:
        if check_label_selector(plan, inp.database_selector, field=("databaseSelector",)):
            databases["selector"] = inp.database_selector
    else:
        databases["selector"] = {}
    deletion = DELETION_POLICIES.get(inp.deletion_policy)
    if deletion is None:
        plan.refuse(
            "INVALID_INPUT",
            "deletionPolicy must be DELETE, WIPE_OUT or RETAIN.",
            field=("deletionPolicy",),
        )
    resource = archiver(kind) if kind else None
    if ok and resource is not None:
        check_absent(
            plan,
            store,
            cluster=cluster,
            resource=resource,
            namespace=inp.namespace,
            name=inp.name,
        )
    if plan.refused or kind is None or resource is None or full is None or storage is None:
        return plan
    full["scheduler"] = {"schedule": inp.full_backup_schedule}
    spec: JSONDict = {
        "databases": databases,
        "pause": False,
        "backupStorage": {"ref": {"namespace": inp.storage.namespace, "name": inp.storage.name}},
        "encryptionSecret": secret_ref,
        "deletionPolicy": deletion,
        "fullBackup": full,
        "manifestBackup": {"scheduler": {"schedule": inp.full_backup_schedule}},
    }
    if retention is not None:
        spec["retentionPolicy"] = retention
    if kind != "ClickHouse":
        spec["logBackup"] = {"retentionPeriod": inp.log_retention_period}
    if secret is not None:
        plan.add(secret)
    waiting = _admitted(store, cluster=cluster, kind=kind, home=inp.namespace, spec=spec)
    summary = (
        f"Create {resource.kind} {inp.namespace}/{inp.name}: full backups "
        f"({inp.full_backup_method}) on {inp.full_backup_schedule!r} to BackupStorage "
        f"{inp.storage.namespace}/{inp.storage.name}"
    )
    if kind != "ClickHouse":
        summary += f", logs kept {inp.log_retention_period}"
    if waiting:
        summary += f"; databases without an archiver that may take it up: {names(waiting)}"
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=resource,
            namespace=inp.namespace,
            name=inp.name,
            summary=summary,
            body=body(resource, inp.namespace, inp.name, spec),
        )
    )
    if waiting and kind in RESTARTED_BY_LOG_SHIPPING:
        plan.warn(
            "DATABASE_UNAVAILABLE_DURING_SETUP",
            f"{kind} databases {names(waiting)} have no archiver and this one admits them, so "
            "KubeDB may attach it; StashQL assumes turning on log shipping restarts each of "
            "them once.",
        )
    return plan


def find_archiver(
    plan: Plan, store: Store, ref: ObjectRef, *, cluster: str, field: Sequence[str]
) -> tuple[ResourceType, JSONDict] | None:
    """The archiver a reference names; its kind may be left out, given as the archiver
    kind (PostgresArchiver) or as the database kind (Postgres)."""
    wanted = [
        k
        for k in ARCHIVER_KINDS
        if ref.kind is None or ref.kind.lower() in (k.lower(), f"{k}Archiver".lower())
    ]
    if not wanted:
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)}.kind {ref.kind!r} is not an archiver kind; use for example "
            "PostgresArchiver, or leave kind out.",
            field=(*field, "kind"),
        )
        return None
    kinds = [f"{k}Archiver" for k in wanted] + ([ref.kind] if ref.kind else [])
    if not check_ref(plan, ref, cluster=cluster, kinds=kinds, field=field):
        return None
    found = [
        (archiver(k), raw)
        for k in wanted
        if (raw := store.get(cluster, archiver(k), ref.namespace, ref.name)) is not None
    ]
    if len(found) > 1:
        plan.refuse(
            "INVALID_INPUT",
            f"Several archivers are called {ref.namespace}/{ref.name} "
            f"({', '.join(r.kind for r, _ in found)}); give kind.",
            field=(*field, "kind"),
        )
        return None
    if not found:
        plan.refuse(
            "NOT_FOUND",
            f"No ArchiverPolicy {ref.namespace}/{ref.name} in cluster {cluster}.",
            field=field,
        )
        return None
    return found[0]


def plan_update_archiver_policy(inp: UpdateArchiverPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.archiver_policy
    hit = find_archiver(plan, store, ref, cluster=cluster, field=("archiverPolicy",))
    if hit is None:
        return plan
    resource, current = hit
    now = objects.mapping_at(current, "spec")
    spec: JSONDict = {k: copy.deepcopy(now[k]) for k in _SPEC_KEYS if k in now}
    if inp.retention_policy is not None:
        retention = _retention(
            plan, store, inp.retention_policy, cluster=cluster, namespace=ref.namespace
        )
        if retention is not None:
            spec["retentionPolicy"] = retention
    if inp.full_backup_schedule is not None and check_schedule(
        plan, inp.full_backup_schedule, field=("fullBackupSchedule",)
    ):
        for part in ("fullBackup", "manifestBackup"):
            section = spec.setdefault(part, {})
            section.setdefault("scheduler", {})["schedule"] = inp.full_backup_schedule
    if inp.log_retention_period is not None and _check_log_period(plan, inp.log_retention_period):
        spec.setdefault("logBackup", {})["retentionPeriod"] = inp.log_retention_period
    databases = spec.setdefault("databases", {})
    if inp.usage is not None:
        allowed = allowed_namespaces(plan, inp.usage, field=("usage",))
        if allowed is not None:
            databases["namespaces"] = allowed
    if inp.database_selector is not None and check_label_selector(
        plan, inp.database_selector, field=("databaseSelector",)
    ):
        databases["selector"] = inp.database_selector
    if inp.paused is not None:
        spec["pause"] = inp.paused
    if plan.refused:
        return plan
    name = f"{resource.kind} {ref.namespace}/{ref.name}"
    if unchanged(current, spec, {"pause": False, "databases": {}}):
        plan.add(
            Change(
                action="NONE",
                cluster=cluster,
                resource=resource,
                namespace=ref.namespace,
                name=ref.name,
                summary=f"{name} is already as asked",
            )
        )
        return plan
    state = "paused for every database using it" if spec.get("pause") else "archiving"
    schedule = objects.str_at(spec, "fullBackup", "scheduler", "schedule")
    plan.add(
        Change(
            action="PATCH",
            cluster=cluster,
            resource=resource,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Update {name}: {state}, full backups on {schedule!r}"
            + (
                f", logs kept {period}"
                if (period := objects.str_at(spec, "logBackup", "retentionPeriod"))
                else ""
            ),
            body=update_body(resource, current, spec),
        )
    )
    return plan
