"""applyManifests end to end: plan, apply, and (with ``wait_seconds``) wait.

``apply_manifests`` plans a round over a fresh store, hands its plan to ``apply`` (the
write engine: a dry run of every change as the caller, then the apply as the caller),
and plans again. ``store`` gives the store of each round (the gateway: its cache):

- at once when the round was ``deferred`` (it stored the Namespaces the bundle creates,
  so the documents in them can now be checked and stored);
- at once when the check said a new object exists already (a Secret, which the store
  never holds, or one the cache has not seen yet): it is applied with PATCH instead;
- every ``poll_interval`` seconds while documents are WAITING, until all are APPLIED
  or ``wait_seconds`` are up. A stored WAITING document is not written again: KubeStash
  and KubeDB complete it; the round only looks whether what it needs appeared.

If a round is refused, the call stops with the refusals as FAILED results. When the
call had stored only the Namespaces the bundle creates (the round after a deferred
one), they are deleted again, so that a refused bundle leaves nothing behind (Kubernetes
deletes a Namespace in the background: a retry at once may find it still terminating).
A document refused in a later waiting round (its kind appeared only then) is FAILED
while what earlier rounds stored stays: those rounds had passed their checks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from apis import objects
from apis.resources import NAMESPACES
from resolvers.writes.manifests.documents import ObjectKey
from resolvers.writes.manifests.planner import (
    ManifestPlan,
    ManifestResult,
    ManifestSettings,
    check_bounds,
    plan_manifests,
)
from resolvers.writes.plan import Change, JSONDict, Plan, Store, UserError
from resolvers.writes.redact import redacted_plan
from resolvers.writes.refusals import describe

# Rounds in a row that only switch CREATE to PATCH: more means the cluster keeps
# changing under the call.
MAX_QUICK_ROUNDS = 5


class Applied(Protocol):
    """What ``apply`` answers: the engine's ``Outcome``."""

    @property
    def plan(self) -> Plan: ...

    @property
    def objects(self) -> list[JSONDict]: ...


# ``apply(plan, round)``: run one round's plan; ``round`` counts from 0, so a caller can
# derive a per-round idempotency key.
ApplyRound = Callable[[Plan, int], Awaitable[Applied]]
Progress = Callable[[ManifestResult], None]


@dataclass
class ManifestOutcome:
    """The call's answer: every change made (or planned, on a dry run), Secret values
    redacted; the warnings and user errors of the last round; one result per document."""

    plan: Plan
    results: list[ManifestResult]
    objects: list[JSONDict] = field(default_factory=list)


