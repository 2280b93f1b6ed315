"""The benchmark's data: a deterministic plan of snapshots, and seeding it fast.

Every snapshot ``i`` is a pure function of ``i`` (and the run's time origin), so the
benchmark knows what every answer must be without keeping 100k objects in memory: the
cluster, namespace, database and phase come from a hash of ``i`` (no correlation between
them), and snapshot ``i`` was taken ``i`` minutes after the origin, so "newest first"
means "highest ``i`` first" and a cumulative seed (1k, then up to 10k, ...) always adds
the newest snapshots, as a real backup schedule would.

Seeding creates each Snapshot and then writes its status through the ``/status``
subresource (the API server drops ``status`` on create), with a fixed pool of workers:
at most ``concurrency`` requests are in flight and never more than that many coroutines
exist, whatever the size.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apis import resources
from apis.resources import SNAPSHOTS
from kube.client import ApiError, KubeClient, Unreachable
from kube.manifests import Discovery, apply_manifest
from sandbox import objects
from sandbox.controlplane import Sandbox

Obj = dict[str, Any]

CLUSTERS = 2
NAMESPACES = ("payments", "orders", "inventory", "analytics", "identity", "billing")
# (KubeDB kind, short name, version, KubeStash addon)
ENGINES = (
    ("Postgres", "pg", "16.4", "postgres-addon"),
    ("MySQL", "mysql", "8.4.3", "mysql-addon"),
    ("MongoDB", "mongo", "7.0.16", "mongodb-addon"),
)
STORAGE_NAMESPACE = "stash"
STORAGE = (STORAGE_NAMESPACE, "s3-storage")
RETENTION = (STORAGE_NAMESPACE, "keep-30d")
# The filtered count asks for FAILED snapshots in these namespaces (both clusters).
FILTER_NAMESPACES = ("orders", "payments")
FILTER_PHASE = "FAILED"
INTERVAL = timedelta(minutes=1)
FIELD_MANAGER = "stashql-bench"

# Enum name (as the GraphQL API shows it) -> status.phase as KubeStash writes it.
PHASES = {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "RUNNING": "Running", "PENDING": "Pending"}


@dataclass(frozen=True)
class Slot:
    """One database and its repository (the same layout in every cluster)."""

    namespace: str
    kind: str
    db_name: str
    repo_name: str
    version: str
    addon: str

    def database(self) -> Obj:
        return objects.database(
            self.kind,
            self.db_name,
            self.namespace,
            version=self.version,
            storage="20Gi",
            labels={"app.kubernetes.io/part-of": self.namespace},
        )

    def repository(self) -> Obj:
        return objects.repository(self.database(), self.repo_name, storage=STORAGE)


SLOTS = tuple(
    Slot(
        namespace=ns,
        kind=kind,
        db_name=f"{ns}-{short}",
        repo_name=f"{ns}-{short}-repo",
        version=version,
        addon=addon,
    )
    for ns in NAMESPACES
    for kind, short, version, addon in ENGINES
)


@dataclass(frozen=True)
class PlannedSnapshot:
    index: int
    cluster: int
    slot: Slot
    phase: str  # enum name: SUCCEEDED, FAILED, RUNNING, PENDING
    incremental: bool
    taken: datetime

    @property
    def name(self) -> str:
        kind = "wal" if self.incremental else "full-backup"
        return f"{self.slot.repo_name}-{kind}-{int(self.taken.timestamp())}"

    def build(self, repo: Obj) -> Obj:
        """The Snapshot as KubeStash writes it (spec and status)."""
        if self.incremental:
            return objects.log_snapshot(
                self.name, repo, start=self.taken, end=self.taken + timedelta(minutes=5)
            )
        session = f"{self.slot.db_name}-full-backup-{int(self.taken.timestamp())}"
        size_mib = 50 + (self.index * 7919) % 20000 / 10
        return objects.snapshot(
            self.name,
            repo,
            session=session,
            taken=self.taken,
            phase=PHASES[self.phase],
            size=f"{size_mib:.3f} MiB",
        )


def _hash(i: int) -> int:
    return int.from_bytes(hashlib.blake2b(i.to_bytes(8, "big"), digest_size=8).digest(), "big")


def plan(i: int, *, origin: datetime) -> PlannedSnapshot:
    """Snapshot ``i``: 6% FAILED, 3% RUNNING, 1% PENDING, the rest SUCCEEDED; 10% of the
    succeeded ones are incremental (WAL) backups."""
    h = _hash(i)
    bucket = (h >> 24) % 100
    phase = (
        "FAILED"
        if bucket < 6
        else "RUNNING"
        if bucket < 9
        else "PENDING"
        if bucket < 10
        else "SUCCEEDED"
    )
    return PlannedSnapshot(
        index=i,
        cluster=h % CLUSTERS,
        slot=SLOTS[(h >> 8) % len(SLOTS)],
        phase=phase,
        incremental=phase == "SUCCEEDED" and (h >> 40) % 10 == 0,
        taken=origin + i * INTERVAL,
    )


@dataclass
class Expected:
    """What the gateway and kubectl must answer once snapshots ``[0, total)`` exist."""

    origin: datetime
    total: int = 0
    per_cluster: list[int] = field(default_factory=lambda: [0] * CLUSTERS)
    filtered: int = 0  # FILTER_PHASE in FILTER_NAMESPACES, both clusters

    def extend(self, stop: int) -> None:
        for i in range(self.total, stop):
            p = plan(i, origin=self.origin)
            self.per_cluster[p.cluster] += 1
            if p.phase == FILTER_PHASE and p.slot.namespace in FILTER_NAMESPACES:
                self.filtered += 1
        self.total = max(self.total, stop)

    def newest(self, count: int) -> list[str]:
        """Names of the newest ``count`` snapshots, newest first."""
        low = max(0, self.total - count)
        return [plan(i, origin=self.origin).name for i in range(self.total - 1, low - 1, -1)]


def origin_for(max_size: int) -> datetime:
    """A time origin such that the newest of ``max_size`` snapshots is about now."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - max_size * INTERVAL


