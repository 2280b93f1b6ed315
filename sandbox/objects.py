"""Builders for KubeDB and KubeStash objects as the real operators and users write them.

Pure functions returning dicts (spec and, where the operator writes one, status), with
the upstream field names. Tests, the demo seed and the operator simulator share them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apis.objects import condition_in
from apis.resources import ARCHIVER, CORE, KUBEDB, STORAGE, V1ALPHA1

Obj = dict[str, Any]

KUBEDB_V1 = f"{KUBEDB}/v1"
STORAGE_V1 = f"{STORAGE}/{V1ALPHA1}"
CORE_V1 = f"{CORE}/{V1ALPHA1}"
ARCHIVER_V1 = f"{ARCHIVER}/{V1ALPHA1}"

_SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ts(when: datetime) -> str:
    """RFC 3339 in UTC with seconds, as Kubernetes writes metav1.Time."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro(when: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as the archiver sidecars write ``logStats`` times."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_size(nbytes: float) -> str:
    """Sizes the way KubeStash prints them: ``0 B``, ``512 B``, ``4.117 MiB``."""
    if nbytes < 1024:
        return f"{max(0, int(nbytes))} B"
    value = float(nbytes) / 1024
    index = 0
    while value >= 1024 and index < len(_SIZE_UNITS) - 1:
        value /= 1024
        index += 1
    return f"{value:.3f} {_SIZE_UNITS[index]}"


