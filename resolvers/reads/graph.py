"""The read model: objects from the shared cache that this viewer may see.

Everything here is synchronous and reads memory only; access was decided before the
request resolved (see ``auth.access``). A cluster that cannot answer is never an
exception: its part is missing and it is named in the problems the caller returns as
``clusterErrors``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apis.resources import KUBEDB, ResourceType
from auth.access import ViewerAccess
from watchers.cache import Cache, ClusterCache, ClusterProblem
from watchers.informer import Informer

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One object in one cluster."""

    cluster: str
    raw: JSONDict
    resource: ResourceType

    @property
    def namespace(self) -> str:
        return str((self.raw.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.raw.get("metadata") or {}).get("name") or "")


@dataclass
class Scan:
    """The visible objects of a kind across clusters, and the clusters that could not answer."""

    sources: list[tuple[Informer, frozenset[str] | None]] = field(default_factory=list)
    problems: list[ClusterProblem] = field(default_factory=list)

    def __iter__(self) -> Iterator[Item]:
        for informer, namespaces in self.sources:
            cluster, resource = informer.cluster, informer.resource
            if namespaces is None:
                for raw in informer.items():
                    yield Item(cluster, raw, resource)
            else:
                for ns in namespaces:
                    for raw in informer.by_index("namespace", ns):
                        yield Item(cluster, raw, resource)


class Graph:
    def __init__(self, cache: Cache, access: ViewerAccess) -> None:
        self.cache = cache
        self.access = access
        # Per-request results computed once and shared by fields (e.g. backup status,
        # needed by a `backupHealth` filter and again by the `backup` field).
        self.memo: dict[tuple[str, ...], object] = {}

    @property
    def viewer_name(self) -> str:
        return self.access.viewer.username

    def cluster_names(self) -> list[str]:
        return self.cache.cluster_names()

    def _clusters(self, clusters: Iterable[str] | None) -> list[ClusterCache]:
        if clusters is None:
            return list(self.cache.clusters.values())
        wanted = set(clusters)
        return [c for name, c in self.cache.clusters.items() if name in wanted]

    def _informers(self, cluster: ClusterCache, group: str, kind: str | None) -> list[Informer]:
        if kind is None:
            return cluster.informers_in(group)
        found = cluster.informer(group, kind)
        return [found] if found is not None else []  # an empty informer is falsy

    def scan(
        self,
        group: str,
        kind: str | None = None,
        *,
        clusters: Iterable[str] | None = None,
        namespaces: Iterable[str] | None = None,
    ) -> Scan:
        """Visible objects of ``group``/``kind`` (every kind of the group when None)."""
        wanted_ns = frozenset(namespaces) if namespaces is not None else None
        scan = Scan()
        for cluster in self._clusters(clusters):
            informers = self._informers(cluster, group, kind)
            problem = cluster.problem(informers)
            if problem is not None:
                scan.problems.append(problem)
                if not any(i.synced.is_set() for i in informers):
                    continue
            if not informers and cluster.crds.synced.is_set():
                scan.problems.append(
                    ClusterProblem(
                        cluster=cluster.name,
                        code="NOT_INSTALLED",
                        message=f"{kind or group} is not installed in cluster {cluster.name}",
                        retryable=False,
                    )
                )
                continue
            for informer in informers:
                if not informer.synced.is_set():
                    continue
                r = informer.resource
                grant = self.access.grant(cluster.name, r.group, r.plural)
                if grant.everywhere:
                    visible = wanted_ns
                else:
                    visible = (
                        grant.namespaces if wanted_ns is None else grant.namespaces & wanted_ns
                    )
                if visible is not None and not visible:
                    continue
                scan.sources.append((informer, visible))
        return scan

    def get(
        self, cluster: str, group: str, kind: str | None, namespace: str | None, name: str
    ) -> Item | None:
        """One visible object (any kind of the group when ``kind`` is None)."""
        cache = self.cache.clusters.get(cluster)
        if cache is None:
            return None
        for informer in self._informers(cache, group, kind):
            r = informer.resource
            if not self.access.allows(cluster, r.group, r.plural, namespace):
                continue
            raw = informer.get(namespace if r.namespaced else None, name)
            if raw is not None:
                return Item(cluster, raw, r)
        return None

    def related(self, cluster: str, group: str, kind: str, index: str, key: Hashable) -> list[Item]:
        """Visible objects whose index ``index`` holds ``key`` (a join through an index)."""
        cache = self.cache.clusters.get(cluster)
        informer = cache.informer(group, kind) if cache else None
        if informer is None:
            return []
        r = informer.resource
        grant = self.access.grant(cluster, r.group, r.plural)
        return [
            Item(cluster, raw, r)
            for raw in informer.by_index(index, key)
            if grant.allows((raw.get("metadata") or {}).get("namespace"))
        ]

    def database(self, cluster: str, kind: str, namespace: str, name: str) -> Item | None:
        return self.get(cluster, KUBEDB, kind, namespace, name)

    def namespace_labels(self, cluster: str, namespace: str) -> dict[str, str] | None:
        """Labels of a namespace (None if it is not known); used for usagePolicy selectors."""
        cache = self.cache.clusters.get(cluster)
        if cache is None:
            return None
        raw = cache.namespaces.get(None, namespace)
        if raw is None:
            return None
        labels = (raw.get("metadata") or {}).get("labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def unfiltered(self, cluster: str, group: str, kind: str) -> Iterable[Item]:
        """Every object of a kind, NOT filtered by access: only for policy summaries,
        whose callers decide per object what the viewer may learn of it."""
        cache = self.cache.clusters.get(cluster)
        informer = cache.informer(group, kind) if cache else None
        if informer is None:
            return []
        return [Item(cluster, raw, informer.resource) for raw in informer.items()]
