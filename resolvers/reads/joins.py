"""Joins between objects, each one an index or key lookup in memory (no I/O per item).

Every join returns only what the viewer may see: a reference to an object they may not
read resolves to null, exactly as if it did not exist.
"""

from __future__ import annotations

from apis import objects
from apis.resources import CORE, KUBEDB, STORAGE
from resolvers.reads.graph import Graph, Item


def app_database(graph: Graph, item: Item) -> Item | None:
    """The KubeDB database a Snapshot or Repository belongs to (labels or spec.appRef)."""
    ref = objects.app_ref(item.raw)
    if ref is None or ref.api_group not in (None, KUBEDB) or not ref.kind:
        return None
    return graph.database(item.cluster, ref.kind, ref.namespace or item.namespace, ref.name)


def snapshot_repository(graph: Graph, snapshot: Item) -> Item | None:
    name = objects.str_at(snapshot.raw, "spec", "repository") or objects.labels_of(
        snapshot.raw
    ).get(objects.REPO_NAME_LABEL)
    if not name:
        return None
    return graph.get(snapshot.cluster, STORAGE, "Repository", snapshot.namespace, name)


def snapshot_session(graph: Graph, snapshot: Item) -> Item | None:
    name = objects.str_at(snapshot.raw, "spec", "backupSession")
    if not name:
        return None
    return graph.get(snapshot.cluster, CORE, "BackupSession", snapshot.namespace, name)


def repository_storage(graph: Graph, repository: Item) -> Item | None:
    ref = objects.mapping_at(repository.raw, "spec", "storageRef")
    name = ref.get("name")
    if not isinstance(name, str):
        return None
    namespace = str(ref.get("namespace") or repository.namespace)
    return graph.get(repository.cluster, STORAGE, "BackupStorage", namespace, name)


def repository_snapshots(graph: Graph, repository: Item) -> list[Item]:
    return graph.related(
        repository.cluster,
        STORAGE,
        "Snapshot",
        "repository",
        (repository.namespace, repository.name),
    )


def session_configuration(graph: Graph, session: Item) -> Item | None:
    invoker = objects.mapping_at(session.raw, "spec", "invoker")
    name = invoker.get("name")
    if invoker.get("kind") != "BackupConfiguration" or not isinstance(name, str):
        return None
    return graph.get(session.cluster, CORE, "BackupConfiguration", session.namespace, name)


def target_database(graph: Graph, item: Item) -> Item | None:
    """The database a BackupConfiguration or RestoreSession targets (``spec.target``)."""
    ref = objects.typed_ref(
        objects.dig(item.raw, "spec", "target"), default_namespace=item.namespace
    )
    if ref is None or ref.api_group not in (None, KUBEDB) or not ref.kind:
        return None
    return graph.database(item.cluster, ref.kind, ref.namespace or item.namespace, ref.name)


def session_database(graph: Graph, session: Item) -> Item | None:
    configuration = session_configuration(graph, session)
    return target_database(graph, configuration) if configuration else None


def session_snapshots(graph: Graph, session: Item) -> list[Item]:
    found = []
    for entry in objects.mappings_at(session.raw, "status", "snapshots"):
        name = objects.str_at(entry, "name")
        if not name:
            continue
        namespace = objects.str_at(entry, "appRef", "namespace") or session.namespace
        for ns in dict.fromkeys((session.namespace, namespace)):
            snapshot = graph.get(session.cluster, STORAGE, "Snapshot", ns, name)
            if snapshot is not None:
                found.append(snapshot)
                break
    return found


def _data_source(restore: Item) -> tuple[str, str | None, str | None]:
    source = objects.mapping_at(restore.raw, "spec", "dataSource")
    return (
        str(source.get("namespace") or restore.namespace),
        objects.str_at(source, "repository"),
        objects.str_at(source, "snapshot"),
    )


def restore_repository(graph: Graph, restore: Item) -> Item | None:
    namespace, repository, _ = _data_source(restore)
    if repository is None:
        return None
    return graph.get(restore.cluster, STORAGE, "Repository", namespace, repository)


def restore_snapshot(graph: Graph, restore: Item) -> Item | None:
    """The Snapshot a restore reads; ``latest`` means the newest succeeded one."""
    namespace, repository, snapshot = _data_source(restore)
    if snapshot and snapshot != "latest":
        return graph.get(restore.cluster, STORAGE, "Snapshot", namespace, snapshot)
    if repository is None:
        return None
    candidates = [
        s
        for s in graph.related(
            restore.cluster, STORAGE, "Snapshot", "repository", (namespace, repository)
        )
        if objects.snapshot_phase(s.raw) == "SUCCEEDED"
    ]
    return max(
        candidates,
        key=lambda s: (str(objects.dig(s.raw, "status", "snapshotTime") or ""), s.name),
        default=None,
    )


def database_snapshots(graph: Graph, database: Item) -> list[Item]:
    """Snapshots of a database, through the app index (labels or ``spec.appRef``)."""
    app = (database.resource.kind, database.namespace, database.name)
    return graph.related(database.cluster, STORAGE, "Snapshot", "app", app)
