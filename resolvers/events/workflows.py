"""``restoreWorkflowEvents``: one event per step transition of a restore workflow.

Fed by the ConfigMap informer of the workflow records through the shared hub, so resume
tokens and RESYNC work as for the other streams (``stream.py``). The stream's "phase" of
a record is its workflow phase and every step's state in one string: any step moving
changes it, so each transition is an event, and ``transition`` reads from the two
strings which step moved, from what state to what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from apis.resources import CONFIG_MAPS
from resolvers.events.stream import AccessKey, Event, StreamSpec, group_kinds
from resolvers.reads.graph import Graph, Item
from resolvers.reads.workflows import (
    STEP_KINDS,
    Workflow,
    WorkflowFilter,
    database_access,
    matching,
    parse_workflow,
)


def _state_line(raw: Mapping[str, object]) -> str | None:
    wf = parse_workflow(raw)
    if wf is None:
        return None
    return wf.phase + ";" + ",".join(f"{s.kind}={s.state}" for s in wf.steps)


def _database_access(item: Item) -> AccessKey | None:
    """A record is shown to whoever may read its database: the records themselves live
    in the gateway's namespace, where users have no access."""
    wf = parse_workflow(item.raw)
    if wf is None:
        return None
    return database_access(wf)


WORKFLOWS = StreamSpec(
    wants=group_kinds(CONFIG_MAPS.group, CONFIG_MAPS.kind),
    phase=_state_line,
    access=_database_access,
)


@dataclass(frozen=True)
class Transition:
    step: str | None
    previous_state: str | None
    state: str | None


def _states(line: str | None) -> dict[str, str]:
    if not line or ";" not in line:
        return {}
    steps = line.split(";", 1)[1]
    return dict(pair.split("=", 1) for pair in steps.split(",") if "=" in pair)


def transition(event: Event) -> Transition:
    """Which step an event moved (the first in step order that changed)."""
    before, now = _states(event.previous_phase), _states(event.phase)
    for kind in STEP_KINDS:
        if kind in now and before.get(kind) != now[kind]:
            return Transition(kind, before.get(kind), now[kind])
    return Transition(None, None, None)


def transitions(event: Event) -> list[Transition]:
    """Every step an ADDED or UPDATED event moved, in step order: one record update may
    move several (a resume ends AWAIT_RESUME, RESUME_BACKUPS and RESUME_TRAFFIC at
    once) and each is a transition of its own. A new record's PENDING steps did not
    move; other events stand for the record as a whole (the first step, as before)."""
    first = transition(event)
    if event.type not in ("ADDED", "UPDATED"):
        return [first]
    before, now = _states(event.previous_phase), _states(event.phase)
    moved = [
        Transition(kind, before.get(kind), now[kind])
        for kind in STEP_KINDS
        if kind in now
        and before.get(kind) != now[kind]
        and not (kind not in before and now[kind] == "PENDING")
    ]
    return moved or [first]


def workflow_of(event: Event) -> Workflow | None:
    return parse_workflow(event.item.raw) if event.item is not None else None


def accept(flt: WorkflowFilter | None) -> Callable[[Graph], Callable[[Item], bool]]:
    """Per access view: records whose workflow passes the filter (the stream has checked
    that the viewer may see its database, ``WORKFLOWS.access``)."""

    def build(graph: Graph) -> Callable[[Item], bool]:
        def ok(item: Item) -> bool:
            wf = parse_workflow(item.raw)
            if wf is None:
                return False
            return bool(matching([wf], flt, visible=lambda w: True))

        return ok

    return build