def go_duration(seconds: float) -> str:
    """A duration as Go's ``time.Duration.String`` writes it: ``41.302817153s``, ``1m2.004s``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        millis = f"{seconds * 1000:.6f}".rstrip("0").rstrip(".")
        return f"{millis}ms"
    nanos = round(seconds * 1e9)
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    whole, frac = divmod(rest, 10**9)
    secs = f"{whole}.{frac:09d}".rstrip("0").rstrip(".")
    out = f"{secs}s"
    if hours or minutes:
        out = f"{minutes}m{out}"
    if hours:
        out = f"{hours}h{out}"
    return out


def ulid(when: datetime, rng: random.Random | None = None) -> str:
    """A ULID (Crockford base32: 48-bit millisecond time, 80 random bits), as snapshotID."""
    source = rng or random.Random()
    value = (int(when.timestamp() * 1000) & (2**48 - 1)) << 80 | source.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def condition_status(conditions: Iterable[Mapping[str, Any]], kind: str) -> str | None:
    """``"True"``/``"False"``/``"Unknown"`` for the condition of that type, None if absent."""
    found = condition_in(list(conditions), kind)
    return found.status if found is not None else None


def database_phase(conditions: Iterable[Mapping[str, Any]]) -> str:
    """A KubeDB database's phase from its conditions, in KubeDB's priority order
    (``pkg/phase/phase.go``: HealthCheckPaused, Halted, DataRestoreStarted, DataRestored,
    then the health conditions once Provisioned; Provisioning otherwise)."""
    conds = list(conditions)

    def status(kind: str) -> str | None:
        return condition_status(conds, kind)

    if status("HealthCheckPaused") == "True":
        return "Unknown"
    if status("Halted") == "True":
        return "Halted"
    if status("DataRestoreStarted") == "True" and status("DataRestored") is None:
        return "DataRestoring"
    if status("DataRestored") == "False":
        return "NotReady"
    if status("Provisioned") == "True":
        if status("AcceptingConnection") == "False":
            return "NotReady"
        if status("ReplicaReady") == "False" or status("Ready") == "False":
            return "Critical"
        if status("Ready") == "True":
            return "Ready"
    return "Provisioning"


def _database_ref(db: Obj, namespace: str) -> Obj:
    """A TypedObjectReference to a KubeDB database (BackupConfiguration and RestoreSession
    ``spec.target``, Repository ``spec.appRef``)."""
    return {
        "apiGroup": KUBEDB,
        "kind": db["kind"],
        "namespace": namespace,
        "name": db["metadata"]["name"],
    }


def _meta(name: str, namespace: str | None, **extra: Any) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update({k: v for k, v in extra.items() if v})
    return meta


def condition(
    kind: str,
    status: bool | str,
    *,
    reason: str = "",
    message: str = "",
    at: datetime | None = None,
) -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    out: Obj = {"type": kind, "status": value, "lastTransitionTime": ts(at or datetime.now(UTC))}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def database(
    kind: str,
    name: str,
    namespace: str,
    *,
    version: str = "16.4",
    phase: str | None = "Ready",
    storage: str = "1Gi",
    storage_class: str = "standard",
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    archiver: tuple[str, str] | None = None,
    halted: bool = False,
    replicas: int = 1,
) -> Obj:
    spec: Obj = {
        "version": version,
        "replicas": replicas,
        "storageType": "Durable",
        "storage": {
            "storageClassName": storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": storage}},
        },
        "deletionPolicy": "Delete",
    }
    if halted:
        spec["halted"] = True
    if archiver:
        spec["archiver"] = {"ref": {"namespace": archiver[0], "name": archiver[1]}}
    obj: Obj = {
        "apiVersion": KUBEDB_V1,
        "kind": kind,
        "metadata": _meta(name, namespace, annotations=annotations, labels=labels),
        "spec": spec,
    }
    if phase:
        obj["status"] = {
            "phase": phase,
            "observedGeneration": 1,
            "conditions": database_conditions(phase),
        }
    return obj


def database_conditions(phase: str, *, at: datetime | None = None) -> list[Obj]:
    """Conditions that KubeDB's phase derivation (:func:`database_phase`) maps to ``phase``."""
    provisioned = phase not in ("Provisioning", "DataRestoring")
    accepting = phase in ("Ready", "Critical", "Halted", "Unknown")
    conds = [
        condition(
            "ProvisioningStarted", True, reason="DatabaseProvisioningStartedSuccessfully", at=at
        ),
        condition("Provisioned", provisioned, reason="DatabaseSuccessfullyProvisioned", at=at),
        condition(
            "ReplicaReady",
            phase in ("Ready", "Halted", "Unknown"),
            reason="AllReplicasReady" if phase != "Critical" else "SomeReplicasAreNotReady",
            at=at,
        ),
        condition(
            "AcceptingConnection", accepting, reason="DatabaseAcceptingConnectionRequest", at=at
        ),
        condition("Ready", accepting, reason="AllReplicasReady", at=at),
    ]
    if phase == "DataRestoring":
        conds.append(
            condition(
                "DataRestoreStarted", True, reason="DataRestoreStartedByExternalInitializer", at=at
            )
        )
    if phase == "Halted":
        conds.append(condition("Halted", True, reason="DatabaseHalted", at=at))
    if phase == "Unknown":
        conds.append(condition("HealthCheckPaused", True, reason="HealthCheckPaused", at=at))
    return conds


def usage(scope: str = "Same", selector: Obj | None = None) -> Obj:
    allowed: Obj = {"from": scope}
    if selector is not None:
        allowed["selector"] = selector
    return {"allowedNamespaces": allowed}


def backup_storage(
    name: str,
    namespace: str,
    *,
    bucket: str = "stashql-backups",
    prefix: str = "prod",
    scope: str = "Same",
    selector: Obj | None = None,
    default: bool = False,
    phase: str = "Ready",
) -> Obj:
    return {
        "apiVersion": STORAGE_V1,
        "kind": "BackupStorage",
        "metadata": _meta(name, namespace),
        "spec": {
            "storage": {
                "provider": "s3",
                "s3": {
                    "endpoint": "https://s3.eu-west-1.amazonaws.com",
                    "region": "eu-west-1",
                    "bucket": bucket,
                    "prefix": prefix,
                    "secretName": f"{name}-credentials",
                },
            },
            "usagePolicy": usage(scope, selector),
            "default": default,
            "deletionPolicy": "Delete",
        },
        "status": {
            "phase": phase,
            "totalSize": "0 B",
            "conditions": [
                condition("BackendInitialized", phase == "Ready", reason="BackendInitialized"),
                condition("BackendSecretFound", True, reason="BackendSecretAvailable"),
            ],
        },
    }


