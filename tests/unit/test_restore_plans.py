"""Restores planned over an in-memory cache: which snapshots can be restored and with
which of the Addon's tasks, the RestoreSession restoreDatabase runs, new databases filled
from a snapshot or a point in time, across clusters too, and every user error."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from apis.resources import ADDONS_KIND, REPOSITORIES, SNAPSHOTS, catalog_version
from resolvers import restores
from resolvers.writes.backup import BackupSetupInput, ObjectRefInput
from resolvers.writes.backup.common import Database, database_resource
from resolvers.writes.plan import Change, Plan
from resolvers.writes.restore import (
    CreateDatabaseInput,
    LatestSnapshotInput,
    NewDatabasePlan,
    PointInTimeInput,
    RestoreCheckInput,
    RestoreSourceInput,
    RestoreToNewDatabaseInput,
    SecretData,
    plan_create_database,
    plan_data_restore,
    plan_restore_to_new_database,
    secrets_needed,
    secrets_to_copy,
)
from sandbox import objects as o
from tests.unit.test_backup_plans import CLUSTER, NOW, MemoryStore, namespace, world

Obj = dict[str, Any]
OTHER = "c2"
RESTIC = "Restic"


def catalog(kind: str, name: str, version: str | None = None) -> Obj:
    return {
        "apiVersion": "catalog.kubedb.com/v1alpha1",
        "kind": f"{kind}Version",
        "metadata": {"name": name},
        "spec": {"version": version or name, "archiver": {"addon": {"name": "postgres-addon"}}},
    }


def full_addon() -> Obj:
    return o.addon(
        "postgres-addon",
        ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
        ("logical-backup-restore", "physical-backup-restore", "manifest-restore"),
    )


def component(phase: str = "Succeeded", driver: str = RESTIC) -> Obj:
    return {"driver": driver, "phase": phase, "size": "1 KiB", "path": "p"}


def snap(
    name: str,
    repo: Obj,
    *,
    taken: datetime,
    parts: dict[str, Obj] | None = None,
    phase: str = "Succeeded",
    version: str = "16.4",
) -> Obj:
    raw = o.snapshot(name, repo, session="s", taken=taken, phase=phase, components=parts)
    raw["metadata"]["annotations"] = {"kubedb.com/db-version": version}
    return raw


ORDERS_DB = o.database("Postgres", "orders", "team-a", labels={"archive": "yes"})
T = NOW


def hook_template(name: str, ns: str = "team-a", scope: str = "Same") -> Obj:
    return {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "HookTemplate",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "usagePolicy": {"allowedNamespaces": {"from": scope}},
            "executor": {"type": "Pod", "pod": {"selector": "app=x"}},
            "action": {"exec": {"command": ["true"]}},
        },
    }


def restore_world() -> MemoryStore:
    """orders (Postgres 16.4) with a daily repository holding a dump, a physical backup
    and a failed one, plus continuous backup (full and manifest repositories, a base
    backup six hours ago and logs from five hours to ten minutes ago)."""
    store = world()
    store.put(full_addon())
    for name, version in (("16.4", None), ("16.1", None), ("15.6", None)):
        store.put(catalog("Postgres", name, version))
    repo = o.repository(ORDERS_DB, "orders-daily", storage=("backup-admin", "shared"))
    repo["spec"]["encryptionSecret"] = {"namespace": "team-a", "name": "orders-enc"}
    store.put(repo)
    store.put(
        snap(
            "orders-dump",
            repo,
            taken=T - timedelta(hours=2),
            parts={"dump": component(), "manifest": component()},
        )
    )
    store.put(
        snap("orders-phys", repo, taken=T - timedelta(hours=1), parts={"physical": component()})
    )
    store.put(
        snap(
            "orders-failed",
            repo,
            taken=T - timedelta(minutes=30),
            phase="Failed",
            parts={"dump": component("Failed")},
        )
    )
    full = o.repository(ORDERS_DB, "orders-full", storage=("backup-admin", "shared"))
    full["spec"]["encryptionSecret"] = {"namespace": "team-a", "name": "orders-enc"}
    store.put(full)
    store.put(o.repository(ORDERS_DB, "orders-manifest", storage=("backup-admin", "shared")))
    store.put(
        snap(
            "orders-base",
            full,
            taken=T - timedelta(hours=6),
            parts={"volumesnapshot": component(driver="VolumeSnapshotter")},
        )
    )
    store.put(
        o.log_snapshot(
            "orders-incremental-snapshot",
            full,
            start=T - timedelta(hours=5),
            end=T - timedelta(minutes=10),
        )
    )
    store.put(hook_template("row-count"))
    store.put(hook_template("other-team", ns="team-b"))
    # The second cluster: team-a and the addon, but no catalog version or storage.
    store.put(namespace("team-a"), cluster=OTHER)
    store.put(full_addon(), cluster=OTHER)
    return store


def ref(
    name: str, ns: str = "team-a", kind: str | None = None, cluster: str | None = None
) -> ObjectRefInput:
    return ObjectRefInput(namespace=ns, name=name, kind=kind, cluster=cluster)


def orders(store: MemoryStore) -> Database:
    raw = store.get(CLUSTER, database_resource("Postgres"), "team-a", "orders")
    assert raw is not None
    return Database(raw, database_resource("Postgres"))


def codes(plan: Plan) -> list[tuple[str, tuple[str, ...] | None]]:
    return [(e.code, e.field) for e in plan.errors]


def kinds(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.cluster, c.action, c.kind) for c in plan.changes]


def body(change: Change) -> Obj:
    assert change.body is not None
    return change.body


def get_snapshot(store: MemoryStore, name: str) -> Obj:
    raw = store.get(CLUSTER, SNAPSHOTS, "team-a", name)
    assert raw is not None
    return raw


def addon(store: MemoryStore) -> Obj | None:
    return store.get(CLUSTER, ADDONS_KIND, None, "postgres-addon")


# ------------------------------------------------------------------ choosing how


def test_each_data_component_gets_the_restore_task_of_the_backup_task_that_wrote_it() -> None:
    store = restore_world()
    dump = restores.judge(get_snapshot(store, "orders-dump"), addon=addon(store))
    assert dump.data == restores.DataChoice("dump", "LOGICAL", "logical-backup-restore")
    assert (dump.manifest, dump.manifest_task) == ("manifest", "manifest-restore")
    phys = restores.judge(get_snapshot(store, "orders-phys"), addon=addon(store))
    assert phys.data == restores.DataChoice("physical", "PHYSICAL", "physical-backup-restore")


def test_a_restore_task_is_matched_through_the_backup_tasks_function() -> None:
    """KubeDB's own addons: backup Function postgres-backup, restore Function postgres-restore."""
    shipped = {
        "metadata": {"name": "postgres-addon"},
        "spec": {
            "backupTasks": [
                {"name": "logical-backup", "function": "postgres-backup", "driver": RESTIC},
                {"name": "manifest-backup", "function": "kubedbmanifest-backup"},
            ],
            "restoreTasks": [
                {"name": "dump-replay", "function": "postgres-restore", "driver": RESTIC},
                {"name": "manifest-restore", "function": "kubedbmanifest-restore"},
            ],
        },
    }
    verdict = restores.judge(get_snapshot(restore_world(), "orders-dump"), addon=shipped)
    assert verdict.data is not None
    assert verdict.data.task == "dump-replay"
    assert verdict.manifest_task == "manifest-restore"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"phase": "Failed"}, "has not succeeded"),
        ({"integrity": False}, "failed its integrity check"),
        ({"components": {"manifest": component()}}, "holds no data"),
        ({"components": {"dump": component("Failed"), "manifest": component()}}, "holds no data"),
    ],
)
def test_a_snapshot_that_failed_or_holds_no_data_is_not_restorable(
    change: Obj, reason: str
) -> None:
    store = restore_world()
    raw = get_snapshot(store, "orders-dump")
    raw["status"].update(change)
    verdict = restores.judge(raw, addon=addon(store))
    assert not verdict.restorable
    assert verdict.code == "SNAPSHOT_NOT_RESTORABLE"
    assert reason in (verdict.reason or "")


