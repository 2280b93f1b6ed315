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

from gateway.settings import Settings
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.demo import installation
from sandbox.simulator import Simulator
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
async def gateway(sandbox: Sandbox) -> AsyncIterator[Gateway]:
    """A gateway of this module's own, with the restore workflows' controller (the
    session's shared gateway runs without one; see tests/conftest.py)."""
    settings = Settings(kubeconfig=sandbox.kubeconfig, all_contexts=True, port=free_port())
    server, task = await run_gateway(settings)
    try:
        yield Gateway(f"http://127.0.0.1:{settings.port}", sandbox)
    finally:
        await stop_gateway(server, task)


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
    # The plan ends with the steps the workflow takes later, each naming what it touches:
    # backups resumed, then the Service, the record and the maintenance Service.
    later = [(c["kind"], c["name"]) for c in payload["plan"] if c["action"] == "WAIT"]
    assert later[-4:] == [
        ("BackupConfiguration", f"{name}-backup"),
        ("Service", name),
        ("Postgres", name),
        ("Service", f"{name}-maintenance"),
    ], payload["plan"]
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


def check(template: str, **params: str) -> dict[str, Any]:
    found: dict[str, Any] = {"hookTemplate": snap_ref(template)}
    if params:
        found["params"] = params
    return found


async def test_after_checks_resumes_traffic_once_the_check_passed(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"chk-{unique}"
    await restorable(sandbox, NS, name, backup=True)
    await running(gateway, name)
    original = await selector(sandbox, name)
    await restore(gateway, name, resume="AFTER_CHECKS", checks=[check("count-rows")])
    done = await until_db(gateway, ref(name), workflow_phase("SUCCEEDED"))
    workflow = done["restoreWorkflow"]
    assert states(workflow)["RUN_CHECKS"] == "SUCCEEDED"
    assert [c["state"] for c in workflow["checks"]] == ["SUCCEEDED"]
    await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "ACCEPTING")
    assert await selector(sandbox, name) == original
    await eventually(lambda: _not(bc_paused(sandbox, name)), timeout=30)


@pytest.mark.parametrize("how", ["annotation", "params"])
async def test_a_failing_check_fails_the_restore_and_keeps_traffic_and_backups_paused(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str, how: str
) -> None:
    name = f"bad-{how[:3]}-{unique}"
    await restorable(sandbox, NS, name, backup=True)
    await running(gateway, name)
    failing = check("always-fails") if how == "annotation" else check("count-rows", fail="true")
    await restore(gateway, name, resume="AFTER_CHECKS", checks=[failing])
    failed = await until_db(gateway, ref(name), workflow_phase("FAILED"))
    workflow = failed["restoreWorkflow"]
    assert workflow["currentStep"]["kind"] in ("RUN_CHECKS", "RESTORE_DATA"), workflow
    assert workflow["currentStep"]["state"] == "FAILED"
    assert workflow["currentStep"]["message"]
    assert states(workflow)["RESUME_TRAFFIC"] == "PENDING"
    await asyncio.sleep(2)  # nothing moves a failed workflow on
    again = await database(gateway, ref(name))
    assert again is not None
    assert again["traffic"]["state"] == "PAUSED"
    assert again["restoreWorkflow"]["phase"] == "FAILED"
    assert await selector(sandbox, name) == {"stashql.io/traffic": "paused"}
    assert await bc_paused(sandbox, name)


EVENTS = (
    "subscription($f: RestoreWorkflowFilter) { restoreWorkflowEvents(filter: $f) {"
    " type workflowId step previousState state workflow { phase } } }"
)