def retention_policy(
    name: str,
    namespace: str,
    *,
    scope: str = "Same",
    selector: Obj | None = None,
    default: bool = False,
    max_period: str = "30d",
    last: int = 5,
) -> Obj:
    return {
        "apiVersion": STORAGE_V1,
        "kind": "RetentionPolicy",
        "metadata": _meta(name, namespace),
        "spec": {
            "maxRetentionPeriod": max_period,
            "successfulSnapshots": {"last": last, "daily": 7, "weekly": 4},
            "failedSnapshots": {"last": 2},
            "usagePolicy": usage(scope, selector),
            "default": default,
        },
    }


def session_spec(
    *,
    name: str = "full-backup",
    schedule: str = "*/5 * * * *",
    addon: str = "postgres-addon",
    tasks: tuple[str, ...] = ("logical-backup", "manifest-backup"),
    repository: str = "${repoName}",
    backend: str = "s3-backend",
) -> Obj:
    return {
        "name": name,
        "scheduler": {
            "schedule": schedule,
            "jobTemplate": {"backoffLimit": 1},
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
        },
        "sessionHistoryLimit": 3,
        "addon": {"name": addon, "tasks": [{"name": t} for t in tasks]},
        "repositories": [{"name": repository, "backend": backend, "directory": f"/{repository}"}],
    }


def blueprint(
    name: str,
    namespace: str,
    *,
    kinds: tuple[str, ...] = ("Postgres",),
    storage: tuple[str, str],
    retention: tuple[str, str],
    scope: str = "All",
    selector: Obj | None = None,
    sessions: list[Obj] | None = None,
) -> Obj:
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupBlueprint",
        "metadata": _meta(name, namespace),
        "spec": {
            "usagePolicy": usage(scope, selector),
            "subjects": [{"apiVersion": KUBEDB_V1, "kind": k} for k in kinds],
            "backupConfigurationTemplate": {
                "deletionPolicy": "OnDelete",
                "backends": [
                    {
                        "name": "s3-backend",
                        "storageRef": {"namespace": storage[0], "name": storage[1]},
                        "retentionPolicy": {"namespace": retention[0], "name": retention[1]},
                    }
                ],
                "sessions": sessions
                or [session_spec(schedule="${schedule}", repository="${repoName}")],
            },
        },
    }


def backup_configuration(
    name: str,
    db: Obj,
    *,
    storage: tuple[str, str],
    retention: tuple[str, str],
    schedule: str = "*/5 * * * *",
    repository: str | None = None,
    tasks: tuple[str, ...] = ("logical-backup", "manifest-backup"),
    addon: str = "postgres-addon",
    phase: str = "Ready",
    labels: dict[str, str] | None = None,
    next_schedule: datetime | None = None,
    paused: bool = False,
    annotations: dict[str, str] | None = None,
) -> Obj:
    ns = db["metadata"]["namespace"]
    repo = repository or f"{db['metadata']['name']}-repo"
    status: Obj = {
        "phase": phase,
        "targetFound": True,
        "conditions": [
            condition(
                "ValidationPassed",
                phase != "Invalid",
                reason="ResourceValidationPassed"
                if phase != "Invalid"
                else "ResourceValidationFailed",
                message="" if phase != "Invalid" else "backend storage not found",
            )
        ],
        "sessions": [
            {
                "name": "full-backup",
                "nextSchedule": ts(next_schedule or datetime.now(UTC) + timedelta(minutes=5)),
                "conditions": [condition("SchedulerEnsured", True, reason="SchedulerEnsured")],
            }
        ],
    }
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupConfiguration",
        "metadata": _meta(name, ns, labels=labels, annotations=annotations),
        "spec": {
            "target": _database_ref(db, ns),
            "backends": [
                {
                    "name": "s3-backend",
                    "storageRef": {"namespace": storage[0], "name": storage[1]},
                    "retentionPolicy": {"namespace": retention[0], "name": retention[1]},
                }
            ],
            "sessions": [
                session_spec(schedule=schedule, repository=repo, tasks=tasks, addon=addon)
            ],
            **({"paused": True} if paused else {}),
        },
        "status": status,
    }