def test_data_the_addon_cannot_restore_has_no_restore_task() -> None:
    store = restore_world()
    only_logical = o.addon(
        "postgres-addon", ("logical-backup", "physical-backup"), ("logical-backup-restore",)
    )
    verdict = restores.judge(get_snapshot(store, "orders-phys"), addon=only_logical)
    assert verdict.code == "NO_RESTORE_TASK"
    assert "physical" in (verdict.reason or "")


def test_restore_options_split_restorable_snapshots_newest_first_with_the_window() -> None:
    store = restore_world()
    options = restores.database_restore_options(
        store, cluster=CLUSTER, kind="Postgres", namespace="team-a", name="orders"
    )
    names = [r["metadata"]["name"] for r in options.repositories]
    assert names == ["orders-daily", "orders-full", "orders-manifest"]
    assert [s["metadata"]["name"] for s in options.logical_snapshots] == ["orders-dump"]
    # The volume snapshot base backup has no restore task in this addon: not offered.
    assert [s["metadata"]["name"] for s in options.physical_snapshots] == ["orders-phys"]
    window = options.recovery_window
    assert window is not None
    assert (window.start, window.end) == (T - timedelta(hours=5), T - timedelta(minutes=10))


def test_a_deleted_database_is_found_by_reference_and_a_repository_alone_works() -> None:
    store = restore_world()
    del store.objects[(CLUSTER, "kubedb.com", "Postgres", "team-a", "orders")]
    options = restores.database_restore_options(
        store, cluster=CLUSTER, kind=None, namespace="team-a", name="orders"
    )
    assert [s["metadata"]["name"] for s in options.physical_snapshots] == ["orders-phys"]
    assert options.recovery_window is not None
    by_repo = restores.repository_restore_options(
        store, cluster=CLUSTER, namespace="team-a", name="orders-daily"
    )
    assert [s["metadata"]["name"] for s in by_repo.logical_snapshots] == ["orders-dump"]
    assert [s["metadata"]["name"] for s in by_repo.physical_snapshots] == ["orders-phys"]


