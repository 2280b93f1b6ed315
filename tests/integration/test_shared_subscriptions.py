"""Many subscribers of one stream: what each sees when the gateway shares the work.

Subscribers with the same document, variables and viewer share one stream (one access
decision, one execution and one encoding per event); these tests check what that must
never change: each viewer sees exactly what it may read, a subscriber who joins later
starts from the current state, a large INITIAL set arrives whole, resume tokens of shared
events work, and a subscriber who stops reading gets a RESYNC without holding up the
others or the informers.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest
import websockets

from gateway.settings import Settings
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import (
    Gateway,
    ensure_namespace,
    free_port,
    kube_http,
    run_gateway,
    seed,
    stop_gateway,
)
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

DB_EVENTS = """subscription($f: DatabaseFilter, $t: String) {
    databaseEvents(filter: $f, resumeToken: $t) {
        type ref { cluster namespace name kind } previousPhase phase resumeToken
        database { name phase } } }"""


async def _events_until(
    ws: GraphQLWebSocket, sid: str, pred: Any, *, timeout: float = 30
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        event = await ws.event(sid, "databaseEvents", timeout=timeout)
        seen.append(event)
        if pred(event):
            return seen


async def _set_phase(sandbox: Sandbox, kind: str, name: str, ns: str, phase: str) -> None:
    await seed(sandbox, [o.database(kind, name, ns, phase=phase)])


def _ready(name: str) -> Any:
    return lambda e: e["ref"]["name"] == name and e["phase"] == "READY"


async def test_shared_streams_show_each_viewer_only_what_it_may_read(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    a = o.database("Postgres", f"a-{unique}", "team-a", phase="Provisioning")
    b = o.database("Postgres", f"b-{unique}", "team-b", phase="Provisioning")
    variables = {"f": {"nameContains": unique}}
    # One object per namespace first: a subscriber has joined once its INITIAL is in.
    markers = [
        o.database("Postgres", f"m-{unique}", "team-a", phase="Ready"),
        o.database("Postgres", f"m-{unique}", "team-b", phase="Ready"),
    ]
    await seed(sandbox, markers)
    await asyncio.sleep(0.5)
    connections: dict[str, list[GraphQLWebSocket]] = {
        user: [GraphQLWebSocket(gateway.url, sandbox.tokens[user]) for _ in range(3)]
        for user in ("admin", "alice", "bob")
    }
    subs: dict[str, list[tuple[GraphQLWebSocket, str]]] = {u: [] for u in connections}
    for user, sockets in connections.items():
        for ws in sockets:
            await ws.__aenter__()
            for _ in range(2):  # two subscriptions per connection, six per viewer
                subs[user].append((ws, await ws.subscribe(DB_EVENTS, variables)))
    try:
        visible = {"admin": 2, "alice": 1, "bob": 1}
        for user, pairs in subs.items():
            for ws, sid in pairs:
                for _ in range(visible[user]):
                    assert (await ws.event(sid, "databaseEvents"))["type"] == "INITIAL"
        await seed(sandbox, [a, b])
        await _set_phase(sandbox, "Postgres", f"a-{unique}", "team-a", "Ready")
        await _set_phase(sandbox, "Postgres", f"b-{unique}", "team-b", "Ready")
        last = {"admin": f"b-{unique}", "alice": f"a-{unique}", "bob": f"b-{unique}"}
        seen: dict[str, list[list[dict[str, Any]]]] = {}
        for user, pairs in subs.items():
            seen[user] = []
            for ws, sid in pairs:
                got = await _events_until(ws, sid, _ready(last[user]))
                if user == "admin":  # admin sees both; a's READY may come first or not
                    names = {e["ref"]["name"] for e in got if e["phase"] == "READY"}
                    if f"a-{unique}" not in names:
                        got += await _events_until(ws, sid, _ready(f"a-{unique}"))
                seen[user].append(got)
        namespaces = {u: {e["ref"]["namespace"] for got in s for e in got} for u, s in seen.items()}
        assert namespaces == {
            "admin": {"team-a", "team-b"},
            "alice": {"team-a"},
            "bob": {"team-b"},
        }
        # Every subscriber of one viewer got the same events, tokens included.
        for user, lists in seen.items():
            assert all(got == lists[0] for got in lists), user
            assert {e["type"] for e in lists[0]} <= {"ADDED", "UPDATED"}, lists[0]
        await asyncio.sleep(0.5)
        for user, pairs in subs.items():
            assert all(ws.pending(sid) == 0 for ws, sid in pairs), f"{user} got more"

        # A shared event's resume token resumes exactly after it.
        token = seen["alice"][0][-1]["resumeToken"]
        await _set_phase(sandbox, "Postgres", f"a-{unique}", "team-a", "Critical")
        async with GraphQLWebSocket(gateway.url, sandbox.tokens["alice"]) as ws:
            sid = await ws.subscribe(DB_EVENTS, {**variables, "t": token})
            resumed = await ws.event(sid, "databaseEvents")
            assert (resumed["type"], resumed["previousPhase"], resumed["phase"]) == (
                "UPDATED",
                "READY",
                "CRITICAL",
            )
    finally:
        for sockets in connections.values():
            for ws in sockets:
                await ws.__aexit__(None, None, None)


async def test_a_subscriber_joining_a_shared_stream_starts_from_the_current_state(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"join-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    variables = {"f": {"namespaces": [ns]}}
    async with (
        GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as first,
        GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as later,
    ):
        s1 = await first.subscribe(DB_EVENTS, variables)
        await asyncio.sleep(0.5)
        await seed(sandbox, [o.database("Postgres", "pg", ns, phase="Provisioning")])
        await _set_phase(sandbox, "Postgres", "pg", ns, "Ready")
        await _events_until(first, s1, _ready("pg"))

        s2 = await later.subscribe(DB_EVENTS, variables)
        initial = await later.event(s2, "databaseEvents")
        assert (initial["type"], initial["phase"]) == ("INITIAL", "READY")
        assert initial["database"] == {"name": "pg", "phase": "READY"}
        # Another joiner while nothing changed gets the same INITIAL state.
        s3 = await later.subscribe(DB_EVENTS, variables)
        assert await later.event(s3, "databaseEvents") == initial

        await _set_phase(sandbox, "Postgres", "pg", ns, "Critical")
        for ws, sid in ((first, s1), (later, s2), (later, s3)):
            update = await ws.event(sid, "databaseEvents")
            assert (update["type"], update["previousPhase"], update["phase"]) == (
                "UPDATED",
                "READY",
                "CRITICAL",
            )
        await asyncio.sleep(0.5)
        assert first.pending(s1) == 0
        assert later.pending(s2) == later.pending(s3) == 0


@pytest.mark.timeout(240)
async def test_a_large_initial_set_arrives_complete_for_every_subscriber(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"big-{unique}"
    names = [f"db-{i:03d}" for i in range(300)]
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
        await _create_many(admin, ns, names)
    await _until_listed(gateway, ns, len(names))
    variables = {"f": {"namespaces": [ns]}}
    async with (
        GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as one,
        GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as two,
    ):
        subs = [
            (one, await one.subscribe(DB_EVENTS, variables)),
            (one, await one.subscribe(DB_EVENTS, variables)),
            (two, await two.subscribe(DB_EVENTS, variables)),
        ]
        for ws, sid in subs:
            got = [await ws.event(sid, "databaseEvents") for _ in names]
            assert [e["type"] for e in got] == ["INITIAL"] * len(names)
            assert [e["ref"]["name"] for e in got] == names  # complete, once each, in order
        await _set_phase(sandbox, "Postgres", names[0], ns, "Ready")
        for ws, sid in subs:
            update = await ws.event(sid, "databaseEvents")
            assert (update["type"], update["ref"]["name"], update["phase"]) == (
                "UPDATED",
                names[0],
                "READY",
            )


async def _create_many(admin: httpx.AsyncClient, ns: str, names: list[str]) -> None:
    gate = asyncio.Semaphore(16)

    async def create(name: str) -> None:
        async with gate:
            body = o.database("Postgres", name, ns, phase="Provisioning")
            body.pop("status", None)
            r = await admin.post(f"/apis/kubedb.com/v1/namespaces/{ns}/postgreses", json=body)
            assert r.status_code == 201, r.text

    await asyncio.gather(*(create(n) for n in names))


async def _until_listed(gateway: Gateway, ns: str, count: int, *, url: str | None = None) -> None:
    query = "query($ns: [String!]) { databases(filter: {namespaces: $ns}) { totalCount } }"
    for _ in range(300):
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                (url or gateway.url) + "/graphql",
                json={"query": query, "variables": {"ns": [ns]}},
                headers={"Authorization": f"Bearer {gateway.sandbox.tokens['admin']}"},
            )
        if r.json()["data"]["databases"]["totalCount"] == count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the gateway never listed {count} databases in {ns}")


# Every event of this document carries its resume token 40 times (~100 KB): a subscriber
# who stops reading soon fills every buffer between it and the gateway.
BULKY_EVENTS = (
    "subscription($f: DatabaseFilter) { databaseEvents(filter: $f) { type ref { name } "
    + " ".join(f"t{i}: resumeToken" for i in range(40))
    + " } }"
)


class _StalledClient:
    """A graphql-transport-ws client that stops reading: a tiny receive buffer, at most
    one message held, no compression, so the gateway's sends back up quickly."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.replace("http://", "ws://") + "/graphql"
        self.token = token
        self.ws: Any = None

    async def __aenter__(self) -> _StalledClient:
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        self.ws = await websockets.connect(
            self.url,
            sock=sock,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            compression=None,
            max_queue=1,
            ping_interval=None,
        )
        auth = {"authorization": f"Bearer {self.token}"}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert json.loads(await self.ws.recv())["type"] == "connection_ack"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def subscribe(self, query: str, variables: dict[str, Any]) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))

    async def events(self, until: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if msg.get("type") == "ping":
                await self.ws.send('{"type":"pong"}')
                continue
            assert msg["type"] == "next", msg
            event = msg["payload"]["data"]["databaseEvents"]
            out.append(event)
            if until(event):
                return out


@pytest.mark.timeout(300)
async def test_a_subscriber_who_stops_reading_gets_resync_and_holds_up_nobody(
    sandbox: Sandbox, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A gateway of this test's own, whose subscribers may fall fewer events behind (still
    # more than the stream hands out between two turns of the loop, stream.CHUNK).
    monkeypatch.setattr("gateway.views.MEMBER_QUEUE", 150)
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        all_contexts=True,
        port=free_port(),
        workflow_controller=False,
    )
    server, task = await run_gateway(settings)
    url = f"http://127.0.0.1:{settings.port}"
    ns = f"slow-{unique}"
    names = [f"db-{i:03d}" for i in range(400)]
    variables = {"f": {"namespaces": [ns]}}
    try:
        async with kube_http(sandbox, user="admin") as admin:
            await ensure_namespace(admin, ns)
            async with (
                _StalledClient(url, sandbox.tokens["admin"]) as slow,
                GraphQLWebSocket(url, sandbox.tokens["admin"]) as fast,
            ):
                await slow.subscribe(BULKY_EVENTS, variables)
                sid = await fast.subscribe(BULKY_EVENTS, variables)
                await asyncio.sleep(0.5)
                await _create_many(admin, ns, names)  # the slow one reads nothing meanwhile

                # The reader keeps up: every object arrives, without a RESYNC.
                got = [await fast.event(sid, "databaseEvents", timeout=60) for _ in names]
                assert sorted(e["ref"]["name"] for e in got) == names
                assert {e["type"] for e in got} == {"ADDED"}
                # The informers kept up too: the gateway's reads show every object.
                await _until_listed(Gateway(url, sandbox), ns, len(names), url=url)

                # The one who stopped reading is told to refetch, and then continues.
                r = await admin.delete(f"/apis/kubedb.com/v1/namespaces/{ns}/postgreses/db-000")
                assert r.status_code == 200, r.text
                seen = await slow.events(lambda e: e["type"] == "DELETED")
                kinds = [e["type"] for e in seen]
                assert "RESYNC" in kinds, kinds[:20]
                assert kinds.index("RESYNC") < kinds.index("DELETED")
                assert len([k for k in kinds if k == "ADDED"]) < len(names)
                gone = await fast.event(sid, "databaseEvents", timeout=60)
                assert (gone["type"], gone["ref"]["name"]) == ("DELETED", "db-000")
    finally:
        await stop_gateway(server, task)