def repository(
    db: Obj, name: str, *, storage: tuple[str, str], snapshots: int = 0, size: str = "0 B"
) -> Obj:
    ns = db["metadata"]["namespace"]
    return {
        "apiVersion": STORAGE_V1,
        "kind": "Repository",
        "metadata": _meta(name, ns),
        "spec": {
            "appRef": _database_ref(db, ns),
            "storageRef": {"namespace": storage[0], "name": storage[1]},
            "path": f"/{ns}/{name}",
            "deletionPolicy": "Delete",
        },
        "status": {
            "phase": "Ready",
            "integrity": True,
            "snapshotCount": snapshots,
            "size": size,
            "conditions": [
                condition("RepositoryInitialized", True, reason="RepositoryInitialized")
            ],
        },
    }


def backup_session(
    name: str,
    bc: Obj,
    *,
    phase: str = "Succeeded",
    snapshots: list[str] | None = None,
    repository: str = "",
    duration: str = "31s",
    error: str = "",
) -> Obj:
    ns = bc["metadata"]["namespace"]
    status: Obj = {"phase": phase, "duration": duration, "totalSnapshots": len(snapshots or [])}
    if snapshots:
        status["snapshots"] = [
            {
                "name": s,
                "phase": "Succeeded" if phase == "Succeeded" else phase,
                "repository": repository,
                "appRef": bc["spec"]["target"],
            }
            for s in snapshots
        ]
    if error:
        status["conditions"] = [
            condition(
                "BackupExecutorEnsured", False, reason="FailedToEnsureBackupExecutor", message=error
            )
        ]
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupSession",
        "metadata": _meta(name, ns),
        "spec": {
            "invoker": {
                "apiGroup": CORE,
                "kind": "BackupConfiguration",
                "name": bc["metadata"]["name"],
            },
            "session": "full-backup",
        },
        "status": status,
    }


def snapshot(
    name: str,
    repo: Obj,
    *,
    session: str,
    taken: datetime,
    phase: str = "Succeeded",
    size: str = "1.559 KiB",
    components: dict[str, Obj] | None = None,
    kind: str = "FullBackup",
) -> Obj:
    ns = repo["metadata"]["namespace"]
    app = repo["spec"]["appRef"]
    return {
        "apiVersion": STORAGE_V1,
        "kind": "Snapshot",
        "metadata": _meta(
            name,
            ns,
            labels={
                "kubestash.com/repo-name": repo["metadata"]["name"],
                "kubestash.com/app-ref-kind": app["kind"],
                "kubestash.com/app-ref-name": app["name"],
                "kubestash.com/app-ref-namespace": app["namespace"],
            },
        ),
        "spec": {
            "snapshotID": "01J" + name.upper().replace("-", "")[:23].ljust(23, "0"),
            "type": kind,
            "repository": repo["metadata"]["name"],
            "session": "full-backup",
            "backupSession": session,
            "version": "v1",
            "appRef": app,
            "deletionPolicy": "Delete",
        },
        "status": {
            "phase": phase,
            "snapshotTime": ts(taken),
            "lastUpdateTime": ts(taken),
            "size": size,
            "integrity": phase == "Succeeded",
            "totalComponents": len(components or {}),
            "components": components
            if components is not None
            else {
                "dump": {
                    "driver": "Restic",
                    "phase": phase,
                    "size": size,
                    "duration": "12s",
                    "path": "repository/v1/full-backup/dump",
                },
                "manifest": {
                    "driver": "Restic",
                    "phase": phase,
                    "size": "1.2 KiB",
                    "duration": "2s",
                    "path": "repository/v1/full-backup/manifest",
                },
            },
        },
    }


