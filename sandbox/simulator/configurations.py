"""KubeStash's BackupConfiguration controller: validation, backends, repositories and the
schedules that create BackupSessions.

What it plays: ValidationPassed (or ResourceValidationFailed with the problems: a
storage or retention policy whose usagePolicy does not allow the namespace, a session
repository naming a backend that is not in ``spec.backends``); per backend the storage's
phase and whether the retention policy was found (the named one, or the ``spec.default``
one allowed from the namespace); per session SchedulerEnsured, then one initial backup
(InitialBackupTriggered) and a BackupSession at every firing of the session's cron
schedule; Repositories created from the sessions once the configuration is Ready; phase
Ready, NotReady or Invalid; ``dependencies`` lists the sessions' Addons when the Addon
kind is served.

A configuration may be applied before its database, BackupStorage or RetentionPolicy (a
pipeline applies in any order): it stays NotReady, saying which is missing in
``targetFound`` and ``backends[].storage.reason`` / ``retentionPolicy.reason``, and
becomes Ready, makes its Repositories and triggers its initial backup once they exist.
Deleting a configuration ends its schedules (a run under way fails, see
:mod:`~sandbox.simulator.sessions`); its Repositories and their Snapshots are not owned
by it and stay until deleted themselves (the sandbox has no garbage collector, so its
finished BackupSessions stay too, where a real cluster would collect them).

Schedules run on *simulated* time (``time_scale`` simulated seconds per real second);
``nextSchedule`` is the real wall-clock time of the next firing. A paused configuration
or a suspended scheduler fires nothing. Guesses where the reference is silent: the
initial backup is triggered again only if the InitialBackupTriggered condition is lost;
a Repository's path defaults to ``/<namespace>/<target name>``; a changed schedule
expression restarts from the current simulated time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apis.objects import condition_in, dig, mapping_at, mappings_at, name_of, str_at, text_at
from apis.resources import (
    ADDONS,
    ADDONS_KIND,
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    BACKUP_STORAGES,
    CORE,
    REPOSITORIES,
    RETENTION_POLICIES,
    ResourceType,
)
from core import cron
from core.errors import InvalidInput
from kube.client import JSONDict
from sandbox import objects as o
from sandbox.simulator.cluster import Cluster, Job
from sandbox.simulator.core import Conditions, database_key, ns_of, owner, update_fields, valid_name


@dataclass
class Schedule:
    expression: str
    next_fire: datetime | None  # simulated time


@dataclass(frozen=True)
class Backend:
    """One ``spec.backends`` entry as the controller found it."""

    entry: JSONDict  # its ``status.backends`` entry
    ready: bool
    problems: list[str]  # validation problems (usage not allowed)
    storage: tuple[str, str] | None  # the BackupStorage found
    policy: JSONDict | None  # the RetentionPolicy found


@dataclass(frozen=True)
class _Found:
    """A reference resolved: the named object, or the default one allowed here."""

    obj: JSONDict | None
    namespace: str
    name: str


class Configurations:
    """BackupConfigurations on one cluster, and the schedules of their sessions."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.sim = cluster.sim
        self._schedules: dict[tuple[str, str, str], Schedule] = {}

    def jobs(self) -> Iterable[Job]:
        live: set[tuple[str, str, str]] = set()
        for bc in self.cluster.wanted_items(BACKUP_CONFIGURATIONS):
            live.update(
                (ns_of(bc), name_of(bc), text_at(s, "name"))
                for s in mappings_at(bc, "spec", "sessions")
            )
            yield (f"BackupConfiguration {name_of(bc)}", functools.partial(self._reconcile, bc))
        # Schedules of configurations (or sessions) that are gone.
        for key in [k for k in self._schedules if k not in live]:
            del self._schedules[key]

    def forget(self, live_uids: set[str]) -> None:
        return None  # schedules are dropped in jobs(), as their sessions disappear

    # ------------------------------------------------------------------ backends

    def _resolve(self, res: ResourceType, ref: Mapping[str, Any], namespace: str) -> _Found:
        name = str_at(ref, "name")
        if name:
            ns = str_at(ref, "namespace") or namespace
            return _Found(self.cluster.view(res, (ns, name)), ns, name)
        default = self.cluster.default_of(res, namespace)
        if default is None:
            return _Found(None, "", "")
        return _Found(default, ns_of(default), name_of(default))

    def backend_status(self, backend: Mapping[str, Any], namespace: str) -> Backend:
        """Resolve one backend's storage and retention policy as seen from ``namespace``."""
        problems: list[str] = []
        ready = True
        found = self._resolve(BACKUP_STORAGES, mapping_at(backend, "storageRef"), namespace)
        storage, s_ns, s_name = found.obj, found.namespace, found.name
        storage_entry: JSONDict = {"ref": {"namespace": s_ns, "name": s_name}} if s_name else {}
        if storage is None:
            ready = False
            storage_entry["reason"] = (
                f"BackupStorage {s_ns}/{s_name} not found"
                if s_name
                else "no storageRef given and no default BackupStorage allows namespace "
                f'"{namespace}"'
            )
        else:
            phase = str_at(storage, "status", "phase") or "NotReady"
            storage_entry["phase"] = phase
            if not self.cluster.allowed(storage, namespace):
                ready = False
                problem = (
                    f'namespace "{namespace}" is not allowed to use BackupStorage {s_ns}/{s_name}'
                )
                problems.append(problem)
                storage_entry["reason"] = problem
            elif phase != "Ready":
                ready = False
                storage_entry["reason"] = "BackupStorage is not ready"
        found = self._resolve(RETENTION_POLICIES, mapping_at(backend, "retentionPolicy"), namespace)
        policy, r_ns, r_name = found.obj, found.namespace, found.name
        retention_entry: JSONDict = {"found": policy is not None}
        if r_name:
            retention_entry["ref"] = {"namespace": r_ns, "name": r_name}
        if policy is None:
            ready = False
            retention_entry["reason"] = (
                f"RetentionPolicy {r_ns}/{r_name} not found"
                if r_name
                else "no retentionPolicy given and no default RetentionPolicy allows namespace "
                f'"{namespace}"'
            )
        elif not self.cluster.allowed(policy, namespace):
            ready = False
            problems.append(
                f'namespace "{namespace}" is not allowed to use RetentionPolicy {r_ns}/{r_name}'
            )
            retention_entry["reason"] = "RetentionPolicy does not allow this namespace"
        entry: JSONDict = {
            "name": text_at(backend, "name"),
            "storage": storage_entry,
            "retentionPolicy": retention_entry,
            "ready": ready,
        }
        return Backend(
            entry=entry,
            ready=ready,
            problems=problems,
            storage=(s_ns, s_name) if storage is not None else None,
            policy=policy,
        )

    def storages(self, bc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
        """Backend name -> the BackupStorage it resolves to, for the backends that do."""
        out = {}
        for b in mappings_at(bc, "spec", "backends"):
            storage = self.backend_status(b, ns_of(bc)).storage
            if storage is not None:
                out[text_at(b, "name")] = storage
        return out

    # ------------------------------------------------------------------ reconcile

    async def _reconcile(self, bc: JSONDict) -> None:
        ns, name = ns_of(bc), name_of(bc)
        bc = self.cluster.view(BACKUP_CONFIGURATIONS, (ns, name)) or bc
        if dig(bc, "metadata", "deletionTimestamp"):
            return
        spec, previous = mapping_at(bc, "spec"), mapping_at(bc, "status")
        clock = self.sim.clock
        now, sim_now = clock.now(), clock.sim_now()
        problems: list[str] = []

        target = mapping_at(spec, "target")
        key = database_key(target, ns)
        target_found = self.cluster.database(key) is not None if key else bool(target.get("name"))

        backends: list[JSONDict] = []
        storages: dict[str, tuple[str, str]] = {}
        backends_ready = True
        for backend in mappings_at(spec, "backends"):
            found = self.backend_status(backend, ns)
            backends.append(found.entry)
            backends_ready = backends_ready and found.ready
            problems.extend(found.problems)
            if found.storage is not None:
                storages[text_at(backend, "name")] = found.storage
        backend_names = {text_at(b, "name") for b in mappings_at(spec, "backends")}

        old_sessions = {text_at(s, "name"): s for s in mappings_at(previous, "sessions")}
        session_conds: dict[str, Conditions] = {}
        parsed: dict[str, cron.CronSchedule | None] = {}
        schedulers_ok = True
        for session in mappings_at(spec, "sessions"):
            sname = text_at(session, "name")
            conds = session_conds[sname] = Conditions(old_sessions.get(sname, {}), now=now)
            try:
                parsed[sname] = cron.parse(text_at(session, "scheduler", "schedule"))
                conds.true(
                    "SchedulerEnsured",
                    reason="SchedulerEnsured",
                    message="Scheduler has been ensured successfully.",
                )
            except InvalidInput as exc:
                parsed[sname] = None
                schedulers_ok = False
                conds.false(
                    "SchedulerEnsured", reason="FailedToEnsureScheduler", message=exc.message
                )
            for repo in mappings_at(session, "repositories"):
                if text_at(repo, "backend") not in backend_names:
                    problems.append(
                        f'repository "{text_at(repo, "name")}" of session "{sname}" refers to '
                        f'backend "{text_at(repo, "backend")}", which is not in spec.backends'
                    )

        conds = Conditions(previous, now=now)
        if problems:
            conds.false(
                "ValidationPassed",
                reason="ResourceValidationFailed",
                message="; ".join(problems),
                severity="Error",
            )
            phase = "Invalid"
        else:
            conds.true(
                "ValidationPassed",
                reason="ResourceValidationPassed",
                message="Resource validation passed",
            )
            ready = target_found and backends_ready and schedulers_ok
            phase = "Ready" if ready else "NotReady"

        if phase == "Ready":
            await self.ensure_repositories(bc, storages)
        repositories = self._repository_statuses(bc)
        dependencies = None
        if self.cluster.informer(ADDONS_KIND) is not None:
            addons = sorted({text_at(s, "addon", "name") for s in mappings_at(spec, "sessions")})
            dependencies = [
                {
                    "apiGroup": ADDONS,
                    "kind": ADDONS_KIND.kind,
                    "name": addon,
                    "found": self.cluster.view(ADDONS_KIND, ("", addon)) is not None,
                }
                for addon in addons
                if addon
            ]

        runnable_config = phase == "Ready" and spec.get("paused") is not True
        sessions = []
        for session in mappings_at(spec, "sessions"):
            sname = text_at(session, "name")
            next_fire = await self._fire(
                bc,
                session,
                schedule=parsed.get(sname),
                conds=session_conds[sname],
                runnable=runnable_config,
                sim_now=sim_now,
            )
            sessions.append(
                {
                    "name": sname,
                    "nextSchedule": o.ts(clock.real_of(next_fire)) if next_fire else None,
                    "conditions": session_conds[sname].items,
                }
            )

        fields: JSONDict = {
            "phase": phase,
            "targetFound": target_found,
            "conditions": conds.items,
            "backends": backends,
            "repositories": repositories,
            "dependencies": dependencies,
            "sessions": sessions,
        }
        await self.cluster.update_status(
            BACKUP_CONFIGURATIONS,
            (ns, name),
            mutate=lambda _, status: update_fields(status, fields),
        )

    async def _fire(
        self,
        bc: JSONDict,
        session: Mapping[str, Any],
        *,
        schedule: cron.CronSchedule | None,
        conds: Conditions,
        runnable: bool,
        sim_now: datetime,
    ) -> datetime | None:
        """Trigger the initial backup, or the one due on the schedule; the next firing."""
        key = (ns_of(bc), name_of(bc), text_at(session, "name"))
        if schedule is None:
            self._schedules.pop(key, None)
            return None
        expression = text_at(session, "scheduler", "schedule")
        state = self._schedules.get(key)
        if state is None or state.expression != expression:
            state = Schedule(expression, cron.next_after(schedule, sim_now))
            self._schedules[key] = state
        runnable = runnable and dig(session, "scheduler", "suspend") is not True
        if runnable and not conds.holds("InitialBackupTriggered"):
            if await self.trigger(bc, session, stamp=int(conds.now.timestamp())):
                conds.true(
                    "InitialBackupTriggered",
                    reason="SuccessfullyTriggeredInitialBackup",
                    message="Initial backup has been triggered successfully.",
                )
        elif state.next_fire is not None and sim_now >= state.next_fire:
            if runnable:
                await self.trigger(bc, session, stamp=int(state.next_fire.timestamp()))
            state.next_fire = cron.next_after(schedule, sim_now)
        return state.next_fire

    async def ensure_repositories(
        self, bc: Mapping[str, Any], storages: dict[str, tuple[str, str]]
    ) -> None:
        """Create the Repositories the sessions name, in the storages their backends use."""
        ns = ns_of(bc)
        target = mapping_at(bc, "spec", "target")
        for session in mappings_at(bc, "spec", "sessions"):
            for entry in mappings_at(session, "repositories"):
                rname = text_at(entry, "name")
                storage = storages.get(text_at(entry, "backend"))
                if not rname or "${" in rname or storage is None:
                    continue
                if self.cluster.view(REPOSITORIES, (ns, rname)) is not None:
                    continue
                policy = str_at(entry, "deletionPolicy")
                spec: JSONDict = {
                    "appRef": {**target, "namespace": str_at(target, "namespace") or ns},
                    "storageRef": {"namespace": storage[0], "name": storage[1]},
                    "path": str_at(entry, "directory")
                    or f"/{ns}/{str_at(target, 'name') or rname}",
                    "deletionPolicy": policy if policy in ("Delete", "WipeOut") else "Delete",
                }
                if entry.get("encryptionSecret"):
                    spec["encryptionSecret"] = entry["encryptionSecret"]
                labels = {
                    "kubestash.com/invoker-kind": BACKUP_CONFIGURATIONS.kind,
                    "kubestash.com/invoker-name": name_of(bc),
                    "kubestash.com/invoker-namespace": ns,
                }
                await self.cluster.create(
                    REPOSITORIES,
                    {"metadata": {"name": rname, "namespace": ns, "labels": labels}, "spec": spec},
                )

    def _repository_statuses(self, bc: JSONDict) -> list[JSONDict]:
        ns = ns_of(bc)
        out: list[JSONDict] = []
        seen: set[str] = set()
        for session in mappings_at(bc, "spec", "sessions"):
            for entry in mappings_at(session, "repositories"):
                rname = text_at(entry, "name")
                if not rname or rname in seen:
                    continue
                seen.add(rname)
                repo = self.cluster.view(REPOSITORIES, (ns, rname))
                phase = str_at(repo, "status", "phase") or "NotReady"
                item: JSONDict = {"name": rname, "phase": phase}
                if repo is None:
                    item["reason"] = "Repository has not been created yet"
                elif phase != "Ready":
                    found = condition_in(dig(repo, "status", "conditions"), "RepositoryInitialized")
                    item["reason"] = (found and found.message) or "Repository is not ready"
                if entry.get("backupVerifier"):
                    item["verificationConfigured"] = True
                out.append(item)
        return out

    async def trigger(
        self, bc: Mapping[str, Any], session: Mapping[str, Any], *, stamp: int
    ) -> bool:
        """Create a BackupSession for one session of a BackupConfiguration."""
        ns, bc_name, sname = ns_of(bc), name_of(bc), text_at(session, "name")
        spec: JSONDict = {
            "invoker": {"apiGroup": CORE, "kind": BACKUP_CONFIGURATIONS.kind, "name": bc_name},
            "session": sname,
        }
        if str_at(session, "backupTimeout"):
            spec["backupTimeout"] = session["backupTimeout"]
        labels = {
            "kubestash.com/invoker-kind": BACKUP_CONFIGURATIONS.kind,
            "kubestash.com/invoker-name": bc_name,
            "kubestash.com/session-name": sname,
        }
        body: JSONDict = {
            "metadata": {
                "name": valid_name(f"{bc_name}-{sname}", str(stamp)),
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [owner(bc)],
            },
            "spec": spec,
        }
        return await self.cluster.create(BACKUP_SESSIONS, body) is not None
