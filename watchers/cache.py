"""The shared cache: one informer per (cluster, resource), started as CRDs appear.

Each cluster watches its CustomResourceDefinitions. When a CRD of a KubeDB or KubeStash
kind becomes Established, that kind's informer starts; when the CRD goes away, it stops.
So a pipeline may apply the gateway, the CRDs and the objects in any order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from apis.links import indexes_for, sorted_for
from apis.resources import (
    CONFIG_MAPS,
    CRDS,
    NAMESPACES,
    PREFERRED_VERSIONS,
    SERVICES,
    ResourceType,
    watched,
)
from kube.client import JSONDict
from watchers.clusters import ClusterHandle
from watchers.informer import Change, Informer, Listener, Relisted

log = logging.getLogger(__name__)

CRD = CRDS
NAMESPACE = NAMESPACES

GroupKind = tuple[str, str]

# Services the gateway reads (traffic pause/resume): KubeDB's and its own maintenance ones.
SERVICE_SELECTOR = "app.kubernetes.io/managed-by in (kubedb.com,stashql)"
# Restore workflow records, in the gateway's own namespace.
WORKFLOW_SELECTOR = "stashql.io/workflow=true"
OWN_NAMESPACE = "stashql-system"


@dataclass(frozen=True)
class ClusterProblem:
    """Why part of a query's answer is missing or old for one cluster."""

    cluster: str
    code: str  # UNREACHABLE, TIMEOUT, FORBIDDEN, NOT_INSTALLED, INTERNAL
    message: str
    retryable: bool
    stale_since: datetime | None = None


def _established(crd: JSONDict) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _resource_of(crd: JSONDict) -> ResourceType | None:
    spec = crd.get("spec") or {}
    group, names = str(spec.get("group") or ""), spec.get("names") or {}
    kind = str(names.get("kind") or "")
    if not watched(group, kind):
        return None
    served = [v["name"] for v in spec.get("versions") or [] if v.get("served")]
    if not served:
        return None
    version = next((v for v in PREFERRED_VERSIONS if v in served), served[0])
    return ResourceType(
        group=group,
        version=version,
        plural=str(names.get("plural") or ""),
        kind=kind,
        namespaced=spec.get("scope") == "Namespaced",
    )


