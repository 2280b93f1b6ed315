"""restoreDatabase's whole plan, and running it: the caller's changes, then the record.

The plan, in order (``restore-design.md``): the traffic pause (if ``pauseTraffic``), the
pauses of the database's running BackupConfigurations, the RestoreSession (planned by
the restore planner, ``resolvers/writes/restore``, and handed in as ``data_restore``),
and WAIT changes describing what the controller does later. The caller's changes run
through the engine as the caller; the workflow record is then created as the gateway
(the engine's ``finish`` step), so it exists only if everything the caller asked for
went through, and if creating it fails the caller's changes are undone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from apis import objects
from apis.resources import CONFIG_MAPS, RESTORE_SESSIONS
from core.identity import Viewer
from kube.client import KubeError
from resolvers.reads.workflows import (
    Check,
    DatabaseRef,
    Ref,
    Workflow,
    new_steps,
    parse_workflow,
)
from resolvers.writes.backup.common import Database, find_database, targets
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.engine import Outcome, Writer
from resolvers.writes.plan import Change, JSONDict, Plan, Store, UserError
from resolvers.writes.refusals import refusal
from resolvers.writes.traffic import pause_backup_changes, pause_changes, workflows_for
from resolvers.writes.wire import Wire

# RestoreSession phases after which nothing more happens.
FINAL_SESSION_PHASES = frozenset({"SUCCEEDED", "FAILED", "INVALID"})
NOT_READY_PHASES = frozenset({"HALTED", "PROVISIONING", "DATA_RESTORING"})


@dataclass(frozen=True)
class RestoreCheckInput:
    hook_template: ObjectRefInput
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class RestoreWorkflowInput:
    """What restoreDatabase asks, with the source already resolved to one snapshot."""

    database: ObjectRefInput
    snapshot: ObjectRefInput
    pause_traffic: bool = True
    resume: str = "AUTOMATIC"
    checks: Sequence[RestoreCheckInput] = ()
    repository: ObjectRefInput | None = None
    tasks: Sequence[str] = ()
    point_in_time: bool = False


# The restore planner's part: given the database and the plan (to refuse or warn in),
# the RestoreSession CREATE; None if it refused.
DataRestore = Callable[[Database, Plan], Change | None]


@dataclass
class RestorePlan:
    plan: Plan = field(default_factory=Plan)
    # The record created as the gateway once the caller's changes succeeded.
    workflow: Workflow | None = None


def workflow_id(cluster: str, db: Database, now: datetime) -> str:
    seed = f"{cluster}/{db.kind}/{db.namespace}/{db.name}/{now.timestamp():.6f}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _validate(inp: RestoreWorkflowInput, plan: Plan) -> None:
    if inp.point_in_time:
        plan.refuse(
            "RECOVERY_NOT_AVAILABLE",
            "A point in time can only be restored into a new database (restoreToNewDatabase).",
            field=("source", "pointInTime"),
        )
    if not inp.pause_traffic and inp.resume != "AUTOMATIC":
        plan.refuse(
            "INVALID_INPUT",
            f"resume {inp.resume} needs pauseTraffic: with traffic running there is "
            "nothing to resume.",
            field=("resume",),
        )
    if inp.resume == "AFTER_CHECKS" and not inp.checks:
        plan.refuse(
            "INVALID_INPUT",
            "resume AFTER_CHECKS needs at least one check.",
            field=("checks",),
        )
    if inp.resume == "AUTOMATIC" and inp.checks:
        plan.refuse(
            "INVALID_INPUT",
            "Checks need resume AFTER_CHECKS or MANUAL: with AUTOMATIC traffic resumes "
            "as soon as the data is restored, before any check.",
            field=("checks",),
        )


def _in_progress(store: Store, *, cluster: str, namespace: str, db: Database) -> str | None:
    """Why another restore into the database is still running, if one is."""
    running = next(
        (w for w in workflows_for(store, cluster=cluster, namespace=namespace, db=db) if w.active),
        None,
    )
    if running is not None:
        return f"restore workflow {running.id} is {running.phase.lower().replace('_', ' ')}"
    for rs in store.list(cluster, RESTORE_SESSIONS, db.namespace):
        if targets(rs, db) and objects.restore_session_phase(rs) not in FINAL_SESSION_PHASES:
            return f"RestoreSession {db.namespace}/{objects.name_of(rs)} is running"
    return None


def plan_restore_database(
    inp: RestoreWorkflowInput,
    *,
    store: Store,
    cluster: str,
    caller: Viewer,
    own_namespace: str,
    now: datetime,
    data_restore: DataRestore,
) -> RestorePlan:
    out = RestorePlan()
    plan = out.plan
    _validate(inp, plan)
    if plan.refused:
        return out
    db = find_database(store, cluster=cluster, ref=inp.database, plan=plan)
    if db is None:
        return out
    phase = objects.database_phase(db.raw)
    if phase in NOT_READY_PHASES:
        plan.refuse(
            "DATABASE_NOT_READY",
            f"{db.label} is {phase.lower().replace('_', ' ')}; restore into it once it runs.",
            field=("database",),
        )
        return out
    busy = _in_progress(store, cluster=cluster, namespace=own_namespace, db=db)
    if busy is not None:
        plan.refuse(
            "RESTORE_IN_PROGRESS",
            f"Another restore into {db.label} is in progress ({busy}); wait for it to end.",
            field=("database",),
        )
        return out
    wid = workflow_id(cluster, db, now)
    traffic: list[Change] = []
    if inp.pause_traffic:
        for change in pause_changes(
            db,
            store=store,
            cluster=cluster,
            plan=plan,
            by=caller.username,
            reason=f"restoring snapshot {inp.snapshot.namespace}/{inp.snapshot.name}",
            workflow=wid,
            now=now,
        ):
            plan.add(change)
            traffic.append(change)
        if plan.refused:
            return out
    backups, paused = pause_backup_changes(db, store=store, cluster=cluster)
    for change in backups:
        plan.add(change)
    session = data_restore(db, plan)
    if session is None or plan.refused:
        return out
    plan.add(session)
    _waits(plan, inp, db=db, cluster=cluster, session=session, backups=backups, traffic=traffic)
    _warnings(plan, inp, db=db, backups=bool(paused))
    steps = new_steps(pause_traffic=inp.pause_traffic, checks=bool(inp.checks), resume=inp.resume)
    workflow = Workflow(
        id=wid,
        cluster=cluster,
        database=DatabaseRef(db.kind, db.namespace, db.name),
        snapshot=Ref(inp.snapshot.namespace, inp.snapshot.name),
        repository=Ref(inp.repository.namespace, inp.repository.name) if inp.repository else None,
        restore_session=session.name,
        pause_traffic=inp.pause_traffic,
        resume=inp.resume,
        started_by=caller.username,
        started_groups=tuple(caller.groups),
        started_at=now,
        steps=steps,
        checks=tuple(
            Check(Ref(c.hook_template.namespace, c.hook_template.name), c.params)
            for c in inp.checks
        ),
        tasks=tuple(inp.tasks),
        paused_backups=tuple(paused),
    )
    # What the mutation itself does is done once the record exists.
    if inp.pause_traffic:
        workflow = workflow.with_step("PAUSE_TRAFFIC", "SUCCEEDED", now=now)
    if paused:
        workflow = workflow.with_step("PAUSE_BACKUPS", "SUCCEEDED", now=now)
    else:
        workflow = workflow.with_step(
            "PAUSE_BACKUPS", "SKIPPED", now=now, message="No scheduled backup was running."
        )
        workflow = workflow.with_step(
            "RESUME_BACKUPS", "SKIPPED", now=now, message="No backup was paused."
        )
    out.workflow = workflow.with_step(
        "RESTORE_DATA",
        "RUNNING",
        now=now,
        message=f"RestoreSession {session.name} restores the data.",
    )
    return out


def _waits(
    plan: Plan,
    inp: RestoreWorkflowInput,
    *,
    db: Database,
    cluster: str,
    session: Change,
    backups: Sequence[Change],
    traffic: Sequence[Change],
) -> None:
    """The workflow's later steps, written by its controller once the ones before end:
    nothing is written for them now, so each is a WAIT naming the object it will touch."""

    def wait(summary: str) -> None:
        plan.add(Change("WAIT", cluster, RESTORE_SESSIONS, db.namespace, session.name, summary))

    wait("Wait for the restore to finish.")
    if inp.checks:
        n = len(inp.checks)
        wait(f"Run {n} check{'s' if n != 1 else ''}.")
    if inp.resume == "MANUAL":
        wait("Wait for resumeDatabaseTraffic.")
    for change in backups:
        if change.action == "PATCH":  # one this restore pauses (not one paused already)
            later = (
                f"Then resume {change.kind} {change.namespace}/{change.name}'s scheduled backups."
            )
            plan.add(replace(change, action="WAIT", body=None, summary=later))

    # Resuming traffic undoes the pause: the Service first, then the record on the
    # database, and the maintenance Service last.
    def undo(change: Change) -> tuple[int, str]:
        where = f"{change.namespace}/{change.name}"
        if change.action == "CREATE":
            return 2, f"Then delete the maintenance Service {where}."
        if change.resource.kind == "Service":
            return 0, f"Then point Service {where} at the database's pods again."
        return 1, f"Then remove the traffic-paused record from {db.label}."

    steps = [(undo(c), c) for c in traffic if c.action in ("PATCH", "CREATE")]
    for (_, summary), change in sorted(steps, key=lambda step: step[0][0]):
        plan.add(replace(change, action="WAIT", body=None, summary=summary))


def _warnings(plan: Plan, inp: RestoreWorkflowInput, *, db: Database, backups: bool) -> None:
    if inp.pause_traffic:
        plan.warn(
            "TRAFFIC_STOPPED",
            f"Applications cannot connect to {db.label} while it is restored.",
        )
    else:
        plan.warn(
            "TRAFFIC_NOT_STOPPED",
            f"Applications stay connected to {db.label} and may see or change data while "
            "it is restored.",
        )
    if backups:
        plan.warn(
            "BACKUPS_PAUSED_DURING_RESTORE",
            f"Scheduled backups of {db.label} are paused until the restore ends; after a "
            "failure they stay paused.",
        )
    if inp.resume == "MANUAL":
        plan.warn(
            "MANUAL_RESUME_REQUIRED",
            f"Traffic to {db.label} stays paused after the restore until resumeDatabaseTraffic.",
        )


async def run_restore(
    writer: Writer,
    restore: RestorePlan,
    *,
    caller: Viewer,
    own_namespace: str,
    input_digest: str,
    dry_run: bool,
    idempotency_key: str | None,
    request_id: str = "",
) -> tuple[Outcome, Workflow | None]:
    """Run the plan as the caller, then create the record as the gateway."""
    created: list[Workflow] = []
    workflow = restore.workflow

    async def finish(wire: Wire, applied: list[JSONDict]) -> UserError | None:
        del applied
        if workflow is None:
            return None
        body = workflow.config_map(namespace=own_namespace)
        record = Change(
            "CREATE",
            workflow.cluster,
            CONFIG_MAPS,
            own_namespace,
            workflow.name,
            f"Record restore workflow {workflow.id}.",
            body,
        )
        try:
            raw = await wire.as_gateway(
                workflow.cluster, "POST", CONFIG_MAPS.path(namespace=own_namespace), body=body
            )
        except KubeError as exc:
            return refusal(exc, record)
        created.append(parse_workflow(raw) or workflow)
        return None

    outcome = await writer.run(
        restore.plan,
        caller=caller,
        mutation="restoreDatabase",
        input_digest=input_digest,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        request_id=request_id,
        finish=None if dry_run or workflow is None else finish,
    )
    return outcome, created[0] if created else None
