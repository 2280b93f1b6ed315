"""The permission matrix: the gateway shows each person exactly what the API server would.

For admin, alice and bob, on both clusters, every list query, `node`, `database` and
every subscription is compared with what the real API server returns when asked
directly with that person's own token. Zero extra objects; zero storage locations
shown to someone who may not read the BackupStorage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, eventually, kube_http, seed
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

USERS = ("admin", "alice", "bob")
NAMESPACES = ("team-a", "team-b", "kubedb")
CLUSTERS = (0, 1)
Key = tuple[str, str, str]  # (cluster, namespace, name)

RESOURCES = {
    "databases": ("kubedb.com/v1", "postgreses"),
    "snapshots": ("storage.kubestash.com/v1alpha1", "snapshots"),
    "repositories": ("storage.kubestash.com/v1alpha1", "repositories"),
    "backupSessions": ("core.kubestash.com/v1alpha1", "backupsessions"),
    "restoreSessions": ("core.kubestash.com/v1alpha1", "restoresessions"),
    "backupStorages": ("storage.kubestash.com/v1alpha1", "backupstorages"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def marker(sandbox: Sandbox, gateway: Gateway) -> AsyncIterator[str]:
    """Objects of every kind in every namespace on both clusters, names ending in marker."""
    import os

    mark = f"pm{os.urandom(2).hex()}"
    now = datetime.now(UTC).replace(microsecond=0)
    for cluster in CLUSTERS:
        objs: list[dict[str, Any]] = []
        for ns in NAMESPACES:
            db = o.database("Postgres", f"pg-{mark}", ns)
            bc = o.backup_configuration(
                f"bc-{mark}", db, storage=(ns, f"st-{mark}"), retention=(ns, f"rp-{mark}")
            )
            repo = o.repository(db, f"repo-{mark}", storage=(ns, f"st-{mark}"))
            objs += [
                o.backup_storage(f"st-{mark}", ns, bucket=f"secret-bucket-{ns}"),
                o.retention_policy(f"rp-{mark}", ns),
                db,
                bc,
                repo,
                o.backup_session(f"run-{mark}", bc, snapshots=[f"snap-{mark}"]),
                o.snapshot(
                    f"snap-{mark}", repo, session=f"run-{mark}", taken=now - timedelta(minutes=1)
                ),
                o.restore_session(f"restore-{mark}", db, repository=f"repo-{mark}"),
            ]
        await seed(sandbox, objs, cluster=cluster)

    async def synced() -> bool:
        body = await gateway.query("{ snapshots(first: 500) { nodes { name } } }", user="admin")
        return sum(mark in n["name"] for n in body["data"]["snapshots"]["nodes"]) == 6

    await eventually(synced, timeout=20)
    yield mark


async def _direct(sandbox: Sandbox, user: str, resource: str, mark: str) -> set[Key]:
    """What the API server lets ``user`` list, asked with the user's own token."""
    api, plural = RESOURCES[resource]
    found: set[Key] = set()
    for cluster in CLUSTERS:
        name = sandbox.clusters[cluster].name
        async with kube_http(sandbox, user=user, cluster=cluster) as client:
            for ns in NAMESPACES:
                r = await client.get(f"/apis/{api}/namespaces/{ns}/{plural}")
                if r.status_code == 403:
                    continue
                assert r.status_code == 200, r.text
                found |= {
                    (name, ns, i["metadata"]["name"])
                    for i in r.json()["items"]
                    if mark in i["metadata"]["name"]
                }
    return found


