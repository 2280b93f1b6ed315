"""The Snapshots a backup run writes, and the retention that removes old ones.

What it plays: a run's Snapshot (``<repository>-<configuration>-<session>-<stamp>``, with
the ``kubestash.com/app-ref-*`` and ``repo-name`` labels) starts Running with one
component per addon task, then ends Succeeded (SnapshotMetadataUploaded,
RecentSnapshotListUpdated) or Failed (BackupIncomplete), also when its run stops before
the end (its configuration deleted). Retention keeps the newest
``successfulSnapshots.last`` and ``failedSnapshots.last`` full Snapshots per Repository.

Guesses where the reference is silent: a database's data size is stable per database
(from a hash of its name) and grows a little with every backup; a dump is a quarter of
it, a physical backup slightly more, a volume snapshot its PVC request; the driver
statistics (restic, WAL-G, volume snapshotter) have plausible shapes and random IDs; a
retention policy with only hourly/daily/... counts keeps their sum; every count is
capped by ``max_snapshots_per_repository`` so a long demo stays small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from apis.objects import dig, int_at, int_or, mapping_at, name_of, str_at, text_at
from apis.resources import SNAPSHOTS
from core.quantities import parse_size
from core.times import parse_time
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator import catalog
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import (
    DB_VERSION,
    AppKey,
    Conditions,
    deletion_policy,
    ns_of,
    owner,
    snapshot_labels,
    valid_name,
)

INCREMENTAL = "IncrementalBackup"


def size_bytes(value: object) -> float:
    """Bytes in a KubeStash size or a Kubernetes quantity; 0 for anything else."""
    return (parse_size(value) if isinstance(value, str) else None) or 0.0


def full_snapshots(cluster: Cluster, repo: tuple[str, str]) -> list[JSONDict]:
    """The full (not incremental) Snapshots of the Repository ``repo`` (namespace, name)."""
    return [s for s in cluster.indexed(SNAPSHOTS, repo) if str_at(s, "spec", "type") != INCREMENTAL]


def full_backup_times(cluster: Cluster, repo: tuple[str, str]) -> list[datetime]:
    """When each Succeeded full backup in ``repo`` was taken."""
    return [
        t
        for s in full_snapshots(cluster, repo)
        if str_at(s, "status", "phase") == "Succeeded"
        and (t := parse_time(dig(s, "status", "snapshotTime"))) is not None
    ]


def log_ends(cluster: Cluster, repo: tuple[str, str]) -> list[list[datetime]]:
    """Per incremental Snapshot in ``repo``, the end of each component's archived logs."""
    out = []
    for snap in cluster.indexed(SNAPSHOTS, repo):
        if str_at(snap, "spec", "type") != INCREMENTAL:
            continue
        ends = [
            t
            for c in mapping_at(snap, "status", "components").values()
            if (t := parse_time(dig(c, "logStats", "end"))) is not None
        ]
        if ends:
            out.append(ends)
    return out


