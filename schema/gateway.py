"""Types about the gateway itself: the configured clusters and the caller."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.reads import context


@strawberry.type(description="A configured Kubernetes cluster and the gateway's view of it.")
class Cluster:
    name: str = strawberry.field(description="Cluster name (the kubeconfig context).")
    server: str = strawberry.field(description="API server URL.")
    reachable: bool = strawberry.field(description="Whether the API server answers.")
    server_version: str | None = strawberry.field(description="Kubernetes version, e.g. v1.33.1.")
    synced_at: datetime | None = strawberry.field(
        description="When the gateway's cache of this cluster was last in sync."
    )
    error: str | None = strawberry.field(description="Why the cluster is unhealthy, if it is.")
    kubedb_installed: bool = strawberry.field(description="Whether KubeDB's CRDs are installed.")
    kubestash_installed: bool = strawberry.field(
        description="Whether KubeStash's CRDs are installed."
    )

    @classmethod
    def from_info(cls, info: context.ClusterInfo) -> Cluster:
        return cls(
            name=info.name,
            server=info.server,
            reachable=info.reachable,
            server_version=info.server_version,
            synced_at=info.synced_at,
            error=info.error,
            kubedb_installed=info.kubedb_installed,
            kubestash_installed=info.kubestash_installed,
        )


@strawberry.type(description="The authenticated caller, as the API server knows them.")
class Viewer:
    username: str = strawberry.field(description="User name, for example alice@example.com.")
    groups: list[str] = strawberry.field(description="Groups the user belongs to.")

    @classmethod
    def from_context(cls, viewer: context.Viewer) -> Viewer:
        return cls(username=viewer.username, groups=list(viewer.groups))
