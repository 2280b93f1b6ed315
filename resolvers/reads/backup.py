"""A database's backup status: how it is set up, whether it works, what is wrong.

Set-up is recognised, in this order, from:
1. BackupBlueprint annotations on the database (``blueprint.kubestash.com/name`` and
   ``/namespace``): KubeStash generates a BackupConfiguration from the blueprint;
2. a KubeDB archiver (``spec.archiver.ref``): continuous backup;
3. a BackupConfiguration whose ``spec.target`` is the database.
The BackupConfiguration is found through the ``spec.target`` index, never by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apis import objects
from apis.resources import CORE, STORAGE
from core import cron
from core.times import parse_time
from resolvers.reads.graph import Graph, Item

BLUEPRINT_NAME = "blueprint.kubestash.com/name"
BLUEPRINT_NAMESPACE = "blueprint.kubestash.com/namespace"
BLUEPRINT_SESSIONS = "blueprint.kubestash.com/session-names"
VARIABLE_PREFIX = "variables.kubestash.com/"

_VARIABLE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}")

# A run may take a while: only call a backup overdue once it is this much past due.
OVERDUE_GRACE = timedelta(minutes=10)


@dataclass
class BackupState:
    enabled: bool = False
    via: str | None = None
    blueprint: Item | None = None
    configuration: Item | None = None
    schedule: str | None = None
    paused: bool = False
    retention: Item | None = None
    last_session: Item | None = None
    last_successful_snapshot: Item | None = None
    next_scheduled_at: datetime | None = None
    health: str = "NOT_CONFIGURED"
    problems: list[str] = field(default_factory=list)


def resolve_variables(text: str, variables: dict[str, str]) -> str:
    """Fill ``${name}`` from the database's ``variables.kubestash.com/<name>`` annotations."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def variables_of(database: Item) -> dict[str, str]:
    annotations = objects.annotations_of(database.raw)
    return {
        k[len(VARIABLE_PREFIX) :]: v
        for k, v in annotations.items()
        if k.startswith(VARIABLE_PREFIX)
    }


def _newest(items: list[Item], key: str) -> Item | None:
    def when(item: Item) -> str:
        if key == "snapshot":
            return str(
                objects.dig(item.raw, "status", "snapshotTime")
                or objects.dig(item.raw, "metadata", "creationTimestamp")
                or ""
            )
        return str(objects.dig(item.raw, "metadata", "creationTimestamp") or "")

    return max(items, key=lambda i: (when(i), i.name), default=None)


def _configuration(
    graph: Graph, database: Item, blueprint_ref: tuple[str, str] | None
) -> Item | None:
    app = (database.resource.kind, database.namespace, database.name)
    configs = graph.related(database.cluster, CORE, "BackupConfiguration", "app", app)
    if not configs:
        return None
    if blueprint_ref is not None:
        # Generated BCs carry the blueprint as their invoker (labels), per KubeStash.
        for bc in configs:
            labels = objects.labels_of(bc.raw)
            if (
                labels.get("kubestash.com/invoker-name") == blueprint_ref[1]
                and labels.get("kubestash.com/invoker-namespace", blueprint_ref[0])
                == blueprint_ref[0]
            ):
                return bc
    return sorted(configs, key=lambda i: (i.namespace, i.name))[0]


def _condition(raw: dict[str, object], kind: str) -> objects.ConditionData | None:
    return next((c for c in objects.conditions_of(raw) if c.type == kind), None)


def backup_status(graph: Graph, database: Item) -> BackupState:
    key = ("backup", database.cluster, database.resource.kind, database.namespace, database.name)
    cached = graph.memo.get(key)
    if isinstance(cached, BackupState):
        return cached
    state = _compute(graph, database, now=datetime.now(UTC))
    graph.memo[key] = state
    return state


def backup_health(graph: Graph, database: Item) -> str:
    return backup_status(graph, database).health


