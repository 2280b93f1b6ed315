"""Which admin-made policies a namespace may use, and which backup methods a kind offers.

BackupBlueprints, RetentionPolicies and BackupStorages carry a ``usagePolicy``:
``allowedNamespaces.from`` is ``All``, ``Same`` (the default, also when the field is
absent) or ``Selector`` (the namespace's labels must match
``allowedNamespaces.selector``). A namespace that the gateway does not know, or a
malformed selector, allows nothing: this decides where backups go, so it fails closed.

Which database kind a blueprint serves: its ``spec.subjects`` (the kinds KubeStash
watches for it); without subjects, its sessions' addon must be the addon the kind's
catalog versions name for KubeStash (``spec.archiver.addon.name``).
"""

from __future__ import annotations

from collections.abc import Iterable

from apis import objects
from apis.resources import ADDONS, CATALOG, CORE, STORAGE
from core.selectors import selector_from_label_selector
from resolvers.reads.graph import Graph, Item
from resolvers.reads.methods import CONTINUOUS, ORDER, TEXTS, MethodInfo, method_infos


def usage_allows(graph: Graph, item: Item, namespace: str) -> bool:
    policy = objects.mapping_at(item.raw, "spec", "usagePolicy", "allowedNamespaces")
    scope = policy.get("from") or "Same"
    if scope == "All":
        return True
    if scope == "Same":
        return item.namespace == namespace
    if scope == "Selector":
        labels = graph.namespace_labels(item.cluster, namespace)
        if labels is None:
            return False
        selector = policy.get("selector")
        if not isinstance(selector, dict):
            return False
        return bool(selector_from_label_selector(selector).matches(labels))
    return False


def _catalog_addons(graph: Graph, cluster: str, kind: str) -> set[str]:
    """Addon names the kind's catalog versions name (``spec.archiver.addon.name``)."""
    names: set[str] = set()
    for version in graph.unfiltered(cluster, CATALOG, f"{kind}Version"):
        name = objects.str_at(version.raw, "spec", "archiver", "addon", "name")
        if name:
            names.add(name)
    return names


def blueprint_kinds(raw: dict[str, object]) -> set[str]:
    return {
        str(s.get("kind")).lower()
        for s in objects.mappings_at(raw, "spec", "subjects")
        if s.get("kind")
    }


def blueprint_addons(raw: dict[str, object]) -> set[str]:
    sessions = objects.mappings_at(raw, "spec", "backupConfigurationTemplate", "sessions")
    return {name for s in sessions if (name := objects.str_at(s, "addon", "name"))}


def serves_kind(graph: Graph, blueprint: Item, kind: str) -> bool:
    kinds = blueprint_kinds(blueprint.raw)
    if kinds:
        return kind.lower() in kinds
    addons = blueprint_addons(blueprint.raw)
    return bool(addons) and addons <= _catalog_addons(graph, blueprint.cluster, kind)


def usable(graph: Graph, cluster: str, kind: str, namespace: str) -> list[Item]:
    """Objects of ``kind`` whose usagePolicy lets ``namespace`` use them, defaults first."""
    found = [
        i
        for i in graph.unfiltered(cluster, STORAGE if kind != "BackupBlueprint" else CORE, kind)
        if usage_allows(graph, i, namespace)
    ]
    return sorted(
        found, key=lambda i: (not objects.bool_at(i.raw, "spec", "default"), i.namespace, i.name)
    )


def backup_policies(graph: Graph, cluster: str, namespace: str, kind: str) -> list[Item]:
    return [
        b
        for b in usable(graph, cluster, "BackupBlueprint", namespace)
        if serves_kind(graph, b, kind)
    ]


def first_backend_ref(blueprint: Item, part: str) -> tuple[str, str] | None:
    """(namespace, name) of the first backend's storageRef or retentionPolicy."""
    backends = objects.mappings_at(blueprint.raw, "spec", "backupConfigurationTemplate", "backends")
    for backend in backends:
        ref = objects.mapping_at(backend, part)
        if ref.get("name"):
            return (str(ref.get("namespace") or blueprint.namespace), str(ref["name"]))
    return None


def lookup(
    graph: Graph, cluster: str, group: str, kind: str, ref: tuple[str, str] | None
) -> Item | None:
    """An object named by a policy, whether or not the viewer may list its kind."""
    if ref is None:
        return None
    return next(
        (i for i in graph.unfiltered(cluster, group, kind) if (i.namespace, i.name) == ref), None
    )


def blueprint_methods(blueprint: Item) -> list[MethodInfo]:
    sessions = objects.mappings_at(blueprint.raw, "spec", "backupConfigurationTemplate", "sessions")
    return method_infos(t for s in sessions for t in objects.addon_task_names(s))


def addons_for_kind(graph: Graph, cluster: str, kind: str) -> set[str]:
    """The KubeStash addons that back up ``kind``: from its catalog, from blueprints that
    name it, and the documented ``<kind>-addon`` convention of the KubeDB catalog chart."""
    names = _catalog_addons(graph, cluster, kind)
    for b in graph.unfiltered(cluster, CORE, "BackupBlueprint"):
        if kind.lower() in blueprint_kinds(b.raw):
            names |= blueprint_addons(b.raw)
    names.add(f"{kind.lower()}-addon")
    return names


def backup_methods(graph: Graph, clusters: Iterable[str], kind: str) -> list[MethodInfo]:
    """Methods the installed addon(s) offer for ``kind``; CONTINUOUS where the catalog
    says the kind has an archiver (log shipping by KubeDB, not an addon task)."""
    tasks: list[str] = []
    continuous = False
    for cluster in clusters:
        wanted = addons_for_kind(graph, cluster, kind)
        for addon in graph.unfiltered(cluster, ADDONS, "Addon"):
            if addon.name in wanted:
                tasks += [
                    n
                    for t in objects.mappings_at(addon.raw, "spec", "backupTasks")
                    if (n := objects.str_at(t, "name"))
                ]
        continuous |= bool(_catalog_addons(graph, cluster, kind))
    infos = method_infos(tasks)
    if continuous:
        infos.append(MethodInfo(method=CONTINUOUS, tasks=[], text=TEXTS[CONTINUOUS]))
        infos.sort(key=lambda m: ORDER.index(m.method))
    return infos


def blueprint_retention(graph: Graph, blueprint: Item) -> Item | None:
    """The RetentionPolicy a blueprint's first backend names (whoever may use it sees it)."""
    ref = first_backend_ref(blueprint, "retentionPolicy")
    return lookup(graph, blueprint.cluster, STORAGE, "RetentionPolicy", ref)


def blueprint_storage(graph: Graph, blueprint: Item) -> Item | None:
    """The BackupStorage a blueprint's first backend writes to."""
    ref = first_backend_ref(blueprint, "storageRef")
    return lookup(graph, blueprint.cluster, STORAGE, "BackupStorage", ref)
