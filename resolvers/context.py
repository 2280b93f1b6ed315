"""What every resolver receives in ``info.context``: the viewer and the gateway's services.

The server builds one ``RequestContext`` per request (or per WebSocket connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from core.health import ClusterInfo
from core.identity import Viewer

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
