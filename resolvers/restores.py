"""Which snapshots can be restored, and how: pure logic the planners and the read side share.

A snapshot is restorable when it succeeded, did not fail its integrity check, holds data
(a data component that succeeded) and the target cluster's Addon can restore that data.

How a component is matched to a restore task, from the Addon's own data (never a list
per database kind): the component's name says which backup method wrote it (``dump``
LOGICAL, ``physical`` PHYSICAL, ``volumesnapshot`` or a VolumeSnapshotter driver
VOLUME_SNAPSHOT, ``manifest`` MANIFEST). The Addon's backup tasks of that method (and of
the component's driver, when both name one) are the tasks that wrote it. For each of them
the restore task is, in this order, the one named ``<backup task>-restore`` (KubeDB's
``logical-backup`` → ``logical-backup-restore``), the one whose Function is the backup
task's Function with ``backup`` read as ``restore`` (``postgres-backup`` →
``postgres-restore``, ``kubedbmanifest-backup`` → ``kubedbmanifest-restore``), or the one
named like the backup task with ``backup`` read as ``restore`` (``manifest-backup`` →
``manifest-restore``). Only when none of these is listed is a restore task taken whose own
name says the same method, if exactly one does. Otherwise the Addon cannot restore the
component (NO_RESTORE_TASK).

Reads go through a ``Store`` (the planners' ``plan.Store`` fits); the read side passes
``GraphStore``, which sees only what the viewer may.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from apis import links, objects
from apis.resources import (
    ADDONS_KIND,
    REPOSITORIES,
    SNAPSHOTS,
    STORAGE,
    ResourceType,
    catalog_version,
)
from resolvers.reads.graph import Graph, Item
from resolvers.reads.recovery import Window, recovery_window

JSONDict = dict[str, Any]
AppKey = tuple[str, str, str]

LOGICAL = "LOGICAL"
PHYSICAL = "PHYSICAL"
VOLUME_SNAPSHOT = "VOLUME_SNAPSHOT"
MANIFEST = "MANIFEST"
PHYSICAL_METHODS = frozenset({PHYSICAL, VOLUME_SNAPSHOT})
# When a snapshot holds several kinds of data, the one restored: a physical copy is
# exact, a dump replays over whatever is there.
DATA_PREFERENCE = (PHYSICAL, VOLUME_SNAPSHOT, LOGICAL)
DB_VERSION = "kubedb.com/db-version"

_COMPONENT_METHODS = {
    "dump": LOGICAL,
    "physical": PHYSICAL,
    "volumesnapshot": VOLUME_SNAPSHOT,
    "manifest": MANIFEST,
}


class Store(Protocol):
    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None: ...

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]: ...


class GraphStore:
    """A ``Store`` over the read model: only the objects the viewer may see."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None:
        found = self.graph.get(cluster, resource.group, resource.kind, namespace, name)
        return found.raw if found is not None else None

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]:
        scan = self.graph.scan(
            resource.group,
            resource.kind,
            clusters=[cluster],
            namespaces=[namespace] if namespace is not None else None,
        )
        return [item.raw for item in scan]


# ------------------------------------------------------------------ components and tasks


def component_method(name: str, component: Mapping[str, Any]) -> str | None:
    """The backup method that wrote a Snapshot component (None: logs, or unknown)."""
    if component.get("driver") == "VolumeSnapshotter":
        return VOLUME_SNAPSHOT
    return _COMPONENT_METHODS.get(name)


def _as_restore(value: str) -> str:
    return value.replace("backup", "restore")


def _named_method(task: str) -> str | None:
    """The method a restore task's name says, for the fallback only."""
    name = task.lower()
    if "manifest" in name:
        return MANIFEST
    if "volume-snapshot" in name or "volumesnapshot" in name:
        return VOLUME_SNAPSHOT
    if "physical" in name:
        return PHYSICAL
    if "incremental" in name:
        return None  # log replay (ClickHouse pitr), never a snapshot's data
    return LOGICAL if name.endswith("-restore") else None


