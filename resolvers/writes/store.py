"""The planners' view of the clusters: the gateway's shared informer cache.

Planners are pure functions of their input and a ``plan.Store``; this is the Store the
gateway gives them. It reads memory only. It is not filtered by the caller's access
(see ``plan.Store``): whether the caller may make each change is the API server's
decision, at the dry-run check.
"""

from __future__ import annotations

from apis.resources import CRDS, NAMESPACES, ResourceType
from resolvers.writes.plan import JSONDict
from watchers.cache import Cache
from watchers.informer import Informer


class CacheStore:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def clusters(self) -> list[str]:
        return self._cache.cluster_names()

    def _informer(self, cluster: str, resource: ResourceType) -> Informer | None:
        handle = self._cache.clusters.get(cluster)
        if handle is None:
            return None
        if resource == NAMESPACES:
            return handle.namespaces
        if resource == CRDS:
            return handle.crds
        return handle.informer(resource.group, resource.kind)

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None:
        informer = self._informer(cluster, resource)
        if informer is None:
            return None
        return informer.get(namespace if informer.resource.namespaced else None, name)

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]:
        informer = self._informer(cluster, resource)
        if informer is None:
            return []
        if namespace is None or not informer.resource.namespaced:
            return list(informer.items())
        return informer.by_index("namespace", namespace)
