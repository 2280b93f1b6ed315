"""A CI pipeline through the gateway: applyManifests in a shuffled order, then wait, by
subscription, for the database's setupState to be READY.

The gateway runs as its own process (`stashql serve`), the operators are simulated, and
the pipeline speaks only GraphQL: HTTP for the mutation and the status, graphql-ws for
the wait. A bundle missing its storage is WAITING naming it, the database PENDING naming
it, and both converge once the storage is applied.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sandbox.controlplane import Sandbox
from sandbox.simulator import Simulator
from tests.integration.test_apply_manifests import admin as admin
from tests.integration.test_apply_manifests import bundle
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

PREFIX = "ci-e2e-"

APPLY = """
mutation($i: ApplyManifestsInput!) { applyManifests(input: $i) {
  results { index state object { kind namespace name } waitingFor { kind namespace name } reason }
  warnings { code message }
  userErrors { code message field }
} }
"""
STATUS = """
query($r: ObjectRefInput!) { database(ref: $r) {
  phase setupStatus { state reasons waitingFor { kind namespace name } } } }
"""
EVENTS = """
subscription($f: DatabaseFilter) { databaseEvents(filter: $f) {
  type ref { namespace name } phase previousSetupState setupState } }
"""


@pytest_asyncio.fixture
async def sim(sandbox: Sandbox) -> AsyncIterator[Simulator]:
    clients = {c.name: sandbox.client(c.name) for c in sandbox.clusters}
    simulator = Simulator(
        clients,
        time_scale=600,
        step=0.25,
        seed=7,
        namespace_filter=lambda ns: ns.startswith(PREFIX),
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()
        for client in clients.values():
            await client.close()


async def _post(served: str, token: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(timeout=120) as client:
        r = await client.post(
            served + "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def _ref(ns: str) -> dict[str, str]:
    return {"cluster": "sandbox-1", "kind": "Postgres", "namespace": ns, "name": "app-db"}


async def _wait_ready(ws: GraphQLWebSocket, sid: str, ns: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        event = await ws.event(sid, "databaseEvents", timeout=90)
        if event["ref"]["namespace"] != ns:
            continue
        seen.append(event)
        assert event["setupState"] != "FAILED", seen
        if event["setupState"] == "READY":
            return seen


@pytest.mark.timeout(240)
async def test_a_shuffled_bundle_applies_and_the_pipeline_waits_for_ready_by_push(
    served: str, sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = f"{PREFIX}{unique}"
    docs = bundle(ns)
    random.Random(unique).shuffle(docs)
    token = sandbox.tokens["admin"]
    async with GraphQLWebSocket(served, token) as ws:
        sid = await ws.subscribe(EVENTS, {"f": {"namespaces": [ns]}})
        data = await _post(
            served,
            token,
            APPLY,
            {"i": {"cluster": "sandbox-1", "documents": docs, "waitSeconds": 60}},
        )
        answer = data["applyManifests"]
        assert answer["userErrors"] == []
        assert {r["state"] for r in answer["results"]} == {"APPLIED"}, answer["results"]
        assert sorted(r["index"] for r in answer["results"]) == list(range(len(docs)))
        events = await _wait_ready(ws, sid, ns)
    # Pushed, not polled: the READY event is the transition from PENDING (provisioning,
    # the first backup) that the stream saw happen.
    assert events[-1]["previousSetupState"] == "PENDING", events
    status = (await _post(served, token, STATUS, {"r": _ref(ns)}))["database"]
    assert status["setupStatus"] == {"state": "READY", "reasons": [], "waitingFor": []}


@pytest.mark.timeout(240)
async def test_a_bundle_missing_its_storage_waits_naming_it_then_converges(
    served: str, sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = f"{PREFIX}{unique}"
    docs = bundle(ns)
    storage = [d for d in docs if d["kind"] == "BackupStorage"]
    rest = [d for d in docs if d["kind"] != "BackupStorage"]
    token = sandbox.tokens["admin"]
    data = await _post(served, token, APPLY, {"i": {"cluster": "sandbox-1", "documents": rest}})
    answer = data["applyManifests"]
    waiting = [r for r in answer["results"] if r["state"] == "WAITING"]
    assert waiting, answer["results"]
    assert all(r["waitingFor"]["kind"] == "BackupStorage" for r in waiting)
    assert {r["waitingFor"]["name"] for r in waiting} == {storage[0]["metadata"]["name"]}
    assert "WAITING_FOR_DEPENDENCY" in {w["code"] for w in answer["warnings"]}

    async def status() -> dict[str, Any]:
        found: dict[str, Any] = (await _post(served, token, STATUS, {"r": _ref(ns)}))["database"]
        return dict(found["setupStatus"])

    # Once the database is up, the pipeline is told what it waits for.
    async with GraphQLWebSocket(served, token) as ws:
        sid = await ws.subscribe(EVENTS, {"f": {"namespaces": [ns]}})
        while True:
            event = await ws.event(sid, "databaseEvents", timeout=90)
            if event["phase"] == "READY":
                break
        pending = await status()
        assert pending["state"] == "PENDING", pending
        assert {(w["kind"], w["name"]) for w in pending["waitingFor"]} == {
            ("BackupStorage", storage[0]["metadata"]["name"])
        }
        assert pending["reasons"]
        data = await _post(
            served,
            token,
            APPLY,
            {"i": {"cluster": "sandbox-1", "documents": storage, "waitSeconds": 30}},
        )
        assert {r["state"] for r in data["applyManifests"]["results"]} == {"APPLIED"}
        events = await _wait_ready(ws, sid, ns)
    assert events[-1]["previousSetupState"] == "PENDING", events
    assert (await status())["state"] == "READY"