def test_no_recovery_window_without_continuous_backup() -> None:
    store = world()
    options = restores.database_restore_options(
        store, cluster=CLUSTER, kind="Postgres", namespace="team-a", name="orders"
    )
    assert options.recovery_window is None
    assert options.physical_snapshots == options.logical_snapshots == []


# ------------------------------------------------------------------ restoreDatabase's data


def data(store: MemoryStore, source: RestoreSourceInput, **kw: Any) -> Any:
    return plan_data_restore(orders(store), source, store=store, cluster=CLUSTER, now=NOW, **kw)


def test_restoring_a_dump_into_the_running_database() -> None:
    store = restore_world()
    checks = [RestoreCheckInput(hook_template=ref("row-count"), params={"table": "orders"})]
    result = data(store, RestoreSourceInput(snapshot=ref("orders-dump")), checks=checks)
    assert not result.plan.errors
    (change,) = result.plan.changes
    name = f"orders-restore-{int(NOW.timestamp())}"
    assert (change.action, change.kind, change.namespace, change.name) == (
        "CREATE",
        "RestoreSession",
        "team-a",
        name,
    )
    spec = body(change)["spec"]
    assert spec["target"] == {
        "apiGroup": "kubedb.com",
        "kind": "Postgres",
        "namespace": "team-a",
        "name": "orders",
    }
    assert spec["dataSource"] == {
        "namespace": "team-a",
        "repository": "orders-daily",
        "snapshot": "orders-dump",
        "components": ["dump"],
        "encryptionSecret": {"namespace": "team-a", "name": "orders-enc"},
    }
    assert spec["addon"] == {
        "name": "postgres-addon",
        "tasks": [{"name": "logical-backup-restore"}],
    }
    assert spec["hooks"]["postRestore"] == [
        {
            "name": "check-0",
            "hookTemplate": {"namespace": "team-a", "name": "row-count"},
            "executionPolicy": "OnSuccess",
            "params": {"table": "orders"},
        }
    ]
    assert [w.code for w in result.plan.warnings] == ["EXISTING_DATA_KEPT"]
    assert (result.session, result.snapshot, result.repository) == (
        name,
        ("team-a", "orders-dump"),
        ("team-a", "orders-daily"),
    )


