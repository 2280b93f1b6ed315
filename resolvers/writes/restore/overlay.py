"""A Store with planned objects added: later steps of one plan see what earlier ones
create (enableBackup for a database createDatabase is about to make)."""

from __future__ import annotations

from collections.abc import Sequence

from apis import objects
from apis.resources import ResourceType
from resolvers.writes.plan import JSONDict, Store


class Overlay:
    def __init__(self, store: Store, *, cluster: str, objects: Sequence[JSONDict]) -> None:
        self._store = store
        self._cluster = cluster
        self._added = list(objects)

    def _matches(self, raw: JSONDict, resource: ResourceType) -> bool:
        api_version = objects.str_at(raw, "apiVersion") or ""
        return (
            api_version.rpartition("/")[0] == resource.group
            and objects.kind_of(raw) == resource.kind
        )

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None:
        if cluster == self._cluster:
            for raw in self._added:
                if (
                    self._matches(raw, resource)
                    and objects.name_of(raw) == name
                    and (not resource.namespaced or objects.namespace_of(raw) == namespace)
                ):
                    return raw
        return self._store.get(cluster, resource, namespace, name)

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]:
        found = self._store.list(cluster, resource, namespace)
        if cluster == self._cluster:
            found = found + [
                raw
                for raw in self._added
                if self._matches(raw, resource)
                and (namespace is None or objects.namespace_of(raw) == namespace)
            ]
        return found
