"""The root lists and the nested ones: filter, sort globally across clusters, page.

Orderings (each has its own cursor tag, so a cursor cannot be replayed on another list):
- databases and repositories: cluster, namespace, name (and kind);
- snapshots: snapshot time (creation time until one is set), newest first by default;
- backup and restore sessions: creation time, newest first.
Ties are broken by cluster, namespace and name, so the order is total and stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apis import links, objects
from apis.links import snapshot_app
from apis.resources import CORE, KUBEDB, STORAGE
from core.errors import InvalidInput
from core.selectors import Selector, parse_selector
from core.times import parse_time
from resolvers.reads import indexed
from resolvers.reads.backup import backup_health
from resolvers.reads.graph import Graph, Item, Scan
from resolvers.reads.paging import Page, SortKey, paginate
from resolvers.reads.queries import (
    DatabaseQuery,
    RefQuery,
    ResourceQuery,
    SessionQuery,
    SnapshotQuery,
)
from watchers.cache import ClusterProblem

# Bounds on filter input: lists in filters are matched against every object.
MAX_FILTER_VALUES = 100


@dataclass(frozen=True)
class Listing:
    page: Page[Item]
    problems: list[ClusterProblem]


def _bounded(values: list[str] | None, name: str) -> list[str] | None:
    if values is not None and len(values) > MAX_FILTER_VALUES:
        raise InvalidInput(
            f"filter `{name}` lists {len(values)} values; at most {MAX_FILTER_VALUES} are allowed",
            extensions={"argument": name},
        )
    return values


def _selector(text: str | None) -> Selector | None:
    return parse_selector(text) if text else None


def _time_of(raw: dict[str, Any], *path: str) -> str:
    # Kubernetes writes RFC 3339 UTC ("...Z") everywhere, so the strings sort as times.
    value = objects.dig(raw, *path)
    return value if isinstance(value, str) else ""


def name_key(item: Item) -> SortKey:
    return (item.cluster, item.namespace, item.name, item.resource.kind)


def snapshot_time(raw: dict[str, Any]) -> str:
    # One definition of "when", shared with the informers' time-sorted index.
    return links.snapshot_time(raw)


def snapshot_key(item: Item) -> SortKey:
    return (snapshot_time(item.raw), item.cluster, item.namespace, item.name)


def created_key(item: Item) -> SortKey:
    return (
        _time_of(item.raw, "metadata", "creationTimestamp"),
        item.cluster,
        item.namespace,
        item.name,
    )


def _page(
    items: Iterable[Item],
    key: Callable[[Item], SortKey],
    *,
    ordering: str,
    first: int | None,
    after: str | None,
    descending: bool,
) -> Page[Item]:
    return paginate(
        ((key(i), i) for i in items),
        ordering=ordering,
        first=first,
        after=after,
        descending=descending,
    )


def _contains(item: Item, needle: str | None) -> bool:
    return needle is None or needle.lower() in item.name.lower()


def _labels_match(item: Item, selector: Selector | None) -> bool:
    return selector is None or selector.matches(objects.labels_of(item.raw))


# ------------------------------------------------------------------ databases


def database_predicate(graph: Graph, query: DatabaseQuery) -> Callable[[Item], bool]:
    """Whether a database matches the filter (shared by the list and the event stream)."""
    kinds = _bounded(query.kinds, "kinds")
    phases = set(_bounded(query.phases, "phases") or ())
    health = set(_bounded(query.backup_health, "backupHealth") or ())
    clusters = set(_bounded(query.clusters, "clusters") or ())
    namespaces = set(_bounded(query.namespaces, "namespaces") or ())
    selector = _selector(query.label_selector)
    kind_set = {k.lower() for k in kinds} if kinds else None

    def accept(item: Item) -> bool:
        if clusters and item.cluster not in clusters:
            return False
        if namespaces and item.namespace not in namespaces:
            return False
        if kind_set is not None and item.resource.kind.lower() not in kind_set:
            return False
        if phases and objects.database_phase(item.raw) not in phases:
            return False
        if not _contains(item, query.name_contains) or not _labels_match(item, selector):
            return False
        return not health or backup_health(graph, item) in health

    return accept


def databases(
    graph: Graph, query: DatabaseQuery, *, first: int | None, after: str | None
) -> Listing:
    accept = database_predicate(graph, query)
    scan = graph.scan(KUBEDB, None, clusters=query.clusters, namespaces=query.namespaces)
    page = _page(
        (i for i in scan if accept(i)),
        name_key,
        ordering="databases",
        first=first,
        after=after,
        descending=False,
    )
    return Listing(page=page, problems=scan.problems)


def find_database(graph: Graph, ref: RefQuery) -> Item | None:
    for cluster in [ref.cluster] if ref.cluster else graph.cluster_names():
        if ref.kind:
            found = graph.database(cluster, ref.kind, ref.namespace, ref.name)
        else:
            found = graph.get(cluster, KUBEDB, None, ref.namespace, ref.name)
        if found is not None:
            return found
    return None


# ------------------------------------------------------------------ snapshots


def _app_keys(graph: Graph, ref: RefQuery) -> list[tuple[str, tuple[str, str, str]]]:
    """(cluster, app index key) pairs a database filter stands for."""
    if ref.kind:
        clusters = [ref.cluster] if ref.cluster else graph.cluster_names()
        return [(c, (ref.kind, ref.namespace, ref.name)) for c in clusters]
    found = find_database(graph, ref)
    if found is None:
        return []
    return [(found.cluster, (found.resource.kind, found.namespace, found.name))]


def snapshot_filter(query: SnapshotQuery) -> Callable[[Item], bool]:
    """Whether a snapshot matches the filter's own-object conditions (not the database)."""
    types = set(_bounded(query.types, "types") or ())
    phases = set(_bounded(query.phases, "phases") or ())
    methods = set(_bounded(query.methods, "methods") or ())
    clusters = set(_bounded(query.clusters, "clusters") or ())
    namespaces = set(_bounded(query.namespaces, "namespaces") or ())

    def accept(item: Item) -> bool:
        raw = item.raw
        if clusters and item.cluster not in clusters:
            return False
        if namespaces and item.namespace not in namespaces:
            return False
        if query.repository and objects.dig(raw, "spec", "repository") != query.repository:
            return False
        if types and objects.snapshot_type(raw) not in types:
            return False
        if phases and objects.snapshot_phase(raw) not in phases:
            return False
        if methods and not methods & set(objects.snapshot_methods(raw)):
            return False
        if query.taken_after or query.taken_before:
            when = parse_time(snapshot_time(raw))
            if when is None:
                return False
            if query.taken_after and when < query.taken_after:
                return False
            if query.taken_before and when > query.taken_before:
                return False
        return True

    return accept


