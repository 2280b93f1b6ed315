"""The operator simulator: plays KubeDB's and KubeStash's part on the sandbox API servers.

The real operators need pods, so they cannot run against the sandbox. This module watches
the same objects they watch and writes what they write, with the upstream field names,
phases and conditions (see the project's KubeStash/KubeDB reference notes):

* KubeDB databases (every kind served by ``kubedb.com`` v1 or v1alpha2): Provisioning,
  then Ready once ProvisioningStarted, Provisioned, ReplicaReady, AcceptingConnection and
  Ready are set; Halted while ``spec.halted``; the phase is always derived from the
  conditions in KubeDB's priority order (:func:`sandbox.objects.database_phase`). A new
  database with ``spec.init.archiver`` goes through DataRestoring (point-in-time recovery)
  and one with ``spec.init.waitForInitialRestore`` stays Provisioning until restored.
* Auto-backup: a database annotated ``blueprint.kubestash.com/name|namespace`` gets the
  BackupConfiguration ``appbinding-<db>`` from that BackupBlueprint, ``${var}`` filled from
  ``variables.kubestash.com/<var>``, when the blueprint's usagePolicy allows the namespace.
* Archivers: a database with ``spec.archiver.ref`` gets BackupConfiguration
  ``<db>-archiver`` (sessions full-backup and manifest-backup, repositories ``<db>-full``
  and ``<db>-manifest``) and, after its first full backup, the long-lived Snapshot
  ``<db>-incremental-snapshot`` whose ``logStats.end`` advances every step.
* BackupStorages become Ready; Repositories are created from BackupConfiguration sessions
  and their status (snapshotCount, size, lastBackupTime, recentSnapshots) follows their
  Snapshots.
* BackupConfigurations: ValidationPassed, backends, repositories, sessions and phase
  Ready/NotReady/Invalid; one initial backup (InitialBackupTriggered), then BackupSessions
  on each session's cron schedule evaluated on *simulated* time (``time_scale`` simulated
  seconds per real second); ``nextSchedule`` is the real wall-clock time of that firing.
* BackupSessions: Pending, Running (Snapshots created in their Repositories), then
  Succeeded or Failed; Skipped when the configuration is not ready or paused, or another
  run of the same session is still going. Retention (``successfulSnapshots.last`` /
  ``failedSnapshots.last``, capped) and ``sessionHistoryLimit`` are applied afterwards.
* RestoreSessions: Pending, Running with ``percentDone`` rising, Succeeded or Failed; the
  target database goes DataRestoring, then Ready (or NotReady on failure or deletion), and
  the database's BackupConfigurations are paused meanwhile (``status.pausedBackups``).

Failures can be injected with ``fail_rate`` (0..1, per backup, restore and log push) or the
annotation ``simulator.stashql.dev/fail`` (``backup``, ``restore``, ``log``, or several
separated by commas) on the database, BackupConfiguration, BackupSession, RestoreSession
or archiver: while it is present, those operations fail with a realistic message.

All times written are real wall-clock times; only schedules run on simulated time.
Every API call has a deadline; errors are logged (and kept in :attr:`Simulator.errors`),
never raised; each object is reconciled at most once per step; status goes through the
status subresource with server-side apply (field manager ``stashql-simulator``), spec
changes with merge patches under the same manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import hashlib
import logging
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apis.resources import ResourceType, resource_path
from core import cron
from core.errors import InvalidInput
from core.selectors import selector_from_label_selector
from kube.client import ApiError, JSONDict, KubeClient, KubeError
from sandbox import objects as o
from watchers.informer import Change, Informer, Relisted, trim

log = logging.getLogger(__name__)

__all__ = ["FAIL_ANNOTATION", "FIELD_MANAGER", "Simulator"]

FIELD_MANAGER = "stashql-simulator"
FAIL_ANNOTATION = "simulator.stashql.dev/fail"

BLUEPRINT_NAME = "blueprint.kubestash.com/name"
BLUEPRINT_NAMESPACE = "blueprint.kubestash.com/namespace"
BLUEPRINT_SESSIONS = "blueprint.kubestash.com/session-names"
VARIABLE_PREFIX = "variables.kubestash.com/"
DB_VERSION = "kubedb.com/db-version"

CALL_TIMEOUT = 5.0  # every API call the simulator makes
SYNC_TIMEOUT = 15.0  # start() waits this long at most for the first lists
UNSYNCED_GRACE = 30.0  # after this, reconcile even if some informer never synced
REDISCOVER_EVERY = 60.0  # look for newly installed database/archiver kinds
FRESH_TTL = 10.0  # how long our own writes override a lagging informer
MISSING_GRACE = 3.0  # how long a missing reference may be informer lag
MAX_CONCURRENCY = 8  # reconciles in flight per cluster
RECENT_SNAPSHOTS = 5
MAX_ERRORS_KEPT = 100
PRUNE_EVERY = 40  # steps between memory clean-ups

CORE = "core.kubestash.com"
STORAGE = "storage.kubestash.com"
ADDONS_GROUP = "addons.kubestash.com"
KUBEDB = "kubedb.com"
ARCHIVER = "archiver.kubedb.com"
V1A1 = "v1alpha1"

BACKUP_CONFIGURATIONS = ResourceType(CORE, V1A1, "backupconfigurations", "BackupConfiguration")
BACKUP_SESSIONS = ResourceType(CORE, V1A1, "backupsessions", "BackupSession")
RESTORE_SESSIONS = ResourceType(CORE, V1A1, "restoresessions", "RestoreSession")
BACKUP_BLUEPRINTS = ResourceType(CORE, V1A1, "backupblueprints", "BackupBlueprint")
REPOSITORIES = ResourceType(STORAGE, V1A1, "repositories", "Repository")
SNAPSHOTS = ResourceType(STORAGE, V1A1, "snapshots", "Snapshot")
BACKUP_STORAGES = ResourceType(STORAGE, V1A1, "backupstorages", "BackupStorage")
RETENTION_POLICIES = ResourceType(STORAGE, V1A1, "retentionpolicies", "RetentionPolicy")
ADDONS = ResourceType(ADDONS_GROUP, V1A1, "addons", "Addon", namespaced=False)
NAMESPACES = ResourceType("", "v1", "namespaces", "Namespace", namespaced=False)
FIXED_RESOURCES = (
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    RESTORE_SESSIONS,
    BACKUP_BLUEPRINTS,
    REPOSITORIES,
    SNAPSHOTS,
    BACKUP_STORAGES,
    RETENTION_POLICIES,
    ADDONS,
    NAMESPACES,
)

SESSION_DONE = frozenset({"Succeeded", "Failed", "Skipped"})
RESTORE_DONE = frozenset({"Succeeded", "Failed", "Invalid", "Unknown"})

# Addon task -> Snapshot component (apis/constant.go and the KubeDB addons).
TASK_COMPONENTS = {
    "logical-backup": "dump",
    "manifest-backup": "manifest",
    "physical-backup": "physical",
    "volume-snapshot": "volumesnapshot",
    "dashboard-backup": "dashboard",
    "logical-backup-restore": "dump",
    "manifest-restore": "manifest",
    "physical-backup-restore": "physical",
    "volume-snapshot-restore": "volumesnapshot",
    "dashboard-restore": "dashboard",
    "distributed-physical-backup-restore": "physical",
}

# The driver of a logical backup per database kind (kubedb-kubestash-catalog addons).
LOGICAL_DRIVERS = {
    "MSSQLServer": "WalG",
    "ClickHouse": "ClickHouseBackup",
    "Cassandra": "Medusa",
    "Neo4j": "Neo4jAdmin",
    "Solr": "Solr",
}

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_QUANTITY = re.compile(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$")
_QUANTITY_FACTORS = {
    "": 1,
    "B": 1,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "PiB": 1024**5,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
}

# Realistic failure messages (what the backup/restore jobs and sidecars print).
_BACKUP_ERRORS = {
    "Postgres": [
        'pg_dumpall: error: connection to server at "{host}" (10.0.0.17), port 5432 failed: '
        "FATAL:  the database system is shutting down",
        "pg_dump: error: query failed: ERROR:  canceling statement due to conflict with recovery",
    ],
    "MySQL": [
        "mysqldump: Got error: 2013: Lost connection to MySQL server during query when "
        "dumping table `orders` at row: 48213",
        "mysqldump: Couldn't execute 'FLUSH TABLES WITH READ LOCK': Lock wait timeout "
        "exceeded; try restarting transaction (1205)",
    ],
    "MariaDB": [
        "mariadb-dump: Got error: 2013: Lost connection to server during query when dumping "
        "table `orders` at row: 10342",
    ],
    "MongoDB": [
        "mongodump: Failed: error connecting to db server: server returned error on SASL "
        "authentication step: Authentication failed.",
    ],
    "Redis": ["redis-dump-go: error: dial tcp {host}:6379: connect: connection refused"],
}
_STORAGE_ERRORS = [
    "Fatal: unable to save snapshot: client.PutObject: RequestTimeout: Your socket "
    "connection to the server was not read from or written to within the timeout period.",
    "Fatal: unable to create lock in backend: repository is already locked exclusively by "
    "PID 41 on {host} by root (UID 0, GID 0)",
]
_VOLUME_SNAPSHOT_ERROR = (
    "VolumeSnapshot {pvc}-{stamp} failed: rpc error: code = ResourceExhausted desc = the "
    "maximum number of snapshots for this volume has been reached"
)
_RESTORE_ERRORS = {
    "Postgres": [
        'psql:/kubestash-tmp/dumpfile.sql:1042: ERROR:  could not extend file "base/16384/'
        '16397": No space left on device',
    ],
    "MySQL": ["ERROR 1062 (23000) at line 845: Duplicate entry '1001' for key 'orders.PRIMARY'"],
    "MariaDB": ["ERROR 1114 (HY000) at line 312: The table 'events' is full"],
    "MongoDB": [
        "mongorestore: Failed: app.orders: error restoring from archive: E11000 duplicate key "
        "error collection: app.orders index: _id_",
    ],
}
_GENERIC_RESTORE_ERRORS = [
    "restic: Fatal: wrong password or no key found",
    "restic: Fatal: unable to open repository: Stat: The specified key does not exist.",
]
_LOG_ERRORS = {
    "Postgres": "failed to push wal segment {segment}: RequestTimeout: request timed out",
    "MySQL": "failed to upload binlog mysql-bin.{seq:06d}: RequestError: send request failed: "
    "dial tcp: i/o timeout",
    "MariaDB": "failed to upload binlog mariadb-bin.{seq:06d}: RequestError: send request "
    "failed: dial tcp: i/o timeout",
    "MongoDB": "failed to upload oplog chunk {seq}: context deadline exceeded",
}


# --------------------------------------------------------------------------- small helpers


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _str(obj: Any, *path: str) -> str:
    value = _dig(obj, *path)
    return value if isinstance(value, str) else ""


def _map(obj: Any, *path: str) -> JSONDict:
    value = _dig(obj, *path)
    return value if isinstance(value, dict) else {}


def _list(obj: Any, *path: str) -> list[JSONDict]:
    value = _dig(obj, *path)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(obj: Any, *path: str, default: int = 0) -> int:
    value = _dig(obj, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _name(obj: JSONDict) -> str:
    return _str(obj, "metadata", "name")


def _namespace(obj: JSONDict) -> str:
    return _str(obj, "metadata", "namespace")


def _uid(obj: JSONDict) -> str:
    return _str(obj, "metadata", "uid")


def _rv(obj: JSONDict | None) -> int:
    try:
        return int(_str(obj, "metadata", "resourceVersion"))
    except ValueError:
        return 0


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bytes(text: object) -> float:
    """Bytes in a KubeStash size (``4.117 MiB``) or a Kubernetes quantity (``1Gi``)."""
    if not isinstance(text, str):
        return 0.0
    match = _QUANTITY.match(text)
    if not match:
        return 0.0
    try:
        return float(match.group(1)) * _QUANTITY_FACTORS.get(match.group(2), 0)
    except ValueError:
        return 0.0


def _prune(value: Any) -> Any:
    """Drop None values everywhere: server-side apply would read them as "remove"."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value if v is not None]
    return value


def _conditions(status: JSONDict) -> list[JSONDict]:
    return [copy.deepcopy(c) for c in _list(status, "conditions")]


def _cond(conditions: Iterable[JSONDict], kind: str) -> JSONDict | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def _is_true(conditions: Iterable[JSONDict], kind: str) -> bool:
    c = _cond(conditions, kind)
    return c is not None and c.get("status") == "True"


def _set_condition(
    conditions: list[JSONDict],
    kind: str,
    status: bool,
    reason: str,
    message: str,
    now: datetime,
    *,
    severity: str | None = None,
) -> None:
    """Upsert a condition; lastTransitionTime only moves when the status changes."""
    value = "True" if status else "False"
    existing = _cond(conditions, kind)
    entry: JSONDict = {"type": kind, "status": value, "reason": reason, "message": message}
    if severity:
        entry["severity"] = severity
    if (
        existing is not None
        and existing.get("status") == value
        and existing.get("lastTransitionTime")
    ):
        entry["lastTransitionTime"] = existing["lastTransitionTime"]
    else:
        entry["lastTransitionTime"] = o.ts(now)
    if existing is not None:
        conditions[conditions.index(existing)] = entry
    else:
        conditions.append(entry)


def _drop_condition(conditions: list[JSONDict], kind: str) -> None:
    conditions[:] = [c for c in conditions if c.get("type") != kind]