def test_latest_is_resolved_to_a_named_snapshot_that_the_plan_names() -> None:
    store = restore_world()
    result = data(store, RestoreSourceInput(latest=LatestSnapshotInput()))
    (change,) = result.plan.changes
    assert body(change)["spec"]["dataSource"]["snapshot"] == "orders-phys"
    assert "orders-phys (the newest that can be restored)" in change.summary
    assert result.plan.warnings == []  # a physical restore replaces the data
    logical = data(store, RestoreSourceInput(latest=LatestSnapshotInput(method="LOGICAL")))
    assert logical.snapshot == ("team-a", "orders-dump")


def test_expert_tasks_replace_the_chosen_ones_and_must_be_offered() -> None:
    store = restore_world()
    result = data(
        store, RestoreSourceInput(snapshot=ref("orders-dump")), tasks=["manifest-restore"]
    )
    spec = body(result.plan.changes[0])["spec"]
    assert spec["addon"]["tasks"] == [{"name": "manifest-restore"}]
    assert "components" not in spec["dataSource"]
    bad = data(store, RestoreSourceInput(snapshot=ref("orders-dump")), tasks=["nope"])
    assert codes(bad.plan) == [("NO_RESTORE_TASK", ("tasks",))]


@pytest.mark.parametrize(
    ("source", "kw", "expected"),
    [
        (RestoreSourceInput(), {}, [("INVALID_INPUT", ("source",))]),
        (
            RestoreSourceInput(snapshot=ref("orders-dump"), latest=LatestSnapshotInput()),
            {},
            [("INVALID_INPUT", ("source",))],
        ),
        (
            RestoreSourceInput(point_in_time=PointInTimeInput(database=ref("orders"), time=NOW)),
            {},
            [("RECOVERY_NOT_AVAILABLE", ("source", "pointInTime"))],
        ),
        (
            RestoreSourceInput(snapshot=ref("orders-failed")),
            {},
            [("SNAPSHOT_NOT_RESTORABLE", ("source", "snapshot"))],
        ),
        (
            RestoreSourceInput(snapshot=ref("gone")),
            {},
            [("NOT_FOUND", ("source", "snapshot"))],
        ),
        (
            RestoreSourceInput(snapshot=ref("orders-dump")),
            {"checks": [RestoreCheckInput(hook_template=ref("missing"))]},
            [("NOT_FOUND", ("checks", "0", "hookTemplate"))],
        ),
        (
            RestoreSourceInput(snapshot=ref("orders-dump")),
            {"checks": [RestoreCheckInput(hook_template=ref("other-team", "team-b"))]},
            [("POLICY_NOT_ALLOWED", ("checks", "0", "hookTemplate"))],
        ),
    ],
)
def test_data_restore_errors_change_nothing(
    source: RestoreSourceInput, kw: Obj, expected: list[Any]
) -> None:
    result = data(restore_world(), source, **kw)
    assert codes(result.plan) == expected
    assert result.plan.changes == []


def test_physical_data_of_another_major_version_is_not_restorable() -> None:
    store = restore_world()
    store.objects[(CLUSTER, "kubedb.com", "Postgres", "team-a", "orders")]["spec"]["version"] = (
        "15.6"
    )
    result = data(store, RestoreSourceInput(snapshot=ref("orders-phys")))
    assert codes(result.plan) == [("SNAPSHOT_NOT_RESTORABLE", ("source", "snapshot"))]
    assert "major version 15" in result.plan.errors[0].message
    # A dump goes into any version.
    assert not data(store, RestoreSourceInput(snapshot=ref("orders-dump"))).plan.errors


