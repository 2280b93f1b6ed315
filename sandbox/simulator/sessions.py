"""KubeStash's BackupSession controller: one backup run from Pending to its end.

What it plays: a new BackupSession of a BackupConfiguration goes Pending, then Running
(BackupExecutorEnsured, SnapshotsEnsured, one Snapshot per session repository, a
``backupDeadline`` from ``backupTimeout``), then, after ``backup_duration``, Succeeded
or Failed with its Snapshots' phases, a Go-style ``duration``,
RetentionPolicyExecutorEnsured, SessionHistoryCleaned and MetricsPushed. It is Skipped
(BackupSkipped, PreRequisitesNotSatisfied) when the configuration or its session is
missing, not Ready or paused, or when another run of the same session is still going.
After a run, retention (:meth:`SnapshotWriter.apply_retention`) and the session's
``sessionHistoryLimit`` are applied. A BackupSession a user creates (the gateway's
triggerBackup, ``kubectl kubestash trigger``: ``spec.invoker``, ``spec.session``, an
ownerReference, no labels) runs exactly like a scheduled one, and is Skipped the same way.

Guesses where the reference is silent: only BackupConfiguration invokers are run
(BackupBatch runs are not simulated); a run whose configuration disappears (deleted
mid-run) fails with FailedToEnsureBackupExecutor and its unfinished Snapshots fail
(BackupIncomplete); one component of a failing run fails (not the manifest),
the others succeed; a missing configuration may be informer lag for ``MISSING_GRACE``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apis.objects import dig, int_or, mapping_at, mappings_at, name_of, str_at, text_at, uid_of
from apis.resources import BACKUP_CONFIGURATIONS, BACKUP_SESSIONS, REPOSITORIES, SNAPSHOTS
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator import catalog
from sandbox.simulator.cluster import Cluster, Job
from sandbox.simulator.configurations import Configurations
from sandbox.simulator.core import (
    MISSING_GRACE,
    SESSION_DONE,
    Conditions,
    database_key,
    duration_seconds,
    ns_of,
)
from sandbox.simulator.snapshots import SnapshotWriter

Slot = tuple[str, str, str]  # (namespace, configuration, session): one run at a time


@dataclass
class _Run:
    seen: float  # monotonic, first time we saw the session
    pending_at: float | None = None
    running_at: float | None = None


class Sessions:
    """BackupSessions on one cluster."""

    def __init__(
        self, cluster: Cluster, *, configurations: Configurations, snapshots: SnapshotWriter
    ) -> None:
        self.cluster = cluster
        self.sim = cluster.sim
        self.configurations = configurations
        self.snapshots = snapshots
        self._runs: dict[str, _Run] = {}  # uid -> run
        self._slots: dict[Slot, str] = {}  # slot -> name of the session holding it

    def jobs(self) -> Iterable[Job]:
        for bs in self.cluster.wanted_items(BACKUP_SESSIONS):
            if str_at(bs, "status", "phase") not in SESSION_DONE:
                yield (f"BackupSession {name_of(bs)}", functools.partial(self._reconcile, bs))

    def forget(self, live_uids: set[str]) -> None:
        for uid in [u for u in self._runs if u not in live_uids]:
            del self._runs[uid]

    def _release(self, slot: Slot, name: str) -> None:
        if self._slots.get(slot) == name:
            del self._slots[slot]

    async def _reconcile(self, bs: JSONDict) -> None:
        ns, name, uid = ns_of(bs), name_of(bs), uid_of(bs)
        bs = self.cluster.view(BACKUP_SESSIONS, (ns, name)) or bs
        phase = str_at(bs, "status", "phase")
        if phase in SESSION_DONE:
            return
        invoker = mapping_at(bs, "spec", "invoker")
        if str_at(invoker, "kind") != BACKUP_CONFIGURATIONS.kind:
            return  # BackupBatch runs are not simulated
        mono = time.monotonic()
        run = self._runs.setdefault(uid, _Run(seen=mono))
        sname = text_at(bs, "spec", "session")
        bc = self.cluster.view(BACKUP_CONFIGURATIONS, (ns, text_at(invoker, "name")))
        session = next(
            (s for s in mappings_at(bc, "spec", "sessions") if text_at(s, "name") == sname), None
        )
        slot = (ns, text_at(invoker, "name"), sname)
        if not phase:
            if bc is None and mono - run.seen < MISSING_GRACE:
                return
            reason = self._skip_reason(bc, session, invoker=invoker, slot=slot, name=name)
            if reason:
                await self._skip(bs, reason)
                self._runs.pop(uid, None)
                return
            self._slots[slot] = name
            run.pending_at = mono
            await self.cluster.update_status(
                BACKUP_SESSIONS, (ns, name), mutate=lambda _, st: st.update({"phase": "Pending"})
            )
            return
        if bc is None or session is None:
            await self._fail_without_run(bs, "the BackupConfiguration or its session is gone")
            return
        self._slots.setdefault(slot, name)
        if phase == "Pending":
            if run.pending_at is None:
                run.pending_at = mono
            if mono - run.pending_at < min(self.sim.step, 0.5):
                return
            if await self._start(bs, bc, session):
                run.running_at = mono
                return
            self._runs.pop(uid, None)
            self._release(slot, name)
            return
        if run.running_at is None:  # we restarted while it was running
            run.running_at = mono
        if mono - run.running_at < self.sim.backup_duration:
            return
        await self._finish(bs, bc, session, elapsed=mono - (run.pending_at or run.seen))
        self._runs.pop(uid, None)
        self._release(slot, name)

    def _skip_reason(
        self,
        bc: JSONDict | None,
        session: Mapping[str, Any] | None,
        *,
        invoker: Mapping[str, Any],
        slot: Slot,
        name: str,
    ) -> str | None:
        if bc is None:
            return f"{str_at(invoker, 'kind') or 'Invoker'} {text_at(invoker, 'name')} not found."
        if session is None:
            return f'Session "{slot[2]}" is not defined in BackupConfiguration {name_of(bc)}.'
        phase = str_at(bc, "status", "phase") or "NotReady"
        if phase != "Ready":
            return f"BackupConfiguration {name_of(bc)} is not ready (phase {phase})."
        if dig(bc, "spec", "paused") is True:
            return f"BackupConfiguration {name_of(bc)} is paused."
        holder = self._slots.get(slot)
        if holder and holder != name:
            other = self.cluster.view(BACKUP_SESSIONS, (slot[0], holder))
            if other is not None and str_at(other, "status", "phase") not in SESSION_DONE:
                return "Previous backup session is still running."
        return None

    async def _skip(self, bs: JSONDict, message: str) -> None:
        now = self.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            conds.true("BackupSkipped", reason="PreRequisitesNotSatisfied", message=message)
            status.update({"phase": "Skipped", "conditions": conds.items})

        await self.cluster.update_status(BACKUP_SESSIONS, (ns_of(bs), name_of(bs)), mutate=mutate)

    async def _fail_without_run(self, bs: JSONDict, why: str) -> None:
        now = self.sim.clock.now()
        for entry in mappings_at(bs, "status", "snapshots"):
            await self.snapshots.abandon((ns_of(bs), text_at(entry, "name")), why=why, now=now)

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            conds.false(
                "BackupExecutorEnsured",
                reason="FailedToEnsureBackupExecutor",
                message=f"Failed to ensure backup executor. Reason: {why}",
            )
            status.update({"phase": "Failed", "conditions": conds.items})

        await self.cluster.update_status(BACKUP_SESSIONS, (ns_of(bs), name_of(bs)), mutate=mutate)
        self._runs.pop(uid_of(bs), None)

    async def _start(self, bs: JSONDict, bc: JSONDict, session: Mapping[str, Any]) -> bool:
        """Create the run's Snapshots and mark it Running; False if it failed at once."""
        ns, name = ns_of(bs), name_of(bs)
        now = self.sim.clock.now()
        target = mapping_at(bc, "spec", "target")
        found = self.cluster.database(database_key(target, ns))
        db = found[1] if found else None
        tasks = [
            t for t in (text_at(t, "name") for t in mappings_at(session, "addon", "tasks")) if t
        ]
        components = list(dict.fromkeys(catalog.component_of(t) for t in tasks)) or ["dump"]
        app_ref = {**target, "namespace": str_at(target, "namespace") or ns}
        storages = self.configurations.storages(bc)
        entries: list[JSONDict] = []
        problem = ""
        for repo_entry in mappings_at(session, "repositories"):
            rname = text_at(repo_entry, "name")
            repo = self.cluster.view(REPOSITORIES, (ns, rname))
            if repo is None:
                await self.configurations.ensure_repositories(bc, storages)
                repo = self.cluster.view(REPOSITORIES, (ns, rname))
            if repo is None:
                problem = f"Repository {ns}/{rname} not found"
                continue
            snap = await self.snapshots.create(
                bs,
                session=session,
                repo=repo,
                db=db,
                app_ref=app_ref,
                components=components,
                now=now,
            )
            if snap is not None:
                entries.append(
                    {
                        "name": name_of(snap),
                        "phase": "Running",
                        "appRef": app_ref,
                        "repository": rname,
                    }
                )
        if not mappings_at(session, "repositories"):
            problem = f'session "{text_at(session, "name")}" has no repositories'

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            conds.true(
                "BackupExecutorEnsured",
                reason="SuccessfullyEnsuredBackupExecutor",
                message="Backup executor has been ensured successfully.",
            )
            if problem:
                conds.false(
                    "SnapshotsEnsured",
                    reason="FailedToEnsureSnapshots",
                    message=f"Failed to ensure snapshots. Reason: {problem}",
                )
            else:
                conds.true(
                    "SnapshotsEnsured",
                    reason="SuccessfullyEnsuredSnapshots",
                    message="Snapshots have been ensured successfully.",
                )
            status.update(
                {
                    "phase": "Failed" if problem else "Running",
                    "snapshots": entries,
                    "totalSnapshots": len(entries),
                    "conditions": conds.items,
                }
            )
            seconds = duration_seconds(text_at(session, "backupTimeout"))
            if seconds and not problem:
                status["backupDeadline"] = o.ts(now + timedelta(seconds=seconds))

        written = await self.cluster.update_status(BACKUP_SESSIONS, (ns, name), mutate=mutate)
        return written is not None and not problem

    async def _finish(
        self, bs: JSONDict, bc: JSONDict, session: Mapping[str, Any], *, elapsed: float
    ) -> None:
        ns, name = ns_of(bs), name_of(bs)
        now = self.sim.clock.now()
        target = mapping_at(bc, "spec", "target")
        key = database_key(target, ns)
        found = self.cluster.database(key)
        db = found[1] if found else None
        fail = self.sim.should_fail("backup", db, bc, bs)
        size_key = key or (text_at(target, "kind"), ns, text_at(target, "name"))
        data_bytes = self.snapshots.data_size(size_key)
        error = ""
        results: dict[str, str] = {}
        for entry in mappings_at(bs, "status", "snapshots"):
            snap_name = text_at(entry, "name")
            snap = self.cluster.view(SNAPSHOTS, (ns, snap_name))
            if snap is None:
                results[snap_name] = "Failed"
                error = error or f"Snapshot {ns}/{snap_name} disappeared"
                continue
            phase, message = await self.snapshots.finish(
                snap, db=db, data_bytes=data_bytes, fail=fail and not error, now=now
            )
            results[snap_name] = phase
            error = error or message
        failed = bool(error) or any(p != "Succeeded" for p in results.values())
        retention = await self._apply_retention(bc, session)

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = Conditions(status, now=now)
            if failed:
                conds.false(
                    "BackupExecutorEnsured",
                    reason="FailedToEnsureBackupExecutor",
                    message=f"Backup executor failed. Reason: {error or 'a snapshot failed'}",
                    severity="Error",
                )
            conds.true_all(
                (
                    "RetentionPolicyExecutorEnsured",
                    "SuccessfullyEnsuredRetentionPolicyExecutor",
                    "Retention policy executor has been ensured successfully.",
                ),
                (
                    "SessionHistoryCleaned",
                    "SuccessfullyCleanedSessionHistory",
                    "Successfully cleaned up backup history.",
                ),
                (
                    "MetricsPushed",
                    "SuccessfullyPushedMetrics",
                    "Metrics have been pushed successfully.",
                ),
            )
            snapshots = [
                {**item, "phase": results.get(text_at(item, "name"), "Failed")}
                for item in mappings_at(status, "snapshots")
            ]
            status.update(
                {
                    "phase": "Failed" if failed else "Succeeded",
                    "duration": o.go_duration(elapsed),
                    "snapshots": snapshots,
                    "totalSnapshots": len(snapshots),
                    "retentionPolicy": retention or None,
                    "conditions": conds.items,
                }
            )

        await self.cluster.update_status(BACKUP_SESSIONS, (ns, name), mutate=mutate)
        await self._clean_history(bs, session)

    async def _apply_retention(self, bc: JSONDict, session: Mapping[str, Any]) -> list[JSONDict]:
        """Retention per repository of this run; the ``status.retentionPolicy`` entries."""
        ns = ns_of(bc)
        backends = {text_at(b, "name"): b for b in mappings_at(bc, "spec", "backends")}
        retention: list[JSONDict] = []
        for repo_entry in mappings_at(session, "repositories"):
            rname = text_at(repo_entry, "name")
            backend = backends.get(text_at(repo_entry, "backend"))
            policy = self.configurations.backend_status(backend, ns).policy if backend else None
            await self.snapshots.apply_retention((ns, rname), policy)
            if policy is not None:
                retention.append(
                    {
                        "ref": {"namespace": ns_of(policy), "name": name_of(policy)},
                        "repository": rname,
                        "phase": "Applied",
                    }
                )
        return retention

    async def _clean_history(self, bs: JSONDict, session: Mapping[str, Any]) -> None:
        """Keep the newest ``sessionHistoryLimit`` finished runs of this session per phase."""
        ns, sname = ns_of(bs), text_at(session, "name")
        invoker = text_at(bs, "spec", "invoker", "name")
        limit = max(1, int_or(session, "sessionHistoryLimit", default=1))
        siblings = [
            s
            for s in self.cluster.indexed(
                BACKUP_SESSIONS, (ns, BACKUP_CONFIGURATIONS.kind, invoker)
            )
            if text_at(s, "spec", "session") == sname
        ]
        siblings.sort(
            key=lambda s: (text_at(s, "metadata", "creationTimestamp"), name_of(s)), reverse=True
        )
        for phase in SESSION_DONE:
            same = [s for s in siblings if str_at(s, "status", "phase") == phase]
            for old in same[limit:]:
                await self.cluster.delete(BACKUP_SESSIONS, (ns, name_of(old)))
