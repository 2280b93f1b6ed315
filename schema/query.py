"""The Query root."""

from __future__ import annotations

import strawberry

from core.errors import NotImplementedYet
from resolvers.context import RequestContext
from resolvers.ids import decode_id
from schema.arguments import After, ClusterName, DatabaseKind, First, Namespace, OrderBy
from schema.connections import (
    BackupSessionConnection,
    DatabaseConnection,
    RepositoryConnection,
    RestoreSessionConnection,
    SnapshotConnection,
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


@strawberry.type(description="Reads across every configured cluster.")
class Query:
    @strawberry.field(description="Refetch any object by its global ID.")
    def node(self, id: strawberry.ID) -> Node | None:
        # Reject garbage with BAD_USER_INPUT before anything else.
        decode_id(id)
        raise NotImplementedYet("Query.node")

    @strawberry.field(description="The authenticated caller.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.from_context(info.context.viewer)

    @strawberry.field(description="The configured clusters and their health.")
    def clusters(self, info: Info) -> list[Cluster]:
        return [Cluster.from_info(c) for c in info.context.clusters.cluster_infos()]

    @strawberry.field(description="One database, or null if it does not exist or is not visible.")
    def database(self, ref: ObjectRefInput) -> Database | None:
        raise NotImplementedYet("Query.database")

    @strawberry.field(description="Databases across clusters and namespaces.")
    def databases(
        self,
        *,
        filter: DatabaseFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> DatabaseConnection:
        raise NotImplementedYet("Query.databases")

    @strawberry.field(description="Snapshots across clusters and namespaces.")
    def snapshots(
        self,
        *,
        filter: SnapshotFilter | None = None,
        order_by: OrderBy = SortOrder.NEWEST_FIRST,
        first: First = None,
        after: After = None,
    ) -> SnapshotConnection:
        raise NotImplementedYet("Query.snapshots")

    @strawberry.field(description="KubeStash repositories across clusters and namespaces.")
    def repositories(
        self,
        *,
        filter: ResourceFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> RepositoryConnection:
        raise NotImplementedYet("Query.repositories")

    @strawberry.field(description="Backup runs across clusters and namespaces, newest first.")
    def backup_sessions(
        self,
        *,
        filter: BackupSessionFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> BackupSessionConnection:
        raise NotImplementedYet("Query.backupSessions")

    @strawberry.field(description="Restore runs across clusters and namespaces, newest first.")
    def restore_sessions(
        self,
        *,
        filter: RestoreSessionFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> RestoreSessionConnection:
        raise NotImplementedYet("Query.restoreSessions")

    @strawberry.field(
        description="BackupBlueprints that a database of this kind in this namespace may use."
    )
    def backup_policies(
        self, *, cluster: ClusterName = None, namespace: Namespace, database_kind: DatabaseKind
    ) -> list[BackupPolicy]:
        raise NotImplementedYet("Query.backupPolicies")

    @strawberry.field(description="RetentionPolicies usable from this namespace.")
    def retention_policies(
        self, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[RetentionPolicy]:
        raise NotImplementedYet("Query.retentionPolicies")

    @strawberry.field(description="BackupStorages usable from this namespace.")
    def backup_storages(
        self, *, cluster: ClusterName = None, namespace: Namespace
    ) -> list[BackupStorage]:
        raise NotImplementedYet("Query.backupStorages")

    @strawberry.field(
        description="Backup methods the installed addon offers for this kind of database."
    )
    def backup_methods(
        self, *, database_kind: DatabaseKind, cluster: ClusterName = None
    ) -> list[BackupMethodInfo]:
        raise NotImplementedYet("Query.backupMethods")
