"""Hostile and random input: refused clearly, never a 5xx, a traceback or a Secret."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, kube_http
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

SECRET_VALUE = "s3cr3t-" + os.urandom(6).hex()


async def _post(gateway: Gateway, body: Any, *, user: str = "alice") -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(
            gateway.url + "/graphql",
            content=body if isinstance(body, bytes) else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {gateway.sandbox.tokens[user]}",
                "Content-Type": "application/json",
            },
        )


async def test_hostile_queries_are_refused_while_a_normal_one_answers(
    sandbox: Sandbox, gateway: Gateway
) -> None:
    deep = (
        "{ databases { nodes { "
        + "backup { configuration { " * 12
        + "name"
        + " } }" * 12
        + " } } }"
    )
    aliases = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(10_000)) + " }"
    huge_page = "{ snapshots(first: 100000) { totalCount } }"
    costly = "{ databases(first: 500) { nodes { snapshots(first: 500) { nodes { name } } } } }"

    async def subscriptions() -> dict[str, Any]:
        async with GraphQLWebSocket(gateway.url, sandbox.tokens["alice"]) as ws:
            ids = [
                await ws.subscribe("subscription { snapshotEvents { type } }") for _ in range(101)
            ]
            msg = await ws.message(ids[-1])
            payload: dict[str, Any] = (
                msg["payload"][0] if msg["type"] == "error" else msg["payload"]["errors"][0]
            )
            return payload

    hostile = asyncio.gather(
        _post(gateway, {"query": deep}),
        _post(gateway, {"query": aliases}),
        _post(gateway, {"query": huge_page}),
        _post(gateway, {"query": costly}),
        subscriptions(),
    )
    normal = await _post(gateway, {"query": "{ viewer { username } clusters { name } }"})
    assert normal.status_code == 200
    assert normal.json()["data"]["viewer"] == {"username": "alice"}
    r_deep, r_aliases, r_page, r_cost, sub_error = await hostile

    codes = {
        "deep": r_deep.json()["errors"][0]["extensions"]["code"],
        "aliases": r_aliases.json()["errors"][0]["extensions"]["code"],
        "page": r_page.json()["errors"][0]["extensions"]["code"],
        "cost": r_cost.json()["errors"][0]["extensions"]["code"],
        "subscriptions": sub_error["extensions"]["code"],
    }
    assert codes == {
        "deep": "QUERY_TOO_DEEP",
        "aliases": "QUERY_TOO_LARGE",
        "page": "BAD_USER_INPUT",
        "cost": "QUERY_TOO_COSTLY",
        "subscriptions": "TOO_MANY_SUBSCRIPTIONS",
    }
    assert (
        "100000" in r_page.json()["errors"][0]["message"]
        or "500" in r_page.json()["errors"][0]["message"]
    )
    assert r_cost.json()["errors"][0]["extensions"]["cost"] > 50_000


async def test_oversized_bodies_are_refused_before_anything_runs(gateway: Gateway) -> None:
    body = json.dumps({"query": "{ viewer { username } }", "variables": {"x": "y" * 2_000_000}})
    r = await _post(gateway, body.encode())
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secret_in_team_a(sandbox: Sandbox) -> str:
    """A real Secret whose value must never appear in any answer."""
    async with kube_http(sandbox, user="admin") as admin:
        r = await admin.post(
            "/api/v1/namespaces/team-a/secrets",
            json={
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"db-auth-{SECRET_VALUE[-6:]}"},
                "stringData": {"password": SECRET_VALUE},
            },
        )
        assert r.status_code in (201, 409), r.text
    return SECRET_VALUE


FIELDS = [
    "viewer { username groups }",
    "clusters { name reachable serverVersion }",
    "databases(first: 3) { totalCount nodes { id name kind phase backup { health problems } } }",
    "snapshots(first: 3) { nodes { name size components { name error } } }",
    "repositories(first: 2) { nodes { name storage { location { bucket endpoint } } } }",
    'backupStorages(namespace: "team-a") { name location { bucket } }',
    'backupMethods(databaseKind: "Postgres") { method }',
    'node(id: "x") { id }',
]
NAMES = st.sampled_from(FIELDS)
JUNK = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        query = "{ " + " ".join(draw(st.lists(NAMES, min_size=1, max_size=4))) + " }"
    elif kind == 1:
        query = draw(JUNK)
    elif kind == 2:
        query = "{ " + draw(NAMES)[: draw(st.integers(1, 40))]
    else:
        query = "query($a: Int, $b: String) { databases(first: $a, after: $b) { totalCount } }"
    variables = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"a": st.integers(-(10**12), 10**12), "b": st.one_of(st.none(), JUNK)}
            ),
            st.dictionaries(JUNK, st.one_of(st.integers(), JUNK, st.none()), max_size=3),
            JUNK,
        )
    )
    return {"query": query, "variables": variables}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents(), user=st.sampled_from(["admin", "alice", "bob"]))
def test_random_documents_never_break_the_gateway(
    served: str, sandbox: Sandbox, secret_in_team_a: str, doc: dict[str, Any], user: str
) -> None:
    # A gateway in its own process: this test is synchronous (hypothesis drives it).
    with httpx.Client(timeout=60) as client:
        r = client.post(
            served + "/graphql",
            json=doc,
            headers={"Authorization": f"Bearer {sandbox.tokens[user]}"},
        )
    assert r.status_code < 500, r.text
    text = r.text
    assert "Traceback" not in text
    assert 'File "' not in text
    assert secret_in_team_a not in text
    if r.headers.get("content-type", "").startswith("application/json"):
        for error in r.json().get("errors") or []:
            assert error.get("extensions", {}).get("code"), error
