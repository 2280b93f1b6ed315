"""The simulator as callers start it: one :class:`Cluster` per API server, each with the
controllers of KubeDB and KubeStash wired together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kube.client import KubeClient
from sandbox.simulator.archivers import Archivers
from sandbox.simulator.blueprints import Blueprints
from sandbox.simulator.cluster import Cluster, Controller
from sandbox.simulator.configurations import Configurations
from sandbox.simulator.core import Clock, Simulation
from sandbox.simulator.databases import Databases
from sandbox.simulator.repositories import Repositories
from sandbox.simulator.restores import Restores
from sandbox.simulator.sessions import Sessions
from sandbox.simulator.snapshots import SnapshotWriter


def controllers_for(cluster: Cluster) -> list[Controller]:
    """The controllers of one cluster, in the order their work is listed each step."""
    databases = Databases(cluster, followers=[Blueprints(cluster), Archivers(cluster)])
    configurations = Configurations(cluster)
    sessions = Sessions(cluster, configurations=configurations, snapshots=SnapshotWriter(cluster))
    return [
        databases,
        Repositories(cluster),
        configurations,
        sessions,
        Restores(cluster, databases=databases),
    ]


class Simulator(Simulation):
    """Controllers that play KubeDB and KubeStash on every cluster in ``clients``.

    The settings are :class:`Simulation`'s. The clients stay the caller's: :meth:`stop`
    does not close them.
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
        super().__init__(
            time_scale=time_scale,
            step=step,
            fail_rate=fail_rate,
            seed=seed,
            provision_delay=provision_delay,
            backup_duration=backup_duration,
            restore_duration=restore_duration,
            max_snapshots_per_repository=max_snapshots_per_repository,
            namespace_filter=namespace_filter,
        )
        # Names this simulator's loop tasks: "simulator <id> <cluster>".
        self.task_prefix = f"simulator {id(self):x} "
        self._clusters = []
        for name, client in clients.items():
            cluster = Cluster(self, name=name, client=client, task_name=self.task_prefix + name)
            cluster.controllers = controllers_for(cluster)
            self._clusters.append(cluster)
        self._running = False

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
