"""The simulator as callers start it: one :class:`Cluster` per API server, each with the
controllers of KubeDB and KubeStash wired together."""

from __future__ import annotations

import asyncio
import functools

from sandbox.simulator.archivers import Archivers
from sandbox.simulator.blueprints import Blueprints
from sandbox.simulator.bucket import Buckets
from sandbox.simulator.cluster import Cluster, Controller
from sandbox.simulator.configurations import Configurations
from sandbox.simulator.core import Clock, Simulation
from sandbox.simulator.databases import Databases
from sandbox.simulator.repositories import Repositories
from sandbox.simulator.restores import Restores
from sandbox.simulator.services import Services
from sandbox.simulator.sessions import Sessions
from sandbox.simulator.snapshots import SnapshotWriter


def controllers_for(cluster: Cluster, *, buckets: Buckets | None = None) -> list[Controller]:
    """The controllers of one cluster, in the order their work is listed each step;
    ``buckets`` is the view of the backup locations all clusters share."""
    databases = Databases(
        cluster, followers=[Blueprints(cluster), Archivers(cluster), Services(cluster)]
    )
    configurations = Configurations(cluster)
    sessions = Sessions(cluster, configurations=configurations, snapshots=SnapshotWriter(cluster))
    return [
        databases,
        Repositories(cluster, buckets=buckets),
        configurations,
        sessions,
        Restores(cluster, databases=databases),
    ]


class Simulator(Simulation):
    """Controllers that play KubeDB and KubeStash on every cluster in ``clients``.

    The settings are :class:`Simulation`'s. The clients stay the caller's: :meth:`stop`
    does not close them.
    """

    @functools.cached_property
    def _clusters(self) -> list[Cluster]:
        clusters = []
        # One bucket view for all clusters: a Repository in one cluster sees the
        # Snapshots another cluster wrote at the same location.
        buckets = Buckets()
        for name, client in self.clients.items():
            # Names this simulator's loop tasks: "simulator <id> <cluster>".
            cluster = Cluster(self, name=name, client=client, task_name=self.task_prefix + name)
            cluster.controllers = controllers_for(cluster, buckets=buckets)
            clusters.append(cluster)
        buckets.clusters = clusters
        return clusters

    async def start(self) -> None:
        """Discover kinds, start the watches, wait (bounded) for their first lists, run."""
        if self._running:
            return
        self._running = True
        self.clock = Clock(self.time_scale)
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
