"""Many clusters: one that is down, credentials from an exec plugin, policies per namespace."""

from __future__ import annotations

import asyncio
import stat
import sys
import time
from pathlib import Path

import pytest
import yaml

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from server import Settings
from tests.helpers import (
    Gateway,
    ensure_namespace,
    eventually,
    free_port,
    kube_http,
    run_gateway,
    seed,
    stop_gateway,
)

pytestmark = pytest.mark.sandbox


def _kubeconfig_with_dead_cluster(sandbox: Sandbox, path: Path) -> Path:
    doc = yaml.safe_load(sandbox.kubeconfig.read_text())
    dead = {
        "server": f"https://127.0.0.1:{free_port()}",
        "certificate-authority": str(sandbox.ca_file),
    }
    doc["clusters"].append({"name": "dead", "cluster": dead})
    user = doc["users"][0]["name"]
    doc["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": user}})
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.timeout(90)
async def test_a_dead_cluster_never_fails_the_query(
    sandbox: Sandbox, tmp_path: Path, unique: str
) -> None:
    ns = f"dead-{unique}"
    for cluster in (0, 1):
        async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
            await ensure_namespace(admin, ns)
        await seed(sandbox, [o.database("Postgres", f"pg-{cluster}", ns)], cluster=cluster)

    started = time.monotonic()
    settings = Settings(
        kubeconfig=_kubeconfig_with_dead_cluster(sandbox, tmp_path / "kubeconfig"),
        all_contexts=True,
        port=free_port(),
    )
    server, task = await run_gateway(settings)
    try:
        gateway = Gateway(f"http://127.0.0.1:{settings.port}", sandbox)

        async def answered() -> dict[str, object] | None:
            body = await gateway.query(
                """query($ns: [String!]) { clusters { name reachable error }
                   databases(filter: {namespaces: $ns}) { totalCount nodes { cluster name }
                     clusterErrors { cluster code retryable message } } }""",
                {"ns": [ns]},
            )
            data: dict[str, object] = body["data"]
            conn = data["databases"]
            assert isinstance(conn, dict)
            return data if conn["totalCount"] == 2 else None

        data = await eventually(answered, timeout=15)
        assert time.monotonic() - started < 15
        conn = data["databases"]
        assert [(n["cluster"], n["name"]) for n in conn["nodes"]] == [
            ("sandbox-1", "pg-0"),
            ("sandbox-2", "pg-1"),
        ]
        [error] = conn["clusterErrors"]
        assert error["cluster"] == "dead"
        assert error["code"] == "UNREACHABLE"
        assert error["retryable"] is True
        dead = next(c for c in data["clusters"] if c["name"] == "dead")
        assert dead["reachable"] is False
        assert dead["error"]
    finally:
        await stop_gateway(server, task)


async def test_credentials_from_an_exec_plugin(sandbox: Sandbox, tmp_path: Path) -> None:
    """kubeconfigs of managed clusters (EKS, GKE, OIDC) get tokens from a plugin."""
    plugin = tmp_path / "token-plugin"
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', "
        f"'status': {{'token': {sandbox.gateway_token!r}}}}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    doc = yaml.safe_load(sandbox.kubeconfig.read_text())
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    settings = Settings(kubeconfig=kubeconfig, all_contexts=True, port=free_port())
    server, task = await run_gateway(settings)
    try:
        gateway = Gateway(f"http://127.0.0.1:{settings.port}", sandbox)
        body = await gateway.query(
            "{ viewer { username } clusters { name reachable } }", user="bob"
        )
        assert body["data"]["viewer"]["username"] == "bob"
        assert all(c["reachable"] for c in body["data"]["clusters"])
    finally:
        await stop_gateway(server, task)


