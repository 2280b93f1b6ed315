"""Live phase changes over real WebSockets, fed by the shared informers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import websockets

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, ensure_namespace, kube_http, seed, settled
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

DB_EVENTS = """subscription($f: DatabaseFilter, $t: String) {
    databaseEvents(filter: $f, resumeToken: $t) {
        type ref { cluster namespace name kind } previousPhase phase resumeToken
        database { name phase } } }"""


async def _until(ws: GraphQLWebSocket, sid: str, field: str, pred: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        event = await ws.event(sid, field)
        seen.append(event)
        if pred(event):
            return seen


async def _set_phase(sandbox: Sandbox, db: dict[str, Any], phase: str, cluster: int = 0) -> None:
    await seed(
        sandbox,
        [o.database(db["kind"], db["metadata"]["name"], db["metadata"]["namespace"], phase=phase)],
        cluster=cluster,
    )


async def test_database_events_stream_initial_state_then_transitions(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"sub-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    db = o.database("Postgres", "pg", ns, phase="Provisioning")
    await seed(sandbox, [db])
    await asyncio.sleep(0.5)  # let the informer see it: INITIAL reflects the cache

    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        sid = await ws.subscribe(DB_EVENTS, {"f": {"namespaces": [ns]}})
        initial = await ws.event(sid, "databaseEvents")
        assert initial["type"] == "INITIAL"
        assert initial["ref"] == {
            "cluster": "sandbox-1",
            "namespace": ns,
            "name": "pg",
            "kind": "Postgres",
        }
        assert initial["phase"] == "PROVISIONING"

        await _set_phase(sandbox, db, "Ready")
        update = await ws.event(sid, "databaseEvents")
        assert (update["type"], update["previousPhase"], update["phase"]) == (
            "UPDATED",
            "PROVISIONING",
            "READY",
        )
        assert update["database"] == {"name": "pg", "phase": "READY"}

        # A change that is not a phase change is not news.
        labelled = o.database("Postgres", "pg", ns, phase="Ready", labels={"touched": "yes"})
        await seed(sandbox, [labelled])
        await _set_phase(sandbox, db, "Critical")
        update = await ws.event(sid, "databaseEvents")
        assert (update["previousPhase"], update["phase"]) == ("READY", "CRITICAL")

        async with kube_http(sandbox, user="admin") as admin:
            r = await admin.delete(f"/apis/kubedb.com/v1/namespaces/{ns}/postgreses/pg")
            assert r.status_code == 200
        gone = await ws.event(sid, "databaseEvents")
        assert gone["type"] == "DELETED"
        assert gone["database"] is None
        assert gone["ref"]["name"] == "pg"


async def test_viewers_only_get_events_they_may_read(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    a = o.database("Postgres", f"a-{unique}", "team-a", phase="Provisioning")
    b = o.database("Postgres", f"b-{unique}", "team-b", phase="Provisioning")
    async with (
        GraphQLWebSocket(gateway.url, sandbox.tokens["alice"]) as alice,
        GraphQLWebSocket(gateway.url, sandbox.tokens["bob"]) as bob,
    ):
        f = {"f": {"nameContains": unique}}
        sa = await alice.subscribe(DB_EVENTS, f)
        sb = await bob.subscribe(DB_EVENTS, f)
        await asyncio.sleep(0.3)
        await seed(sandbox, [a, b])
        await _set_phase(sandbox, a, "Ready")
        await _set_phase(sandbox, b, "Ready")
        got_a = await _until(alice, sa, "databaseEvents", lambda e: e["phase"] == "READY")
        got_b = await _until(bob, sb, "databaseEvents", lambda e: e["phase"] == "READY")
        assert {e["ref"]["namespace"] for e in got_a} == {"team-a"}
        assert {e["ref"]["namespace"] for e in got_b} == {"team-b"}
        await asyncio.sleep(0.5)
        assert alice.pending(sa) == 0, "alice must not get team-b's events"
        assert bob.pending(sb) == 0, "bob must not get team-a's events"


async def test_a_resume_token_replays_what_was_missed(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"resume-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    db = o.database("Postgres", "pg", ns, phase="Provisioning")
    await seed(sandbox, [db])
    await asyncio.sleep(0.5)
    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        sid = await ws.subscribe(DB_EVENTS, {"f": {"namespaces": [ns]}})
        token = (await ws.event(sid, "databaseEvents"))["resumeToken"]

    # Disconnected: the database moves on, and another appears.
    await _set_phase(sandbox, db, "DataRestoring")
    await _set_phase(sandbox, db, "Ready")
    await seed(sandbox, [o.database("MySQL", "my", ns, phase="Provisioning")])
    await asyncio.sleep(0.5)

    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        sid = await ws.subscribe(DB_EVENTS, {"f": {"namespaces": [ns]}, "t": token})
        seen = await _until(ws, sid, "databaseEvents", lambda e: e["ref"]["name"] == "my")
        assert all(e["type"] != "INITIAL" for e in seen)
        pg = [(e["previousPhase"], e["phase"]) for e in seen if e["ref"]["name"] == "pg"]
        # Missed changes arrive; ones that came together may be coalesced.
        assert pg[-1][1] == "READY"
        assert pg[0][0] == "PROVISIONING"

    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        sid = await ws.subscribe(DB_EVENTS, {"t": "not-a-token"})
        msg = await ws.message(sid)
        assert (
            msg["type"] == "error"
            or msg["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        )


async def _watch_count(sandbox: Sandbox, resource: str) -> float:
    """Open WATCH requests on `resource` (a plural) in cluster 1's API server.

    Counting one resource keeps the measure to what the subscriptions under test could
    add: other parts of the suite (the simulator, workflow controllers, other gateways)
    open and close watches on other kinds at their own pace.
    """
    async with kube_http(sandbox, user="admin") as admin:
        text = (await admin.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("apiserver_longrunning_requests{")
            and 'verb="WATCH"' in line
            and f'resource="{resource}"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.timeout(180)
async def test_subscribers_share_the_informers_watches(sandbox: Sandbox, gateway: Gateway) -> None:
    query = "subscription { snapshotEvents { type } }"
    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        await ws.subscribe(query)
        await asyncio.sleep(1)
        with_one = await _watch_count(sandbox, "snapshots")
    sockets = [GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) for _ in range(4)]
    for s in sockets:
        await s.__aenter__()
    try:
        for s in sockets:
            for _ in range(50):
                await s.subscribe(query)
        await asyncio.sleep(2)
        with_200 = await _watch_count(sandbox, "snapshots")
    finally:
        for s in sockets:
            await s.__aexit__(None, None, None)
    assert with_one > 0
    assert with_200 == with_one


async def test_one_connection_holds_at_most_100_subscriptions(
    sandbox: Sandbox, gateway: Gateway
) -> None:
    query = "subscription { restoreSessionEvents { type } }"
    async with GraphQLWebSocket(gateway.url, sandbox.tokens["bob"]) as ws:
        ids = [await ws.subscribe(query) for _ in range(101)]
        await asyncio.sleep(1)
        refused = await ws.message(ids[-1])
        payload = refused["payload"]
        errors = payload if refused["type"] == "error" else payload.get("errors")
        assert errors, refused
        assert errors[0].get("extensions", {}).get("code") == "TOO_MANY_SUBSCRIPTIONS", errors
        # Meanwhile a normal query on the same gateway answers promptly.
        async with httpx.AsyncClient(timeout=5) as client:
            r = await client.post(
                gateway.url + "/graphql",
                json={"query": "{ viewer { username } }"},
                headers={"Authorization": f"Bearer {sandbox.tokens['bob']}"},
            )
        assert r.json()["data"]["viewer"]["username"] == "bob"


@pytest.mark.timeout(240)
async def test_100_subscribers_survive_an_api_server_restart(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"restart-{unique}"
    async with kube_http(sandbox, user="admin", cluster=1) as admin:
        await ensure_namespace(admin, ns)
    db = o.database("Postgres", "pg", ns, phase="Provisioning")
    await seed(sandbox, [db], cluster=1)
    await asyncio.sleep(0.5)

    sockets = [GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) for _ in range(2)]
    subs: list[tuple[GraphQLWebSocket, str]] = []
    for ws in sockets:
        await ws.__aenter__()
        for _ in range(50):
            subs.append((ws, await ws.subscribe(DB_EVENTS, {"f": {"namespaces": [ns]}})))
    try:
        for ws, sid in subs:
            first = await ws.event(sid, "databaseEvents")
            assert (first["type"], first["phase"]) == ("INITIAL", "PROVISIONING")

        await sandbox.restart_cluster(1)
        for phase in ("DataRestoring", "NotReady", "Ready"):
            await _set_phase(sandbox, db, phase, cluster=1)

        async def final_state(ws: GraphQLWebSocket, sid: str) -> tuple[str, int]:
            # A RESYNC means "refetch, then continue": the stream goes on after it.
            resyncs = 0
            while True:
                event = await ws.event(sid, "databaseEvents", timeout=90)
                if event["type"] == "RESYNC":
                    resyncs += 1
                elif event["phase"] == "READY":
                    return "READY", resyncs

        outcomes = await asyncio.gather(*(final_state(ws, sid) for ws, sid in subs))
        assert [phase for phase, _ in outcomes] == ["READY"] * 100
        body = await gateway.query(
            "query($ns: [String!]) { databases(filter: {namespaces: $ns}) { nodes { phase } } }",
            {"ns": [ns]},
        )
        assert body["data"]["databases"]["nodes"] == [{"phase": "READY"}]
    finally:
        for ws in sockets:
            await ws.__aexit__(None, None, None)
        await settled(gateway)  # later tests expect both clusters to answer


async def test_websockets_are_not_compressed(sandbox: Sandbox, gateway: Gateway) -> None:
    """A client offering permessage-deflate gets plain frames: per-connection compressor
    state would cost each of thousands of subscribers about 33 KiB."""
    url = gateway.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(
        url,
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        compression="deflate",
    ) as ws:
        assert ws.response is not None
        assert ws.subprotocol == "graphql-transport-ws"
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
