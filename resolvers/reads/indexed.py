"""Counting and paging snapshots through the informers' indexes, not a pass over them all.

Each source of a scan (one informer, the namespaces the viewer may list there) is
narrowed by the filter's indexed conditions; each condition is a *dimension*: the union
of the index's key sets for the values asked for (namespaces, phases, types, the
repository's name, the database). An object has one value per dimension, so the sets of
a dimension are disjoint and its size is the sum of theirs.

- ``totalCount``: with one dimension, its size; with more, iterate the smallest and test
  membership in the others. No object is read unless a condition no index answers
  (methods, taken after/before) is asked for, and then only the candidates are.
- A page: walk the time-sorted list from the cursor, testing membership, for at most as
  many steps as the smallest dimension holds; past that (a selective filter), take the
  smallest dimension's matches beyond the last step and sort them. Either way a page
  costs O(log n + page + smallest dimension), whatever the filter selects.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from apis import links
from resolvers.reads.graph import Item, Scan
from resolvers.reads.paging import Page, SortKey, decode_cursor, take
from resolvers.reads.queries import SnapshotQuery
from watchers.informer import Informer, Key

LocalKey = tuple[str, ...]  # (time, namespace, name): an informer's own sort key


@dataclass(frozen=True)
class Dimension:
    """The keys that meet one condition: a union of disjoint index key sets."""

    sets: tuple[AbstractSet[Key], ...]
    # Namespaces are tested on the key itself (its first part), not through the sets.
    namespaces: frozenset[str] | None = None

    @property
    def size(self) -> int:
        return sum(len(s) for s in self.sets)

    def members(self) -> Iterator[Key]:
        return itertools.chain.from_iterable(self.sets)

    def test(self) -> Callable[[Key], bool]:
        """A membership test for keys (as cheap as one set lookup where possible)."""
        if self.namespaces is not None:
            namespaces = self.namespaces
            return lambda key: key[0] in namespaces
        if len(self.sets) == 1:
            return self.sets[0].__contains__
        sets = self.sets
        return lambda key: any(key in s for s in sets)


@dataclass(frozen=True)
class SnapshotIndexQuery:
    """What a snapshot filter asks of the indexes, and what is left for the objects."""

    phases: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    repository: str | None = None
    # (cluster, app key) of the database asked for; None when no database is.
    apps: tuple[tuple[str, Hashable], ...] | None = None
    # Conditions no index answers, tested on the candidates; None when there are none.
    residual: Callable[[Item], bool] | None = None

    @classmethod
    def of(
        cls,
        query: SnapshotQuery,
        *,
        apps: Iterable[tuple[str, Hashable]] | None,
        residual: Callable[[Item], bool] | None,
    ) -> SnapshotIndexQuery:
        return cls(
            phases=tuple(query.phases) if query.phases else None,
            types=tuple(query.types) if query.types else None,
            repository=query.repository or None,
            apps=tuple(apps) if apps is not None else None,
            residual=residual,
        )

    def dimensions(self, informer: Informer, namespaces: frozenset[str] | None) -> list[Dimension]:
        """The dimensions of one source, read from the live indexes (use them at once)."""
        dims: list[Dimension] = []
        if namespaces is not None:
            sets = tuple(informer.index_keys("namespace", ns) for ns in namespaces)
            dims.append(Dimension(sets, namespaces=namespaces))
        if self.phases is not None:
            dims.append(Dimension(tuple(informer.index_keys("phase", p) for p in self.phases)))
        if self.types is not None:
            dims.append(Dimension(tuple(informer.index_keys("type", t) for t in self.types)))
        if self.repository is not None:
            dims.append(Dimension((informer.index_keys("repository_name", self.repository),)))
        if self.apps is not None:
            keys = [key for cluster, key in self.apps if cluster == informer.cluster]
            dims.append(Dimension(tuple(informer.index_keys("app", k) for k in keys)))
        return dims


def _all_of(dims: Iterable[Dimension]) -> Callable[[Key], bool] | None:
    """One membership test for all of ``dims`` (None: nothing to test)."""
    tests = [d.test() for d in dims]
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda key: all(t(key) for t in tests)


def _narrow(dims: Sequence[Dimension]) -> Iterator[Key]:
    """The keys in every dimension: the smallest one's, tested against the others."""
    smallest = min(dims, key=lambda d: d.size)
    test = _all_of(d for d in dims if d is not smallest)
    members = smallest.members()
    return members if test is None else filter(test, members)