def restore_task(addon: Mapping[str, Any] | None, method: str, driver: str | None) -> str | None:
    """The Addon's restore task for data written by ``method`` (see the module docstring)."""
    if addon is None:
        return None
    restores = objects.mappings_at(addon, "spec", "restoreTasks")
    names = {n for t in restores if (n := objects.str_at(t, "name"))}
    by_function = {
        f: n
        for t in restores
        if (n := objects.str_at(t, "name")) and (f := objects.str_at(t, "function"))
    }
    for task in objects.mappings_at(addon, "spec", "backupTasks"):
        name = objects.str_at(task, "name")
        if not name or objects.method_for_task(name) != method:
            continue
        task_driver = objects.str_at(task, "driver")
        if driver and task_driver and driver != task_driver and method != VOLUME_SNAPSHOT:
            continue
        function = objects.str_at(task, "function")
        if f"{name}-restore" in names:
            return f"{name}-restore"
        if function and _as_restore(function) in by_function:
            return by_function[_as_restore(function)]
        if _as_restore(name) in names:
            return _as_restore(name)
    fallback = sorted(n for n in names if _named_method(n) == method)
    return fallback[0] if len(fallback) == 1 else None


def kind_addon_name(store: Store, *, cluster: str, kind: str, version: str | None) -> str:
    """The Addon of a database kind: its catalog version's, else ``<kind>-addon``."""
    if version:
        catalog = store.get(cluster, catalog_version(kind), None, version)
        name = objects.str_at(catalog, "spec", "archiver", "addon", "name")
        if name:
            return name
    return f"{kind.lower()}-addon"


# ------------------------------------------------------------------ restorability


@dataclass(frozen=True)
class DataChoice:
    """How one snapshot's data is restored."""

    component: str
    method: str
    task: str


@dataclass
class Verdict:
    """Whether a snapshot can be restored, and how."""

    data: DataChoice | None = None
    # The manifest component, if it succeeded: it holds the auth Secret.
    manifest: str | None = None
    manifest_task: str | None = None
    # The reason it cannot, with the error code to give.
    code: str | None = None
    reason: str | None = None
    methods: list[str] = field(default_factory=list)

    @property
    def restorable(self) -> bool:
        return self.data is not None


def snapshot_label(raw: Mapping[str, Any]) -> str:
    return f"Snapshot {objects.namespace_of(raw)}/{objects.name_of(raw)}"


def major(version: str | None) -> str | None:
    """The major part of a catalog ``spec.version`` (``16.4`` → ``16``)."""
    if not version:
        return None
    head = version.strip().lstrip("vV").split(".", 1)[0]
    return head or None


def snapshot_version(raw: Mapping[str, Any]) -> str | None:
    """The catalog version the database ran when it was backed up."""
    return objects.annotations_of(raw).get(DB_VERSION) or None


def judge(
    snapshot: Mapping[str, Any],
    *,
    addon: Mapping[str, Any] | None,
    method: str | None = None,
) -> Verdict:
    """Whether ``snapshot`` can be restored with ``addon`` (its data of ``method`` only,
    when given), and which component and task restore it."""
    label = snapshot_label(snapshot)
    verdict = Verdict()
    phase = objects.snapshot_phase(snapshot)
    if phase != "SUCCEEDED":
        verdict.code = "SNAPSHOT_NOT_RESTORABLE"
        verdict.reason = f"{label} has not succeeded (it is {phase.lower()})."
        return verdict
    if objects.bool_at(snapshot, "status", "integrity") is False:
        verdict.code = "SNAPSHOT_NOT_RESTORABLE"
        verdict.reason = f"{label} failed its integrity check."
        return verdict
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for name, component in objects.named_entries(snapshot, "status", "components"):
        if objects.component_phase(component) != "SUCCEEDED":
            continue
        m = component_method(name, component)
        if m == MANIFEST:
            verdict.manifest = name
            verdict.manifest_task = restore_task(addon, MANIFEST, component.get("driver"))
        elif m is not None:
            found.setdefault(m, (name, component))
    verdict.methods = [m for m in DATA_PREFERENCE if m in found]
    wanted = [m for m in verdict.methods if method is None or m == method]
    if not wanted:
        verdict.code = "SNAPSHOT_NOT_RESTORABLE"
        what = f"no {method.lower().replace('_', ' ')} data" if method else "no data"
        verdict.reason = f"{label} holds {what} that was backed up successfully."
        return verdict
    for m in wanted:
        name, component = found[m]
        driver = component.get("driver")
        task = restore_task(addon, m, driver if isinstance(driver, str) else None)
        if task is not None:
            verdict.data = DataChoice(component=name, method=m, task=task)
            return verdict
    addon_name = objects.name_of(addon) if addon is not None else None
    verdict.code = "NO_RESTORE_TASK"
    verdict.reason = (
        f"Addon {addon_name} has no restore task for the {found[wanted[0]][0]} data of {label}."
        if addon_name
        else f"No Addon is installed that restores the data of {label}."
    )
    return verdict


