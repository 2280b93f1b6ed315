"""Where a running workflow goes next: a pure function of the record and the cache.

``advance`` looks at the current step and the world and answers one ``Move``: a record
update, and for the resume steps the changes to run first (as the workflow's
``startedBy``, through the engine). Steps that write are two moves: the step is marked
RUNNING (a guarded PUT, so only one controller goes on), then its changes are planned
afresh from the world (NONE where already so, which is what makes a step carried out by
a controller that died before recording it end as if done once) and the step is marked
SUCCEEDED.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from apis import objects
from apis.resources import RESTORE_SESSIONS
from resolvers.reads.workflows import Check, Workflow
from resolvers.writes.backup.common import find_database
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import Plan, Store
from resolvers.writes.traffic import resume_backup_changes, resume_changes

# A RestoreSession not in the cache this long after the workflow started is gone.
SESSION_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Move:
    # The record to write next (None: nothing to record).
    record: Workflow | None = None
    # Changes to run as startedBy before writing ``record``.
    act: Plan | None = None


def fail(wf: Workflow, kind: str, message: str, *, now: datetime) -> Workflow:
    """The step FAILED, the workflow FAILED; later steps stay PENDING (traffic and
    backups stay paused until resumeDatabaseTraffic)."""
    return wf.with_step(kind, "FAILED", now=now, message=message).with_phase("FAILED", now=now)


def complete_resume(wf: Workflow, *, by: str, now: datetime) -> Workflow:
    """A resume done by resumeDatabaseTraffic: the waiting and resume steps done."""
    for kind in ("AWAIT_RESUME", "RESUME_BACKUPS", "RESUME_TRAFFIC"):
        step = wf.step(kind)
        if step.open:
            wf = wf.with_step(kind, "SUCCEEDED", now=now, message=f"Resumed by {by}.")
    return wf if wf.phase == "FAILED" else wf.with_phase("SUCCEEDED", now=now)


def _session_failure(rs: dict[str, object]) -> str:
    for name, component in objects.named_entries(rs, "status", "components"):
        error = objects.str_at(component, "error")
        if error:
            return f"component {name}: {error}"
    for condition in objects.conditions_of(rs):
        if condition.status == "False" and condition.message:
            return condition.message
    return "no reason given"


def advance(wf: Workflow, *, store: Store, now: datetime) -> Move | None:
    if wf.phase != "RUNNING":
        return None
    step = wf.current_step
    if step is None:
        return Move(record=wf.with_phase("SUCCEEDED", now=now))
    if step.state == "FAILED":
        return Move(record=wf.with_phase("FAILED", now=now))
    kind = step.kind
    if kind in ("PAUSE_TRAFFIC", "PAUSE_BACKUPS"):
        # restoreDatabase did these before the record existed.
        return Move(record=wf.with_step(kind, "SUCCEEDED", now=now))
    db = wf.database
    rs = store.get(wf.cluster, RESTORE_SESSIONS, db.namespace, wf.restore_session)
    if kind in ("RESTORE_DATA", "RUN_CHECKS") and rs is None:
        if now - wf.started_at < SESSION_GRACE:
            return None  # the cache may not have seen it yet
        what = f"RestoreSession {db.namespace}/{wf.restore_session} was deleted."
        return Move(record=fail(wf, kind, what, now=now))
    if kind == "RESTORE_DATA":
        assert rs is not None
        phase = objects.restore_session_phase(rs)
        if phase == "SUCCEEDED":
            return Move(record=wf.with_step(kind, "SUCCEEDED", now=now, message="Data restored."))
        if phase in ("FAILED", "INVALID"):
            why = f"The restore {phase.lower()}: {_session_failure(rs)}"
            return Move(record=fail(wf, kind, why, now=now))
        return (
            None if step.state == "RUNNING" else Move(record=wf.with_step(kind, "RUNNING", now=now))
        )
    if kind == "RUN_CHECKS":
        assert rs is not None
        return _checks(wf, rs, now=now)
    if kind == "AWAIT_RESUME":
        waiting = wf.with_step(
            kind, "RUNNING", now=now, message="Waiting for resumeDatabaseTraffic."
        )
        return Move(record=waiting.with_phase("AWAITING_RESUME", now=now))
    if step.state == "PENDING":
        return Move(record=wf.with_step(kind, "RUNNING", now=now))
    plan = Plan()
    if kind == "RESUME_BACKUPS":
        for change in resume_backup_changes(wf.paused_backups, store=store, cluster=wf.cluster):
            plan.add(change)
        return Move(record=wf.with_step(kind, "SUCCEEDED", now=now), act=plan)
    # RESUME_TRAFFIC
    ref = ObjectRefInput(namespace=db.namespace, name=db.name, kind=db.kind)
    found = find_database(store, cluster=wf.cluster, ref=ref, plan=plan)
    if found is None:
        return Move(record=fail(wf, kind, f"{db.label} is gone.", now=now))
    changes = resume_changes(found, store=store, cluster=wf.cluster, plan=plan)
    if plan.refused:
        return Move(record=fail(wf, kind, plan.errors[0].message, now=now))
    for change in sorted(changes, key=lambda c: c.action == "DELETE"):
        plan.add(change)
    done = wf.with_step(kind, "SUCCEEDED", now=now, message="Applications can connect again.")
    return Move(record=done, act=plan)


def _checks(wf: Workflow, rs: dict[str, object], *, now: datetime) -> Move | None:
    hooks = {
        objects.str_at(h, "name"): objects.str_at(h, "phase")
        for h in objects.mappings_at(rs, "status", "hooks", "postHooks")
    }
    checks: list[Check] = []
    for i, check in enumerate(wf.checks):
        phase = hooks.get(f"check-{i}")
        state = {"Succeeded": "SUCCEEDED", "Failed": "FAILED"}.get(phase or "", "RUNNING")
        message = check.message
        if state == "FAILED":
            message = f"Check {check.hook_template.namespace}/{check.hook_template.name} failed."
        checks.append(Check(check.hook_template, check.params, state, message))
    updated = wf.with_checks(checks) if tuple(checks) != wf.checks else wf
    failed = [c for c in checks if c.state == "FAILED"]
    if failed:
        names = ", ".join(f"{c.hook_template.namespace}/{c.hook_template.name}" for c in failed)
        why = f"Check {names} failed; traffic and backups stay paused."
        return Move(record=fail(updated, "RUN_CHECKS", why, now=now))
    if all(c.state == "SUCCEEDED" for c in checks):
        return Move(
            record=updated.with_step(
                "RUN_CHECKS", "SUCCEEDED", now=now, message="Every check passed."
            )
        )
    step = wf.step("RUN_CHECKS")
    if step.state == "PENDING":
        return Move(record=updated.with_step("RUN_CHECKS", "RUNNING", now=now))
    return Move(record=updated) if updated is not wf else None