def count(scan: Scan, query: SnapshotIndexQuery) -> int:
    """How many visible snapshots match, from index sizes and intersections."""
    total = 0
    for informer, namespaces in scan.sources:
        dims = query.dimensions(informer, namespaces)
        residual = query.residual
        if not dims:
            if residual is None:
                total += len(informer)
            else:
                cluster, resource = informer.cluster, informer.resource
                total += sum(
                    1 for raw in informer.items() if residual(Item(cluster, raw, resource))
                )
            continue
        if residual is None and len(dims) == 1:
            total += dims[0].size
            continue
        keys = _narrow(dims)
        if residual is None:
            total += sum(1 for _ in keys)
        else:
            cluster, resource = informer.cluster, informer.resource
            for key in keys:
                raw = informer.get(*key)
                if raw is not None and residual(Item(cluster, raw, resource)):
                    total += 1
    return total


def page(
    scan: Scan,
    query: SnapshotIndexQuery,
    *,
    first: int | None,
    after: str | None,
    descending: bool,
) -> Page[Item]:
    """A page in snapshot-time order (ties: cluster, namespace, name), merged across
    clusters, strictly after the cursor ``after``."""
    ordering = "snapshots:desc" if descending else "snapshots:asc"
    cursor = decode_cursor(ordering, after) if after else None

    def beyond_cursor(key: SortKey) -> bool:
        return cursor is None or (key < cursor if descending else key > cursor)

    def stream(
        informer: Informer, namespaces: frozenset[str] | None
    ) -> Iterator[tuple[SortKey, Item]]:
        cluster, resource = informer.cluster, informer.resource
        residual = query.residual
        dims = query.dimensions(informer, namespaces)
        # No more steps than the smallest dimension holds (-1: no index narrows the
        # source, so the walk is the only way).
        budget = min(d.size for d in dims) if dims else -1
        test = _all_of(dims)
        start: LocalKey | None = None
        if cursor is not None:
            # Position at the cursor's time; the global comparison settles ties between
            # clusters (local keys have no cluster).
            edge = str(cursor[0])
            start = (edge, "\U0010ffff") if descending else (edge,)
        last: LocalKey | None = None
        for local in informer.sorted_keys("time", after=start, reverse=descending):
            if budget == 0:
                yield from _collected(informer, dims, cursor, last, residual, descending)
                return
            budget -= 1
            last = local
            time, ns, name = local
            key: SortKey = (time, cluster, ns, name)
            if cursor is not None and not beyond_cursor(key):
                continue
            if test is not None and not test((ns, name)):
                continue
            raw = informer.get(ns, name)
            if raw is None:
                continue
            item = Item(cluster, raw, resource)
            if residual is None or residual(item):
                yield key, item

    def _collected(
        informer: Informer,
        dims: list[Dimension],
        cursor: SortKey | None,
        last: LocalKey | None,
        residual: Callable[[Item], bool] | None,
        descending: bool,
    ) -> Iterator[tuple[SortKey, Item]]:
        """The rest of a source, from its smallest dimension instead of the walk."""
        cluster, resource = informer.cluster, informer.resource
        found: list[tuple[SortKey, Item]] = []
        for store_key in _narrow(dims):
            raw = informer.get(*store_key)
            if raw is None:
                continue
            local = links.snapshot_order(raw)
            if last is not None and not (local < last if descending else local > last):
                continue  # the walk has been here already
            key: SortKey = (local[0], cluster, local[1], local[2])
            if not beyond_cursor(key):
                continue
            item = Item(cluster, raw, resource)
            if residual is None or residual(item):
                found.append((key, item))
        found.sort(key=lambda e: e[0], reverse=descending)
        yield from found

    merged = heapq.merge(
        *(stream(i, ns) for i, ns in scan.sources), key=lambda e: e[0], reverse=descending
    )
    return take(merged, ordering=ordering, first=first, count=lambda: count(scan, query))
