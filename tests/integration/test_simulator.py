"""The operator simulator against the real sandbox API servers.

Every assertion reads what the API server stores (raw GETs as admin): the simulator is
only trusted for what it actually wrote, through the status subresource, past the CRDs'
schema validation. One simulator serves the module, at 600x simulated time, limited to
this module's namespaces so it leaves other tests' objects alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from apis.resources import ResourceType
from kube.manifests import Discovery, apply_manifest
from sandbox import demo
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.simulator import FAIL_ANNOTATION, FIELD_MANAGER, Simulator
from sandbox.simulator.restore_hooks import restore_phase
from sandbox.simulator.services import desired_services
from tests.helpers import ensure_namespace, eventually, kube_http, seed

pytestmark = pytest.mark.sandbox

PREFIX = f"sim{os.urandom(2).hex()}-"
CORE = "/apis/core.kubestash.com/v1alpha1"
STORAGE = "/apis/storage.kubestash.com/v1alpha1"
KUBEDB = "/apis/kubedb.com/v1"
ARCHIVER = "/apis/archiver.kubedb.com/v1alpha1"

Obj = dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
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


@pytest_asyncio.fixture(loop_scope="session")
async def admin(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with kube_http(sandbox, user="admin") as client:
        yield client


async def namespace(sandbox: Sandbox, name: str, labels: dict[str, str] | None = None) -> str:
    for cluster in range(len(sandbox.clusters)):
        async with kube_http(sandbox, user="admin", cluster=cluster) as client:
            await ensure_namespace(client, name, labels)
    return name


async def create(sandbox: Sandbox, *objects: Obj, cluster: int = 0, user: str = "admin") -> None:
    """Apply objects as a user would: spec only, the status is the operators' job."""
    client = sandbox.client(cluster, user=user)
    discovery = Discovery(client)
    try:
        for obj in objects:
            body = copy.deepcopy(obj)
            body.pop("status", None)
            await apply_manifest(client, discovery, body, field_manager="stashql-tests")
    finally:
        await client.close()


async def get(client: httpx.AsyncClient, path: str) -> Obj | None:
    r = await client.get(path)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    body: Obj = r.json()
    return body


async def must_get(client: httpx.AsyncClient, path: str) -> Obj:
    found = await get(client, path)
    assert found is not None, path
    return found


async def items(client: httpx.AsyncClient, path: str, **params: str) -> list[Obj]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    found: list[Obj] = r.json()["items"]
    return found


