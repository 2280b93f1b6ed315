"""The user's backup mutations, planned over an in-memory cache: what each one writes,
the impact and warnings it reports, and every user error it can return."""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import graphql
import pytest

from apis import objects
from apis.resources import NAMESPACES, ResourceType
from resolvers.choices import backup_choices
from resolvers.writes.backup import (
    BackupSetupInput,
    DisableBackupInput,
    EnableBackupInput,
    EncryptionInput,
    ObjectRefInput,
    PauseBackupInput,
    PlanWithImpact,
    ResumeBackupInput,
    SessionScheduleInput,
    TriggerBackupInput,
    UpdateBackupInput,
    plan_disable_backup,
    plan_enable_backup,
    plan_pause_backup,
    plan_resume_backup,
    plan_trigger_backup,
    plan_update_backup,
)
from resolvers.writes.plan import Change
from sandbox import objects as o
from tests.unit.test_blueprints import policy

Obj = dict[str, Any]
CLUSTER = "c1"
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


class MemoryStore:
    """A dict-backed ``plan.Store``: objects by (cluster, group, kind, namespace, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str | None, str], Obj] = {}

    def put(self, raw: Obj, cluster: str = CLUSTER) -> Obj:
        raw = copy.deepcopy(raw)
        meta = raw.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("resourceVersion", "7")
        group = str(raw["apiVersion"]).rpartition("/")[0]
        key = (cluster, group, raw["kind"], meta.get("namespace"), meta["name"])
        self.objects[key] = raw
        return raw

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> Obj | None:
        ns = namespace if resource.namespaced else None
        return self.objects.get((cluster, resource.group, resource.kind, ns, name))

    def list(self, cluster: str, resource: ResourceType, namespace: str | None = None) -> list[Obj]:
        return [
            raw
            for (c, g, k, ns, _), raw in self.objects.items()
            if (c, g, k) == (cluster, resource.group, resource.kind)
            and (namespace is None or not resource.namespaced or ns == namespace)
        ]


def namespace(name: str, **labels: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}},
    }


def world() -> MemoryStore:
    """team-a (tier=gold) with Postgres orders and Redis cache; team-b; backup-admin with
    the shared storage, retention policies and the gold policy."""
    store = MemoryStore()
    store.put(namespace("team-a", tier="gold"))
    store.put(namespace("team-b"))
    store.put(namespace("backup-admin"))
    store.put(o.database("Postgres", "orders", "team-a", labels={"archive": "yes"}))
    store.put(o.database("Redis", "cache", "team-a"))
    store.put(o.backup_storage("shared", "backup-admin", scope="All"))
    store.put(o.backup_storage("mine", "team-a"))
    store.put(o.backup_storage("other-team", "team-b"))
    store.put(o.retention_policy("keep-30d", "backup-admin", scope="All"))
    store.put(o.retention_policy("keep-7d", "team-a", default=True))
    store.put(o.retention_policy("team-b-only", "team-b"))
    store.put(policy())
    store.put(
        o.addon(
            "postgres-addon",
            ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
            ("logical-backup-restore",),
        )
    )
    store.put(o.addon("redis-addon", ("logical-backup", "manifest-backup"), ()))
    store.put(
        o.archiver(
            "Postgres",
            "pg-archiver",
            "backup-admin",
            storage=("backup-admin", "shared"),
            retention=("backup-admin", "keep-30d"),
            scope="All",
            db_selector={"matchLabels": {"archive": "yes"}},
        )
    )
    return store


def ref(name: str, namespace: str = "team-a", kind: str | None = None) -> ObjectRefInput:
    return ObjectRefInput(namespace=namespace, name=name, kind=kind)


ORDERS = ref("orders", kind="Postgres")
GOLD = ref("gold", "backup-admin")


def enable(store: MemoryStore, db: ObjectRefInput = ORDERS, **backup: Any) -> PlanWithImpact:
    inp = EnableBackupInput(database=db, backup=BackupSetupInput(**backup))
    return plan_enable_backup(inp, store=store, cluster=CLUSTER, now=NOW)


def update(store: MemoryStore, **backup: Any) -> PlanWithImpact:
    inp = UpdateBackupInput(database=ORDERS, backup=BackupSetupInput(**backup))
    return plan_update_backup(inp, store=store, cluster=CLUSTER, now=NOW)


def codes(result: PlanWithImpact) -> list[tuple[str, tuple[str, ...] | None]]:
    return [(e.code, e.field) for e in result.plan.errors]


def only_change(result: PlanWithImpact) -> Change:
    assert not result.plan.errors, result.plan.errors
    assert len(result.plan.changes) == 1, result.plan.changes
    return result.plan.changes[0]


def configured(store: MemoryStore, **backup: Any) -> Obj:
    """Enable backup and store the configuration as the API server would keep it."""
    change = [c for c in enable(store, **backup).plan.changes if c.kind == "BackupConfiguration"]
    assert change
    assert change[0].body is not None
    return store.put(change[0].body)


# ------------------------------------------------------------------ enableBackup


def test_enable_with_a_policy_expands_it_into_the_databases_configuration() -> None:
    result = enable(world(), policy=GOLD)
    change = only_change(result)
    assert (change.action, change.kind, change.namespace, change.name) == (
        "CREATE",
        "BackupConfiguration",
        "team-a",
        "orders-backup",
    )
    body = change.body
    assert body is not None
    assert body["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "stashql",
        "kubestash.com/invoker-name": "gold",
        "kubestash.com/invoker-namespace": "backup-admin",
        "kubestash.com/invoker-kind": "BackupBlueprint",
    }
    spec = body["spec"]
    assert spec["target"] == {
        "apiGroup": "kubedb.com",
        "kind": "Postgres",
        "namespace": "team-a",
        "name": "orders",
    }
    assert [s["name"] for s in spec["sessions"]] == ["daily", "snapshots"]
    daily = spec["sessions"][0]
    assert daily["scheduler"]["schedule"] == "0 2 * * *"
    assert daily["addon"] == {
        "name": "postgres-addon",
        "tasks": [{"name": "logical-backup"}, {"name": "manifest-backup"}],
    }
    assert daily["repositories"][0]["name"] == "orders-daily"
    assert spec["backends"][0]["storageRef"] == {"namespace": "backup-admin", "name": "shared"}
    assert "BackupPolicy backup-admin/gold" in change.summary
    assert result.impact is not None
    assert [m.method for m in result.impact.methods] == ["LOGICAL", "VOLUME_SNAPSHOT", "MANIFEST"]
    assert not result.impact.unavailable_during_setup
    assert [w.code for w in result.plan.warnings] == ["INITIAL_BACKUP_STARTS"]


def test_enable_with_a_policy_and_choices_runs_only_the_chosen_sessions() -> None:
    store = world()
    store.put(policy(own_storage=True, choose_retention=True))
    result = enable(
        store,
        policy=GOLD,
        methods=["LOGICAL"],
        schedule="30 1 * * *",
        storage=ref("mine"),
        retention_policy=ref("keep-7d"),
    )
    spec = only_change(result).body["spec"]  # type: ignore[index]
    assert [s["name"] for s in spec["sessions"]] == ["daily"]
    assert spec["sessions"][0]["scheduler"]["schedule"] == "30 1 * * *"
    assert spec["backends"][0]["storageRef"] == {"name": "mine", "namespace": "team-a"}
    assert spec["backends"][0]["retentionPolicy"] == {"name": "keep-7d", "namespace": "team-a"}
    assert result.impact is not None
    assert [m.method for m in result.impact.methods] == ["LOGICAL", "MANIFEST"]


def test_session_schedules_override_the_schedule_for_one_session() -> None:
    store = world()
    store.put(policy(own_storage=True))
    result = enable(
        store,
        policy=GOLD,
        schedule="0 3 * * *",
        session_schedules=[SessionScheduleInput(session="daily", schedule="15 4 * * *")],
    )
    spec = only_change(result).body["spec"]  # type: ignore[index]
    assert [s["scheduler"]["schedule"] for s in spec["sessions"]] == ["15 4 * * *", "0 */6 * * *"]


def test_variables_fill_the_policys_other_placeholders() -> None:
    store = world()
    raw = policy()
    raw["spec"]["backupConfigurationTemplate"]["sessions"][0]["addon"]["tasks"][0]["params"] = {
        "args": "--dbname=${database}"
    }
    store.put(raw)
    missing = enable(store, policy=GOLD)
    assert codes(missing) == [("INVALID_INPUT", ("backup", "variables"))]
    assert "database" in missing.plan.errors[0].message
    assert not missing.plan.changes
    assert missing.impact is None

    result = enable(store, policy=GOLD, variables={"database": "shop"})
    task = only_change(result).body["spec"]["sessions"][0]["addon"]["tasks"][0]  # type: ignore[index]
    assert task["params"] == {"args": "--dbname=shop"}

    unknown = enable(store, policy=GOLD, variables={"database": "shop", "nope": "x"})
    assert codes(unknown) == [("INVALID_INPUT", ("backup", "variables"))]


def test_every_session_backs_up_the_manifest_even_where_the_policy_forgot_it() -> None:
    store = world()
    raw = policy()
    raw["spec"]["backupConfigurationTemplate"]["sessions"][1]["addon"]["tasks"] = [
        {"name": "volume-snapshot"}
    ]
    store.put(raw)
    spec = only_change(enable(store, policy=GOLD)).body["spec"]  # type: ignore[index]
    assert spec["sessions"][1]["addon"]["tasks"] == [
        {"name": "volume-snapshot"},
        {"name": "manifest-backup"},
    ]


def test_an_open_retention_without_default_takes_the_namespaces_default() -> None:
    store = _store_with(policy(choose_retention=True, retention_default=False))
    spec = only_change(enable(store, policy=GOLD)).body["spec"]  # type: ignore[index]
    assert spec["backends"][0]["retentionPolicy"] == {"name": "keep-7d", "namespace": "team-a"}
    # Without a namespace default it is left out, and KubeStash picks one allowed there.
    del store.objects[(CLUSTER, "storage.kubestash.com", "RetentionPolicy", "team-a", "keep-7d")]
    spec = only_change(enable(store, policy=GOLD)).body["spec"]  # type: ignore[index]
    assert "retentionPolicy" not in spec["backends"][0]


def test_enable_without_a_policy_uses_own_storage_and_a_new_encryption_secret() -> None:
    result = enable(
        world(),
        storage=ref("mine"),
        schedule="0 1 * * *",
        encryption=EncryptionInput(password="s3cret"),
    )
    assert not result.plan.errors
    secret, bc = result.plan.changes
    assert (secret.action, secret.kind, secret.name) == (
        "CREATE",
        "Secret",
        "orders-backup-encryption",
    )
    assert secret.body is not None
    assert secret.body["stringData"] == {"RESTIC_PASSWORD": "s3cret"}
    assert "s3cret" not in secret.summary
    spec = bc.body["spec"]  # type: ignore[index]
    assert spec["backends"] == [
        {
            "name": "default",
            "storageRef": {"namespace": "team-a", "name": "mine"},
            "retentionPolicy": {"namespace": "team-a", "name": "keep-7d"},
        }
    ]
    (session,) = spec["sessions"]
    assert session["name"] == "full-backup"
    assert session["scheduler"]["schedule"] == "0 1 * * *"
    assert session["repositories"] == [
        {
            "name": "orders-backup",
            "backend": "default",
            "directory": "/team-a/orders",
            "encryptionSecret": {"namespace": "team-a", "name": "orders-backup-encryption"},
        }
    ]
    assert session["addon"]["tasks"] == [{"name": "logical-backup"}, {"name": "manifest-backup"}]
    assert bc.body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "stashql"}  # type: ignore[index]
    assert "s3cret" not in repr(EncryptionInput(password="s3cret"))


def test_enable_continuous_takes_the_archiver_that_admits_the_database() -> None:
    result = enable(world(), methods=["CONTINUOUS"])
    change = only_change(result)
    assert (change.action, change.kind, change.name) == ("PATCH", "Postgres", "orders")
    body = change.body
    assert body is not None
    assert body["spec"]["archiver"] == {
        "ref": {"name": "pg-archiver", "namespace": "backup-admin"},
        "pause": False,
    }
    # The whole spec is applied with the version it was read at (see common.py).
    assert body["spec"]["version"] == "16.4"
    assert body["metadata"]["resourceVersion"] == "7"
    assert result.impact is not None
    assert result.impact.unavailable_during_setup
    assert [m.method for m in result.impact.methods] == [
        "VOLUME_SNAPSHOT",
        "CONTINUOUS",
        "MANIFEST",
    ]
    assert [w.code for w in result.plan.warnings] == [
        "DATABASE_UNAVAILABLE_DURING_SETUP",
        "INITIAL_BACKUP_STARTS",
    ]


def _store_with(*raws: Obj) -> MemoryStore:
    store = world()
    for raw in raws:
        store.put(raw)
    return store


def _selector_policy() -> Obj:
    raw = policy()
    raw["spec"]["usagePolicy"] = {
        "allowedNamespaces": {"from": "Selector", "selector": {"matchLabels": {"tier": "silver"}}}
    }
    return raw


def _same_policy() -> Obj:
    raw = policy()
    raw["spec"]["usagePolicy"] = {"allowedNamespaces": {"from": "Same"}}
    return raw


ENABLE_ERRORS: list[
    tuple[str, MemoryStore, ObjectRefInput, dict[str, Any], str, tuple[str, ...]]
] = [
    ("no database", world(), ref("nope", kind="Postgres"), {}, "NOT_FOUND", ("database",)),
    ("no policy", world(), ORDERS, {"policy": ref("nope")}, "NOT_FOUND", ("backup", "policy")),
    (
        "no storage",
        world(),
        ORDERS,
        {
            "storage": ref("nope"),
            "schedule": "0 1 * * *",
            "encryption": EncryptionInput(password="p"),
        },
        "NOT_FOUND",
        ("backup", "storage"),
    ),
    (
        "no retention",
        _store_with(policy(choose_retention=True)),
        ORDERS,
        {"policy": GOLD, "retention_policy": ref("nope")},
        "NOT_FOUND",
        ("backup", "retentionPolicy"),
    ),
    (
        "no archiver",
        world(),
        ORDERS,
        {"methods": ["CONTINUOUS"], "archiver_policy": ref("nope")},
        "NOT_FOUND",
        ("backup", "archiverPolicy"),
    ),
    (
        "policy of another namespace",
        _store_with(_same_policy()),
        ORDERS,
        {"policy": GOLD},
        "POLICY_NOT_ALLOWED",
        ("backup", "policy"),
    ),
    (
        "selector over namespace labels",
        _store_with(_selector_policy()),
        ORDERS,
        {"policy": GOLD},
        "POLICY_NOT_ALLOWED",
        ("backup", "policy"),
    ),
    (
        "policy for another kind",
        world(),
        ref("cache", kind="Redis"),
        {"policy": GOLD},
        "POLICY_NOT_ALLOWED",
        ("backup", "policy"),
    ),
    (
        "archiver selecting other labels",
        _store_with(o.database("Postgres", "orders", "team-a")),
        ORDERS,
        {"methods": ["CONTINUOUS"], "archiver_policy": ref("pg-archiver", "backup-admin")},
        "POLICY_NOT_ALLOWED",
        ("backup", "archiverPolicy"),
    ),
    (
        "retention fixed by the policy",
        world(),
        ORDERS,
        {"policy": GOLD, "retention_policy": ref("keep-7d")},
        "RETENTION_NOT_ALLOWED",
        ("backup", "retentionPolicy"),
    ),
    (
        "retention not admitting the namespace",
        _store_with(policy(choose_retention=True)),
        ORDERS,
        {"policy": GOLD, "retention_policy": ref("team-b-only", "team-b")},
        "RETENTION_NOT_ALLOWED",
        ("backup", "retentionPolicy"),
    ),
    (
        "storage fixed by the policy",
        world(),
        ORDERS,
        {"policy": GOLD, "storage": ref("mine")},
        "CUSTOM_STORAGE_NOT_ALLOWED",
        ("backup", "storage"),
    ),
    (
        "storage not admitting the namespace",
        _store_with(policy(own_storage=True)),
        ORDERS,
        {"policy": GOLD, "storage": ref("other-team", "team-b")},
        "CUSTOM_STORAGE_NOT_ALLOWED",
        ("backup", "storage"),
    ),
    (
        "not cron",
        world(),
        ORDERS,
        {"policy": GOLD, "schedule": "every day"},
        "INVALID_SCHEDULE",
        ("backup", "schedule"),
    ),
    (
        "schedule fixed by the policy",
        _store_with(policy(open_schedule=False)),
        ORDERS,
        {"policy": GOLD, "schedule": "0 1 * * *"},
        "INVALID_SCHEDULE",
        ("backup", "schedule"),
    ),
    (
        "fixed session schedule",
        world(),
        ORDERS,
        {"policy": GOLD, "session_schedules": [SessionScheduleInput("snapshots", "0 1 * * *")]},
        "INVALID_SCHEDULE",
        ("backup", "sessionSchedules"),
    ),
    (
        "no schedule without a policy",
        world(),
        ORDERS,
        {"storage": ref("mine"), "encryption": EncryptionInput(password="p")},
        "INVALID_SCHEDULE",
        ("backup", "schedule"),
    ),
    (
        "method no session offers",
        world(),
        ORDERS,
        {"policy": GOLD, "methods": ["PHYSICAL"]},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "policy task the kind's addon lacks",
        _store_with(o.addon("postgres-addon", ("logical-backup", "manifest-backup"), ())),
        ORDERS,
        {"policy": GOLD},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "method the addon lacks without a policy",
        world(),
        ref("cache", kind="Redis"),
        {
            "methods": ["PHYSICAL"],
            "storage": ref("mine"),
            "schedule": "0 1 * * *",
            "encryption": EncryptionInput(password="p"),
        },
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "continuous with a policy",
        world(),
        ORDERS,
        {"policy": GOLD, "methods": ["CONTINUOUS"]},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "continuous for a kind without archiver",
        world(),
        ref("cache", kind="Redis"),
        {"methods": ["CONTINUOUS"]},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "continuous with other methods",
        world(),
        ORDERS,
        {"methods": ["CONTINUOUS", "LOGICAL"]},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "no archiver admits",
        _store_with(o.database("Postgres", "orders", "team-a")),
        ORDERS,
        {"methods": ["CONTINUOUS"]},
        "METHOD_NOT_AVAILABLE",
        ("backup", "methods"),
    ),
    (
        "already has an archiver",
        _store_with(
            o.database("Postgres", "orders", "team-a", archiver=("backup-admin", "pg-archiver"))
        ),
        ORDERS,
        {"policy": GOLD},
        "BACKUP_ALREADY_ENABLED",
        ("database",),
    ),
    (
        "unknown session",
        world(),
        ORDERS,
        {"policy": GOLD, "session_schedules": [SessionScheduleInput("hourly", "0 * * * *")]},
        "INVALID_INPUT",
        ("backup", "sessionSchedules"),
    ),
    (
        "both secret and password",
        world(),
        ORDERS,
        {
            "storage": ref("mine"),
            "schedule": "0 1 * * *",
            "encryption": EncryptionInput(secret=ref("key"), password="p"),
        },
        "INVALID_INPUT",
        ("backup", "encryption"),
    ),
    (
        "no encryption with own storage",
        world(),
        ORDERS,
        {"storage": ref("mine"), "schedule": "0 1 * * *"},
        "INVALID_INPUT",
        ("backup", "encryption"),
    ),
    (
        "neither secret nor password",
        world(),
        ORDERS,
        {"storage": ref("mine"), "schedule": "0 1 * * *", "encryption": EncryptionInput()},
        "INVALID_INPUT",
        ("backup", "encryption"),
    ),
    (
        "no storage without a policy",
        world(),
        ORDERS,
        {"schedule": "0 1 * * *", "encryption": EncryptionInput(password="p")},
        "INVALID_INPUT",
        ("backup", "storage"),
    ),
]


@pytest.mark.parametrize(
    ("store", "db", "backup", "code", "path"),
    [case[1:] for case in ENABLE_ERRORS],
    ids=[case[0] for case in ENABLE_ERRORS],
)
def test_enable_refuses_with_a_typed_error_and_plans_nothing(
    store: MemoryStore,
    db: ObjectRefInput,
    backup: dict[str, Any],
    code: str,
    path: tuple[str, ...],
) -> None:
    result = enable(store, db, **backup)
    assert (code, path) in codes(result), result.plan.errors
    assert result.plan.changes == []
    assert result.impact is None
    assert all(e.message.endswith(".") for e in result.plan.errors)


def test_enable_refuses_a_database_that_already_has_a_configuration() -> None:
    store = world()
    configured(store, policy=GOLD)
    result = enable(store, policy=GOLD)
    assert codes(result) == [("BACKUP_ALREADY_ENABLED", ("database",))]
    assert "updateBackup" in result.plan.errors[0].message


def test_enable_finds_the_database_without_a_kind_when_the_name_is_unique() -> None:
    result = enable(world(), ref("orders"), policy=GOLD)
    assert only_change(result).body["spec"]["target"]["kind"] == "Postgres"  # type: ignore[index]


# ------------------------------------------------------------------ updateBackup


def test_update_replaces_the_configuration_whole_and_keeps_it_paused() -> None:
    store = world()
    stored = configured(store, policy=GOLD)
    stored["spec"]["paused"] = True
    result = update(store, policy=GOLD, methods=["VOLUME_SNAPSHOT"])
    change = only_change(result)
    assert (change.action, change.name) == ("PATCH", "orders-backup")
    body = change.body
    assert body is not None
    assert [s["name"] for s in body["spec"]["sessions"]] == ["snapshots"]
    assert body["spec"]["paused"] is True
    assert body["metadata"]["resourceVersion"] == "7"
    assert result.impact is not None
    assert [w.code for w in result.plan.warnings] == []


def test_update_refuses_a_database_without_backup() -> None:
    result = update(world(), policy=GOLD)
    assert codes(result) == [("BACKUP_NOT_ENABLED", ("database",))]
    assert result.impact is None


def test_update_to_continuous_deletes_the_configuration_and_keeps_its_snapshots() -> None:
    store = world()
    configured(store, policy=GOLD)
    result = update(store, methods=["CONTINUOUS"])
    assert [(c.action, c.kind) for c in result.plan.changes] == [
        ("PATCH", "Postgres"),
        ("DELETE", "BackupConfiguration"),
    ]
    assert "kept" in result.plan.changes[1].summary


def test_update_from_continuous_to_a_policy_pauses_the_archiver() -> None:
    store = _store_with(
        o.database("Postgres", "orders", "team-a", archiver=("backup-admin", "pg-archiver"))
    )
    result = update(store, policy=GOLD)
    assert [(c.action, c.kind) for c in result.plan.changes] == [
        ("CREATE", "BackupConfiguration"),
        ("PATCH", "Postgres"),
    ]
    patch = result.plan.changes[1].body
    assert patch is not None
    assert patch["spec"]["archiver"]["pause"] is True
    assert [w.code for w in result.plan.warnings] == ["INITIAL_BACKUP_STARTS"]


def test_update_keeps_the_encryption_secret_rather_than_replacing_its_password() -> None:
    store = world()
    setup = {"storage": ref("mine"), "schedule": "0 1 * * *"}
    configured(store, **setup, encryption=EncryptionInput(password="first"))
    kept = update(store, **setup)
    repo = only_change(kept).body["spec"]["sessions"][0]["repositories"][0]  # type: ignore[index]
    assert repo["encryptionSecret"] == {"namespace": "team-a", "name": "orders-backup-encryption"}
    refused = update(store, **setup, encryption=EncryptionInput(password="second"))
    assert codes(refused) == [("INVALID_INPUT", ("backup", "encryption", "password"))]


# ------------------------------------------------------------------ disableBackup


def _disable(store: MemoryStore, *, keep: bool = True) -> PlanWithImpact:
    inp = DisableBackupInput(database=ORDERS, keep_snapshots=keep)
    return plan_disable_backup(inp, store=store, cluster=CLUSTER, now=NOW)


def _with_repositories(store: MemoryStore, policy_name: str = "WipeOut") -> None:
    db = o.database("Postgres", "orders", "team-a")
    for name, deletion in (("orders-daily", policy_name), ("orders-snapshots", "Delete")):
        repo = o.repository(db, name, storage=("backup-admin", "shared"))
        repo["spec"]["deletionPolicy"] = deletion
        store.put(repo)


def test_disable_keeping_snapshots_deletes_only_the_configuration() -> None:
    store = world()
    configured(store, policy=GOLD)
    _with_repositories(store)
    result = _disable(store)
    change = only_change(result)
    assert (change.action, change.kind, change.name) == (
        "DELETE",
        "BackupConfiguration",
        "orders-backup",
    )
    assert [w.code for w in result.plan.warnings] == ["SNAPSHOTS_KEPT"]
    assert "orders-daily" in result.plan.warnings[0].message


def test_disable_without_snapshots_deletes_the_repositories_and_says_what_data_goes() -> None:
    store = world()
    configured(store, policy=GOLD)
    _with_repositories(store)
    result = _disable(store, keep=False)
    assert [(c.action, c.kind, c.name) for c in result.plan.changes] == [
        ("DELETE", "BackupConfiguration", "orders-backup"),
        ("DELETE", "Repository", "orders-daily"),
        ("DELETE", "Repository", "orders-snapshots"),
    ]
    assert [w.code for w in result.plan.warnings] == ["BACKUP_DATA_DELETED", "SNAPSHOTS_KEPT"]
    assert "orders-daily" in result.plan.warnings[0].message
    assert "orders-snapshots" in result.plan.warnings[1].message


def test_disable_pauses_continuous_backup_and_keeps_the_archiver_ref() -> None:
    store = _store_with(
        o.database("Postgres", "orders", "team-a", archiver=("backup-admin", "pg-archiver"))
    )
    change = only_change(_disable(store))
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"]["archiver"] == {
        "ref": {"namespace": "backup-admin", "name": "pg-archiver"},
        "pause": True,
    }


def test_disable_refuses_a_database_without_backup() -> None:
    assert codes(_disable(world())) == [("BACKUP_NOT_ENABLED", ("database",))]
    missing = plan_disable_backup(
        DisableBackupInput(database=ref("nope", kind="Postgres")),
        store=world(),
        cluster=CLUSTER,
        now=NOW,
    )
    assert codes(missing) == [("NOT_FOUND", ("database",))]


# ------------------------------------------------------------------ pause and resume


def test_pause_sets_paused_on_the_whole_configuration_and_twice_plans_none() -> None:
    store = world()
    stored = configured(store, policy=GOLD)
    paused = plan_pause_backup(
        PauseBackupInput(database=ORDERS), store=store, cluster=CLUSTER, now=NOW
    )
    change = only_change(paused)
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"] == {**stored["spec"], "paused": True}
    assert change.body["metadata"]["labels"]["kubestash.com/invoker-name"] == "gold"
    store.put(change.body)
    again = plan_pause_backup(
        PauseBackupInput(database=ORDERS), store=store, cluster=CLUSTER, now=NOW
    )
    assert only_change(again).action == "NONE"
    resumed = plan_resume_backup(
        ResumeBackupInput(database=ORDERS), store=store, cluster=CLUSTER, now=NOW
    )
    change = only_change(resumed)
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"]["paused"] is False


def test_pause_and_resume_continuous_backup_through_the_archiver() -> None:
    store = _store_with(
        o.database("Postgres", "orders", "team-a", archiver=("backup-admin", "pg-archiver"))
    )
    paused = plan_pause_backup(
        PauseBackupInput(database=ORDERS), store=store, cluster=CLUSTER, now=NOW
    )
    assert only_change(paused).body["spec"]["archiver"]["pause"] is True  # type: ignore[index]
    resumed = plan_resume_backup(
        ResumeBackupInput(database=ORDERS), store=store, cluster=CLUSTER, now=NOW
    )
    assert only_change(resumed).action == "NONE"


def test_pause_and_resume_refuse_a_database_without_backup() -> None:
    paused = plan_pause_backup(
        PauseBackupInput(database=ORDERS), store=world(), cluster=CLUSTER, now=NOW
    )
    resumed = plan_resume_backup(
        ResumeBackupInput(database=ORDERS), store=world(), cluster=CLUSTER, now=NOW
    )
    assert codes(paused) == [("BACKUP_NOT_ENABLED", ("database",))]
    assert codes(resumed) == [("BACKUP_NOT_ENABLED", ("database",))]


# ------------------------------------------------------------------ triggerBackup


def _trigger(store: MemoryStore, sessions: list[str] | None = None) -> PlanWithImpact:
    inp = TriggerBackupInput(database=ORDERS, sessions=sessions)
    return plan_trigger_backup(inp, store=store, cluster=CLUSTER, now=NOW)


def test_trigger_starts_one_backup_session_per_session_owned_by_the_configuration() -> None:
    store = world()
    configured(store, policy=GOLD)
    result = _trigger(store)
    assert not result.plan.errors
    stamp = int(NOW.timestamp())
    assert [c.name for c in result.plan.changes] == [
        f"orders-backup-daily-{stamp}",
        f"orders-backup-snapshots-{stamp}",
    ]
    body = result.plan.changes[0].body
    assert body is not None
    assert body["spec"] == {
        "invoker": {
            "apiGroup": "core.kubestash.com",
            "kind": "BackupConfiguration",
            "name": "orders-backup",
        },
        "session": "daily",
    }
    assert body["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "core.kubestash.com/v1alpha1",
            "kind": "BackupConfiguration",
            "name": "orders-backup",
            "uid": "uid-orders-backup",
            "controller": True,
        }
    ]
    only = _trigger(store, ["snapshots"])
    assert [c.name for c in only.plan.changes] == [f"orders-backup-snapshots-{stamp}"]


def test_trigger_refuses_unknown_sessions_paused_backups_and_unready_databases() -> None:
    store = world()
    assert codes(_trigger(store)) == [("BACKUP_NOT_ENABLED", ("database",))]
    stored = configured(store, policy=GOLD)
    assert codes(_trigger(store, ["hourly"])) == [("INVALID_INPUT", ("sessions",))]
    assert "daily, snapshots" in _trigger(store, ["hourly"]).plan.errors[0].message

    stored["spec"]["paused"] = True
    assert codes(_trigger(store)) == [("BACKUP_PAUSED", ("database",))]
    stored["spec"]["paused"] = False

    for db in (
        o.database("Postgres", "orders", "team-a", phase="Halted", halted=True),
        o.database("Postgres", "orders", "team-a", phase="Provisioning"),
    ):
        store.put(db)
        result = _trigger(store)
        assert codes(result) == [("DATABASE_NOT_READY", ("database",))]
        assert result.plan.changes == []


def test_trigger_refuses_while_a_restore_paused_the_backups() -> None:
    store = world()
    configured(store, policy=GOLD)
    restore = o.restore_session(
        "restore-1", o.database("Postgres", "orders", "team-a"), repository="orders-daily"
    )
    restore["status"]["pausedBackups"] = [
        {"apiGroup": "core.kubestash.com", "kind": "BackupConfiguration", "name": "orders-backup"}
    ]
    store.put(restore)
    result = _trigger(store)
    assert codes(result) == [("BACKUP_PAUSED", ("database",))]
    assert "restore-1" in result.plan.errors[0].message


# ------------------------------------------------------------------ choices


def _choices(store: MemoryStore, namespace: str = "team-a") -> Any:
    blueprint = store.get(CLUSTER, _BLUEPRINTS, "backup-admin", "gold")
    assert blueprint is not None
    return backup_choices(store, cluster=CLUSTER, blueprint=blueprint, namespace=namespace)


_BLUEPRINTS = ResourceType(
    group="core.kubestash.com",
    version="v1alpha1",
    plural="backupblueprints",
    kind="BackupBlueprint",
)


def test_choices_of_a_closed_policy_show_fixed_schedules_and_only_its_retention() -> None:
    choices = _choices(_store_with(policy(open_schedule=False)))
    assert [(s.name, s.methods, s.schedule, s.may_set_schedule) for s in choices.sessions] == [
        ("daily", ("LOGICAL",), "0 2 * * *", False),
        ("snapshots", ("VOLUME_SNAPSHOT",), "0 */6 * * *", False),
    ]
    assert not choices.may_choose_retention
    assert [objects.name_of(r) for r in choices.retention_policies] == ["keep-30d"]
    assert not choices.may_use_own_storage
    assert choices.own_storages == []
    assert choices.variables == ()


def test_choices_of_an_open_policy_list_what_the_namespace_may_use() -> None:
    store = _store_with(policy(own_storage=True, choose_retention=True))
    choices = _choices(store)
    assert choices.sessions[0].may_set_schedule
    assert choices.sessions[0].schedule == "0 2 * * *"
    assert choices.may_choose_retention
    # The namespace's default first; team-b's own policy is not usable from team-a.
    assert [objects.name_of(r) for r in choices.retention_policies] == ["keep-7d", "keep-30d"]
    assert choices.may_use_own_storage
    assert [objects.name_of(s) for s in choices.own_storages] == ["mine", "shared"]
    from_b = _choices(store, "team-b")
    assert [objects.name_of(s) for s in from_b.own_storages] == ["other-team", "shared"]


def test_choices_follow_namespace_labels_for_selector_usage() -> None:
    store = world()
    store.put(
        o.backup_storage(
            "gold-only",
            "backup-admin",
            scope="Selector",
            selector={"matchLabels": {"tier": "gold"}},
        )
    )
    store.put(policy(own_storage=True))
    assert "gold-only" in [objects.name_of(s) for s in _choices(store).own_storages]
    assert "gold-only" not in [objects.name_of(s) for s in _choices(store, "team-b").own_storages]
    # A namespace the cache does not know admits nothing through a selector.
    del store.objects[(CLUSTER, NAMESPACES.group, "Namespace", None, "team-a")]
    assert "gold-only" not in [objects.name_of(s) for s in _choices(store).own_storages]


# ------------------------------------------------------------------ inputs


CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "contract"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(
    "cls",
    [
        ObjectRefInput,
        EncryptionInput,
        SessionScheduleInput,
        BackupSetupInput,
        EnableBackupInput,
        UpdateBackupInput,
        DisableBackupInput,
        PauseBackupInput,
        ResumeBackupInput,
        TriggerBackupInput,
    ],
)
def test_inputs_mirror_the_contracts_fields_and_defaults(cls: type) -> None:
    """The GraphQL layer converts inputs by field name, so the names must be the contract's."""
    sdl = (CONTRACT / "read.graphql").read_text() + (
        CONTRACT / "pending" / "write.graphql"
    ).read_text()
    graphql_type = graphql.build_schema(sdl).get_type(cls.__name__)
    assert isinstance(graphql_type, graphql.GraphQLInputObjectType)
    wanted = {
        _snake(name): field.default_value
        for name, field in graphql_type.fields.items()
        if name not in ("dryRun", "idempotencyKey")
    }
    have = {f.name: f for f in dataclasses.fields(cls)}
    assert set(have) == set(wanted)
    for name, default in wanted.items():
        if default is not graphql.Undefined:
            assert have[name].default == default, name
