"""Small helpers the tests share: raw requests as a sandbox user, a gateway on loopback."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from sandbox.controlplane import Sandbox


def kube_http(sandbox: Sandbox, *, user: str, cluster: int = 0) -> httpx.AsyncClient:
    """An httpx client that talks to one sandbox API server as ``user``."""
    token = sandbox.gateway_token if user == "gateway" else sandbox.tokens[user]
    return httpx.AsyncClient(
        base_url=sandbox.clusters[cluster].server,
        verify=sandbox.ssl_context(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def ensure_namespace(
    admin: httpx.AsyncClient, name: str, labels: dict[str, str] | None = None
) -> None:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        body["metadata"]["labels"] = labels
    r = await admin.post("/api/v1/namespaces", json=body)
    assert r.status_code in (201, 409), r.text
