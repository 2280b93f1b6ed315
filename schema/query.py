"""The Query root."""

from __future__ import annotations

import strawberry

from auth.access import Check
from core.errors import InvalidInput
from core.ids import decode_id
from resolvers.reads import lists, policies
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph, Item
from schema.arguments import After, ClusterName, DatabaseKind, First, Namespace, OrderBy
from schema.build import (
    connection,
    database_query,
    graph_of,
    location_visible,
    method_info,
    of,
    ref_query,
    resource_query,
    session_query,
    snapshot_query,
)
from schema.connections import (
    BackupSessionConnection,
    BackupSessionEdge,
    DatabaseConnection,
    DatabaseEdge,
    RepositoryConnection,
    RepositoryEdge,
    RestoreSessionConnection,
    RestoreSessionEdge,
    SnapshotConnection,
    SnapshotEdge,
)
from schema.databases import Database
from schema.enums import SortOrder
from schema.gateway import Cluster, Viewer
from schema.inputs import (
    BackupSessionFilter,
    DatabaseFilter,
    ObjectRefInput,
    ResourceFilter,
    RestoreSessionFilter,
    SnapshotFilter,
)
from schema.interfaces import Node
from schema.policies import BackupMethodInfo, BackupPolicy
from schema.storage import BackupStorage, RetentionPolicy

Info = strawberry.Info[RequestContext, None]

KUBEDB = "kubedb.com"
EDIT_VERBS = ("create", "update", "patch")


def _clusters(graph: Graph, cluster: str | None) -> list[str]:
    if cluster is None:
        return graph.cluster_names()
    if cluster not in graph.cluster_names():
        raise InvalidInput(
            f"unknown cluster {cluster!r}; configured: {', '.join(graph.cluster_names())}",
            extensions={"argument": "cluster"},
        )
    return [cluster]


def _kind_plurals(graph: Graph, cluster: str, kind: str | None) -> dict[str, str]:
    """{kind: plural} of the KubeDB kinds installed in a cluster (one kind, or all)."""
    found = {}
    cache = graph.cache.clusters[cluster]
    for informer in cache.informers_in(KUBEDB):
        r = informer.resource
        if kind is None or r.kind.lower() == kind.lower():
            found[r.kind] = r.plural
    return found


def _known_kind(graph: Graph, clusters: list[str], kind: str) -> str:
    """The canonical spelling of a database kind, or a clear error naming the known ones."""
    known = {k for c in clusters for k in _kind_plurals(graph, c, None)}
    for k in known:
        if k.lower() == kind.lower():
            return k
    raise InvalidInput(
        f"unknown database kind {kind!r}; installed kinds: {', '.join(sorted(known)) or 'none'}",
        extensions={"argument": "databaseKind"},
    )


async def _may_edit_databases(info: Info, cluster: str, namespace: str, kind: str | None) -> bool:
    """Whether the viewer may create or edit databases (of ``kind``, or any) in ``namespace``:
    such a viewer is shown the policy summaries usable there."""
    graph = graph_of(info)
    checks = [
        Check(cluster, verb, KUBEDB, plural, namespace)
        for plural in _kind_plurals(graph, cluster, kind).values()
        for verb in EDIT_VERBS
    ]
    decided = await graph.access.check(checks)
    return any(decided.get(c, False) for c in checks)


