"""Per-cluster health: reachable, server version, which APIs are installed.

Probes run in the background on an interval, so the `clusters` query never waits on a
slow or dead cluster: it reads the last known state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from core.health import ClusterInfo
from kube.client import KubeClient, KubeError

log = logging.getLogger(__name__)

KUBEDB_GROUP = "kubedb.com"
KUBESTASH_GROUP = "core.kubestash.com"


@dataclass
class ClusterHandle:
    """One configured cluster and the clients the gateway uses for it."""

    name: str
    server: str
    client: KubeClient  # queries and writes
    watch_client: KubeClient  # long-lived watches get their own connection pool


class ClusterMonitor:
    def __init__(self, clusters: list[ClusterHandle], *, interval: float = 30.0) -> None:
        self._clusters = clusters
        self._interval = interval
        self._state = {
            c.name: ClusterInfo(name=c.name, server=c.server, reachable=False) for c in clusters
        }
        self._task: asyncio.Task[None] | None = None

    def cluster_infos(self) -> list[ClusterInfo]:
        return [self._state[c.name] for c in self._clusters]

    async def probe_all(self) -> None:
        await asyncio.gather(*(self._probe(c) for c in self._clusters))

    async def _probe(self, cluster: ClusterHandle) -> None:
        previous = self._state[cluster.name]
        try:
            version = await cluster.client.get("/version", timeout=5)
            groups = await cluster.client.get("/apis", timeout=5)
        except KubeError as exc:
            self._state[cluster.name] = replace(previous, reachable=False, error=str(exc))
            return
        names = {g.get("name") for g in groups.get("groups", [])}
        self._state[cluster.name] = ClusterInfo(
            name=cluster.name,
            server=cluster.server,
            reachable=True,
            server_version=str(version.get("gitVersion") or "") or None,
            synced_at=datetime.now(UTC),
            error=None,
            kubedb_installed=KUBEDB_GROUP in names,
            kubestash_installed=KUBESTASH_GROUP in names,
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster-monitor")

    async def _run(self) -> None:
        while True:
            # Jitter keeps many gateways from probing in lockstep.
            await asyncio.sleep(self._interval * random.uniform(0.8, 1.2))
            try:
                await self.probe_all()
            except Exception:  # a probe bug must not end monitoring
                log.exception("cluster probe failed")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