async def test_usage_policies_decide_which_namespaces_see_a_policy(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    admin_ns, labelled, plain = f"pol-{unique}", f"pol-{unique}-gold", f"pol-{unique}-plain"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, admin_ns)
        await ensure_namespace(admin, labelled, {"backup-tier": "gold"})
        await ensure_namespace(admin, plain)
    gold = {"matchExpressions": [{"key": "backup-tier", "operator": "In", "values": ["gold"]}]}
    await seed(
        sandbox,
        [
            o.backup_storage(f"all-{unique}", admin_ns, scope="All"),
            o.backup_storage(f"same-{unique}", admin_ns, scope="Same"),
            o.backup_storage(f"gold-{unique}", admin_ns, scope="Selector", selector=gold),
            o.retention_policy(f"gold-{unique}", admin_ns, scope="Selector", selector=gold),
            o.retention_policy(f"same-{unique}", admin_ns),  # usagePolicy.from defaults to Same
            o.blueprint(
                f"gold-{unique}",
                admin_ns,
                storage=(admin_ns, f"gold-{unique}"),
                retention=(admin_ns, f"gold-{unique}"),
                scope="Selector",
                selector=gold,
            ),
        ],
    )

    async def usable(namespace: str) -> dict[str, set[str]]:
        body = await gateway.query(
            """query($ns: String!) {
                backupStorages(cluster: "sandbox-1", namespace: $ns) { name }
                retentionPolicies(cluster: "sandbox-1", namespace: $ns) { name }
                backupPolicies(cluster: "sandbox-1", namespace: $ns, databaseKind: "Postgres") {
                    name }
            }""",
            {"ns": namespace},
        )
        return {
            key: {x["name"] for x in value if x["name"].endswith(unique)}
            for key, value in body["data"].items()
        }

    expected = {
        admin_ns: {
            "backupStorages": {f"all-{unique}", f"same-{unique}"},
            "retentionPolicies": {f"same-{unique}"},
            "backupPolicies": set(),
        },
        labelled: {
            "backupStorages": {f"all-{unique}", f"gold-{unique}"},
            "retentionPolicies": {f"gold-{unique}"},
            "backupPolicies": {f"gold-{unique}"},
        },
        plain: {
            "backupStorages": {f"all-{unique}"},
            "retentionPolicies": set(),
            "backupPolicies": set(),
        },
    }

    async def matches() -> bool:
        return all([await usable(ns) == want for ns, want in expected.items()])

    await eventually(matches)
    for ns, want in expected.items():
        assert await usable(ns) == want, ns

    # Labels change: the namespace now qualifies for the Selector policies, live.
    async with kube_http(sandbox, user="admin") as admin:
        r = await admin.patch(
            f"/api/v1/namespaces/{plain}",
            json={"metadata": {"labels": {"backup-tier": "gold"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200

    async def plain_qualifies() -> bool:
        return f"gold-{unique}" in (await usable(plain))["backupPolicies"]

    await eventually(plain_qualifies)


async def test_pages_never_skip_or_repeat_while_objects_are_added(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    from datetime import UTC, datetime, timedelta

    ns = f"page-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    db = o.database("Postgres", "pg", ns)
    repo = o.repository(db, "repo", storage=(ns, "s3"))
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    stable = [
        o.snapshot(f"s-{i:03d}", repo, session="run", taken=base + timedelta(minutes=7 * i))
        for i in range(60)
    ]
    await seed(sandbox, [db, repo, *stable])

    query = """query($ns: [String!], $after: String) { snapshots(first: 7, after: $after,
        filter: {namespaces: $ns}) { pageInfo { hasNextPage endCursor }
        nodes { name snapshotTime } } }"""

    async def all_visible() -> bool:
        body = await gateway.query(
            "query($ns: [String!]) { snapshots(filter: {namespaces: $ns}) { totalCount } }",
            {"ns": [ns]},
        )
        return bool(body["data"]["snapshots"]["totalCount"] == 60)

    await eventually(all_visible)

    async def writer() -> None:
        # New snapshots land everywhere in the order: before, inside and after the pages
        # already read; some of the stable ones get a status update too.
        for i in range(30):
            taken = base + timedelta(minutes=7 * ((i * 13) % 60) + 3)
            await seed(sandbox, [o.snapshot(f"new-{i:03d}", repo, session="run2", taken=taken)])
            await asyncio.sleep(0.02)

    seen: list[tuple[str, str]] = []
    task = asyncio.create_task(writer())
    try:
        after = None
        while True:
            body = await gateway.query(query, {"ns": [ns], "after": after})
            conn = body["data"]["snapshots"]
            seen += [(n["snapshotTime"], n["name"]) for n in conn["nodes"]]
            await asyncio.sleep(0.05)
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
    finally:
        await task
    names = [name for _, name in seen]
    assert len(names) == len(set(names)), "an item was repeated"
    assert {s["metadata"]["name"] for s in stable} <= set(names), "an item was skipped"
    assert seen == sorted(seen, reverse=True), "the order broke across pages"


def _counting_plugin(tmp_path: Path, token: str, *, expires: str | None) -> tuple[Path, Path]:
    counter = tmp_path / "calls"
    plugin = tmp_path / "counting-plugin"
    status = {"token": token} | ({"expirationTimestamp": expires} if expires else {})
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "p.write_text(str(int(p.read_text() or 0) + 1) if p.exists() else '1')\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        f"'kind': 'ExecCredential', 'status': {status!r}}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    return plugin, counter


@pytest.mark.parametrize(("expires", "calls"), [("2000-01-01T00:00:00Z", 3), (None, 1)])
async def test_expiring_exec_credentials_are_refreshed(
    sandbox: Sandbox, tmp_path: Path, expires: str | None, calls: int
) -> None:
    from kube.config import load_kubeconfig

    plugin, counter = _counting_plugin(tmp_path, sandbox.gateway_token, expires=expires)
    doc = yaml.safe_load(sandbox.kubeconfig.read_text())
    doc["users"][0]["user"] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin)}
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    [cluster] = await load_kubeconfig(kubeconfig, contexts=["sandbox-1"])
    client = cluster.client(refresh_interval=0)
    try:
        for _ in range(2):
            # Each call succeeds against the real API server with the plugin's token.
            assert (await client.get("/apis/kubedb.com/v1"))["groupVersion"] == "kubedb.com/v1"
    finally:
        await client.close()
    # Loading ran the plugin once; an expired credential is fetched again on every use,
    # a credential without expiry never again.
    assert int(counter.read_text()) == calls


async def test_a_gateway_that_reaches_no_cluster_is_not_ready(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import httpx
    import uvicorn

    from server import create_app

    doc = yaml.safe_load(_kubeconfig_with_dead_cluster(sandbox, tmp_path / "all").read_text())
    doc["contexts"] = [c for c in doc["contexts"] if c["name"] == "dead"]
    doc["current-context"] = "dead"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(doc))
    settings = Settings(kubeconfig=kubeconfig, port=free_port())
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{settings.port}"
    try:
        async with httpx.AsyncClient(timeout=10) as client:

            async def answers() -> httpx.Response | None:
                try:
                    return await client.get(url + "/readyz")
                except httpx.TransportError:
                    return None

            ready = await eventually(answers)
            assert ready.status_code == 503
            assert ready.json()["clusters"]["dead"]["reachable"] is False
            r = await client.post(
                url + "/graphql",
                json={"query": "{ viewer { username } }"},
                headers={"Authorization": f"Bearer {sandbox.tokens['alice']}"},
            )
            # Nobody can check the token: a retryable 503, not a 401 or a 500.
            assert r.status_code == 503
            assert r.json()["errors"][0]["extensions"]["code"] == "AUTH_UNAVAILABLE"
    finally:
        server.should_exit = True
        await task