def log_snapshot(
    name: str,
    repo: Obj,
    *,
    start: datetime,
    end: datetime,
    component: str = "wal",
    lsn: str | None = "0/5000060",
    failure: str | None = None,
) -> Obj:
    stats: Obj = {
        "start": ts(start),
        "end": ts(end),
        "totalSucceededCount": 42,
        "lastSucceededStats": [{"start": ts(end - timedelta(minutes=1)), "end": ts(end)}],
        "totalFailedCount": 1 if failure else 0,
    }
    if lsn and component == "wal":
        stats["lsn"] = lsn
    if failure:
        stats["lastFailedStats"] = [
            {"start": ts(end), "end": ts(end + timedelta(seconds=30)), "error": failure}
        ]
    return snapshot(
        name,
        repo,
        session="",
        taken=start,
        size="48 MiB",
        kind="IncrementalBackup",
        components={component: {"driver": "WalG", "phase": "Running", "logStats": stats}},
    )


def restore_session(
    name: str,
    db: Obj,
    *,
    repository: str,
    snapshot_name: str = "latest",
    phase: str = "Running",
    percent: str = "40%",
    addon: str = "postgres-addon",
    tasks: tuple[str, ...] = ("logical-backup-restore",),
    annotations: dict[str, str] | None = None,
    post_restore: list[Obj] | None = None,
) -> Obj:
    """A RestoreSession of ``db``; ``post_restore`` are its ``spec.hooks.postRestore``."""
    ns = db["metadata"]["namespace"]
    spec: Obj = {
        "target": _database_ref(db, ns),
        "dataSource": {"namespace": ns, "repository": repository, "snapshot": snapshot_name},
        "addon": {"name": addon, "tasks": [{"name": t} for t in tasks]},
    }
    if post_restore:
        spec["hooks"] = {"postRestore": post_restore}
    return {
        "apiVersion": CORE_V1,
        "kind": "RestoreSession",
        "metadata": _meta(name, ns, annotations=annotations),
        "spec": spec,
        "status": {
            "phase": phase,
            "totalComponents": 1,
            "components": {"dump": {"phase": phase, "progress": {"percentDone": percent}}},
        },
    }


def addon(name: str, backup_tasks: tuple[str, ...], restore_tasks: tuple[str, ...]) -> Obj:
    return {
        "apiVersion": "addons.kubestash.com/v1alpha1",
        "kind": "Addon",
        "metadata": {"name": name},
        "spec": {
            "backupTasks": [
                {
                    "name": t,
                    "function": f"{name}-{t}",
                    "driver": "Restic",
                    "executor": "Job",
                    "singleton": True,
                }
                for t in backup_tasks
            ],
            "restoreTasks": [
                {
                    "name": t,
                    "function": f"{name}-{t}",
                    "driver": "Restic",
                    "executor": "Job",
                    "singleton": True,
                }
                for t in restore_tasks
            ],
        },
    }


