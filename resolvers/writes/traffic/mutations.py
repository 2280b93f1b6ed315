"""The planners of pauseDatabaseTraffic and resumeDatabaseTraffic.

Pure functions of the input and the cache. resumeDatabaseTraffic also completes a
restore waiting for it (phase AWAITING_RESUME), or a failed one whose traffic and
backups stayed paused: its plan then also resumes the backups that restore paused, and
names the workflow, whose record the caller's runner updates (as the gateway) once the
changes succeeded. While data is still being restored or checked it is refused
(RESTORE_IN_PROGRESS): resuming then would let applications read half-restored data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apis.resources import CONFIG_MAPS
from resolvers.reads.workflows import DatabaseRef, Workflow, for_database, workflows_of
from resolvers.writes.backup.common import Database, find_database
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import Plan, Store
from resolvers.writes.traffic.backups import resume_backup_changes
from resolvers.writes.traffic.planner import pause_changes, resume_changes

# Steps during which the data is not yet restored and checked.
BEFORE_RESUME = ("PAUSE_TRAFFIC", "PAUSE_BACKUPS", "RESTORE_DATA", "RUN_CHECKS")


@dataclass(frozen=True)
class PauseDatabaseTrafficInput:
    database: ObjectRefInput
    reason: str | None = None


@dataclass(frozen=True)
class ResumeDatabaseTrafficInput:
    database: ObjectRefInput


@dataclass
class TrafficPlan:
    plan: Plan = field(default_factory=Plan)
    # resumeDatabaseTraffic: the restore it completes, if one was waiting for it.
    completes: Workflow | None = None


def database_ref(db: Database) -> DatabaseRef:
    return DatabaseRef(db.kind, db.namespace, db.name)


def workflows_for(store: Store, *, cluster: str, namespace: str, db: Database) -> list[Workflow]:
    """The database's restore workflows, newest first, from the records the cache holds."""
    found = workflows_of(store.list(cluster, CONFIG_MAPS, namespace), cluster=cluster)
    return for_database(found, database_ref(db))


def plan_pause_database_traffic(
    inp: PauseDatabaseTrafficInput, *, store: Store, cluster: str, caller: str, now: datetime
) -> TrafficPlan:
    out = TrafficPlan()
    db = find_database(store, cluster=cluster, ref=inp.database, plan=out.plan)
    if db is None:
        return out
    reason = (inp.reason or "").strip() or None
    if reason is not None and len(reason) > 1000:
        out.plan.refuse(
            "INVALID_INPUT", "The reason is at most 1000 characters.", field=("reason",)
        )
        return out
    changes = pause_changes(
        db,
        store=store,
        cluster=cluster,
        plan=out.plan,
        by=caller,
        reason=reason,
        workflow=None,
        now=now,
    )
    for change in changes:
        out.plan.add(change)
    if changes and any(c.action != "NONE" for c in changes):
        out.plan.warn(
            "TRAFFIC_STOPPED",
            f"Applications cannot connect to {db.label} until resumeDatabaseTraffic; the "
            f"maintenance Service {db.name}-maintenance still reaches it.",
        )
    return out


def waiting_workflow(workflows: list[Workflow]) -> Workflow | None:
    """The workflow a resume completes: one awaiting it, or the latest one if it failed
    and left traffic or backups paused."""
    for w in workflows:
        if w.phase == "AWAITING_RESUME":
            return w
    latest = workflows[0] if workflows else None
    if (
        latest is not None
        and latest.phase == "FAILED"
        and any(latest.step(k).open for k in ("RESUME_BACKUPS", "RESUME_TRAFFIC"))
    ):
        return latest
    return None


def plan_resume_database_traffic(
    inp: ResumeDatabaseTrafficInput, *, store: Store, cluster: str, own_namespace: str
) -> TrafficPlan:
    out = TrafficPlan()
    plan = out.plan
    db = find_database(store, cluster=cluster, ref=inp.database, plan=plan)
    if db is None:
        return out
    workflows = workflows_for(store, cluster=cluster, namespace=own_namespace, db=db)
    running = next((w for w in workflows if w.phase == "RUNNING"), None)
    if running is not None and any(running.step(k).open for k in BEFORE_RESUME):
        plan.refuse(
            "RESTORE_IN_PROGRESS",
            f"A restore into {db.label} is still restoring or checking the data "
            f"(workflow {running.id}); traffic resumes as that restore says.",
            field=("database",),
        )
        return out
    completes = waiting_workflow(workflows)
    changes = resume_changes(db, store=store, cluster=cluster, plan=plan)
    if plan.refused:
        return out
    if completes is not None:
        backups = resume_backup_changes(completes.paused_backups, store=store, cluster=cluster)
        changes = backups + [c for c in changes if c.action != "NONE" or not backups]
    # Deletes last (the engine's rule): the maintenance Service goes after every patch.
    changes.sort(key=lambda c: c.action == "DELETE")
    for change in changes:
        plan.add(change)
    out.completes = completes
    return out