class ClusterCache:
    def __init__(
        self,
        handle: ClusterHandle,
        *,
        page_size: int = 500,
        own_namespace: str = OWN_NAMESPACE,
        slim: bool = True,
    ) -> None:
        self.handle = handle
        self.name = handle.name
        self._page_size = page_size
        self._slim = slim
        self.crds = self._make(CRD)
        self.namespaces = self._make(NAMESPACE)
        self.informers: dict[GroupKind, Informer] = {}
        self._listeners: list[Listener] = []
        self.crds.add_listener(self._on_crd)
        # Built-in kinds need no CRD: they are watched from the start, narrowed by label
        # (and the records by namespace) so the gateway holds only what it uses.
        self.informers[(SERVICES.group, SERVICES.kind)] = self._make(
            SERVICES, label_selector=SERVICE_SELECTOR
        )
        self.informers[(CONFIG_MAPS.group, CONFIG_MAPS.kind)] = self._make(
            CONFIG_MAPS, namespace=own_namespace, label_selector=WORKFLOW_SELECTOR
        )

    def _make(
        self,
        resource: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> Informer:
        informer = Informer(
            cluster=self.handle.name,
            client=self.handle.watch_client,
            resource=resource,
            page_size=self._page_size,
            namespace=namespace,
            label_selector=label_selector,
            slim=self._slim,
        )
        for name, func in indexes_for(resource.group, resource.kind).items():
            informer.add_index(name, func)
        for name, sort in sorted_for(resource.group, resource.kind).items():
            informer.add_sorted(name, sort)
        return informer

    def start(self) -> None:
        self.crds.start()
        self.namespaces.start()
        for gk in ((SERVICES.group, SERVICES.kind), (CONFIG_MAPS.group, CONFIG_MAPS.kind)):
            self.informers[gk].start()

    async def stop(self) -> None:
        await asyncio.gather(
            self.crds.stop(), self.namespaces.stop(), *(i.stop() for i in self.informers.values())
        )

    def add_listener(self, listener: Listener) -> None:
        """Listen to every resource informer of this cluster, present and future."""
        self._listeners.append(listener)
        for informer in self.informers.values():
            informer.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
        for informer in self.informers.values():
            informer.remove_listener(listener)

    def _on_crd(self, event: Change | Relisted) -> None:
        if not isinstance(event, Change):
            return
        resource = _resource_of(event.obj)
        if resource is None:
            return
        gk = (resource.group, resource.kind)
        current = self.informers.get(gk)
        if event.type == "DELETED" or not _established(event.obj):
            if current is not None and event.type == "DELETED":
                log.info(
                    "%s: %s.%s went away; stopped watching",
                    self.name,
                    resource.plural,
                    resource.group,
                )
                del self.informers[gk]
                asyncio.get_running_loop().create_task(current.stop())
            return
        if current is not None and current.resource == resource:
            return
        if current is not None:  # the preferred version changed: watch the new one
            asyncio.get_running_loop().create_task(current.stop())
        informer = self._make(resource)
        for listener in self._listeners:
            informer.add_listener(listener)
        self.informers[gk] = informer
        log.info("%s: watching %s.%s", self.name, resource.plural, resource.group or "core")
        informer.start()

    # ------------------------------------------------------------------ reading

    def informer(self, group: str, kind: str) -> Informer | None:
        return self.informers.get((group, kind))

    def informers_by_plural(self, group: str, plural: str) -> Informer | None:
        for informer in self.informers.values():
            if informer.resource.group == group and informer.resource.plural == plural:
                return informer
        return None

    def informers_in(self, group: str) -> list[Informer]:
        return [i for (g, _), i in self.informers.items() if g == group]

    @property
    def synced(self) -> bool:
        """Listed once: CRDs, namespaces and every resource informer started so far."""
        return (
            self.crds.synced.is_set()
            and self.namespaces.synced.is_set()
            and all(i.synced.is_set() for i in self.informers.values())
        )

    def problem(self, informers: Iterable[Informer] | None = None) -> ClusterProblem | None:
        """What is wrong with this cluster's answer for these informers, if anything."""
        watched = [self.crds, *(informers or ())]
        for informer in watched:
            if informer.error is not None:
                code = informer.error_code or "UNREACHABLE"
                return ClusterProblem(
                    cluster=self.name,
                    code=code,
                    message=informer.error,
                    retryable=code in ("UNREACHABLE", "TIMEOUT"),
                    stale_since=informer.stale_since if informer.synced.is_set() else None,
                )
            if not informer.synced.is_set():
                return ClusterProblem(
                    cluster=self.name,
                    code="UNREACHABLE",
                    message=f"cluster {self.name} has not answered yet",
                    retryable=True,
                )
        return None


class Cache:
    """Every cluster's informers; the read model that resolvers query."""

    def __init__(
        self, handles: list[ClusterHandle], *, page_size: int = 500, slim: bool = True
    ) -> None:
        # slim=False keeps whole objects: only for checking that records answer the same.
        self.clusters = {h.name: ClusterCache(h, page_size=page_size, slim=slim) for h in handles}

    def start(self) -> None:
        for cluster in self.clusters.values():
            cluster.start()

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clusters.values()))

    def cluster_names(self) -> list[str]:
        return list(self.clusters)

    def add_listener(self, listener: Listener) -> None:
        for cluster in self.clusters.values():
            cluster.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        for cluster in self.clusters.values():
            cluster.remove_listener(listener)

    async def wait_synced(self, *, timeout: float, reachable: Iterable[str]) -> bool:
        """Wait until the reachable clusters have listed everything once."""
        names = set(reachable)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            if all(self.clusters[n].synced for n in names if n in self.clusters):
                return True
            await asyncio.sleep(0.05)
        return False