def _valid_name(prefix: str, suffix: str = "", limit: int = 63) -> str:
    """``prefix-suffix`` cut to ``limit`` characters, keeping the suffix whole."""
    if not suffix:
        return prefix[:limit].rstrip("-.")
    room = max(1, limit - len(suffix) - 1)
    return f"{prefix[:room].rstrip('-.')}-{suffix}"


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``${name}`` placeholders in every string with the variable's value."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def _component_of(task: str) -> str:
    if task in TASK_COMPONENTS:
        return TASK_COMPONENTS[task]
    for suffix in ("-backup-restore", "-restore", "-backup"):
        if task.endswith(suffix) and len(task) > len(suffix):
            return task[: -len(suffix)]
    return task


def _owner(obj: JSONDict, *, controller: bool = True) -> JSONDict:
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": _name(obj),
        "uid": _uid(obj),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def _fail_tokens(obj: JSONDict | None) -> set[str]:
    raw = _str(obj, "metadata", "annotations", FAIL_ANNOTATION)
    return {t.strip().lower() for t in raw.split(",") if t.strip()}


def _target_key(target: JSONDict, default_namespace: str) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of a ``kubedb.com`` target, None for anything else."""
    if _str(target, "apiGroup") != KUBEDB or not target.get("kind") or not target.get("name"):
        return None
    return (_str(target, "kind"), _str(target, "namespace") or default_namespace, target["name"])


def _lsn_value(text: str) -> int:
    high, _, low = text.partition("/")
    try:
        return int(high or "0", 16) << 32 | int(low or "0", 16)
    except ValueError:
        return 0


def _lsn_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


# --------------------------------------------------------------------------- state


class _Clock:
    """Real time, and simulated time running ``scale`` times faster from the start."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.wall0 = datetime.now(UTC)
        self.mono0 = time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sim_now(self) -> datetime:
        return self.wall0 + timedelta(seconds=(time.monotonic() - self.mono0) * self.scale)

    def real_of(self, simulated: datetime) -> datetime:
        """The wall-clock time at which simulated time reaches ``simulated``."""
        return self.wall0 + (simulated - self.wall0) / self.scale


@dataclass
class _Schedule:
    expression: str
    next_fire: datetime | None  # simulated time


@dataclass
class _SessionRun:
    seen: float  # monotonic, first time we saw the session
    pending_at: float | None = None
    running_at: float | None = None


@dataclass
class _RestoreRun:
    uid: str
    namespace: str
    name: str
    started: float  # monotonic
    target: tuple[str, str, str] | None
    totals: dict[str, float]  # component -> bytes
    paused: list[JSONDict] = field(default_factory=list)


# --------------------------------------------------------------------------- simulator


