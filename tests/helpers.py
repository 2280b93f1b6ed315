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


class Gateway:
    """A running StashQL server on loopback, queried over real HTTP."""

    def __init__(self, url: str, sandbox: Sandbox) -> None:
        self.url = url
        self.sandbox = sandbox

    async def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: str = "admin",
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                self.url + "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.sandbox.tokens[user]}"},
            )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if not expect_errors:
            assert not body.get("errors"), body.get("errors")
        return body


async def run_gateway(settings: Any) -> tuple[Any, Any]:
    """Start ``server.create_app(settings)`` under uvicorn; return (server, task) once ready."""
    import asyncio

    import uvicorn

    from cli.commands.serve import UVICORN_OPTIONS
    from server import create_app

    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        **UVICORN_OPTIONS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{settings.port}"
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if task.done():
                task.result()
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return server, task
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("gateway not ready in 30 s")


async def stop_gateway(server: Any, task: Any) -> None:
    server.should_exit = True
    await task


async def seed(sandbox: Sandbox, objects: list[dict[str, Any]], *, cluster: int = 0) -> None:
    """Apply objects as admin, with their status written the way operators write it."""
    from kube.manifests import Discovery, apply_manifest

    client = sandbox.client(cluster)
    discovery = Discovery(client)
    try:
        for obj in objects:
            await apply_manifest(
                client, discovery, obj, field_manager="stashql-tests", with_status=True
            )
    finally:
        await client.close()


async def eventually(check: Any, *, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value (informers are
    eventual)."""
    import asyncio
    import inspect

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last: Any = None
    while loop.time() < end:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def settled(gateway: Gateway, *, timeout: float = 60.0) -> None:
    """Wait until the gateway answers for every cluster again (after an API server
    restart its informers reconnect with backoff, up to 30 s)."""

    last: list[object] = []

    async def no_errors() -> bool:
        lists = ("databases", "snapshots", "repositories", "backupSessions", "restoreSessions")
        fields = "clusterErrors { cluster code message }"
        body = await gateway.query(
            "{ " + " ".join(f"{n}(first: 1) {{ {fields} }}" for n in lists) + " }"
        )
        last[:] = [e for conn in body["data"].values() for e in conn["clusterErrors"]]
        return not last

    try:
        await eventually(no_errors, timeout=timeout, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"the gateway did not settle: {last}") from exc


async def audited_creator(
    sandbox: Sandbox,
    *,
    cluster: int,
    resource_plural: str,
    namespace: str,
    name: str,
    timeout: float = 10.0,
) -> tuple[str, str | None]:
    """(user, impersonated user) of the API server's audit event for the real (not dry-run)
    successful create of one object. The event is written just after the response, so poll.
    """

    def creator() -> tuple[str, str | None] | None:
        for event in sandbox.audit_events(cluster):
            ref = event.get("objectRef") or {}
            if (
                event.get("verb") == "create"
                and ref.get("resource") == resource_plural
                and ref.get("namespace") == namespace
                and ref.get("name") == name
                and not ref.get("subresource")
                and (event.get("responseStatus") or {}).get("code") in (200, 201)
                and "dryRun=" not in event.get("requestURI", "")
            ):
                impersonated = (event.get("impersonatedUser") or {}).get("username")
                return str(event["user"]["username"]), impersonated
        return None

    try:
        found: tuple[str, str | None] = await eventually(creator, timeout=timeout, interval=0.05)
    except AssertionError as exc:
        raise AssertionError(
            f"no audited create of {resource_plural} {namespace}/{name} on cluster {cluster}"
        ) from exc
    return found
