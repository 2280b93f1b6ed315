"""What every resolver method receives: strawberry's ``Info`` with the request context."""

from __future__ import annotations

import strawberry

from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph

Info = strawberry.Info[RequestContext, None]


def graph_of(info: Info) -> Graph:
    """The viewer's view of the cache (an error while the gateway is still starting)."""
    return info.context.require_graph()