@strawberry.type(description="Reads across every configured cluster.")
class Query:
    @strawberry.field(description="Refetch any object by its global ID.")
    def node(self, info: Info, id: strawberry.ID) -> Node | None:
        ref = decode_id(id)
        graph = graph_of(info)
        if ref.cluster not in graph.cluster_names():
            return None
        kind = None if ref.api_group == KUBEDB else ref.kind
        found = graph.get(ref.cluster, ref.api_group, kind, ref.namespace, ref.name)
        if found is not None and found.resource.kind != ref.kind:
            return None
        return of(Node, found)

    @strawberry.field(description="The authenticated caller.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.from_context(info.context.viewer)

    @strawberry.field(description="The configured clusters and their health.")
    def clusters(self, info: Info) -> list[Cluster]:
        return [Cluster.from_info(c) for c in info.context.clusters.cluster_infos()]

    @strawberry.field(description="One database, or null if it does not exist or is not visible.")
    def database(self, info: Info, ref: ObjectRefInput) -> Database | None:
        query = ref_query(ref)
        assert query is not None
        graph = graph_of(info)
        if query.cluster is not None:
            _clusters(graph, query.cluster)
        return of(Database, lists.find_database(graph, query))

    @strawberry.field(description="Databases across clusters and namespaces.")
    def databases(
        self,
        info: Info,
        *,
        filter: DatabaseFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> DatabaseConnection:
        listing = lists.databases(graph_of(info), database_query(filter), first=first, after=after)
        return connection(
            listing.page,
            listing.problems,
            connection_type=DatabaseConnection,
            edge_type=DatabaseEdge,
        )

    @strawberry.field(description="Snapshots across clusters and namespaces.")
    def snapshots(
        self,
        info: Info,
        *,
        filter: SnapshotFilter | None = None,
        order_by: OrderBy = SortOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> SnapshotConnection:
        listing = lists.snapshots(
            graph_of(info),
            snapshot_query(filter),
            first=first,
            after=after,
            descending=order_by == SortOrder.NEWEST_FIRST,
        )
        return connection(
            listing.page,
            listing.problems,
            connection_type=SnapshotConnection,
            edge_type=SnapshotEdge,
        )

    @strawberry.field(description="KubeStash repositories across clusters and namespaces.")
    def repositories(
        self,
        info: Info,
        *,
        filter: ResourceFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> RepositoryConnection:
        listing = lists.repositories(
            graph_of(info), resource_query(filter), first=first, after=after
        )
        return connection(
            listing.page,
            listing.problems,
            connection_type=RepositoryConnection,
            edge_type=RepositoryEdge,
        )

    @strawberry.field(description="Backup runs across clusters and namespaces, newest first.")
    def backup_sessions(
        self,
        info: Info,
        *,
        filter: BackupSessionFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> BackupSessionConnection:
        listing = lists.sessions(
            graph_of(info), "BackupSession", session_query(filter), first=first, after=after
        )
        return connection(
            listing.page,
            listing.problems,
            connection_type=BackupSessionConnection,
            edge_type=BackupSessionEdge,
        )

    @strawberry.field(description="Restore runs across clusters and namespaces, newest first.")
    def restore_sessions(
        self,
        info: Info,
        *,
        filter: RestoreSessionFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> RestoreSessionConnection:
        listing = lists.sessions(
            graph_of(info), "RestoreSession", session_query(filter), first=first, after=after
        )
        return connection(
            listing.page,
            listing.problems,
            connection_type=RestoreSessionConnection,
            edge_type=RestoreSessionEdge,
        )

    @strawberry.field(
        description="BackupBlueprints that a database of this kind in this namespace may use."
    )
    async def backup_policies(
        self,
        info: Info,
        *,
        cluster: ClusterName = None,
        namespace: Namespace,
        database_kind: DatabaseKind,
    ) -> list[BackupPolicy]:
        graph = graph_of(info)
        clusters = _clusters(graph, cluster)
        kind = _known_kind(graph, clusters, database_kind)
        result = []
        for c in clusters:
            may_use = await _may_edit_databases(info, c, namespace, kind)
            for b in policies.backup_policies(graph, c, namespace, kind):
                if may_use or _listable(graph, b):
                    result.append(BackupPolicy(raw=b.raw, cluster_name=b.cluster))
        return result

    @strawberry.field(description="RetentionPolicies usable from this namespace.")
    async def retention_policies(
        self, info: Info, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[RetentionPolicy]:
        graph = graph_of(info)
        result = []
        for c in _clusters(graph, cluster):
            may_use = await _may_edit_databases(info, c, namespace, None)
            for r in policies.retention_policies(graph, c, namespace):
                if may_use or _listable(graph, r):
                    result.append(RetentionPolicy(raw=r.raw, cluster_name=r.cluster))
        return result

    @strawberry.field(description="BackupStorages usable from this namespace.")
    async def backup_storages(
        self, info: Info, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[BackupStorage]:
        graph = graph_of(info)
        result = []
        for c in _clusters(graph, cluster):
            may_use = await _may_edit_databases(info, c, namespace, None)
            for s in policies.backup_storages(graph, c, namespace):
                if may_use or _listable(graph, s):
                    result.append(
                        BackupStorage(
                            raw=s.raw,
                            cluster_name=s.cluster,
                            location_visible=location_visible(info, s),
                        )
                    )
        return result

    @strawberry.field(
        description="Backup methods the installed addon offers for this kind of database."
    )
    def backup_methods(
        self, info: Info, *, database_kind: DatabaseKind, cluster: ClusterName = None
    ) -> list[BackupMethodInfo]:
        graph = graph_of(info)
        clusters = _clusters(graph, cluster)
        kind = _known_kind(graph, clusters, database_kind)
        return [method_info(m) for m in policies.backup_methods(graph, clusters, kind)]


def _listable(graph: Graph, item: Item) -> bool:
    r = item.resource
    return graph.access.allows(item.cluster, r.group, r.plural, item.namespace)