async def test_manual_awaits_resume_and_every_step_transition_is_streamed(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    from tests.ws import GraphQLWebSocket

    name = f"man-{unique}"
    await restorable(sandbox, NS, name, backup=True)
    await running(gateway, name)
    original = await selector(sandbox, name)
    async with GraphQLWebSocket(gateway.url, sandbox.tokens["admin"]) as ws:
        sid = await ws.subscribe(EVENTS, {"f": {"database": ref(name)}})
        await asyncio.sleep(1)  # the subscription is registered before the workflow starts
        payload = await restore(gateway, name, resume="MANUAL")
        assert "MANUAL_RESUME_REQUIRED" in {w["code"] for w in payload["warnings"]}
        wid = payload["restore"]["id"]
        waiting = await until_db(gateway, ref(name), workflow_phase("AWAITING_RESUME"))
        assert waiting["restoreWorkflow"]["currentStep"]["kind"] == "AWAIT_RESUME"
        await asyncio.sleep(1.5)
        assert await selector(sandbox, name) == {"stashql.io/traffic": "paused"}
        assert (await database(gateway, ref(name)) or {})["traffic"]["state"] == "PAUSED"

        resumed = await mutate(gateway, "resumeDatabaseTraffic", {"database": ref(name)})
        assert resumed["userErrors"] == [], resumed["userErrors"]
        assert resumed["restore"]["id"] == wid
        assert resumed["restore"]["phase"] == "SUCCEEDED"
        assert await selector(sandbox, name) == original
        await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "ACCEPTING")
        await eventually(lambda: _not(bc_paused(sandbox, name)), timeout=30)

        events: list[dict[str, Any]] = []
        while True:
            event = await ws.event(sid, "restoreWorkflowEvents", timeout=20)
            events.append(event)
            if (event.get("workflow") or {}).get("phase") == "SUCCEEDED" and not ws.pending(sid):
                break
    assert all(e["workflowId"] == wid for e in events if e["type"] != "RESYNC")
    transitions = {(e["step"], e["state"]) for e in events if e["step"]}
    final = (await database(gateway, ref(name)) or {})["restoreWorkflow"]
    for kind, state in states(final).items():
        if state == "SUCCEEDED":
            assert (kind, "SUCCEEDED") in transitions, (kind, sorted(transitions))
    assert ("AWAIT_RESUME", "RUNNING") in transitions, sorted(transitions)
    listed = await gateway.query(
        "query($f: RestoreWorkflowFilter) { restoreWorkflows(filter: $f, first: 5) {"
        " totalCount nodes { id phase startedBy } } }",
        {"f": {"database": ref(name)}},
    )
    page = listed["data"]["restoreWorkflows"]
    assert page["totalCount"] == 1
    assert page["nodes"] == [{"id": wid, "phase": "SUCCEEDED", "startedBy": "admin"}]


# ------------------------------------------------------------------- new databases


async def until_ready(gateway: Gateway, db_ref: dict[str, Any], *, timeout: float = 60) -> None:
    await until_db(gateway, db_ref, lambda d: d["phase"] == "READY", timeout=timeout)