# ------------------------------------------------------------------ createDatabase


def create(store: MemoryStore, **kw: Any) -> NewDatabasePlan:
    fields: Obj = {
        "namespace": "team-a",
        "name": "fresh",
        "kind": "Postgres",
        "version": "16.4",
        "storage_size": "10Gi",
    } | kw
    return plan_create_database(
        CreateDatabaseInput(**fields), store=store, cluster=CLUSTER, now=NOW
    )


def test_create_a_database() -> None:
    result = create(restore_world(), storage_class="fast", replicas=3, labels={"tier": "gold"})
    assert not result.plan.errors
    (change,) = result.plan.changes
    assert (change.action, change.kind, change.name) == ("CREATE", "Postgres", "fresh")
    assert body(change) == {
        "apiVersion": "kubedb.com/v1",
        "kind": "Postgres",
        "metadata": {"name": "fresh", "namespace": "team-a", "labels": {"tier": "gold"}},
        "spec": {
            "version": "16.4",
            "replicas": 3,
            "storageType": "Durable",
            "storage": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "10Gi"}},
                "storageClassName": "fast",
            },
            "deletionPolicy": "Delete",
        },
    }
    assert result.database == (CLUSTER, "Postgres", "team-a", "fresh")


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"name": "orders"}, [("TARGET_EXISTS", ("name",))]),
        ({"version": "9.9"}, [("CATALOG_VERSION_MISSING", ("version",))]),
        ({"storage_size": "lots"}, [("INVALID_INPUT", ("storageSize",))]),
        ({"init_from": RestoreSourceInput()}, [("INVALID_INPUT", ("initFrom",))]),
        (
            {
                "init_from": RestoreSourceInput(
                    snapshot=ref("orders-dump"), latest=LatestSnapshotInput()
                )
            },
            [("INVALID_INPUT", ("initFrom",))],
        ),
    ],
)
def test_create_database_errors(kw: Obj, expected: list[Any]) -> None:
    result = create(restore_world(), **kw)
    assert codes(result.plan) == expected
    assert result.plan.changes == []


def test_create_from_a_snapshot_waits_for_the_data_and_restores_the_auth_secret() -> None:
    result = create(restore_world(), init_from=RestoreSourceInput(snapshot=ref("orders-dump")))
    assert not result.plan.errors
    db, session = result.plan.changes
    spec = body(db)["spec"]
    assert spec["init"] == {"waitForInitialRestore": True}
    assert spec["authSecret"] == {"name": "fresh-auth"}
    rs = body(session)["spec"]
    assert rs["target"]["name"] == "fresh"
    assert rs["addon"]["tasks"] == [
        {"name": "manifest-restore"},
        {"name": "logical-backup-restore"},
    ]
    assert rs["dataSource"]["components"] == ["manifest", "dump"]
    assert rs["manifestOptions"] == {
        "postgres": {
            "restoreNamespace": "team-a",
            "dbName": "fresh",
            "db": False,
            "authSecret": True,
            "authSecretName": "fresh-auth",
            "configSecret": False,
            "initScript": False,
        }
    }
    assert result.restore_session == session.name
    assert result.plan.warnings == []


def test_a_snapshot_without_manifest_says_the_auth_secret_does_not_come_back() -> None:
    result = create(restore_world(), init_from=RestoreSourceInput(snapshot=ref("orders-phys")))
    db, session = result.plan.changes
    assert "authSecret" not in body(db)["spec"]
    assert "manifestOptions" not in body(session)["spec"]
    assert "auth Secret does not come back" in session.summary
    assert not result.plan.warnings


def test_backup_set_up_with_the_new_database_starts_after_the_restore() -> None:
    result = create(
        restore_world(),
        init_from=RestoreSourceInput(snapshot=ref("orders-dump")),
        backup=BackupSetupInput(policy=ref("gold", "backup-admin")),
    )
    assert not result.plan.errors, result.plan.errors
    assert [c.kind for c in result.plan.changes] == [
        "Postgres",
        "RestoreSession",
        "BackupConfiguration",
    ]
    bc = body(result.plan.changes[2])
    assert bc["spec"]["target"]["name"] == "fresh"
    assert "INITIAL_BACKUP_STARTS" in [w.code for w in result.plan.warnings]


