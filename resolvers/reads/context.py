"""What every resolver receives in ``info.context``: the viewer and the gateway's services.

The server builds one ``RequestContext`` per request (or per WebSocket connection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from auth.audit import AuditLog
from core.errors import GatewayError
from core.health import ClusterInfo
from core.identity import Viewer
from resolvers.reads.graph import Graph
from watchers.fanout import Hub

__all__ = ["ClusterDirectory", "ClusterInfo", "RequestContext", "Viewer"]


class ClusterDirectory(Protocol):
    """The part of the gateway that knows the configured clusters and their health."""

    def cluster_infos(self) -> list[ClusterInfo]: ...


@dataclass
class RequestContext:
    viewer: Viewer
    clusters: ClusterDirectory
    request_id: str = ""
    extensions: dict[str, object] = field(default_factory=dict)
    # Set by the WebSocket transport from `connection_init` (strawberry writes it).
    connection_params: dict[str, object] | None = None
    # The viewer's view of the shared cache; set once access has been decided.
    graph: Graph | None = None
    audit: AuditLog | None = None
    # Subscriptions open on this WebSocket connection (bounded per connection).
    subscriptions: int = 0
    max_subscriptions: int = 100
    hub: Hub | None = None
    # Re-decides the viewer's access (subscriptions call it periodically).
    refresh_graph: Callable[[], Awaitable[Graph]] | None = None
    # The write pipeline's services (resolvers.writes.run.WriteServices), for mutations.
    # Typed loosely here because the read side never imports the write side.
    writes: object | None = None

    def require_graph(self) -> Graph:
        if self.graph is None:
            raise GatewayError("the gateway is still starting; try again in a moment")
        return self.graph