def archiver(
    db_kind: str,
    name: str,
    namespace: str,
    *,
    storage: tuple[str, str],
    retention: tuple[str, str],
    driver: str = "VolumeSnapshotter",
    schedule: str = "0 0 * * *",
    manifest_schedule: str | None = None,
    scope: str = "Same",
    selector: Obj | None = None,
    db_selector: Obj | None = None,
    encryption_secret: tuple[str, str] | None = None,
    sub_dir: str = "",
    deletion_policy: str = "WipeOut",
    paused: bool = False,
) -> Obj:
    """A KubeDB archiver (``<db_kind>Archiver``): full backups, log shipping, manifests."""
    databases: Obj = {"namespaces": usage(scope, selector)["allowedNamespaces"]}
    if db_selector is not None:
        databases["selector"] = db_selector
    spec: Obj = {
        "pause": paused,
        "databases": databases,
        "retentionPolicy": {"namespace": retention[0], "name": retention[1]},
        "backupStorage": {"ref": {"namespace": storage[0], "name": storage[1]}},
        "deletionPolicy": deletion_policy,
        "fullBackup": {
            "driver": driver,
            "scheduler": {
                "schedule": schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 1,
            },
            "sessionHistoryLimit": 2,
        },
        "logBackup": {"successfulLogHistoryLimit": 5, "failedLogHistoryLimit": 5},
        "manifestBackup": {
            "scheduler": {
                "schedule": manifest_schedule or schedule,
                "concurrencyPolicy": "Forbid",
            },
            "sessionHistoryLimit": 2,
        },
    }
    if driver == "VolumeSnapshotter":
        spec["fullBackup"]["task"] = {"params": {"volumeSnapshotClassName": "csi-snapclass"}}
    if sub_dir:
        spec["backupStorage"]["subDir"] = sub_dir
    if encryption_secret:
        spec["encryptionSecret"] = {"namespace": encryption_secret[0], "name": encryption_secret[1]}
    return {
        "apiVersion": ARCHIVER_V1,
        "kind": f"{db_kind}Archiver",
        "metadata": _meta(name, namespace),
        "spec": spec,
    }


# --------------------------------------------------------------------------- StashQL writes
# What the gateway's backup mutations write (shared/policy-encoding.md), so the simulator's
# tests and the demo seed hold exactly the objects a user of the gateway ends up with.

MANAGED_BY_STASHQL = {"app.kubernetes.io/managed-by": "stashql"}