def _compute(graph: Graph, database: Item, *, now: datetime) -> BackupState:
    state = BackupState()
    annotations = objects.annotations_of(database.raw)
    variables = variables_of(database)
    blueprint_ref: tuple[str, str] | None = None
    if annotations.get(BLUEPRINT_NAME):
        blueprint_ref = (
            annotations.get(BLUEPRINT_NAMESPACE) or database.namespace,
            annotations[BLUEPRINT_NAME],
        )
    archiver = objects.mapping_at(database.raw, "spec", "archiver", "ref")

    bc = _configuration(graph, database, blueprint_ref)
    state.configuration = bc
    if blueprint_ref is not None:
        state.via = "BackupBlueprint"
        state.blueprint = graph.get(database.cluster, CORE, "BackupBlueprint", *blueprint_ref)
    elif archiver.get("name"):
        state.via = "Archiver"
    elif bc is not None:
        state.via = "BackupConfiguration"
    state.enabled = state.via is not None
    if not state.enabled:
        return state

    if blueprint_ref is not None and bc is None:
        ns, name = blueprint_ref
        known = graph.unfiltered(database.cluster, CORE, "BackupBlueprint")
        if not any(b.namespace == ns and b.name == name for b in known):
            state.problems.append(
                f"The database asks for BackupBlueprint {ns}/{name}, which does not exist, "
                "so no backup is configured."
            )
        else:
            state.problems.append(
                f"No BackupConfiguration has been generated from BackupBlueprint {ns}/{name} "
                f"yet: check that the blueprint allows namespace {database.namespace} and that "
                "every ${variable} it uses is set as a variables.kubestash.com annotation."
            )

    sessions = objects.configured_sessions(bc.raw) if bc is not None else []
    if not sessions and state.blueprint is not None:
        template = objects.mapping_at(state.blueprint.raw, "spec", "backupConfigurationTemplate")
        sessions = objects.configured_sessions({"spec": template})
    schedules = [s.schedule for s in sessions if s.schedule]
    if schedules:
        state.schedule = resolve_variables(schedules[0], variables)
    nexts = [s.next_scheduled_at for s in sessions if s.next_scheduled_at]
    state.next_scheduled_at = min(nexts) if nexts else None

    state.paused = bool(
        (bc is not None and objects.bool_at(bc.raw, "spec", "paused"))
        or objects.bool_at(database.raw, "spec", "archiver", "pause")
    )

    failing = False
    if bc is not None:
        failing |= _configuration_problems(graph, bc, state)
        invoker = (bc.namespace, "BackupConfiguration", bc.name)
        runs = graph.related(database.cluster, CORE, "BackupSession", "invoker", invoker)
        state.last_session = _newest(runs, "created")
        if state.last_session is not None:
            phase = objects.backup_session_phase(state.last_session.raw)
            if phase == "FAILED":
                failing = True
                state.problems.append(
                    f"The last backup ({state.last_session.name}) failed"
                    + _reason(state.last_session.raw)
                )

    app = (database.resource.kind, database.namespace, database.name)
    snapshots = graph.related(database.cluster, STORAGE, "Snapshot", "app", app)
    succeeded = [
        s
        for s in snapshots
        if objects.snapshot_phase(s.raw) == "SUCCEEDED" and objects.snapshot_type(s.raw) == "FULL"
    ]
    state.last_successful_snapshot = _newest(succeeded, "snapshot")

    overdue = _overdue(state, bc, now=now)
    if overdue:
        state.problems.append(overdue)
    if state.paused:
        state.problems.append("Backups are paused.")

    if failing:
        state.health = "FAILING"
    elif state.problems:
        state.health = "WARNING"
    else:
        state.health = "HEALTHY"
    return state


def _reason(raw: dict[str, object]) -> str:
    for c in objects.conditions_of(raw):
        if c.status == "False" and c.message:
            return f": {c.message}"
    return "."


def _configuration_problems(graph: Graph, bc: Item, state: BackupState) -> bool:
    """Add sentences for what is wrong with the BackupConfiguration; True if it cannot run."""
    failing = False
    raw = bc.raw
    for backend in objects.mappings_at(raw, "spec", "backends"):
        storage = objects.mapping_at(backend, "storageRef")
        if storage.get("name"):
            ns = str(storage.get("namespace") or bc.namespace)
            found = any(
                s.namespace == ns and s.name == storage["name"]
                for s in graph.unfiltered(bc.cluster, STORAGE, "BackupStorage")
            )
            if not found:
                failing = True
                state.problems.append(
                    f"BackupStorage {ns}/{storage['name']} does not exist, so backups have "
                    "nowhere to go."
                )
        retention = objects.mapping_at(backend, "retentionPolicy")
        if retention.get("name"):
            ns = str(retention.get("namespace") or bc.namespace)
            matches = [
                r
                for r in graph.unfiltered(bc.cluster, STORAGE, "RetentionPolicy")
                if r.namespace == ns and r.name == retention["name"]
            ]
            if matches:
                state.retention = state.retention or matches[0]
            else:
                failing = True
                state.problems.append(
                    f"RetentionPolicy {ns}/{retention['name']} does not exist, so old "
                    "snapshots would never be cleaned up."
                )
    phase = objects.str_at(raw, "status", "phase")
    validation = _condition(raw, "ValidationPassed")
    if phase == "Invalid" or (validation is not None and validation.status == "False"):
        failing = True
        detail = f": {validation.message}" if validation and validation.message else "."
        state.problems.append(f"The BackupConfiguration {bc.name} is invalid{detail}")
    elif phase == "NotReady" and not state.problems:
        for entry in objects.mappings_at(raw, "status", "backends"):
            for part in ("storage", "retentionPolicy"):
                reason = objects.str_at(entry, part, "reason")
                if reason:
                    state.problems.append(f"Backend {entry.get('name')}: {reason}")
        if not state.problems:
            state.problems.append(f"The BackupConfiguration {bc.name} is not ready yet.")
    return failing


def _overdue(state: BackupState, bc: Item | None, *, now: datetime) -> str | None:
    if state.paused or state.schedule is None or "${" in state.schedule:
        return None
    try:
        schedule = cron.parse(state.schedule)
    except Exception:
        return f"The schedule {state.schedule!r} is not a valid cron expression."
    since = None
    if state.last_successful_snapshot is not None:
        since = parse_time(
            objects.dig(state.last_successful_snapshot.raw, "status", "snapshotTime")
        )
    if since is None and bc is not None:
        since = objects.created_at(bc.raw)
    if since is None:
        return None
    # The run due after the last success should have finished by now (plus some grace).
    due = cron.next_after(schedule, since)
    if due is None or now <= due + OVERDUE_GRACE:
        return None
    interval = cron.typical_interval(schedule, since)
    every = f" (the schedule runs every {_human(interval)})" if interval else ""
    if state.last_successful_snapshot is None:
        return f"No backup has succeeded since the configuration was created{every}."
    return f"No successful backup for {_human(now - since)}{every}."


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
