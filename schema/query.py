"""The Query root: reads across every configured cluster.

Each field turns its arguments into a read-side query and its result into GraphQL
objects; what to return is decided in ``resolvers.reads``.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.errors import InvalidInput
from core.ids import decode_id
from resolvers import restores
from resolvers.reads import lists, offers
from resolvers.reads import workflows as workflow_reads
from schema.archivers import ArchiverPolicy
from schema.arguments import After, ClusterName, DatabaseKind, First, Namespace, OrderBy
from schema.enums import SortOrder
from schema.gateway import Cluster, Viewer
from schema.hooks import HookTemplate
from schema.info import Info, graph_of
from schema.inputs import (
    BackupSessionFilter,
    DatabaseFilter,
    ObjectRefInput,
    ResourceFilter,
    RestoreSessionFilter,
    SnapshotFilter,
    database_query,
    ref_query,
    resource_query,
    session_query,
    snapshot_query,
)
from schema.interfaces import Node
from schema.linked import (
    BackupSession,
    BackupSessionConnection,
    BackupSessionEdge,
    Database,
    DatabaseConnection,
    DatabaseEdge,
    Repository,
    RepositoryConnection,
    RepositoryEdge,
    RestoreSession,
    RestoreSessionConnection,
    RestoreSessionEdge,
    RestoreWorkflowConnection,
    Snapshot,
    SnapshotConnection,
    SnapshotEdge,
)
from schema.policies import BackupMethodInfo, BackupPolicy
from schema.registry import wrap
from schema.restore_options import RestoreOptions
from schema.storage import BackupStorage, RetentionPolicy
from schema.workflows import RestoreWorkflowFilter, workflow_filter

# The write contract words the cluster argument of the fields it adds more briefly, and
# states no default for it: left out, it is UNSET (read as None by `given`).
PolicyCluster = Annotated[
    str | None,
    strawberry.argument(description="Cluster; may be left out when only one is configured."),
]


def given(value: str | None) -> str | None:
    """An optional argument without a default: None when left out."""
    return None if value is strawberry.UNSET else value


@strawberry.type(description="Reads across every configured cluster.")
class Query:
    @strawberry.field(description="Refetch any object by its global ID.")
    def node(self, info: Info, id: strawberry.ID) -> Node | None:
        ref = decode_id(id)  # garbage is refused before anything else is looked at
        return wrap(offers.node(graph_of(info), ref))

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
            offers.clusters(graph, query.cluster)  # an unknown cluster is an error, not null
        return Database.maybe(lists.find_database(graph, query))

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
        return DatabaseConnection.of(
            listing.page, listing.problems, node=Database, edge=DatabaseEdge
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
        return SnapshotConnection.of(
            listing.page, listing.problems, node=Snapshot, edge=SnapshotEdge
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
        return RepositoryConnection.of(
            listing.page, listing.problems, node=Repository, edge=RepositoryEdge
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
        return BackupSessionConnection.of(
            listing.page, listing.problems, node=BackupSession, edge=BackupSessionEdge
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
        return RestoreSessionConnection.of(
            listing.page, listing.problems, node=RestoreSession, edge=RestoreSessionEdge
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
        found = await offers.backup_policies(
            graph_of(info), cluster=cluster, namespace=namespace, database_kind=database_kind
        )
        return [BackupPolicy.listed(b, namespace) for b in found]

    @strawberry.field(description="RetentionPolicies usable from this namespace.")
    async def retention_policies(
        self, info: Info, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[RetentionPolicy]:
        found = await offers.shared_policies(
            graph_of(info), "RetentionPolicy", cluster=cluster, namespace=namespace
        )
        return [RetentionPolicy.from_item(r) for r in found]

    @strawberry.field(description="BackupStorages usable from this namespace.")
    async def backup_storages(
        self, info: Info, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[BackupStorage]:
        graph = graph_of(info)
        found = await offers.shared_policies(
            graph, "BackupStorage", cluster=cluster, namespace=namespace
        )
        return [BackupStorage.for_viewer(graph, s) for s in found]

    @strawberry.field(
        description="Backup methods the installed addon offers for this kind of database."
    )
    def backup_methods(
        self, info: Info, *, database_kind: DatabaseKind, cluster: ClusterName = None
    ) -> list[BackupMethodInfo]:
        found = offers.backup_methods(graph_of(info), cluster=cluster, database_kind=database_kind)
        return [BackupMethodInfo.of(m) for m in found]

    @strawberry.field(
        description="ArchiverPolicies that a database of this kind in this namespace may use."
    )
    async def archiver_policies(
        self,
        info: Info,
        *,
        cluster: PolicyCluster = strawberry.UNSET,
        namespace: Namespace,
        database_kind: DatabaseKind,
    ) -> list[ArchiverPolicy]:
        found = await offers.archiver_policies(
            graph_of(info), cluster=given(cluster), namespace=namespace, database_kind=database_kind
        )
        return [ArchiverPolicy.from_item(a) for a in found]

    @strawberry.field(
        description="HookTemplates usable from this namespace, for example as restore checks."
    )
    async def hook_templates(
        self, info: Info, *, cluster: PolicyCluster = strawberry.UNSET, namespace: Namespace
    ) -> list[HookTemplate]:
        found = await offers.hook_templates(
            graph_of(info), cluster=given(cluster), namespace=namespace
        )
        return [HookTemplate.from_item(h) for h in found]

    @strawberry.field(
        description=(
            "What a database (also a deleted one, by reference) or a repository can be "
            "restored from; give one."
        )
    )
    def restore_options(
        self,
        info: Info,
        database: Annotated[
            ObjectRefInput | None, strawberry.argument(description="The database.")
        ] = strawberry.UNSET,
        repository: Annotated[
            ObjectRefInput | None, strawberry.argument(description="Or a repository.")
        ] = strawberry.UNSET,
    ) -> RestoreOptions:
        graph = graph_of(info)
        db = None if database is strawberry.UNSET else database
        repo = None if repository is strawberry.UNSET else repository
        if (db is None) == (repo is None):
            raise InvalidInput("give exactly one of database and repository")
        ref = db if db is not None else repo
        if ref is None:  # for the type checker: one of the two is given
            raise InvalidInput("give exactly one of database and repository")
        named = offers.clusters(graph, ref.cluster)
        if len(named) != 1:
            raise InvalidInput(
                f"several clusters are configured ({', '.join(named)}): name the cluster",
                extensions={"argument": "cluster"},
            )
        cluster = named[0]
        # Read as the viewer: only what they may see is offered (GraphStore filters).
        store = restores.GraphStore(graph)
        if db is not None:
            data = restores.database_restore_options(
                store, cluster=cluster, kind=db.kind, namespace=db.namespace, name=db.name
            )
        else:
            data = restores.repository_restore_options(
                store, cluster=cluster, namespace=ref.namespace, name=ref.name
            )
        return RestoreOptions.of(data)

    @strawberry.field(description="Restore workflows across clusters and namespaces, newest first.")
    def restore_workflows(
        self,
        info: Info,
        filter: Annotated[
            RestoreWorkflowFilter | None, strawberry.argument(description="Which ones.")
        ] = strawberry.UNSET,
        first: Annotated[
            int | None, strawberry.argument(description="Page size.")
        ] = strawberry.UNSET,
        after: Annotated[
            str | None, strawberry.argument(description="Continue after this cursor.")
        ] = strawberry.UNSET,
    ) -> RestoreWorkflowConnection:
        found = workflow_reads.restore_workflows(
            graph_of(info),
            workflow_filter(None if filter is strawberry.UNSET else filter),
            first=None if first is strawberry.UNSET else first,
            after=None if after is strawberry.UNSET else after,
        )
        return RestoreWorkflowConnection.of(found)
