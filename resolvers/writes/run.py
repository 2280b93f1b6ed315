"""One mutation call, end to end: resolve the cluster, replay a retried key, plan, run.

The GraphQL layer hands over a planner's input (a plain dataclass) and the planner; this
module does the rest the same way for every mutation:

1. the cluster: the input's ``cluster``, else the cluster of an object reference in it,
   else the only configured one (INVALID_INPUT naming the choices otherwise);
2. a retry (an idempotency key the caller used before) is answered from its record
   before anything is planned, so a create that succeeded is not refused as existing;
3. the plan (pure, over the cache), then the engine: check as the caller, apply as the
   caller, undo on failure;
4. read-your-writes: after a successful apply it waits briefly until the cache has seen
   what was written, so the objects the answer names (and the caller's next call) read
   the new state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from apis.resources import ResourceType, watched
from core.identity import Viewer
from resolvers.writes.backup.common import BackupImpact, PlanWithImpact
from resolvers.writes.engine import Outcome, Writer
from resolvers.writes.idempotency import input_digest
from resolvers.writes.plan import JSONDict, Plan, UserError
from resolvers.writes.store import CacheStore

# How long a call waits for the cache to catch up with its own writes (informers are
# eventual; a watch event normally arrives within milliseconds).
READ_YOUR_WRITES_SECONDS = 3.0


class HasPlan(Protocol):
    """A planner's answer that carries more than its plan (impact, names, ...)."""

    @property
    def plan(self) -> Plan: ...


Planned = Plan | HasPlan


@dataclass
class WriteServices:
    """What mutations need, created once by the gateway and shared by all requests."""

    writer: Writer
    store: CacheStore
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class Result:
    """What a mutation answers: the engine's outcome, plus the impact where planned."""

    outcome: Outcome
    cluster: str | None
    impact: BackupImpact | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def plan(self) -> Plan:
        return self.outcome.plan


def resolve_cluster(
    clusters: Sequence[str], *, given: str | None, refs: Sequence[str | None]
) -> str | UserError:
    """The cluster a call acts on, or why it cannot be told."""
    if not isinstance(given, str):
        given = None  # left out (GraphQL's UNSET) or null
    if given is not None:
        if given in clusters:
            return given
        return UserError(
            "INVALID_INPUT",
            f"There is no cluster {given!r}; the configured clusters are {', '.join(clusters)}.",
            ("cluster",),
        )
    named = [r for r in refs if isinstance(r, str) and r]
    if named:
        return resolve_cluster(clusters, given=named[0], refs=())
    if len(clusters) == 1:
        return clusters[0]
    return UserError(
        "INVALID_INPUT",
        f"Several clusters are configured ({', '.join(clusters)}): name the cluster.",
        ("cluster",),
    )


def plain(value: Any) -> Any:
    """The input as JSON, for its digest (sorted keys come from the digest)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def run_mutation(
    services: WriteServices,
    *,
    mutation: str,
    inp: Any,
    planner: Callable[[str], Planned],
    caller: Viewer,
    cluster: str | None,
    refs: Sequence[str | None] = (),
    dry_run: bool,
    idempotency_key: str | None,
    request_id: str = "",
) -> Result:
    """Plan ``inp`` with ``planner(cluster)`` and run the plan as ``caller``."""
    chosen = resolve_cluster(services.store.clusters(), given=cluster, refs=refs)
    if isinstance(chosen, UserError):
        return Result(Outcome(Plan(errors=[chosen])), None, dry_run=dry_run)
    digest = input_digest(mutation, plain(inp))
    if idempotency_key and not dry_run:
        replayed = await services.writer.replay(
            cluster=chosen,
            caller=caller,
            mutation=mutation,
            input_digest=digest,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )
        if replayed is not None:
            return Result(replayed, chosen)
    planned = planner(chosen)
    plan = planned if isinstance(planned, Plan) else planned.plan
    impact = planned.impact if isinstance(planned, PlanWithImpact) else None
    outcome = await services.writer.run(
        plan,
        caller=caller,
        mutation=mutation,
        input_digest=digest,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
    if outcome.ok and not dry_run and not outcome.replayed:
        await _caught_up(services.store, outcome)
    return Result(outcome, chosen, impact if outcome.ok else None, dry_run=dry_run)


async def _caught_up(store: CacheStore, outcome: Outcome) -> None:
    """Wait (bounded) until the cache holds what the call wrote, or no longer holds what it
    deleted."""
    wanted: list[tuple[str, ResourceType, str | None, str, str | None]] = []
    versions = {
        (
            o.get("kind"),
            (o.get("metadata") or {}).get("namespace"),
            (o.get("metadata") or {}).get("name"),
        ): (o.get("metadata") or {}).get("resourceVersion")
        for o in outcome.objects
    }
    for change in outcome.plan.changes:
        if not watched(change.resource.group, change.resource.kind):
            continue  # not in the cache (Secrets, Services): nothing to wait for
        if change.action == "DELETE":
            wanted.append((change.cluster, change.resource, change.namespace, change.name, None))
        elif change.action in ("CREATE", "PATCH"):
            rv = versions.get((change.kind, change.namespace, change.name))
            if rv is not None:
                wanted.append(
                    (change.cluster, change.resource, change.namespace, change.name, str(rv))
                )

    def seen() -> bool:
        for cluster, resource, namespace, name, rv in wanted:
            found = store.get(cluster, resource, namespace, name)
            if rv is None:
                if found is not None:
                    return False
            elif found is None or not _at_least(found, rv):
                return False
        return True

    loop = asyncio.get_running_loop()
    deadline = loop.time() + READ_YOUR_WRITES_SECONDS
    # Polling memory, not the API server: the cache has no per-object change event.
    while not seen() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


def _at_least(obj: JSONDict, rv: str) -> bool:
    have = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    # resourceVersions are opaque, but equal ones mean "this write or later"; etcd's are
    # integers, so compare numerically where both are.
    if have.isdigit() and rv.isdigit():
        return int(have) >= int(rv)
    return have == rv
