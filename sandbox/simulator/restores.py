"""KubeStash's RestoreSession controller, and the pause of backups while it restores.

What it plays: a RestoreSession is checked by KubeStash's webhook rules (Invalid with
ValidationPassed False otherwise), goes Pending with RestoreTargetFound and its
``dependencies`` (the Snapshot, the Addon), then Running (RestoreExecutorEnsured) with
``percentDone`` rising per component for ``restore_duration``, then runs its post-restore
hooks (:mod:`sandbox.simulator.restore_hooks`), then Succeeded or Failed
(RestoreIncomplete, or a hook failed) with MetricsPushed. The phase is always derived
from the conditions and components, as KubeStash derives it, never set on its own.
Meanwhile the target database goes DataRestoring (see
:mod:`sandbox.simulator.databases`) until the RestoreSession ends, then Ready, or
NotReady when it failed or was deleted while running (DataRestoreInterrupted); and the
database's BackupConfigurations are paused and listed in ``status.pausedBackups``
(:mod:`sandbox.simulator.pauses`: which, and who resumes them).

The Snapshot restored is the named one, or for ``latest`` the newest Succeeded full
Snapshot in the repository, or for ``pitr`` the newest at or before ``targetTime``
(before, when ``exclusive``). Guesses where the reference is silent: a component's size
is its size in the Snapshot (16 MiB when unknown); manifests restore five times faster
than data; each post-restore hook takes a quarter of ``restore_duration``; a missing
Snapshot may be informer lag for ``MISSING_GRACE`` before the restore fails.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apis.objects import (
    dig,
    int_or,
    mapping_at,
    mappings_at,
    name_of,
    str_at,
    text_at,
    uid_of,
)
from apis.resources import (
    ADDONS,
    ADDONS_KIND,
    REPOSITORIES,
    RESTORE_SESSIONS,
    SNAPSHOTS,
    STORAGE,
    ResourceType,
)
from core.times import parse_time
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator import catalog
from sandbox.simulator.cluster import Cluster, Job
from sandbox.simulator.core import (
    MISSING_GRACE,
    RESTORE_DONE,
    AppKey,
    Conditions,
    database_key,
    duration_seconds,
    ns_of,
    update_fields,
)
from sandbox.simulator.databases import Databases
from sandbox.simulator.pauses import pause_backups, resume_backups
from sandbox.simulator.restore_hooks import (
    POST_HOOKS_CONDITION,
    post_hooks,
    restore_phase,
    run_hooks,
)
from sandbox.simulator.snapshots import full_snapshots, size_bytes

UNKNOWN_SIZE = 16 * 1024**2


@dataclass
class _Run:
    uid: str
    namespace: str
    name: str
    started: float  # monotonic
    target: AppKey | None
    totals: dict[str, float]  # component -> bytes
    paused: list[JSONDict] = field(default_factory=list)
    # Once the data is in (or failed): when, whether it failed, the final components.
    data_done: float | None = None
    data_failed: bool = False
    components: JSONDict = field(default_factory=dict)
    error: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


class Restores:
    """RestoreSessions on one cluster."""

    def __init__(self, cluster: Cluster, *, databases: Databases) -> None:
        self.cluster = cluster
        self.sim = cluster.sim
        self.databases = databases
        self._runs: dict[str, _Run] = {}  # uid -> run in progress
        self._seen: dict[str, float] = {}  # uid -> monotonic, first time seen

    def jobs(self) -> Iterable[Job]:
        for rs in self.cluster.wanted_items(RESTORE_SESSIONS):
            if str_at(rs, "status", "phase") not in RESTORE_DONE:
                yield (f"RestoreSession {name_of(rs)}", functools.partial(self._reconcile, rs))
        for run in list(self._runs.values()):
            yield (
                f"RestoreSession {run.name} (gone?)",
                functools.partial(self._check_interrupted, run),
            )

    def forget(self, live_uids: set[str]) -> None:
        for uid in [u for u in self._seen if u not in live_uids]:
            del self._seen[uid]

    async def _reconcile(self, rs: JSONDict) -> None:
        ns, name, uid = ns_of(rs), name_of(rs), uid_of(rs)
        rs = self.cluster.view(RESTORE_SESSIONS, (ns, name)) or rs
        phase = str_at(rs, "status", "phase")
        if phase in RESTORE_DONE:
            return
        now, mono = self.sim.clock.now(), time.monotonic()
        seen = self._seen.setdefault(uid, mono)
        spec = mapping_at(rs, "spec")
        target = database_key(mapping_at(spec, "target"), ns)
        run = self._runs.get(uid)
        if run is None and phase == "Running":
            run = self._resume(rs, target, mono)
        if run is not None:
            await self._progress(rs, run)
            return
        problem = _spec_problem(spec)
        conds = Conditions(mapping_at(rs, "status"), now=now)
        if problem:
            conds.false("ValidationPassed", reason="ResourceValidationFailed", message=problem)
            await self._set(rs, {"conditions": conds.items})
            return
        conds.true(
            "ValidationPassed",
            reason="ResourceValidationPassed",
            message="Resource validation passed",
        )
        found = self.cluster.database(target)
        snapshot, snapshot_problem = self._resolve_snapshot(rs)
        if target is not None:
            if found is None:
                conds.false(
                    "RestoreTargetFound",
                    reason="RestoreTargetNotFound",
                    message=f"Restore target {target[0]} {target[1]}/{target[2]} not found.",
                )
            else:
                conds.true(
                    "RestoreTargetFound",
                    reason="RestoreTargetFound",
                    message="Restore target has been found.",
                )
        fields: JSONDict = {
            "targetFound": (found is not None) if target is not None else None,
            "dependencies": self._dependencies(rs, snapshot),
            "conditions": conds.items,
        }
        if not phase or (target is not None and found is None):
            await self._set(rs, fields)
            return
        if snapshot is None:
            if mono - seen < MISSING_GRACE:
                return
            conds.false(
                "RestoreExecutorEnsured",
                reason="FailedToEnsureRestoreExecutor",
                message=f"Failed to ensure restore executor. Reason: {snapshot_problem}",
                severity="Error",
            )
            fields.update({"conditions": conds.items})
            await self._set(rs, fields)
            if found is not None:
                await self.databases.mark_restore(found, state="failed", message=snapshot_problem)
            self._seen.pop(uid, None)
            return
        # Start: pause the database's backups, tell KubeDB the restore started.
        totals = _components(rs, snapshot)
        paused = await pause_backups(self.cluster, target, restore=(ns, name)) if target else []
        run = _Run(uid, ns, name, mono, target, totals, paused)
        self._runs[uid] = run
        conds.true(
            "RestoreExecutorEnsured",
            reason="SuccessfullyEnsuredRestoreExecutor",
            message="Restore executor has been ensured successfully.",
        )
        fields.update(
            {
                "conditions": conds.items,
                "pausedBackups": paused or None,
                "totalComponents": len(totals),
                "components": self._component_progress(run, 0.0, failed=None),
            }
        )
        timeout = duration_seconds(text_at(spec, "restoreTimeout"))
        if timeout:
            fields["restoreDeadline"] = o.ts(now + timedelta(seconds=timeout))
        if found is not None:
            await self.databases.mark_restore(found, state="started")
        await self._set(rs, fields)

    async def _set(self, rs: JSONDict, fields: JSONDict) -> None:
        with_hooks = bool(mappings_at(rs, "spec", "hooks", "postRestore"))

        def mutate(_: JSONDict, status: JSONDict) -> None:
            update_fields(status, fields)
            status["phase"] = restore_phase(status, with_hooks=with_hooks)

        await self.cluster.update_status(RESTORE_SESSIONS, (ns_of(rs), name_of(rs)), mutate=mutate)

    def _resume(self, rs: JSONDict, target: AppKey | None, mono: float) -> _Run:
        """We restarted while a restore was running: carry on from its status."""
        status = mapping_at(rs, "status")
        components = mapping_at(status, "components")
        totals = {
            c: size_bytes(dig(v, "progress", "total")) or UNKNOWN_SIZE
            for c, v in components.items()
        } or {"dump": UNKNOWN_SIZE}
        elapsed = max(
            (int_or(v, "progress", "secondsElapsed", default=0) for v in components.values()),
            default=0,
        )
        run = _Run(
            uid_of(rs),
            ns_of(rs),
            name_of(rs),
            mono - float(elapsed),
            target,
            totals,
            [dict(p) for p in mappings_at(status, "pausedBackups")],
        )
        self._runs[run.uid] = run
        return run

    def _resolve_snapshot(self, rs: JSONDict) -> tuple[JSONDict | None, str]:
        source = mapping_at(rs, "spec", "dataSource")
        repo_ns = str_at(source, "namespace") or ns_of(rs)
        repo = text_at(source, "repository")
        wanted = str_at(source, "snapshot")
        if wanted and wanted != "latest":
            snap = self.cluster.view(SNAPSHOTS, (repo_ns, wanted))
            if snap is None:
                return None, f"Snapshot {repo_ns}/{wanted} not found"
            if str_at(snap, "status", "phase") != "Succeeded":
                return None, f"Snapshot {repo_ns}/{wanted} is not Succeeded"
            return snap, ""
        if self.cluster.view(REPOSITORIES, (repo_ns, repo)) is None:
            return None, f"Repository {repo_ns}/{repo} not found"
        candidates = [
            s
            for s in full_snapshots(self.cluster, (repo_ns, repo))
            if str_at(s, "status", "phase") == "Succeeded" and str_at(s, "status", "snapshotTime")
        ]
        pitr = mapping_at(source, "pitr")
        if pitr:
            limit = parse_time(pitr.get("targetTime"))
            exclusive = pitr.get("exclusive") is True
            candidates = [
                s
                for s in candidates
                if limit is not None
                and (t := parse_time(dig(s, "status", "snapshotTime"))) is not None
                and (t < limit if exclusive else t <= limit)
            ]
        if not candidates:
            when = f" at or before {text_at(pitr, 'targetTime')}" if pitr else ""
            return None, f"no Succeeded Snapshot{when} in Repository {repo_ns}/{repo}"
        return max(candidates, key=lambda s: (text_at(s, "status", "snapshotTime"), name_of(s))), ""

    def _dependencies(self, rs: JSONDict, snapshot: JSONDict | None) -> list[JSONDict]:
        source = mapping_at(rs, "spec", "dataSource")
        deps: list[JSONDict] = []
        name = name_of(snapshot) if snapshot else text_at(source, "snapshot")
        if name and name != "latest":
            deps.append(
                {
                    "apiGroup": STORAGE,
                    "kind": SNAPSHOTS.kind,
                    "namespace": str_at(source, "namespace") or ns_of(rs),
                    "name": name,
                    "found": snapshot is not None,
                }
            )
        addon = str_at(rs, "spec", "addon", "name")
        if addon and self.cluster.informer(ADDONS_KIND) is not None:
            deps.append(
                {
                    "apiGroup": ADDONS,
                    "kind": ADDONS_KIND.kind,
                    "name": addon,
                    "found": self.cluster.view(ADDONS_KIND, ("", addon)) is not None,
                }
            )
        return deps

    def _component_progress(self, run: _Run, fraction: float, *, failed: str | None) -> JSONDict:
        elapsed = max(0.0, time.monotonic() - run.started)
        out: JSONDict = {}
        for component, total in run.totals.items():
            # Manifests are tiny: they finish in the first fifth of the run.
            own = min(1.0, fraction * 5) if component == "manifest" else fraction
            done = total * own
            progress: JSONDict = {
                "secondsElapsed": int(elapsed),
                "percentDone": f"{own * 100:.2f}%",
                "totalFiles": 1,
                "filesDone": 1 if own >= 1 else 0,
                "restoreDone": o.format_size(done),
                "total": o.format_size(total),
                "speed": f"{o.format_size(done / elapsed if elapsed > 0 else 0)}/s",
            }
            entry: JSONDict = {
                "phase": "Running",
                "progress": progress,
                "duration": o.go_duration(elapsed),
            }
            if component == failed:
                kind = run.target[0] if run.target else ""
                entry.update(
                    {"phase": "Failed", "error": catalog.restore_error(self.sim.rng, kind)}
                )
            elif own >= 1:
                entry["phase"] = "Succeeded"
            out[component] = entry
        return out

    async def _progress(self, rs: JSONDict, run: _Run) -> None:
        mono = time.monotonic()
        elapsed = mono - run.started
        fraction = min(1.0, elapsed / max(self.sim.restore_duration, 0.1))
        found = self.cluster.database(run.target)
        if run.data_done is None and fraction < 1.0:
            # Jitter so percentDone does not move in lockstep.
            shown = max(0.0, min(0.999, fraction * self.sim.rng.uniform(0.95, 1.0)))
            if found is not None:
                await self.databases.mark_restore(found, state="started")
            progress = self._component_progress(run, shown, failed=None)
            await self._set(rs, {"components": progress})
            return
        if run.data_done is None:
            self._data_done(rs, run, found)
        hooks = post_hooks(rs, data_failed=run.data_failed)
        results = run_hooks(
            self.cluster,
            rs,
            hooks,
            # After a failed restore the hooks that still run do so at once.
            elapsed=float("inf") if run.data_failed else mono - (run.data_done or mono),
            hook_seconds=self.sim.restore_duration / 4,
        )
        post = [{"name": r.name, "phase": r.phase} for r in results]
        if any(r.phase == "Pending" for r in results):
            await self._set(
                rs,
                {"components": run.components, "hooks": {"postHooks": post}, "duration": None},
            )
            return
        if run.paused and not await resume_backups(self.cluster, run.paused, restore=run.key):
            return  # try again next step; never leave our pauses behind
        conds = Conditions(mapping_at(rs, "status"), now=self.sim.clock.now())
        if run.data_failed:
            conds.true(
                "RestoreIncomplete",
                reason="FailedToCompleteRestore",
                message=run.error,
                severity="Error",
            )
        failed_hooks = [r for r in results if r.phase == "Failed"]
        if mappings_at(rs, "spec", "hooks", "postRestore"):
            if failed_hooks:
                conds.false(
                    POST_HOOKS_CONDITION,
                    reason="FailedToExecutePostRestoreHooks",
                    message="; ".join(r.message for r in failed_hooks),
                    severity="Error",
                )
            else:
                conds.true(
                    POST_HOOKS_CONDITION,
                    reason="SuccessfullyExecutedPostRestoreHooks",
                    message="Post-restore hooks have been executed successfully.",
                )
        conds.true(
            "MetricsPushed",
            reason="SuccessfullyPushedMetrics",
            message="Metrics have been pushed successfully.",
        )
        fields: JSONDict = {
            "duration": o.go_duration(mono - run.started),
            "components": run.components,
            "hooks": {"postHooks": post} if post else None,
            "conditions": conds.items,
            "pausedBackups": None,
        }
        await self._set(rs, fields)
        if found is not None:
            if run.data_failed or failed_hooks:
                why = run.error or "; ".join(r.message for r in failed_hooks)
                await self.databases.mark_restore(found, state="failed", message=why)
            else:
                await self.databases.mark_restore(found, state="succeeded")
        self._runs.pop(run.uid, None)
        self._seen.pop(run.uid, None)

    def _data_done(
        self, rs: JSONDict, run: _Run, found: tuple[ResourceType, JSONDict] | None
    ) -> None:
        """The data part ends: decide (once) whether it failed, fix the components."""
        db = found[1] if found else None
        run.data_done = time.monotonic()
        run.data_failed = self.sim.should_fail("restore", db, rs)
        failing = next((c for c in run.totals if c != "manifest"), next(iter(run.totals)))
        shown = self.sim.rng.uniform(0.3, 0.9) if run.data_failed else 1.0
        run.components = self._component_progress(
            run, shown, failed=failing if run.data_failed else None
        )
        if run.data_failed:
            error = text_at(run.components[failing], "error")
            run.error = f"Restore of component {failing} failed: {error}"

    async def _check_interrupted(self, run: _Run) -> None:
        """A RestoreSession deleted while running: KubeDB marks DataRestoreInterrupted."""
        current = self.cluster.view(RESTORE_SESSIONS, (run.namespace, run.name))
        if (
            current is not None
            and uid_of(current) == run.uid
            and not dig(current, "metadata", "deletionTimestamp")
        ):
            return
        informer = self.cluster.informer(RESTORE_SESSIONS)
        if informer is None or not informer.synced.is_set():
            return
        if run.paused and not await resume_backups(self.cluster, run.paused, restore=run.key):
            return
        found = self.cluster.database(run.target)
        if found is not None:
            await self.databases.mark_restore(
                found,
                state="interrupted",
                message=f"RestoreSession {run.namespace}/{run.name} was deleted before it "
                "completed.",
            )
        self._runs.pop(run.uid, None)


def _components(rs: JSONDict, snapshot: JSONDict) -> dict[str, float]:
    """Component -> bytes to restore: the chosen components, or those of the tasks."""
    available = {
        c: size_bytes(dig(v, "size"))
        for c, v in mapping_at(snapshot, "status", "components").items()
    }
    chosen = [str(c) for c in dig(rs, "spec", "dataSource", "components") or []]
    if not chosen:
        tasks = [text_at(t, "name") for t in mappings_at(rs, "spec", "addon", "tasks")]
        chosen = [catalog.component_of(t) for t in tasks if t] or list(available)
    chosen = list(dict.fromkeys(chosen)) or ["dump"]
    return {c: available.get(c) or UNKNOWN_SIZE for c in chosen}


def _spec_problem(spec: Mapping[str, Any]) -> str | None:
    """KubeStash's RestoreSession webhook rules (``restoresession.go``)."""
    source = mapping_at(spec, "dataSource")
    if mapping_at(source, "pitr"):
        if not str_at(source, "pitr", "targetTime"):
            return "spec.dataSource.pitr.targetTime must be set for a point-in-time restore"
        if not str_at(source, "repository"):
            return "spec.dataSource.repository must be set for a point-in-time restore"
        return None
    snapshot = str_at(source, "snapshot")
    if not snapshot:
        return "spec.dataSource.snapshot must be set (a Snapshot name or latest)"
    if snapshot == "latest" and not str_at(source, "repository"):
        return 'spec.dataSource.repository must be set when snapshot is "latest"'
    return None
