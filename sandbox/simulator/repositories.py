"""KubeStash's storage controllers: BackupStorage and Repository status.

What it plays: a BackupStorage becomes Ready (BackendInitialized, BackendSecretFound) and
lists its Repositories with their sizes; a Repository is RepositoryInitialized once its
BackupStorage exists (Ready), and its status follows its Snapshots: snapshotCount, size
and integrity of the Succeeded ones, lastBackupTime, the five most recent full
Snapshots (recentSnapshots) and the component paths. A Repository on a location that
another cluster's Repository also uses first gets that cluster's Snapshots copied in, as
KubeStash finds them in the bucket (:mod:`sandbox.simulator.bucket`).

Guesses where the reference is silent: a storage backend never fails to initialize
(nothing is uploaded anywhere); every Repository it lists is ``synced``; a failed
RepositoryInitialized written by someone else (the demo's seed) is left alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from apis.objects import dig, mapping_at, name_of, str_at, text_at
from apis.resources import BACKUP_STORAGES, REPOSITORIES, SNAPSHOTS
from core.times import parse_time
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator.bucket import Buckets, sync_repository
from sandbox.simulator.cluster import Cluster, Job
from sandbox.simulator.core import Conditions, ns_of
from sandbox.simulator.snapshots import INCREMENTAL, size_bytes

RECENT_SNAPSHOTS = 5


class Repositories:
    """Status of BackupStorages and Repositories on one cluster."""

    def __init__(self, cluster: Cluster, *, buckets: Buckets | None = None) -> None:
        self.cluster = cluster
        self.buckets = buckets

    def jobs(self) -> Iterable[Job]:
        for storage in self.cluster.wanted_items(BACKUP_STORAGES):
            yield (f"BackupStorage {name_of(storage)}", functools.partial(self._storage, storage))
        for repo in self.cluster.wanted_items(REPOSITORIES):
            yield (f"Repository {name_of(repo)}", functools.partial(self._repository, repo))

    def forget(self, live_uids: set[str]) -> None:
        return None  # nothing remembered between steps

    async def _storage(self, storage: JSONDict) -> None:
        key = (ns_of(storage), name_of(storage))
        repos = self.cluster.indexed(REPOSITORIES, key)
        now = self.cluster.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            if not status.get("phase"):
                conds = Conditions(status, now=now)
                conds.true_all(
                    (
                        "BackendInitialized",
                        "BackendInitializationSucceeded",
                        "Backend has been initialized successfully.",
                    ),
                    ("BackendSecretFound", "BackendSecretAvailable", "Backend Secret exists."),
                )
                status["phase"] = "Ready"
                status["conditions"] = conds.items
            entries = [
                {
                    "name": name_of(r),
                    "namespace": ns_of(r),
                    "path": text_at(r, "spec", "path"),
                    "size": str_at(r, "status", "size") or "0 B",
                    "synced": True,
                }
                for r in sorted(repos, key=lambda r: (ns_of(r), name_of(r)))
            ]
            status["repositories"] = entries
            status["totalSize"] = o.format_size(sum(size_bytes(e["size"]) for e in entries))

        await self.cluster.update_status(BACKUP_STORAGES, key, mutate=mutate)

    async def _repository(self, repo: JSONDict) -> None:
        ns, name = ns_of(repo), name_of(repo)
        if self.buckets is not None:
            await sync_repository(self.cluster, self.buckets, repo)
        ref = mapping_at(repo, "spec", "storageRef")
        storage_ns, storage_name = str_at(ref, "namespace") or ns, text_at(ref, "name")
        storage = (
            self.cluster.view(BACKUP_STORAGES, (storage_ns, storage_name)) if storage_name else None
        )
        snapshots = self.cluster.indexed(SNAPSHOTS, (ns, name))
        now = self.cluster.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            initialized = conds.get("RepositoryInitialized")
            # A failure someone else recorded (seeded demo data) is left as it is.
            foreign_failure = (
                initialized is not None
                and initialized.status == "False"
                and not (initialized.message or "").startswith("BackupStorage ")
            )
            if foreign_failure:
                pass
            elif storage is None:
                conds.false(
                    "RepositoryInitialized",
                    reason="RepositoryInitializationFailed",
                    message=f"BackupStorage {storage_ns}/{storage_name} not found",
                    severity="Warning",
                )
            else:
                conds.true(
                    "RepositoryInitialized",
                    reason="RepositoryInitializationSucceeded",
                    message="Repository has been initialized successfully.",
                )
            status["conditions"] = conds.items
            status["phase"] = "Ready" if storage is not None and not foreign_failure else "NotReady"
            succeeded = [s for s in snapshots if str_at(s, "status", "phase") == "Succeeded"]
            status["snapshotCount"] = len(snapshots)
            status["size"] = o.format_size(
                sum(size_bytes(dig(s, "status", "size")) for s in succeeded)
            )
            status["integrity"] = all(dig(s, "status", "integrity") is not False for s in succeeded)
            full = [s for s in snapshots if str_at(s, "spec", "type") != INCREMENTAL]
            times = [
                t
                for s in full
                if str_at(s, "status", "phase") == "Succeeded"
                and (t := parse_time(dig(s, "status", "snapshotTime")))
            ]
            if times:
                status["lastBackupTime"] = o.ts(max(times))
            ordered = sorted(
                full, key=lambda s: (text_at(s, "status", "snapshotTime"), name_of(s))
            )[-RECENT_SNAPSHOTS:]
            status["recentSnapshots"] = [
                {
                    "name": name_of(s),
                    "phase": str_at(s, "status", "phase") or "Pending",
                    "session": str_at(s, "spec", "session"),
                    "size": str_at(s, "status", "size"),
                    "snapshotTime": str_at(s, "status", "snapshotTime"),
                }
                for s in ordered
            ]
            paths = {
                path
                for s in snapshots
                for c in mapping_at(s, "status", "components").values()
                if (path := str_at(c, "path"))
            }
            status["componentPaths"] = sorted(paths)

        await self.cluster.update_status(REPOSITORIES, (ns, name), mutate=mutate)