def conditions(obj: Obj | None) -> dict[str, Obj]:
    return {c["type"]: c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def phase(obj: Obj | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def storage_pair(ns: str) -> tuple[Obj, Obj]:
    return o.backup_storage("s3", ns), o.retention_policy("keep", ns, last=5)


# --------------------------------------------------------------------------- databases


async def test_database_provisions_then_becomes_ready_on_both_clusters(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}db-{unique}")
    await create(sandbox, o.database("Postgres", "pg", ns, phase=None))
    await create(sandbox, o.database("MySQL", "my", ns, phase=None, version="8.4.3"), cluster=1)
    await create(sandbox, o.database("Postgres", "stopped", ns, phase=None, halted=True), cluster=0)
    seen: list[str] = []

    async def ready() -> Obj | None:
        db = await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg")
        if phase(db) and (not seen or seen[-1] != phase(db)):
            seen.append(phase(db))
        return db if phase(db) == "Ready" else None

    db = await eventually(ready, timeout=30, interval=0.05)
    assert seen == ["Provisioning", "Ready"]
    conds = conditions(db)
    for kind in ("ProvisioningStarted", "Provisioned", "ReplicaReady", "AcceptingConnection"):
        assert conds[kind]["status"] == "True", kind
    assert conds["Ready"]["status"] == "True"
    assert conds["ProvisioningStarted"]["reason"] == "DatabaseProvisioningStartedSuccessfully"
    assert db["status"]["observedGeneration"] == db["metadata"]["generation"]
    # The status went through the status subresource, under the simulator's name.
    managers = {(m["manager"], m.get("subresource")) for m in db["metadata"]["managedFields"]}
    assert (FIELD_MANAGER, "status") in managers

    async with kube_http(sandbox, user="admin", cluster=1) as other:

        async def other_ready() -> bool:
            return phase(await get(other, f"{KUBEDB}/namespaces/{ns}/mysqls/my")) == "Ready"

        await eventually(other_ready, timeout=30)

    async def halted() -> bool:
        return phase(await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/stopped")) == "Halted"

    await eventually(halted, timeout=30)


# --------------------------------------------------------------------------- backups


async def test_backup_configuration_becomes_ready_and_backs_up(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}bc-{unique}")
    storage, retention = storage_pair(ns)
    db = o.database("Postgres", "pg", ns, phase=None)
    bc = o.backup_configuration(
        "pg-backup", db, storage=(ns, "s3"), retention=(ns, "keep"), schedule="*/30 * * * *"
    )
    started = datetime.now(UTC) - timedelta(seconds=2)
    await create(sandbox, storage, retention, db, bc)

    async def ready() -> Obj | None:
        got = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup")
        sessions = (got or {}).get("status", {}).get("sessions") or []
        triggered = sessions and "InitialBackupTriggered" in conditions({"status": sessions[0]})
        return got if phase(got) == "Ready" and triggered else None

    got = await eventually(ready, timeout=30)
    status = got["status"]
    assert status["targetFound"] is True
    assert conditions(got)["ValidationPassed"]["status"] == "True"
    assert status["backends"] == [
        {
            "name": "s3-backend",
            "ready": True,
            "storage": {"ref": {"namespace": ns, "name": "s3"}, "phase": "Ready"},
            "retentionPolicy": {"ref": {"namespace": ns, "name": "keep"}, "found": True},
        }
    ]
    session = status["sessions"][0]
    assert session["name"] == "full-backup"
    assert conditions({"status": session})["SchedulerEnsured"]["status"] == "True"
    # */30 at 600x fires within 3 real seconds; nextSchedule is that real time.
    assert started < parse(session["nextSchedule"]) < datetime.now(UTC) + timedelta(seconds=4)

    async def succeeded() -> Obj | None:
        runs = await items(admin, f"{CORE}/namespaces/{ns}/backupsessions")
        done = [r for r in runs if phase(r) == "Succeeded"]
        return done[0] if done else None

    run = await eventually(succeeded, timeout=30)
    assert run["spec"]["invoker"] == {
        "apiGroup": "core.kubestash.com",
        "kind": "BackupConfiguration",
        "name": "pg-backup",
    }
    owner = run["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == (
        "BackupConfiguration",
        "pg-backup",
        True,
    )
    assert run["metadata"]["labels"]["kubestash.com/invoker-name"] == "pg-backup"
    run_conds = conditions(run)
    for kind in ("BackupExecutorEnsured", "SnapshotsEnsured", "SessionHistoryCleaned"):
        assert run_conds[kind]["status"] == "True", kind
    assert run["status"]["duration"].endswith("s")
    assert run["status"]["totalSnapshots"] == 1
    entry = run["status"]["snapshots"][0]
    assert entry["phase"] == "Succeeded"
    assert entry["repository"] == "pg-repo"
    assert run["status"]["retentionPolicy"][0]["phase"] == "Applied"

    snap = await get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{entry['name']}")
    assert snap is not None
    assert snap["metadata"]["labels"] == {
        "kubestash.com/repo-name": "pg-repo",
        "kubestash.com/app-ref-kind": "Postgres",
        "kubestash.com/app-ref-name": "pg",
        "kubestash.com/app-ref-namespace": ns,
    }
    assert snap["metadata"]["annotations"]["kubedb.com/db-version"] == "16.4"
    snap_owner = snap["metadata"]["ownerReferences"][0]
    assert (snap_owner["kind"], snap_owner["name"], snap_owner["controller"]) == (
        "Repository",
        "pg-repo",
        True,
    )
    spec = snap["spec"]
    assert len(spec["snapshotID"]) == 26
    assert (spec["type"], spec["repository"], spec["session"], spec["version"]) == (
        "FullBackup",
        "pg-repo",
        "full-backup",
        "v1",
    )
    assert spec["backupSession"] == run["metadata"]["name"]
    assert spec["appRef"] == {
        "apiGroup": "kubedb.com",
        "kind": "Postgres",
        "namespace": ns,
        "name": "pg",
    }
    st = snap["status"]
    assert st["phase"] == "Succeeded"
    assert st["integrity"] is True
    assert st["size"].endswith("B")
    assert parse(st["snapshotTime"]) >= started
    assert st["totalComponents"] == 2
    assert set(st["components"]) == {"dump", "manifest"}
    dump = st["components"]["dump"]
    assert (dump["driver"], dump["phase"]) == ("Restic", "Succeeded")
    assert dump["path"] == "repository/v1/full-backup/dump"
    assert dump["size"]
    assert dump["duration"]
    assert dump["resticStats"][0]["summary"]["hostPath"] == "dumpfile.sql"

    async def counted() -> Obj | None:
        repo = await get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-repo")
        status = (repo or {}).get("status") or {}
        ok = status.get("snapshotCount", 0) >= 1 and status.get("lastBackupTime")
        return repo if ok else None

    repo = await eventually(counted, timeout=30)
    assert repo["spec"]["appRef"]["name"] == "pg"
    assert repo["spec"]["storageRef"] == {"namespace": ns, "name": "s3"}
    assert repo["spec"]["path"] == "/pg-repo"
    assert repo["status"]["phase"] == "Ready"
    assert repo["status"]["integrity"] is True
    assert any(s["name"] == snap["metadata"]["name"] for s in repo["status"]["recentSnapshots"])

    # KubeStash initialised the storage it was given without a status.
    store = await get(admin, f"{STORAGE}/namespaces/{ns}/backupstorages/s3")
    assert phase(store) == "Ready"


async def test_schedules_run_on_simulated_time_and_paused_configurations_wait(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}cron-{unique}")
    storage, retention = storage_pair(ns)
    busy = o.database("Postgres", "busy", ns, phase=None)
    idle = o.database("Postgres", "idle", ns, phase=None)
    await create(
        sandbox,
        storage,
        retention,
        busy,
        idle,
        # Every 5 simulated minutes = every 0.5 real seconds at 600x.
        o.backup_configuration(
            "busy-backup", busy, storage=(ns, "s3"), retention=(ns, "keep"), schedule="*/5 * * * *"
        ),
        o.backup_configuration(
            "idle-backup",
            idle,
            storage=(ns, "s3"),
            retention=(ns, "keep"),
            schedule="*/5 * * * *",
            paused=True,
        ),
    )
    names: set[str] = set()
    next_schedules: set[str] = set()

    async def several() -> bool:
        runs = await items(admin, f"{CORE}/namespaces/{ns}/backupsessions")
        names.update(
            r["metadata"]["name"] for r in runs if r["spec"]["invoker"]["name"] == "busy-backup"
        )
        bc = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/busy-backup")
        for s in (bc or {}).get("status", {}).get("sessions") or []:
            if s.get("nextSchedule"):
                next_schedules.add(s["nextSchedule"])
        return len(names) >= 4 and len(next_schedules) >= 2

    await eventually(several, timeout=30, interval=0.2)

    idle_bc = await must_get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/idle-backup")
    assert phase(idle_bc) == "Ready"
    sessions = idle_bc["status"]["sessions"][0]
    assert "InitialBackupTriggered" not in conditions({"status": sessions})
    runs = await items(admin, f"{CORE}/namespaces/{ns}/backupsessions")
    assert [r for r in runs if r["spec"]["invoker"]["name"] == "idle-backup"] == []
    # sessionHistoryLimit (3 here) keeps the number of finished runs bounded.
    finished = [r for r in runs if r["spec"]["invoker"]["name"] == "busy-backup" and phase(r)]
    assert len([r for r in finished if phase(r) == "Succeeded"]) <= 3 + 1


async def test_missing_or_forbidden_storage_is_reported_on_the_configuration(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}bad-{unique}")
    other = await namespace(sandbox, f"{PREFIX}bad-{unique}-other")
    storage, retention = storage_pair(ns)
    private = o.backup_storage("private", other, scope="Same")
    db = o.database("Postgres", "pg", ns, phase=None)
    await create(
        sandbox,
        storage,
        retention,
        private,
        db,
        o.backup_configuration(
            "no-storage", db, storage=(ns, "nowhere"), retention=(ns, "keep"), repository="r1"
        ),
        o.backup_configuration(
            "no-policy", db, storage=(ns, "s3"), retention=(ns, "forever"), repository="r2"
        ),
        o.backup_configuration(
            "not-allowed", db, storage=(other, "private"), retention=(ns, "keep"), repository="r3"
        ),
    )

    async def status_of(name: str, wanted: str) -> Obj | None:
        bc = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/{name}")
        return bc if phase(bc) == wanted else None

    missing = await eventually(lambda: status_of("no-storage", "NotReady"), timeout=30)
    backend = missing["status"]["backends"][0]
    assert backend["ready"] is False
    assert "nowhere" in backend["storage"]["reason"]
    assert conditions(missing)["ValidationPassed"]["status"] == "True"

    no_policy = await eventually(lambda: status_of("no-policy", "NotReady"), timeout=30)
    retention_status = no_policy["status"]["backends"][0]["retentionPolicy"]
    assert retention_status["found"] is False
    assert "forever" in retention_status["reason"]

    invalid = await eventually(lambda: status_of("not-allowed", "Invalid"), timeout=30)
    validation = conditions(invalid)["ValidationPassed"]
    assert validation["status"] == "False"
    assert "private" in validation["message"]
    assert ns in validation["message"]

    # None of them runs a backup or gets a repository.
    await asyncio.sleep(1.5)
    assert await items(admin, f"{CORE}/namespaces/{ns}/backupsessions") == []
    assert await items(admin, f"{STORAGE}/namespaces/{ns}/repositories") == []


# --------------------------------------------------------------------------- auto-backup


async def test_blueprint_annotations_create_the_appbinding_configuration(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    admin_ns = await namespace(sandbox, f"{PREFIX}bp-{unique}-admin")
    ns = await namespace(sandbox, f"{PREFIX}bp-{unique}", {"team": "a"})
    shared = (admin_ns, "s3")
    kept = (admin_ns, "keep")
    daily = o.blueprint("pg-daily", admin_ns, storage=shared, retention=kept, scope="All")
    team_b = o.blueprint(
        "team-b",
        admin_ns,
        storage=shared,
        retention=kept,
        scope="Selector",
        selector={"matchLabels": {"team": "b"}},
    )

    def annotated(name: str, blueprint: str) -> Obj:
        return o.database(
            "Postgres",
            name,
            ns,
            phase=None,
            annotations={
                "blueprint.kubestash.com/name": blueprint,
                "blueprint.kubestash.com/namespace": admin_ns,
                "variables.kubestash.com/schedule": "*/30 * * * *",
                "variables.kubestash.com/repoName": f"{name}-repo",
            },
        )

    await create(
        sandbox,
        o.backup_storage("s3", admin_ns, scope="All"),
        o.retention_policy("keep", admin_ns, scope="All"),
        daily,
        team_b,
        annotated("auto", "pg-daily"),
        annotated("refused", "team-b"),
        annotated("orphan", "no-such-blueprint"),
    )

    async def generated() -> Obj | None:
        bc = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/appbinding-auto")
        return bc if phase(bc) == "Ready" else None

    bc = await eventually(generated, timeout=30)
    labels = bc["metadata"]["labels"]
    assert labels["kubestash.com/invoker-name"] == "pg-daily"
    assert labels["kubestash.com/invoker-namespace"] == admin_ns
    assert bc["spec"]["target"] == {
        "apiGroup": "kubedb.com",
        "kind": "Postgres",
        "namespace": ns,
        "name": "auto",
    }
    session = bc["spec"]["sessions"][0]
    assert session["scheduler"]["schedule"] == "*/30 * * * *"
    assert session["repositories"][0]["name"] == "auto-repo"
    assert bc["spec"]["backends"][0]["storageRef"] == {"namespace": admin_ns, "name": "s3"}

    async def repo_created() -> bool:
        return await get(admin, f"{STORAGE}/namespaces/{ns}/repositories/auto-repo") is not None

    await eventually(repo_created, timeout=30)
    # A blueprint that does not allow the namespace, or that does not exist: nothing.
    await asyncio.sleep(1.0)
    names = {
        b["metadata"]["name"]
        for b in await items(admin, f"{CORE}/namespaces/{ns}/backupconfigurations")
    }
    assert names == {"appbinding-auto"}


async def test_blueprint_placeholder_defaults_apply_without_annotations(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}bpdef-{unique}")
    sessions = [
        o.session_spec(schedule="${schedule:=*/30 * * * *}", repository="${repoName:=pg-default}")
    ]
    await create(
        sandbox,
        o.backup_storage("s3", ns, scope="All"),
        o.retention_policy("keep", ns, scope="All"),
        o.blueprint("defaults", ns, storage=(ns, "s3"), retention=(ns, "keep"), sessions=sessions),
        o.database(
            "Postgres",
            "pg",
            ns,
            phase=None,
            annotations={
                "blueprint.kubestash.com/name": "defaults",
                "blueprint.kubestash.com/namespace": ns,
            },
        ),
    )

    async def generated() -> Obj | None:
        bc = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/appbinding-pg")
        return bc if phase(bc) == "Ready" else None

    bc = await eventually(generated, timeout=30)
    session = bc["spec"]["sessions"][0]
    assert session["scheduler"]["schedule"] == "*/30 * * * *"
    assert session["repositories"][0]["name"] == "pg-default"

    async def repo_created() -> bool:
        return await get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-default") is not None

    await eventually(repo_created, timeout=30)


# --------------------------------------------------------------------------- archivers


async def test_archiver_database_gets_full_backups_and_advancing_log_snapshot(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}arch-{unique}")
    storage, retention = storage_pair(ns)
    await create(
        sandbox,
        storage,
        retention,
        o.archiver("Postgres", "pg-arch", ns, storage=(ns, "s3"), retention=(ns, "keep")),
        o.archiver(
            "MySQL", "my-arch", ns, storage=(ns, "s3"), retention=(ns, "keep"), driver="Restic"
        ),
        o.database("Postgres", "pgx", ns, phase=None, archiver=(ns, "pg-arch")),
        o.database(
            "MySQL",
            "myx",
            ns,
            phase=None,
            version="8.4.3",
            archiver=(ns, "my-arch"),
            annotations={FAIL_ANNOTATION: "log"},
        ),
    )

    async def log_snapshot(name: str) -> Obj | None:
        snap = await get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{name}")
        return snap if snap and snap.get("status", {}).get("components") else None

    first = await eventually(lambda: log_snapshot("pgx-incremental-snapshot"), timeout=30)
    assert first["spec"]["type"] == "IncrementalBackup"
    assert first["spec"]["repository"] == "pgx-full"
    assert first["metadata"]["labels"]["kubestash.com/repo-name"] == "pgx-full"
    assert first["metadata"]["ownerReferences"][0]["name"] == "pgx-full"
    await asyncio.sleep(1.0)
    second = await log_snapshot("pgx-incremental-snapshot")
    assert second is not None
    before = first["status"]["components"]["wal"]["logStats"]
    after = second["status"]["components"]["wal"]["logStats"]
    assert parse(after["end"]) > parse(before["end"])
    assert after["start"] == before["start"]
    assert after["lsn"] != before["lsn"]
    assert after["totalSucceededCount"] > before["totalSucceededCount"]
    assert 1 <= len(after["lastSucceededStats"]) <= 5

    # The log window starts at the first full backup, a volume snapshot in <db>-full.
    fulls = [
        s
        for s in await items(
            admin,
            f"{STORAGE}/namespaces/{ns}/snapshots",
            labelSelector="kubestash.com/repo-name=pgx-full",
        )
        if s["spec"]["type"] == "FullBackup" and phase(s) == "Succeeded"
    ]
    assert fulls
    assert parse(after["start"]) == min(parse(s["status"]["snapshotTime"]) for s in fulls)
    assert set(fulls[0]["status"]["components"]) == {"volumesnapshot"}
    assert fulls[0]["status"]["components"]["volumesnapshot"]["driver"] == "VolumeSnapshotter"

    bc = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/pgx-archiver")
    assert bc is not None
    assert bc["metadata"]["ownerReferences"][0]["name"] == "pgx"
    sessions = {s["name"]: s for s in bc["spec"]["sessions"]}
    assert [t["name"] for t in sessions["full-backup"]["addon"]["tasks"]] == ["volume-snapshot"]
    assert sessions["full-backup"]["repositories"][0]["name"] == "pgx-full"
    assert [t["name"] for t in sessions["manifest-backup"]["addon"]["tasks"]] == ["manifest-backup"]
    assert sessions["manifest-backup"]["repositories"][0]["name"] == "pgx-manifest"
    for repo in ("pgx-full", "pgx-manifest"):
        assert await get(admin, f"{STORAGE}/namespaces/{ns}/repositories/{repo}") is not None
    archiver = await must_get(admin, f"{ARCHIVER}/namespaces/{ns}/postgresarchivers/pg-arch")
    assert {"name": "pgx", "namespace": ns} in archiver["status"]["databaseRefs"]

    # MySQL ships binlogs into `log` (no LSN); an injected failure shows in logStats.
    async def failing() -> Obj | None:
        snap = await log_snapshot("myx-incremental-snapshot")
        stats = (snap or {}).get("status", {}).get("components", {}).get("log", {})
        return stats.get("logStats") if stats.get("logStats", {}).get("totalFailedCount") else None

    stats = await eventually(failing, timeout=30)
    assert "lsn" not in stats
    assert "binlog" in stats["lastFailedStats"][-1]["error"]
    assert stats["end"] == stats["start"]  # nothing shipped while it fails
    full_my = await must_get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/myx-archiver")
    assert [t["name"] for t in full_my["spec"]["sessions"][0]["addon"]["tasks"]] == [
        "physical-backup"
    ]

    # Point-in-time recovery into a new database, inside the window: DataRestoring, Ready.
    target_time = parse(after["end"]).replace(microsecond=0)
    recovered = o.database("Postgres", "pgx-copy", ns, phase=None)
    recovered["spec"]["init"] = {
        "archiver": {
            "recoveryTimestamp": o.ts(target_time),
            "fullDBRepository": {"namespace": ns, "name": "pgx-full"},
            "manifestRepository": {"namespace": ns, "name": "pgx-manifest"},
            "replicationStrategy": "none",
        }
    }
    too_late = copy.deepcopy(recovered)
    too_late["metadata"]["name"] = "pgx-future"
    too_late["spec"]["init"]["archiver"]["recoveryTimestamp"] = o.ts(
        datetime.now(UTC) + timedelta(days=1)
    )
    # Before the first full backup in the window is as unrecoverable as after its end.
    too_early = copy.deepcopy(recovered)
    too_early["metadata"]["name"] = "pgx-past"
    too_early["spec"]["init"]["archiver"]["recoveryTimestamp"] = o.ts(
        parse(after["start"]) - timedelta(hours=1)
    )
    await create(sandbox, recovered, too_late, too_early)
    phases: list[str] = []

    async def recovered_ready() -> Obj | None:
        got = await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pgx-copy")
        if phase(got) and (not phases or phases[-1] != phase(got)):
            phases.append(phase(got))
        return got if phase(got) == "Ready" else None

    copy_db = await eventually(recovered_ready, timeout=30, interval=0.05)
    assert phases == ["Provisioning", "DataRestoring", "Ready"]
    assert conditions(copy_db)["DataRestored"]["reason"] == "SuccessfullyDataRestored"

    # The same recovery in the second cluster, from a Repository on the same location
    # (what a cross-cluster restoreToNewDatabase makes there): its Snapshots, the log
    # snapshot among them, come from the bucket.
    full_repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pgx-full")
    elsewhere = copy.deepcopy(recovered)
    elsewhere["metadata"]["name"] = "pgx-elsewhere"
    mirror = o.repository(elsewhere, "pgx-full", storage=(ns, "s3"))
    mirror["spec"]["path"] = full_repo["spec"]["path"]
    await create(sandbox, storage, mirror, elsewhere, cluster=1)
    async with kube_http(sandbox, user="admin", cluster=1) as remote:

        async def second_ready() -> Obj | None:
            got = await get(remote, f"{KUBEDB}/namespaces/{ns}/postgreses/pgx-elsewhere")
            return got if phase(got) in ("Ready", "NotReady") else None

        there = await eventually(second_ready, timeout=30)
        assert phase(there) == "Ready", conditions(there).get("DataRestored")
        log_copy = await must_get(
            remote, f"{STORAGE}/namespaces/{ns}/snapshots/pgx-incremental-snapshot"
        )
        assert log_copy["spec"]["type"] == "IncrementalBackup"

    async def refused() -> Obj | None:
        got = await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pgx-future")
        return got if phase(got) == "NotReady" else None

    future = await eventually(refused, timeout=30)
    assert "after the latest archived log" in conditions(future)["DataRestored"]["message"]
    assert conditions(future)["DataRestored"]["reason"] == "FailedToRestoreData"

    async def refused_past() -> Obj | None:
        got = await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pgx-past")
        return got if phase(got) == "NotReady" else None

    past = await eventually(refused_past, timeout=30)
    assert "no full backup" in conditions(past)["DataRestored"]["message"]


# --------------------------------------------------------------------------- restores


async def restore_fixture(sandbox: Sandbox, ns: str, *, with_backups: bool) -> tuple[Obj, Obj]:
    """A database, a repository holding one succeeded snapshot, optionally backed up."""
    storage, retention = storage_pair(ns)
    db = o.database("Postgres", "pg", ns, phase=None)
    repo = o.repository(db, "pg-repo", storage=(ns, "s3"))
    snap = o.snapshot(
        "pg-repo-seeded",
        repo,
        session="seeded-run",
        taken=datetime.now(UTC) - timedelta(minutes=10),
        size="16 MiB",
    )
    objects = [storage, retention, db]
    if with_backups:
        objects.append(
            o.backup_configuration(
                "pg-backup", db, storage=(ns, "s3"), retention=(ns, "keep"), schedule="0 0 1 1 *"
            )
        )
    await create(sandbox, *objects)
    await seed(sandbox, [repo, snap])
    return db, snap


async def test_restore_session_progresses_and_database_passes_data_restoring(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}rs-{unique}")
    db, _ = await restore_fixture(sandbox, ns, with_backups=True)
    db_path = f"{KUBEDB}/namespaces/{ns}/postgreses/pg"
    bc_path = f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup"

    async def db_ready() -> bool:
        bc = await get(admin, bc_path)
        return phase(await get(admin, db_path)) == "Ready" and phase(bc) == "Ready"

    await eventually(db_ready, timeout=30)
    await create(sandbox, o.restore_session("pg-restore", db, repository="pg-repo"))
    db_phases: list[str] = []
    percents: set[str] = set()
    paused_seen: list[Obj] = []
    bc_paused = False

    async def restored() -> Obj | None:
        nonlocal bc_paused
        current = phase(await get(admin, db_path))
        if not db_phases or db_phases[-1] != current:
            db_phases.append(current)
        bc = await get(admin, bc_path)
        bc_paused = bc_paused or (bc or {}).get("spec", {}).get("paused") is True
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/pg-restore")
        st = (rs or {}).get("status") or {}
        paused_seen.extend(st.get("pausedBackups") or [])
        for component in (st.get("components") or {}).values():
            percents.add(component.get("progress", {}).get("percentDone", ""))
        return rs if phase(rs) == "Succeeded" else None

    rs = await eventually(restored, timeout=30, interval=0.05)
    dump = rs["status"]["components"]["dump"]
    assert dump["phase"] == "Succeeded"
    assert dump["progress"]["percentDone"] == "100.00%"
    assert rs["status"]["duration"].endswith("s")
    assert rs["status"]["targetFound"] is True
    assert conditions(rs)["RestoreExecutorEnsured"]["status"] == "True"
    assert any(p not in ("", "0.00%", "100.00%") for p in percents), percents
    assert {"kind": "BackupConfiguration", "name": "pg-backup"}.items() <= paused_seen[0].items()
    assert bc_paused
    assert "pausedBackups" not in rs["status"]

    async def back_to_ready() -> Obj | None:
        current = await get(admin, db_path)
        if db_phases[-1] != phase(current):
            db_phases.append(phase(current))
        return current if phase(current) == "Ready" else None

    final = await eventually(back_to_ready, timeout=30, interval=0.05)
    assert "DataRestoring" in db_phases, db_phases
    assert db_phases.index("DataRestoring") < len(db_phases) - 1
    conds = conditions(final)
    assert conds["DataRestored"]["status"] == "True"
    assert conds["DataRestored"]["reason"] == "SuccessfullyDataRestored"
    assert "DataRestoreStarted" not in conds

    async def resumed() -> bool:
        bc = await get(admin, bc_path)
        return (bc or {}).get("spec", {}).get("paused") is False

    await eventually(resumed, timeout=30)


async def test_deleting_a_running_restore_interrupts_it(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}int-{unique}")
    db, _ = await restore_fixture(sandbox, ns, with_backups=True)
    db_path = f"{KUBEDB}/namespaces/{ns}/postgreses/pg"
    bc_path = f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup"

    async def ready() -> bool:
        return (
            phase(await get(admin, db_path)) == "Ready"
            and phase(await get(admin, bc_path)) == "Ready"
        )

    await eventually(ready, timeout=30)
    await create(sandbox, o.restore_session("doomed", db, repository="pg-repo"))

    async def restoring() -> bool:
        return phase(await get(admin, db_path)) == "DataRestoring"

    await eventually(restoring, timeout=30, interval=0.05)
    r = await admin.delete(f"{CORE}/namespaces/{ns}/restoresessions/doomed")
    assert r.status_code == 200, r.text

    async def interrupted() -> Obj | None:
        got = await get(admin, db_path)
        return got if phase(got) == "NotReady" else None

    got = await eventually(interrupted, timeout=30)
    restored = conditions(got)["DataRestored"]
    assert (restored["status"], restored["reason"]) == ("False", "DataRestoreInterrupted")
    assert "doomed" in restored["message"]

    async def resumed() -> bool:
        return (await must_get(admin, bc_path))["spec"].get("paused") is False

    await eventually(resumed, timeout=30)


# --------------------------------------------------------------------------- failures


async def test_injected_failures_fail_sessions_snapshots_and_restores(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}fail-{unique}")
    storage, retention = storage_pair(ns)
    broken = o.database(
        "Postgres", "broken", ns, phase=None, annotations={FAIL_ANNOTATION: "backup"}
    )
    await create(
        sandbox,
        storage,
        retention,
        broken,
        o.backup_configuration(
            "broken-backup",
            broken,
            storage=(ns, "s3"),
            retention=(ns, "keep"),
            schedule="0 0 1 1 *",
        ),
    )
    db, _ = await restore_fixture(sandbox, ns, with_backups=False)

    async def failed_run() -> Obj | None:
        runs = await items(admin, f"{CORE}/namespaces/{ns}/backupsessions")
        done = [r for r in runs if phase(r) == "Failed"]
        return done[0] if done else None

    run = await eventually(failed_run, timeout=30)
    reasons = [c for c in conditions(run).values() if c["status"] == "False"]
    assert reasons
    assert reasons[0]["message"]
    snap_name = run["status"]["snapshots"][0]["name"]
    assert run["status"]["snapshots"][0]["phase"] == "Failed"
    snap = await must_get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{snap_name}")
    assert phase(snap) == "Failed"
    dump = snap["status"]["components"]["dump"]
    assert dump["phase"] == "Failed"
    assert dump["error"]
    assert dump["error"] in reasons[0]["message"]
    assert snap["status"]["components"]["manifest"]["phase"] == "Succeeded"
    assert conditions(snap)["BackupIncomplete"]["status"] == "True"

    async def db_ready() -> bool:
        return phase(await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg")) == "Ready"

    await eventually(db_ready, timeout=30)
    await create(
        sandbox,
        o.restore_session(
            "bad-restore",
            db,
            repository="pg-repo",
            snapshot_name="pg-repo-seeded",
            annotations={FAIL_ANNOTATION: "restore"},
        ),
    )
    db_phases: list[str] = []

    async def restore_failed() -> Obj | None:
        current = phase(await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg"))
        if not db_phases or db_phases[-1] != current:
            db_phases.append(current)
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/bad-restore")
        return rs if phase(rs) == "Failed" and current == "NotReady" else None

    rs = await eventually(restore_failed, timeout=30, interval=0.05)
    assert rs["status"]["components"]["dump"]["phase"] == "Failed"
    assert rs["status"]["components"]["dump"]["error"]
    assert rs["status"]["components"]["dump"]["progress"]["percentDone"] != "100.00%"
    assert conditions(rs)["RestoreIncomplete"]["status"] == "True"
    assert "DataRestoring" in db_phases, db_phases
    final = await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg")
    restored = conditions(final)["DataRestored"]
    assert (restored["status"], restored["reason"]) == ("False", "FailedToRestoreData")
    assert restored["message"]

    # A restore that names a snapshot that does not exist fails, saying which one.
    await create(
        sandbox,
        o.restore_session("ghost-restore", db, repository="pg-repo", snapshot_name="no-such-snap"),
    )

    async def ghost() -> Obj | None:
        got = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/ghost-restore")
        return got if phase(got) == "Failed" else None

    got = await eventually(ghost, timeout=30)
    assert "no-such-snap" in conditions(got)["RestoreExecutorEnsured"]["message"]


# --------------------------------------------------------------------------- what the
# gateway's backup mutations write (shared/policy-encoding.md), written as alice

EDITOR_ROLE = "stashql-sandbox:database-editor"
ALICE_DONE = frozenset({"Succeeded", "Failed", "Skipped"})


async def alice_namespace(sandbox: Sandbox, name: str) -> str:
    """A namespace where alice has exactly her team-a rights (the editor role).

    The simulator here only reconciles this module's namespaces, so alice's objects go
    into one of them rather than into team-a itself, under the same RoleBinding.
    """
    await namespace(sandbox, name)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{EDITOR_ROLE}:alice", "namespace": name},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": EDITOR_ROLE,
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    async with kube_http(sandbox, user="admin") as client:
        r = await client.post(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{name}/rolebindings", json=binding
        )
        assert r.status_code in (201, 409), r.text
    # The API server's authorizer learns of the binding from its own watch: wait until it
    # answers for alice, so her first write is not refused by a lagging cache.
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "group": "kubedb.com",
                "resource": "postgreses",
                "verb": "patch",
                "namespace": name,
            }
        },
    }
    async with kube_http(sandbox, user="alice") as alice:

        async def allowed() -> bool:
            r = await alice.post(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review
            )
            return r.status_code == 201 and r.json()["status"].get("allowed") is True

        await eventually(allowed, timeout=30)
    return name


async def kubedb_namespace(sandbox: Sandbox, name: str, *, with_storage: bool = True) -> str:
    """The admin namespace (``kubedb`` in the demo): storage and retention shared with
    every namespace, and the encryption Secret the policies name."""
    await namespace(sandbox, name)
    objects = [o.encryption_secret("std-encryption", name, password="not-shown")]
    if with_storage:
        objects += [
            o.backup_storage("s3", name, scope="All"),
            o.retention_policy("keep-30d", name, scope="All", last=10),
        ]
    await create(sandbox, *objects)
    return name


def enabled(db: Obj, adm: str, *, schedule: str, paused: bool = False) -> Obj:
    """``<db>-backup`` as enableBackup writes it from the policy ``postgres-standard``."""
    return o.enabled_backup(
        db,
        storage=(adm, "s3"),
        retention=(adm, "keep-30d"),
        encryption=(adm, "std-encryption"),
        policy=(adm, "postgres-standard"),
        session="daily",
        schedule=schedule,
        paused=paused,
    )


def session_conditions(bc: Obj | None, session: str = "daily") -> dict[str, Obj]:
    for entry in ((bc or {}).get("status") or {}).get("sessions") or []:
        if entry.get("name") == session:
            return conditions({"status": entry})
    return {}


async def runs_of(client: httpx.AsyncClient, ns: str, bc: str) -> list[Obj]:
    runs = await items(client, f"{CORE}/namespaces/{ns}/backupsessions")
    return [r for r in runs if r["spec"]["invoker"]["name"] == bc]


async def test_configuration_written_by_alice_backs_up_initially_and_on_schedule(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    adm = await kubedb_namespace(sandbox, f"{PREFIX}kdb-{unique}")
    ns = await alice_namespace(sandbox, f"{PREFIX}alice-{unique}")
    # The policy itself: the gateway expands it, so the simulator must leave it alone.
    await create(
        sandbox,
        o.policy_blueprint(
            "postgres-standard",
            adm,
            storage=(adm, "s3"),
            retention=(adm, "keep-30d"),
            encryption=(adm, "std-encryption"),
        ),
    )
    pg = o.database("Postgres", "pg", ns, phase=None)
    idle = o.database("Postgres", "idle", ns, phase=None)
    # Every 5 simulated minutes = every 0.5 real seconds at 600x.
    await create(
        sandbox,
        pg,
        idle,
        enabled(pg, adm, schedule="*/5 * * * *"),
        enabled(idle, adm, schedule="*/5 * * * *", paused=True),
        user="alice",
    )
    bc_path = f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup"

    async def ready() -> Obj | None:
        bc = await get(admin, bc_path)
        triggered = session_conditions(bc).get("InitialBackupTriggered", {})
        return bc if phase(bc) == "Ready" and triggered.get("status") == "True" else None

    bc = await eventually(ready, timeout=30)
    assert bc["metadata"]["labels"]["kubestash.com/invoker-kind"] == "BackupBlueprint"
    assert bc["status"]["targetFound"] is True
    assert conditions(bc)["ValidationPassed"]["status"] == "True"
    backend = bc["status"]["backends"][0]
    assert (backend["name"], backend["ready"]) == ("default", True)
    assert backend["storage"] == {"ref": {"namespace": adm, "name": "s3"}, "phase": "Ready"}
    assert backend["retentionPolicy"] == {
        "ref": {"namespace": adm, "name": "keep-30d"},
        "found": True,
    }
    assert session_conditions(bc)["SchedulerEnsured"]["status"] == "True"

    repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-daily")
    assert repo["spec"]["path"] == f"/{ns}/pg/daily"
    assert repo["spec"]["storageRef"] == {"namespace": adm, "name": "s3"}
    assert repo["spec"]["encryptionSecret"] == {"namespace": adm, "name": "std-encryption"}
    assert repo["spec"]["appRef"]["name"] == "pg"

    # The initial run, then the scheduled ones: more distinct runs than the history keeps.
    seen: dict[str, Obj] = {}

    async def several() -> bool:
        for run in await runs_of(admin, ns, "pg-backup"):
            if phase(run) == "Succeeded":
                seen[run["metadata"]["name"]] = run
        return len(seen) >= 4

    await eventually(several, timeout=30, interval=0.2)
    run = sorted(seen.values(), key=lambda r: r["metadata"]["name"])[-1]
    assert run["spec"]["session"] == "daily"
    assert run["status"]["retentionPolicy"][0]["ref"] == {"namespace": adm, "name": "keep-30d"}
    entry = run["status"]["snapshots"][0]
    assert (entry["repository"], entry["phase"]) == ("pg-daily", "Succeeded")
    snap = await get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{entry['name']}")
    if snap is not None:  # retention may already have pruned this one
        assert set(snap["status"]["components"]) == {"dump", "manifest"}
        assert snap["spec"]["session"] == "daily"
    snaps = await items(
        admin,
        f"{STORAGE}/namespaces/{ns}/snapshots",
        labelSelector="kubestash.com/repo-name=pg-daily",
    )
    done = [s for s in snaps if phase(s) == "Succeeded"]
    assert done
    for s in done:
        assert set(s["status"]["components"]) == {"dump", "manifest"}
        assert s["status"]["components"]["manifest"]["phase"] == "Succeeded"

    # The paused configuration is Ready but never runs, not even its initial backup.
    idle_bc = await must_get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/idle-backup")
    assert phase(idle_bc) == "Ready"
    assert "InitialBackupTriggered" not in session_conditions(idle_bc)
    assert await runs_of(admin, ns, "idle-backup") == []
    # Nothing expanded the policy's blueprint: only alice's two configurations exist.
    for where in (ns, adm):
        names = {
            b["metadata"]["name"]
            for b in await items(admin, f"{CORE}/namespaces/{where}/backupconfigurations")
        }
        assert names == ({"pg-backup", "idle-backup"} if where == ns else set())


async def test_backup_sessions_alice_triggers_run_or_are_skipped_while_paused(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    adm = await kubedb_namespace(sandbox, f"{PREFIX}kdb-{unique}")
    ns = await alice_namespace(sandbox, f"{PREFIX}trig-{unique}")
    pg = o.database("Postgres", "pg", ns, phase=None)
    idle = o.database("Postgres", "idle", ns, phase=None)
    yearly = "0 0 1 1 *"  # the only scheduled run is the initial one
    await create(
        sandbox,
        pg,
        idle,
        enabled(pg, adm, schedule=yearly),
        enabled(idle, adm, schedule=yearly, paused=True),
        user="alice",
    )

    async def initial_done() -> bool:
        runs = await runs_of(admin, ns, "pg-backup")
        return bool(runs) and all(phase(r) == "Succeeded" for r in runs)

    await eventually(initial_done, timeout=30)
    before = {r["metadata"]["name"] for r in await runs_of(admin, ns, "pg-backup")}

    async with kube_http(sandbox, user="alice") as alice:
        bc = await must_get(alice, f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup")
        manual = o.triggered_session(bc, session="daily", at=datetime.now(UTC))
        name = manual["metadata"]["name"]
        assert name not in before
        r = await alice.post(f"{CORE}/namespaces/{ns}/backupsessions", json=manual)
        assert r.status_code == 201, r.text

        async def idle_ready() -> Obj | None:
            got = await get(alice, f"{CORE}/namespaces/{ns}/backupconfigurations/idle-backup")
            return got if phase(got) == "Ready" else None

        idle_bc = await eventually(idle_ready, timeout=30)
        skipped_run = o.triggered_session(idle_bc, session="daily", at=datetime.now(UTC))
        r = await alice.post(f"{CORE}/namespaces/{ns}/backupsessions", json=skipped_run)
        assert r.status_code == 201, r.text

    async def finished(path: str) -> Obj | None:
        got = await get(admin, path)
        return got if phase(got) in ALICE_DONE else None

    run = await eventually(
        lambda: finished(f"{CORE}/namespaces/{ns}/backupsessions/{name}"), timeout=30
    )
    assert phase(run) == "Succeeded"
    for kind in ("BackupExecutorEnsured", "SnapshotsEnsured", "MetricsPushed"):
        assert conditions(run)[kind]["status"] == "True", kind
    entry = run["status"]["snapshots"][0]
    assert (entry["repository"], entry["phase"]) == ("pg-daily", "Succeeded")
    snap = await must_get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{entry['name']}")
    assert snap["spec"]["backupSession"] == name
    assert snap["spec"]["session"] == "daily"
    assert phase(snap) == "Succeeded"
    assert set(snap["status"]["components"]) == {"dump", "manifest"}
    repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-daily")
    assert any(s["name"] == entry["name"] for s in repo["status"].get("recentSnapshots") or [])

    skipped = await eventually(
        lambda: finished(
            f"{CORE}/namespaces/{ns}/backupsessions/{skipped_run['metadata']['name']}"
        ),
        timeout=30,
    )
    assert phase(skipped) == "Skipped"
    why = conditions(skipped)["BackupSkipped"]
    assert (why["status"], why["reason"]) == ("True", "PreRequisitesNotSatisfied")
    assert "paused" in why["message"]
    assert skipped["status"].get("snapshots") in (None, [])


async def test_archiver_admits_a_database_that_names_none_and_pause_stops_its_logs(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}optin-{unique}")
    other = await namespace(sandbox, f"{PREFIX}optin-{unique}-far")
    storage, retention = storage_pair(ns)
    wanted = {"matchLabels": {"archiver": "true"}}
    await create(
        sandbox,
        storage,
        retention,
        # Admits labelled databases of its own namespace: the one to be chosen.
        o.archiver(
            "Postgres", "near", ns, storage=(ns, "s3"), retention=(ns, "keep"), db_selector=wanted
        ),
        # Admits them from every namespace, but the database's own namespace comes first.
        o.archiver(
            "Postgres",
            "anywhere",
            other,
            storage=(ns, "s3"),
            retention=(ns, "keep"),
            scope="All",
            db_selector=wanted,
        ),
        # Same namespace only (its own): admits nothing here.
        o.archiver(
            "Postgres", "far", other, storage=(ns, "s3"), retention=(ns, "keep"), db_selector={}
        ),
        o.database("Postgres", "chosen", ns, phase=None, labels={"archiver": "true"}),
        o.database("Postgres", "plain", ns, phase=None),
    )
    db_path = f"{KUBEDB}/namespaces/{ns}/postgreses/chosen"

    async def opted_in() -> Obj | None:
        db = await get(admin, db_path)
        return db if (db or {}).get("spec", {}).get("archiver") else None

    db = await eventually(opted_in, timeout=30)
    assert db["spec"]["archiver"] == {"ref": {"name": "near", "namespace": ns}}

    async def shipping() -> Obj | None:
        snap = await get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/chosen-incremental-snapshot")
        wal = ((snap or {}).get("status") or {}).get("components", {}).get("wal", {})
        stats = wal.get("logStats") or {}
        return stats if stats.get("totalSucceededCount", 0) >= 1 else None

    first = await eventually(shipping, timeout=30)

    async def moving() -> bool:
        now = await shipping()
        return now is not None and now["totalSucceededCount"] > first["totalSucceededCount"]

    await eventually(moving, timeout=30)
    bc = await must_get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/chosen-archiver")
    assert bc["spec"]["target"]["name"] == "chosen"
    near = await must_get(admin, f"{ARCHIVER}/namespaces/{ns}/postgresarchivers/near")
    assert {"name": "chosen", "namespace": ns} in near["status"]["databaseRefs"]

    # Pausing the database's archiving (as disableBackup does) stops the log shipping.
    r = await admin.patch(
        db_path,
        json={"spec": {"archiver": {"pause": True}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    await asyncio.sleep(1.0)  # a push may have been under way
    frozen = await shipping()
    assert frozen is not None
    await asyncio.sleep(2.0)
    later = await shipping()
    assert later is not None
    assert later["end"] == frozen["end"]
    assert later["totalSucceededCount"] == frozen["totalSucceededCount"]
    # The pause keeps the choice: KubeDB never picks another archiver for it.
    kept = await must_get(admin, db_path)
    assert kept["spec"]["archiver"] == {"ref": {"name": "near", "namespace": ns}, "pause": True}

    # Not labelled: no archiver admits it, and nothing is written.
    plain = await must_get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/plain")
    assert phase(plain) == "Ready"
    assert "archiver" not in plain["spec"]
    assert await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/plain-archiver") is None


async def test_configuration_applied_before_its_storage_and_database_becomes_ready_later(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    adm = await kubedb_namespace(sandbox, f"{PREFIX}kdb-{unique}", with_storage=False)
    ns = await alice_namespace(sandbox, f"{PREFIX}order-{unique}")
    pg = o.database("Postgres", "pg", ns, phase=None)
    # A pipeline applies the configuration first: no database, storage or policy yet.
    await create(sandbox, enabled(pg, adm, schedule="0 0 1 1 *"), user="alice")
    bc_path = f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup"

    async def not_ready() -> Obj | None:
        bc = await get(admin, bc_path)
        return bc if phase(bc) == "NotReady" and (bc or {})["status"].get("backends") else None

    bc = await eventually(not_ready, timeout=30)
    assert bc["status"]["targetFound"] is False
    assert conditions(bc)["ValidationPassed"]["status"] == "True"
    backend = bc["status"]["backends"][0]
    assert backend["ready"] is False
    assert f"BackupStorage {adm}/s3 not found" in backend["storage"]["reason"]
    assert backend["retentionPolicy"]["found"] is False
    assert f"RetentionPolicy {adm}/keep-30d not found" in backend["retentionPolicy"]["reason"]
    assert "InitialBackupTriggered" not in session_conditions(bc)

    await create(sandbox, pg, user="alice")
    await asyncio.sleep(1.0)
    still = await must_get(admin, bc_path)
    assert phase(still) == "NotReady"
    assert still["status"]["targetFound"] is True
    assert await runs_of(admin, ns, "pg-backup") == []
    assert await items(admin, f"{STORAGE}/namespaces/{ns}/repositories") == []

    await create(
        sandbox,
        o.backup_storage("s3", adm, scope="All"),
        o.retention_policy("keep-30d", adm, scope="All"),
    )

    async def ready() -> Obj | None:
        got = await get(admin, bc_path)
        triggered = session_conditions(got).get("InitialBackupTriggered", {})
        return got if phase(got) == "Ready" and triggered.get("status") == "True" else None

    bc = await eventually(ready, timeout=30)
    backend = bc["status"]["backends"][0]
    assert backend["ready"] is True
    assert "reason" not in backend["storage"]
    assert "reason" not in backend["retentionPolicy"]
    assert await get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-daily") is not None

    async def backed_up() -> bool:
        return any(phase(r) == "Succeeded" for r in await runs_of(admin, ns, "pg-backup"))

    await eventually(backed_up, timeout=30)


async def test_deleting_a_configuration_stops_its_sessions_and_keeps_its_data(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    adm = await kubedb_namespace(sandbox, f"{PREFIX}kdb-{unique}")
    ns = await alice_namespace(sandbox, f"{PREFIX}del-{unique}")
    pg = o.database("Postgres", "pg", ns, phase=None)
    await create(sandbox, pg, enabled(pg, adm, schedule="*/5 * * * *"), user="alice")

    async def backed_up() -> bool:
        runs = await runs_of(admin, ns, "pg-backup")
        return len([r for r in runs if phase(r) == "Succeeded"]) >= 2

    await eventually(backed_up, timeout=30, interval=0.2)
    async with kube_http(sandbox, user="alice") as alice:
        r = await alice.delete(f"{CORE}/namespaces/{ns}/backupconfigurations/pg-backup")
        assert r.status_code == 200, r.text

    # A run under way when the configuration went ends; none starts afterwards.
    async def settled() -> list[Obj] | None:
        runs = await runs_of(admin, ns, "pg-backup")
        return runs if all(phase(r) in ALICE_DONE for r in runs) else None

    runs = await eventually(settled, timeout=30)
    names = {r["metadata"]["name"] for r in runs}
    snap_path = f"{STORAGE}/namespaces/{ns}/snapshots"
    kept = await items(admin, snap_path)
    snapshots = {s["metadata"]["name"] for s in kept}
    assert snapshots
    # None is left Running: an interrupted run's Snapshot failed with it.
    assert {phase(s) for s in kept} <= {"Succeeded", "Failed"}
    await asyncio.sleep(2.5)  # five firings of the old schedule at 600x
    assert {r["metadata"]["name"] for r in await runs_of(admin, ns, "pg-backup")} == names
    assert {s["metadata"]["name"] for s in await items(admin, snap_path)} == snapshots
    repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-daily")
    assert repo["status"]["snapshotCount"] >= 1


_PLACEHOLDER = re.compile(r"\$\{([^}:]+)(?::=([^}]*))?\}")


def expand(value: Any, values: dict[str, str]) -> Any:
    """The gateway's expansion of a policy's template (``${name}``, ``${name:=default}``)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(2) or m.group(0)), value)
    if isinstance(value, dict):
        return {k: expand(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, values) for v in value]
    return value


async def test_the_demo_policy_enabled_for_reports_backs_up_as_in_the_walkthrough(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    adm = await namespace(sandbox, f"{PREFIX}kubedb-{unique}")
    ns = await alice_namespace(sandbox, f"{PREFIX}team-{unique}")
    policy = demo.backup_policy(storage="s3-prod", namespace=adm)
    client = sandbox.client(0)
    discovery = Discovery(client)
    try:
        for obj in [
            o.backup_storage("s3-prod", adm, scope="All", default=True),
            o.retention_policy("keep-30d", adm, scope="All", default=True),
            *policy,
        ]:
            body = {k: v for k, v in obj.items() if k != "status"}
            info = await discovery.resource(body["apiVersion"], body["kind"])
            # Strict: every field the demo seeds is one the CRDs know.
            await client.apply(
                info.path(namespace=adm, name=body["metadata"]["name"]),
                body,
                field_manager="stashql-tests",
                params={"fieldValidation": "Strict"},
            )
    finally:
        await client.close()
    blueprint = next(x for x in policy if x["kind"] == "BackupBlueprint")
    assert await get(admin, f"{CORE}/namespaces/{adm}/hooktemplates/check-rows") is not None

    # What enableBackup(reports, policy postgres-standard, schedule */5) writes as alice.
    reports = o.database("Postgres", "reports", ns, phase=None)
    template = expand(
        blueprint["spec"]["backupConfigurationTemplate"],
        {
            "targetName": "reports",
            "targetNamespace": ns,
            "targetKind": "Postgres",
            "addon": "postgres-addon",
            "schedule": "*/5 * * * *",
        },
    )
    bc = {
        "apiVersion": o.CORE_V1,
        "kind": "BackupConfiguration",
        "metadata": {
            "name": "reports-backup",
            "namespace": ns,
            "labels": {
                **o.MANAGED_BY_STASHQL,
                "kubestash.com/invoker-name": demo.POLICY,
                "kubestash.com/invoker-namespace": adm,
                "kubestash.com/invoker-kind": "BackupBlueprint",
            },
        },
        "spec": {
            "target": {
                "apiGroup": "kubedb.com",
                "kind": "Postgres",
                "namespace": ns,
                "name": "reports",
            },
            "backends": template["backends"],
            "sessions": template["sessions"],
        },
    }
    assert "${" not in str(bc)
    await create(sandbox, reports, bc, user="alice")

    async def backed_up() -> Obj | None:
        runs = [r for r in await runs_of(admin, ns, "reports-backup") if phase(r) == "Succeeded"]
        return runs[0] if runs else None

    run = await eventually(backed_up, timeout=30)
    got = await must_get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/reports-backup")
    assert phase(got) == "Ready"
    assert got["status"]["backends"][0]["retentionPolicy"]["ref"] == {
        "namespace": adm,
        "name": "keep-30d",
    }
    repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/reports-daily")
    assert repo["spec"]["path"] == f"/{ns}/reports/daily"
    assert repo["spec"]["encryptionSecret"] == {
        "namespace": adm,
        "name": "postgres-standard-encryption",
    }
    snap = await must_get(
        admin, f"{STORAGE}/namespaces/{ns}/snapshots/{run['status']['snapshots'][0]['name']}"
    )
    assert set(snap["status"]["components"]) == {"dump", "manifest"}
    # The policy's blueprint itself was never expanded by the operator.
    for where in (ns, adm):
        names = {
            b["metadata"]["name"]
            for b in await items(admin, f"{CORE}/namespaces/{where}/backupconfigurations")
        }
        assert names == ({"reports-backup"} if where == ns else set())


# --------------------------------------------------------------------------- services

SERVICES = "/api/v1/namespaces/{ns}/services"
PAUSED = {"stashql.io/traffic": "paused"}


def kubedb_labels(name: str, plural: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "kubedb.com",
        "app.kubernetes.io/name": f"{plural}.kubedb.com",
    }


async def merge_patch(client: httpx.AsyncClient, path: str, body: Obj) -> Obj:
    r = await client.patch(
        path, json=body, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert r.status_code == 200, r.text
    patched: Obj = r.json()
    return patched


async def test_databases_get_kubedb_services_and_a_paused_selector_is_left_alone(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}svc-{unique}")
    await create(
        sandbox,
        o.database("Postgres", "pg", ns, phase=None, replicas=3),
        o.database("MongoDB", "mg", ns, phase=None, version="7.0.16"),
    )
    services = SERVICES.format(ns=ns)

    async def made() -> dict[str, Obj] | None:
        found = {s["metadata"]["name"]: s for s in await items(admin, services)}
        wanted = {"pg", "pg-pods", "pg-standby", "mg", "mg-pods"}
        return found if wanted <= set(found) else None

    found = await eventually(made, timeout=30)
    assert "mg-standby" not in found  # one replica, and MongoDB has no standby Service
    pg_db = await must_get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg")
    pg_labels = kubedb_labels("pg", "postgreses")
    for name in ("pg", "pg-pods", "pg-standby"):
        svc = found[name]
        assert svc["metadata"]["labels"] == pg_labels
        ref = svc["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["uid"]) == (
            "Postgres",
            "pg",
            pg_db["metadata"]["uid"],
        )
        assert [p["port"] for p in svc["spec"]["ports"]] == [5432]
    assert found["pg"]["spec"]["selector"] == {**pg_labels, "kubedb.com/role": "primary"}
    assert found["pg-standby"]["spec"]["selector"] == {**pg_labels, "kubedb.com/role": "standby"}
    assert found["pg-pods"]["spec"]["selector"] == pg_labels
    assert found["pg-pods"]["spec"]["clusterIP"] == "None"
    assert found["pg"]["spec"]["clusterIP"] != "None"
    mg_labels = kubedb_labels("mg", "mongodbs")
    assert found["mg"]["spec"]["selector"] == mg_labels
    assert [p["port"] for p in found["mg"]["spec"]["ports"]] == [27017]

    # Someone else's edit of a selector is reconciled back, as KubeDB does.
    await merge_patch(admin, f"{services}/mg", {"spec": {"selector": {"tier": "oops"}}})

    async def mg_back() -> bool:
        svc = await must_get(admin, f"{services}/mg")
        return bool(svc["spec"]["selector"] == mg_labels)

    await eventually(mg_back, timeout=30)

    # The gateway pauses traffic: the paused selector and the record on the database.
    original = found["pg"]["spec"]["selector"]
    await merge_patch(
        admin,
        f"{services}/pg",
        {"spec": {"selector": {**{k: None for k in original}, **PAUSED}}},
    )
    await merge_patch(
        admin,
        f"{KUBEDB}/namespaces/{ns}/postgreses/pg",
        {"metadata": {"annotations": {"stashql.io/traffic-paused-at": o.ts(datetime.now(UTC))}}},
    )
    await asyncio.sleep(8 * sim.step)
    assert (await must_get(admin, f"{services}/pg"))["spec"]["selector"] == PAUSED
    # The failure switch: KubeDB reverts the selector, which the gateway reads as DRIFTED.
    await merge_patch(
        admin,
        f"{KUBEDB}/namespaces/{ns}/postgreses/pg",
        {"metadata": {"annotations": {"sim.stashql.io/revert-traffic": "true"}}},
    )

    async def drifted() -> bool:
        svc = await must_get(admin, f"{services}/pg")
        return bool(svc["spec"]["selector"] == original)

    await eventually(drifted, timeout=30)

    # A halted database keeps only its volumes: its Services go.
    await merge_patch(admin, f"{KUBEDB}/namespaces/{ns}/mongodbs/mg", {"spec": {"halted": True}})

    async def gone() -> bool:
        names = {s["metadata"]["name"] for s in await items(admin, services)}
        return not names & {"mg", "mg-pods"} and "pg" in names

    await eventually(gone, timeout=30)


async def test_alice_may_stop_traffic_to_her_database_and_bob_only_reads_services(
    sandbox: Sandbox, unique: str
) -> None:
    name = f"db-{unique}"
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": kubedb_labels(name, "postgreses")},
        "spec": {
            "selector": kubedb_labels(name, "postgreses"),
            "ports": [{"name": "primary", "port": 5432}],
        },
    }
    maintenance = copy.deepcopy(service)
    maintenance["metadata"] = {
        "name": f"{name}-maintenance",
        "labels": {"app.kubernetes.io/managed-by": "stashql"},
    }
    async with kube_http(sandbox, user="admin") as admin, kube_http(sandbox, user="alice") as alice:
        r = await admin.post(SERVICES.format(ns="team-a"), json=service)
        assert r.status_code == 201, r.text
        path = f"{SERVICES.format(ns='team-a')}/{name}"
        paused = {"spec": {"selector": {**{k: None for k in kubedb_labels(name, "x")}, **PAUSED}}}
        assert (await merge_patch(alice, path, paused))["spec"]["selector"] == PAUSED
        r = await alice.post(SERVICES.format(ns="team-a"), json=maintenance)
        assert r.status_code == 201, r.text
        listed = await alice.get(SERVICES.format(ns="team-a"))
        assert listed.status_code == 200
        r = await alice.delete(f"{SERVICES.format(ns='team-a')}/{name}-maintenance")
        assert r.status_code == 200, r.text
        assert (await alice.get(SERVICES.format(ns="team-b"))).status_code == 403
        assert (await admin.delete(path)).status_code == 200
    async with kube_http(sandbox, user="bob") as bob:
        assert (await bob.get(SERVICES.format(ns="team-b"))).status_code == 200
        r = await bob.post(SERVICES.format(ns="team-b"), json=service)
        assert r.status_code == 403
        assert (await bob.get(SERVICES.format(ns="team-a"))).status_code == 403


# --------------------------------------------------------------------------- restore hooks


async def ready_for_restore(admin: httpx.AsyncClient, ns: str, *configurations: str) -> None:
    async def ready() -> bool:
        if phase(await get(admin, f"{KUBEDB}/namespaces/{ns}/postgreses/pg")) != "Ready":
            return False
        for bc in configurations:
            got = await get(admin, f"{CORE}/namespaces/{ns}/backupconfigurations/{bc}")
            if phase(got) != "Ready":
                return False
        return True

    await eventually(ready, timeout=30)


def check(index: int, template: str, ns: str, **params: str) -> Obj:
    hook: Obj = {
        "name": f"check-{index}",
        "hookTemplate": {"namespace": ns, "name": template},
        "executionPolicy": "OnSuccess",
    }
    if params:
        hook["params"] = params
    return hook


async def test_post_restore_hooks_run_after_the_data_and_a_failing_one_fails_the_restore(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}hook-{unique}")
    db, _ = await restore_fixture(sandbox, ns, with_backups=False)
    template = o.hook_template("count-rows", ns, command=("true",), scope="Same")
    broken = o.hook_template("always-fails", ns, command=("true",), scope="Same")
    broken["metadata"]["annotations"] = {"sim.stashql.io/fail": "true"}
    await create(sandbox, template, broken)
    await ready_for_restore(admin, ns)
    db_path = f"{KUBEDB}/namespaces/{ns}/postgreses/pg"
    # KubeStash's webhook rules first: no snapshot named is Invalid, and restores nothing.
    await create(sandbox, o.restore_session("unnamed", db, repository="pg-repo", snapshot_name=""))

    async def invalid() -> Obj | None:
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/unnamed")
        return rs if phase(rs) == "Invalid" else None

    unnamed = await eventually(invalid, timeout=30)
    assert conditions(unnamed)["ValidationPassed"]["status"] == "False"
    assert phase(await get(admin, db_path)) == "Ready"
    hooks = [check(0, "count-rows", ns), check(1, "count-rows", ns, TABLE="orders")]
    # Every state the RestoreSession passes through, from a watch opened before it
    # exists (polling could miss a state that lasts one simulator step).
    rs_phases: list[str] = []
    hook_states: list[list[str]] = []
    opened = asyncio.Event()

    async def watch_good() -> None:
        params = {"watch": "1", "fieldSelector": "metadata.name=good"}
        path = f"{CORE}/namespaces/{ns}/restoresessions"
        async with admin.stream("GET", path, params=params, timeout=None) as r:
            opened.set()
            async for line in r.aiter_lines():
                obj = json.loads(line).get("object") or {}
                if phase(obj) and (not rs_phases or rs_phases[-1] != phase(obj)):
                    rs_phases.append(phase(obj))
                post = (obj.get("status", {}).get("hooks") or {}).get("postHooks") or []
                states = [h["phase"] for h in post]
                if states and (not hook_states or hook_states[-1] != states):
                    hook_states.append(states)

    watcher = asyncio.create_task(watch_good())
    await asyncio.wait_for(opened.wait(), 10)
    await create(sandbox, o.restore_session("good", db, repository="pg-repo", post_restore=hooks))
    db_while_hooks: set[str] = set()

    async def succeeded() -> Obj | None:
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/good")
        post = ((rs or {}).get("status", {}).get("hooks") or {}).get("postHooks") or []
        if "Pending" in [h["phase"] for h in post]:
            db_while_hooks.add(phase(await get(admin, db_path)))
        return rs if phase(rs) == "Succeeded" else None

    try:
        rs = await eventually(succeeded, timeout=30, interval=0.05)
        await eventually(lambda: asyncio.sleep(0, result=rs_phases[-1:] == ["Succeeded"]))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert rs_phases[-2:] == ["Running", "Succeeded"], rs_phases
    assert set(rs_phases) <= {"Pending", "Running", "Succeeded"}
    # Hooks ran after the data, one after the other, while the database was restoring.
    assert hook_states[0] == ["Pending", "Pending"], hook_states
    assert ["Succeeded", "Pending"] in hook_states, hook_states
    assert rs["status"]["hooks"]["postHooks"] == [
        {"name": "check-0", "phase": "Succeeded"},
        {"name": "check-1", "phase": "Succeeded"},
    ]
    # Seen whenever a poll fell while hooks were pending: the database was restoring.
    assert db_while_hooks <= {"DataRestoring"}, db_while_hooks
    assert rs["status"]["components"]["dump"]["phase"] == "Succeeded"
    assert conditions(rs)["PostRestoreHooksExecutionSucceeded"]["status"] == "True"

    async def db_ready() -> bool:
        return phase(await get(admin, db_path)) == "Ready"

    await eventually(db_ready, timeout=30)

    # A failing check (its HookTemplate, or its params) fails the restore.
    failing = [check(0, "count-rows", ns), check(1, "always-fails", ns)]
    await create(
        sandbox,
        o.restore_session("bad", db, repository="pg-repo", post_restore=failing),
        o.restore_session(
            "bad-params",
            db,
            repository="pg-repo",
            post_restore=[check(0, "count-rows", ns, fail="true")],
        ),
    )

    async def failed(name: str) -> Obj | None:
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/{name}")
        return rs if phase(rs) == "Failed" else None

    bad = await eventually(lambda: failed("bad"), timeout=30)
    assert bad["status"]["hooks"]["postHooks"] == [
        {"name": "check-0", "phase": "Succeeded"},
        {"name": "check-1", "phase": "Failed"},
    ]
    cond = conditions(bad)["PostRestoreHooksExecutionSucceeded"]
    assert cond["status"] == "False"
    assert "always-fails" in cond["message"]
    assert bad["status"]["components"]["dump"]["phase"] == "Succeeded"  # the data was fine
    by_params = await eventually(lambda: failed("bad-params"), timeout=30)
    assert by_params["status"]["hooks"]["postHooks"] == [{"name": "check-0", "phase": "Failed"}]

    async def not_ready() -> Obj | None:
        got = await get(admin, db_path)
        return got if phase(got) == "NotReady" else None

    final = await eventually(not_ready, timeout=30)
    restored = conditions(final)["DataRestored"]
    assert (restored["status"], restored["reason"]) == ("False", "FailedToRestoreData")
    assert "check-" in restored["message"]


async def test_restore_lists_backups_it_found_paused_and_lifts_only_its_own_pause(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}pause-{unique}")
    db, _ = await restore_fixture(sandbox, ns, with_backups=True)
    other = o.backup_configuration(
        "pg-extra", db, storage=(ns, "s3"), retention=(ns, "keep"), schedule="0 0 1 1 *"
    )
    await create(sandbox, other)
    await ready_for_restore(admin, ns, "pg-backup", "pg-extra")
    bc_path = f"{CORE}/namespaces/{ns}/backupconfigurations"
    # The gateway's workflow pauses the backups it means to resume itself, then restores.
    await merge_patch(admin, f"{bc_path}/pg-backup", {"spec": {"paused": True}})
    await create(sandbox, o.restore_session("restore", db, repository="pg-repo"))
    listed: list[list[str]] = []
    extra_paused = False

    async def done() -> Obj | None:
        nonlocal extra_paused
        rs = await get(admin, f"{CORE}/namespaces/{ns}/restoresessions/restore")
        paused = (rs or {}).get("status", {}).get("pausedBackups") or []
        if paused:
            listed.append(sorted(p["name"] for p in paused))
        extra = await must_get(admin, f"{bc_path}/pg-extra")
        extra_paused = extra_paused or extra["spec"].get("paused") is True
        return rs if phase(rs) == "Succeeded" else None

    rs = await eventually(done, timeout=30, interval=0.05)
    assert listed, "pausedBackups never listed"
    assert listed[0] == ["pg-backup", "pg-extra"], listed
    assert extra_paused
    assert "pausedBackups" not in rs["status"]

    async def extra_resumed() -> bool:
        extra = await must_get(admin, f"{bc_path}/pg-extra")
        annotations = extra["metadata"].get("annotations") or {}
        return extra["spec"].get("paused") is False and not any(
            k.startswith("sim.stashql.io/") for k in annotations
        )

    await eventually(extra_resumed, timeout=30)
    await asyncio.sleep(8 * sim.step)
    # The gateway's pause is the gateway's to lift.
    assert (await must_get(admin, f"{bc_path}/pg-backup"))["spec"]["paused"] is True


# --------------------------------------------------------------------------- other clusters


async def test_repository_in_another_cluster_syncs_snapshots_and_fills_a_waiting_database(
    sandbox: Sandbox, sim: Simulator, admin: httpx.AsyncClient, unique: str
) -> None:
    ns = await namespace(sandbox, f"{PREFIX}xc-{unique}")
    _, snap = await restore_fixture(sandbox, ns, with_backups=False)
    source_repo = await must_get(admin, f"{STORAGE}/namespaces/{ns}/repositories/pg-repo")
    # What the cross-cluster restore makes in the second cluster: a BackupStorage on the
    # same location (other credentials), a Repository with the same path, the database.
    storage = o.backup_storage("same-bucket", ns)
    storage["spec"]["storage"]["s3"]["secretName"] = "other-credentials"
    waiting = o.database("Postgres", "pg-new", ns, phase=None)
    waiting["spec"]["init"] = {"waitForInitialRestore": True}
    doomed = copy.deepcopy(waiting)
    doomed["metadata"]["name"] = "pg-doomed"
    repo = o.repository(waiting, "pg-copy", storage=(ns, "same-bucket"))
    repo["spec"]["path"] = source_repo["spec"]["path"]
    elsewhere = o.repository(waiting, "pg-elsewhere", storage=(ns, "same-bucket"))
    await create(sandbox, storage, waiting, doomed, repo, elsewhere, cluster=1)
    name = snap["metadata"]["name"]
    async with kube_http(sandbox, user="admin", cluster=1) as second:

        async def synced() -> Obj | None:
            got = await get(second, f"{STORAGE}/namespaces/{ns}/snapshots/{name}")
            return got if phase(got) == "Succeeded" else None

        copied = await eventually(synced, timeout=30)
        source = await must_get(admin, f"{STORAGE}/namespaces/{ns}/snapshots/{name}")
        assert copied["spec"]["snapshotID"] == source["spec"]["snapshotID"]
        assert copied["spec"]["repository"] == "pg-copy"
        assert copied["metadata"]["labels"]["kubestash.com/repo-name"] == "pg-copy"
        assert copied["metadata"]["ownerReferences"][0]["name"] == "pg-copy"
        assert copied["status"]["components"] == source["status"]["components"]
        assert copied["status"]["snapshotTime"] == source["status"]["snapshotTime"]

        async def counted() -> Obj | None:
            got = await get(second, f"{STORAGE}/namespaces/{ns}/repositories/pg-copy")
            return got if (got or {}).get("status", {}).get("snapshotCount") == 1 else None

        await eventually(counted, timeout=30)
        other = await must_get(second, f"{STORAGE}/namespaces/{ns}/repositories/pg-elsewhere")
        assert other["status"].get("snapshotCount", 0) == 0  # another path, nothing there
        # Nothing is copied back into the first cluster.
        back = await items(
            admin, f"{STORAGE}/namespaces/{ns}/snapshots", labelSelector="kubestash.com/repo-name"
        )
        assert [s["metadata"]["name"] for s in back] == [name]

        # The new database waits for its first restore.
        db_path = f"{KUBEDB}/namespaces/{ns}/postgreses/pg-new"
        await asyncio.sleep(2 * sim.provision_delay + 4 * sim.step)
        assert phase(await get(second, db_path)) == "Provisioning"
        await create(
            sandbox,
            o.restore_session("fill", waiting, repository="pg-copy", snapshot_name=name),
            o.restore_session(
                "fill-doomed",
                doomed,
                repository="pg-copy",
                snapshot_name=name,
                annotations={FAIL_ANNOTATION: "restore"},
            ),
            cluster=1,
        )
        seen: list[str] = []

        async def ready() -> Obj | None:
            got = await get(second, db_path)
            if phase(got) and (not seen or seen[-1] != phase(got)):
                seen.append(phase(got))
            return got if phase(got) == "Ready" else None

        await eventually(ready, timeout=30, interval=0.05)
        assert seen[0] == "Provisioning", seen
        assert "DataRestoring" in seen, seen
        rs = await must_get(second, f"{CORE}/namespaces/{ns}/restoresessions/fill")
        assert phase(rs) == "Succeeded"

        async def doomed_not_ready() -> Obj | None:
            got = await get(second, f"{KUBEDB}/namespaces/{ns}/postgreses/pg-doomed")
            return got if phase(got) == "NotReady" else None

        failed = await eventually(doomed_not_ready, timeout=30)
        assert conditions(failed)["DataRestored"]["reason"] == "FailedToRestoreData"
        assert "Provisioned" not in conditions(failed)


async def test_every_write_passed_validation(sim: Simulator) -> None:
    """Strict field validation is on for every write: nothing may have been refused."""
    refused = [e for e in sim.errors if " 400 " in e or " 422 " in e or "BadRequest" in e]
    assert refused == []


async def test_stop_leaves_nothing_running(sandbox: Sandbox) -> None:
    clients = {c.name: sandbox.client(c.name) for c in sandbox.clusters}
    simulator = Simulator(clients, namespace_filter=lambda ns: False)

    def informers() -> int:
        return sum(1 for t in asyncio.all_tasks() if t.get_name().startswith("informer "))

    before = informers()
    try:
        await simulator.start()
        loops = [t for t in asyncio.all_tasks() if t.get_name().startswith(simulator.task_prefix)]
        assert len(loops) == len(sandbox.clusters)
        assert informers() > before
        await simulator.stop()
        await simulator.stop()  # twice is fine
        assert all(t.done() for t in loops)
        assert informers() == before
    finally:
        await simulator.stop()
        for client in clients.values():
            await client.close()


def test_fail_rate_and_annotations_decide_failures() -> None:
    never = Simulator({}, fail_rate=0.0, seed=1)
    always = Simulator({}, fail_rate=1.0, seed=1)
    marked: Obj = {"metadata": {"annotations": {FAIL_ANNOTATION: "restore, log"}}}
    assert not never.should_fail("backup", {}, None)
    assert never.should_fail("restore", None, marked)
    assert never.should_fail("log", marked)
    assert not never.should_fail("backup", marked)
    assert always.should_fail("backup")
    with pytest.raises(ValueError, match="fail_rate"):
        Simulator({}, fail_rate=1.5)


def test_restore_phase_is_derived_as_kubestash_derives_it() -> None:
    def status(*conds: tuple[str, str], components: dict[str, str] | None = None) -> Obj:
        return {
            "conditions": [{"type": t, "status": v} for t, v in conds],
            "components": {c: {"phase": p} for c, p in (components or {}).items()},
        }

    done = {"dump": "Succeeded"}
    pushed = ("MetricsPushed", "True")
    assert restore_phase(status(("ValidationPassed", "False")), with_hooks=False) == "Invalid"
    assert restore_phase(status(("ValidationPassed", "True")), with_hooks=False) == "Pending"
    assert restore_phase(status(components={"dump": "Running"}), with_hooks=False) == "Running"
    assert restore_phase(status(pushed, components=done), with_hooks=False) == "Succeeded"
    # With hooks, the data alone is not the end; a failed hook or executor is Failed.
    assert restore_phase(status(pushed, components=done), with_hooks=True) == "Running"
    hooks_ok = ("PostRestoreHooksExecutionSucceeded", "True")
    assert restore_phase(status(pushed, hooks_ok, components=done), with_hooks=True) == (
        "Succeeded"
    )
    hooks_bad = ("PostRestoreHooksExecutionSucceeded", "False")
    assert restore_phase(status(hooks_bad, components=done), with_hooks=True) == "Failed"
    executor = ("RestoreExecutorEnsured", "False")
    assert restore_phase(status(executor), with_hooks=False) == "Failed"
    incomplete = ("RestoreIncomplete", "True")
    assert restore_phase(status(incomplete, components=done), with_hooks=False) == "Failed"


def test_replicated_mysql_gets_a_standby_service_and_selects_its_primary_by_role() -> None:
    mysql = ResourceType(
        group="kubedb.com", version="v1", plural="mysqls", kind="MySQL", namespaced=True
    )
    db = o.database("MySQL", "shop", "ns", version="8.4.3", replicas=3)
    db["metadata"]["uid"] = "u-1"
    by_name = {s["metadata"]["name"]: s for s in desired_services(mysql, db)}
    assert set(by_name) == {"shop", "shop-pods", "shop-standby"}
    assert by_name["shop"]["spec"]["selector"]["kubedb.com/role"] == "primary"
    assert by_name["shop-standby"]["spec"]["selector"]["kubedb.com/role"] == "standby"
    assert {s["spec"]["ports"][0]["port"] for s in by_name.values()} == {3306}
    single = o.database("MySQL", "one", "ns", version="8.4.3")
    names = {s["metadata"]["name"] for s in desired_services(mysql, single)}
    assert names == {"one", "one-pods"}
    assert "kubedb.com/role" not in desired_services(mysql, single)[0]["spec"]["selector"]
