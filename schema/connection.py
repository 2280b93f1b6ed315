"""Relay connections: one page of a list, with keyset cursors and per-cluster errors.

``Edge[T]`` and ``Connection[T, E]`` are generic, as strawberry's relay types are; each
list declares its own pair by subclassing them, so the names and descriptions in the
schema stay its own (``SnapshotConnection``: "A page of snapshots.").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

import strawberry

from resolvers.reads.graph import Item
from resolvers.reads.paging import Page
from schema.common import ClusterError, PageInfo
from schema.interfaces import Node
from watchers.cache import ClusterProblem

NodeT = TypeVar("NodeT", bound=Node)
EdgeT = TypeVar("EdgeT", bound="Edge[Any]")


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str = strawberry.field(
        description="Opaque keyset cursor; pass it as `after` to continue after this item."
    )


@strawberry.type
class Connection(Generic[NodeT, EdgeT]):
    edges: list[EdgeT]
    nodes: list[NodeT] = strawberry.field(
        description="The items of this page (the edges' nodes, for clients that need no cursors)."
    )
    page_info: PageInfo
    cluster_errors: list[ClusterError] = strawberry.field(
        description="Clusters that could not answer; their items are missing from the list."
    )
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(
        description="Number of matching items across all pages and answering clusters."
    )
    def total_count(self) -> int:
        # Counting can mean a pass over every object: done only when asked for.
        return self.count()

    @classmethod
    def of(
        cls,
        page: Page[Item],
        problems: list[ClusterProblem],
        *,
        node: type[NodeT],
        edge: type[EdgeT],
    ) -> Self:
        """The page as GraphQL objects: each item as a ``node``, paired with its cursor."""
        nodes = [node.from_item(item) for _, item in page.items]
        edges = [
            edge(node=n, cursor=page.cursor(key))
            for n, (key, _) in zip(nodes, page.items, strict=True)
        ]
        return cls(
            edges=edges,
            nodes=nodes,
            # The last edge's cursor, not encoded a second time (`page.end_cursor`).
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            count=lambda: page.total,
            cluster_errors=ClusterError.from_problems(problems),
        )