def pit(when: datetime, cluster: str | None = None) -> RestoreSourceInput:
    return RestoreSourceInput(
        point_in_time=PointInTimeInput(database=ref("orders", cluster=cluster), time=when)
    )


@pytest.mark.parametrize(
    "when",
    [T - timedelta(hours=5), T - timedelta(hours=1), T - timedelta(minutes=10)],
    ids=["start", "inside", "end"],
)
def test_a_point_in_time_inside_the_window_recovers_through_kubedb(when: datetime) -> None:
    result = create(restore_world(), init_from=pit(when))
    assert not result.plan.errors, result.plan.errors
    (change,) = result.plan.changes
    assert body(change)["spec"]["init"] == {
        "archiver": {
            "recoveryTimestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "fullDBRepository": {"namespace": "team-a", "name": "orders-full"},
            "encryptionSecret": {"namespace": "team-a", "name": "orders-enc"},
            "manifestRepository": {"namespace": "team-a", "name": "orders-manifest"},
        }
    }
    assert result.restore_session is None


@pytest.mark.parametrize(
    "when", [T - timedelta(hours=5, seconds=1), T - timedelta(minutes=9, seconds=59)]
)
def test_a_point_in_time_outside_the_window_is_refused_with_the_window(when: datetime) -> None:
    result = create(restore_world(), init_from=pit(when))
    assert codes(result.plan) == [
        ("RECOVERY_TIME_OUTSIDE_WINDOW", ("initFrom", "pointInTime", "time"))
    ]
    message = result.plan.errors[0].message
    assert (T - timedelta(hours=5)).isoformat() in message
    assert (T - timedelta(minutes=10)).isoformat() in message
    assert result.plan.changes == []


def test_a_point_in_time_needs_continuous_backup_and_the_same_cluster() -> None:
    store = restore_world()
    across = create(store, cluster=OTHER, init_from=pit(T - timedelta(hours=1), cluster=CLUSTER))
    assert codes(across.plan) == [
        ("RECOVERY_NOT_AVAILABLE", ("initFrom", "pointInTime", "database"))
    ]
    across = plan_create_database(
        CreateDatabaseInput(
            namespace="team-a",
            name="x",
            kind="Postgres",
            version="16.4",
            storage_size="1Gi",
            init_from=pit(T - timedelta(hours=1), cluster=CLUSTER),
        ),
        store=store,
        cluster=OTHER,
        now=NOW,
    )
    assert [e.code for e in across.plan.errors] == ["RECOVERY_NOT_AVAILABLE"]
    plain = world()
    plain.put(catalog("Postgres", "16.4"))
    result = create(plain, init_from=pit(T - timedelta(hours=1)))
    assert codes(result.plan) == [
        ("RECOVERY_NOT_AVAILABLE", ("initFrom", "pointInTime", "database"))
    ]


# ------------------------------------------------------------------ restoreToNewDatabase


def to_new(store: MemoryStore, source: RestoreSourceInput, **kw: Any) -> NewDatabasePlan:
    inp = RestoreToNewDatabaseInput(source=source, namespace="team-a", name="copy", **kw)
    return plan_restore_to_new_database(
        inp, store=store, cluster=CLUSTER, now=NOW, secrets=SECRETS, **{}
    )


SECRETS = (
    SecretData(
        namespace="backup-admin", name="shared-credentials", data={"AWS_ACCESS_KEY_ID": "a2V5"}
    ),
    SecretData(namespace="team-a", name="orders-enc", data={"RESTIC_PASSWORD": "cHc="}),
)


