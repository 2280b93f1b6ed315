"""triggerBackup: run a database's backup now, outside the schedule.

Exactly what ``kubectl kubestash trigger`` does: one BackupSession per session, named
``<configuration>-<session>-<unix seconds>``, invoking the BackupConfiguration and
owned by it (so it goes with the configuration). The configuration is the user's one,
else the one KubeDB made for the database's archiver.
"""

from __future__ import annotations

from datetime import datetime

from apis import objects
from apis.resources import BACKUP_CONFIGURATIONS, BACKUP_SESSIONS, CORE, RESTORE_SESSIONS
from resolvers.writes.backup.common import (
    GATEWAY,
    MANAGED_BY,
    Database,
    PlanWithImpact,
    archiver_made,
    archiver_state,
    configurations_of,
    find_database,
    own_configuration,
)
from resolvers.writes.backup.inputs import TriggerBackupInput
from resolvers.writes.plan import Change, JSONDict, Plan, Store

# Phases in which nothing can run against the database (kubedb.com status.phase).
_NOT_READY = frozenset({"Provisioning", "Halted"})
_RESTORE_RUNNING = frozenset({"Pending", "Running"})


def _paused_by_restore(store: Store, cluster: str, bc: JSONDict) -> str | None:
    """The running RestoreSession that paused the configuration, if any."""
    namespace = objects.namespace_of(bc)
    for restore in store.list(cluster, RESTORE_SESSIONS, namespace):
        if objects.str_at(restore, "status", "phase") not in _RESTORE_RUNNING:
            continue
        for paused in objects.mappings_at(restore, "status", "pausedBackups"):
            if (
                paused.get("kind") == BACKUP_CONFIGURATIONS.kind
                and paused.get("name") == objects.name_of(bc)
                and (paused.get("namespace") or namespace) == namespace
            ):
                return objects.name_of(restore)
    return None


def _ready(db: Database, plan: Plan) -> bool:
    phase = objects.str_at(db.raw, "status", "phase") or "Provisioning"
    if objects.bool_at(db.raw, "spec", "halted") or phase in _NOT_READY:
        state = (
            "halted"
            if phase == "Halted" or objects.bool_at(db.raw, "spec", "halted")
            else ("still provisioning")
        )
        plan.refuse(
            "DATABASE_NOT_READY",
            f"{db.label} is {state}, so no backup can run; try again once it is Ready.",
            field=("database",),
        )
        return False
    return True


def _configuration(store: Store, cluster: str, db: Database, plan: Plan) -> JSONDict | None:
    configs = configurations_of(store, cluster=cluster, db=db)
    bc = own_configuration(configs, db) or next((c for c in configs if archiver_made(c, db)), None)
    if bc is None:
        message = f"Backup is not set up for {db.label}; use enableBackup first."
        if archiver_state(db).active:
            message = (
                f"KubeDB has not yet made the configuration for the continuous backup of "
                f"{db.label}; try again once it exists."
            )
        plan.refuse("BACKUP_NOT_ENABLED", message, field=("database",))
        return None
    if objects.bool_at(bc, "spec", "paused") or (
        archiver_made(bc, db) and archiver_state(db).paused
    ):
        plan.refuse(
            "BACKUP_PAUSED",
            f"Backups of {db.label} are paused; run resumeBackup first.",
            field=("database",),
        )
        return None
    restore = _paused_by_restore(store, cluster, bc)
    if restore is not None:
        plan.refuse(
            "BACKUP_PAUSED",
            f"Backups of {db.label} are paused while RestoreSession {restore} restores it; "
            "try again when it is done.",
            field=("database",),
        )
        return None
    return bc


def _sessions(bc: JSONDict, asked: list[str] | None, plan: Plan) -> list[str]:
    names = [
        n for s in objects.mappings_at(bc, "spec", "sessions") if (n := objects.str_at(s, "name"))
    ]
    if asked is None:
        return names
    if not asked:
        plan.refuse(
            "INVALID_INPUT",
            f"Name at least one session ({', '.join(names)}), or leave sessions out to run all.",
            field=("sessions",),
        )
        return []
    unknown = [n for n in dict.fromkeys(asked) if n not in names]
    if unknown:
        plan.refuse(
            "INVALID_INPUT",
            f"The backup has no session {', '.join(unknown)}; its sessions are {', '.join(names)}.",
            field=("sessions",),
        )
        return []
    return list(dict.fromkeys(asked))


def backup_session(bc: JSONDict, session: str, *, now: datetime) -> JSONDict:
    name = objects.name_of(bc)
    metadata: JSONDict = {
        "name": f"{name}-{session}-{int(now.timestamp())}",
        "namespace": objects.namespace_of(bc),
        "labels": {MANAGED_BY: GATEWAY},
    }
    uid = objects.uid_of(bc)
    if uid:
        metadata["ownerReferences"] = [
            {
                "apiVersion": BACKUP_CONFIGURATIONS.api_version,
                "kind": BACKUP_CONFIGURATIONS.kind,
                "name": name,
                "uid": uid,
                "controller": True,
            }
        ]
    return {
        "apiVersion": BACKUP_SESSIONS.api_version,
        "kind": BACKUP_SESSIONS.kind,
        "metadata": metadata,
        "spec": {
            "invoker": {"apiGroup": CORE, "kind": BACKUP_CONFIGURATIONS.kind, "name": name},
            "session": session,
        },
    }


def plan_trigger_backup(
    inp: TriggerBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    result = PlanWithImpact()
    plan = result.plan
    db = find_database(store, cluster=cluster, ref=inp.database, plan=plan)
    if db is None:
        return result
    bc = _configuration(store, cluster, db, plan)
    if bc is None or not _ready(db, plan):
        return result
    sessions = _sessions(bc, list(inp.sessions) if inp.sessions is not None else None, plan)
    for session in sessions:
        body = backup_session(bc, session, now=now)
        plan.add(
            Change(
                action="CREATE",
                cluster=cluster,
                resource=BACKUP_SESSIONS,
                namespace=db.namespace,
                name=body["metadata"]["name"],
                summary=f"Start session {session} of BackupConfiguration "
                f"{db.namespace}/{objects.name_of(bc)} now, backing up {db.label}.",
                body=body,
            )
        )
    return result
