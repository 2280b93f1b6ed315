"""The workflow controller: carries each restore workflow through its steps.

One asyncio task per cluster. Only the holder of the cluster's Lease (``lease.py``)
acts. It wakes on informer events (workflow records, RestoreSessions, Services,
BackupConfigurations, databases) and on a periodic tick; for each workflow RUNNING in
the cache it reads the record fresh, asks ``steps.advance`` for the next move, runs the
move's changes as the workflow's ``startedBy`` (impersonated, through the engine: the
gateway never gains the right to do what a user asked), and writes the record with a
resourceVersion guard. A conflict means another writer moved first: read again.

Entry point for the gateway: ``WorkflowController(cache=..., clients=..., settings=...)``
with ``start()`` and ``await stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from apis.resources import CONFIG_MAPS, RESTORE_SESSIONS, SERVICES
from core.identity import Viewer
from kube.client import KubeClient, KubeError
from resolvers.reads.workflows import Workflow, workflows_of
from resolvers.workflows.lease import LeaderLease
from resolvers.workflows.records import Conflict, Records
from resolvers.workflows.steps import Move, advance, fail
from resolvers.writes.engine import Writer, WriteSettings
from resolvers.writes.store import CacheStore
from watchers.cache import Cache
from watchers.informer import Change, Relisted

log = logging.getLogger("stashql.workflows")

# Engine refusals that say "try again later", not "this step failed".
RETRYABLE = frozenset({"CONFLICT", "CLUSTER_UNAVAILABLE"})
# Groups whose events may move a workflow.
WAKING_GROUPS = frozenset({"", "kubedb.com", "core.kubestash.com"})


@dataclass(frozen=True)
class ControllerSettings:
    # The gateway's own namespace: records and the Lease live there.
    namespace: str = "stashql-system"
    # Lease: how long a holder's claim lasts, how often it is renewed (and the tick).
    lease_duration: int = 15
    renew_every: float = 5.0
    # At most this many moves of one workflow in one pass (a guard against loops).
    max_moves: int = 20
    # Who this replica is in the Lease; None: host name, process id and a random part.
    identity: str | None = None


class WorkflowController:
    def __init__(
        self,
        *,
        cache: Cache,
        clients: Mapping[str, KubeClient],
        settings: ControllerSettings | None = None,
        write_settings: WriteSettings | None = None,
    ) -> None:
        self._cache = cache
        self._clients = clients
        self._settings = settings or ControllerSettings()
        self._writer = Writer(clients=clients, settings=write_settings)
        self._identity = self._settings.identity or (
            f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._leases: dict[str, LeaderLease] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._listeners: dict[str, object] = {}

    @property
    def identity(self) -> str:
        return self._identity

    def leading(self, cluster: str) -> bool:
        lease = self._leases.get(cluster)
        return lease is not None and lease.held

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for name, cluster in self._cache.clusters.items():
            client = self._clients.get(name)
            if client is None:
                continue
            self._leases[name] = LeaderLease(
                client=client,
                cluster=name,
                namespace=self._settings.namespace,
                identity=self._identity,
                duration=self._settings.lease_duration,
            )
            wake = self._wake[name] = asyncio.Event()

            def listener(event: Change | Relisted, wake: asyncio.Event = wake) -> None:
                if event.resource.group in WAKING_GROUPS:
                    wake.set()

            cluster.add_listener(listener)
            self._listeners[name] = listener
            self._tasks.append(loop.create_task(self._run(name), name=f"workflows-{name}"))

    async def stop(self, *, release: bool = True) -> None:
        """Stop acting; ``release``: give the Leases up at once (else they expire)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for name, listener in self._listeners.items():
            self._cache.clusters[name].remove_listener(listener)  # type: ignore[arg-type]
        self._listeners.clear()
        if release:
            await asyncio.gather(*(lease.release() for lease in self._leases.values()))
        for lease in self._leases.values():
            lease.held = False

    # ------------------------------------------------------------------ loop

    async def _run(self, cluster: str) -> None:
        lease = self._leases[cluster]
        wake = self._wake[cluster]
        loop = asyncio.get_running_loop()
        renewed = 0.0
        while True:
            if loop.time() - renewed >= self._settings.renew_every or not lease.held:
                await lease.try_hold()
                renewed = loop.time()
            # Cleared before the pass, not after: the events of the pass's own writes
            # (a BackupConfiguration resumed, the record updated) arrive during it and
            # must start the next pass at once, not wait for the renewal tick.
            wake.clear()
            if lease.held and self._ready(cluster):
                try:
                    await self.reconcile(cluster)
                except KubeError as exc:
                    log.warning("%s: workflows not moved: %s", cluster, exc)
                except Exception:  # one bad record must not stop the controller
                    log.exception("%s: workflow controller pass failed", cluster)
            timeout = max(0.1, self._settings.renew_every - (loop.time() - renewed))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    def _ready(self, cluster: str) -> bool:
        """Whether the cluster's cache has listed what the steps read. A replica that just
        started must not act on an empty cache: a RestoreSession it has not listed yet
        would look deleted and fail the workflow."""
        cached = self._cache.clusters[cluster]
        needed = (RESTORE_SESSIONS, CONFIG_MAPS, SERVICES)
        return cached.synced and all(
            cached.informers_by_plural(r.group, r.plural) is not None for r in needed
        )

    async def reconcile(self, cluster: str) -> None:
        """One pass: move every RUNNING workflow of the cluster as far as it goes."""
        store = CacheStore(self._cache)
        records = Records(client=self._clients[cluster], namespace=self._settings.namespace)
        found = workflows_of(store.list(cluster, CONFIG_MAPS, self._settings.namespace))
        for cached in found:
            if cached.phase != "RUNNING":
                continue
            await self._drive(cached.id, store=store, records=records)

    async def _drive(self, workflow_id: str, *, store: CacheStore, records: Records) -> None:
        for _ in range(self._settings.max_moves):
            if not self.leading_any():
                return
            wf = await records.get(workflow_id)  # fresh: the cache may lag our own writes
            if wf is None:
                return
            move = advance(wf, store=store, now=datetime.now(UTC))
            if move is None or move.record is None:
                return
            try:
                if not await self._carry_out(wf, move, records=records):
                    return
            except Conflict:
                continue  # someone moved it first: read it again

    def leading_any(self) -> bool:
        return any(lease.held for lease in self._leases.values())

    async def _carry_out(self, wf: Workflow, move: Move, *, records: Records) -> bool:
        """Run the move; whether to go on with the next one now."""
        assert move.record is not None
        if move.act is not None and move.act.changes:
            caller = Viewer(wf.started_by, wf.started_groups)
            outcome = await self._writer.run(
                move.act,
                caller=caller,
                mutation="restoreWorkflow",
                input_digest="",
                dry_run=False,
                idempotency_key=None,
                request_id=f"workflow-{wf.id}",
            )
            if not outcome.ok:
                errors = outcome.plan.errors
                if all(e.code in RETRYABLE for e in errors):
                    log.info("workflow %s: %s retried later", wf.id, errors[0].message)
                    return False  # the cache catches up; the next pass plans afresh
                step = wf.current_step
                kind = step.kind if step is not None else "RESUME_TRAFFIC"
                failed = fail(wf, kind, errors[0].message, now=datetime.now(UTC))
                await records.update(failed)
                return False
            # The world changed: plan the next step from a cache that has seen it.
            await records.update(move.record)
            return False
        await records.update(move.record)
        return True
