"""Leader election on a coordination.k8s.io/v1 Lease: one holder per cluster.

Every gateway replica tries to hold the Lease ``stashql-workflows`` in its own namespace;
only the holder moves workflows. The holder renews it every ``renew`` seconds; another
replica takes it over once ``renewTime + leaseDurationSeconds`` has passed; a holder
that fails to renew (conflict: someone else holds it now) stops acting at once. Every
write is a PUT guarded by the Lease's resourceVersion, so two replicas cannot both win.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apis import objects
from apis.resources import LEASES
from core.times import parse_time
from kube.client import ApiError, KubeClient, KubeError
from resolvers.writes.plan import JSONDict

log = logging.getLogger("stashql.workflows.lease")

LEASE_NAME = "stashql-workflows"


def _micro(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderLease:
    def __init__(
        self,
        *,
        client: KubeClient,
        cluster: str,
        namespace: str,
        identity: str,
        duration: int = 15,
        name: str = LEASE_NAME,
    ) -> None:
        self._client = client
        self._cluster = cluster
        self._namespace = namespace
        self._identity = identity
        self._duration = duration
        self._name = name
        self.held = False

    @property
    def identity(self) -> str:
        return self._identity

    def _body(self, *, now: datetime, acquired: str | None, transitions: int) -> JSONDict:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": {
                "holderIdentity": self._identity,
                "leaseDurationSeconds": self._duration,
                "acquireTime": acquired or _micro(now),
                "renewTime": _micro(now),
                "leaseTransitions": transitions,
            },
        }

    async def try_hold(self, *, now: datetime | None = None) -> bool:
        """Acquire, renew or take over the Lease; whether this replica holds it now."""
        now = now or datetime.now(UTC)
        path = LEASES.path(namespace=self._namespace, name=self._name)
        try:
            try:
                current = await self._client.get(path, timeout=5)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                await self._client.post(
                    LEASES.path(namespace=self._namespace),
                    self._body(now=now, acquired=None, transitions=0),
                    timeout=5,
                )
                return self._became(True)
            spec = objects.mapping_at(current, "spec")
            holder = objects.str_at(spec, "holderIdentity")
            renewed = parse_time(spec.get("renewTime"))
            duration = objects.int_or(spec, "leaseDurationSeconds", default=self._duration)
            transitions = objects.int_or(spec, "leaseTransitions", default=0)
            expired = renewed is None or renewed + timedelta(seconds=duration) < now
            if holder and holder != self._identity and not expired:
                return self._became(False)
            mine = holder == self._identity
            body = self._body(
                now=now,
                acquired=objects.str_at(spec, "acquireTime") if mine else None,
                transitions=transitions if mine else transitions + 1,
            )
            body["metadata"]["resourceVersion"] = objects.str_at(
                current, "metadata", "resourceVersion"
            )
            await self._client.put(path, body, timeout=5)
            return self._became(True)
        except ApiError as exc:
            if exc.status in (409, 422):
                return self._became(False)  # someone else wrote it first
            log.warning("%s: lease %s: %s", self._cluster, self._name, exc)
            return self._became(False)
        except KubeError as exc:
            # Cannot reach the API server: a holder that cannot renew stops acting, as
            # the others will take over once the lease expires.
            log.warning("%s: lease %s unreachable: %s", self._cluster, self._name, exc)
            return self._became(False)

    async def release(self) -> None:
        """Give the Lease up (on stop), so another replica need not wait for it to expire."""
        if not self.held:
            return
        self.held = False
        path = LEASES.path(namespace=self._namespace, name=self._name)
        try:
            current = await self._client.get(path, timeout=5)
            if objects.str_at(current, "spec", "holderIdentity") != self._identity:
                return
            spec = dict(objects.mapping_at(current, "spec"))
            spec["holderIdentity"] = None
            spec["renewTime"] = None
            body = dict(current)
            body["spec"] = spec
            await self._client.put(path, body, timeout=5)
        except KubeError as exc:
            log.info("%s: lease %s not released: %s", self._cluster, self._name, exc)

    def _became(self, held: bool) -> bool:
        if held != self.held:
            log.info(
                "%s: %s lease %s", self._cluster, "holding" if held else "not holding", self._name
            )
        self.held = held
        return held