class Simulator:
    """Controllers that play KubeDB and KubeStash on every cluster in ``clients``.

    ``time_scale`` simulated seconds pass per real second (60: a ``*/5 * * * *`` schedule
    fires every 5 real seconds); ``step`` is the reconcile period in real seconds;
    ``fail_rate`` the probability that a backup, restore or log push fails; ``seed`` makes
    sizes, IDs and failures repeatable. ``namespace_filter`` limits which namespaces'
    objects are reconciled (lookups still see everything). The clients stay the caller's:
    :meth:`stop` does not close them.
    """

    def __init__(
        self,
        clients: dict[str, KubeClient],
        *,
        time_scale: float = 60.0,
        step: float = 0.5,
        fail_rate: float = 0.0,
        seed: int | None = None,
        provision_delay: float = 1.0,
        backup_duration: float = 1.0,
        restore_duration: float = 3.0,
        max_snapshots_per_repository: int = 50,
        namespace_filter: Callable[[str], bool] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if step <= 0:
            raise ValueError("step must be positive")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self.time_scale = time_scale
        self.step = step
        self.fail_rate = fail_rate
        self.provision_delay = provision_delay
        self.backup_duration = backup_duration
        self.restore_duration = restore_duration
        self.max_snapshots = max(1, max_snapshots_per_repository)
        self.namespace_filter = namespace_filter
        self.rng = random.Random(seed)
        self.clock = _Clock(time_scale)
        self.errors: deque[str] = deque(maxlen=MAX_ERRORS_KEPT)
        # Names this simulator's loop tasks: "simulator <id> <cluster>".
        self.task_prefix = f"simulator {id(self):x} "
        self._clusters = [_Cluster(self, name, client) for name, client in clients.items()]
        self._running = False

    async def start(self) -> None:
        """Discover kinds, start the watches, wait (bounded) for their first lists, run."""
        if self._running:
            return
        self._running = True
        self.clock = _Clock(self.time_scale)
        await asyncio.gather(*(c.start() for c in self._clusters))

    async def stop(self) -> None:
        """Cancel the loops and the watches; safe to call twice."""
        self._running = False
        await asyncio.gather(*(c.stop() for c in self._clusters), return_exceptions=True)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ shared helpers

    def wanted(self, namespace: str) -> bool:
        return self.namespace_filter is None or self.namespace_filter(namespace)

    def should_fail(self, what: str, *objects: JSONDict | None) -> bool:
        """Whether the next ``what`` (backup, restore, log) fails: annotation or fail_rate."""
        if any(what in _fail_tokens(obj) for obj in objects):
            return True
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def record_error(self, message: str) -> None:
        self.errors.append(message)


class _Cluster:
    """One cluster: its informers, its memory, and its reconcile loop."""

    def __init__(self, sim: Simulator, name: str, client: KubeClient) -> None:
        self.sim = sim
        self.name = name
        self.client = client
        self.watch_client = _watch_client(client)
        self.informers: dict[tuple[str, str], Informer] = {}
        self.db_kinds: dict[str, ResourceType] = {}
        self.archiver_kinds: dict[str, ResourceType] = {}
        self._discovered = False
        self._last_discovery = -REDISCOVER_EVERY
        self._started_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._steps = 0
        # Our own writes, per resource, until the informer shows them: (object, when).
        self._fresh: dict[tuple[str, str], dict[tuple[str, str], tuple[JSONDict, float]]] = {}
        self._deleted: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._applied: dict[tuple[str, str, str, str], tuple[JSONDict, JSONDict]] = {}
        self._locks: dict[tuple[str, ...], list[Any]] = {}
        self._reported: dict[str, str] = {}
        self._schedules: dict[tuple[str, str, str], _Schedule] = {}
        self._sessions: dict[str, _SessionRun] = {}
        self._slots: dict[tuple[str, str, str], str] = {}
        self._restores: dict[str, _RestoreRun] = {}
        self._provisioning: dict[str, float] = {}
        self._pitr: dict[str, float] = {}
        self._sizes: dict[tuple[str, str, str], float] = {}
        self._seen: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        try:
            await self._discover()
        except (KubeError, ValueError) as exc:
            self._report("discovery", exc)
        if self.informers:
            waits = [i.synced.wait() for i in self.informers.values()]
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout=SYNC_TIMEOUT)
            except TimeoutError:
                log.warning(
                    "simulator %s: not every watch synced in %.0fs", self.name, SYNC_TIMEOUT
                )
        self._started_at = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name=f"{self.sim.task_prefix}{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        informers = list(self.informers.values())
        self.informers.clear()
        await asyncio.gather(*(i.stop() for i in informers), return_exceptions=True)
        await self.watch_client.close()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad step must not end the simulator
                log.exception("simulator %s: step failed", self.name)
            await asyncio.sleep(max(0.0, self.sim.step - (loop.time() - began)))

    # ------------------------------------------------------------------ discovery

    async def _discover(self) -> None:
        self._last_discovery = time.monotonic()
        served: dict[str, dict[str, JSONDict]] = {}

        async def resources(group: str, version: str) -> dict[str, JSONDict]:
            gv = f"{group}/{version}" if group else version
            if gv not in served:
                path = f"/apis/{group}/{version}" if group else f"/api/{version}"
                try:
                    doc = await self.client.get(path, timeout=CALL_TIMEOUT)
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    doc = {}
                served[gv] = {
                    str(r.get("name")): r
                    for r in _list(doc, "resources")
                    if "/" not in str(r.get("name"))
                }
            return served[gv]

        wanted: list[ResourceType] = []
        for res in FIXED_RESOURCES:
            if res.plural in await resources(res.group, res.version):
                wanted.append(res)
        for group, versions, into in (
            (KUBEDB, ("v1", "v1alpha2"), self.db_kinds),
            (ARCHIVER, ("v1alpha1",), self.archiver_kinds),
        ):
            for version in versions:
                for plural, r in (await resources(group, version)).items():
                    kind = str(r.get("kind") or "")
                    if kind and kind not in into:
                        into[kind] = ResourceType(
                            group, version, plural, kind, bool(r.get("namespaced", True))
                        )
            wanted.extend(into.values())
        for res in wanted:
            key = (res.group, res.plural)
            if key in self.informers:
                continue
            informer = Informer(cluster=self.name, client=self.watch_client, resource=res)
            _add_indexes(informer)
            informer.add_listener(self._on_change)
            self.informers[key] = informer
            informer.start()
        self._discovered = True

    def _on_change(self, event: Change | Relisted) -> None:
        """Forget our copy of an object once the watch shows it deleted (or newer)."""
        if not isinstance(event, Change):
            return
        writes = self._fresh.get((event.resource.group, event.resource.plural))
        if not writes or event.key not in writes:
            return
        if event.type == "DELETED" or _rv(event.obj) >= _rv(writes[event.key][0]):
            del writes[event.key]

    def _informer(self, res: ResourceType) -> Informer | None:
        return self.informers.get((res.group, res.plural))

    # ------------------------------------------------------------------ reading

    def _view(self, res: ResourceType, namespace: str, name: str) -> JSONDict | None:
        """The newest copy we know: the informer's, or our own write if it is newer."""
        ns = namespace if res.namespaced else ""
        informer = self._informer(res)
        stored = informer.get(ns, name) if informer is not None else None
        key = (res.group, res.plural, ns, name)
        deleted = self._deleted.get(key)
        if deleted is not None:
            uid, at = deleted
            if time.monotonic() - at <= FRESH_TTL and (stored is None or _uid(stored) == uid):
                return None  # we deleted it; the informer has not caught up yet
            del self._deleted[key]
        writes = self._fresh.get((res.group, res.plural))
        fresh = writes.get((ns, name)) if writes else None
        if writes is None or fresh is None:
            return stored
        obj, at = fresh
        if stored is not None and _rv(stored) >= _rv(obj):
            del writes[(ns, name)]
            return stored
        if stored is None and time.monotonic() - at > FRESH_TTL:
            del writes[(ns, name)]
            return None
        return obj

    def _items(self, res: ResourceType) -> list[JSONDict]:
        informer = self._informer(res)
        return list(informer.items()) if informer is not None else []

    def _indexed(self, res: ResourceType, index: str, value: tuple[str, ...]) -> list[JSONDict]:
        """Objects from an informer index, merged with our own newer writes."""
        informer = self._informer(res)
        found: dict[tuple[str, str], JSONDict] = {}
        if informer is not None:
            for obj in informer.by_index(index, value):
                found[(_namespace(obj), _name(obj))] = obj
        for (ns, name), (obj, _) in list(self._fresh.get((res.group, res.plural), {}).items()):
            if value in _INDEX_FUNCS[index](obj):
                found[(ns, name)] = obj
        out = []
        for ns, name in found:
            current = self._view(res, ns, name)
            if current is not None and value in _INDEX_FUNCS[index](current):
                out.append(current)
        return out

    def _db(self, kind: str, namespace: str, name: str) -> tuple[ResourceType, JSONDict] | None:
        res = self.db_kinds.get(kind)
        if res is None:
            return None
        obj = self._view(res, namespace, name)
        return (res, obj) if obj is not None else None

    def _namespace_labels(self, namespace: str) -> dict[str, str] | None:
        ns = self._view(NAMESPACES, "", namespace)
        if ns is None:
            return None
        labels = _map(ns, "metadata", "labels")
        return {str(k): str(v) for k, v in labels.items()}

    def _allowed(self, owner: JSONDict, namespace: str) -> bool:
        """KubeStash usagePolicy: may objects in ``namespace`` use ``owner``?"""
        policy = _map(owner, "spec", "usagePolicy", "allowedNamespaces")
        scope = _str(policy, "from") or "Same"
        if scope == "All":
            return True
        if scope == "Selector":
            labels = self._namespace_labels(namespace)
            if labels is None:
                return False
            return selector_from_label_selector(policy.get("selector") or {}).matches(labels)
        return _namespace(owner) == namespace

    def _default_of(self, res: ResourceType, namespace: str) -> JSONDict | None:
        """The ``spec.default`` object usable from ``namespace`` (its own first)."""
        candidates = [
            obj
            for obj in self._items(res)
            if _dig(obj, "spec", "default") is True and self._allowed(obj, namespace)
        ]
        candidates.sort(key=lambda obj: (_namespace(obj) != namespace, _namespace(obj), _name(obj)))
        return candidates[0] if candidates else None

    # ------------------------------------------------------------------ writing

    def _remember(self, res: ResourceType, obj: JSONDict) -> JSONDict:
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        trim(obj)
        ns = _namespace(obj) if res.namespaced else ""
        writes = self._fresh.setdefault((res.group, res.plural), {})
        writes[(ns, _name(obj))] = (obj, time.monotonic())
        return obj

    def _path(self, res: ResourceType, namespace: str, name: str | None = None) -> str:
        return resource_path(
            group=res.group,
            version=res.version,
            plural=res.plural,
            namespace=namespace if res.namespaced else None,
            name=name,
        )

    async def _create(self, res: ResourceType, body: JSONDict) -> JSONDict | None:
        """POST; an existing object (409) is fine and returns what we know of it."""
        ns = _namespace(body)
        body = _prune(body)
        try:
            created = await self.client.post(
                self._path(res, ns),
                body,
                params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
                timeout=CALL_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 409:
                return self._view(res, ns, _name(body))
            self._report(f"create {res.kind} {ns}/{_name(body)}", exc)
            return None
        except KubeError as exc:
            self._report(f"create {res.kind} {ns}/{_name(body)}", exc)
            return None
        return self._remember(res, created)

    async def _patch(self, res: ResourceType, namespace: str, name: str, patch: JSONDict) -> bool:
        try:
            patched = await self.client.request(
                "PATCH",
                self._path(res, namespace, name),
                body=patch,
                content_type="application/merge-patch+json",
                params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
                timeout=CALL_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 404:
                return True
            self._report(f"patch {res.kind} {namespace}/{name}", exc)
            return False
        except KubeError as exc:
            self._report(f"patch {res.kind} {namespace}/{name}", exc)
            return False
        self._remember(res, patched)
        return True

    async def _delete(self, res: ResourceType, namespace: str, name: str) -> None:
        key = (res.group, res.plural, namespace if res.namespaced else "", name)
        current = self._view(res, namespace, name)
        try:
            await self.client.delete(self._path(res, namespace, name), timeout=CALL_TIMEOUT)
        except ApiError as exc:
            if exc.status != 404:
                self._report(f"delete {res.kind} {namespace}/{name}", exc)
                return
        except KubeError as exc:
            self._report(f"delete {res.kind} {namespace}/{name}", exc)
            return
        self._fresh.get((res.group, res.plural), {}).pop(key[2:], None)
        self._applied.pop(key, None)
        if current is not None:
            self._deleted[key] = (_uid(current), time.monotonic())

    @contextlib.asynccontextmanager
    async def _locked(self, key: tuple[str, ...]) -> AsyncIterator[None]:
        entry = self._locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(key, None)

    async def _update_status(
        self,
        res: ResourceType,
        namespace: str,
        name: str,
        mutate: Callable[[JSONDict, JSONDict], None],
    ) -> JSONDict | None:
        """Read the newest copy, let ``mutate(obj, status)`` edit the status, apply it.

        Serialized per object, so two reconcilers touching one status (a database's, by
        its own controller and by a restore) never lose each other's change.
        """
        ns = namespace if res.namespaced else ""
        key = (res.group, res.plural, ns, name)
        async with self._locked(key):
            obj = self._view(res, ns, name)
            if obj is None or _dig(obj, "metadata", "deletionTimestamp"):
                return None
            old = _map(obj, "status")
            new = copy.deepcopy(old)
            mutate(obj, new)
            new = _prune(new)
            if new == old:
                return obj
            applied = self._applied.get(key)
            if applied is not None and applied == (new, old):
                # Our last apply already asked for exactly this and the server kept what it
                # kept (fields another manager owns); asking again would only churn.
                return obj
            body = {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {"name": name, **({"namespace": ns} if res.namespaced else {})},
                "status": new,
            }
            try:
                result = await self.client.apply(
                    self._path(res, ns, name) + "/status",
                    body,
                    field_manager=FIELD_MANAGER,
                    params={"fieldValidation": "Strict"},
                    timeout=CALL_TIMEOUT,
                )
            except ApiError as exc:
                if exc.status != 404:
                    self._report(f"status {res.kind} {ns}/{name}", exc)
                return None
            except KubeError as exc:
                self._report(f"status {res.kind} {ns}/{name}", exc)
                return None
            self._applied[key] = (new, _map(result, "status"))
            return self._remember(res, result)

    def _report(self, what: str, exc: Exception) -> None:
        message = f"{self.name}: {what}: {exc}"
        self.sim.record_error(message)
        if self._reported.get(what) != str(exc):
            if len(self._reported) > 1000:
                self._reported.clear()
            self._reported[what] = str(exc)
            log.warning("simulator %s", message)

    # ------------------------------------------------------------------ the step

    async def _step(self) -> None:
        if not self._discovered or time.monotonic() - self._last_discovery > REDISCOVER_EVERY:
            try:
                await self._discover()
            except (KubeError, ValueError) as exc:
                self._report("discovery", exc)
        if not self.informers:
            return
        synced = all(i.synced.is_set() for i in self.informers.values())
        if not synced and time.monotonic() - self._started_at < UNSYNCED_GRACE:
            return
        wanted = self.sim.wanted
        jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for res in list(self.db_kinds.values()):
            for db in self._items(res):
                if wanted(_namespace(db)):
                    jobs.append(
                        (
                            f"{res.kind} {_namespace(db)}/{_name(db)}",
                            functools.partial(self._reconcile_database, res, db),
                        )
                    )
        for storage in self._items(BACKUP_STORAGES):
            if wanted(_namespace(storage)):
                jobs.append(
                    (
                        f"BackupStorage {_name(storage)}",
                        functools.partial(self._reconcile_storage, storage),
                    )
                )
        for repo in self._items(REPOSITORIES):
            if wanted(_namespace(repo)):
                jobs.append(
                    (
                        f"Repository {_name(repo)}",
                        functools.partial(self._reconcile_repository, repo),
                    )
                )
        live_schedules: set[tuple[str, str, str]] = set()
        for bc in self._items(BACKUP_CONFIGURATIONS):
            if wanted(_namespace(bc)):
                live_schedules.update(
                    (_namespace(bc), _name(bc), _str(s, "name"))
                    for s in _list(bc, "spec", "sessions")
                )
                jobs.append(
                    (
                        f"BackupConfiguration {_name(bc)}",
                        functools.partial(self._reconcile_configuration, bc),
                    )
                )
        for bs in self._items(BACKUP_SESSIONS):
            if wanted(_namespace(bs)) and _str(bs, "status", "phase") not in SESSION_DONE:
                jobs.append(
                    (f"BackupSession {_name(bs)}", functools.partial(self._reconcile_session, bs))
                )
        for rs in self._items(RESTORE_SESSIONS):
            if wanted(_namespace(rs)) and _str(rs, "status", "phase") not in RESTORE_DONE:
                jobs.append(
                    (f"RestoreSession {_name(rs)}", functools.partial(self._reconcile_restore, rs))
                )
        for run in list(self._restores.values()):
            jobs.append(
                (
                    f"RestoreSession {run.name} (gone?)",
                    functools.partial(self._check_interrupted, run),
                )
            )
        await self._run_jobs(jobs)
        for key in [k for k in self._schedules if k not in live_schedules]:
            del self._schedules[key]
        self._steps += 1
        if self._steps % PRUNE_EVERY == 0:
            self._prune_memory()

    async def _run_jobs(self, jobs: list[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
        gate = asyncio.Semaphore(MAX_CONCURRENCY)

        async def run(what: str, job: Callable[[], Awaitable[None]]) -> None:
            async with gate:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except KubeError as exc:
                    self._report(what, exc)
                except Exception:
                    log.exception("simulator %s: reconciling %s failed", self.name, what)

        await asyncio.gather(*(run(what, job) for what, job in jobs))

    def _prune_memory(self) -> None:
        now = time.monotonic()
        for writes in self._fresh.values():
            for k in [k for k, (_, at) in writes.items() if now - at > FRESH_TTL * 3]:
                del writes[k]
        for key in [k for k, (_, at) in self._deleted.items() if now - at > FRESH_TTL]:
            del self._deleted[key]
        live: set[str] = set()
        for res in (BACKUP_SESSIONS, RESTORE_SESSIONS, *self.db_kinds.values()):
            live.update(_uid(obj) for obj in self._items(res))
        for memory in (self._sessions, self._provisioning, self._pitr, self._seen):
            for uid in [u for u in memory if u not in live]:
                del memory[uid]
        live_keys: set[tuple[str, str, str, str]] = set()
        for informer in self.informers.values():
            res = informer.resource
            live_keys.update(
                (res.group, res.plural, _namespace(obj) if res.namespaced else "", _name(obj))
                for obj in informer.items()
            )
        fresh_keys = {(*res, *k) for res, writes in self._fresh.items() for k in writes}
        for key in [k for k in self._applied if k not in live_keys and k not in fresh_keys]:
            del self._applied[key]

    def _seen_for(self, uid: str) -> float:
        return self._seen.setdefault(uid, time.monotonic())

    # ================================================================== KubeDB databases

    async def _reconcile_database(self, res: ResourceType, db: JSONDict) -> None:
        ns, name = _namespace(db), _name(db)
        await self._update_status(res, ns, name, self._database_status)
        current = self._view(res, ns, name) or db
        annotations = _map(current, "metadata", "annotations")
        if annotations.get(BLUEPRINT_NAME) and annotations.get(BLUEPRINT_NAMESPACE):
            await self._ensure_blueprint_configuration(current)
        if _str(current, "spec", "archiver", "ref", "name"):
            await self._reconcile_archiving(current)

    def _database_status(self, db: JSONDict, status: JSONDict) -> None:
        now, mono = self.sim.clock.now(), time.monotonic()
        uid = _uid(db)
        kind, ns, name = str(db.get("kind")), _namespace(db), _name(db)
        label = f"{kind}: {ns}/{name}"
        spec = _map(db, "spec")
        conds = _conditions(status)
        if _cond(conds, "ProvisioningStarted") is None:
            _set_condition(
                conds,
                "ProvisioningStarted",
                True,
                "DatabaseProvisioningStartedSuccessfully",
                f"The KubeDB operator has started the provisioning of {label}",
                now,
            )
            self._provisioning[uid] = mono
        halted = spec.get("halted") is True
        if halted:
            _set_condition(conds, "Halted", True, "DatabaseHalted", f"{label} is halted.", now)
        else:
            _drop_condition(conds, "Halted")
        if not halted and not _is_true(conds, "Provisioned"):
            started = self._provisioning.get(uid)
            if started is None:
                when = _parse_time(_str(_cond(conds, "ProvisioningStarted"), "lastTransitionTime"))
                age = (now - when).total_seconds() if when else 0.0
                started = self._provisioning[uid] = mono - max(0.0, age)
            if mono - started >= self.sim.provision_delay:
                init = _map(spec, "init")
                if _map(init, "archiver"):
                    self._point_in_time_recovery(db, conds, now, mono)
                    ready = _is_true(conds, "DataRestored")
                elif init.get("waitForInitialRestore") is True:
                    ready = _is_true(conds, "DataRestored")
                else:
                    ready = True
                if ready:
                    for kind_, reason, message in (
                        ("ReplicaReady", "AllReplicasReady", "All desired replicas are ready."),
                        (
                            "AcceptingConnection",
                            "DatabaseAcceptingConnectionRequest",
                            f"The {label} is accepting client requests.",
                        ),
                        ("Ready", "AllReplicasReady", f"The {label} is ready."),
                        (
                            "Provisioned",
                            "DatabaseSuccessfullyProvisioned",
                            f"The {label} is successfully provisioned.",
                        ),
                    ):
                        _set_condition(conds, kind_, True, reason, message, now)
        status["conditions"] = conds
        status["phase"] = o.database_phase(conds)
        generation = _int(db, "metadata", "generation", default=0)
        if generation:
            status["observedGeneration"] = generation

    def _point_in_time_recovery(
        self, db: JSONDict, conds: list[JSONDict], now: datetime, mono: float
    ) -> None:
        """A new database with ``spec.init.archiver``: restore, then provision."""
        if _cond(conds, "DataRestored") is not None:
            return
        uid = _uid(db)
        recovery = _map(db, "spec", "init", "archiver")
        target = _str(recovery, "recoveryTimestamp")
        if _cond(conds, "DataRestoreStarted") is None:
            problem = self._recovery_problem(db, recovery)
            if problem:
                _set_condition(conds, "DataRestored", False, "FailedToRestoreData", problem, now)
                return
            _set_condition(
                conds,
                "DataRestoreStarted",
                True,
                "DataRestoreStartedByExternalInitializer",
                f"Point-in-time recovery to {target} has started.",
                now,
            )
            self._pitr[uid] = mono
            return
        began = self._pitr.setdefault(uid, mono)
        if mono - began < self.sim.restore_duration:
            return
        _drop_condition(conds, "DataRestoreStarted")
        if self.sim.should_fail("restore", db):
            message = self._restore_error(str(db.get("kind")))
            _set_condition(conds, "DataRestored", False, "FailedToRestoreData", message, now)
        else:
            _set_condition(
                conds,
                "DataRestored",
                True,
                "SuccessfullyDataRestored",
                f"Successfully restored data up to {target}.",
                now,
            )
        self._pitr.pop(uid, None)

    def _recovery_problem(self, db: JSONDict, recovery: JSONDict) -> str | None:
        ref = _map(recovery, "fullDBRepository")
        repo_ns = _str(ref, "namespace") or _namespace(db)
        repo_name = _str(ref, "name")
        if not repo_name:
            return "spec.init.archiver.fullDBRepository is not set"
        if self._view(REPOSITORIES, repo_ns, repo_name) is None:
            return f"Repository {repo_ns}/{repo_name} not found"
        target = _parse_time(recovery.get("recoveryTimestamp"))
        if target is None:
            return "spec.init.archiver.recoveryTimestamp is not a valid time"
        snapshots = self._indexed(SNAPSHOTS, "repo", (repo_ns, repo_name))
        fulls = [
            t
            for s in snapshots
            if _str(s, "spec", "type") != "IncrementalBackup"
            and _str(s, "status", "phase") == "Succeeded"
            and (t := _parse_time(_dig(s, "status", "snapshotTime"))) is not None
        ]
        if not any(t <= target for t in fulls):
            return (
                f"no full backup in Repository {repo_ns}/{repo_name} was taken at or before "
                f"{o.ts(target)}"
            )
        for snap in snapshots:
            if _str(snap, "spec", "type") != "IncrementalBackup":
                continue
            ends = [
                t
                for c in _map(snap, "status", "components").values()
                if (t := _parse_time(_dig(c, "logStats", "end"))) is not None
            ]
            if ends and target > min(ends):
                return (
                    f"recovery timestamp {o.ts(target)} is after the latest archived log "
                    f"({o.ts(min(ends))})"
                )
        return None

    # ------------------------------------------------------------------ auto-backup

    async def _ensure_blueprint_configuration(self, db: JSONDict) -> None:
        annotations = {str(k): str(v) for k, v in _map(db, "metadata", "annotations").items()}
        bp = self._view(
            BACKUP_BLUEPRINTS, annotations[BLUEPRINT_NAMESPACE], annotations[BLUEPRINT_NAME]
        )
        if bp is None:
            return  # the gateway reports the missing blueprint; KubeStash does nothing
        kind, ns, name = str(db.get("kind")), _namespace(db), _name(db)
        subjects = _list(bp, "spec", "subjects")
        if subjects and not any(_str(s, "kind") == kind for s in subjects):
            return
        if not self._allowed(bp, ns):
            return
        variables = {
            k[len(VARIABLE_PREFIX) :]: v
            for k, v in annotations.items()
            if k.startswith(VARIABLE_PREFIX)
        }
        template = _substitute(
            copy.deepcopy(_map(bp, "spec", "backupConfigurationTemplate")), variables
        )
        target_ns = _str(template, "namespace") or ns
        bc_name = f"appbinding-{name}"
        if self._view(BACKUP_CONFIGURATIONS, target_ns, bc_name) is not None:
            return  # generated once, never re-synced from the blueprint
        sessions = _list(template, "sessions")
        chosen = {
            s.strip() for s in annotations.get(BLUEPRINT_SESSIONS, "").split(",") if s.strip()
        }
        if chosen:
            sessions = [s for s in sessions if _str(s, "name") in chosen]
        body: JSONDict = {
            "apiVersion": BACKUP_CONFIGURATIONS.api_version,
            "kind": "BackupConfiguration",
            "metadata": {
                "name": bc_name,
                "namespace": target_ns,
                "labels": {
                    "kubestash.com/invoker-name": _name(bp),
                    "kubestash.com/invoker-namespace": _namespace(bp),
                },
            },
            "spec": {
                "target": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
                "backends": _list(template, "backends"),
                "sessions": sessions,
            },
        }
        await self._create(BACKUP_CONFIGURATIONS, body)

    # ------------------------------------------------------------------ archivers

    async def _reconcile_archiving(self, db: JSONDict) -> None:
        kind, ns, name = str(db.get("kind")), _namespace(db), _name(db)
        ref = _map(db, "spec", "archiver", "ref")
        res = self.archiver_kinds.get(f"{kind}Archiver")
        if res is None:
            return
        arch_ns = _str(ref, "namespace") or ns
        archiver = self._view(res, arch_ns, _str(ref, "name"))
        if archiver is None or not _is_true(_list(db, "status", "conditions"), "Provisioned"):
            return

        def add_ref(_: JSONDict, status: JSONDict) -> None:
            refs = _list(status, "databaseRefs")
            if not any(_str(r, "name") == name and _str(r, "namespace") == ns for r in refs):
                refs.append({"name": name, "namespace": ns})
                status["databaseRefs"] = refs

        await self._update_status(res, arch_ns, _name(archiver), add_ref)
        if self._view(BACKUP_CONFIGURATIONS, ns, f"{name}-archiver") is None:
            await self._create(BACKUP_CONFIGURATIONS, self._archiver_configuration(db, archiver))
        await self._ship_logs(db, archiver)

    def _archiver_configuration(self, db: JSONDict, archiver: JSONDict) -> JSONDict:
        kind, ns, name = str(db.get("kind")), _namespace(db), _name(db)
        spec = _map(archiver, "spec")
        arch_ns = _namespace(archiver)
        storage = _map(spec, "backupStorage", "ref")
        storage_ref = {
            "namespace": _str(storage, "namespace") or arch_ns,
            "name": _str(storage, "name"),
        }
        retention = _map(spec, "retentionPolicy")
        backend: JSONDict = {
            "name": storage_ref["name"] or "archiver-storage",
            "storageRef": storage_ref,
        }
        if retention.get("name"):
            backend["retentionPolicy"] = {
                "namespace": _str(retention, "namespace") or arch_ns,
                "name": _str(retention, "name"),
            }
        full = _map(spec, "fullBackup")
        driver = _str(full, "driver") or "VolumeSnapshotter"
        if driver == "VolumeSnapshotter":
            full_task = "volume-snapshot"
        elif kind in ("MongoDB", "MSSQLServer"):
            full_task = "logical-backup"
        else:
            full_task = "physical-backup"
        task: JSONDict = {"name": full_task}
        if _map(full, "task", "params"):
            task["params"] = _map(full, "task", "params")
        sub = _str(spec, "backupStorage", "subDir").strip("/")
        base = f"{sub}/{name}-archiver" if sub else f"{name}-archiver"
        addon = f"{kind.lower()}-addon"
        repository: JSONDict = {"backend": backend["name"]}
        if spec.get("encryptionSecret"):
            repository["encryptionSecret"] = spec["encryptionSecret"]
        if _str(spec, "deletionPolicy"):
            repository["deletionPolicy"] = spec["deletionPolicy"]

        def session(
            name_: str, options: JSONDict, tasks: list[JSONDict], repo: str, sub_path: str
        ) -> JSONDict:
            scheduler = copy.deepcopy(_map(options, "scheduler")) or copy.deepcopy(
                _map(full, "scheduler")
            )
            scheduler.setdefault("schedule", "0 0 * * *")
            out: JSONDict = {
                "name": name_,
                "scheduler": scheduler,
                "addon": {"name": addon, "tasks": tasks},
                "repositories": [{**repository, "name": repo, "directory": f"{base}/{sub_path}"}],
            }
            for source, target in (
                ("sessionHistoryLimit", "sessionHistoryLimit"),
                ("retryConfig", "retryConfig"),
                ("timeout", "backupTimeout"),
            ):
                if options.get(source) is not None:
                    out[target] = options[source]
            for extra in ("containerRuntimeSettings", "jobTemplate"):
                if options.get(extra):
                    out["addon"][extra] = options[extra]
            return out

        return {
            "apiVersion": BACKUP_CONFIGURATIONS.api_version,
            "kind": "BackupConfiguration",
            "metadata": {
                "name": f"{name}-archiver",
                "namespace": ns,
                "labels": {"app.kubernetes.io/managed-by": KUBEDB},
                "ownerReferences": [_owner(db)],
            },
            "spec": {
                "target": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
                "backends": [backend],
                "sessions": [
                    session("full-backup", full, [task], f"{name}-full", "full"),
                    session(
                        "manifest-backup",
                        _map(spec, "manifestBackup"),
                        [{"name": "manifest-backup"}],
                        f"{name}-manifest",
                        "manifest",
                    ),
                ],
            },
        }

    def _log_components(self, db: JSONDict) -> tuple[str, list[str], str]:
        """(session name, component names, driver) of a database's log shipping."""
        kind = str(db.get("kind"))
        if kind == "Postgres":
            return "wal", ["wal"], "WalG"
        if kind in ("MySQL", "MariaDB"):
            return "binlog", ["log"], "Restic"
        if kind == "MongoDB":
            topology = _map(db, "spec", "shardTopology")
            if topology:
                shards = max(1, _int(topology, "shard", "shards", default=2))
                return "oplog", [f"shard{i}" for i in range(shards)], "Restic"
            return "oplog", ["rs0"], "Restic"
        return "log", ["log"], "Restic"

    async def _ship_logs(self, db: JSONDict, archiver: JSONDict) -> None:
        ns, name = _namespace(db), _name(db)
        snap_name = f"{name}-incremental-snapshot"
        repo_name = f"{name}-full"
        snapshot = self._view(SNAPSHOTS, ns, snap_name)
        if snapshot is None:
            repo = self._view(REPOSITORIES, ns, repo_name)
            fulls = [
                t
                for s in self._indexed(SNAPSHOTS, "repo", (ns, repo_name))
                if _str(s, "spec", "type") != "IncrementalBackup"
                and _str(s, "status", "phase") == "Succeeded"
                and (t := _parse_time(_dig(s, "status", "snapshotTime"))) is not None
            ]
            if repo is None or not fulls:
                return  # log shipping starts after the first full backup
            await self._create_log_snapshot(db, archiver, repo, min(fulls))
            return
        if _dig(db, "spec", "archiver", "pause") is True or _dig(archiver, "spec", "pause") is True:
            return
        fail = self.sim.should_fail("log", db, archiver)
        kind = str(db.get("kind"))
        limits = _map(archiver, "spec", "logBackup")
        keep_ok = max(1, _int(limits, "successfulLogHistoryLimit", default=5))
        keep_failed = max(1, _int(limits, "failedLogHistoryLimit", default=5))
        now = self.sim.clock.now()
        rng = self.sim.rng

        def push(_: JSONDict, status: JSONDict) -> None:
            total = 0.0
            for component in _map(status, "components").values():
                stats = _map(component, "logStats")
                if not stats:
                    continue
                end = _str(stats, "end") or _str(stats, "start")
                if fail:
                    seq = _int(stats, "totalSucceededCount") + _int(stats, "totalFailedCount") + 1
                    segment = f"{1:08X}{0:08X}{seq:08X}"
                    error = _LOG_ERRORS.get(kind, "failed to upload log: i/o timeout").format(
                        segment=segment, seq=seq
                    )
                    failed = _list(stats, "lastFailedStats")
                    failed.append({"start": end, "end": o.ts_micro(now), "error": error})
                    stats["lastFailedStats"] = failed[-keep_failed:]
                    stats["totalFailedCount"] = _int(stats, "totalFailedCount") + 1
                else:
                    done = _list(stats, "lastSucceededStats")
                    done.append({"start": end, "end": o.ts_micro(now)})
                    stats["lastSucceededStats"] = done[-keep_ok:]
                    stats["totalSucceededCount"] = _int(stats, "totalSucceededCount") + 1
                    stats["end"] = o.ts_micro(now)
                    if "lsn" in stats:
                        stats["lsn"] = _lsn_text(
                            _lsn_value(_str(stats, "lsn")) + rng.randint(0x2000, 0x200000)
                        )
                    component["size"] = o.format_size(
                        _bytes(component.get("size")) + rng.randint(64 * 1024, 16 * 1024**2)
                    )
                component["logStats"] = stats
                total += _bytes(component.get("size"))
            status["lastUpdateTime"] = o.ts(now)
            if total:
                status["size"] = o.format_size(total)

        await self._update_status(SNAPSHOTS, ns, snap_name, push)

    async def _create_log_snapshot(
        self, db: JSONDict, archiver: JSONDict, repo: JSONDict, first_full: datetime
    ) -> None:
        kind, ns, name = str(db.get("kind")), _namespace(db), _name(db)
        session, components, driver = self._log_components(db)
        now = self.sim.clock.now()
        policy = _str(archiver, "spec", "deletionPolicy")
        body: JSONDict = {
            "apiVersion": SNAPSHOTS.api_version,
            "kind": "Snapshot",
            "metadata": {
                "name": f"{name}-incremental-snapshot",
                "namespace": ns,
                "labels": _snapshot_labels(_name(repo), kind, ns, name),
                "annotations": {DB_VERSION: _str(db, "spec", "version")},
                "ownerReferences": [_owner(repo)],
            },
            "spec": {
                "snapshotID": o.ulid(now, self.sim.rng),
                "type": "IncrementalBackup",
                "repository": _name(repo),
                "session": session,
                "version": "v1",
                "appRef": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
                "deletionPolicy": policy if policy in ("Delete", "WipeOut") else "Delete",
            },
        }
        if await self._create(SNAPSHOTS, body) is None:
            return
        start = o.ts_micro(first_full)
        retention_period = _str(archiver, "spec", "logBackup", "retentionPeriod") or "1y"
        comps: JSONDict = {}
        for component in components:
            stats: JSONDict = {
                "start": start,
                "end": start,
                "totalSucceededCount": 0,
                "totalFailedCount": 0,
                "lastLogRetentionStats": [
                    {
                        "lastExecutionTime": o.ts(now),
                        "retentionPeriodApplied": retention_period,
                        "deletedLogCount": 0,
                    }
                ],
            }
            if component == "wal":
                stats["lsn"] = _lsn_text(0x3000000 + self.sim.rng.randint(0, 0xFFFFF))
            comps[component] = {
                "path": f"repository/v1/full-backup/{component}",
                "phase": "Running",
                "driver": driver,
                "size": "0 B",
                "logStats": stats,
            }

        def initial(_: JSONDict, status: JSONDict) -> None:
            status.update(
                {
                    "phase": "Running",
                    "snapshotTime": o.ts(first_full),
                    "lastUpdateTime": o.ts(now),
                    "totalComponents": len(comps),
                    "components": comps,
                }
            )

        await self._update_status(SNAPSHOTS, ns, _name(body), initial)

    # ================================================================== KubeStash storage

    async def _reconcile_storage(self, storage: JSONDict) -> None:
        ns, name = _namespace(storage), _name(storage)
        repos = self._indexed(REPOSITORIES, "storage", (ns, name))
        now = self.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            if not status.get("phase"):
                conds = _conditions(status)
                _set_condition(
                    conds,
                    "BackendInitialized",
                    True,
                    "BackendInitializationSucceeded",
                    "Backend has been initialized successfully.",
                    now,
                )
                _set_condition(
                    conds,
                    "BackendSecretFound",
                    True,
                    "BackendSecretAvailable",
                    "Backend Secret exists.",
                    now,
                )
                status["phase"] = "Ready"
                status["conditions"] = conds
            entries = [
                {
                    "name": _name(r),
                    "namespace": _namespace(r),
                    "path": _str(r, "spec", "path"),
                    "size": _str(r, "status", "size") or "0 B",
                    "synced": True,
                }
                for r in sorted(repos, key=lambda r: (_namespace(r), _name(r)))
            ]
            status["repositories"] = entries
            status["totalSize"] = o.format_size(sum(_bytes(e["size"]) for e in entries))

        await self._update_status(BACKUP_STORAGES, ns, name, mutate)

    async def _reconcile_repository(self, repo: JSONDict) -> None:
        ns, name = _namespace(repo), _name(repo)
        ref = _map(repo, "spec", "storageRef")
        storage_ns, storage_name = _str(ref, "namespace") or ns, _str(ref, "name")
        storage = self._view(BACKUP_STORAGES, storage_ns, storage_name) if storage_name else None
        snapshots = self._indexed(SNAPSHOTS, "repo", (ns, name))
        now = self.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            initialized = _cond(conds, "RepositoryInitialized")
            # A failure someone else recorded (seeded demo data) is left as it is.
            foreign_failure = (
                initialized is not None
                and initialized.get("status") == "False"
                and not _str(initialized, "message").startswith("BackupStorage ")
            )
            if foreign_failure:
                pass
            elif storage is None:
                _set_condition(
                    conds,
                    "RepositoryInitialized",
                    False,
                    "RepositoryInitializationFailed",
                    f"BackupStorage {storage_ns}/{storage_name} not found",
                    now,
                    severity="Warning",
                )
            else:
                _set_condition(
                    conds,
                    "RepositoryInitialized",
                    True,
                    "RepositoryInitializationSucceeded",
                    "Repository has been initialized successfully.",
                    now,
                )
            status["conditions"] = conds
            status["phase"] = "Ready" if storage is not None and not foreign_failure else "NotReady"
            succeeded = [s for s in snapshots if _str(s, "status", "phase") == "Succeeded"]
            status["snapshotCount"] = len(snapshots)
            status["size"] = o.format_size(
                sum(_bytes(_dig(s, "status", "size")) for s in succeeded)
            )
            status["integrity"] = all(
                _dig(s, "status", "integrity") is not False for s in succeeded
            )
            full = [s for s in snapshots if _str(s, "spec", "type") != "IncrementalBackup"]
            times = [
                t
                for s in full
                if _str(s, "status", "phase") == "Succeeded"
                and (t := _parse_time(_dig(s, "status", "snapshotTime")))
            ]
            if times:
                status["lastBackupTime"] = o.ts(max(times))
            ordered = sorted(full, key=lambda s: (_str(s, "status", "snapshotTime"), _name(s)))[
                -RECENT_SNAPSHOTS:
            ]
            status["recentSnapshots"] = [
                {
                    "name": _name(s),
                    "phase": _str(s, "status", "phase") or "Pending",
                    "session": _str(s, "spec", "session") or None,
                    "size": _str(s, "status", "size") or None,
                    "snapshotTime": _str(s, "status", "snapshotTime") or None,
                }
                for s in ordered
            ]
            paths = {
                _str(c, "path")
                for s in snapshots
                for c in _map(s, "status", "components").values()
                if _str(c, "path")
            }
            status["componentPaths"] = sorted(paths)

        await self._update_status(REPOSITORIES, ns, name, mutate)

    # ================================================================== BackupConfiguration

    def _backend_status(
        self, backend: JSONDict, namespace: str
    ) -> tuple[JSONDict, bool, list[str], tuple[str, str] | None, JSONDict | None]:
        """(status entry, ready, validation problems, storage ref, retention policy)."""
        problems: list[str] = []
        entry: JSONDict = {"name": _str(backend, "name")}
        ready = True
        # Storage: the named one, or the default one allowed here.
        ref = _map(backend, "storageRef")
        storage: JSONDict | None
        if _str(ref, "name"):
            s_ns, s_name = _str(ref, "namespace") or namespace, _str(ref, "name")
            storage = self._view(BACKUP_STORAGES, s_ns, s_name)
        else:
            storage = self._default_of(BACKUP_STORAGES, namespace)
            s_ns, s_name = (_namespace(storage), _name(storage)) if storage else ("", "")
        storage_entry: JSONDict = {"ref": {"namespace": s_ns, "name": s_name}} if s_name else {}
        storage_ref: tuple[str, str] | None = (s_ns, s_name) if storage is not None else None
        if storage is None:
            ready = False
            storage_entry["reason"] = (
                f"BackupStorage {s_ns}/{s_name} not found"
                if s_name
                else "no storageRef given and no default BackupStorage allows namespace "
                f'"{namespace}"'
            )
        else:
            phase = _str(storage, "status", "phase") or "NotReady"
            storage_entry["phase"] = phase
            if not self._allowed(storage, namespace):
                ready = False
                problem = (
                    f'namespace "{namespace}" is not allowed to use BackupStorage {s_ns}/{s_name}'
                )
                problems.append(problem)
                storage_entry["reason"] = problem
            elif phase != "Ready":
                ready = False
                storage_entry["reason"] = "BackupStorage is not ready"
        entry["storage"] = storage_entry
        # Retention policy: the named one, or the default one allowed here.
        rref = _map(backend, "retentionPolicy")
        policy: JSONDict | None
        if _str(rref, "name"):
            r_ns, r_name = _str(rref, "namespace") or namespace, _str(rref, "name")
            policy = self._view(RETENTION_POLICIES, r_ns, r_name)
        else:
            policy = self._default_of(RETENTION_POLICIES, namespace)
            r_ns, r_name = (_namespace(policy), _name(policy)) if policy else ("", "")
        retention_entry: JSONDict = {"found": policy is not None}
        if r_name:
            retention_entry["ref"] = {"namespace": r_ns, "name": r_name}
        if policy is None:
            ready = False
            retention_entry["reason"] = (
                f"RetentionPolicy {r_ns}/{r_name} not found"
                if r_name
                else "no retentionPolicy given and no default RetentionPolicy allows namespace "
                f'"{namespace}"'
            )
        elif not self._allowed(policy, namespace):
            ready = False
            problem = (
                f'namespace "{namespace}" is not allowed to use RetentionPolicy {r_ns}/{r_name}'
            )
            problems.append(problem)
            retention_entry["reason"] = "RetentionPolicy does not allow this namespace"
        entry["retentionPolicy"] = retention_entry
        entry["ready"] = ready
        return entry, ready, problems, storage_ref, policy

    async def _reconcile_configuration(self, bc: JSONDict) -> None:
        ns, name = _namespace(bc), _name(bc)
        bc = self._view(BACKUP_CONFIGURATIONS, ns, name) or bc
        if _dig(bc, "metadata", "deletionTimestamp"):
            return
        spec, previous = _map(bc, "spec"), _map(bc, "status")
        clock = self.sim.clock
        now, sim_now = clock.now(), clock.sim_now()
        problems: list[str] = []

        target = _map(spec, "target")
        key = _target_key(target, ns)
        target_found = self._db(*key) is not None if key else bool(target.get("name"))

        backends: list[JSONDict] = []
        storages: dict[str, tuple[str, str]] = {}
        backends_ready = True
        for backend in _list(spec, "backends"):
            entry, ready, found_problems, storage_ref, _ = self._backend_status(backend, ns)
            backends.append(entry)
            backends_ready = backends_ready and ready
            problems.extend(found_problems)
            if storage_ref is not None:
                storages[_str(backend, "name")] = storage_ref
        backend_names = {_str(b, "name") for b in _list(spec, "backends")}

        old_sessions = {_str(s, "name"): s for s in _list(previous, "sessions")}
        sessions: list[JSONDict] = []
        parsed: dict[str, cron.CronSchedule | None] = {}
        schedulers_ok = True
        for session in _list(spec, "sessions"):
            sname = _str(session, "name")
            conds = _conditions(old_sessions.get(sname, {}))
            expression = _str(session, "scheduler", "schedule")
            try:
                parsed[sname] = cron.parse(expression)
                _set_condition(
                    conds,
                    "SchedulerEnsured",
                    True,
                    "SchedulerEnsured",
                    "Scheduler has been ensured successfully.",
                    now,
                )
            except InvalidInput as exc:
                parsed[sname] = None
                schedulers_ok = False
                _set_condition(
                    conds, "SchedulerEnsured", False, "FailedToEnsureScheduler", exc.message, now
                )
            for repo in _list(session, "repositories"):
                if _str(repo, "backend") not in backend_names:
                    problems.append(
                        f'repository "{_str(repo, "name")}" of session "{sname}" refers to '
                        f'backend "{_str(repo, "backend")}", which is not in spec.backends'
                    )
            sessions.append({"name": sname, "conditions": conds})

        conds = _conditions(previous)
        if problems:
            _set_condition(
                conds,
                "ValidationPassed",
                False,
                "ResourceValidationFailed",
                "; ".join(problems),
                now,
                severity="Error",
            )
            phase = "Invalid"
        else:
            _set_condition(
                conds,
                "ValidationPassed",
                True,
                "ResourceValidationPassed",
                "Resource validation passed",
                now,
            )
            ready = target_found and backends_ready and schedulers_ok
            phase = "Ready" if ready else "NotReady"

        if phase == "Ready":
            await self._ensure_repositories(bc, storages)
        repositories = self._repository_statuses(bc)
        dependencies = None
        if self._informer(ADDONS) is not None:
            addons = sorted({_str(s, "addon", "name") for s in _list(spec, "sessions")} - {""})
            dependencies = [
                {
                    "apiGroup": ADDONS_GROUP,
                    "kind": "Addon",
                    "name": addon,
                    "found": self._view(ADDONS, "", addon) is not None,
                }
                for addon in addons
            ]

        paused = spec.get("paused") is True
        for session, entry in zip(_list(spec, "sessions"), sessions, strict=True):
            sname = _str(session, "name")
            schedule = parsed.get(sname)
            key3 = (ns, name, sname)
            if schedule is None:
                self._schedules.pop(key3, None)
                continue
            expression = _str(session, "scheduler", "schedule")
            state = self._schedules.get(key3)
            if state is None or state.expression != expression:
                state = _Schedule(expression, cron.next_after(schedule, sim_now))
                self._schedules[key3] = state
            runnable = (
                phase == "Ready"
                and not paused
                and _dig(session, "scheduler", "suspend") is not True
            )
            if runnable and not _is_true(entry["conditions"], "InitialBackupTriggered"):
                if await self._trigger(bc, session, int(now.timestamp())):
                    _set_condition(
                        entry["conditions"],
                        "InitialBackupTriggered",
                        True,
                        "SuccessfullyTriggeredInitialBackup",
                        "Initial backup has been triggered successfully.",
                        now,
                    )
            elif state.next_fire is not None and sim_now >= state.next_fire:
                if runnable:
                    await self._trigger(bc, session, int(state.next_fire.timestamp()))
                state.next_fire = cron.next_after(schedule, sim_now)
            if state.next_fire is not None:
                entry["nextSchedule"] = o.ts(clock.real_of(state.next_fire))
        sessions = [
            {
                "name": s["name"],
                "nextSchedule": s.get("nextSchedule"),
                "conditions": s["conditions"],
            }
            for s in sessions
        ]

        fields: JSONDict = {
            "phase": phase,
            "targetFound": target_found,
            "conditions": conds,
            "backends": backends,
            "repositories": repositories,
            "dependencies": dependencies,
            "sessions": sessions,
        }

        def mutate(_: JSONDict, status: JSONDict) -> None:
            for k, v in fields.items():
                if v is None:
                    status.pop(k, None)
                else:
                    status[k] = v

        await self._update_status(BACKUP_CONFIGURATIONS, ns, name, mutate)

    async def _ensure_repositories(
        self, bc: JSONDict, storages: dict[str, tuple[str, str]]
    ) -> None:
        ns = _namespace(bc)
        target = _map(bc, "spec", "target")
        for session in _list(bc, "spec", "sessions"):
            for entry in _list(session, "repositories"):
                rname = _str(entry, "name")
                storage = storages.get(_str(entry, "backend"))
                if not rname or "${" in rname or storage is None:
                    continue
                if self._view(REPOSITORIES, ns, rname) is not None:
                    continue
                policy = _str(entry, "deletionPolicy")
                spec: JSONDict = {
                    "appRef": {**target, "namespace": _str(target, "namespace") or ns},
                    "storageRef": {"namespace": storage[0], "name": storage[1]},
                    "path": _str(entry, "directory") or f"/{ns}/{_str(target, 'name') or rname}",
                    "deletionPolicy": policy if policy in ("Delete", "WipeOut") else "Delete",
                }
                if entry.get("encryptionSecret"):
                    spec["encryptionSecret"] = entry["encryptionSecret"]
                await self._create(
                    REPOSITORIES,
                    {
                        "apiVersion": REPOSITORIES.api_version,
                        "kind": "Repository",
                        "metadata": {
                            "name": rname,
                            "namespace": ns,
                            "labels": {
                                "kubestash.com/invoker-kind": "BackupConfiguration",
                                "kubestash.com/invoker-name": _name(bc),
                                "kubestash.com/invoker-namespace": ns,
                            },
                        },
                        "spec": spec,
                    },
                )

    def _repository_statuses(self, bc: JSONDict) -> list[JSONDict]:
        ns = _namespace(bc)
        out: list[JSONDict] = []
        seen: set[str] = set()
        for session in _list(bc, "spec", "sessions"):
            for entry in _list(session, "repositories"):
                rname = _str(entry, "name")
                if not rname or rname in seen:
                    continue
                seen.add(rname)
                repo = self._view(REPOSITORIES, ns, rname)
                phase = _str(repo, "status", "phase") or "NotReady"
                item: JSONDict = {"name": rname, "phase": phase}
                if repo is None:
                    item["reason"] = "Repository has not been created yet"
                elif phase != "Ready":
                    initialized = _cond(
                        _list(repo, "status", "conditions"), "RepositoryInitialized"
                    )
                    item["reason"] = _str(initialized, "message") or "Repository is not ready"
                if entry.get("backupVerifier"):
                    item["verificationConfigured"] = True
                out.append(item)
        return out

    async def _trigger(self, bc: JSONDict, session: JSONDict, stamp: int) -> bool:
        """Create a BackupSession for one session of a BackupConfiguration."""
        ns, bc_name, sname = _namespace(bc), _name(bc), _str(session, "name")
        spec: JSONDict = {
            "invoker": {"apiGroup": CORE, "kind": "BackupConfiguration", "name": bc_name},
            "session": sname,
        }
        if _str(session, "backupTimeout"):
            spec["backupTimeout"] = session["backupTimeout"]
        body: JSONDict = {
            "apiVersion": BACKUP_SESSIONS.api_version,
            "kind": "BackupSession",
            "metadata": {
                "name": _valid_name(f"{bc_name}-{sname}", str(stamp)),
                "namespace": ns,
                "labels": {
                    "kubestash.com/invoker-kind": "BackupConfiguration",
                    "kubestash.com/invoker-name": bc_name,
                    "kubestash.com/session-name": sname,
                },
                "ownerReferences": [_owner(bc)],
            },
            "spec": spec,
        }
        return await self._create(BACKUP_SESSIONS, body) is not None

    # ================================================================== BackupSession

    async def _reconcile_session(self, bs: JSONDict) -> None:
        ns, name, uid = _namespace(bs), _name(bs), _uid(bs)
        bs = self._view(BACKUP_SESSIONS, ns, name) or bs
        phase = _str(bs, "status", "phase")
        if phase in SESSION_DONE:
            return
        invoker = _map(bs, "spec", "invoker")
        if _str(invoker, "kind") != "BackupConfiguration":
            return  # BackupBatch runs are not simulated
        mono = time.monotonic()
        run = self._sessions.setdefault(uid, _SessionRun(seen=mono))
        sname = _str(bs, "spec", "session")
        bc = self._view(BACKUP_CONFIGURATIONS, ns, _str(invoker, "name"))
        session = next((s for s in _list(bc, "spec", "sessions") if _str(s, "name") == sname), None)
        slot = (ns, _str(invoker, "name"), sname)
        if not phase:
            if bc is None and mono - run.seen < MISSING_GRACE:
                return
            reason = self._skip_reason(bc, session, invoker, sname, slot, name)
            if reason:
                await self._skip(bs, reason)
                self._sessions.pop(uid, None)
                return
            self._slots[slot] = name
            run.pending_at = mono
            await self._update_status(
                BACKUP_SESSIONS, ns, name, lambda _, st: st.update({"phase": "Pending"})
            )
            return
        if bc is None or session is None:
            await self._finish_without_run(bs, "the BackupConfiguration or its session is gone")
            return
        self._slots.setdefault(slot, name)
        if phase == "Pending":
            if run.pending_at is None:
                run.pending_at = mono
            if mono - run.pending_at < min(self.sim.step, 0.5):
                return
            if await self._start_backup(bs, bc, session):
                run.running_at = mono
                return
            self._sessions.pop(uid, None)
            if self._slots.get(slot) == name:
                del self._slots[slot]
            return
        if run.running_at is None:  # we restarted while it was running
            run.running_at = mono
        if mono - run.running_at < self.sim.backup_duration:
            return
        await self._finish_backup(bs, bc, session, mono - (run.pending_at or run.seen))
        self._sessions.pop(uid, None)
        if self._slots.get(slot) == name:
            del self._slots[slot]

    def _skip_reason(
        self,
        bc: JSONDict | None,
        session: JSONDict | None,
        invoker: JSONDict,
        sname: str,
        slot: tuple[str, str, str],
        name: str,
    ) -> str | None:
        if bc is None:
            return f"{_str(invoker, 'kind') or 'Invoker'} {_str(invoker, 'name')} not found."
        if session is None:
            return f'Session "{sname}" is not defined in BackupConfiguration {_name(bc)}.'
        phase = _str(bc, "status", "phase") or "NotReady"
        if phase != "Ready":
            return f"BackupConfiguration {_name(bc)} is not ready (phase {phase})."
        if _dig(bc, "spec", "paused") is True:
            return f"BackupConfiguration {_name(bc)} is paused."
        holder = self._slots.get(slot)
        if holder and holder != name:
            other = self._view(BACKUP_SESSIONS, slot[0], holder)
            if other is not None and _str(other, "status", "phase") not in SESSION_DONE:
                return "Previous backup session is still running."
        return None

    async def _skip(self, bs: JSONDict, message: str) -> None:
        now = self.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            _set_condition(conds, "BackupSkipped", True, "PreRequisitesNotSatisfied", message, now)
            status.update({"phase": "Skipped", "conditions": conds})

        await self._update_status(BACKUP_SESSIONS, _namespace(bs), _name(bs), mutate)

    async def _finish_without_run(self, bs: JSONDict, why: str) -> None:
        now = self.sim.clock.now()

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            _set_condition(
                conds,
                "BackupExecutorEnsured",
                False,
                "FailedToEnsureBackupExecutor",
                f"Failed to ensure backup executor. Reason: {why}",
                now,
            )
            status.update({"phase": "Failed", "conditions": conds})

        await self._update_status(BACKUP_SESSIONS, _namespace(bs), _name(bs), mutate)
        self._sessions.pop(_uid(bs), None)

    def _db_size(self, key: tuple[str, str, str]) -> float:
        """A database's data size in bytes: stable per database, growing a little per backup."""
        if key not in self._sizes:
            digest = int(hashlib.sha256("/".join(key).encode()).hexdigest()[:8], 16)
            self._sizes[key] = 8 * 1024**2 * (1 + digest % 160)
        self._sizes[key] *= 1 + self.sim.rng.uniform(0.0005, 0.005)
        return self._sizes[key]

    async def _start_backup(self, bs: JSONDict, bc: JSONDict, session: JSONDict) -> bool:
        """Create the run's Snapshots and mark it Running; False if it failed at once."""
        ns, name = _namespace(bs), _name(bs)
        now = self.sim.clock.now()
        target = _map(bc, "spec", "target")
        key = _target_key(target, ns)
        found = self._db(*key) if key else None
        db = found[1] if found else None
        tasks = [_str(t, "name") for t in _list(session, "addon", "tasks") if _str(t, "name")]
        components = list(dict.fromkeys(_component_of(t) for t in tasks)) or ["dump"]
        app_ref = {**target, "namespace": _str(target, "namespace") or ns}
        storages = {
            _str(b, "name"): ref
            for b in _list(bc, "spec", "backends")
            if (ref := self._backend_status(b, ns)[3]) is not None
        }
        entries: list[JSONDict] = []
        problem = ""
        for repo_entry in _list(session, "repositories"):
            rname = _str(repo_entry, "name")
            repo = self._view(REPOSITORIES, ns, rname)
            if repo is None:
                await self._ensure_repositories(bc, storages)
                repo = self._view(REPOSITORIES, ns, rname)
            if repo is None:
                problem = f"Repository {ns}/{rname} not found"
                continue
            snap = await self._create_snapshot(bs, session, repo, db, app_ref, components, now)
            if snap is not None:
                entries.append(
                    {
                        "name": _name(snap),
                        "phase": "Running",
                        "appRef": app_ref,
                        "repository": rname,
                    }
                )
        if not _list(session, "repositories"):
            problem = f'session "{_str(session, "name")}" has no repositories'

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            _set_condition(
                conds,
                "BackupExecutorEnsured",
                True,
                "SuccessfullyEnsuredBackupExecutor",
                "Backup executor has been ensured successfully.",
                now,
            )
            if problem:
                _set_condition(
                    conds,
                    "SnapshotsEnsured",
                    False,
                    "FailedToEnsureSnapshots",
                    f"Failed to ensure snapshots. Reason: {problem}",
                    now,
                )
            else:
                _set_condition(
                    conds,
                    "SnapshotsEnsured",
                    True,
                    "SuccessfullyEnsuredSnapshots",
                    "Snapshots have been ensured successfully.",
                    now,
                )
            status.update(
                {
                    "phase": "Failed" if problem else "Running",
                    "snapshots": entries,
                    "totalSnapshots": len(entries),
                    "conditions": conds,
                }
            )
            timeout = _str(session, "backupTimeout")
            if timeout and not problem:
                seconds = _duration_seconds(timeout)
                if seconds:
                    status["backupDeadline"] = o.ts(now + timedelta(seconds=seconds))

        written = await self._update_status(BACKUP_SESSIONS, ns, name, mutate)
        return written is not None and not problem

    async def _create_snapshot(
        self,
        bs: JSONDict,
        session: JSONDict,
        repo: JSONDict,
        db: JSONDict | None,
        app_ref: JSONDict,
        components: list[str],
        now: datetime,
    ) -> JSONDict | None:
        ns, bs_name, rname = _namespace(bs), _name(bs), _name(repo)
        base, _, tail = bs_name.rpartition("-")
        snap_name = (
            _valid_name(f"{rname}-{base}", tail)
            if tail.isdigit()
            else _valid_name(f"{rname}-{bs_name}")
        )
        kind = _str(app_ref, "kind")
        metadata: JSONDict = {
            "name": snap_name,
            "namespace": ns,
            "labels": _snapshot_labels(
                rname, kind, _str(app_ref, "namespace"), _str(app_ref, "name")
            ),
            "ownerReferences": [_owner(repo)],
        }
        if db is not None and _str(db, "spec", "version"):
            metadata["annotations"] = {DB_VERSION: _str(db, "spec", "version")}
        policy = _str(repo, "spec", "deletionPolicy")
        body: JSONDict = {
            "apiVersion": SNAPSHOTS.api_version,
            "kind": "Snapshot",
            "metadata": metadata,
            "spec": {
                "snapshotID": o.ulid(now, self.sim.rng),
                "type": "FullBackup",
                "repository": rname,
                "session": _str(session, "name"),
                "backupSession": bs_name,
                "version": "v1",
                "appRef": app_ref,
                "deletionPolicy": policy if policy in ("Delete", "WipeOut") else "Delete",
            },
        }
        created = await self._create(SNAPSHOTS, body)
        if created is None:
            return None
        sname = _str(session, "name")
        comps = {
            c: {
                "path": f"repository/v1/{sname}/{c}",
                "phase": "Running",
                "driver": self._driver(kind, c),
            }
            for c in components
        }

        def mutate(_: JSONDict, status: JSONDict) -> None:
            if status.get("phase"):
                return
            status.update(
                {
                    "phase": "Running",
                    "snapshotTime": o.ts(now),
                    "lastUpdateTime": o.ts(now),
                    "totalComponents": len(comps),
                    "components": comps,
                }
            )

        await self._update_status(SNAPSHOTS, ns, snap_name, mutate)
        return created

    @staticmethod
    def _driver(kind: str, component: str) -> str:
        if component == "volumesnapshot":
            return "VolumeSnapshotter"
        if component == "dump":
            return LOGICAL_DRIVERS.get(kind, "Restic")
        return "Restic"

    async def _finish_backup(
        self, bs: JSONDict, bc: JSONDict, session: JSONDict, elapsed: float
    ) -> None:
        ns, name = _namespace(bs), _name(bs)
        now = self.sim.clock.now()
        target = _map(bc, "spec", "target")
        key = _target_key(target, ns)
        found = self._db(*key) if key else None
        db = found[1] if found else None
        fail = self.sim.should_fail("backup", db, bc, bs)
        size_key = key or (_str(target, "kind"), ns, _str(target, "name"))
        data_bytes = self._db_size(size_key)
        error = ""
        results: dict[str, str] = {}
        for entry in _list(bs, "status", "snapshots"):
            snap_name = _str(entry, "name")
            snap = self._view(SNAPSHOTS, ns, snap_name)
            if snap is None:
                results[snap_name] = "Failed"
                error = error or f"Snapshot {ns}/{snap_name} disappeared"
                continue
            phase, message = await self._finish_snapshot(
                snap, db, data_bytes, fail and not error, now
            )
            results[snap_name] = phase
            error = error or message
        failed = bool(error) or any(p != "Succeeded" for p in results.values())
        # Retention, per repository of this run.
        retention: list[JSONDict] = []
        for repo_entry in _list(session, "repositories"):
            rname = _str(repo_entry, "name")
            backend = next(
                (
                    b
                    for b in _list(bc, "spec", "backends")
                    if _str(b, "name") == _str(repo_entry, "backend")
                ),
                {},
            )
            policy = self._backend_status(backend, ns)[4] if backend else None
            await self._apply_retention(ns, rname, policy)
            if policy is not None:
                retention.append(
                    {
                        "ref": {"namespace": _namespace(policy), "name": _name(policy)},
                        "repository": rname,
                        "phase": "Applied",
                    }
                )

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            if failed:
                _set_condition(
                    conds,
                    "BackupExecutorEnsured",
                    False,
                    "FailedToEnsureBackupExecutor",
                    f"Backup executor failed. Reason: {error or 'a snapshot failed'}",
                    now,
                    severity="Error",
                )
            for kind_, reason, message in (
                (
                    "RetentionPolicyExecutorEnsured",
                    "SuccessfullyEnsuredRetentionPolicyExecutor",
                    "Retention policy executor has been ensured successfully.",
                ),
                (
                    "SessionHistoryCleaned",
                    "SuccessfullyCleanedSessionHistory",
                    "Successfully cleaned up backup history.",
                ),
                (
                    "MetricsPushed",
                    "SuccessfullyPushedMetrics",
                    "Metrics have been pushed successfully.",
                ),
            ):
                _set_condition(conds, kind_, True, reason, message, now)
            snapshots = []
            for item in _list(status, "snapshots"):
                item = dict(item)
                item["phase"] = results.get(_str(item, "name"), "Failed")
                snapshots.append(item)
            status.update(
                {
                    "phase": "Failed" if failed else "Succeeded",
                    "duration": o.go_duration(elapsed),
                    "snapshots": snapshots,
                    "totalSnapshots": len(snapshots),
                    "retentionPolicy": retention or None,
                    "conditions": conds,
                }
            )

        await self._update_status(BACKUP_SESSIONS, ns, name, mutate)
        await self._clean_history(bs, session)

    async def _finish_snapshot(
        self, snap: JSONDict, db: JSONDict | None, data_bytes: float, fail: bool, now: datetime
    ) -> tuple[str, str]:
        """Write a snapshot's final status; return (phase, error message)."""
        rng = self.sim.rng
        ns, name = _namespace(snap), _name(snap)
        kind = _str(snap, "spec", "appRef", "kind")
        app = _str(snap, "spec", "appRef", "name")
        started = _parse_time(_dig(snap, "status", "snapshotTime")) or now
        total_seconds = max(0.2, (now - started).total_seconds())
        components = _map(snap, "status", "components")
        names = list(components) or ["dump"]
        failing = ""
        if fail:
            failing = next((c for c in names if c != "manifest"), names[0])
        error = ""
        out: JSONDict = {}
        cursor = started
        for component in names:
            current = dict(_map(components, component))
            driver = _str(current, "driver") or self._driver(kind, component)
            share = 0.15 if component == "manifest" else 0.8
            seconds = total_seconds * share * rng.uniform(0.8, 1.0)
            end = cursor + timedelta(seconds=seconds)
            size = self._component_size(component, db, data_bytes)
            current.update(
                {"driver": driver, "path": _str(current, "path") or f"repository/v1/{component}"}
            )
            if component == failing:
                error = self._backup_error(kind, app, ns, component, now)
                current.update(
                    {"phase": "Failed", "error": error, "duration": o.go_duration(seconds)}
                )
                current.pop("size", None)
            else:
                current.update(
                    {
                        "phase": "Succeeded",
                        "size": o.format_size(size),
                        "duration": o.go_duration(seconds),
                        "integrity": True,
                    }
                )
                current.update(self._driver_stats(driver, component, db, app, size, cursor, end))
            out[component] = current
            cursor = end
        failed = bool(error)
        total = sum(_bytes(c.get("size")) for c in out.values() if c.get("phase") == "Succeeded")

        def mutate(_: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            if failed:
                _set_condition(
                    conds,
                    "BackupIncomplete",
                    True,
                    "BackupFailed",
                    f"Backup of component {failing} failed: {error}",
                    now,
                    severity="Error",
                )
            else:
                _set_condition(
                    conds,
                    "SnapshotMetadataUploaded",
                    True,
                    "SuccessfullyUploadedSnapshotMetadata",
                    "Snapshot metadata uploaded to backend successfully",
                    now,
                )
                _set_condition(
                    conds,
                    "RecentSnapshotListUpdated",
                    True,
                    "SuccessfullyUpdatedRecentSnapshotList",
                    "Recent snapshot list updated successfully",
                    now,
                )
            status.update(
                {
                    "phase": "Failed" if failed else "Succeeded",
                    "lastUpdateTime": o.ts(now),
                    "size": None if failed else o.format_size(total),
                    "integrity": not failed,
                    "totalComponents": len(out),
                    "components": out,
                    "conditions": conds,
                    "snapshotTime": status.get("snapshotTime") or o.ts(started),
                    "verificationStatus": "NotVerified",
                }
            )
            if failed:
                status.pop("size", None)

        await self._update_status(SNAPSHOTS, ns, name, mutate)
        return ("Failed" if failed else "Succeeded"), error

    def _component_size(self, component: str, db: JSONDict | None, data_bytes: float) -> float:
        rng = self.sim.rng
        if component == "manifest":
            return rng.uniform(4, 20) * 1024
        if component == "volumesnapshot":
            requested = _bytes(_dig(db, "spec", "storage", "resources", "requests", "storage"))
            return requested or data_bytes * 1.2
        if component == "physical":
            return data_bytes * rng.uniform(1.04, 1.06)
        return data_bytes * rng.uniform(0.245, 0.255)  # a compressed dump

    def _driver_stats(
        self,
        driver: str,
        component: str,
        db: JSONDict | None,
        app: str,
        size: float,
        start: datetime,
        end: datetime,
    ) -> JSONDict:
        rng = self.sim.rng
        if driver == "VolumeSnapshotter":
            replicas = max(1, _int(db, "spec", "replicas", default=1))
            stamp = int(start.timestamp())
            return {
                "volumeSnapshotterStats": [
                    {
                        "pvcName": f"data-{app}-{i}",
                        "hostPath": "/var/pv",
                        "volumeSnapshotName": f"data-{app}-{i}-{stamp}",
                        "volumeSnapshotTime": o.ts(start + timedelta(seconds=1)),
                    }
                    for i in range(replicas)
                ]
            }
        if driver == "WalG":
            return {
                "walGStats": {
                    "id": f"base_{rng.getrandbits(96):024X}",
                    "databases": ["app"],
                    "startTime": o.ts(start),
                    "stopTime": o.ts(end),
                }
            }
        if driver == "Restic":
            host_path = {
                "dump": "dumpfile.sql",
                "manifest": "/kubestash-tmp/manifest",
                "physical": "/kubestash-tmp/physical",
            }.get(component, f"/kubestash-tmp/{component}")
            return {
                "resticStats": [
                    {
                        "summary": {
                            "id": f"{rng.getrandbits(256):064x}",
                            "uploaded": o.format_size(size * rng.uniform(0.02, 0.15)),
                            "hostPath": host_path,
                            "size": o.format_size(size * 3.9),
                            "startTime": o.ts(start),
                            "endTime": o.ts(end),
                        }
                    }
                ]
            }
        return {}

    def _backup_error(self, kind: str, app: str, ns: str, component: str, now: datetime) -> str:
        rng = self.sim.rng
        host = f"{app}.{ns}.svc"
        if component == "volumesnapshot":
            return _VOLUME_SNAPSHOT_ERROR.format(pvc=f"data-{app}-0", stamp=int(now.timestamp()))
        choices = [*_BACKUP_ERRORS.get(kind, []), *_STORAGE_ERRORS]
        return rng.choice(choices).format(host=host)

    def _restore_error(self, kind: str) -> str:
        return self.sim.rng.choice([*_RESTORE_ERRORS.get(kind, []), *_GENERIC_RESTORE_ERRORS])

    async def _apply_retention(self, ns: str, repo: str, policy: JSONDict | None) -> None:
        """Keep the newest ``successfulSnapshots.last`` and ``failedSnapshots.last``."""
        cap = self.sim.max_snapshots
        ok_spec = _map(policy, "spec", "successfulSnapshots")
        if isinstance(ok_spec.get("last"), int):
            keep_ok = _int(ok_spec, "last")
        else:
            others = sum(
                _int(ok_spec, k) for k in ("hourly", "daily", "weekly", "monthly", "yearly")
            )
            keep_ok = others or cap
        keep_failed = _int(policy, "spec", "failedSnapshots", "last", default=1)
        keep_ok, keep_failed = min(max(keep_ok, 1), cap), min(max(keep_failed, 0), cap)
        snapshots = [
            s
            for s in self._indexed(SNAPSHOTS, "repo", (ns, repo))
            if _str(s, "spec", "type") != "IncrementalBackup"
        ]
        snapshots.sort(key=lambda s: (_str(s, "status", "snapshotTime"), _name(s)), reverse=True)
        doomed: list[str] = []
        for phase, keep in (("Succeeded", keep_ok), ("Failed", keep_failed)):
            same = [s for s in snapshots if _str(s, "status", "phase") == phase]
            doomed.extend(_name(s) for s in same[keep:])
        for snap in doomed:
            await self._delete(SNAPSHOTS, ns, snap)

    async def _clean_history(self, bs: JSONDict, session: JSONDict) -> None:
        ns = _namespace(bs)
        invoker = _str(bs, "spec", "invoker", "name")
        limit = max(1, _int(session, "sessionHistoryLimit", default=1))
        siblings = self._indexed(BACKUP_SESSIONS, "invoker", (ns, invoker, _str(session, "name")))
        siblings.sort(
            key=lambda s: (_str(s, "metadata", "creationTimestamp"), _name(s)), reverse=True
        )
        for phase in SESSION_DONE:
            same = [s for s in siblings if _str(s, "status", "phase") == phase]
            for old in same[limit:]:
                await self._delete(BACKUP_SESSIONS, ns, _name(old))

    # ================================================================== RestoreSession

    async def _reconcile_restore(self, rs: JSONDict) -> None:
        ns, name, uid = _namespace(rs), _name(rs), _uid(rs)
        rs = self._view(RESTORE_SESSIONS, ns, name) or rs
        phase = _str(rs, "status", "phase")
        if phase in RESTORE_DONE:
            return
        now, mono = self.sim.clock.now(), time.monotonic()
        seen = self._seen_for(uid)
        spec = _map(rs, "spec")
        target = _target_key(_map(spec, "target"), ns)
        run = self._restores.get(uid)
        if run is None and phase == "Running":
            run = self._resume_restore(rs, target, mono)
        if run is not None:
            await self._progress_restore(rs, run)
            return
        problem = _restore_spec_problem(spec)
        conds = _conditions(_map(rs, "status"))
        if problem:
            _set_condition(
                conds, "ValidationPassed", False, "ResourceValidationFailed", problem, now
            )
            await self._update_status(
                RESTORE_SESSIONS,
                ns,
                name,
                lambda _, st: st.update({"phase": "Invalid", "conditions": conds}),
            )
            return
        _set_condition(
            conds,
            "ValidationPassed",
            True,
            "ResourceValidationPassed",
            "Resource validation passed",
            now,
        )
        found = self._db(*target) if target else None
        snapshot, snapshot_problem = self._resolve_snapshot(rs)
        dependencies = self._restore_dependencies(rs, snapshot)
        if target is not None:
            if found is None:
                _set_condition(
                    conds,
                    "RestoreTargetFound",
                    False,
                    "RestoreTargetNotFound",
                    f"Restore target {target[0]} {target[1]}/{target[2]} not found.",
                    now,
                )
            else:
                _set_condition(
                    conds,
                    "RestoreTargetFound",
                    True,
                    "RestoreTargetFound",
                    "Restore target has been found.",
                    now,
                )
        fields: JSONDict = {
            "phase": "Pending",
            "targetFound": (found is not None) if target is not None else None,
            "dependencies": dependencies,
            "conditions": conds,
        }
        if not phase or (target is not None and found is None):
            await self._set_restore(rs, fields)
            return
        if snapshot is None:
            if mono - seen < MISSING_GRACE:
                return
            _set_condition(
                conds,
                "RestoreExecutorEnsured",
                False,
                "FailedToEnsureRestoreExecutor",
                f"Failed to ensure restore executor. Reason: {snapshot_problem}",
                now,
                severity="Error",
            )
            fields.update({"phase": "Failed", "conditions": conds})
            await self._set_restore(rs, fields)
            if found is not None:
                await self._mark_database_restore(found, "failed", snapshot_problem)
            self._seen.pop(uid, None)
            return
        # Start: pause the database's backups, tell KubeDB the restore started.
        totals = self._restore_components(rs, snapshot)
        paused = await self._pause_backups(target) if target else []
        run = _RestoreRun(uid, ns, name, mono, target, totals, paused)
        self._restores[uid] = run
        _set_condition(
            conds,
            "RestoreExecutorEnsured",
            True,
            "SuccessfullyEnsuredRestoreExecutor",
            "Restore executor has been ensured successfully.",
            now,
        )
        fields.update(
            {
                "phase": "Running",
                "conditions": conds,
                "pausedBackups": paused or None,
                "totalComponents": len(totals),
                "components": self._restore_progress(run, 0.0, None),
            }
        )
        timeout = _duration_seconds(_str(spec, "restoreTimeout"))
        if timeout:
            fields["restoreDeadline"] = o.ts(now + timedelta(seconds=timeout))
        if found is not None:
            await self._mark_database_restore(found, "started", "")
        await self._set_restore(rs, fields)

    async def _set_restore(self, rs: JSONDict, fields: JSONDict) -> None:
        def mutate(_: JSONDict, status: JSONDict) -> None:
            for k, v in fields.items():
                if v is None:
                    status.pop(k, None)
                else:
                    status[k] = v

        await self._update_status(RESTORE_SESSIONS, _namespace(rs), _name(rs), mutate)

    def _resume_restore(
        self, rs: JSONDict, target: tuple[str, str, str] | None, mono: float
    ) -> _RestoreRun:
        """We restarted while a restore was running: carry on from its status."""
        status = _map(rs, "status")
        totals = {
            c: _bytes(_dig(v, "progress", "total")) or 16 * 1024**2
            for c, v in _map(status, "components").items()
        } or {"dump": 16 * 1024**2}
        elapsed = max(
            (_int(v, "progress", "secondsElapsed") for v in _map(status, "components").values()),
            default=0,
        )
        run = _RestoreRun(
            _uid(rs),
            _namespace(rs),
            _name(rs),
            mono - float(elapsed),
            target,
            totals,
            _list(status, "pausedBackups"),
        )
        self._restores[run.uid] = run
        return run

    def _resolve_snapshot(self, rs: JSONDict) -> tuple[JSONDict | None, str]:
        source = _map(rs, "spec", "dataSource")
        repo_ns = _str(source, "namespace") or _namespace(rs)
        repo = _str(source, "repository")
        wanted = _str(source, "snapshot")
        if wanted and wanted != "latest":
            snap = self._view(SNAPSHOTS, repo_ns, wanted)
            if snap is None:
                return None, f"Snapshot {repo_ns}/{wanted} not found"
            if _str(snap, "status", "phase") != "Succeeded":
                return None, f"Snapshot {repo_ns}/{wanted} is not Succeeded"
            return snap, ""
        if self._view(REPOSITORIES, repo_ns, repo) is None:
            return None, f"Repository {repo_ns}/{repo} not found"
        candidates = [
            s
            for s in self._indexed(SNAPSHOTS, "repo", (repo_ns, repo))
            if _str(s, "spec", "type") != "IncrementalBackup"
            and _str(s, "status", "phase") == "Succeeded"
            and _str(s, "status", "snapshotTime")
        ]
        pitr = _map(source, "pitr")
        if pitr:
            limit = _parse_time(pitr.get("targetTime"))
            exclusive = pitr.get("exclusive") is True
            candidates = [
                s
                for s in candidates
                if limit is not None
                and (t := _parse_time(_dig(s, "status", "snapshotTime"))) is not None
                and (t < limit if exclusive else t <= limit)
            ]
        if not candidates:
            when = f" at or before {_str(pitr, 'targetTime')}" if pitr else ""
            return None, f"no Succeeded Snapshot{when} in Repository {repo_ns}/{repo}"
        return max(candidates, key=lambda s: (_str(s, "status", "snapshotTime"), _name(s))), ""

    def _restore_dependencies(self, rs: JSONDict, snapshot: JSONDict | None) -> list[JSONDict]:
        source = _map(rs, "spec", "dataSource")
        deps: list[JSONDict] = []
        name = _name(snapshot) if snapshot else _str(source, "snapshot")
        if name and name != "latest":
            deps.append(
                {
                    "apiGroup": STORAGE,
                    "kind": "Snapshot",
                    "namespace": _str(source, "namespace") or _namespace(rs),
                    "name": name,
                    "found": snapshot is not None,
                }
            )
        addon = _str(rs, "spec", "addon", "name")
        if addon and self._informer(ADDONS) is not None:
            deps.append(
                {
                    "apiGroup": ADDONS_GROUP,
                    "kind": "Addon",
                    "name": addon,
                    "found": self._view(ADDONS, "", addon) is not None,
                }
            )
        return deps

    def _restore_components(self, rs: JSONDict, snapshot: JSONDict) -> dict[str, float]:
        available = {
            c: _bytes(_dig(v, "size")) for c, v in _map(snapshot, "status", "components").items()
        }
        chosen = [str(c) for c in _dig(rs, "spec", "dataSource", "components") or []]
        if not chosen:
            tasks = [_str(t, "name") for t in _list(rs, "spec", "addon", "tasks")]
            chosen = [_component_of(t) for t in tasks if t] or list(available)
        chosen = list(dict.fromkeys(chosen)) or ["dump"]
        return {c: available.get(c) or 16 * 1024**2 for c in chosen}

    def _restore_progress(self, run: _RestoreRun, fraction: float, failed: str | None) -> JSONDict:
        elapsed = max(0.0, time.monotonic() - run.started)
        out: JSONDict = {}
        for component, total in run.totals.items():
            # Manifests are tiny: they finish in the first fifth of the run.
            own = min(1.0, fraction * 5) if component == "manifest" else fraction
            done = total * own
            progress: JSONDict = {
                "secondsElapsed": int(elapsed),
                "percentDone": f"{own * 100:.2f}%",
                "totalFiles": 1,
                "filesDone": 1 if own >= 1 else 0,
                "restoreDone": o.format_size(done),
                "total": o.format_size(total),
                "speed": f"{o.format_size(done / elapsed if elapsed > 0 else 0)}/s",
            }
            entry: JSONDict = {
                "phase": "Running",
                "progress": progress,
                "duration": o.go_duration(elapsed),
            }
            if component == failed:
                entry.update(
                    {
                        "phase": "Failed",
                        "error": self._restore_error(run.target[0] if run.target else ""),
                    }
                )
            elif own >= 1:
                entry["phase"] = "Succeeded"
            out[component] = entry
        return out

    async def _progress_restore(self, rs: JSONDict, run: _RestoreRun) -> None:
        now = self.sim.clock.now()
        elapsed = time.monotonic() - run.started
        fraction = min(1.0, elapsed / max(self.sim.restore_duration, 0.1))
        found = self._db(*run.target) if run.target else None
        if fraction < 1.0:
            # Jitter so percentDone does not move in lockstep.
            shown = max(0.0, min(0.999, fraction * self.sim.rng.uniform(0.95, 1.0)))
            if found is not None:
                await self._mark_database_restore(found, "started", "")
            await self._set_restore(rs, {"components": self._restore_progress(run, shown, None)})
            return
        db = found[1] if found else None
        fail = self.sim.should_fail("restore", db, rs)
        if run.paused and not await self._resume_backups(run.paused):
            return  # try again next step; never leave backups paused
        failing = next((c for c in run.totals if c != "manifest"), next(iter(run.totals)))
        shown = self.sim.rng.uniform(0.3, 0.9) if fail else 1.0
        components = self._restore_progress(run, shown, failing if fail else None)
        conds = _conditions(_map(rs, "status"))
        if fail:
            error = _str(components[failing], "error")
            _set_condition(
                conds,
                "RestoreIncomplete",
                True,
                "FailedToCompleteRestore",
                f"Restore of component {failing} failed: {error}",
                now,
                severity="Error",
            )
        _set_condition(
            conds,
            "MetricsPushed",
            True,
            "SuccessfullyPushedMetrics",
            "Metrics have been pushed successfully.",
            now,
        )
        await self._set_restore(
            rs,
            {
                "phase": "Failed" if fail else "Succeeded",
                "duration": o.go_duration(elapsed),
                "components": components,
                "conditions": conds,
                "pausedBackups": None,
            },
        )
        if found is not None:
            if fail:
                await self._mark_database_restore(
                    found, "failed", _str(components[failing], "error")
                )
            else:
                await self._mark_database_restore(found, "succeeded", "")
        self._restores.pop(run.uid, None)
        self._seen.pop(run.uid, None)

    async def _check_interrupted(self, run: _RestoreRun) -> None:
        """A RestoreSession deleted while running: KubeDB marks DataRestoreInterrupted."""
        current = self._view(RESTORE_SESSIONS, run.namespace, run.name)
        if (
            current is not None
            and _uid(current) == run.uid
            and not _dig(current, "metadata", "deletionTimestamp")
        ):
            return
        informer = self._informer(RESTORE_SESSIONS)
        if informer is None or not informer.synced.is_set():
            return
        if run.paused and not await self._resume_backups(run.paused):
            return
        found = self._db(*run.target) if run.target else None
        if found is not None:
            await self._mark_database_restore(
                found,
                "interrupted",
                f"RestoreSession {run.namespace}/{run.name} was deleted before it completed.",
            )
        self._restores.pop(run.uid, None)

    async def _mark_database_restore(
        self, found: tuple[ResourceType, JSONDict], state: str, message: str
    ) -> None:
        res, db = found
        now = self.sim.clock.now()

        def mutate(obj: JSONDict, status: JSONDict) -> None:
            conds = _conditions(status)
            if state == "started":
                if not _is_true(conds, "DataRestoreStarted"):
                    _drop_condition(conds, "DataRestored")
                    _set_condition(
                        conds,
                        "DataRestoreStarted",
                        True,
                        "DataRestoreStartedByExternalInitializer",
                        "Data restore started by an external initializer "
                        "(KubeStash RestoreSession).",
                        now,
                    )
            else:
                _drop_condition(conds, "DataRestoreStarted")
                if state == "succeeded":
                    _set_condition(
                        conds,
                        "DataRestored",
                        True,
                        "SuccessfullyDataRestored",
                        "Successfully restored data by an external initializer.",
                        now,
                    )
                else:
                    reason = (
                        "DataRestoreInterrupted"
                        if state == "interrupted"
                        else "FailedToRestoreData"
                    )
                    _set_condition(conds, "DataRestored", False, reason, message, now)
            status["conditions"] = conds
            # The database controller owns the rest; recompute its phase here too.
            self._database_status(obj, status)

        await self._update_status(res, _namespace(db), _name(db), mutate)

    async def _pause_backups(self, target: tuple[str, str, str]) -> list[JSONDict]:
        kind, ns, name = target
        paused: list[JSONDict] = []
        for bc in self._indexed(BACKUP_CONFIGURATIONS, "target", (ns, kind, name)):
            if _dig(bc, "spec", "paused") is True:
                continue  # the user's pause: not ours to lift later
            if await self._patch(
                BACKUP_CONFIGURATIONS, _namespace(bc), _name(bc), {"spec": {"paused": True}}
            ):
                paused.append(
                    {
                        "apiGroup": CORE,
                        "kind": "BackupConfiguration",
                        "namespace": _namespace(bc),
                        "name": _name(bc),
                    }
                )
        return paused

    async def _resume_backups(self, refs: list[JSONDict]) -> bool:
        ok = True
        for ref in refs:
            if _str(ref, "kind") != "BackupConfiguration":
                continue
            done = await self._patch(
                BACKUP_CONFIGURATIONS,
                _str(ref, "namespace"),
                _str(ref, "name"),
                {"spec": {"paused": False}},
            )
            ok = ok and done
        return ok


# --------------------------------------------------------------------------- module helpers


def _watch_client(client: KubeClient) -> KubeClient:
    """The caller's server, TLS and credentials with a connection pool of its own.

    Each watch holds a connection for minutes; sharing ``client``'s pool (20 by default)
    with twenty-odd watches would leave no connection for the writes. The gateway keeps a
    separate watch client for the same reason.
    """
    return client.with_own_pool(connection_limit=256)


def _snapshot_labels(repo: str, kind: str, namespace: str, name: str) -> dict[str, str]:
    return {
        "kubestash.com/repo-name": repo,
        "kubestash.com/app-ref-kind": kind,
        "kubestash.com/app-ref-name": name,
        "kubestash.com/app-ref-namespace": namespace,
    }


def _restore_spec_problem(spec: JSONDict) -> str | None:
    """KubeStash's RestoreSession webhook rules (``restoresession.go``)."""
    source = _map(spec, "dataSource")
    if _map(source, "pitr"):
        if not _str(source, "pitr", "targetTime"):
            return "spec.dataSource.pitr.targetTime must be set for a point-in-time restore"
        if not _str(source, "repository"):
            return "spec.dataSource.repository must be set for a point-in-time restore"
        return None
    snapshot = _str(source, "snapshot")
    if not snapshot:
        return "spec.dataSource.snapshot must be set (a Snapshot name or latest)"
    if snapshot == "latest" and not _str(source, "repository"):
        return 'spec.dataSource.repository must be set when snapshot is "latest"'
    return None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_seconds(text: str) -> float:
    """Seconds in a Go duration such as ``30m`` or ``1h2m3.5s`` (0 if unreadable)."""
    if not text:
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return 0.0
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _snapshot_repo(obj: JSONDict) -> list[tuple[str, ...]]:
    repo = _str(obj, "spec", "repository") or _str(
        obj, "metadata", "labels", "kubestash.com/repo-name"
    )
    return [(_namespace(obj), repo)] if repo else []


def _session_invoker(obj: JSONDict) -> list[tuple[str, ...]]:
    invoker = _str(obj, "spec", "invoker", "name")
    return [(_namespace(obj), invoker, _str(obj, "spec", "session"))] if invoker else []


def _configuration_target(obj: JSONDict) -> list[tuple[str, ...]]:
    target = _map(obj, "spec", "target")
    if not target.get("name"):
        return []
    return [
        (_str(target, "namespace") or _namespace(obj), _str(target, "kind"), _str(target, "name"))
    ]


def _repository_storage(obj: JSONDict) -> list[tuple[str, ...]]:
    ref = _map(obj, "spec", "storageRef")
    if not ref.get("name"):
        return []
    return [(_str(ref, "namespace") or _namespace(obj), _str(ref, "name"))]


_INDEX_FUNCS: dict[str, Callable[[JSONDict], list[tuple[str, ...]]]] = {
    "repo": _snapshot_repo,
    "invoker": _session_invoker,
    "target": _configuration_target,
    "storage": _repository_storage,
}
_INDEXES_OF = {
    (SNAPSHOTS.group, SNAPSHOTS.plural): "repo",
    (BACKUP_SESSIONS.group, BACKUP_SESSIONS.plural): "invoker",
    (BACKUP_CONFIGURATIONS.group, BACKUP_CONFIGURATIONS.plural): "target",
    (REPOSITORIES.group, REPOSITORIES.plural): "storage",
}


def _add_indexes(informer: Informer) -> None:
    index = _INDEXES_OF.get((informer.resource.group, informer.resource.plural))
    if index is not None:
        informer.add_index(index, _INDEX_FUNCS[index])
