"""Informers against a real API server: 410 Gone, restarts, and nothing missed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from apis.resources import ResourceType
from kube.client import KubeClient
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, ensure_namespace, eventually, kube_http, seed, settled
from watchers.informer import Change, Informer, Relisted

pytestmark = pytest.mark.sandbox

RETENTION = ResourceType(
    group="storage.kubestash.com",
    version="v1alpha1",
    plural="retentionpolicies",
    kind="RetentionPolicy",
)
PATH = "/apis/storage.kubestash.com/v1alpha1/namespaces/{ns}/retentionpolicies"


@pytest_asyncio.fixture(loop_scope="session")
async def client(sandbox: Sandbox) -> AsyncIterator[KubeClient]:
    c = sandbox.client(0)
    yield c
    await c.close()


async def _server_state(sandbox: Sandbox, ns: str) -> dict[str, str]:
    async with kube_http(sandbox, user="admin") as admin:
        items = (await admin.get(PATH.format(ns=ns))).json()["items"]
    return {i["metadata"]["name"]: i["spec"]["maxRetentionPeriod"] for i in items}


def _store_state(informer: Informer, ns: str) -> dict[str, str]:
    return {
        i["metadata"]["name"]: i["spec"]["maxRetentionPeriod"]
        for i in informer.by_index("namespace", ns)
    }


def _indexed(informer: Informer) -> Informer:
    informer.add_index("namespace", lambda obj: [obj["metadata"].get("namespace", "")])
    return informer


async def test_a_forced_410_re_lists_and_reports_every_missed_change(
    sandbox: Sandbox, client: KubeClient, unique: str
) -> None:
    ns = f"inf-410-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    await seed(sandbox, [o.retention_policy(n, ns) for n in ("keep", "change", "drop")])

    informer = _indexed(Informer(cluster="sandbox-1", client=client, resource=RETENTION))
    events: list[Change | Relisted] = []
    informer.add_listener(events.append)
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 15)
    assert set(_store_state(informer, ns)) == {"keep", "change", "drop"}
    await informer.stop()
    events.clear()

    # While the informer is away: change one, delete one, add one.
    changed = o.retention_policy("change", ns, max_period="90d")
    await seed(sandbox, [changed, o.retention_policy("new", ns)])
    async with kube_http(sandbox, user="admin") as admin:
        assert (await admin.delete(PATH.format(ns=ns) + "/drop")).status_code == 200

    # Resume from a resourceVersion the server has long forgotten: it answers 410 Gone.
    informer.resource_version = "1"
    informer.start()
    try:
        await eventually(lambda: informer.relists >= 1)
        expected = await _server_state(sandbox, ns)
        assert expected == {"keep": "30d", "change": "90d", "new": "30d"}
        await eventually(lambda: _store_state(informer, ns) == expected)
        mine = [e for e in events if isinstance(e, Change) and e.key[0] == ns]
        by_name = {e.key[1]: e for e in mine}
        assert by_name["drop"].type == "DELETED"
        assert by_name["change"].type == "UPDATED"
        assert by_name["new"].type == "ADDED"
        assert all(e.relist for e in mine), "changes found by a re-list are marked as such"
        assert "keep" not in by_name, "an unchanged object is not reported again"
        assert any(isinstance(e, Relisted) for e in events)
    finally:
        await informer.stop()


@pytest.mark.timeout(180)
async def test_an_informer_survives_an_api_server_restart(
    sandbox: Sandbox, gateway: Gateway, unique: str
) -> None:
    ns = f"inf-restart-{unique}"
    async with kube_http(sandbox, user="admin", cluster=1) as admin:
        await ensure_namespace(admin, ns)
    await seed(sandbox, [o.retention_policy("before", ns)], cluster=1)
    client = sandbox.client(1)
    informer = _indexed(
        Informer(cluster="sandbox-2", client=client, resource=RETENTION, max_backoff=1.0)
    )
    informer.start()
    try:
        await asyncio.wait_for(informer.synced.wait(), 15)
        await sandbox.restart_cluster(1)
        # Changes right after the restart, while the informer is still reconnecting.
        await seed(
            sandbox,
            [o.retention_policy("after", ns), o.retention_policy("before", ns, max_period="7d")],
            cluster=1,
        )
        async with kube_http(sandbox, user="admin", cluster=1) as admin:
            expected = {
                i["metadata"]["name"]: i["spec"]["maxRetentionPeriod"]
                for i in (await admin.get(PATH.format(ns=ns))).json()["items"]
            }
        assert expected == {"before": "7d", "after": "30d"}
        await eventually(lambda: _store_state(informer, ns) == expected, timeout=30)
        assert informer.healthy
    finally:
        await informer.stop()
        await client.close()
        await settled(gateway)  # the session's gateway reconnects too; later tests need it