def test_restore_to_a_new_database_takes_the_saved_settings() -> None:
    result = to_new(restore_world(), RestoreSourceInput(snapshot=ref("orders-dump")))
    assert not result.plan.errors
    db, session = result.plan.changes
    spec = body(db)["spec"]
    assert (db.kind, spec["version"], spec["replicas"]) == ("Postgres", "16.4", 1)
    assert spec["storage"]["resources"]["requests"]["storage"] == "1Gi"
    assert spec["storage"]["storageClassName"] == "standard"
    assert "labels" not in body(db)["metadata"]
    assert body(session)["spec"]["dataSource"]["repository"] == "orders-daily"


def test_restore_to_a_new_database_in_another_cluster_brings_what_it_needs() -> None:
    store = restore_world()
    repo = store.get(CLUSTER, REPOSITORIES, "team-a", "orders-daily")
    assert repo is not None
    assert secrets_needed(store, cluster=CLUSTER, repository=repo) == [
        (CLUSTER, "backup-admin", "shared-credentials"),
        (CLUSTER, "team-a", "orders-enc"),
    ]
    source = RestoreSourceInput(snapshot=ref("orders-dump"))
    assert secrets_to_copy(
        store, source, default_cluster=CLUSTER, target_cluster=OTHER
    ) == secrets_needed(store, cluster=CLUSTER, repository=repo)
    assert secrets_to_copy(store, source, default_cluster=CLUSTER, target_cluster=None) == []
    result = to_new(store, source, cluster=OTHER)
    assert not result.plan.errors, result.plan.errors
    assert kinds(result.plan) == [
        (OTHER, "CREATE", "PostgresVersion"),
        (OTHER, "CREATE", "Secret"),
        (OTHER, "CREATE", "BackupStorage"),
        (OTHER, "CREATE", "Secret"),
        (OTHER, "CREATE", "Repository"),
        (OTHER, "CREATE", "Postgres"),
        (OTHER, "CREATE", "RestoreSession"),
    ]
    storage = body(result.plan.changes[2])
    assert storage["spec"]["storage"]["s3"]["bucket"] == "stashql-backups"
    assert storage["spec"]["deletionPolicy"] == "Delete"
    new_repo = body(result.plan.changes[4])["spec"]
    assert new_repo["path"] == repo["spec"]["path"]
    assert new_repo["storageRef"] == {"namespace": "team-a", "name": "shared"}
    assert new_repo["encryptionSecret"] == {"namespace": "team-a", "name": "orders-enc"}
    assert body(result.plan.changes[3])["data"] == {"RESTIC_PASSWORD": "cHc="}
    rs = body(result.plan.changes[6])["spec"]
    assert rs["dataSource"]["namespace"] == "team-a"
    assert rs["dataSource"]["repository"] == "orders-daily"
    assert "storageClassName" not in body(result.plan.changes[5])["spec"]["storage"]
    assert sorted(w.code for w in result.plan.warnings) == [
        "CATALOG_VERSION_COPIED",
        "STORAGE_SHARED_ACROSS_CLUSTERS",
    ]


def test_a_usable_storage_on_the_same_location_in_the_target_is_reused() -> None:
    store = restore_world()
    store.put(store.get(CLUSTER, catalog_version("Postgres"), None, "16.4") or {}, cluster=OTHER)
    store.put(o.backup_storage("there", "backup-admin", scope="All"), cluster=OTHER)
    store.put(o.backup_storage("elsewhere", "team-a", bucket="other"), cluster=OTHER)
    result = to_new(store, RestoreSourceInput(snapshot=ref("orders-dump")), cluster=OTHER)
    assert not result.plan.errors
    assert [c.kind for c in result.plan.changes] == [
        "Secret",
        "Repository",
        "Postgres",
        "RestoreSession",
    ]
    assert body(result.plan.changes[1])["spec"]["storageRef"] == {
        "namespace": "backup-admin",
        "name": "there",
    }
    assert result.plan.warnings == []


