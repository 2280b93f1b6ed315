"""``Database.setupStatus``: the database and its backup setup as one state a pipeline
can gate on.

- READY: the database is Ready and its backup setup, if any, works: the
  BackupConfiguration is Ready (valid, its storage and retention policy exist) and its
  first run did not fail;
- PENDING: provisioning, restoring, or waiting for an object that is not there yet
  (``waiting_for``: for example a BackupStorage not applied yet);
- FAILED: needs a person: the database is NotReady (or halted), a restore into it
  failed, or its backup setup fails.

``setup_status`` is pure over raw objects; ``setup_status_of`` reads them from the read
model, reusing the backup status (``backup.py``) to find the configuration and its last
run. ``SetupStates`` tells the database stream when a database's setup state changed,
also when the change is in another object (its BackupConfiguration becoming Ready).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from apis import objects
from apis.resources import CATALOG, CORE, KUBEDB, STORAGE
from resolvers.reads.backup import backup_status
from resolvers.reads.graph import Graph, Item

SetupState = Literal["READY", "PENDING", "FAILED"]
Raw = Mapping[str, Any]
# (group, kind, namespace or None, name) -> whether it exists.
Exists = Callable[[str, str, str | None, str], bool]
DatabaseKey = tuple[str, str, str, str]  # cluster, kind, namespace, name


@dataclass(frozen=True)
class SetupRef:
    cluster: str
    api_group: str | None
    kind: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class SetupStatus:
    state: SetupState
    reasons: list[str] = field(default_factory=list)
    waiting_for: list[SetupRef] = field(default_factory=list)


@dataclass
class _Acc:
    failed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    waiting: list[SetupRef] = field(default_factory=list)


def setup_status(
    *,
    cluster: str,
    database: Raw,
    configuration: Raw | None = None,
    last_session: Raw | None = None,
    restore: Raw | None = None,
    exists: Exists,
) -> SetupStatus:
    """The setup state of ``database`` (see the module's doc). ``configuration`` is the
    BackupConfiguration targeting it, ``last_session`` its newest BackupSession,
    ``restore`` the newest RestoreSession into the database."""
    acc = _Acc()
    kind = objects.text_at(database, "kind")
    ns = objects.text_at(database, "metadata", "namespace")
    _database(acc, database, cluster=cluster, kind=kind, exists=exists)
    if restore is not None:
        _restore(acc, restore)
    if configuration is not None:
        _configuration(acc, configuration, last_session, cluster=cluster, ns=ns, exists=exists)
    if acc.failed:
        return SetupStatus("FAILED", acc.failed + acc.pending, acc.waiting)
    if acc.pending or acc.waiting:
        return SetupStatus("PENDING", acc.pending, acc.waiting)
    return SetupStatus("READY")


def _database(acc: _Acc, raw: Raw, *, cluster: str, kind: str, exists: Exists) -> None:
    phase = objects.database_phase(raw)
    name = objects.text_at(raw, "metadata", "name")
    version = objects.str_at(raw, "spec", "version")
    if version and not exists(CATALOG, f"{kind}Version", None, version):
        acc.waiting.append(SetupRef(cluster, CATALOG, f"{kind}Version", None, version))
        acc.pending.append(
            f"{kind}Version {version} does not exist yet, so KubeDB cannot provision {name}."
        )
    if phase == "READY":
        return
    if phase == "PROVISIONING" or (phase == "UNKNOWN" and not objects.dig(raw, "status")):
        acc.pending.append(f"The database {name} is being provisioned.")
    elif phase == "DATA_RESTORING":
        acc.pending.append(f"Data is being restored into the database {name}.")
    elif phase == "NOT_READY":
        acc.failed.append(f"The database {name} is NotReady{_why(raw)}")
    elif phase == "HALTED":
        acc.failed.append(f"The database {name} is halted; resume it to use it.")
    elif phase == "CRITICAL":
        acc.pending.append(f"The database {name} is Critical: some replicas are not ready.")
    else:
        acc.pending.append(f"The state of the database {name} is not known yet.")


def _restore(acc: _Acc, raw: Raw) -> None:
    phase = objects.restore_session_phase(raw)
    name = objects.text_at(raw, "metadata", "name")
    if phase in ("FAILED", "INVALID"):
        acc.failed.append(f"The restore {name} into it failed{_why(raw)}")
    elif phase in ("PENDING", "RUNNING"):
        acc.pending.append(f"The restore {name} into it is still running.")


def _configuration(
    acc: _Acc,
    raw: Raw,
    last_session: Raw | None,
    *,
    cluster: str,
    ns: str,
    exists: Exists,
) -> None:
    name = objects.text_at(raw, "metadata", "name")
    missing = False
    for backend in objects.mappings_at(raw, "spec", "backends"):
        for part, kind in (("storageRef", "BackupStorage"), ("retentionPolicy", "RetentionPolicy")):
            ref = objects.mapping_at(backend, part)
            ref_name = ref.get("name")
            if not isinstance(ref_name, str) or not ref_name:
                continue
            ref_ns = str(ref.get("namespace") or ns)
            if not exists(STORAGE, kind, ref_ns, ref_name):
                missing = True
                acc.waiting.append(SetupRef(cluster, STORAGE, kind, ref_ns, ref_name))
                acc.pending.append(
                    f"The BackupConfiguration {name} waits for {kind} {ref_ns}/{ref_name}, "
                    "which does not exist yet."
                )
    phase = objects.str_at(raw, "status", "phase")
    validation = next((c for c in objects.conditions_of(raw) if c.type == "ValidationPassed"), None)
    invalid = phase == "Invalid" or (validation is not None and validation.status == "False")
    if invalid and not missing:
        detail = f": {validation.message}" if validation and validation.message else "."
        acc.failed.append(f"The BackupConfiguration {name} is invalid{detail}")
    elif phase != "Ready" and not missing:
        acc.pending.append(f"The BackupConfiguration {name} is not ready yet.")
    if last_session is not None and objects.backup_session_phase(last_session) == "FAILED":
        session = objects.text_at(last_session, "metadata", "name")
        acc.failed.append(f"The backup {session} failed{_why(last_session)}")


def _why(raw: Raw) -> str:
    for c in objects.conditions_of(raw):
        if c.status == "False" and c.message:
            return f": {c.message}"
    return "."


# ----------------------------------------------------------------- read model


def setup_status_of(graph: Graph, database: Item, *, fresh: bool = False) -> SetupStatus:
    """``setup_status`` over the read model (the gateway's cache). ``fresh``: recompute
    the backup status even if this graph computed it before (a stream's graph lives
    long, and the objects change under it)."""
    if fresh:
        key = ("backup", database.cluster, database.resource.kind, database.namespace)
        graph.memo.pop((*key, database.name), None)
    backup = backup_status(graph, database)
    app = (database.resource.kind, database.namespace, database.name)
    restores = graph.related(database.cluster, CORE, "RestoreSession", "app", app)
    restore = max(
        restores,
        key=lambda r: objects.text_at(r.raw, "metadata", "creationTimestamp"),
        default=None,
    )

    def exists(group: str, kind: str, ns: str | None, name: str) -> bool:
        return any(
            i.name == name and (ns is None or i.namespace == ns)
            for i in graph.unfiltered(database.cluster, group, kind)
        )

    return setup_status(
        cluster=database.cluster,
        database=database.raw,
        configuration=backup.configuration.raw if backup.configuration else None,
        last_session=backup.last_session.raw if backup.last_session else None,
        restore=restore.raw if restore is not None else None,
        exists=exists,
    )


def affected_databases(cluster: str, raw: Raw, graph: Graph | None = None) -> list[DatabaseKey]:
    """The databases whose setup state a change of ``raw`` may change: the database
    itself, the target of a BackupConfiguration or RestoreSession, the target of a
    BackupSession's configuration (through ``graph``), and the targets of the
    configurations that use a BackupStorage or RetentionPolicy."""
    group = objects.text_at(raw, "apiVersion").rpartition("/")[0]
    kind = objects.text_at(raw, "kind")
    ns = objects.text_at(raw, "metadata", "namespace")
    name = objects.text_at(raw, "metadata", "name")
    if group == KUBEDB:
        return [(cluster, kind, ns, name)]
    if (group, kind) in ((CORE, "BackupConfiguration"), (CORE, "RestoreSession")):
        return list(_targets([raw], cluster))
    if graph is None:
        return []
    configurations = list(graph.unfiltered(cluster, CORE, "BackupConfiguration"))
    if (group, kind) == (CORE, "BackupSession"):
        invoker = objects.text_at(raw, "spec", "invoker", "name")
        used = [c.raw for c in configurations if c.namespace == ns and c.name == invoker]
        return list(_targets(used, cluster))
    if (group, kind) in ((STORAGE, "BackupStorage"), (STORAGE, "RetentionPolicy")):
        part = "storageRef" if kind == "BackupStorage" else "retentionPolicy"
        used = [
            c.raw
            for c in configurations
            for b in objects.mappings_at(c.raw, "spec", "backends")
            if objects.str_at(b, part, "name") == name
            and (objects.str_at(b, part, "namespace") or c.namespace) == ns
        ]
        return list(_targets(used, cluster))
    return []


def _targets(configurations: Iterable[Raw], cluster: str) -> Iterable[DatabaseKey]:
    for raw in configurations:
        target = objects.mapping_at(raw, "spec", "target")
        if target.get("apiGroup") == KUBEDB and target.get("kind") and target.get("name"):
            ns = str(target.get("namespace") or objects.text_at(raw, "metadata", "namespace"))
            yield (cluster, str(target["kind"]), ns, str(target["name"]))


def database_key(item: Item) -> DatabaseKey:
    return (item.cluster, item.resource.kind, item.namespace, item.name)


class SetupStates:
    """The last setup state sent per database, for one subscription of database events.

    The stream calls ``initial`` for each INITIAL event, ``database`` for each ADDED or
    UPDATED database, ``deleted`` for a DELETED one, and ``related`` for a change of any
    other object: it answers the databases whose setup state that change moved (their
    BackupConfiguration became Ready, their storage appeared), each with the state sent
    before and the state now, so that the stream sends them an UPDATED event too.
    """

    def __init__(self) -> None:
        self._last: dict[DatabaseKey, SetupState] = {}

    def changed(
        self, key: DatabaseKey, state: SetupState
    ) -> tuple[SetupState | None, SetupState] | None:
        """(before, now) if ``state`` differs from the last one sent, recording it."""
        before = self._last.get(key)
        if before == state:
            return None
        self._last[key] = state
        return before, state

    def initial(self, graph: Graph, item: Item) -> SetupState:
        state = setup_status_of(graph, item, fresh=True).state
        self._last[database_key(item)] = state
        return state

    def database(self, graph: Graph, item: Item) -> tuple[SetupState | None, SetupState]:
        key = database_key(item)
        before = self._last.get(key)
        state = setup_status_of(graph, item, fresh=True).state
        self._last[key] = state
        return before, state

    def deleted(self, key: DatabaseKey) -> SetupState | None:
        return self._last.pop(key, None)

    def related(
        self, graph: Graph, cluster: str, raw: Raw
    ) -> list[tuple[Item, SetupState | None, SetupState]]:
        if objects.text_at(raw, "apiVersion").rpartition("/")[0] == KUBEDB:
            return []  # the database's own change: ``database``
        out: list[tuple[Item, SetupState | None, SetupState]] = []
        for key in affected_databases(cluster, raw, graph):
            item = graph.database(*key)
            if item is None:
                continue
            moved = self.changed(key, setup_status_of(graph, item, fresh=True).state)
            if moved is not None:
                out.append((item, *moved))
        return out
