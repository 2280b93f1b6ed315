"""Turn resolver results (items, pages, problems) into GraphQL objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

from resolvers.reads import lists
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph, Item
from resolvers.reads.methods import MethodInfo
from resolvers.reads.paging import Page
from schema.common import ClusterError, PageInfo
from schema.enums import BackupMethod
from schema.inputs import (
    BackupSessionFilter,
    DatabaseFilter,
    ObjectRefInput,
    ResourceFilter,
    RestoreSessionFilter,
    SnapshotFilter,
)

if TYPE_CHECKING:
    from watchers.cache import ClusterProblem

Info = strawberry.Info[RequestContext, None]
T = TypeVar("T")


def graph_of(info: Info) -> Graph:
    return info.context.require_graph()


def cluster_errors(problems: list[ClusterProblem]) -> list[ClusterError]:
    seen: dict[str, ClusterError] = {}
    for p in problems:
        seen.setdefault(
            p.cluster,
            ClusterError(
                cluster=p.cluster,
                code=p.code,
                message=p.message,
                retryable=p.retryable,
                stale_since=p.stale_since,
            ),
        )
    return list(seen.values())


def wrap(item: Item) -> Any:
    """The GraphQL object for any cached item, chosen by its group and kind."""
    from schema.databases import Database
    from schema.policies import BackupPolicy
    from schema.sessions import BackupConfiguration, BackupSession, RestoreSession
    from schema.storage import BackupStorage, Repository, RetentionPolicy, Snapshot

    group, kind = item.resource.group, item.resource.kind
    if group == "kubedb.com":
        return Database(raw=item.raw, cluster_name=item.cluster)
    types: dict[str, Any] = {
        "Snapshot": Snapshot,
        "Repository": Repository,
        "RetentionPolicy": RetentionPolicy,
        "BackupConfiguration": BackupConfiguration,
        "BackupSession": BackupSession,
        "RestoreSession": RestoreSession,
        "BackupBlueprint": BackupPolicy,
    }
    if kind == "BackupStorage":
        return BackupStorage(raw=item.raw, cluster_name=item.cluster, location_visible=False)
    cls = types.get(kind)
    return cls(raw=item.raw, cluster_name=item.cluster) if cls else None


def maybe(item: Item | None) -> Any:
    return wrap(item) if item is not None else None


def of(cls: type[T], item: Item | None) -> T | None:
    """``item`` as a ``cls`` object (None when missing or of another kind)."""
    obj = maybe(item)
    return obj if isinstance(obj, cls) else None


def connection(
    page: Page[Item],
    problems: list[ClusterProblem],
    *,
    connection_type: Callable[..., T],
    edge_type: Callable[..., Any],
) -> T:
    nodes = [wrap(item) for _, item in page.items]
    edges = [
        edge_type(node=node, cursor=page.cursor(key))
        for node, (key, _) in zip(nodes, page.items, strict=True)
    ]
    return connection_type(
        edges=edges,
        nodes=nodes,
        page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        count=lambda: page.total,
        cluster_errors=cluster_errors(problems),
    )


def location_visible(info: Info, storage: Item) -> bool:
    """A BackupStorage's location is shown only to viewers who may read the object."""
    return graph_of(info).access.allows(
        storage.cluster, "storage.kubestash.com", "backupstorages", storage.namespace
    )


def _values(values: list[Any] | None) -> list[str] | None:
    return None if values is None else [v.value if hasattr(v, "value") else str(v) for v in values]


def ref_query(ref: ObjectRefInput | None) -> lists.RefQuery | None:
    if ref is None:
        return None
    return lists.RefQuery(
        cluster=ref.cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
    )


def database_query(f: DatabaseFilter | None) -> lists.DatabaseQuery:
    if f is None:
        return lists.DatabaseQuery()
    return lists.DatabaseQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        kinds=f.kinds,
        phases=_values(f.phases),
        backup_health=_values(f.backup_health),
        name_contains=f.name_contains,
        label_selector=f.label_selector,
    )


def snapshot_query(f: SnapshotFilter | None) -> lists.SnapshotQuery:
    if f is None:
        return lists.SnapshotQuery()
    return lists.SnapshotQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        database=ref_query(f.database),
        repository=f.repository,
        types=_values(f.types),
        phases=_values(f.phases),
        methods=_values(f.methods),
        taken_after=f.taken_after,
        taken_before=f.taken_before,
    )


def resource_query(f: ResourceFilter | None) -> lists.ResourceQuery:
    if f is None:
        return lists.ResourceQuery()
    return lists.ResourceQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        name_contains=f.name_contains,
        label_selector=f.label_selector,
    )


def session_query(f: BackupSessionFilter | RestoreSessionFilter | None) -> lists.SessionQuery:
    if f is None:
        return lists.SessionQuery()
    return lists.SessionQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        database=ref_query(f.database),
        phases=_values(f.phases),
    )


def method_info(info: MethodInfo) -> Any:
    from schema.policies import BackupMethodInfo

    return BackupMethodInfo(
        method=BackupMethod(info.method),
        tasks=list(info.tasks),
        availability_impact=info.text.availability,
        performance_impact=info.text.performance,
        recoverability=info.text.recoverability,
        may_restart_database=info.text.may_restart_database,
    )
