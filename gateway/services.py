"""The service container: everything created at start-up and shared by all requests.

Per cluster a query client and a watch client (see ``kube.config.ConnectionSettings``),
then the health monitor, the token reviewer, the informers' cache, the access reviewer,
the write pipeline, the subscription hub and the audit log. ``create_app`` opens it in its lifespan.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from auth.access import AccessReviewer, ViewerAccess
from auth.audit import AuditLog
from auth.tokenreview import TokenReviewer
from core.identity import Viewer
from gateway.settings import Settings
from kube.config import ClusterConfig, ConfigError, load_in_cluster, load_kubeconfig
from resolvers.reads.graph import Graph
from resolvers.workflows.controller import ControllerSettings, WorkflowController
from resolvers.writes.engine import Writer
from resolvers.writes.run import WriteServices
from resolvers.writes.store import CacheStore
from watchers.cache import Cache
from watchers.clusters import ClusterHandle, ClusterMonitor
from watchers.fanout import Hub

# WebSocket connections of one viewer opened within this many seconds share one prepared
# access view (one batch of reviews, not one per connection: a reconnect storm of
# thousands of subscribers costs a few reviews). Well below the reviews' own cache time
# and the subscriptions' re-decision interval, so revocations still stop the flow.
SHARED_ACCESS = 5.0
SHARED_ACCESS_ENTRIES = 10_000

ViewerKey = tuple[str, str, tuple[str, ...]]


class CoalescingTokenReviewer(TokenReviewer):
    """A TokenReviewer where concurrent checks of one token wait for one review.

    Its cache answers repeated tokens, but only once the first review is back: when
    thousands of WebSocket clients with the same few tokens (re)connect at once, every
    one of them would miss it and send a TokenReview of its own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running: dict[str, asyncio.Future[Viewer]] = {}

    async def authenticate(self, token: str) -> Viewer:
        key = hashlib.sha256(token.encode()).hexdigest()
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(super().authenticate(token))
            self._running[key] = running

            def done(future: asyncio.Future[Viewer], key: str = key) -> None:
                if self._running.get(key) is future:
                    del self._running[key]
                if not future.cancelled():
                    future.exception()  # retrieved: waiters re-raise it themselves

            running.add_done_callback(done)
        return await asyncio.shield(running)


@dataclass
class Services:
    """Everything created in the lifespan and shared by all requests."""

    clusters: list[ClusterHandle]
    monitor: ClusterMonitor
    reviewer: TokenReviewer
    cache: Cache
    access: AccessReviewer
    hub: Hub
    writes: WriteServices
    workflows: WorkflowController
    audit: AuditLog = field(default_factory=AuditLog)
    run_workflows: bool = True
    started: bool = False
    _shared_access: dict[ViewerKey, tuple[float, asyncio.Future[ViewerAccess]]] = field(
        default_factory=dict
    )

    def ready(self) -> bool:
        """Every reachable cluster's informers have listed once (and one is reachable:
        a gateway that can reach no cluster has nothing to serve)."""
        if not self.started:
            return False
        reachable = [i.name for i in self.monitor.cluster_infos() if i.reachable]
        return bool(reachable) and all(self.cache.clusters[n].synced for n in reachable)

    async def graph_for(self, viewer: Viewer, *, shared: bool = False) -> Graph:
        """The viewer's view of the cache, access decided. ``shared`` (WebSocket
        connections): reuse one prepared within ``SHARED_ACCESS`` seconds, or one being
        prepared right now, instead of deciding again."""
        if not shared:
            access = ViewerAccess(self.access, viewer, self.cache)
            await access.prepare()
            return Graph(self.cache, access)
        key = (viewer.username, viewer.uid or "", tuple(sorted(viewer.groups)))
        now = time.monotonic()
        hit = self._shared_access.get(key)
        if hit is None or hit[0] < now:
            if len(self._shared_access) >= SHARED_ACCESS_ENTRIES:
                for old in [k for k, (until, _) in self._shared_access.items() if until < now]:
                    del self._shared_access[old]
                if len(self._shared_access) >= SHARED_ACCESS_ENTRIES:
                    self._shared_access.clear()
            future = asyncio.ensure_future(self._prepared(viewer))
            hit = (now + SHARED_ACCESS, future)
            self._shared_access[key] = hit
        try:
            prepared = await asyncio.shield(hit[1])
        except Exception:
            if self._shared_access.get(key) is hit:
                del self._shared_access[key]  # the next connection tries again
            raise
        return Graph(self.cache, prepared)

    async def _prepared(self, viewer: Viewer) -> ViewerAccess:
        access = ViewerAccess(self.access, viewer, self.cache)
        await access.prepare()
        return access

    async def start(self) -> None:
        await self.monitor.probe_all()
        self.monitor.start()
        self.cache.start()
        # The restore workflows' controller: acts only while it holds a cluster's Lease.
        if self.run_workflows:
            self.workflows.start()
        self.started = True

    async def close(self) -> None:
        # Open subscriptions complete cleanly before the informers go away.
        self.hub.close()
        await self.workflows.stop()
        await asyncio.sleep(0)
        await self.cache.stop()
        await self.monitor.stop()
        for c in self.clusters:
            await c.client.close()
            await c.watch_client.close()


async def cluster_configs(settings: Settings) -> list[ClusterConfig]:
    """The clusters ``settings`` name; ConfigError when they name none that can be used."""
    if settings.in_cluster:
        return load_in_cluster()
    if settings.kubeconfig is None:
        raise ConfigError("pass --kubeconfig PATH (or --in-cluster)")
    return await load_kubeconfig(
        settings.kubeconfig, contexts=list(settings.contexts), all_contexts=settings.all_contexts
    )


async def open_services(settings: Settings) -> Services:
    pools = settings.connections
    handles = [
        ClusterHandle(
            name=c.name,
            server=c.server,
            client=c.client(
                connection_limit=pools.query_connections,
                timeout=pools.query_timeout,
                refresh_interval=pools.credential_refresh,
            ),
            watch_client=c.client(
                connection_limit=pools.watch_connections,
                timeout=pools.watch_timeout,
                refresh_interval=pools.credential_refresh,
            ),
        )
        for c in await cluster_configs(settings)
    ]
    monitor = ClusterMonitor(handles, interval=settings.probe_interval)
    # Tokens are reviewed by the first configured cluster (the one whose users call us).
    reviewer = CoalescingTokenReviewer(handles[0].client)
    cache = Cache(handles)
    access = AccessReviewer({h.name: h.client for h in handles})
    audit = AuditLog()
    # Writes go through the gateway's own query clients, impersonating each caller.
    writer = Writer(
        clients={h.name: h.client for h in handles}, settings=settings.writes, audit=audit
    )
    return Services(
        clusters=handles,
        monitor=monitor,
        reviewer=reviewer,
        cache=cache,
        access=access,
        hub=Hub(cache),
        writes=WriteServices(writer=writer, store=CacheStore(cache)),
        workflows=WorkflowController(
            cache=cache,
            clients={h.name: h.client for h in handles},
            settings=ControllerSettings(namespace=settings.writes.namespace),
            write_settings=settings.writes,
        ),
        audit=audit,
        run_workflows=settings.workflow_controller,
    )