def test_no_usable_storage_in_the_target_and_none_can_be_made() -> None:
    store = restore_world()
    inp = RestoreToNewDatabaseInput(
        source=RestoreSourceInput(snapshot=ref("orders-dump")),
        namespace="team-a",
        name="copy",
        cluster=OTHER,
    )
    refused = plan_restore_to_new_database(
        inp, store=store, cluster=CLUSTER, now=NOW, secrets=SECRETS, can_create_storage=False
    )
    assert codes(refused.plan) == [("STORAGE_MISSING_IN_TARGET", ("cluster",))]
    assert refused.plan.changes == []
    unread = plan_restore_to_new_database(
        inp, store=store, cluster=CLUSTER, now=NOW, secrets=SECRETS[1:]
    )
    assert [e.code for e in unread.plan.errors] == ["STORAGE_MISSING_IN_TARGET"]


def test_a_catalog_version_neither_cluster_has_is_missing() -> None:
    store = restore_world()
    result = to_new(
        store, RestoreSourceInput(snapshot=ref("orders-dump")), cluster=OTHER, version="16.9"
    )
    assert codes(result.plan) == [("CATALOG_VERSION_MISSING", ("version",))]


def test_restore_to_new_from_latest_and_errors() -> None:
    store = restore_world()
    latest = to_new(
        store, RestoreSourceInput(latest=LatestSnapshotInput(repository=ref("orders-daily")))
    )
    assert latest.snapshot == ("team-a", "orders-phys")
    assert "the newest that can be restored" in latest.plan.changes[-1].summary
    inside = to_new(store, pit(T - timedelta(hours=2)), storage_size="5Gi")
    assert not inside.plan.errors
    (db,) = inside.plan.changes
    assert body(db)["spec"]["init"]["archiver"]["recoveryTimestamp"] == "2026-12-02T04:00:00Z"
    assert body(db)["spec"]["storage"]["resources"]["requests"]["storage"] == "5Gi"
    store.put(o.database("Postgres", "copy", "team-a"))
    taken = to_new(store, RestoreSourceInput(snapshot=ref("orders-dump")))
    assert codes(taken.plan) == [("TARGET_EXISTS", ("name",))]
    both = to_new(
        store,
        RestoreSourceInput(
            snapshot=ref("a"), point_in_time=PointInTimeInput(database=ref("orders"), time=NOW)
        ),
    )
    assert codes(both.plan) == [("INVALID_INPUT", ("source",))]
    physical_15 = to_new(store, RestoreSourceInput(snapshot=ref("orders-phys")), version="15.6")
    assert codes(physical_15.plan) == [("SNAPSHOT_NOT_RESTORABLE", ("source", "snapshot"))]


def test_a_snapshot_whose_data_the_target_addon_cannot_restore_has_no_restore_task() -> None:
    store = restore_world()
    store.put(
        o.addon(
            "postgres-addon",
            ("logical-backup", "physical-backup", "manifest-backup"),
            ("logical-backup-restore", "manifest-restore"),
        )
    )
    result = data(store, RestoreSourceInput(snapshot=ref("orders-phys")))
    assert codes(result.plan) == [("NO_RESTORE_TASK", ("source", "snapshot"))]
    assert "postgres-addon" in result.plan.errors[0].message
    new = create(store, init_from=RestoreSourceInput(snapshot=ref("orders-phys")))
    assert codes(new.plan) == [("NO_RESTORE_TASK", ("initFrom", "snapshot"))]
    assert new.plan.changes == []


def test_a_backup_of_another_kind_is_not_restorable_into_the_database() -> None:
    store = restore_world()
    cache = store.get(CLUSTER, database_resource("Redis"), "team-a", "cache")
    assert cache is not None
    repo = store.put(o.repository(cache, "cache-daily", storage=("backup-admin", "shared")))
    store.put(snap("cache-dump", repo, taken=T, parts={"dump": component()}, version="7.2"))
    result = data(store, RestoreSourceInput(snapshot=ref("cache-dump")))
    assert codes(result.plan) == [("SNAPSHOT_NOT_RESTORABLE", ("source", "snapshot"))]
    assert "backup of a Redis" in result.plan.errors[0].message
