"""KubeDB's archiver controller: continuous backup of a database with ``spec.archiver.ref``.

The double opt-in first: a database without ``spec.archiver`` gets ``spec.archiver.ref``
written (a merge patch, as KubeDB's defaulting does) naming an archiver of its kind that
admits it: the archiver's ``spec.databases.namespaces`` rule allows the database's
namespace *and* its ``spec.databases.selector`` matches the database's labels (no
selector admits nothing, as ``LabelSelectorAsSelector(nil)``); one in the database's own
namespace is preferred, then the others by namespace and name (Rancher projects are not
simulated). A database with ``spec.archiver`` set (even only ``pause``) is left to its
own choice.

What it plays: once the database is Provisioned, the archiver (``<Kind>Archiver`` in
``archiver.kubedb.com``) lists it in ``status.databaseRefs``; the database gets the
BackupConfiguration ``<db>-archiver`` (owned by the database) with the sessions
``full-backup`` and ``manifest-backup``, repositories ``<db>-full`` and
``<db>-manifest`` in the archiver's BackupStorage, backend and retention policy from the
archiver. After its first Succeeded full backup, the long-lived Snapshot
``<db>-incremental-snapshot`` (type IncrementalBackup) appears in ``<db>-full``, and every
step its components' ``logStats`` advance: a log push succeeds (``end`` moves to now,
``lastSucceededStats``, the WAL ``lsn`` grows) or, when failures are injected, fails
(``lastFailedStats`` with the sidecar's error), each history capped by the archiver's
``successfulLogHistoryLimit``/``failedLogHistoryLimit``. Nothing moves while the database
or the archiver is paused.

Guesses where the reference is silent: the full-backup task is ``volume-snapshot`` for the
VolumeSnapshotter driver, ``logical-backup`` for MongoDB and MSSQLServer and
``physical-backup`` otherwise; the schedule defaults to daily at midnight; log components
are ``wal`` (Postgres, WAL-G), ``log`` (MySQL/MariaDB binlogs) and ``rs0`` or one
``shard<i>`` per shard (MongoDB oplog); each push adds between 64 KiB and 16 MiB.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apis.objects import (
    condition_true,
    dig,
    int_or,
    mapping_at,
    mappings_at,
    name_of,
    str_at,
    text_at,
)
from apis.resources import BACKUP_CONFIGURATIONS, KUBEDB, REPOSITORIES, SNAPSHOTS
from core.selectors import selector_from_label_selector
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator import catalog
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import DB_VERSION, deletion_policy, ns_of, owner, snapshot_labels
from sandbox.simulator.snapshots import INCREMENTAL, full_backup_times, size_bytes


class Archivers:
    """Follows databases with an archiver reference (a :class:`DatabaseFollower`)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.sim = cluster.sim

    async def on_database(self, db: JSONDict) -> None:
        if "archiver" not in mapping_at(db, "spec"):
            await self._opt_in(db)
            return
        if not str_at(db, "spec", "archiver", "ref", "name"):
            return
        kind, ns, name = str(db.get("kind")), ns_of(db), name_of(db)
        ref = mapping_at(db, "spec", "archiver", "ref")
        res = self.cluster.archiver_kinds.get(f"{kind}Archiver")
        if res is None:
            return
        arch_key = (str_at(ref, "namespace") or ns, text_at(ref, "name"))
        archiver = self.cluster.view(res, arch_key)
        provisioned = condition_true(dig(db, "status", "conditions"), "Provisioned")
        if archiver is None or not provisioned:
            return

        def add_ref(_: JSONDict, status: JSONDict) -> None:
            refs = [dict(r) for r in mappings_at(status, "databaseRefs")]
            if not any(str_at(r, "name") == name and str_at(r, "namespace") == ns for r in refs):
                refs.append({"name": name, "namespace": ns})
                status["databaseRefs"] = refs

        await self.cluster.update_status(res, (arch_key[0], name_of(archiver)), mutate=add_ref)
        if self.cluster.view(BACKUP_CONFIGURATIONS, (ns, f"{name}-archiver")) is None:
            await self.cluster.create(BACKUP_CONFIGURATIONS, _configuration(db, archiver))
        await self._ship_logs(db, archiver)

    async def _opt_in(self, db: JSONDict) -> None:
        """KubeDB's implicit choice: write ``spec.archiver.ref`` of an admitting archiver."""
        kind = str(db.get("kind"))
        res = self.cluster.archiver_kinds.get(f"{kind}Archiver")
        db_res = self.cluster.db_kinds.get(kind)
        if res is None or db_res is None or dig(db, "metadata", "deletionTimestamp"):
            return
        ns = ns_of(db)
        labels = {str(k): str(v) for k, v in mapping_at(db, "metadata", "labels").items()}
        admitting = [a for a in self.cluster.items(res) if self._admits(a, ns, labels)]
        if not admitting:
            return
        # The database's own namespace first, then the others in a stable order.
        admitting.sort(key=lambda a: (ns_of(a) != ns, ns_of(a), name_of(a)))
        chosen = admitting[0]
        ref = {"name": name_of(chosen), "namespace": ns_of(chosen)}
        await self.cluster.patch(
            db_res,
            (ns, name_of(db)),
            body={"spec": {"archiver": {"ref": ref}}},
        )

    def _admits(self, archiver: JSONDict, namespace: str, labels: dict[str, str]) -> bool:
        """Double opt-in: the archiver's namespace rule and its selector on the labels."""
        consumers = mapping_at(archiver, "spec", "databases")
        if not self.cluster.namespace_allowed(
            mapping_at(consumers, "namespaces"),
            owner_namespace=ns_of(archiver),
            namespace=namespace,
        ):
            return False
        selector = consumers.get("selector")
        if selector is None:
            return False  # LabelSelectorAsSelector(nil) matches nothing
        return selector_from_label_selector(selector).matches(labels)

    async def _ship_logs(self, db: JSONDict, archiver: JSONDict) -> None:
        ns, name = ns_of(db), name_of(db)
        snap_name = f"{name}-incremental-snapshot"
        repo_name = f"{name}-full"
        snapshot = self.cluster.view(SNAPSHOTS, (ns, snap_name))
        if snapshot is None:
            repo = self.cluster.view(REPOSITORIES, (ns, repo_name))
            fulls = full_backup_times(self.cluster, (ns, repo_name))
            if repo is None or not fulls:
                return  # log shipping starts after the first full backup
            await self._create_log_snapshot(db, archiver, repo=repo, first_full=min(fulls))
            return
        if dig(db, "spec", "archiver", "pause") is True or dig(archiver, "spec", "pause") is True:
            return
        fail = self.sim.should_fail("log", db, archiver)
        kind = str(db.get("kind"))
        limits = mapping_at(archiver, "spec", "logBackup")
        keep_ok = max(1, int_or(limits, "successfulLogHistoryLimit", default=5))
        keep_failed = max(1, int_or(limits, "failedLogHistoryLimit", default=5))
        now = self.sim.clock.now()
        rng = self.sim.rng

        def push(_: JSONDict, status: JSONDict) -> None:
            total = 0.0
            components = status.get("components")
            for component in components.values() if isinstance(components, dict) else ():
                if not isinstance(component, dict):
                    continue
                stats = dict(mapping_at(component, "logStats"))
                if not stats:
                    continue
                end = str_at(stats, "end") or text_at(stats, "start")
                succeeded = int_or(stats, "totalSucceededCount", default=0)
                failures = int_or(stats, "totalFailedCount", default=0)
                if fail:
                    error = catalog.log_error(kind, succeeded + failures + 1)
                    failed = [*mappings_at(stats, "lastFailedStats")]
                    failed.append({"start": end, "end": o.ts_micro(now), "error": error})
                    stats["lastFailedStats"] = failed[-keep_failed:]
                    stats["totalFailedCount"] = failures + 1
                else:
                    done = [*mappings_at(stats, "lastSucceededStats")]
                    done.append({"start": end, "end": o.ts_micro(now)})
                    stats["lastSucceededStats"] = done[-keep_ok:]
                    stats["totalSucceededCount"] = succeeded + 1
                    stats["end"] = o.ts_micro(now)
                    if "lsn" in stats:
                        lsn = _lsn_value(text_at(stats, "lsn")) + rng.randint(0x2000, 0x200000)
                        stats["lsn"] = _lsn_text(lsn)
                    component["size"] = o.format_size(
                        size_bytes(component.get("size")) + rng.randint(64 * 1024, 16 * 1024**2)
                    )
                component["logStats"] = stats
                total += size_bytes(component.get("size"))
            status["lastUpdateTime"] = o.ts(now)
            if total:
                status["size"] = o.format_size(total)

        await self.cluster.update_status(SNAPSHOTS, (ns, snap_name), mutate=push)

    async def _create_log_snapshot(
        self, db: JSONDict, archiver: JSONDict, *, repo: JSONDict, first_full: datetime
    ) -> None:
        kind, ns, name = str(db.get("kind")), ns_of(db), name_of(db)
        session, components, driver = _log_components(db)
        now = self.sim.clock.now()
        body: JSONDict = {
            "metadata": {
                "name": f"{name}-incremental-snapshot",
                "namespace": ns,
                "labels": snapshot_labels(repo=name_of(repo), kind=kind, namespace=ns, name=name),
                "annotations": {DB_VERSION: text_at(db, "spec", "version")},
                "ownerReferences": [owner(repo)],
            },
            "spec": {
                "snapshotID": o.ulid(now, self.sim.rng),
                "type": INCREMENTAL,
                "repository": name_of(repo),
                "session": session,
                "version": "v1",
                "appRef": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
                "deletionPolicy": deletion_policy(archiver),
            },
        }
        if await self.cluster.create(SNAPSHOTS, body) is None:
            return
        start = o.ts_micro(first_full)
        retention_period = str_at(archiver, "spec", "logBackup", "retentionPeriod") or "1y"
        comps: JSONDict = {}
        for component in components:
            stats: JSONDict = {
                "start": start,
                "end": start,
                "totalSucceededCount": 0,
                "totalFailedCount": 0,
                "lastLogRetentionStats": [
                    {
                        "lastExecutionTime": o.ts(now),
                        "retentionPeriodApplied": retention_period,
                        "deletedLogCount": 0,
                    }
                ],
            }
            if component == "wal":
                stats["lsn"] = _lsn_text(0x3000000 + self.sim.rng.randint(0, 0xFFFFF))
            comps[component] = {
                "path": f"repository/v1/full-backup/{component}",
                "phase": "Running",
                "driver": driver,
                "size": "0 B",
                "logStats": stats,
            }

        def initial(_: JSONDict, status: JSONDict) -> None:
            status.update(
                {
                    "phase": "Running",
                    "snapshotTime": o.ts(first_full),
                    "lastUpdateTime": o.ts(now),
                    "totalComponents": len(comps),
                    "components": comps,
                }
            )

        await self.cluster.update_status(SNAPSHOTS, (ns, name_of(body)), mutate=initial)