# ---------------------------------------------------------------------------- seeding


def admin_client(sandbox: Sandbox, cluster: int, *, connection_limit: int) -> KubeClient:
    """Like ``sandbox.client(i)`` (admin), with a pool as large as the seeding concurrency."""
    endpoint = sandbox.cluster(cluster)
    token = sandbox.tokens["admin"]

    async def source() -> str:
        return token

    return KubeClient(
        cluster=endpoint.name,
        server=endpoint.server,
        ssl_context=sandbox.ssl_context(),
        token_source=source,
        connection_limit=connection_limit,
        timeout=60,
    )


async def seed_fixtures(sandbox: Sandbox) -> None:
    """Namespaces, storage, retention policy, databases, repositories and backup
    configurations in every cluster (a few dozen objects, applied with their status)."""
    fixtures: list[Obj] = [
        {
            "apiVersion": resources.NAMESPACES.api_version,
            "kind": resources.NAMESPACES.kind,
            "metadata": {"name": ns},
        }
        for ns in (STORAGE_NAMESPACE, *NAMESPACES)
    ]
    fixtures.append(objects.backup_storage(STORAGE[1], STORAGE_NAMESPACE, scope="All"))
    fixtures.append(objects.retention_policy(RETENTION[1], STORAGE_NAMESPACE, scope="All"))
    for slot in SLOTS:
        db = slot.database()
        fixtures.append(db)
        fixtures.append(slot.repository())
        fixtures.append(
            objects.backup_configuration(
                f"{slot.db_name}-backup",
                db,
                storage=STORAGE,
                retention=RETENTION,
                repository=slot.repo_name,
                addon=slot.addon,
                schedule="0 * * * *",
            )
        )
    for i in range(len(sandbox.clusters)):
        client = sandbox.client(i, timeout=30)
        discovery = Discovery(client)
        try:
            for obj in fixtures:
                await apply_manifest(
                    client, discovery, obj, field_manager=FIELD_MANAGER, with_status=True
                )
        finally:
            await client.close()


class Progress:
    """Counts finished items and reports on stderr every few seconds."""

    def __init__(self, *, what: str, start: int, stop: int, every: float = 5.0) -> None:
        self.what = what
        self.start = start
        self.stop = stop
        self.done = 0
        self.every = every
        self.began = time.perf_counter()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.began
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return (
            f"[seed] {self.start + self.done:,}/{self.stop:,} {self.what} "
            f"({rate:,.0f}/s, {elapsed:,.0f} s)"
        )

    async def report(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            print(self.line(), file=sys.stderr, flush=True)


RETRIES = 4


async def _with_retries(what: str, call: Any) -> Obj:
    """Retry a call on timeouts, 429 and 5xx, a bounded number of times."""
    for attempt in range(RETRIES):
        try:
            result: Obj = await call()
            return result
        except Unreachable:
            if attempt == RETRIES - 1:
                raise
        except ApiError as exc:
            if exc.status not in (429, 500, 502, 503, 504) or attempt == RETRIES - 1:
                raise
        await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError(f"unreachable: {what}")


async def _seed_one(client: KubeClient, p: PlannedSnapshot, repos: dict[Slot, Obj]) -> None:
    obj = p.build(repos[p.slot])
    status = obj.pop("status")
    ns = p.slot.namespace
    collection = SNAPSHOTS.path(namespace=ns)

    async def create() -> Obj:
        try:
            return await client.post(collection, obj)
        except ApiError as exc:
            if exc.status != 409:  # a retried create that had succeeded
                raise
            return {}

    async def write_status() -> Obj:
        return await client.request(
            "PATCH",
            f"{collection}/{p.name}/status",
            body={"status": status},
            content_type="application/merge-patch+json",
        )

    await _with_retries(f"create {ns}/{p.name}", create)
    await _with_retries(f"status of {ns}/{p.name}", write_status)


async def seed_snapshots(
    sandbox: Sandbox, *, origin: datetime, start: int, stop: int, concurrency: int
) -> float:
    """Create snapshots ``[start, stop)``; return the seconds it took."""
    clients = [
        admin_client(sandbox, i, connection_limit=concurrency) for i in range(len(sandbox.clusters))
    ]
    repos = {slot: slot.repository() for slot in SLOTS}
    indices: Iterator[int] = iter(range(start, stop))
    progress = Progress(what="snapshots", start=start, stop=stop)

    async def worker() -> None:
        # Workers share one iterator: next() never awaits, so no index is taken twice.
        for i in indices:
            p = plan(i, origin=origin)
            await _seed_one(clients[p.cluster], p, repos)
            progress.done += 1

    began = time.perf_counter()
    reporter = asyncio.create_task(progress.report())
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, max(1, stop - start))):
                group.create_task(worker())
    finally:
        reporter.cancel()
        for client in clients:
            await client.close()
    print(progress.line(), file=sys.stderr, flush=True)
    return time.perf_counter() - began
