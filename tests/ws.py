"""A small graphql-transport-ws client for tests (what a UI's WebSocket link does)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from types import TracebackType
from typing import Any

import websockets


class GraphQLWebSocket:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.replace("http://", "ws://") + "/graphql"
        self.token = token
        self._ws: Any = None
        self._ids = itertools.count(1)
        self._inbox: dict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self._reader: asyncio.Task[None] | None = None
        self.closed_code: int | None = None

    async def __aenter__(self) -> GraphQLWebSocket:
        self._ws = await websockets.connect(
            self.url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            max_size=2**24,
        )
        payload = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await self._ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(self._ws.recv(), 15))
        assert ack["type"] == "connection_ack", ack
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader:
            self._reader.cancel()
        await self._ws.close()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = json.loads(raw)
                if msg.get("type") == "ping":
                    await self._ws.send(json.dumps({"type": "pong"}))
                    continue
                if "id" in msg:
                    await self._inbox[msg["id"]].put(msg)
        except websockets.ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else None

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        sid = str(next(self._ids))
        await self._ws.send(
            json.dumps(
                {
                    "id": sid,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return sid

    async def complete(self, sid: str) -> None:
        await self._ws.send(json.dumps({"id": sid, "type": "complete"}))

    async def message(self, sid: str, *, timeout: float = 20) -> dict[str, Any]:
        return await asyncio.wait_for(self._inbox[sid].get(), timeout)

    async def event(self, sid: str, field: str, *, timeout: float = 20) -> dict[str, Any]:
        msg = await self.message(sid, timeout=timeout)
        assert msg["type"] == "next", msg
        assert not msg["payload"].get("errors"), msg["payload"]
        data: dict[str, Any] = msg["payload"]["data"][field]
        return data

    def pending(self, sid: str) -> int:
        return self._inbox[sid].qsize()