def snapshot_predicate(graph: Graph, query: SnapshotQuery) -> Callable[[Item], bool]:
    """The whole snapshot filter, including the database it belongs to."""
    own = snapshot_filter(query)
    apps = set(_app_keys(graph, query.database)) if query.database is not None else None

    def accept(item: Item) -> bool:
        if not own(item):
            return False
        if apps is None:
            return True
        return any((item.cluster, key) in apps for key in snapshot_app(item.raw))

    return accept


def snapshots(
    graph: Graph,
    query: SnapshotQuery,
    *,
    first: int | None,
    after: str | None,
    descending: bool,
) -> Listing:
    """Through the informers' indexes and time-sorted lists (``resolvers.reads.indexed``):
    neither a page nor ``totalCount`` is a pass over every snapshot when the filter is on
    indexed fields (clusters, namespaces, database, repository, types, phases)."""
    snapshot_filter(query)  # refuses bad filters, as the list always has
    residual = (
        snapshot_filter(
            SnapshotQuery(
                methods=query.methods,
                taken_after=query.taken_after,
                taken_before=query.taken_before,
            )
        )
        if query.methods or query.taken_after or query.taken_before
        else None
    )
    apps = _app_keys(graph, query.database) if query.database is not None else None
    scan = graph.scan(STORAGE, "Snapshot", clusters=query.clusters, namespaces=query.namespaces)
    wanted = indexed.SnapshotIndexQuery.of(query, apps=apps, residual=residual)
    page = indexed.page(scan, wanted, first=first, after=after, descending=descending)
    return Listing(page=page, problems=scan.problems)


