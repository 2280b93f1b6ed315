"""What every resolver receives in ``info.context``: the viewer and the gateway's services.

The server builds one ``RequestContext`` per request (or per WebSocket connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller, as the API server's TokenReview named them."""

    username: str
    groups: tuple[str, ...] = ()
    uid: str | None = None


@dataclass(frozen=True)
class ClusterInfo:
    """Health of one configured cluster, as the `clusters` query shows it."""

    name: str
    server: str
    reachable: bool
    server_version: str | None = None
    synced_at: datetime | None = None
    error: str | None = None
    kubedb_installed: bool = False
    kubestash_installed: bool = False


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