def encryption_secret(name: str, namespace: str, *, password: str) -> Obj:
    """A restic encryption Secret: repositories read its ``RESTIC_PASSWORD``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, namespace),
        "type": "Opaque",
        "stringData": {"RESTIC_PASSWORD": password},
    }


def hook_template(
    name: str, namespace: str, *, command: tuple[str, ...], scope: str = "All"
) -> Obj:
    """A HookTemplate that runs ``command`` in one pod of the target (executor Pod)."""
    return {
        "apiVersion": CORE_V1,
        "kind": "HookTemplate",
        "metadata": _meta(name, namespace),
        "spec": {
            "usagePolicy": usage(scope),
            "params": [
                {
                    "name": "TABLE",
                    "usage": "the table to count",
                    "required": False,
                    "default": "orders",
                }
            ],
            "action": {"exec": {"command": list(command)}},
            "executor": {
                "type": "Pod",
                "pod": {
                    "selector": "app.kubernetes.io/instance=${TARGET_NAME}",
                    "strategy": "ExecuteOnOne",
                },
            },
        },
    }


def policy_blueprint(
    name: str,
    namespace: str,
    *,
    storage: tuple[str, str],
    retention: tuple[str, str],
    encryption: tuple[str, str],
    kinds: tuple[str, ...] = ("Postgres",),
    session: str = "daily",
    schedule: str = "0 2 * * *",
    tasks: tuple[str, ...] = ("logical-backup",),
    scope: str = "All",
) -> Obj:
    """A BackupPolicy as createBackupPolicy writes it: a BackupBlueprint that the gateway
    expands itself (schedule and retention left to the user), never via annotations."""
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupBlueprint",
        "metadata": _meta(name, namespace, labels=dict(MANAGED_BY_STASHQL)),
        "spec": {
            "subjects": [{"apiVersion": KUBEDB_V1, "kind": k} for k in kinds],
            "usagePolicy": usage(scope),
            "backupConfigurationTemplate": {
                "backends": [
                    {
                        "name": "default",
                        "storageRef": {"namespace": storage[0], "name": storage[1]},
                        "retentionPolicy": {
                            "name": f"${{retentionPolicy:={retention[1]}}}",
                            "namespace": f"${{retentionPolicyNamespace:={retention[0]}}}",
                        },
                    }
                ],
                "sessions": [
                    _stashql_session(
                        session,
                        schedule=f"${{schedule:={schedule}}}",
                        repository="${targetName}-" + session,
                        directory=f"/${{targetNamespace}}/${{targetName}}/{session}",
                        encryption=encryption,
                        addon="${addon}",
                        tasks=tasks,
                    )
                ],
            },
        },
    }


def enabled_backup(
    db: Obj,
    *,
    storage: tuple[str, str],
    encryption: tuple[str, str],
    schedule: str,
    retention: tuple[str, str] | None = None,
    policy: tuple[str, str] | None = None,
    session: str = "full-backup",
    tasks: tuple[str, ...] = ("logical-backup",),
    addon: str = "postgres-addon",
    paused: bool = False,
) -> Obj:
    """The BackupConfiguration ``<db>-backup`` that enableBackup writes as the caller:
    from a policy (``policy`` = the blueprint's namespace and name: invoker labels,
    repository ``<db>-<session>``) or from the caller's own storage (``<db>-backup``)."""
    ns, name = db["metadata"]["namespace"], db["metadata"]["name"]
    labels = dict(MANAGED_BY_STASHQL)
    if policy:
        labels.update(
            {
                "kubestash.com/invoker-name": policy[1],
                "kubestash.com/invoker-namespace": policy[0],
                "kubestash.com/invoker-kind": "BackupBlueprint",
            }
        )
    backend: Obj = {"name": "default", "storageRef": {"namespace": storage[0], "name": storage[1]}}
    if retention:
        backend["retentionPolicy"] = {"namespace": retention[0], "name": retention[1]}
    spec: Obj = {
        "target": _database_ref(db, ns),
        "backends": [backend],
        "sessions": [
            _stashql_session(
                session,
                schedule=schedule,
                repository=f"{name}-{session}" if policy else f"{name}-backup",
                directory=f"/{ns}/{name}/{session}" if policy else f"/{ns}/{name}",
                encryption=encryption,
                addon=addon,
                tasks=tasks,
            )
        ],
    }
    if paused:
        spec["paused"] = True
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupConfiguration",
        "metadata": _meta(f"{name}-backup", ns, labels=labels),
        "spec": spec,
    }


def triggered_session(bc: Obj, *, session: str, at: datetime) -> Obj:
    """The BackupSession triggerBackup creates: ``<bc>-<session>-<unix seconds>``, owned
    by the configuration (``bc`` as stored: its uid)."""
    name = bc["metadata"]["name"]
    return {
        "apiVersion": CORE_V1,
        "kind": "BackupSession",
        "metadata": {
            "name": f"{name}-{session}-{int(at.timestamp())}",
            "namespace": bc["metadata"]["namespace"],
            "ownerReferences": [
                {
                    "apiVersion": CORE_V1,
                    "kind": "BackupConfiguration",
                    "name": name,
                    "uid": bc["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "invoker": {"apiGroup": CORE, "kind": "BackupConfiguration", "name": name},
            "session": session,
        },
    }


def _stashql_session(
    name: str,
    *,
    schedule: str,
    repository: str,
    directory: str,
    encryption: tuple[str, str],
    addon: str,
    tasks: tuple[str, ...],
) -> Obj:
    return {
        "name": name,
        "scheduler": {"schedule": schedule, "jobTemplate": {}},
        "sessionHistoryLimit": 3,
        "repositories": [
            {
                "name": repository,
                "backend": "default",
                "directory": directory,
                "encryptionSecret": {"namespace": encryption[0], "name": encryption[1]},
            }
        ],
        "addon": {
            "name": addon,
            "tasks": [{"name": t} for t in (*tasks, "manifest-backup")],
        },
    }
