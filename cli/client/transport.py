"""GraphQL to the gateway: HTTP POST for queries and mutations, graphql-transport-ws for
subscriptions. Every failure becomes a ``CliError`` with its exit code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

from cli.client.config import Connection
from cli.client.exits import CliError, Exit

# The gateway closes a WebSocket whose connection_init carries no valid token with 4403.
_WS_FORBIDDEN = 4403


class GraphQLClient:
    """One gateway, one token."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0) -> None:
        self.connection = connection
        self.timeout = timeout

    @property
    def url(self) -> str:
        return self.connection.server + "/graphql"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.connection.token:
            headers["Authorization"] = f"Bearer {self.connection.token}"
        return headers

    def _unreachable(self, reason: object) -> CliError:
        return CliError(
            f"cannot reach the gateway at {self.connection.server} "
            f"(from {self.connection.server_from}): {reason}",
            Exit.UNREACHABLE,
        )

    def _unauthenticated(self) -> CliError:
        if self.connection.token is None:
            return CliError(
                "the gateway needs a token: pass --token, --token-from-kubeconfig or set "
                "STASHQL_TOKEN",
                Exit.UNAUTHENTICATED,
            )
        return CliError(
            f"the gateway did not accept the token (from {self.connection.token_from})",
            Exit.UNAUTHENTICATED,
        )

    def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a query or mutation; errors without data end the command."""
        try:
            response = httpx.post(
                self.url,
                json={"query": query, "variables": variables or {}},
                headers=self._headers(),
                timeout=timeout or self.timeout,
            )
        except httpx.TimeoutException:
            raise self._unreachable("no answer in time") from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc or type(exc).__name__) from None
        if response.status_code == 401:
            raise self._unauthenticated()
        try:
            body = response.json()
        except ValueError:
            raise CliError(
                f"the gateway answered HTTP {response.status_code} without JSON "
                f"(is {self.connection.server} a StashQL gateway?)"
            ) from None
        if not isinstance(body, dict):
            raise CliError("the gateway's answer is not a GraphQL response")
        errors = body.get("errors") or []
        data = body.get("data")
        if errors and not data:
            raise CliError("the gateway answered: " + _messages(errors))
        if response.status_code >= 400:
            raise CliError(f"the gateway answered HTTP {response.status_code}")
        if not isinstance(data, dict):
            raise CliError("the gateway's answer has no data")
        return data

    def _ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The ``data`` of each event of one subscription, until it completes."""
        payload = (
            {"authorization": f"Bearer {self.connection.token}"} if self.connection.token else {}
        )
        try:
            ws = await websockets.connect(
                self._ws_url(),
                subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
                open_timeout=self.timeout,
                max_size=2**24,
            )
        except (TimeoutError, OSError, websockets.InvalidHandshake) as exc:
            raise self._unreachable(exc or type(exc).__name__) from None
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            try:
                ack = json.loads(await asyncio.wait_for(ws.recv(), self.timeout))
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == _WS_FORBIDDEN:
                    raise self._unauthenticated() from None
                raise self._unreachable(f"the WebSocket closed: {closed}") from None
            except TimeoutError:
                raise self._unreachable("no connection_ack in time") from None
            if ack.get("type") != "connection_ack":
                raise CliError(f"the gateway answered {ack.get('type')!r} to connection_init")
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables or {}},
                    }
                )
            )
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "next":
                    body = message.get("payload") or {}
                    if body.get("errors") and not body.get("data"):
                        raise CliError("the gateway answered: " + _messages(body["errors"]))
                    yield body.get("data") or {}
                elif kind == "error":
                    raise CliError(
                        "the gateway refused the subscription: "
                        + _messages(message.get("payload") or [])
                    )
                elif kind == "complete":
                    return
        except websockets.ConnectionClosed as closed:
            raise self._unreachable(f"the WebSocket closed: {closed}") from None
        finally:
            await ws.close()


def _messages(errors: Any) -> str:
    if isinstance(errors, list):
        texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        return "; ".join(texts) or "an error"
    return str(errors)