def _configuration(db: JSONDict, archiver: JSONDict) -> JSONDict:
    """The BackupConfiguration ``<db>-archiver`` that KubeDB makes from an archiver."""
    kind, ns, name = str(db.get("kind")), ns_of(db), name_of(db)
    spec = mapping_at(archiver, "spec")
    arch_ns = ns_of(archiver)
    storage = mapping_at(spec, "backupStorage", "ref")
    storage_ref = {
        "namespace": str_at(storage, "namespace") or arch_ns,
        "name": text_at(storage, "name"),
    }
    retention = mapping_at(spec, "retentionPolicy")
    backend: JSONDict = {
        "name": storage_ref["name"] or "archiver-storage",
        "storageRef": storage_ref,
    }
    if retention.get("name"):
        backend["retentionPolicy"] = {
            "namespace": str_at(retention, "namespace") or arch_ns,
            "name": text_at(retention, "name"),
        }
    full = mapping_at(spec, "fullBackup")
    driver = str_at(full, "driver") or "VolumeSnapshotter"
    if driver == "VolumeSnapshotter":
        full_task = "volume-snapshot"
    elif kind in ("MongoDB", "MSSQLServer"):
        full_task = "logical-backup"
    else:
        full_task = "physical-backup"
    task: JSONDict = {"name": full_task}
    if mapping_at(full, "task", "params"):
        task["params"] = mapping_at(full, "task", "params")
    sub = text_at(spec, "backupStorage", "subDir").strip("/")
    base = f"{sub}/{name}-archiver" if sub else f"{name}-archiver"
    repository: JSONDict = {"backend": backend["name"]}
    if spec.get("encryptionSecret"):
        repository["encryptionSecret"] = spec["encryptionSecret"]
    if str_at(spec, "deletionPolicy"):
        repository["deletionPolicy"] = spec["deletionPolicy"]
    template = _SessionTemplate(
        addon=f"{kind.lower()}-addon",
        repository=repository,
        base=base,
        default_scheduler=mapping_at(full, "scheduler"),
    )
    return {
        "metadata": {
            "name": f"{name}-archiver",
            "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": KUBEDB},
            "ownerReferences": [owner(db)],
        },
        "spec": {
            "target": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
            "backends": [backend],
            "sessions": [
                template.session("full-backup", full, tasks=[task], repo=f"{name}-full"),
                template.session(
                    "manifest-backup",
                    mapping_at(spec, "manifestBackup"),
                    tasks=[{"name": "manifest-backup"}],
                    repo=f"{name}-manifest",
                ),
            ],
        },
    }