def version_fits(
    store: Store,
    *,
    verdict: Verdict,
    snapshot: Mapping[str, Any],
    source: tuple[str, str],
    target: tuple[str, str],
) -> str | None:
    """Why physical data cannot go into the target version, or None when it fits.

    ``source`` and ``target`` are (cluster, catalog version name); the catalog kinds are
    the snapshot's database kind. Physical files only work on the same major version.
    """
    if verdict.data is None or verdict.data.method not in PHYSICAL_METHODS:
        return None
    kind = app_of(snapshot)[0]
    resource = catalog_version(kind)
    old = store.get(source[0], resource, None, source[1])
    new = store.get(target[0], resource, None, target[1])
    old_major = major(objects.str_at(old, "spec", "version") or source[1])
    new_major = major(objects.str_at(new, "spec", "version") or target[1])
    if old_major and new_major and old_major != new_major:
        return (
            f"{snapshot_label(snapshot)} holds physical data of {kind} {source[1]}, which "
            f"cannot be restored into major version {new_major} ({target[1]}); choose a "
            f"{old_major}.x version or a logical snapshot."
        )
    return None


# ------------------------------------------------------------------ finding backups


def app_of(snapshot: Mapping[str, Any]) -> AppKey:
    keys = list(links.snapshot_app(dict(snapshot)))
    if keys:
        return cast(AppKey, keys[0])
    return ("", objects.namespace_of(snapshot) or "", "")


def database_repositories(store: Store, *, cluster: str, app: AppKey) -> list[JSONDict]:
    """Repositories holding a database's backups, also of a deleted one: by their
    ``spec.appRef``, or because a Snapshot of the database lives in them."""
    found: dict[tuple[str, str], JSONDict] = {}
    # A Repository lives in its application's namespace.
    for repo in store.list(cluster, REPOSITORIES, app[1]):
        if app in set(links.repository_app(repo)):
            found[(objects.namespace_of(repo) or "", objects.name_of(repo))] = repo
    for snap in database_snapshots(store, cluster=cluster, app=app):
        for key in links.snapshot_repository(snap):
            ns, name = cast(tuple[str, str], key)
            if (ns, name) not in found:
                held = store.get(cluster, REPOSITORIES, ns, name)
                if held is not None:
                    found[(ns, name)] = held
    return [found[k] for k in sorted(found)]


def database_snapshots(store: Store, *, cluster: str, app: AppKey) -> list[JSONDict]:
    """The database's Snapshots, by their app-ref labels (never names), newest first.

    They live with their Repository in the database's namespace, so only that namespace
    is read; the read model joins through its app index.
    """
    if isinstance(store, GraphStore):
        items = store.graph.related(cluster, STORAGE, "Snapshot", "app", app)
        found = [item.raw for item in items]
    else:
        found = [
            s for s in store.list(cluster, SNAPSHOTS, app[1]) if app in set(links.snapshot_app(s))
        ]
    return sorted(found, key=links.snapshot_order, reverse=True)


def repository_snapshots(store: Store, *, cluster: str, repo: Mapping[str, Any]) -> list[JSONDict]:
    key: Hashable = (objects.namespace_of(repo) or "", objects.name_of(repo))
    found = [
        s
        for s in store.list(cluster, SNAPSHOTS, objects.namespace_of(repo))
        if key in set(links.snapshot_repository(s))
    ]
    return sorted(found, key=links.snapshot_order, reverse=True)


def addon_for(store: Store, *, cluster: str, snapshot: Mapping[str, Any]) -> JSONDict | None:
    """The Addon of the snapshot's database kind in ``cluster``."""
    kind = app_of(snapshot)[0]
    name = kind_addon_name(store, cluster=cluster, kind=kind, version=snapshot_version(snapshot))
    return store.get(cluster, ADDONS_KIND, None, name)


