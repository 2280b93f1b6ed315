"""KubeDB's database controller: every kind served by ``kubedb.com`` (v1 or v1alpha2).

What it plays: a new database gets ProvisioningStarted, then, after ``provision_delay``,
ReplicaReady, AcceptingConnection, Ready and Provisioned; Halted while ``spec.halted``.
The phase is always derived from the conditions in KubeDB's priority order
(:func:`sandbox.objects.database_phase`), never set on its own. A new database with
``spec.init.archiver`` goes through DataRestoring (point-in-time recovery from its
archiver's backups) before it provisions, and one with ``spec.init.waitForInitialRestore``
stays Provisioning until a RestoreSession has restored it.

Restores (by :mod:`sandbox.simulator.restores`) report to the database as KubeDB's
external-initializer hooks do: DataRestoreStarted while running, then DataRestored True
or False (reason DataRestoreInterrupted when the RestoreSession is deleted first).

Guesses where the reference is silent: provisioning takes a fixed delay and never fails;
a point-in-time recovery fails (FailedToRestoreData) when no full backup at or before the
recovery time exists in ``fullDBRepository``, or when the time is after the end of the
archived logs (after ``MISSING_GRACE``, as the Repository and its Snapshots, synced
from the bucket, may arrive just after the database), and otherwise takes
``restore_duration``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from apis.objects import int_or, mapping_at, name_of, str_at, text_at, uid_of
from apis.resources import REPOSITORIES, ResourceType
from core.times import parse_time
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator import catalog
from sandbox.simulator.cluster import Cluster, Job
from sandbox.simulator.core import MISSING_GRACE, Conditions, ns_of
from sandbox.simulator.snapshots import full_backup_times, log_ends


class DatabaseFollower(Protocol):
    """A controller that acts on databases after the database controller has."""

    async def on_database(self, db: JSONDict) -> None: ...


class Databases:
    """KubeDB's provisioner and its restore hooks."""

    def __init__(self, cluster: Cluster, *, followers: Iterable[DatabaseFollower]) -> None:
        self.cluster = cluster
        self.sim = cluster.sim
        self.followers = list(followers)
        self._provisioning: dict[str, float] = {}  # uid -> monotonic start
        self._pitr: dict[str, float] = {}  # uid -> monotonic start of the recovery

    def jobs(self) -> Iterable[Job]:
        for res in list(self.cluster.db_kinds.values()):
            for db in self.cluster.wanted_items(res):
                yield (
                    f"{res.kind} {ns_of(db)}/{name_of(db)}",
                    functools.partial(self._reconcile, res, db),
                )

    def forget(self, live_uids: set[str]) -> None:
        for memory in (self._provisioning, self._pitr):
            for uid in [u for u in memory if u not in live_uids]:
                del memory[uid]

    async def _reconcile(self, res: ResourceType, db: JSONDict) -> None:
        key = (ns_of(db), name_of(db))
        await self.cluster.update_status(res, key, mutate=self.write_status)
        current = self.cluster.view(res, key) or db
        for follower in self.followers:
            await follower.on_database(current)

    def write_status(self, db: JSONDict, status: JSONDict) -> None:
        """The database's conditions and phase, as KubeDB's provisioner writes them."""
        now, mono = self.sim.clock.now(), time.monotonic()
        uid = uid_of(db)
        label = f"{db.get('kind')}: {ns_of(db)}/{name_of(db)}"
        spec = mapping_at(db, "spec")
        conds = Conditions(status, now=now)
        if not conds.has("ProvisioningStarted"):
            conds.true(
                "ProvisioningStarted",
                reason="DatabaseProvisioningStartedSuccessfully",
                message=f"The KubeDB operator has started the provisioning of {label}",
            )
            self._provisioning[uid] = mono
        halted = spec.get("halted") is True
        if halted:
            conds.true("Halted", reason="DatabaseHalted", message=f"{label} is halted.")
        else:
            conds.drop("Halted")
        if not halted and not conds.holds("Provisioned"):
            started = self._provisioning.get(uid)
            if started is None:
                # We restarted: count the provisioning from when it really started.
                began = conds.get("ProvisioningStarted")
                when = began.last_transition_time if began else None
                age = (now - when).total_seconds() if when else 0.0
                started = self._provisioning[uid] = mono - max(0.0, age)
            if mono - started >= self.sim.provision_delay and self._initialized(db, conds):
                conds.true_all(
                    ("ReplicaReady", "AllReplicasReady", "All desired replicas are ready."),
                    (
                        "AcceptingConnection",
                        "DatabaseAcceptingConnectionRequest",
                        f"The {label} is accepting client requests.",
                    ),
                    ("Ready", "AllReplicasReady", f"The {label} is ready."),
                    (
                        "Provisioned",
                        "DatabaseSuccessfullyProvisioned",
                        f"The {label} is successfully provisioned.",
                    ),
                )
        status["conditions"] = conds.items
        status["phase"] = o.database_phase(conds.items)
        generation = int_or(db, "metadata", "generation", default=0)
        if generation:
            status["observedGeneration"] = generation

    def _initialized(self, db: JSONDict, conds: Conditions) -> bool:
        """Whether the data a new database starts with is in place."""
        init = mapping_at(db, "spec", "init")
        if mapping_at(init, "archiver"):
            self._point_in_time_recovery(db, conds)
            return conds.holds("DataRestored")
        if init.get("waitForInitialRestore") is True:
            return conds.holds("DataRestored")
        return True

    def _point_in_time_recovery(self, db: JSONDict, conds: Conditions) -> None:
        """A new database with ``spec.init.archiver``: restore, then provision."""
        if conds.has("DataRestored"):
            return
        uid, mono = uid_of(db), time.monotonic()
        recovery = mapping_at(db, "spec", "init", "archiver")
        target = text_at(recovery, "recoveryTimestamp")
        if not conds.has("DataRestoreStarted"):
            problem = self._recovery_problem(db, recovery)
            began = self._provisioning.get(uid, mono)
            if problem and mono - began < self.sim.provision_delay + MISSING_GRACE:
                return  # the Repository or its Snapshots may still be on their way
            if problem:
                conds.false("DataRestored", reason="FailedToRestoreData", message=problem)
                return
            conds.true(
                "DataRestoreStarted",
                reason="DataRestoreStartedByExternalInitializer",
                message=f"Point-in-time recovery to {target} has started.",
            )
            self._pitr[uid] = mono
            return
        began = self._pitr.setdefault(uid, mono)
        if mono - began < self.sim.restore_duration:
            return
        conds.drop("DataRestoreStarted")
        if self.sim.should_fail("restore", db):
            message = catalog.restore_error(self.sim.rng, str(db.get("kind")))
            conds.false("DataRestored", reason="FailedToRestoreData", message=message)
        else:
            conds.true(
                "DataRestored",
                reason="SuccessfullyDataRestored",
                message=f"Successfully restored data up to {target}.",
            )
        self._pitr.pop(uid, None)

    def _recovery_problem(self, db: JSONDict, recovery: Mapping[str, Any]) -> str | None:
        ref = mapping_at(recovery, "fullDBRepository")
        repo = (str_at(ref, "namespace") or ns_of(db), text_at(ref, "name"))
        if not repo[1]:
            return "spec.init.archiver.fullDBRepository is not set"
        if self.cluster.view(REPOSITORIES, repo) is None:
            return f"Repository {repo[0]}/{repo[1]} not found"
        target = parse_time(recovery.get("recoveryTimestamp"))
        if target is None:
            return "spec.init.archiver.recoveryTimestamp is not a valid time"
        if not any(t <= target for t in full_backup_times(self.cluster, repo)):
            return (
                f"no full backup in Repository {repo[0]}/{repo[1]} was taken at or before "
                f"{o.ts(target)}"
            )
        for ends in log_ends(self.cluster, repo):
            if target > min(ends):
                return (
                    f"recovery timestamp {o.ts(target)} is after the latest archived log "
                    f"({o.ts(min(ends))})"
                )
        return None

    async def mark_restore(
        self, found: tuple[ResourceType, JSONDict], *, state: str, message: str = ""
    ) -> None:
        """What a restore tells the database: ``started``, ``succeeded``, ``failed`` or
        ``interrupted`` (KubeDB's DataRestoreStarted and DataRestored conditions)."""
        res, db = found
        now = self.sim.clock.now()

        def mutate(obj: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            if state == "started":
                if not conds.holds("DataRestoreStarted"):
                    conds.drop("DataRestored")
                    conds.true(
                        "DataRestoreStarted",
                        reason="DataRestoreStartedByExternalInitializer",
                        message="Data restore started by an external initializer "
                        "(KubeStash RestoreSession).",
                    )
            else:
                conds.drop("DataRestoreStarted")
                if state == "succeeded":
                    conds.true(
                        "DataRestored",
                        reason="SuccessfullyDataRestored",
                        message="Successfully restored data by an external initializer.",
                    )
                else:
                    reason = (
                        "DataRestoreInterrupted"
                        if state == "interrupted"
                        else "FailedToRestoreData"
                    )
                    conds.false("DataRestored", reason=reason, message=message)
            status["conditions"] = conds.items
            # The database controller owns the rest; recompute its phase here too.
            self.write_status(obj, status)

        await self.cluster.update_status(res, (ns_of(db), name_of(db)), mutate=mutate)