async def _gateway(gateway: Gateway, user: str, resource: str, mark: str) -> set[Key]:
    ns = list(NAMESPACES)
    if resource == "backupStorages":
        found: set[Key] = set()
        for cluster in ("sandbox-1", "sandbox-2"):
            for namespace in ns:
                body = await gateway.query(
                    """query($c: String, $ns: String!) { backupStorages(cluster: $c,
                        namespace: $ns) { cluster namespace name location { bucket } } }""",
                    {"c": cluster, "ns": namespace},
                    user=user,
                )
                found |= {
                    (s["cluster"], s["namespace"], s["name"])
                    for s in body["data"]["backupStorages"]
                    if mark in s["name"] and s["location"] is not None
                }
        return found
    body = await gateway.query(
        f"""query($ns: [String!]) {{ {resource}(first: 500, filter: {{namespaces: $ns}}) {{
            nodes {{ cluster namespace name }} clusterErrors {{ cluster }} }} }}""",
        {"ns": ns},
        user=user,
    )
    conn = body["data"][resource]
    assert conn["clusterErrors"] == []
    return {(n["cluster"], n["namespace"], n["name"]) for n in conn["nodes"] if mark in n["name"]}


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("resource", list(RESOURCES))
async def test_lists_show_exactly_what_the_api_server_allows(
    sandbox: Sandbox, gateway: Gateway, marker: str, user: str, resource: str
) -> None:
    direct = await _direct(sandbox, user, resource, marker)
    shown = await _gateway(gateway, user, resource, marker)
    # For backupStorages `shown` holds only storages whose location was given: summaries
    # may go to people who may create databases, locations only to those who may read.
    assert shown == direct
    expected_namespaces = {"admin": set(NAMESPACES), "alice": {"team-a"}, "bob": {"team-b"}}[user]
    if resource != "backupStorages" or user == "admin":
        assert {ns for _, ns, _ in direct} == expected_namespaces


@pytest.mark.parametrize("user", USERS)
async def test_single_objects_and_joins_respect_access(
    sandbox: Sandbox, gateway: Gateway, marker: str, user: str
) -> None:
    ids = await gateway.query(
        """query($ns: [String!]) { databases(first: 500, filter: {namespaces: $ns}) {
            nodes { id cluster namespace name } } }""",
        {"ns": list(NAMESPACES)},
        user="admin",
    )
    allowed = await _direct(sandbox, user, "databases", marker)
    for node in ids["data"]["databases"]["nodes"]:
        if marker not in node["name"]:
            continue
        key = (node["cluster"], node["namespace"], node["name"])
        body = await gateway.query(
            """query($id: ID!, $ns: String!, $name: String!, $c: String) {
                node(id: $id) { id }
                database(ref: {cluster: $c, namespace: $ns, name: $name}) {
                    name snapshots { nodes { name
                        repository { name storage { location { bucket } } } } }
                } }""",
            {"id": node["id"], "ns": node["namespace"], "name": node["name"], "c": node["cluster"]},
            user=user,
        )
        data = body["data"]
        if key in allowed:
            assert data["node"] == {"id": node["id"]}
            snaps = data["database"]["snapshots"]["nodes"]
            assert [s["name"] for s in snaps] == [f"snap-{marker}"]
            storage = snaps[0]["repository"]["storage"]
            can_read_storage = (
                key[1] in {"admin": NAMESPACES, "alice": ("team-a",), "bob": ("team-b",)}[user]
            )
            assert (storage is not None and storage["location"] is not None) == can_read_storage
        else:
            assert data == {"node": None, "database": None}


SUBSCRIPTIONS = {
    "databases": ("databaseEvents", "database"),
    "snapshots": ("snapshotEvents", "snapshot"),
    "backupSessions": ("backupSessionEvents", "backupSession"),
    "restoreSessions": ("restoreSessionEvents", "restoreSession"),
}


@pytest.mark.parametrize("user", USERS)
async def test_subscriptions_show_exactly_what_the_api_server_allows(
    sandbox: Sandbox, gateway: Gateway, marker: str, user: str
) -> None:
    async with GraphQLWebSocket(gateway.url, sandbox.tokens[user]) as ws:
        for resource, (field, _) in SUBSCRIPTIONS.items():
            direct = await _direct(sandbox, user, resource, marker)
            sid = await ws.subscribe(
                f"subscription($ns: [String!]) {{ {field}(filter: {{namespaces: $ns}}) {{"
                " type ref { cluster namespace name } } }",
                {"ns": list(NAMESPACES)},
            )
            seen: set[Key] = set()
            # INITIAL events come first: wait (on a loaded machine, access reviews take
            # a while) until every object the API server shows has come, then for a
            # quiet moment, so that any event beyond them would be seen too.
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                missing = not direct <= seen
                left = deadline - asyncio.get_running_loop().time()
                try:
                    event = await ws.event(sid, field, timeout=max(left, 0.1) if missing else 2)
                except TimeoutError:
                    break
                assert event["type"] == "INITIAL"
                ref = event["ref"]
                if marker in ref["name"]:
                    seen.add((ref["cluster"], ref["namespace"], ref["name"]))
            await ws.complete(sid)
            assert seen == direct, resource