class _SessionTemplate:
    """What the archiver's two sessions share: addon, repository settings, directory."""

    def __init__(
        self,
        *,
        addon: str,
        repository: JSONDict,
        base: str,
        default_scheduler: Mapping[str, Any],
    ) -> None:
        self.addon = addon
        self.repository = repository
        self.base = base
        self.default_scheduler = default_scheduler

    def session(
        self, name: str, options: Mapping[str, Any], *, tasks: list[JSONDict], repo: str
    ) -> JSONDict:
        scheduler = copy.deepcopy(dict(mapping_at(options, "scheduler"))) or copy.deepcopy(
            dict(self.default_scheduler)
        )
        scheduler.setdefault("schedule", "0 0 * * *")
        directory = f"{self.base}/{name.removesuffix('-backup')}"
        out: JSONDict = {
            "name": name,
            "scheduler": scheduler,
            "addon": {"name": self.addon, "tasks": tasks},
            "repositories": [{**self.repository, "name": repo, "directory": directory}],
        }
        for source, target in (
            ("sessionHistoryLimit", "sessionHistoryLimit"),
            ("retryConfig", "retryConfig"),
            ("timeout", "backupTimeout"),
        ):
            if options.get(source) is not None:
                out[target] = options[source]
        for extra in ("containerRuntimeSettings", "jobTemplate"):
            if options.get(extra):
                out["addon"][extra] = options[extra]
        return out


def _log_components(db: JSONDict) -> tuple[str, list[str], str]:
    """(session name, component names, driver) of a database's log shipping."""
    kind = str(db.get("kind"))
    if kind == "Postgres":
        return "wal", ["wal"], "WalG"
    if kind in ("MySQL", "MariaDB"):
        return "binlog", ["log"], "Restic"
    if kind == "MongoDB":
        topology = mapping_at(db, "spec", "shardTopology")
        if topology:
            shards = max(1, int_or(topology, "shard", "shards", default=2))
            return "oplog", [f"shard{i}" for i in range(shards)], "Restic"
        return "oplog", ["rs0"], "Restic"
    return "log", ["log"], "Restic"


def _lsn_value(text: str) -> int:
    """A Postgres LSN (``16/B374D848``) as a number."""
    high, _, low = text.partition("/")
    try:
        return int(high or "0", 16) << 32 | int(low or "0", 16)
    except ValueError:
        return 0


def _lsn_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"
