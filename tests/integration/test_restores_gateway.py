"""Restores through the gateway, against the real sandbox with the simulator playing
KubeDB and KubeStash: restoreDatabase's workflow to its end with each resume mode,
its events, new databases from snapshots and points in time (also across clusters),
the refusals that change nothing, traffic on its own, and who may do what."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.demo import installation
from sandbox.simulator import Simulator
from tests.helpers import Gateway, ensure_namespace, eventually, kube_http, seed
from tests.restores import (
    admin_get,
    create,
    database,
    listing,
    mutate,
    restorable,
    states,
    until_db,
    workflow_phase,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]

PREFIX = f"rt{os.urandom(2).hex()}-"
NS = f"{PREFIX}a"
C1, C2 = "sandbox-1", "sandbox-2"
BC = "/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/backupconfigurations/{name}"
SVC = "/api/v1/namespaces/{ns}/services/{name}"


def ref(name: str, *, cluster: str = C1, ns: str = NS) -> dict[str, Any]:
    return {"cluster": cluster, "kind": "Postgres", "namespace": ns, "name": name}


def snap_ref(name: str, *, cluster: str = C1, ns: str = NS) -> dict[str, Any]:
    return {"cluster": cluster, "namespace": ns, "name": name}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(sandbox: Sandbox, gateway: Gateway) -> AsyncIterator[Simulator]:
    """The namespace on both clusters with a storage, a retention policy and checks; the
    addons and catalog; a simulator for this module's namespaces only."""
    for cluster in range(len(sandbox.clusters)):
        async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
            await ensure_namespace(admin, NS)
        passing = o.hook_template("count-rows", NS, command=("true",), scope="Same")
        failing = o.hook_template("always-fails", NS, command=("true",), scope="Same")
        failing["metadata"]["annotations"] = {"sim.stashql.io/fail": "true"}
        credentials = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s3-credentials", "namespace": NS},
            "stringData": {"AWS_ACCESS_KEY_ID": "AKIARTEST", "AWS_SECRET_ACCESS_KEY": "rt-k"},
        }
        await seed(sandbox, installation(), cluster=cluster)
        await create(
            sandbox,
            o.backup_storage("s3", NS),
            o.retention_policy("keep", NS, last=5),
            passing,
            failing,
            credentials,
            cluster=cluster,
        )
    clients = {c.name: sandbox.client(c.name) for c in sandbox.clusters}
    simulator = Simulator(
        clients, time_scale=600, step=0.25, namespace_filter=lambda ns: ns.startswith(PREFIX)
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()
        for client in clients.values():
            await client.close()


async def running(gateway: Gateway, name: str, *, cluster: str = C1) -> dict[str, Any]:
    """The database once the gateway sees it READY, accepting traffic, with its snapshot."""

    async def ready() -> dict[str, Any] | None:
        db = await database(gateway, ref(name, cluster=cluster))
        if not db or db["phase"] != "READY" or db["traffic"]["state"] != "ACCEPTING":
            return None
        options = await gateway.query(
            "query($d: ObjectRefInput) { restoreOptions(database: $d) {"
            " logicalSnapshots(first: 5) { nodes { name } } } }",
            {"d": ref(name, cluster=cluster)},
        )
        nodes = options["data"]["restoreOptions"]["logicalSnapshots"]["nodes"]
        return db if any(n["name"] == f"{name}-snap" for n in nodes) else None

    found: dict[str, Any] = await eventually(ready, timeout=60, interval=0.3)
    return found


async def restore(gateway: Gateway, name: str, **kw: Any) -> dict[str, Any]:
    inp = {"database": ref(name), "source": {"snapshot": snap_ref(f"{name}-snap")}, **kw}
    payload = await mutate(gateway, "restoreDatabase", inp)
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["restore"] is not None
    return payload


async def selector(sandbox: Sandbox, name: str) -> dict[str, str]:
    svc = await admin_get(sandbox, SVC.format(ns=NS, name=name))
    assert svc is not None
    return dict(svc["spec"]["selector"])


async def bc_paused(sandbox: Sandbox, name: str) -> bool:
    bc = await admin_get(sandbox, BC.format(ns=NS, name=f"{name}-backup"))
    assert bc is not None
    return bool(bc["spec"].get("paused"))


# ------------------------------------------------------------------- restoreDatabase


async def test_automatic_restore_runs_every_step_and_traffic_returns(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"auto-{unique}"
    await restorable(sandbox, NS, name, backup=True)
    await running(gateway, name)
    original = await selector(sandbox, name)
    payload = await restore(gateway, name)
    codes = {w["code"] for w in payload["warnings"]}
    assert {"TRAFFIC_STOPPED", "BACKUPS_PAUSED_DURING_RESTORE"} <= codes, codes
    assert payload["restoreSession"]["name"].startswith(f"{name}-restore-")
    assert await selector(sandbox, name) == {"stashql.io/traffic": "paused"}
    assert await bc_paused(sandbox, name)
    done = await until_db(gateway, ref(name), workflow_phase("SUCCEEDED"))
    assert states(done["restoreWorkflow"]) == {
        "PAUSE_TRAFFIC": "SUCCEEDED",
        "PAUSE_BACKUPS": "SUCCEEDED",
        "RESTORE_DATA": "SUCCEEDED",
        "RUN_CHECKS": "SKIPPED",
        "AWAIT_RESUME": "SKIPPED",
        "RESUME_BACKUPS": "SUCCEEDED",
        "RESUME_TRAFFIC": "SUCCEEDED",
    }
    await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "ACCEPTING")
    assert await selector(sandbox, name) == original
    await eventually(lambda: _not(bc_paused(sandbox, name)), timeout=30)


async def _not(value: Any) -> bool:
    return not await value
