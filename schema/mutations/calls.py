"""How a Mutation field runs: its input to a planner, the plan through the write pipeline,
the outcome back into GraphQL objects.

Every root field of ``schema/mutation.py`` is ``call(...)`` plus the payload fields it
answers with; the pipeline itself is ``resolvers/writes/run.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from apis.resources import ResourceType, by_kind, database_kind
from core.errors import GatewayError
from resolvers.reads.graph import Item
from resolvers.writes.engine import Outcome
from resolvers.writes.plan import JSONDict, Plan, Store, UserError
from resolvers.writes.run import Planned, Result, WriteServices, resolve_cluster, run_mutation
from schema.info import Info, graph_of
from schema.mutations.convert import to_dataclass
from schema.registry import wrap
from schema.storage import BackupStorage

T = TypeVar("T")


def services_of(info: Info) -> WriteServices:
    found = info.context.writes
    if not isinstance(found, WriteServices):
        raise GatewayError("the gateway is still starting; try again in a moment")
    return found


async def call(
    info: Info,
    *,
    mutation: str,
    given: Any,
    target: type[Any],
    planner: Callable[..., Planned],
    cluster: str | None = None,
    refs: Sequence[Any] = (),
    with_now: bool = False,
    subject: tuple[Any, str, str | None] | None = None,
    subject_field: str = "database",
    prepare: Callable[[str, Any], Awaitable[dict[str, Any] | UserError]] | None = None,
) -> Result:
    """Run ``mutation`` for the GraphQL input ``given`` (converted to ``target``).

    ``subject`` is the object the call acts on, as (its ObjectRefInput, API group, kind
    or None for any kind of the group): the caller must be able to see it, else the
    answer is NOT_FOUND — the planners read the gateway's whole cache, and a caller who
    may not read an object must not learn from a refusal that it exists.

    ``prepare(cluster, input)`` runs before planning, with I/O as the caller, for what a
    pure planner needs and the cache cannot give (Secrets to copy, an access decision);
    it returns extra keyword arguments for the planner, or the user error that stops the
    call.
    """
    services = services_of(info)
    inp = to_dataclass(given, target)
    store: Store = services.store
    graph = graph_of(info)
    given_refs = [getattr(r, "cluster", None) for r in refs if r is not None]
    extra: dict[str, Any] = {}
    if prepare is not None:
        chosen = resolve_cluster(services.store.clusters(), given=cluster, refs=given_refs)
        found = chosen if isinstance(chosen, UserError) else await prepare(chosen, inp)
        if isinstance(found, UserError):
            return Result(Outcome(Plan(errors=[found])), None, dry_run=bool(given.dry_run))
        extra = found

    def plan(chosen: str) -> Planned:
        if subject is not None:
            ref, group, kind = subject
            if graph.get(chosen, group, kind or ref.kind, ref.namespace, ref.name) is None:
                return Plan(
                    errors=[
                        UserError(
                            "NOT_FOUND",
                            f"{kind or ref.kind or 'The object'} {ref.namespace}/{ref.name} "
                            f"does not exist in cluster {chosen}, or you may not see it.",
                            (subject_field,),
                        )
                    ]
                )
        if with_now:
            return planner(inp, store=store, cluster=chosen, now=services.now(), **extra)
        return planner(inp, store=store, cluster=chosen, **extra)

    context = info.context
    return await run_mutation(
        services,
        mutation=mutation,
        inp=inp,
        planner=plan,
        caller=context.viewer,
        cluster=cluster,
        refs=given_refs,
        dry_run=bool(getattr(given, "dry_run", False)),
        idempotency_key=getattr(given, "idempotency_key", None) or None,
        request_id=context.request_id,
    )


def resource_of(raw: JSONDict) -> ResourceType | None:
    """The resource of an object the API server returned, by its apiVersion and kind."""
    api_version, kind = str(raw.get("apiVersion") or ""), str(raw.get("kind") or "")
    group, _, version = api_version.rpartition("/")
    if group == "kubedb.com":
        known = database_kind(kind)
        plural = known.plural if known else f"{kind.lower()}s"
        return ResourceType(group=group, version=version, plural=plural, kind=kind)
    found = by_kind(group, kind)
    if found is not None:
        return found
    if group == "archiver.kubedb.com":
        return ResourceType(group=group, version=version, plural=f"{kind.lower()}s", kind=kind)
    return None


def answered(result: Result, cls: type[T]) -> T | None:
    """The first object of the call's answer shown as ``cls`` (None on a dry run or error)."""
    found = answered_all(result, cls)
    return found[0] if found else None


def answered_all(result: Result, cls: type[T]) -> list[T]:
    if not result.ok or result.cluster is None:
        return []
    shown: list[T] = []
    for raw in result.outcome.objects:
        resource = resource_of(raw)
        if resource is None:
            continue
        item = Item(result.cluster, raw, resource)
        obj = wrap(item)
        # The registry maps only the types the read side's node lookups wrap; HookTemplate
        # and ArchiverPolicy are not among them, so build the asked type from its item.
        if obj is None and _is_of(cls, resource):
            obj = cls.from_item(item)  # type: ignore[attr-defined]
        if isinstance(obj, cls):
            shown.append(obj)
    return shown


def _is_of(cls: type[Any], resource: ResourceType) -> bool:
    group, kind = getattr(cls, "API_GROUP", None), getattr(cls, "KIND", None)
    return group == resource.group and kind in ("", resource.kind) and hasattr(cls, "from_item")


def answered_storage(info: Info, result: Result) -> BackupStorage | None:
    """The BackupStorage the call made or changed, its location shown as the viewer may."""
    if not result.ok or result.cluster is None:
        return None
    for raw in result.outcome.objects:
        resource = resource_of(raw)
        if resource is not None and resource.kind == "BackupStorage":
            return BackupStorage.for_viewer(graph_of(info), Item(result.cluster, raw, resource))
    return None


def current(info: Info, result: Result, ref: Any, cls: type[T]) -> T | None:
    """An object the call refers to, as the cache holds it now (after the call's writes)."""
    if not result.ok or result.cluster is None or ref is None:
        return None
    if result.dry_run:
        return None
    for made in answered_all(result, cls):
        return made
    graph = graph_of(info)
    group = getattr(cls, "API_GROUP", "")
    kind = getattr(ref, "kind", None) or getattr(cls, "KIND", None) or None
    shown = wrap(graph.get(result.cluster, group, kind, ref.namespace, ref.name))
    return shown if isinstance(shown, cls) else None