def joined_snapshots(
    items: Iterable[Item],
    query: SnapshotQuery,
    *,
    first: int | None,
    after: str | None,
    descending: bool,
) -> Page[Item]:
    """A page of snapshots already joined to one database or repository.

    The filter's own conditions (clusters and namespaces included) apply; the database
    or repository is already given by the join.
    """
    accept = snapshot_filter(query)
    return _page(
        (i for i in items if accept(i)),
        snapshot_key,
        ordering="snapshots:desc" if descending else "snapshots:asc",
        first=first,
        after=after,
        descending=descending,
    )


# ------------------------------------------------------------------ repositories


def repositories(
    graph: Graph, query: ResourceQuery, *, first: int | None, after: str | None
) -> Listing:
    selector = _selector(query.label_selector)
    scan = graph.scan(
        STORAGE,
        "Repository",
        clusters=_bounded(query.clusters, "clusters"),
        namespaces=_bounded(query.namespaces, "namespaces"),
    )
    items = (i for i in scan if _contains(i, query.name_contains) and _labels_match(i, selector))
    page = _page(
        items, name_key, ordering="repositories", first=first, after=after, descending=False
    )
    return Listing(page=page, problems=scan.problems)


# ------------------------------------------------------------------ sessions


def session_predicate(graph: Graph, kind: str, query: SessionQuery) -> Callable[[Item], bool]:
    clusters = set(_bounded(query.clusters, "clusters") or ())
    namespaces = set(_bounded(query.namespaces, "namespaces") or ())
    phases = set(_bounded(query.phases, "phases") or ())
    phase_of = (
        objects.backup_session_phase if kind == "BackupSession" else objects.restore_session_phase
    )
    targets = set(_app_keys(graph, query.database)) if query.database is not None else None

    def accept(item: Item) -> bool:
        if clusters and item.cluster not in clusters:
            return False
        if namespaces and item.namespace not in namespaces:
            return False
        if phases and phase_of(item.raw) not in phases:
            return False
        return targets is None or bool(targets & set(session_targets(graph, item)))

    return accept


def _session_items(graph: Graph, kind: str, query: SessionQuery) -> tuple[Iterable[Item], Scan]:
    scan = graph.scan(CORE, kind, clusters=query.clusters, namespaces=query.namespaces)
    accept = session_predicate(graph, kind, query)
    return (i for i in scan if accept(i)), scan


def session_targets(graph: Graph, item: Item) -> list[tuple[str, tuple[str, str, str]]]:
    """(cluster, app key) of the database a backup or restore session is about."""
    if item.resource.kind == "RestoreSession":
        ref = objects.typed_ref(
            objects.dig(item.raw, "spec", "target"), default_namespace=item.namespace
        )
        if ref is None or not ref.kind:
            return []
        return [(item.cluster, (ref.kind, ref.namespace or item.namespace, ref.name))]
    invoker = objects.mapping_at(item.raw, "spec", "invoker")
    name = invoker.get("name")
    if invoker.get("kind") != "BackupConfiguration" or not isinstance(name, str):
        return []
    bc = graph.get(item.cluster, CORE, "BackupConfiguration", item.namespace, name)
    if bc is None:
        return []
    ref = objects.typed_ref(objects.dig(bc.raw, "spec", "target"), default_namespace=bc.namespace)
    if ref is None or not ref.kind:
        return []
    return [(item.cluster, (ref.kind, ref.namespace or bc.namespace, ref.name))]


def sessions(
    graph: Graph, kind: str, query: SessionQuery, *, first: int | None, after: str | None
) -> Listing:
    items, scan = _session_items(graph, kind, query)
    page = _page(
        items, created_key, ordering=kind.lower(), first=first, after=after, descending=True
    )
    return Listing(page=page, problems=scan.problems)


def database_sessions(
    graph: Graph, database: Item, kind: str, *, first: int | None, after: str | None
) -> Page[Item]:
    """Backup or restore sessions of one database, newest first, through the indexes."""
    app = (database.resource.kind, database.namespace, database.name)
    if kind == "RestoreSession":
        items = graph.related(database.cluster, CORE, "RestoreSession", "app", app)
    else:
        items = [
            s
            for bc in graph.related(database.cluster, CORE, "BackupConfiguration", "app", app)
            for s in graph.related(
                database.cluster,
                CORE,
                "BackupSession",
                "invoker",
                (bc.namespace, "BackupConfiguration", bc.name),
            )
        ]
    return _page(
        items, created_key, ordering=kind.lower(), first=first, after=after, descending=True
    )
