"""One subscription of one request context: checks, bookkeeping, and a fresh access view.

Subscriptions are served over WebSocket only, and each connection may hold a bounded
number of them. While a stream runs, the connection's view of the cache is re-decided
now and then, so joined fields of later events read current access too.

A context that carries ``Members`` (``extensions["members"]``, set by the WebSocket
transport) runs one shared stream for every subscriber in it (see ``stream.Members``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from core.errors import BadRequest, TooManySubscriptions
from resolvers.events.stream import Event, Members, StreamSpec, stream
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph, Item


async def subscribe(
    context: RequestContext,
    spec: StreamSpec,
    *,
    accept: Callable[[Graph], Callable[[Item], bool]],
    resume_token: str | None,
) -> AsyncIterator[Event]:
    """The events of ``spec`` that pass ``accept`` (built per access view), for ``context``."""
    if context.hub is None or context.refresh_graph is None:
        raise BadRequest(
            "subscriptions are served over WebSocket (graphql-transport-ws) at /graphql"
        )
    if context.subscriptions >= context.max_subscriptions:
        raise TooManySubscriptions(
            f"at most {context.max_subscriptions} subscriptions may be open on one connection; "
            "close some or open another connection"
        )
    context.subscriptions += 1
    try:
        graph = context.require_graph()
        predicates: dict[int, Callable[[Item], bool]] = {}

        def matches(g: Graph, item: Item) -> bool:
            # The filter's joins (e.g. database -> sessions) are resolved per access view.
            if id(g) not in predicates:
                predicates.clear()
                predicates[id(g)] = accept(g)
            return predicates[id(g)](item)

        refresh_graph = context.refresh_graph

        async def refresh() -> Graph:
            # Joined fields of the events read the connection's view: keep it current.
            context.graph = await refresh_graph()
            return context.graph

        async for event in stream(
            hub=context.hub,
            spec=spec,
            graph=graph,
            refresh=refresh,
            accept=matches,
            resume_token=resume_token,
            members=members
            if isinstance(members := context.extensions.get("members"), Members)
            else None,
        ):
            yield event
    finally:
        context.subscriptions -= 1