async def apply_manifests(
    documents: Sequence[object],
    *,
    cluster: str,
    store: Callable[[], Awaitable[Store]],
    apply: ApplyRound,
    wait_seconds: int = 0,
    dry_run: bool = False,
    settings: ManifestSettings | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ManifestOutcome:
    s = settings or ManifestSettings()
    bounds = check_bounds(documents, wait_seconds=wait_seconds, settings=s)
    if bounds.refused:
        return ManifestOutcome(bounds, [])  # no changes: nothing to redact
    deadline = clock() + wait_seconds
    present: dict[ObjectKey, JSONDict] = {}
    done: set[int] = set()  # documents stored by an earlier round
    created: list[Change] = []  # Namespaces this call created, for undoing
    made = Plan()
    shown: dict[int, ManifestResult] = {}
    objects_out: list[JSONDict] = []
    quick = 0
    round_no = 0
    while True:
        mp = plan_manifests(
            documents,
            store=await store(),
            cluster=cluster,
            present=present,
            namespaces_first=not dry_run,
        )
        _report(mp.results, shown, progress)
        if mp.plan.refused:
            return await _undo(mp, made, created, apply=apply, round_no=round_no)
        todo = [(c, i) for c, i in zip(mp.plan.changes, mp.indexes, strict=True) if i not in done]
        if todo:
            outcome = await apply(Plan([c for c, _ in todo], list(mp.plan.warnings)), round_no)
            round_no += 1
            errors = list(outcome.plan.errors)
            taken = _taken(errors, todo)
            if errors and len(taken) == len(errors) and quick < MAX_QUICK_ROUNDS:
                quick += 1
                present.update({key: {} for key in taken})
                continue  # apply those with PATCH instead
            if errors:
                failed = _failed(mp, errors, todo)
                _report(failed.results, shown, progress)
                return await _undo(failed, made, created, apply=apply, round_no=round_no)
            quick = 0
            for change, index in todo:
                made.add(change)
                if not dry_run:
                    done.add(index)
                    if change.action == "CREATE" and change.resource == NAMESPACES:
                        created.append(change)
            for obj in outcome.objects:
                key = _key_of(obj, cluster)
                if key is not None:
                    present[key] = obj
            objects_out.extend(outcome.objects)
            if mp.deferred and not dry_run:
                continue
        if dry_run or all(r.state == "APPLIED" for r in mp.results):
            break
        if mp.deferred and not todo:
            break  # nothing more can be stored without the missing Namespace
        if clock() >= deadline:
            break
        await sleep(s.poll_interval)
    made.warnings = list(mp.plan.warnings)
    return ManifestOutcome(redacted_plan(made), mp.results, objects_out)


def _report(
    results: list[ManifestResult], shown: dict[int, ManifestResult], progress: Progress | None
) -> None:
    for r in results:
        if shown.get(r.index) != r:
            shown[r.index] = r
            if progress is not None:
                progress(r)


def _key_of(obj: JSONDict, cluster: str) -> ObjectKey | None:
    api_version = objects.str_at(obj, "apiVersion")
    kind = objects.str_at(obj, "kind")
    name = objects.str_at(obj, "metadata", "name")
    if api_version is None or kind is None or name is None:
        return None
    group = api_version.rpartition("/")[0]
    return ObjectKey(cluster, group, kind, objects.str_at(obj, "metadata", "namespace"), name)


def _owner(error: UserError, todo: list[tuple[Change, int]]) -> tuple[Change, int] | None:
    """The change a refusal is about: the engine's messages name the object."""
    for change, index in todo:
        if describe(change) in error.message:
            return change, index
    return None


def _taken(errors: list[UserError], todo: list[tuple[Change, int]]) -> list[ObjectKey]:
    """The new objects the check found existing (TARGET_EXISTS)."""
    keys: list[ObjectKey] = []
    for error in errors:
        owner = _owner(error, todo) if error.code == "TARGET_EXISTS" else None
        if owner is not None and owner[0].action == "CREATE":
            c = owner[0]
            keys.append(ObjectKey(c.cluster, c.resource.group, c.kind, c.namespace, c.name))
    return keys


def _failed(
    mp: ManifestPlan, errors: list[UserError], todo: list[tuple[Change, int]]
) -> ManifestPlan:
    """The round's plan with its refusals as FAILED results and user errors."""
    results = list(mp.results)
    plan = Plan(list(mp.plan.changes), [], [])
    for error in errors:
        owner = _owner(error, todo)
        if owner is None:
            plan.errors.append(error)  # about the call, not one document
            continue
        index = owner[1]
        results[index] = replace(
            results[index], state="FAILED", waiting_for=None, reason=error.message
        )
        plan.errors.append(UserError(error.code, error.message, ("documents", str(index))))
    return ManifestPlan(plan, results, list(mp.indexes), mp.deferred)


async def _undo(
    mp: ManifestPlan, made: Plan, created: list[Change], *, apply: ApplyRound, round_no: int
) -> ManifestOutcome:
    """The refused call's answer, after deleting the Namespaces it created if they are
    all it stored (then nothing else is in them, and the call leaves nothing behind)."""
    only_namespaces = all(c.action == "CREATE" and c.resource == NAMESPACES for c in made.changes)
    if created and only_namespaces:
        deletes = [
            Change(
                "DELETE",
                c.cluster,
                c.resource,
                c.namespace,
                c.name,
                f"Delete {c.kind} {c.name} again: the bundle was refused.",
                {},
            )
            for c in reversed(created)
        ]
        outcome = await apply(Plan(deletes), round_no)
        mp.plan.errors.extend(outcome.plan.errors)
    seen = {(c.kind, c.namespace, c.name) for c in made.changes}
    rest = [c for c in mp.plan.changes if (c.kind, c.namespace, c.name) not in seen]
    plan = Plan(made.changes + rest, list(mp.plan.warnings), list(mp.plan.errors))
    return ManifestOutcome(redacted_plan(plan), mp.results)
