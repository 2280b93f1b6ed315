"""Admin objects a namespace may use, read from the whole cache: archivers and hooks.

Like the other policy summaries (``offers``), these are found in the cache unfiltered by
the viewer's access; ``offers`` then decides which of them the viewer is shown. The
namespace rules are the ones the planners apply (``resolvers.choices``), read here
through ``GraphSource``, so what the read side offers and what a mutation accepts stay
one rule:

- an archiver (``archiver.kubedb.com``, for example a PostgresArchiver) admits the
  namespaces its ``spec.databases.namespaces`` names (``All``, ``Same`` by default,
  or ``Selector``); its ``spec.databases.selector`` is about a database's own labels,
  so it is decided per database, not here;
- a HookTemplate admits those of its ``spec.usagePolicy.allowedNamespaces``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from apis import objects
from apis.resources import HOOK_TEMPLATES, NAMESPACES, ResourceType, archiver
from resolvers.choices import namespace_admitted, usage_allows
from resolvers.reads.graph import Item

JSONDict = dict[str, Any]


class Summaries(Protocol):
    """The two reads of the viewer's Graph that policy summaries need."""

    def unfiltered(self, cluster: str, group: str, kind: str) -> Iterable[Item]: ...

    def namespace_labels(self, cluster: str, namespace: str) -> dict[str, str] | None: ...


class GraphSource:
    """``resolvers.choices.ObjectSource`` over the Graph's unfiltered cache.

    Unfiltered on purpose: a policy follows references the viewer may not list (an
    admin's RetentionPolicy); whoever uses the answer decides what the viewer sees.
    """

    def __init__(self, graph: Summaries) -> None:
        self._graph = graph

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None:
        if resource == NAMESPACES:
            # Namespaces are kept apart from the other informers; a selector reads only
            # their labels.
            labels = self._graph.namespace_labels(cluster, name)
            return None if labels is None else {"metadata": {"name": name, "labels": labels}}
        return next(
            (
                i.raw
                for i in self._graph.unfiltered(cluster, resource.group, resource.kind)
                if i.name == name and i.namespace == (namespace or "")
            ),
            None,
        )

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]:
        return [
            i.raw
            for i in self._graph.unfiltered(cluster, resource.group, resource.kind)
            if namespace is None or i.namespace == namespace
        ]


def _by_place(found: list[Item]) -> list[Item]:
    return sorted(found, key=lambda i: (i.namespace, i.name))


def usable_archivers(graph: Summaries, cluster: str, namespace: str, kind: str) -> list[Item]:
    """Archivers of the database kind ``kind`` whose namespace rule admits ``namespace``."""
    resource = archiver(kind)
    source = GraphSource(graph)
    return _by_place(
        [
            a
            for a in graph.unfiltered(cluster, resource.group, resource.kind)
            if namespace_admitted(
                source,
                cluster=cluster,
                allowed=objects.mapping_at(a.raw, "spec", "databases", "namespaces"),
                home=a.namespace,
                namespace=namespace,
            )
        ]
    )


def usable_hooks(graph: Summaries, cluster: str, namespace: str) -> list[Item]:
    """HookTemplates whose usage policy admits ``namespace``."""
    source = GraphSource(graph)
    return _by_place(
        [
            h
            for h in graph.unfiltered(cluster, HOOK_TEMPLATES.group, HOOK_TEMPLATES.kind)
            if usage_allows(source, cluster=cluster, obj=h.raw, namespace=namespace)
        ]
    )