async def test_point_in_time_inside_at_both_edges_and_outside_the_window(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"pit-{unique}"
    db = o.database("Postgres", name, NS, phase=None)
    await create(sandbox, db)
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=2), now - timedelta(minutes=10)
    full = o.repository(db, f"{name}-full", storage=(NS, "s3"), snapshots=1)
    base = o.snapshot(f"{name}-full-base", full, session="base", taken=start, size="16 MiB")
    logs = o.log_snapshot(f"{name}-full-logs", full, start=start, end=end)
    await seed(sandbox, [full, base, logs])

    async def window() -> dict[str, Any] | None:
        body = await gateway.query(
            "query($d: ObjectRefInput) { restoreOptions(database: $d) {"
            " recoveryWindow { start end } } }",
            {"d": ref(name)},
        )
        found: dict[str, Any] | None = body["data"]["restoreOptions"]["recoveryWindow"]
        return found if found and found["start"] and found["end"] else None

    seen = await eventually(window, timeout=30, interval=0.3)
    assert (_time(seen["start"]), _time(seen["end"])) == (start, end), seen

    def recover(target: str, when: datetime, **kw: Any) -> dict[str, Any]:
        source = {"pointInTime": {"database": ref(name), "time": when.isoformat()}}
        return {"source": source, "namespace": NS, "name": target, **kw}

    await until_ready(gateway, ref(name))
    before = await listing(sandbox, cluster=0, namespaces=[NS])
    outside = await mutate(
        gateway, "restoreToNewDatabase", recover(f"{name}-late", end + timedelta(minutes=1))
    )
    refusal = next(e for e in outside["userErrors"] if e["code"] == "RECOVERY_TIME_OUTSIDE_WINDOW")
    assert start.isoformat() in refusal["message"]
    assert end.isoformat() in refusal["message"]
    early = await mutate(
        gateway, "restoreToNewDatabase", recover(f"{name}-early", start - timedelta(seconds=1))
    )
    assert [e["code"] for e in early["userErrors"]] == ["RECOVERY_TIME_OUTSIDE_WINDOW"]
    # Into an existing database: a point in time is only for a new one.
    existing = await mutate(
        gateway,
        "restoreDatabase",
        {
            "database": ref(name),
            "source": {"pointInTime": {"database": ref(name), "time": end.isoformat()}},
        },
    )
    assert [e["code"] for e in existing["userErrors"]] == ["RECOVERY_NOT_AVAILABLE"]
    assert await listing(sandbox, cluster=0, namespaces=[NS]) == before

    targets = {
        f"{name}-mid": start + timedelta(minutes=30),
        f"{name}-start": start,
        f"{name}-end": end,
    }
    for target, when in targets.items():
        payload = await mutate(gateway, "restoreToNewDatabase", recover(target, when))
        assert payload["userErrors"] == [], (target, payload["userErrors"])
        assert payload["database"]["name"] == target
        assert payload["restoreSession"] is None  # KubeDB replays the logs itself
        made = await admin_get(sandbox, f"/apis/kubedb.com/v1/namespaces/{NS}/postgreses/{target}")
        assert made is not None
        archiver = made["spec"]["init"]["archiver"]
        assert _time(archiver["recoveryTimestamp"]) == when
        assert archiver["fullDBRepository"] == {"namespace": NS, "name": f"{name}-full"}
    for target in targets:
        await until_ready(gateway, ref(target))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_create_database_from_a_snapshot_provisions_until_the_data_is_in(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"src-{unique}"
    await restorable(sandbox, NS, name)
    await running(gateway, name)
    target = f"new-{unique}"
    payload = await mutate(
        gateway,
        "createDatabase",
        {
            "cluster": C1,
            "namespace": NS,
            "name": target,
            "kind": "Postgres",
            "version": "16.4",
            "storageSize": "3Gi",
            "initFrom": {"snapshot": snap_ref(f"{name}-snap")},
        },
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    session = payload["restoreSession"]["name"]
    made = await admin_get(sandbox, f"/apis/kubedb.com/v1/namespaces/{NS}/postgreses/{target}")
    assert made is not None
    assert made["spec"]["init"]["waitForInitialRestore"] is True
    phases: list[str] = []

    async def ready() -> bool:
        db = await database(gateway, ref(target))
        phase = (db or {}).get("phase")
        if phase and (not phases or phases[-1] != phase):
            phases.append(phase)
        return phase == "READY"

    await eventually(ready, timeout=60, interval=0.2)
    # Never READY before the data is in: provisioning, then restoring its data.
    assert set(phases[:-1]) <= {"UNKNOWN", "PROVISIONING", "DATA_RESTORING"}, phases
    assert {"PROVISIONING", "DATA_RESTORING"} & set(phases), phases
    rs = await admin_get(
        sandbox, f"/apis/core.kubestash.com/v1alpha1/namespaces/{NS}/restoresessions/{session}"
    )
    assert rs is not None
    assert rs["status"]["phase"] == "Succeeded"


async def test_a_snapshot_of_cluster_two_fills_a_new_database_in_cluster_one(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"far-{unique}"
    await restorable(sandbox, NS, name, cluster=1)
    await running(gateway, name, cluster=C2)
    target_ns = f"{PREFIX}x-{unique}"
    async with kube_http(sandbox, user="admin", cluster=0) as admin:
        await ensure_namespace(admin, target_ns)
    target = f"copy-{unique}"
    payload = await mutate(
        gateway,
        "restoreToNewDatabase",
        {
            "source": {"snapshot": snap_ref(f"{name}-snap", cluster=C2)},
            "cluster": C1,
            "namespace": target_ns,
            "name": target,
            "storageSize": "7Gi",
        },
    )
    assert payload["userErrors"] == [], payload["userErrors"]
    kinds = {(c["cluster"], c["kind"]) for c in payload["plan"] if c["action"] == "CREATE"}
    # The Repository and the database are always new in cluster 1; a BackupStorage on
    # the same location (and its credentials Secret) only when cluster 1 has no usable
    # one yet: other tests of the session may have made one, and it is reused.
    assert {(C1, "Repository"), (C1, "Postgres")} <= kinds
    assert all(c["cluster"] == C1 for c in payload["plan"] if c["action"] == "CREATE")
    made = await admin_get(
        sandbox, f"/apis/kubedb.com/v1/namespaces/{target_ns}/postgreses/{target}"
    )
    assert made is not None
    assert made["spec"]["storage"]["resources"]["requests"]["storage"] == "7Gi"
    await until_ready(gateway, ref(target, ns=target_ns), timeout=90)


# ------------------------------------------------------------------- refusals


async def test_refusals_change_nothing(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"err-{unique}"
    db, good = await restorable(sandbox, NS, name)
    repo = o.repository(db, f"{name}-repo", storage=(NS, "s3"), snapshots=2)
    failed = o.snapshot(
        f"{name}-failed",
        repo,
        session="failed-run",
        taken=datetime.now(UTC) - timedelta(minutes=5),
        phase="Failed",
    )
    await seed(sandbox, [failed])
    await running(gateway, name)
    before = await listing(sandbox, cluster=0, namespaces=[NS])

    async def refused(mutation: str, inp: dict[str, Any], code: str) -> dict[str, Any]:
        payload = await mutate(gateway, mutation, inp)
        assert code in [e["code"] for e in payload["userErrors"]], payload["userErrors"]
        error: dict[str, Any] = next(e for e in payload["userErrors"] if e["code"] == code)
        assert error["message"]
        return error

    snapshot = {"snapshot": snap_ref(f"{name}-failed")}
    await refused(
        "restoreDatabase", {"database": ref(name), "source": snapshot}, "SNAPSHOT_NOT_RESTORABLE"
    )
    await refused(
        "restoreToNewDatabase",
        {"source": snapshot, "namespace": NS, "name": f"{name}-n"},
        "SNAPSHOT_NOT_RESTORABLE",
    )
    source = {"snapshot": snap_ref(good["metadata"]["name"])}
    await refused(
        "restoreToNewDatabase", {"source": source, "namespace": NS, "name": name}, "TARGET_EXISTS"
    )
    invalid = await refused(
        "restoreDatabase",
        {"database": ref(name), "source": source, "resume": "AFTER_CHECKS"},
        "INVALID_INPUT",
    )
    assert invalid["field"]
    await refused(
        "restoreDatabase", {"database": ref(f"{name}-none"), "source": source}, "NOT_FOUND"
    )
    await refused(
        "restoreDatabase",
        {"database": ref(name), "source": {"snapshot": snap_ref(f"{name}-none")}},
        "NOT_FOUND",
    )
    await refused("pauseDatabaseTraffic", {"database": ref(f"{name}-none")}, "NOT_FOUND")
    assert await listing(sandbox, cluster=0, namespaces=[NS]) == before

    # While one restore runs (MANUAL: it waits), another is refused and adds nothing.
    await restore(gateway, name, resume="MANUAL")
    await until_db(gateway, ref(name), workflow_phase("AWAITING_RESUME"))
    during = set(await listing(sandbox, cluster=0, namespaces=[NS]))
    await refused(
        "restoreDatabase", {"database": ref(name), "source": source}, "RESTORE_IN_PROGRESS"
    )
    assert set(await listing(sandbox, cluster=0, namespaces=[NS])) == during


# ------------------------------------------------------------------- traffic


def actions(payload: dict[str, Any]) -> list[str]:
    return [c["action"] for c in payload["plan"]]


async def test_pause_and_resume_traffic_are_idempotent(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"tr-{unique}"
    await restorable(sandbox, NS, name)
    await running(gateway, name)
    original = await selector(sandbox, name)
    paused = await mutate(
        gateway, "pauseDatabaseTraffic", {"database": ref(name), "reason": "migration"}
    )
    assert paused["userErrors"] == [], paused["userErrors"]
    assert [w["code"] for w in paused["warnings"]] == ["TRAFFIC_STOPPED"]
    assert await selector(sandbox, name) == {"stashql.io/traffic": "paused"}
    maintenance = await admin_get(sandbox, SVC.format(ns=NS, name=f"{name}-maintenance"))
    assert maintenance is not None
    assert maintenance["spec"]["selector"] == original
    shown = await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "PAUSED")
    assert shown["traffic"]["pausedBy"] == "admin"
    assert shown["traffic"]["reason"] == "migration"
    assert shown["traffic"]["maintenanceService"] == f"{name}-maintenance"
    before = await listing(sandbox, cluster=0, namespaces=[NS])
    again = await mutate(gateway, "pauseDatabaseTraffic", {"database": ref(name)})
    assert again["userErrors"] == []
    assert set(actions(again)) == {"NONE"}, again["plan"]
    assert await listing(sandbox, cluster=0, namespaces=[NS]) == before

    resumed = await mutate(gateway, "resumeDatabaseTraffic", {"database": ref(name)})
    assert resumed["userErrors"] == [], resumed["userErrors"]
    assert await selector(sandbox, name) == original
    assert await admin_get(sandbox, SVC.format(ns=NS, name=f"{name}-maintenance")) is None
    await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "ACCEPTING")
    twice = await mutate(gateway, "resumeDatabaseTraffic", {"database": ref(name)})
    assert twice["userErrors"] == []
    assert set(actions(twice)) == {"NONE"}, twice["plan"]


async def test_a_selector_put_back_while_paused_shows_drifted(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str
) -> None:
    name = f"dr-{unique}"
    await restorable(sandbox, NS, name, annotations={"sim.stashql.io/revert-traffic": "true"})
    await running(gateway, name)
    original = await selector(sandbox, name)
    paused = await mutate(gateway, "pauseDatabaseTraffic", {"database": ref(name)})
    assert paused["userErrors"] == [], paused["userErrors"]
    await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "DRIFTED", timeout=30)
    assert await selector(sandbox, name) == original
    resumed = await mutate(gateway, "resumeDatabaseTraffic", {"database": ref(name)})
    assert resumed["userErrors"] == [], resumed["userErrors"]
    await until_db(gateway, ref(name), lambda d: d["traffic"]["state"] == "ACCEPTING")


# ------------------------------------------------------------------- who may


async def ready_outside_the_simulator(
    sandbox: Sandbox, ns: str, name: str, *, cluster: int
) -> None:
    """A Ready database in a team namespace (the simulator runs only in this module's
    namespaces), its KubeDB Service, and a snapshot of it."""
    db = o.database("Postgres", name, ns)
    repo = o.repository(db, f"{name}-repo", storage=(NS, "s3"), snapshots=1)
    snap = o.snapshot(
        f"{name}-snap",
        repo,
        session="seeded",
        taken=datetime.now(UTC) - timedelta(minutes=10),
        size="16 MiB",
    )
    await seed(sandbox, [db, repo, snap], cluster=cluster)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "kubedb.com"},
        },
        "spec": {
            "selector": {
                "app.kubernetes.io/instance": name,
                "app.kubernetes.io/managed-by": "kubedb.com",
                "app.kubernetes.io/name": "postgreses.kubedb.com",
            },
            "ports": [{"name": "primary", "port": 5432}],
        },
    }
    async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
        r = await admin.post(f"/api/v1/namespaces/{ns}/services", json=service)
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("cluster", [0, 1])
async def test_alice_restores_and_pauses_her_own_and_bob_may_not(
    sandbox: Sandbox, gateway: Gateway, world: Simulator, unique: str, cluster: int
) -> None:
    name = sandbox.clusters[cluster].name
    mine, paused, theirs = f"al-{unique}", f"alp-{unique}", f"bo-{unique}"
    for db, ns in ((mine, "team-a"), (paused, "team-a"), (theirs, "team-b")):
        await ready_outside_the_simulator(sandbox, ns, db, cluster=cluster)

    for db, ns in ((mine, "team-a"), (paused, "team-a"), (theirs, "team-b")):
        await until_db(
            gateway,
            ref(db, cluster=name, ns=ns),
            lambda d: d["traffic"]["state"] == "ACCEPTING",
            timeout=30,
        )

    restored = await mutate(
        gateway,
        "restoreDatabase",
        {
            "database": ref(mine, cluster=name, ns="team-a"),
            "source": {"snapshot": snap_ref(f"{mine}-snap", cluster=name, ns="team-a")},
        },
        user="alice",
    )
    assert restored["userErrors"] == [], restored["userErrors"]
    assert restored["restore"]["startedBy"] == "alice"
    session = restored["restoreSession"]["name"]
    made = await admin_get(
        sandbox,
        f"/apis/core.kubestash.com/v1alpha1/namespaces/team-a/restoresessions/{session}",
        cluster=cluster,
    )
    assert made is not None
    stopped = await mutate(
        gateway,
        "pauseDatabaseTraffic",
        {"database": ref(paused, cluster=name, ns="team-a"), "reason": "by alice"},
        user="alice",
    )
    assert stopped["userErrors"] == [], stopped["userErrors"]
    shown = await until_db(
        gateway,
        ref(paused, cluster=name, ns="team-a"),
        lambda d: d["traffic"]["state"] == "PAUSED",
    )
    assert shown["traffic"]["pausedBy"] == "alice"

    before = await listing(sandbox, cluster=cluster, namespaces=["team-a", "team-b"])
    for mutation, inp in (
        (
            "restoreDatabase",
            {
                "database": ref(paused, cluster=name, ns="team-a"),
                "source": {"snapshot": snap_ref(f"{paused}-snap", cluster=name, ns="team-a")},
            },
        ),
        ("pauseDatabaseTraffic", {"database": ref(mine, cluster=name, ns="team-a")}),
        ("resumeDatabaseTraffic", {"database": ref(paused, cluster=name, ns="team-a")}),
    ):
        payload = await mutate(gateway, mutation, inp, user="bob")
        assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"], (mutation, payload)
    assert await database(gateway, ref(mine, cluster=name, ns="team-a"), user="bob") is None
    for user, count in (("alice", 1), ("bob", 0)):
        listed = await gateway.query(
            "query($f: RestoreWorkflowFilter) { restoreWorkflows(filter: $f) { totalCount } }",
            {"f": {"database": ref(mine, cluster=name, ns="team-a")}},
            user=user,
        )
        assert listed["data"]["restoreWorkflows"]["totalCount"] == count, user
    # Her workflow's events stream to her (the records live where she has no access;
    # her access to the database decides), and not to bob.
    from tests.ws import GraphQLWebSocket

    streamed: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": []}
    for user in ("alice", "bob"):
        async with GraphQLWebSocket(gateway.url, sandbox.tokens[user]) as ws:
            sid = await ws.subscribe(
                EVENTS, {"f": {"database": ref(mine, cluster=name, ns="team-a")}}
            )
            if user == "alice":  # her INITIAL event comes; bob's would have by then too
                streamed[user].append(await ws.event(sid, "restoreWorkflowEvents"))
            else:
                await asyncio.sleep(2)
            for _ in range(ws.pending(sid)):
                streamed[user].append(await ws.event(sid, "restoreWorkflowEvents"))
    assert streamed["alice"], streamed
    assert {e["workflowId"] for e in streamed["alice"]} == {restored["restore"]["id"]}
    assert streamed["bob"] == []
    for mutation, inp in (
        ("pauseDatabaseTraffic", {"database": ref(theirs, cluster=name, ns="team-b")}),
        (
            "restoreDatabase",
            {
                "database": ref(theirs, cluster=name, ns="team-b"),
                "source": {"snapshot": snap_ref(f"{theirs}-snap", cluster=name, ns="team-b")},
            },
        ),
    ):
        payload = await mutate(gateway, mutation, inp, user="bob")
        assert "FORBIDDEN" in [e["code"] for e in payload["userErrors"]], (mutation, payload)
    assert await listing(sandbox, cluster=cluster, namespaces=["team-a", "team-b"]) == before