class SnapshotWriter:
    """Writes the Snapshots of backup runs on one cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.sim = cluster.sim
        self._sizes: dict[AppKey, float] = {}

    def data_size(self, key: AppKey) -> float:
        """A database's data size in bytes: stable per database, growing a little per backup."""
        if key not in self._sizes:
            digest = int(hashlib.sha256("/".join(key).encode()).hexdigest()[:8], 16)
            self._sizes[key] = 8 * 1024**2 * (1 + digest % 160)
        self._sizes[key] *= 1 + self.sim.rng.uniform(0.0005, 0.005)
        return self._sizes[key]

    async def create(
        self,
        bs: JSONDict,
        *,
        session: Mapping[str, Any],
        repo: JSONDict,
        db: JSONDict | None,
        app_ref: JSONDict,
        components: list[str],
        now: datetime,
    ) -> JSONDict | None:
        """Create a run's Snapshot in ``repo`` and mark it Running."""
        ns, bs_name, rname = ns_of(bs), name_of(bs), name_of(repo)
        base, _, tail = bs_name.rpartition("-")
        snap_name = (
            valid_name(f"{rname}-{base}", tail)
            if tail.isdigit()
            else valid_name(f"{rname}-{bs_name}")
        )
        kind = text_at(app_ref, "kind")
        metadata: JSONDict = {
            "name": snap_name,
            "namespace": ns,
            "labels": snapshot_labels(
                repo=rname,
                kind=kind,
                namespace=text_at(app_ref, "namespace"),
                name=text_at(app_ref, "name"),
            ),
            "ownerReferences": [owner(repo)],
        }
        version = str_at(db, "spec", "version")
        if db is not None and version:
            metadata["annotations"] = {DB_VERSION: version}
        sname = text_at(session, "name")
        body: JSONDict = {
            "metadata": metadata,
            "spec": {
                "snapshotID": o.ulid(now, self.sim.rng),
                "type": "FullBackup",
                "repository": rname,
                "session": sname,
                "backupSession": bs_name,
                "version": "v1",
                "appRef": app_ref,
                "deletionPolicy": deletion_policy(repo),
            },
        }
        created = await self.cluster.create(SNAPSHOTS, body)
        if created is None:
            return None
        comps = {
            c: {
                "path": f"repository/v1/{sname}/{c}",
                "phase": "Running",
                "driver": catalog.driver_of(kind, c),
            }
            for c in components
        }

        def mutate(_: JSONDict, status: JSONDict) -> None:
            if status.get("phase"):
                return
            status.update(
                {
                    "phase": "Running",
                    "snapshotTime": o.ts(now),
                    "lastUpdateTime": o.ts(now),
                    "totalComponents": len(comps),
                    "components": comps,
                }
            )

        await self.cluster.update_status(SNAPSHOTS, (ns, snap_name), mutate=mutate)
        return created

    async def finish(
        self,
        snap: JSONDict,
        *,
        db: JSONDict | None,
        data_bytes: float,
        fail: bool,
        now: datetime,
    ) -> tuple[str, str]:
        """Write a snapshot's final status; return (phase, error message)."""
        rng = self.sim.rng
        ns, name = ns_of(snap), name_of(snap)
        kind = text_at(snap, "spec", "appRef", "kind")
        app = text_at(snap, "spec", "appRef", "name")
        started = parse_time(dig(snap, "status", "snapshotTime")) or now
        total_seconds = max(0.2, (now - started).total_seconds())
        components = mapping_at(snap, "status", "components")
        names = list(components) or ["dump"]
        failing = ""
        if fail:
            failing = next((c for c in names if c != "manifest"), names[0])
        error = ""
        out: JSONDict = {}
        cursor = started
        for component in names:
            current = dict(mapping_at(components, component))
            driver = str_at(current, "driver") or catalog.driver_of(kind, component)
            share = 0.15 if component == "manifest" else 0.8
            seconds = total_seconds * share * rng.uniform(0.8, 1.0)
            end = cursor + timedelta(seconds=seconds)
            size = self._component_size(component, db, data_bytes)
            current.update(
                {"driver": driver, "path": str_at(current, "path") or f"repository/v1/{component}"}
            )
            if component == failing:
                error = catalog.backup_error(
                    rng, kind=kind, app=(ns, app), component=component, now=now
                )
                current.update(
                    {"phase": "Failed", "error": error, "duration": o.go_duration(seconds)}
                )
                current.pop("size", None)
            else:
                current.update(
                    {
                        "phase": "Succeeded",
                        "size": o.format_size(size),
                        "duration": o.go_duration(seconds),
                        "integrity": True,
                    }
                )
                current.update(
                    self._driver_stats(
                        driver, component, db, app=app, size=size, span=(cursor, end)
                    )
                )
            out[component] = current
            cursor = end
        failed = bool(error)
        total = sum(
            size_bytes(c.get("size")) for c in out.values() if c.get("phase") == "Succeeded"
        )

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            if failed:
                conds.true(
                    "BackupIncomplete",
                    reason="BackupFailed",
                    message=f"Backup of component {failing} failed: {error}",
                    severity="Error",
                )
            else:
                conds.true_all(
                    (
                        "SnapshotMetadataUploaded",
                        "SuccessfullyUploadedSnapshotMetadata",
                        "Snapshot metadata uploaded to backend successfully",
                    ),
                    (
                        "RecentSnapshotListUpdated",
                        "SuccessfullyUpdatedRecentSnapshotList",
                        "Recent snapshot list updated successfully",
                    ),
                )
            status.update(
                {
                    "phase": "Failed" if failed else "Succeeded",
                    "lastUpdateTime": o.ts(now),
                    "size": None if failed else o.format_size(total),
                    "integrity": not failed,
                    "totalComponents": len(out),
                    "components": out,
                    "conditions": conds.items,
                    "snapshotTime": status.get("snapshotTime") or o.ts(started),
                    "verificationStatus": "NotVerified",
                }
            )
            if failed:
                status.pop("size", None)

        await self.cluster.update_status(SNAPSHOTS, (ns, name), mutate=mutate)
        return ("Failed" if failed else "Succeeded"), error

    async def abandon(self, address: tuple[str, str], *, why: str, now: datetime) -> None:
        """End a Snapshot whose run stopped before it finished: the components not done
        fail with ``why`` and the snapshot is Failed (BackupIncomplete)."""

        def mutate(_: JSONDict, status: JSONDict) -> None:
            if status.get("phase") in ("Succeeded", "Failed"):
                return
            components = {
                name: (
                    dict(c)
                    if str_at(c, "phase") in ("Succeeded", "Failed")
                    else {**c, "phase": "Failed", "error": why}
                )
                for name, c in mapping_at(status, "components").items()
                if isinstance(c, Mapping)
            }
            conds = Conditions(status, now=now)
            conds.true(
                "BackupIncomplete",
                reason="BackupFailed",
                message=f"Backup was interrupted: {why}",
                severity="Error",
            )
            status.update(
                {
                    "phase": "Failed",
                    "lastUpdateTime": o.ts(now),
                    "integrity": False,
                    "components": components,
                    "conditions": conds.items,
                }
            )

        await self.cluster.update_status(SNAPSHOTS, address, mutate=mutate)

    def _component_size(self, component: str, db: JSONDict | None, data_bytes: float) -> float:
        rng = self.sim.rng
        if component == "manifest":
            return rng.uniform(4, 20) * 1024
        if component == "volumesnapshot":
            requested = size_bytes(dig(db, "spec", "storage", "resources", "requests", "storage"))
            return requested or data_bytes * 1.2
        if component == "physical":
            return data_bytes * rng.uniform(1.04, 1.06)
        return data_bytes * rng.uniform(0.245, 0.255)  # a compressed dump

    def _driver_stats(
        self,
        driver: str,
        component: str,
        db: JSONDict | None,
        *,
        app: str,
        size: float,
        span: tuple[datetime, datetime],
    ) -> JSONDict:
        rng = self.sim.rng
        start, end = span
        if driver == "VolumeSnapshotter":
            replicas = max(1, int_or(db, "spec", "replicas", default=1))
            stamp = int(start.timestamp())
            return {
                "volumeSnapshotterStats": [
                    {
                        "pvcName": f"data-{app}-{i}",
                        "hostPath": "/var/pv",
                        "volumeSnapshotName": f"data-{app}-{i}-{stamp}",
                        "volumeSnapshotTime": o.ts(start + timedelta(seconds=1)),
                    }
                    for i in range(replicas)
                ]
            }
        if driver == "WalG":
            return {
                "walGStats": {
                    "id": f"base_{rng.getrandbits(96):024X}",
                    "databases": ["app"],
                    "startTime": o.ts(start),
                    "stopTime": o.ts(end),
                }
            }
        if driver == "Restic":
            host_path = {
                "dump": "dumpfile.sql",
                "manifest": "/kubestash-tmp/manifest",
                "physical": "/kubestash-tmp/physical",
            }.get(component, f"/kubestash-tmp/{component}")
            return {
                "resticStats": [
                    {
                        "summary": {
                            "id": f"{rng.getrandbits(256):064x}",
                            "uploaded": o.format_size(size * rng.uniform(0.02, 0.15)),
                            "hostPath": host_path,
                            "size": o.format_size(size * 3.9),
                            "startTime": o.ts(start),
                            "endTime": o.ts(end),
                        }
                    }
                ]
            }
        return {}

    async def apply_retention(self, repo: tuple[str, str], policy: JSONDict | None) -> None:
        """Keep the newest ``successfulSnapshots.last`` and ``failedSnapshots.last``."""
        cap = self.sim.max_snapshots
        ok_spec = mapping_at(policy, "spec", "successfulSnapshots")
        last = int_at(ok_spec, "last")
        if last is not None:
            keep_ok = last
        else:
            others = sum(
                int_or(ok_spec, k, default=0)
                for k in ("hourly", "daily", "weekly", "monthly", "yearly")
            )
            keep_ok = others or cap
        keep_failed = int_or(policy, "spec", "failedSnapshots", "last", default=1)
        keep_ok, keep_failed = min(max(keep_ok, 1), cap), min(max(keep_failed, 0), cap)
        snapshots = full_snapshots(self.cluster, repo)
        snapshots.sort(
            key=lambda s: (text_at(s, "status", "snapshotTime"), name_of(s)), reverse=True
        )
        doomed: list[str] = []
        for phase, keep in (("Succeeded", keep_ok), ("Failed", keep_failed)):
            same = [s for s in snapshots if str_at(s, "status", "phase") == phase]
            doomed.extend(name_of(s) for s in same[keep:])
        for snap in doomed:
            await self.cluster.delete(SNAPSHOTS, (repo[0], snap))
