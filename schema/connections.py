"""Relay connections: one page of a list, with keyset cursors and per-cluster errors."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from resolvers.reads import lists
from resolvers.reads.graph import Graph, Item
from resolvers.reads.paging import paginate
from schema.build import connection, snapshot_query
from schema.common import ClusterError, PageInfo
from schema.databases import Database
from schema.enums import SortOrder
from schema.inputs import SnapshotFilter
from schema.sessions import BackupSession, RestoreSession
from schema.storage import Repository, Snapshot

_CURSOR = "Opaque keyset cursor; pass it as `after` to continue after this item."
_NODES = "The items of this page (the edges' nodes, for clients that need no cursors)."
_TOTAL = "Number of matching items across all pages and answering clusters."
_ERRORS = "Clusters that could not answer; their items are missing from the list."


@strawberry.type(description="A database in a page, with its cursor.")
class DatabaseEdge:
    node: Database
    cursor: str = strawberry.field(description=_CURSOR)


@strawberry.type(description="A page of databases.")
class DatabaseConnection:
    edges: list[DatabaseEdge]
    nodes: list[Database] = strawberry.field(description=_NODES)
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(description=_ERRORS)
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description=_TOTAL)
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()


@strawberry.type(description="A snapshot in a page, with its cursor.")
class SnapshotEdge:
    node: Snapshot
    cursor: str = strawberry.field(description=_CURSOR)


@strawberry.type(description="A page of snapshots.")
class SnapshotConnection:
    edges: list[SnapshotEdge]
    nodes: list[Snapshot] = strawberry.field(description=_NODES)
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(description=_ERRORS)
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description=_TOTAL)
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()


@strawberry.type(description="A repository in a page, with its cursor.")
class RepositoryEdge:
    node: Repository
    cursor: str = strawberry.field(description=_CURSOR)


@strawberry.type(description="A page of repositories.")
class RepositoryConnection:
    edges: list[RepositoryEdge]
    nodes: list[Repository] = strawberry.field(description=_NODES)
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(description=_ERRORS)
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description=_TOTAL)
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()


@strawberry.type(description="A backup session in a page, with its cursor.")
class BackupSessionEdge:
    node: BackupSession
    cursor: str = strawberry.field(description=_CURSOR)


@strawberry.type(description="A page of backup sessions.")
class BackupSessionConnection:
    edges: list[BackupSessionEdge]
    nodes: list[BackupSession] = strawberry.field(description=_NODES)
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(description=_ERRORS)
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description=_TOTAL)
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()


@strawberry.type(description="A restore session in a page, with its cursor.")
class RestoreSessionEdge:
    node: RestoreSession
    cursor: str = strawberry.field(description=_CURSOR)


@strawberry.type(description="A page of restore sessions.")
class RestoreSessionConnection:
    edges: list[RestoreSessionEdge]
    nodes: list[RestoreSession] = strawberry.field(description=_NODES)
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(description=_ERRORS)
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description=_TOTAL)
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()


def snapshot_connection(
    graph: Graph,
    items: list[Item],
    *,
    filter: SnapshotFilter | None,
    order_by: SortOrder | None,
    first: int | None,
    after: str | None,
) -> SnapshotConnection:
    """A page of snapshots already joined to one database or repository."""
    # The filter's own conditions (clusters and namespaces included); the database or
    # repository is already given by the join.
    accept = lists.snapshot_filter(snapshot_query(filter))
    descending = order_by == SortOrder.NEWEST_FIRST
    page = paginate(
        ((lists.snapshot_key(i), i) for i in items if accept(i)),
        ordering="snapshots:desc" if descending else "snapshots:asc",
        first=first,
        after=after,
        descending=descending,
    )
    return connection(page, [], connection_type=SnapshotConnection, edge_type=SnapshotEdge)
