"""One write call's requests: as the caller or as the gateway, counted.

Everything a user asks for goes out as the caller (impersonation), so the API server
authorizes and audits them; only the idempotency records go out as the gateway. The
count is what the benchmark reads (``Outcome.round_trips``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kube.client import ImpersonatingClient, KubeClient, Unreachable
from resolvers.writes.plan import JSONDict


class Wire:
    def __init__(
        self, *, clients: Mapping[str, KubeClient], caller: Mapping[str, ImpersonatingClient]
    ) -> None:
        self._clients = clients
        self._caller = caller
        self.round_trips = 0

    def has(self, cluster: str) -> bool:
        return cluster in self._clients

    async def as_caller(self, cluster: str, method: str, path: str, **kwargs: Any) -> JSONDict:
        client = self._caller.get(cluster)
        if client is None:
            raise Unreachable(cluster, "this gateway does not serve it")
        self.round_trips += 1
        return await client.request(method, path, **kwargs)

    async def as_gateway(self, cluster: str, method: str, path: str, **kwargs: Any) -> JSONDict:
        client = self._clients.get(cluster)
        if client is None:
            raise Unreachable(cluster, "this gateway does not serve it")
        self.round_trips += 1
        return await client.request(method, path, **kwargs)