def find_app(store: Store, *, cluster: str, kind: str | None, namespace: str, name: str) -> AppKey:
    """The app key of a database that may be deleted: with its kind, or the kind its
    Snapshots name when the kind was not given."""
    if kind:
        return (kind, namespace, name)
    for snap in store.list(cluster, SNAPSHOTS, namespace):
        for key in links.snapshot_app(snap):
            k = cast(AppKey, key)
            if k[1:] == (namespace, name):
                return k
    for repo in store.list(cluster, REPOSITORIES, namespace):
        for key in links.repository_app(repo):
            k = cast(AppKey, key)
            if k[1:] == (namespace, name):
                return k
    return ("", namespace, name)


# ------------------------------------------------------------------ recovery window


class _StoreGraph:
    """The one read ``recovery_window`` makes, over a Store (a join through an index)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def related(self, cluster: str, group: str, kind: str, index: str, key: Hashable) -> list[Item]:
        assert (group, kind, index) == (STORAGE, "Snapshot", "app")
        app = cast(AppKey, key)
        return [
            Item(cluster, raw, SNAPSHOTS)
            for raw in database_snapshots(self.store, cluster=cluster, app=app)
        ]


def window_of(store: Store, *, cluster: str, app: AppKey) -> Window | None:
    """The database's recovery window (``resolvers/reads/recovery.py``); None without
    continuous backup. The database may be deleted: only its reference is used."""
    resource = ResourceType(group="kubedb.com", version="v1", plural="", kind=app[0])
    database = Item(cluster, {"metadata": {"namespace": app[1], "name": app[2]}}, resource)
    graph = store.graph if isinstance(store, GraphStore) else _StoreGraph(store)
    return recovery_window(cast(Graph, graph), database)


def window_text(window: Window) -> str:
    start = window.start.isoformat() if window.start else "unknown"
    end = window.end.isoformat() if window.end else "unknown"
    return f"{start} to {end}"


def within(window: Window | None, when: datetime) -> bool:
    """Whether ``when`` can be recovered to: inside the window, both edges included."""
    if window is None or window.start is None or window.end is None:
        return False
    return window.start <= when <= window.end


# ------------------------------------------------------------------ restoreOptions


@dataclass
class RestoreOptionsData:
    """What ``restoreOptions`` answers, as plain data; the schema pages the snapshots."""

    cluster: str
    repositories: list[JSONDict] = field(default_factory=list)
    physical_snapshots: list[JSONDict] = field(default_factory=list)
    logical_snapshots: list[JSONDict] = field(default_factory=list)
    recovery_window: Window | None = None


def _split(store: Store, options: RestoreOptionsData, snapshots: list[JSONDict]) -> None:
    for snap in snapshots:
        addon = addon_for(store, cluster=options.cluster, snapshot=snap)
        verdict = judge(snap, addon=addon)
        if not verdict.restorable:
            continue
        usable = {m for m in verdict.methods if judge(snap, addon=addon, method=m).restorable}
        if usable & PHYSICAL_METHODS:
            options.physical_snapshots.append(snap)
        if LOGICAL in usable:
            options.logical_snapshots.append(snap)


def database_restore_options(
    store: Store, *, cluster: str, kind: str | None, namespace: str, name: str
) -> RestoreOptionsData:
    """What a database (also a deleted one) can be restored from."""
    app = find_app(store, cluster=cluster, kind=kind, namespace=namespace, name=name)
    options = RestoreOptionsData(cluster=cluster)
    options.repositories = database_repositories(store, cluster=cluster, app=app)
    _split(store, options, database_snapshots(store, cluster=cluster, app=app))
    options.recovery_window = window_of(store, cluster=cluster, app=app) if app[0] else None
    return options


def repository_restore_options(
    store: Store, *, cluster: str, namespace: str, name: str
) -> RestoreOptionsData:
    """What a repository can be restored from; the window is its database's, if any."""
    options = RestoreOptionsData(cluster=cluster)
    repo = store.get(cluster, REPOSITORIES, namespace, name)
    if repo is None:
        return options
    options.repositories = [repo]
    snapshots = repository_snapshots(store, cluster=cluster, repo=repo)
    _split(store, options, snapshots)
    apps = list(links.repository_app(repo))
    if apps:
        options.recovery_window = window_of(store, cluster=cluster, app=cast(AppKey, apps[0]))
    return options
