"""Every contract query against two real clusters holding a realistic backup setup."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, ensure_namespace, eventually, kube_http, seed

pytestmark = pytest.mark.sandbox

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Scenario:
    ns: str
    admin_ns: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scenario(sandbox: Sandbox, gateway: Gateway) -> AsyncIterator[Scenario]:
    uid = os.urandom(3).hex()
    ns, admin_ns = f"graph-{uid}", f"graph-{uid}-admin"
    for cluster in (0, 1):
        async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
            await ensure_namespace(admin, ns, {"team": "graph"})
            await ensure_namespace(admin, admin_ns)
    storage = (admin_ns, "s3")
    retention = (admin_ns, "keep-5")

    pg1 = o.database("Postgres", "pg1", ns, labels={"tier": "gold"})
    bc1 = o.backup_configuration("pg1-backup", pg1, storage=storage, retention=retention)
    repo1 = o.repository(pg1, "pg1-repo", storage=storage, snapshots=3, size="4.5 KiB")
    s_old = o.snapshot(
        "pg1-snap-old", repo1, session="pg1-run-1", taken=NOW - timedelta(minutes=14)
    )
    s_failed = o.snapshot(
        "pg1-snap-failed",
        repo1,
        session="pg1-run-2",
        taken=NOW - timedelta(minutes=9),
        phase="Failed",
    )
    s_new = o.snapshot(
        "pg1-snap-new",
        repo1,
        session="pg1-run-3",
        taken=NOW - timedelta(minutes=4),
        size="2 MiB",
    )
    runs = [
        o.backup_session("pg1-run-1", bc1, snapshots=["pg1-snap-old"], repository="pg1-repo"),
        o.backup_session("pg1-run-2", bc1, phase="Failed", error="pod evicted"),
        o.backup_session("pg1-run-3", bc1, snapshots=["pg1-snap-new"], repository="pg1-repo"),
    ]
    restore = o.restore_session("pg1-restore", pg1, repository="pg1-repo", percent="40%")

    pg2 = o.database(
        "Postgres",
        "pg2",
        ns,
        annotations={
            "blueprint.kubestash.com/name": "pg-daily",
            "blueprint.kubestash.com/namespace": admin_ns,
            "variables.kubestash.com/schedule": "*/30 * * * *",
            "variables.kubestash.com/repoName": "pg2-repo",
        },
    )
    bp = o.blueprint("pg-daily", admin_ns, storage=storage, retention=retention, scope="All")
    bc2 = o.backup_configuration(
        "appbinding-pg2",
        pg2,
        storage=storage,
        retention=retention,
        schedule="*/30 * * * *",
        labels={
            "kubestash.com/invoker-name": "pg-daily",
            "kubestash.com/invoker-namespace": admin_ns,
        },
    )

    my1 = o.database("MySQL", "my1", ns, version="8.4.3")
    bc3 = o.backup_configuration(
        "my1-backup", my1, storage=(admin_ns, "missing"), retention=retention, phase="NotReady"
    )

    pg3 = o.database("Postgres", "pg3", ns, archiver=(admin_ns, "pg-archiver"))
    full = o.repository(pg3, "pg3-full", storage=storage)
    base = o.snapshot(
        "pg3-full-1",
        full,
        session="pg3-full-run",
        taken=NOW - timedelta(hours=3),
        components={"volumesnapshot": {"driver": "VolumeSnapshotter", "phase": "Succeeded"}},
    )
    logs = o.log_snapshot(
        "pg3-incremental-snapshot",
        full,
        start=NOW - timedelta(hours=5),
        end=NOW - timedelta(minutes=1),
    )

    objects_1: list[dict[str, Any]] = [
        o.backup_storage("s3", admin_ns, scope="All", default=True),
        o.retention_policy("keep-5", admin_ns, scope="All", default=True),
        o.retention_policy(
            "team-only", admin_ns, scope="Selector", selector={"matchLabels": {"team": "other"}}
        ),
        bp,
        *(pg1, bc1, repo1, s_old, s_failed, s_new, *runs, restore),
        *(pg2, bc2, my1, bc3),
        *(pg3, full, base, logs),
        o.addon(
            "postgres-addon",
            ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
            ("logical-backup-restore",),
        ),
    ]
    remote = o.database("Postgres", "pg-remote", ns)
    remote_repo = o.repository(remote, "remote-repo", storage=(ns, "local"))
    objects_2 = [
        remote,
        remote_repo,
        o.snapshot(
            "remote-snap", remote_repo, session="remote-run", taken=NOW - timedelta(minutes=2)
        ),
    ]
    await seed(sandbox, objects_1, cluster=0)
    await seed(sandbox, objects_2, cluster=1)

    async def visible() -> bool:
        body = await gateway.query(
            "query($ns: [String!]) { databases(filter: {namespaces: $ns}) { totalCount } "
            "snapshots(filter: {namespaces: $ns}) { totalCount } }",
            {"ns": [ns]},
        )
        data = body["data"]
        return bool(data["databases"]["totalCount"] == 5 and data["snapshots"]["totalCount"] == 6)

    await eventually(visible)
    yield Scenario(ns=ns, admin_ns=admin_ns)


async def test_databases_merge_both_clusters_in_one_global_order(
    gateway: Gateway, scenario: Scenario
) -> None:
    body = await gateway.query(
        """query($ns: [String!]) { databases(filter: {namespaces: $ns}) {
            totalCount clusterErrors { cluster }
            nodes { cluster namespace name kind version phase volume { size storageClass } }
        } }""",
        {"ns": [scenario.ns]},
    )
    conn = body["data"]["databases"]
    assert conn["clusterErrors"] == []
    assert [(n["cluster"], n["name"]) for n in conn["nodes"]] == [
        ("sandbox-1", "my1"),
        ("sandbox-1", "pg1"),
        ("sandbox-1", "pg2"),
        ("sandbox-1", "pg3"),
        ("sandbox-2", "pg-remote"),
    ]
    pg1 = conn["nodes"][1]
    assert pg1["kind"] == "Postgres"
    assert pg1["phase"] == "READY"
    assert pg1["volume"] == {"size": "1Gi", "storageClass": "standard"}


async def test_pages_follow_cursors_and_ids_refetch_across_clusters(
    gateway: Gateway, scenario: Scenario
) -> None:
    query = """query($ns: [String!], $after: String) {
        databases(filter: {namespaces: $ns}, first: 2, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id cluster name } }
        } }"""
    seen: list[str] = []
    after = None
    while True:
        body = await gateway.query(query, {"ns": [scenario.ns], "after": after})
        conn = body["data"]["databases"]
        assert conn["totalCount"] == 5
        seen += [e["node"]["name"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == ["my1", "pg1", "pg2", "pg3", "pg-remote"]

    remote_id = conn["edges"][-1]["node"]["id"]
    node = await gateway.query(
        "query($id: ID!) { node(id: $id) { id ... on Database { cluster name kind } } }",
        {"id": remote_id},
    )
    assert node["data"]["node"] == {
        "id": remote_id,
        "cluster": "sandbox-2",
        "name": "pg-remote",
        "kind": "Postgres",
    }


async def test_a_scheduled_backup_reports_its_configuration_runs_and_health(
    gateway: Gateway, scenario: Scenario
) -> None:
    body = await gateway.query(
        """query($ns: String!) { database(ref: {namespace: $ns, name: "pg1", kind: "Postgres"}) {
            backup { enabled via schedule paused health problems
                configuration { name phase targetRef { kind name } }
                retentionPolicy { name }
                lastSession { name phase }
                lastSuccessfulSnapshot { name }
                nextScheduledAt }
            backupSessions(first: 10) { totalCount nodes { name phase } }
            restoreSessions { nodes { name phase progressPercent target { name }
                repository { name } snapshot { name } } }
        } }""",
        {"ns": scenario.ns},
    )
    db = body["data"]["database"]
    backup = db["backup"]
    assert backup["enabled"] is True
    assert backup["via"] == "BackupConfiguration"
    assert backup["schedule"] == "*/5 * * * *"
    assert backup["configuration"]["name"] == "pg1-backup"
    assert backup["configuration"]["targetRef"] == {"kind": "Postgres", "name": "pg1"}
    assert backup["retentionPolicy"] == {"name": "keep-5"}
    assert backup["lastSuccessfulSnapshot"] == {"name": "pg1-snap-new"}
    assert backup["nextScheduledAt"] is not None
    assert db["backupSessions"]["totalCount"] == 3
    assert {n["name"]: n["phase"] for n in db["backupSessions"]["nodes"]} == {
        "pg1-run-1": "SUCCEEDED",
        "pg1-run-2": "FAILED",
        "pg1-run-3": "SUCCEEDED",
    }
    [restore] = db["restoreSessions"]["nodes"]
    assert restore["phase"] == "RUNNING"
    assert restore["progressPercent"] == 40.0
    assert restore["target"] == {"name": "pg1"}
    assert restore["repository"] == {"name": "pg1-repo"}
    # "latest" resolves to the newest snapshot that succeeded.
    assert restore["snapshot"] == {"name": "pg1-snap-new"}


async def test_a_blueprint_backup_resolves_its_variables(
    gateway: Gateway, scenario: Scenario
) -> None:
    body = await gateway.query(
        """query($ns: String!) { database(ref: {namespace: $ns, name: "pg2"}) {
            backup { enabled via schedule policy { name variables } configuration { name } }
        } }""",
        {"ns": scenario.ns},
    )
    backup = body["data"]["database"]["backup"]
    assert backup["via"] == "BackupBlueprint"
    assert backup["schedule"] == "*/30 * * * *"
    assert backup["policy"] == {"name": "pg-daily", "variables": ["repoName", "schedule"]}
    assert backup["configuration"] == {"name": "appbinding-pg2"}


async def test_a_broken_backup_says_what_is_wrong(gateway: Gateway, scenario: Scenario) -> None:
    body = await gateway.query(
        """query($ns: String!) { database(ref: {namespace: $ns, name: "my1"}) {
            backup { enabled health problems } } }""",
        {"ns": scenario.ns},
    )
    backup = body["data"]["database"]["backup"]
    assert backup["health"] == "FAILING"
    missing = f"BackupStorage {scenario.admin_ns}/missing does not exist"
    assert any(missing in p for p in backup["problems"]), backup["problems"]

    body = await gateway.query(
        """query($ns: [String!]) { databases(filter: {namespaces: $ns, backupHealth: [FAILING]}) {
            nodes { name } } }""",
        {"ns": [scenario.ns]},
    )
    assert [n["name"] for n in body["data"]["databases"]["nodes"]] == ["my1"]


async def test_snapshots_sort_filter_and_join(gateway: Gateway, scenario: Scenario) -> None:
    newest = await gateway.query(
        """query($ns: [String!]) { snapshots(filter: {namespaces: $ns, types: [FULL]}) {
            totalCount nodes { cluster name phase type methods sizeBytes } } }""",
        {"ns": [scenario.ns]},
    )
    nodes = newest["data"]["snapshots"]["nodes"]
    assert [n["name"] for n in nodes] == [
        "remote-snap",
        "pg1-snap-new",
        "pg1-snap-failed",
        "pg1-snap-old",
        "pg3-full-1",
    ]
    by_name = {n["name"]: n for n in nodes}
    assert by_name["pg1-snap-new"]["sizeBytes"] == 2 * 1024 * 1024
    assert by_name["pg1-snap-new"]["methods"] == ["LOGICAL", "MANIFEST"]
    assert by_name["pg3-full-1"]["methods"] == ["VOLUME_SNAPSHOT"]

    oldest = await gateway.query(
        """query($ns: String!) { snapshots(orderBy: OLDEST_FIRST,
              filter: {database: {namespace: $ns, name: "pg1", kind: "Postgres"}}) {
            nodes { name repository { name storage { name } } database { name }
                    backupSession { name phase } } } }""",
        {"ns": scenario.ns},
    )
    nodes = oldest["data"]["snapshots"]["nodes"]
    assert [n["name"] for n in nodes] == ["pg1-snap-old", "pg1-snap-failed", "pg1-snap-new"]
    assert nodes[0]["repository"] == {"name": "pg1-repo", "storage": {"name": "s3"}}
    assert nodes[0]["database"] == {"name": "pg1"}
    assert nodes[0]["backupSession"] == {"name": "pg1-run-1", "phase": "SUCCEEDED"}

    failed = await gateway.query(
        """query($ns: [String!], $after: DateTime) { snapshots(filter: {namespaces: $ns,
              phases: [FAILED], takenAfter: $after}) { nodes { name } } }""",
        {"ns": [scenario.ns], "after": (NOW - timedelta(minutes=10)).isoformat()},
    )
    assert [n["name"] for n in failed["data"]["snapshots"]["nodes"]] == ["pg1-snap-failed"]


async def test_the_recovery_window_comes_from_log_shipping_and_base_backups(
    gateway: Gateway, scenario: Scenario
) -> None:
    body = await gateway.query(
        """query($ns: String!) { database(ref: {namespace: $ns, name: "pg3"}) {
            archiver { kind name }
            backup { via }
            recoveryWindow { start end lsn healthy lastError baseBackups { name } } } }""",
        {"ns": scenario.ns},
    )
    db = body["data"]["database"]
    assert db["archiver"] == {"kind": "PostgresArchiver", "name": "pg-archiver"}
    assert db["backup"]["via"] == "Archiver"
    window = db["recoveryWindow"]
    # Logs reach back 5 h, but the oldest base backup is 3 h old: that is the start.
    assert datetime.fromisoformat(window["start"]) == NOW - timedelta(hours=3)
    assert datetime.fromisoformat(window["end"]) == NOW - timedelta(minutes=1)
    assert window["lsn"] == "0/5000060"
    assert window["healthy"] is True
    assert window["baseBackups"] == [{"name": "pg3-full-1"}]


async def test_repositories_and_sessions_lists(gateway: Gateway, scenario: Scenario) -> None:
    body = await gateway.query(
        """query($ns: [String!]) {
            repositories(filter: {namespaces: $ns}) { totalCount nodes { cluster name
                snapshotCount database { name }
                snapshots(first: 1) { totalCount nodes { name } } } }
            backupSessions(filter: {namespaces: $ns, phases: [FAILED]}) { nodes { name
                configuration { name } database { name } } }
            restoreSessions(filter: {namespaces: $ns}) { totalCount }
        }""",
        {"ns": [scenario.ns]},
    )
    data = body["data"]
    repos = {(n["cluster"], n["name"]): n for n in data["repositories"]["nodes"]}
    assert set(repos) == {
        ("sandbox-1", "pg1-repo"),
        ("sandbox-1", "pg3-full"),
        ("sandbox-2", "remote-repo"),
    }
    pg1_repo = repos[("sandbox-1", "pg1-repo")]
    assert pg1_repo["database"] == {"name": "pg1"}
    assert pg1_repo["snapshots"]["totalCount"] == 3
    assert pg1_repo["snapshots"]["nodes"] == [{"name": "pg1-snap-new"}]
    assert data["backupSessions"]["nodes"] == [
        {"name": "pg1-run-2", "configuration": {"name": "pg1-backup"}, "database": {"name": "pg1"}}
    ]
    assert data["restoreSessions"]["totalCount"] == 1


async def test_policies_usable_from_a_namespace(gateway: Gateway, scenario: Scenario) -> None:
    body = await gateway.query(
        """query($ns: String!) {
            backupPolicies(cluster: "sandbox-1", namespace: $ns, databaseKind: "postgres") {
                name usage variables sessions { name schedule methods }
                methods { method tasks availabilityImpact }
                retentionPolicy { name } storage { name provider location { bucket } } }
            retentionPolicies(cluster: "sandbox-1", namespace: $ns) { name isDefault usage }
            backupStorages(cluster: "sandbox-1", namespace: $ns) { name provider isDefault }
            backupMethods(databaseKind: "Postgres", cluster: "sandbox-1") {
                method tasks availabilityImpact performanceImpact recoverability
                mayRestartDatabase }
        }""",
        {"ns": scenario.ns},
    )
    data = body["data"]
    policy = next(p for p in data["backupPolicies"] if p["name"] == "pg-daily")
    assert policy["usage"] == "ALL"
    assert policy["variables"] == ["repoName", "schedule"]
    assert policy["sessions"] == [
        {"name": "full-backup", "schedule": "${schedule}", "methods": ["LOGICAL", "MANIFEST"]}
    ]
    assert [m["method"] for m in policy["methods"]] == ["LOGICAL", "MANIFEST"]
    assert policy["retentionPolicy"] == {"name": "keep-5"}
    assert policy["storage"] == {
        "name": "s3",
        "provider": "s3",
        "location": {"bucket": "stashql-backups"},
    }

    retention = {r["name"]: r for r in data["retentionPolicies"]}
    assert retention["keep-5"]["isDefault"] is True
    # A Selector policy for namespaces labelled team=other; this namespace is team=graph.
    assert "team-only" not in retention
    assert "s3" in {s["name"] for s in data["backupStorages"]}

    methods = {m["method"]: m for m in data["backupMethods"]}
    # The addon's four; CONTINUOUS joins them wherever a PostgresVersion in the (shared,
    # cluster-scoped) catalog names an archiver addon, as other tests install.
    assert {"LOGICAL", "PHYSICAL", "VOLUME_SNAPSHOT", "MANIFEST"} <= set(methods)
    order = ["LOGICAL", "PHYSICAL", "VOLUME_SNAPSHOT", "CONTINUOUS", "MANIFEST"]
    assert list(methods) == [m for m in order if m in methods]
    assert methods["VOLUME_SNAPSHOT"]["tasks"] == ["volume-snapshot"]
    assert methods["LOGICAL"]["mayRestartDatabase"] is False
    assert "online" in methods["LOGICAL"]["availabilityImpact"]


async def test_bad_input_gets_a_clear_typed_error(gateway: Gateway, scenario: Scenario) -> None:
    body = await gateway.query(
        '{ backupMethods(databaseKind: "Oracle9i") { method } }', expect_errors=True
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Oracle9i" in error["message"]
    assert "Postgres" in error["message"]

    body = await gateway.query("{ databases(first: 501) { totalCount } }", expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 500" in body["errors"][0]["message"]

    body = await gateway.query('{ databases(after: "garbage") { totalCount } }', expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    body = await gateway.query(
        '{ databases(filter: {labelSelector: "tier in (gold"}) { totalCount } }',
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    body = await gateway.query(
        """query($ns: [String!]) { databases(filter: {namespaces: $ns,
            labelSelector: "tier in (gold,silver)"}) { nodes { name } } }""",
        {"ns": [scenario.ns]},
    )
    assert [n["name"] for n in body["data"]["databases"]["nodes"]] == ["pg1"]
