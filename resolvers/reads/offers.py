"""What the Query root offers a viewer in a namespace: policy summaries and backup methods.

Policy summaries (BackupBlueprints, RetentionPolicies, BackupStorages, ArchiverPolicies
and HookTemplates usable from a namespace, and what a BackupPolicy lets a user choose
there) are shown to whoever may create or edit databases there, since choosing them is
part of that; anyone else sees only the objects they may list themselves.
A BackupStorage's location is shown only to viewers who may read that object.
"""

from __future__ import annotations

from collections.abc import Callable

from auth.access import Check
from core.errors import InvalidInput
from core.ids import GlobalRef
from resolvers.reads import policies, summaries
from resolvers.reads.choosing import ViewerChoices, choices_for
from resolvers.reads.graph import Graph, Item
from resolvers.reads.methods import MethodInfo

KUBEDB = "kubedb.com"
EDIT_VERBS = ("create", "update", "patch")


def clusters(graph: Graph, cluster: str | None) -> list[str]:
    """The one asked-for cluster (a clear error if unknown), or every configured one."""
    if cluster is None:
        return graph.cluster_names()
    if cluster not in graph.cluster_names():
        raise InvalidInput(
            f"unknown cluster {cluster!r}; configured: {', '.join(graph.cluster_names())}",
            extensions={"argument": "cluster"},
        )
    return [cluster]


def _kind_plurals(graph: Graph, cluster: str, kind: str | None) -> dict[str, str]:
    """{kind: plural} of the KubeDB kinds installed in a cluster (one kind, or all)."""
    found = {}
    cache = graph.cache.clusters[cluster]
    for informer in cache.informers_in(KUBEDB):
        r = informer.resource
        if kind is None or r.kind.lower() == kind.lower():
            found[r.kind] = r.plural
    return found


def known_kind(graph: Graph, in_clusters: list[str], kind: str) -> str:
    """The canonical spelling of a database kind, or a clear error naming the known ones."""
    known = {k for c in in_clusters for k in _kind_plurals(graph, c, None)}
    for k in known:
        if k.lower() == kind.lower():
            return k
    raise InvalidInput(
        f"unknown database kind {kind!r}; installed kinds: {', '.join(sorted(known)) or 'none'}",
        extensions={"argument": "databaseKind"},
    )


async def _may_edit_databases(graph: Graph, cluster: str, namespace: str, kind: str | None) -> bool:
    """Whether the viewer may create or edit databases (of ``kind``, or any) in ``namespace``:
    such a viewer is shown the policy summaries usable there."""
    checks = [
        Check(cluster, verb, KUBEDB, plural, namespace)
        for plural in _kind_plurals(graph, cluster, kind).values()
        for verb in EDIT_VERBS
    ]
    decided = await graph.access.check(checks)
    return any(decided.get(c, False) for c in checks)


def _listable(graph: Graph, item: Item) -> bool:
    r = item.resource
    return graph.access.allows(item.cluster, r.group, r.plural, item.namespace)


def location_visible(graph: Graph, storage: Item) -> bool:
    """A BackupStorage's location is shown only to viewers who may read the object."""
    return graph.access.allows(
        storage.cluster, "storage.kubestash.com", "backupstorages", storage.namespace
    )


async def summary_shown(
    graph: Graph, cluster: str, namespace: str, *, kind: str | None
) -> Callable[[Item], bool]:
    """Whether the viewer is shown a policy summary usable from ``namespace``: yes if
    they may edit databases (of ``kind``) there, else only if they may list it."""
    may_use = await _may_edit_databases(graph, cluster, namespace, kind)
    return lambda item: may_use or _listable(graph, item)


async def _offered(
    graph: Graph,
    in_clusters: list[str],
    namespace: str,
    *,
    kind: str | None,
    usable: Callable[[str], list[Item]],
) -> list[Item]:
    """``usable(cluster)``, each shown as ``summary_shown`` says."""
    result = []
    for c in in_clusters:
        shown = await summary_shown(graph, c, namespace, kind=kind)
        result += [i for i in usable(c) if shown(i)]
    return result


async def backup_policies(
    graph: Graph, *, cluster: str | None, namespace: str, database_kind: str
) -> list[Item]:
    """BackupBlueprints a database of this kind in this namespace may use."""
    in_clusters = clusters(graph, cluster)
    kind = known_kind(graph, in_clusters, database_kind)
    return await _offered(
        graph,
        in_clusters,
        namespace,
        kind=kind,
        usable=lambda c: policies.backup_policies(graph, c, namespace, kind),
    )


async def shared_policies(
    graph: Graph, kind: str, *, cluster: str | None, namespace: str
) -> list[Item]:
    """RetentionPolicies or BackupStorages (``kind``) usable from this namespace."""
    return await _offered(
        graph,
        clusters(graph, cluster),
        namespace,
        kind=None,
        usable=lambda c: policies.usable(graph, c, kind, namespace),
    )


async def archiver_policies(
    graph: Graph, *, cluster: str | None, namespace: str, database_kind: str
) -> list[Item]:
    """Archivers of this database kind whose namespace rule admits this namespace."""
    in_clusters = clusters(graph, cluster)
    kind = known_kind(graph, in_clusters, database_kind)
    return await _offered(
        graph,
        in_clusters,
        namespace,
        kind=kind,
        usable=lambda c: summaries.usable_archivers(graph, c, namespace, kind),
    )


async def hook_templates(graph: Graph, *, cluster: str | None, namespace: str) -> list[Item]:
    """HookTemplates whose usage policy admits this namespace."""
    return await _offered(
        graph,
        clusters(graph, cluster),
        namespace,
        kind=None,
        usable=lambda c: summaries.usable_hooks(graph, c, namespace),
    )


async def policy_choices(graph: Graph, *, blueprint: Item, namespace: str) -> ViewerChoices:
    """What a database in ``namespace`` may choose with ``blueprint``, for this viewer."""
    shown = await summary_shown(graph, blueprint.cluster, namespace, kind=None)
    return choices_for(
        graph,
        blueprint=blueprint,
        namespace=namespace,
        shown=shown,
        readable=lambda storage: location_visible(graph, storage),
    )


def backup_methods(graph: Graph, *, cluster: str | None, database_kind: str) -> list[MethodInfo]:
    """Backup methods the installed addon offers for this kind of database."""
    in_clusters = clusters(graph, cluster)
    return policies.backup_methods(
        graph, in_clusters, known_kind(graph, in_clusters, database_kind)
    )


def node(graph: Graph, ref: GlobalRef) -> Item | None:
    """The object a global ID names, if the viewer may see it (null for an unknown cluster)."""
    if ref.cluster not in graph.cluster_names():
        return None
    kind = None if ref.api_group == KUBEDB else ref.kind
    found = graph.get(ref.cluster, ref.api_group, kind, ref.namespace, ref.name)
    if found is not None and found.resource.kind != ref.kind:
        return None
    return found
