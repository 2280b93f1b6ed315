"""End to end: `stashql serve`, the operator simulator and WebSocket clients.

A backup runs and streams its phases and its snapshot; a restore streams its progress
and the database's DATA_RESTORING -> READY; each person sees only their namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.simulator import Simulator
from tests.helpers import kube_http, seed
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

TEAMS = ("team-a", "team-b")


@pytest_asyncio.fixture(loop_scope="session")
async def simulator(sandbox: Sandbox) -> AsyncIterator[Simulator]:
    clients = {c.name: sandbox.client(c.name) for c in sandbox.clusters}
    sim = Simulator(clients, time_scale=600, namespace_filter=lambda ns: ns in TEAMS)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
        for client in clients.values():
            await client.close()


def _setup(ns: str, u: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    db = o.database("Postgres", f"live-{u}", ns, phase=None)
    db.pop("status", None)
    objs = [
        o.backup_storage(f"st-{u}", ns),
        o.retention_policy(f"rp-{u}", ns),
        db,
        o.backup_configuration(
            f"bc-{u}",
            db,
            storage=(ns, f"st-{u}"),
            retention=(ns, f"rp-{u}"),
            schedule="0 0 1 1 *",  # yearly: the run we see is the initial one
            repository=f"repo-{u}",
        ),
    ]
    objs[-1].pop("status")
    return db, objs


async def _collect(
    ws: GraphQLWebSocket, sid: str, field: str, until: Any, *, timeout: float = 60
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while True:
        event = await ws.event(sid, field, timeout=timeout)
        seen.append(event)
        if until(event):
            return seen


@pytest.mark.timeout(180)
async def test_backups_and_restores_stream_live_to_the_right_people(
    served: str, sandbox: Sandbox, simulator: Simulator, unique: str
) -> None:
    sessions = """subscription($f: BackupSessionFilter) { backupSessionEvents(filter: $f) {
        type ref { namespace name } previousPhase phase } }"""
    snapshots = """subscription($f: SnapshotFilter) { snapshotEvents(filter: $f) {
        type ref { namespace name } phase snapshot { repository { name } size } } }"""
    restores = """subscription($f: RestoreSessionFilter) { restoreSessionEvents(filter: $f) {
        type ref { name } phase progressPercent } }"""
    databases = """subscription($f: DatabaseFilter) { databaseEvents(filter: $f) {
        type ref { namespace name } previousPhase phase } }"""
    teams = {"namespaces": list(TEAMS)}

    async with (
        GraphQLWebSocket(served, sandbox.tokens["alice"]) as alice,
        GraphQLWebSocket(served, sandbox.tokens["bob"]) as bob,
    ):
        a_sessions = await alice.subscribe(sessions, {"f": teams})
        a_snaps = await alice.subscribe(snapshots, {"f": teams})
        b_sessions = await bob.subscribe(sessions, {"f": teams})
        await asyncio.sleep(1)  # INITIAL events of older objects, if any, come first

        db_a, objs_a = _setup("team-a", unique)
        _, objs_b = _setup("team-b", unique)
        await seed(sandbox, objs_a + objs_b)

        run = await _collect(
            alice,
            a_sessions,
            "backupSessionEvents",
            lambda e: unique in e["ref"]["name"] and e["phase"] in ("SUCCEEDED", "FAILED"),
        )
        mine = [e for e in run if unique in e["ref"]["name"]]
        assert {e["ref"]["namespace"] for e in run} <= {"team-a"}
        phases = [e["phase"] for e in mine]
        assert phases[-1] == "SUCCEEDED"
        assert "RUNNING" in phases
        assert phases.index("RUNNING") < phases.index("SUCCEEDED")

        snap = await _collect(
            alice,
            a_snaps,
            "snapshotEvents",
            lambda e: unique in e["ref"]["name"] and e["phase"] == "SUCCEEDED",
        )
        assert snap[-1]["snapshot"]["repository"] == {"name": f"repo-{unique}"}
        assert snap[-1]["snapshot"]["size"]
        assert all(e["ref"]["namespace"] == "team-a" for e in snap)

        bobs = await _collect(
            bob,
            b_sessions,
            "backupSessionEvents",
            lambda e: unique in e["ref"]["name"] and e["phase"] in ("SUCCEEDED", "FAILED"),
        )
        assert {e["ref"]["namespace"] for e in bobs} == {"team-b"}

        # The restore: progress, and the database goes DATA_RESTORING -> READY.
        a_restores = await alice.subscribe(restores, {"f": {"namespaces": ["team-a"]}})
        a_dbs = await alice.subscribe(databases, {"f": {"nameContains": unique}})
        initial = await alice.event(a_dbs, "databaseEvents")
        assert (initial["type"], initial["phase"]) == ("INITIAL", "READY")
        restore = o.restore_session(
            f"restore-{unique}", db_a, repository=f"repo-{unique}", snapshot_name="latest"
        )
        restore.pop("status")
        await seed(sandbox, [restore])

        progress = await _collect(
            alice,
            a_restores,
            "restoreSessionEvents",
            lambda e: (
                e["ref"]["name"] == f"restore-{unique}" and e["phase"] in ("SUCCEEDED", "FAILED")
            ),
        )
        mine = [e for e in progress if e["ref"]["name"] == f"restore-{unique}"]
        assert mine[-1]["phase"] == "SUCCEEDED"
        percents = [e["progressPercent"] for e in mine if e["progressPercent"] is not None]
        assert len(percents) >= 2
        assert percents == sorted(percents)
        assert percents[-1] == 100.0

        transitions = await _collect(
            alice, a_dbs, "databaseEvents", lambda e: e["phase"] == "READY"
        )
        assert transitions[0]["phase"] == "DATA_RESTORING"
        assert transitions[-1]["previousPhase"] == "DATA_RESTORING"
        assert bob.pending(b_sessions) == 0 or all(
            m["payload"]["data"]["backupSessionEvents"]["ref"]["namespace"] == "team-b"
            for m in [await bob.message(b_sessions) for _ in range(bob.pending(b_sessions))]
        )


@pytest.mark.timeout(180)
async def test_a_backup_alice_enables_and_triggers_streams_its_runs(
    served: str, sandbox: Sandbox, simulator: Simulator, unique: str
) -> None:
    """What enableBackup and triggerBackup write, written by alice herself: the initial
    run and the one she triggers both stream to her, with their snapshots."""
    sessions = """subscription($f: BackupSessionFilter) { backupSessionEvents(filter: $f) {
        type ref { namespace name } phase } }"""
    snapshots = """subscription($f: SnapshotFilter) { snapshotEvents(filter: $f) {
        type ref { namespace name } phase snapshot { repository { name } } } }"""
    ns = "team-a"
    store = o.backup_storage(f"own-{unique}", ns)
    keep = o.retention_policy(f"keep-{unique}", ns)
    db = o.database("Postgres", f"mine-{unique}", ns, phase=None)
    db.pop("status", None)
    bc = o.enabled_backup(
        db,
        storage=(ns, f"own-{unique}"),
        retention=(ns, f"keep-{unique}"),
        encryption=(ns, f"enc-{unique}"),
        schedule="0 0 1 1 *",  # yearly: only the initial run and alice's own
    )
    bc_name = bc["metadata"]["name"]
    await seed(sandbox, [store, keep])
    async with (
        GraphQLWebSocket(served, sandbox.tokens["alice"]) as ws,
        kube_http(sandbox, user="alice") as alice,
    ):
        runs = await ws.subscribe(sessions, {"f": {"namespaces": [ns]}})
        snaps = await ws.subscribe(snapshots, {"f": {"namespaces": [ns]}})
        await asyncio.sleep(1)  # INITIAL events of older objects come first
        for path, body in (
            (
                f"/api/v1/namespaces/{ns}/secrets",
                o.encryption_secret(f"enc-{unique}", ns, password="x"),
            ),
            (f"/apis/kubedb.com/v1/namespaces/{ns}/postgreses", db),
            (f"/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/backupconfigurations", bc),
        ):
            r = await alice.post(path, json=body)
            assert r.status_code == 201, r.text

        def done(e: dict[str, Any]) -> bool:
            return bc_name in e["ref"]["name"] and e["phase"] in ("SUCCEEDED", "FAILED")

        first = await _collect(ws, runs, "backupSessionEvents", done)
        assert first[-1]["phase"] == "SUCCEEDED"
        initial = first[-1]["ref"]["name"]

        r = await alice.get(
            f"/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/backupconfigurations/{bc_name}"
        )
        assert r.status_code == 200, r.text
        manual = o.triggered_session(r.json(), session="full-backup", at=datetime.now(UTC))
        if manual["metadata"]["name"] == initial:  # the same second as the initial run
            await asyncio.sleep(1)
            manual = o.triggered_session(r.json(), session="full-backup", at=datetime.now(UTC))
        r = await alice.post(
            f"/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/backupsessions", json=manual
        )
        assert r.status_code == 201, r.text
        name = manual["metadata"]["name"]

        second = await _collect(
            ws,
            runs,
            "backupSessionEvents",
            lambda e: e["ref"]["name"] == name and e["phase"] in ("SUCCEEDED", "FAILED"),
        )
        phases = [e["phase"] for e in second if e["ref"]["name"] == name]
        assert phases[-1] == "SUCCEEDED"
        assert "RUNNING" in phases

        def snapshot_done(e: dict[str, Any]) -> bool:
            return name in e["ref"]["name"] and e["phase"] == "SUCCEEDED"

        snap = await _collect(ws, snaps, "snapshotEvents", snapshot_done)
        repo = f"{db['metadata']['name']}-backup"
        assert snap[-1]["snapshot"]["repository"] == {"name": repo}
