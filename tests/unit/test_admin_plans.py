"""The admin planners over an in-memory cache: what each plans, and every refusal."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from apis.resources import ResourceType
from resolvers.writes.admin import (
    plan_create_archiver_policy,
    plan_create_backup_policy,
    plan_create_backup_storage,
    plan_create_hook_template,
    plan_create_retention_policy,
    plan_delete_policy_object,
    plan_update_archiver_policy,
    plan_update_backup_policy,
    plan_update_backup_storage,
    plan_update_hook_template,
    plan_update_retention_policy,
)
from resolvers.writes.admin.inputs import (
    BackupPolicySession,
    CreateArchiverPolicy,
    CreateBackupPolicy,
    CreateBackupStorage,
    CreateHookTemplate,
    CreateRetentionPolicy,
    DeletePolicyObject,
    Encryption,
    HookExecutor,
    HookParameter,
    ObjectRef,
    RetentionCounts,
    StorageCredentials,
    StorageLocation,
    UpdateArchiverPolicy,
    UpdateBackupPolicy,
    UpdateBackupStorage,
    UpdateHookTemplate,
    UpdateRetentionPolicy,
    UsagePolicy,
)
from resolvers.writes.plan import JSONDict, Plan
from sandbox import objects as o

C = "c1"
SECRET_VALUE = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


class MemoryStore:
    """The planners' Store over a list of objects, matched by group and kind."""

    def __init__(self, items: Iterable[JSONDict] = (), *, cluster: str = C) -> None:
        self.items: dict[tuple[str, str, str, str | None, str], JSONDict] = {}
        for item in items:
            self.put(item, cluster=cluster)

    def put(self, item: JSONDict, *, cluster: str = C) -> None:
        group = item["apiVersion"].rpartition("/")[0]
        meta = item["metadata"]
        key = (cluster, group, item["kind"], meta.get("namespace"), meta["name"])
        self.items[key] = item

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None:
        return self.items.get((cluster, resource.group, resource.kind, namespace, name))

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]:
        return [
            v
            for (c, g, k, ns, _), v in self.items.items()
            if (c, g, k) == (cluster, resource.group, resource.kind)
            and (namespace is None or ns == namespace)
        ]


def ref(namespace: str, name: str, kind: str | None = None) -> ObjectRef:
    return ObjectRef(namespace=namespace, name=name, kind=kind)


def codes(plan: Plan) -> list[str]:
    return [e.code for e in plan.errors]


def only_error(plan: Plan) -> Any:
    assert not plan.changes, plan.changes
    assert len(plan.errors) == 1, plan.errors
    return plan.errors[0]


def ok(plan: Plan) -> Plan:
    assert not plan.errors, plan.errors
    return plan


PG_ADDON = o.addon(
    "postgres-addon",
    ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
    ("logical-backup-restore", "manifest-restore"),
)
MG_ADDON = o.addon(
    "mongodb-addon", ("logical-backup", "manifest-backup"), ("logical-backup-restore",)
)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(
        [
            PG_ADDON,
            MG_ADDON,
            o.backup_storage("s3-main", "kubedb", scope="All"),
            o.retention_policy("keep-30d", "kubedb", scope="All", default=True),
            o.retention_policy("keep-1y", "kubedb", scope="All"),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        ]
    )


# ------------------------------------------------------------------- storage


def s3(**kw: Any) -> CreateBackupStorage:
    args: dict[str, Any] = {
        "namespace": "kubedb",
        "name": "s3-new",
        "provider": "S3",
        "location": StorageLocation(bucket="backups", prefix="team-a/", region="eu-west-1"),
        "credentials": StorageCredentials(
            access_key_id="AKIAEXAMPLE", secret_access_key=SECRET_VALUE
        ),
    }
    args.update(kw)
    return CreateBackupStorage(**args)


def test_s3_storage_keeps_its_keys_in_a_secret_beside_it(store: MemoryStore) -> None:
    plan = ok(plan_create_backup_storage(s3(), store=store, cluster=C))
    secret, storage = plan.changes
    assert (secret.kind, secret.name, secret.action) == ("Secret", "s3-new-credentials", "CREATE")
    assert secret.body is not None
    assert secret.body["stringData"] == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET_VALUE,
    }
    assert storage.summary == (
        "Create BackupStorage kubedb/s3-new on s3 bucket backups (prefix team-a/), "
        "usable from its own namespace"
    )
    assert storage.body is not None
    assert storage.body["spec"] == {
        "storage": {
            "provider": "s3",
            "s3": {
                "bucket": "backups",
                "prefix": "team-a/",
                "region": "eu-west-1",
                "secretName": "s3-new-credentials",
            },
        },
        "default": False,
        "deletionPolicy": "Delete",
    }
    assert storage.body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "stashql"}
    for change in plan.changes:
        assert SECRET_VALUE not in change.summary
    assert SECRET_VALUE not in json.dumps(storage.body)
    assert SECRET_VALUE not in repr(s3())


def test_storage_variants_per_provider(store: MemoryStore) -> None:
    gcs = plan_create_backup_storage(
        s3(
            provider="GCS",
            location=StorageLocation(bucket="b"),
            credentials=StorageCredentials(secret_name="gcs-key"),
            usage=UsagePolicy(from_="SELECTOR", namespaces=["team-a", "team-b"]),
            deletion_policy="WIPE_OUT",
        ),
        store=store,
        cluster=C,
    )
    (change,) = ok(gcs).changes
    assert change.body is not None
    spec = change.body["spec"]
    assert spec["storage"] == {"provider": "gcs", "gcs": {"bucket": "b", "secretName": "gcs-key"}}
    assert spec["deletionPolicy"] == "WipeOut"
    assert spec["usagePolicy"] == {
        "allowedNamespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": ["team-a", "team-b"],
                    }
                ]
            },
        }
    }
    assert "usable from namespaces team-a, team-b" in change.summary

    azure = plan_create_backup_storage(
        s3(
            provider="AZURE",
            location=StorageLocation(storage_account="acct", bucket="cont"),
            credentials=None,
        ),
        store=store,
        cluster=C,
    )
    (change,) = ok(azure).changes
    assert change.body is not None
    assert change.body["spec"]["storage"]["azure"] == {
        "storageAccount": "acct",
        "container": "cont",
        "secretName": "",
    }

    local = plan_create_backup_storage(
        s3(
            provider="LOCAL",
            location=StorageLocation(
                volume={"persistentVolumeClaim": {"claimName": "backups"}}, mount_path="/safe"
            ),
            credentials=None,
            is_default=True,
        ),
        store=store,
        cluster=C,
    )
    (change,) = ok(local).changes
    assert change.body is not None
    assert change.body["spec"]["storage"] == {
        "provider": "local",
        "local": {"mountPath": "/safe", "persistentVolumeClaim": {"claimName": "backups"}},
    }
    assert change.body["spec"]["default"] is True


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"name": "S3_Main"}, "INVALID_INPUT", ("name",)),
        ({"namespace": "kube.db"}, "INVALID_INPUT", ("namespace",)),
        ({"location": StorageLocation(prefix="x")}, "INVALID_INPUT", ("location", "bucket")),
        (
            {"location": StorageLocation(bucket="b", mount_path="/x")},
            "INVALID_INPUT",
            ("location", "mountPath"),
        ),
        (
            {"location": StorageLocation(bucket="b", endpoint="minio:9000")},
            "INVALID_INPUT",
            ("location", "endpoint"),
        ),
        (
            {"credentials": StorageCredentials(account_key="k")},
            "INVALID_INPUT",
            ("credentials", "accountKey"),
        ),
        (
            {"credentials": StorageCredentials(access_key_id="AKIA")},
            "INVALID_INPUT",
            ("credentials", "secretAccessKey"),
        ),
        (
            {
                "credentials": StorageCredentials(
                    access_key_id="a", secret_access_key="b", secret_name="s"
                )
            },
            "INVALID_INPUT",
            ("credentials", "secretName"),
        ),
        (
            {"provider": "GCS", "location": StorageLocation(bucket="b"), "credentials": None},
            "INVALID_INPUT",
            ("credentials",),
        ),
        (
            {"provider": "LOCAL", "location": StorageLocation(mount_path="/x")},
            "INVALID_INPUT",
            ("location", "volume"),
        ),
        ({"usage": UsagePolicy(from_="SELECTOR")}, "INVALID_INPUT", ("usage",)),
        (
            {"usage": UsagePolicy(from_="SELECTOR", selector={"matchLabels": {"a b": "c"}})},
            "INVALID_INPUT",
            ("usage", "selector"),
        ),
        ({"deletion_policy": "RETAIN"}, "INVALID_INPUT", ("deletionPolicy",)),
        ({"name": "s3-main"}, "TARGET_EXISTS", ("name",)),
    ],
)
def test_storage_refusals(
    store: MemoryStore, changes: dict[str, Any], code: str, field: tuple[str, ...]
) -> None:
    plan = plan_create_backup_storage(s3(**changes), store=store, cluster=C)
    errors = [(e.code, e.field) for e in plan.errors]
    assert (code, field) in errors
    assert not plan.changes


def test_gcs_key_must_be_json_and_is_never_echoed(store: MemoryStore) -> None:
    plan = plan_create_backup_storage(
        s3(
            provider="GCS",
            location=StorageLocation(bucket="b"),
            credentials=StorageCredentials(project_id="p", service_account_key=SECRET_VALUE),
        ),
        store=store,
        cluster=C,
    )
    error = only_error(plan)
    assert (error.code, error.field) == ("INVALID_INPUT", ("credentials", "serviceAccountKey"))
    assert SECRET_VALUE not in error.message


def test_second_default_storage_is_refused(store: MemoryStore) -> None:
    store.put(o.backup_storage("gcs-default", "kubedb", default=True))
    error = only_error(plan_create_backup_storage(s3(is_default=True), store=store, cluster=C))
    assert error.code == "DEFAULT_ALREADY_SET"
    assert "kubedb/gcs-default" in error.message


def test_rotating_credentials_replaces_the_secret_only(store: MemoryStore) -> None:
    inp = UpdateBackupStorage(
        backup_storage=ref("kubedb", "s3-main"),
        credentials=StorageCredentials(access_key_id="AKIA2", secret_access_key=SECRET_VALUE),
    )
    plan = ok(plan_update_backup_storage(inp, store=store, cluster=C))
    secret, storage = plan.changes
    assert (secret.action, secret.name) == ("PATCH", "s3-main-credentials")
    assert storage.action == "NONE"
    assert all(SECRET_VALUE not in c.summary for c in plan.changes)


def test_update_storage_applies_every_managed_field(store: MemoryStore) -> None:
    inp = UpdateBackupStorage(
        backup_storage=ref("kubedb", "s3-main"),
        location=StorageLocation(bucket="elsewhere", prefix="p"),
        deletion_policy="WIPE_OUT",
    )
    (change,) = ok(plan_update_backup_storage(inp, store=store, cluster=C)).changes
    assert change.action == "PATCH"
    assert change.body is not None
    spec = change.body["spec"]
    assert spec["storage"]["s3"] == {
        "bucket": "elsewhere",
        "prefix": "p",
        "secretName": "s3-main-credentials",
    }
    assert spec["deletionPolicy"] == "WipeOut"
    # Unchanged fields are applied with their current values, so the apply keeps them.
    assert spec["usagePolicy"] == {"allowedNamespaces": {"from": "All"}}
    assert spec["default"] is False
    assert "status" not in change.body


def test_update_storage_that_changes_nothing_plans_none(store: MemoryStore) -> None:
    inp = UpdateBackupStorage(backup_storage=ref("kubedb", "s3-main"), is_default=False)
    (change,) = ok(plan_update_backup_storage(inp, store=store, cluster=C)).changes
    assert change.action == "NONE"


def test_moving_a_storage_with_repositories_is_in_use(store: MemoryStore) -> None:
    for i in range(7):
        db = o.database("Postgres", f"db{i}", "team-a")
        store.put(o.repository(db, f"db{i}-repo", storage=("kubedb", "s3-main")))
    inp = UpdateBackupStorage(
        backup_storage=ref("kubedb", "s3-main"), location=StorageLocation(bucket="new")
    )
    error = only_error(plan_update_backup_storage(inp, store=store, cluster=C))
    assert (error.code, error.field) == ("IN_USE", ("location",))
    assert "Repository team-a/db0-repo" in error.message
    assert "and 2 more" in error.message


def test_update_storage_refusals(store: MemoryStore) -> None:
    missing = UpdateBackupStorage(backup_storage=ref("kubedb", "nope"), is_default=True)
    assert codes(plan_update_backup_storage(missing, store=store, cluster=C)) == ["NOT_FOUND"]
    store.put(o.backup_storage("other", "kubedb", default=True))
    default = UpdateBackupStorage(backup_storage=ref("kubedb", "s3-main"), is_default=True)
    assert codes(plan_update_backup_storage(default, store=store, cluster=C)) == [
        "DEFAULT_ALREADY_SET"
    ]


# ----------------------------------------------------------------- retention


def retention(**kw: Any) -> CreateRetentionPolicy:
    args: dict[str, Any] = {
        "namespace": "kubedb",
        "name": "keep-90d",
        "max_retention_period": "90d",
        "successful_snapshots": RetentionCounts(last=10, daily=7),
    }
    args.update(kw)
    return CreateRetentionPolicy(**args)


def test_retention_policy_body(store: MemoryStore) -> None:
    plan = plan_create_retention_policy(
        retention(usage=UsagePolicy(from_="ALL")), store=store, cluster=C
    )
    (change,) = ok(plan).changes
    assert change.body is not None
    assert change.body["spec"] == {
        "maxRetentionPeriod": "90d",
        "successfulSnapshots": {"last": 10, "daily": 7},
        "failedSnapshots": {"last": 1},
        "usagePolicy": {"allowedNamespaces": {"from": "All"}},
        "default": False,
    }
    assert change.summary == (
        "Create RetentionPolicy kubedb/keep-90d keeping snapshots up to 90d old, the last 10, "
        "7 daily and 1 failed one, usable from every namespace"
    )


@pytest.mark.parametrize("period", ["30d", "6mo", "1y2mo3w4d5h6m", "12h", "1y"])
def test_retention_periods_kubestash_takes(store: MemoryStore, period: str) -> None:
    ok(plan_create_retention_policy(retention(max_retention_period=period), store=store, cluster=C))


@pytest.mark.parametrize("period", ["30x", "0d", "d", "2mo1y", "30 d", ""])
def test_retention_periods_refused(store: MemoryStore, period: str) -> None:
    plan = plan_create_retention_policy(
        retention(max_retention_period=period), store=store, cluster=C
    )
    error = only_error(plan)
    assert (error.code, error.field) == ("INVALID_INPUT", ("maxRetentionPeriod",))
    assert "1y2mo3w4d5h6m" in error.message


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        (
            {"successful_snapshots": RetentionCounts(weekly=-1)},
            "INVALID_INPUT",
            ("successfulSnapshots", "weekly"),
        ),
        ({"failed_snapshots_last": -2}, "INVALID_INPUT", ("failedSnapshotsLast",)),
        ({"is_default": True}, "DEFAULT_ALREADY_SET", ("isDefault",)),
        ({"name": "keep-30d"}, "TARGET_EXISTS", ("name",)),
        ({"name": "Keep"}, "INVALID_INPUT", ("name",)),
    ],
)
def test_retention_refusals(
    store: MemoryStore, changes: dict[str, Any], code: str, field: tuple[str, ...]
) -> None:
    error = only_error(plan_create_retention_policy(retention(**changes), store=store, cluster=C))
    assert (error.code, error.field) == (code, field)


def test_update_retention(store: MemoryStore) -> None:
    inp = UpdateRetentionPolicy(retention_policy=ref("kubedb", "keep-1y"), failed_snapshots_last=4)
    (change,) = ok(plan_update_retention_policy(inp, store=store, cluster=C)).changes
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"]["failedSnapshots"] == {"last": 4}
    assert change.body["spec"]["maxRetentionPeriod"] == "30d"
    assert change.body["spec"]["successfulSnapshots"] == {"last": 5, "daily": 7, "weekly": 4}

    same = UpdateRetentionPolicy(
        retention_policy=ref("kubedb", "keep-1y"), max_retention_period="30d"
    )
    (change,) = ok(plan_update_retention_policy(same, store=store, cluster=C)).changes
    assert change.action == "NONE"

    missing = UpdateRetentionPolicy(retention_policy=ref("kubedb", "gone"))
    assert codes(plan_update_retention_policy(missing, store=store, cluster=C)) == ["NOT_FOUND"]
    second = UpdateRetentionPolicy(retention_policy=ref("kubedb", "keep-1y"), is_default=True)
    assert codes(plan_update_retention_policy(second, store=store, cluster=C)) == [
        "DEFAULT_ALREADY_SET"
    ]


# ------------------------------------------------------------- backup policy


def policy(**kw: Any) -> CreateBackupPolicy:
    args: dict[str, Any] = {
        "namespace": "kubedb",
        "name": "pg-daily",
        "database_kinds": ["Postgres"],
        "sessions": [
            BackupPolicySession(name="daily", methods=["LOGICAL"], schedule="0 2 * * *"),
            BackupPolicySession(
                name="weekly",
                methods=["PHYSICAL", "VOLUME_SNAPSHOT"],
                schedule="0 3 * * 0",
                user_may_set_schedule=False,
            ),
        ],
        "storage": ref("kubedb", "s3-main"),
        "encryption": Encryption(secret=ref("kubedb", "restic-pass")),
    }
    args.update(kw)
    return CreateBackupPolicy(**args)


def test_backup_policy_is_the_blueprint_of_the_shared_encoding(store: MemoryStore) -> None:
    (change,) = ok(plan_create_backup_policy(policy(), store=store, cluster=C)).changes
    assert (change.kind, change.api_version) == ("BackupBlueprint", "core.kubestash.com/v1alpha1")
    assert change.body is not None
    assert change.body["metadata"] == {
        "name": "pg-daily",
        "namespace": "kubedb",
        "labels": {"app.kubernetes.io/managed-by": "stashql"},
    }
    secret = {"namespace": "kubedb", "name": "restic-pass"}
    assert change.body["spec"] == {
        "subjects": [{"apiVersion": "kubedb.com/v1", "kind": "Postgres"}],
        "backupConfigurationTemplate": {
            "backends": [
                {
                    "name": "default",
                    "storageRef": {"namespace": "kubedb", "name": "s3-main"},
                    # No retention given: the namespace default at creation.
                    "retentionPolicy": {"namespace": "kubedb", "name": "keep-30d"},
                }
            ],
            "sessions": [
                {
                    "name": "daily",
                    "scheduler": {"schedule": "${schedule:=0 2 * * *}", "jobTemplate": {}},
                    "sessionHistoryLimit": 3,
                    "repositories": [
                        {
                            "name": "${targetName}-daily",
                            "backend": "default",
                            "directory": "/${targetNamespace}/${targetName}/daily",
                            "encryptionSecret": secret,
                        }
                    ],
                    "addon": {
                        "name": "${addon}",
                        "tasks": [{"name": "logical-backup"}, {"name": "manifest-backup"}],
                    },
                },
                {
                    "name": "weekly",
                    "scheduler": {"schedule": "0 3 * * 0", "jobTemplate": {}},
                    "sessionHistoryLimit": 3,
                    "repositories": [
                        {
                            "name": "${targetName}-weekly",
                            "backend": "default",
                            "directory": "/${targetNamespace}/${targetName}/weekly",
                            "encryptionSecret": secret,
                        }
                    ],
                    "addon": {
                        "name": "${addon}",
                        "tasks": [
                            {"name": "physical-backup"},
                            {"name": "volume-snapshot"},
                            {"name": "manifest-backup"},
                        ],
                    },
                },
            ],
        },
    }
    assert change.summary == (
        "Create BackupPolicy (BackupBlueprint) kubedb/pg-daily for Postgres with sessions "
        "daily and weekly on BackupStorage kubedb/s3-main, usable from its own namespace"
    )


def test_backup_policy_choices_become_placeholders(store: MemoryStore) -> None:
    plan = plan_create_backup_policy(
        policy(
            retention_policy=ref("kubedb", "keep-1y"),
            user_may_choose_retention=True,
            user_may_use_own_storage=True,
            encryption=Encryption(password=SECRET_VALUE),
            usage=UsagePolicy(from_="ALL"),
        ),
        store=store,
        cluster=C,
    )
    secret, blueprint = ok(plan).changes
    assert (secret.kind, secret.name) == ("Secret", "pg-daily-encryption")
    assert secret.body is not None
    assert secret.body["stringData"] == {"RESTIC_PASSWORD": SECRET_VALUE}
    assert SECRET_VALUE not in secret.summary + blueprint.summary
    assert SECRET_VALUE not in repr(Encryption(password=SECRET_VALUE))
    assert blueprint.body is not None
    spec = blueprint.body["spec"]
    assert spec["usagePolicy"] == {"allowedNamespaces": {"from": "All"}}
    (backend,) = spec["backupConfigurationTemplate"]["backends"]
    assert backend["storageRef"] == {
        "name": "${storage:=s3-main}",
        "namespace": "${storageNamespace:=kubedb}",
    }
    assert backend["retentionPolicy"] == {
        "name": "${retentionPolicy:=keep-1y}",
        "namespace": "${retentionPolicyNamespace:=kubedb}",
    }
    repo = spec["backupConfigurationTemplate"]["sessions"][0]["repositories"][0]
    assert repo["encryptionSecret"] == {"namespace": "kubedb", "name": "pg-daily-encryption"}


def test_backup_policy_without_any_default_retention_leaves_it_out() -> None:
    store = MemoryStore([PG_ADDON, o.backup_storage("s3-main", "kubedb")])
    (change,) = ok(plan_create_backup_policy(policy(), store=store, cluster=C)).changes
    assert change.body is not None
    (backend,) = change.body["spec"]["backupConfigurationTemplate"]["backends"]
    assert "retentionPolicy" not in backend


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        (
            {
                "sessions": [
                    BackupPolicySession(name="d", methods=["LOGICAL"], schedule="0 25 * * *")
                ]
            },
            "INVALID_SCHEDULE",
            ("sessions", "0", "schedule"),
        ),
        (
            {
                "database_kinds": ["MongoDB"],
                "sessions": [
                    BackupPolicySession(name="d", methods=["PHYSICAL"], schedule="@daily")
                ],
            },
            "METHOD_NOT_AVAILABLE",
            ("sessions", "0", "methods", "0"),
        ),
        (
            {
                "sessions": [
                    BackupPolicySession(name="d", methods=["CONTINUOUS"], schedule="@daily")
                ]
            },
            "METHOD_NOT_AVAILABLE",
            ("sessions", "0", "methods", "0"),
        ),
        ({"database_kinds": ["Redis"]}, "METHOD_NOT_AVAILABLE", ("databaseKinds",)),
        ({"database_kinds": []}, "INVALID_INPUT", ("databaseKinds",)),
        ({"sessions": []}, "INVALID_INPUT", ("sessions",)),
        (
            {"sessions": [BackupPolicySession(name="d", methods=[], schedule="@daily")]},
            "INVALID_INPUT",
            ("sessions", "0", "methods"),
        ),
        ({"storage": ref("kubedb", "missing")}, "NOT_FOUND", ("storage",)),
        (
            {"storage": ref("kubedb", "s3-main", kind="Secret")},
            "INVALID_INPUT",
            ("storage", "kind"),
        ),
        ({"retention_policy": ref("kubedb", "missing")}, "NOT_FOUND", ("retentionPolicy",)),
        ({"encryption": Encryption()}, "INVALID_INPUT", ("encryption",)),
        (
            {"encryption": Encryption(secret=ref("kubedb", "x"), password="p")},
            "INVALID_INPUT",
            ("encryption",),
        ),
        (
            {"usage": UsagePolicy(from_="SELECTOR", namespaces=[])},
            "INVALID_INPUT",
            ("usage", "namespaces"),
        ),
    ],
)
def test_backup_policy_refusals(
    store: MemoryStore, changes: dict[str, Any], code: str, field: tuple[str, ...]
) -> None:
    error = only_error(plan_create_backup_policy(policy(**changes), store=store, cluster=C))
    assert (error.code, error.field) == (code, field)


def test_backup_policy_name_taken(store: MemoryStore) -> None:
    store.put(
        o.blueprint("pg-daily", "kubedb", storage=("kubedb", "s3-main"), retention=("kubedb", "x"))
    )
    error = only_error(plan_create_backup_policy(policy(), store=store, cluster=C))
    assert error.code == "TARGET_EXISTS"


def made_policy(store: MemoryStore, **kw: Any) -> JSONDict:
    (change,) = ok(plan_create_backup_policy(policy(**kw), store=store, cluster=C)).changes
    assert change.body is not None
    store.put(change.body)
    return change.body


def test_update_backup_policy_names_the_configurations_made_from_it(store: MemoryStore) -> None:
    made_policy(store)
    db = o.database("Postgres", "orders", "team-a")
    store.put(
        o.backup_configuration(
            "orders-backup",
            db,
            storage=("kubedb", "s3-main"),
            retention=("kubedb", "keep-30d"),
            labels={
                "kubestash.com/invoker-name": "pg-daily",
                "kubestash.com/invoker-namespace": "kubedb",
            },
        )
    )
    inp = UpdateBackupPolicy(
        backup_policy=ref("kubedb", "pg-daily"),
        sessions=[BackupPolicySession(name="hourly", methods=["LOGICAL"], schedule="0 * * * *")],
        user_may_use_own_storage=True,
    )
    plan = ok(plan_update_backup_policy(inp, store=store, cluster=C))
    (change,) = plan.changes
    assert change.action == "PATCH"
    assert change.body is not None
    template = change.body["spec"]["backupConfigurationTemplate"]
    assert [s["name"] for s in template["sessions"]] == ["hourly"]
    assert template["sessions"][0]["repositories"][0]["encryptionSecret"] == {
        "namespace": "kubedb",
        "name": "restic-pass",
    }
    assert template["backends"][0]["storageRef"]["name"] == "${storage:=s3-main}"
    assert template["backends"][0]["retentionPolicy"] == {"namespace": "kubedb", "name": "keep-30d"}
    assert change.body["spec"]["subjects"] == [{"apiVersion": "kubedb.com/v1", "kind": "Postgres"}]
    (warning,) = plan.warnings
    assert warning.code == "EXISTING_CONFIGURATIONS_UNCHANGED"
    assert "team-a/orders-backup" in warning.message


def test_update_backup_policy_cases(store: MemoryStore) -> None:
    made_policy(store, user_may_use_own_storage=True)
    same = UpdateBackupPolicy(
        backup_policy=ref("kubedb", "pg-daily"),
        user_may_use_own_storage=True,
        storage=ref("kubedb", "s3-main"),
    )
    plan = ok(plan_update_backup_policy(same, store=store, cluster=C))
    assert [c.action for c in plan.changes] == ["NONE"]
    assert not plan.warnings

    kinds = UpdateBackupPolicy(backup_policy=ref("kubedb", "pg-daily"), database_kinds=["MongoDB"])
    plan = plan_update_backup_policy(kinds, store=store, cluster=C)
    # The weekly session's PHYSICAL and VOLUME_SNAPSHOT: mongodb-addon has neither.
    assert [(e.code, e.field) for e in plan.errors] == [
        ("METHOD_NOT_AVAILABLE", ("databaseKinds",))
    ] * 2
    assert not plan.changes

    retention = UpdateBackupPolicy(
        backup_policy=ref("kubedb", "pg-daily"), retention_policy=ref("kubedb", "nope")
    )
    assert codes(plan_update_backup_policy(retention, store=store, cluster=C)) == ["NOT_FOUND"]
    missing = UpdateBackupPolicy(backup_policy=ref("kubedb", "nope"))
    assert codes(plan_update_backup_policy(missing, store=store, cluster=C)) == ["NOT_FOUND"]
    schedule = UpdateBackupPolicy(
        backup_policy=ref("kubedb", "pg-daily"),
        sessions=[BackupPolicySession(name="x", methods=["LOGICAL"], schedule="@every 1h")],
    )
    assert codes(plan_update_backup_policy(schedule, store=store, cluster=C)) == [
        "INVALID_SCHEDULE"
    ]


# ------------------------------------------------------------- hook template


def hook(**kw: Any) -> CreateHookTemplate:
    args: dict[str, Any] = {
        "namespace": "kubedb",
        "name": "row-count",
        "action": {"exec": {"command": ["/bin/sh", "-c", "psql -c 'select 1'"]}},
        "executor": HookExecutor(
            type="POD", pod_selector="app.kubernetes.io/instance=mydb", on_all_pods=True
        ),
        "params": [HookParameter(name="table", usage="Table to count", required=True)],
        "usage": UsagePolicy(from_="ALL"),
    }
    args.update(kw)
    return CreateHookTemplate(**args)


def test_hook_template_body(store: MemoryStore) -> None:
    (change,) = ok(plan_create_hook_template(hook(), store=store, cluster=C)).changes
    assert change.body is not None
    assert change.body["spec"] == {
        "action": {"exec": {"command": ["/bin/sh", "-c", "psql -c 'select 1'"]}},
        "executor": {
            "type": "Pod",
            "pod": {"selector": "app.kubernetes.io/instance=mydb", "strategy": "ExecuteOnAll"},
        },
        "params": [{"name": "table", "required": True, "usage": "Table to count"}],
        "usagePolicy": {"allowedNamespaces": {"from": "All"}},
    }
    assert change.summary == (
        "Create HookTemplate kubedb/row-count that runs in every pod matching "
        "app.kubernetes.io/instance=mydb, usable from every namespace"
    )
    fn = plan_create_hook_template(
        hook(executor=HookExecutor(type="FUNCTION", function="pg-check"), params=None),
        store=store,
        cluster=C,
    )
    (change,) = ok(fn).changes
    assert change.body is not None
    assert change.body["spec"]["executor"] == {"type": "Function", "function": {"name": "pg-check"}}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"executor": HookExecutor(type="FUNCTION")}, ("executor", "function")),
        ({"executor": HookExecutor(type="POD")}, ("executor", "podSelector")),
        (
            {"executor": HookExecutor(type="POD", pod_selector="a in (")},
            ("executor", "podSelector"),
        ),
        ({"executor": HookExecutor(type="OPERATOR", function="f")}, ("executor", "function")),
        ({"action": {"exec": {}, "httpGet": {}}}, ("action",)),
        ({"action": "echo hi"}, ("action",)),
        ({"params": [HookParameter(name="a"), HookParameter(name="a")]}, ("params", "1", "name")),
    ],
)
def test_hook_template_refusals(
    store: MemoryStore, changes: dict[str, Any], field: tuple[str, ...]
) -> None:
    error = only_error(plan_create_hook_template(hook(**changes), store=store, cluster=C))
    assert (error.code, error.field) == ("INVALID_INPUT", field)


def test_update_hook_template(store: MemoryStore) -> None:
    (change,) = ok(plan_create_hook_template(hook(), store=store, cluster=C)).changes
    assert change.body is not None
    store.put(change.body)
    assert codes(plan_create_hook_template(hook(), store=store, cluster=C)) == ["TARGET_EXISTS"]

    inp = UpdateHookTemplate(
        hook_template=ref("kubedb", "row-count"), executor=HookExecutor(type="OPERATOR")
    )
    (change,) = ok(plan_update_hook_template(inp, store=store, cluster=C)).changes
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"]["executor"] == {"type": "Operator"}
    assert change.body["spec"]["params"][0]["name"] == "table"

    same = UpdateHookTemplate(
        hook_template=ref("kubedb", "row-count"), usage=UsagePolicy(from_="ALL")
    )
    assert [c.action for c in plan_update_hook_template(same, store=store, cluster=C).changes] == [
        "NONE"
    ]
    missing = UpdateHookTemplate(hook_template=ref("kubedb", "nope"))
    assert codes(plan_update_hook_template(missing, store=store, cluster=C)) == ["NOT_FOUND"]
    bad = UpdateHookTemplate(
        hook_template=ref("kubedb", "row-count"), executor=HookExecutor(type="POD")
    )
    assert codes(plan_update_hook_template(bad, store=store, cluster=C)) == ["INVALID_INPUT"]


# ----------------------------------------------------------- archiver policy


def archiver(**kw: Any) -> CreateArchiverPolicy:
    args: dict[str, Any] = {
        "namespace": "kubedb",
        "name": "pg-pitr",
        "database_kind": "Postgres",
        "storage": ref("kubedb", "s3-main"),
        "encryption": Encryption(secret=ref("kubedb", "restic-pass")),
        "full_backup_schedule": "0 1 * * *",
        "volume_snapshot_class": "csi-snapclass",
        "usage": UsagePolicy(from_="ALL"),
        "database_selector": {"matchLabels": {"archiver": "true"}},
    }
    args.update(kw)
    return CreateArchiverPolicy(**args)


def test_archiver_policy_body_and_the_databases_it_may_restart(store: MemoryStore) -> None:
    store.put(o.database("Postgres", "orders", "team-a", labels={"archiver": "true"}))
    store.put(o.database("Postgres", "plain", "team-a"))
    store.put(
        o.database("Postgres", "taken", "team-a", labels={"archiver": "true"}, archiver=("x", "y"))
    )
    plan = ok(plan_create_archiver_policy(archiver(), store=store, cluster=C))
    (change,) = plan.changes
    assert (change.kind, change.api_version) == (
        "PostgresArchiver",
        "archiver.kubedb.com/v1alpha1",
    )
    assert change.body is not None
    assert change.body["spec"] == {
        "databases": {
            "namespaces": {"from": "All"},
            "selector": {"matchLabels": {"archiver": "true"}},
        },
        "pause": False,
        "backupStorage": {"ref": {"namespace": "kubedb", "name": "s3-main"}},
        "encryptionSecret": {"namespace": "kubedb", "name": "restic-pass"},
        "deletionPolicy": "Delete",
        "fullBackup": {
            "driver": "VolumeSnapshotter",
            "task": {"params": {"volumeSnapshotClassName": "csi-snapclass"}},
            "scheduler": {"schedule": "0 1 * * *"},
        },
        "manifestBackup": {"scheduler": {"schedule": "0 1 * * *"}},
        "retentionPolicy": {"namespace": "kubedb", "name": "keep-30d"},
        "logBackup": {"retentionPeriod": "1y"},
    }
    assert "team-a/orders" in change.summary
    (warning,) = plan.warnings
    assert warning.code == "DATABASE_UNAVAILABLE_DURING_SETUP"
    assert "team-a/orders" in warning.message
    assert "plain" not in warning.message
    assert "taken" not in warning.message


def test_archiver_same_namespace_admits_no_database_elsewhere(store: MemoryStore) -> None:
    store.put(o.database("Postgres", "orders", "team-a"))
    plan = plan_create_archiver_policy(
        archiver(
            usage=None,
            database_selector=None,
            full_backup_method="PHYSICAL",
            volume_snapshot_class=None,
            deletion_policy="RETAIN",
        ),
        store=store,
        cluster=C,
    )
    (change,) = ok(plan).changes
    assert not plan.warnings
    assert change.body is not None
    assert change.body["spec"]["databases"] == {"selector": {}}
    assert change.body["spec"]["fullBackup"]["driver"] == "Restic"
    assert change.body["spec"]["deletionPolicy"] == "Retain"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"database_kind": "Redis"}, "INVALID_INPUT", ("databaseKind",)),
        ({"full_backup_schedule": "daily"}, "INVALID_SCHEDULE", ("fullBackupSchedule",)),
        ({"log_retention_period": "6mo"}, "INVALID_INPUT", ("logRetentionPeriod",)),
        ({"database_kind": "MongoDB"}, "METHOD_NOT_AVAILABLE", ("fullBackupMethod",)),
        (
            {"full_backup_method": "LOGICAL", "volume_snapshot_class": None},
            "METHOD_NOT_AVAILABLE",
            ("fullBackupMethod",),
        ),
        ({"full_backup_method": "PHYSICAL"}, "INVALID_INPUT", ("volumeSnapshotClass",)),
        ({"storage": ref("kubedb", "gone")}, "NOT_FOUND", ("storage",)),
        ({"retention_policy": ref("kubedb", "gone")}, "NOT_FOUND", ("retentionPolicy",)),
        ({"encryption": Encryption()}, "INVALID_INPUT", ("encryption",)),
        ({"database_selector": {"matchLabels": "x"}}, "INVALID_INPUT", ("databaseSelector",)),
        ({"deletion_policy": "KEEP"}, "INVALID_INPUT", ("deletionPolicy",)),
    ],
)
def test_archiver_refusals(
    store: MemoryStore, changes: dict[str, Any], code: str, field: tuple[str, ...]
) -> None:
    error = only_error(plan_create_archiver_policy(archiver(**changes), store=store, cluster=C))
    assert (error.code, error.field) == (code, field)


def test_update_archiver_policy(store: MemoryStore) -> None:
    store.put(
        o.archiver(
            "Postgres",
            "pg-pitr",
            "kubedb",
            storage=("kubedb", "s3-main"),
            retention=("kubedb", "keep-30d"),
        )
    )
    assert codes(plan_create_archiver_policy(archiver(), store=store, cluster=C)) == [
        "TARGET_EXISTS"
    ]
    pause = UpdateArchiverPolicy(
        archiver_policy=ref("kubedb", "pg-pitr"), paused=True, log_retention_period="30d"
    )
    (change,) = ok(plan_update_archiver_policy(pause, store=store, cluster=C)).changes
    assert (change.action, change.kind) == ("PATCH", "PostgresArchiver")
    assert change.body is not None
    spec = change.body["spec"]
    assert spec["pause"] is True
    assert spec["logBackup"]["retentionPeriod"] == "30d"
    assert spec["fullBackup"]["scheduler"]["schedule"] == "0 0 * * *"
    assert spec["deletionPolicy"] == "WipeOut"

    same = UpdateArchiverPolicy(
        archiver_policy=ref("kubedb", "pg-pitr", kind="PostgresArchiver"), paused=False
    )
    assert [
        c.action for c in plan_update_archiver_policy(same, store=store, cluster=C).changes
    ] == ["NONE"]
    missing = UpdateArchiverPolicy(archiver_policy=ref("kubedb", "gone"))
    assert codes(plan_update_archiver_policy(missing, store=store, cluster=C)) == ["NOT_FOUND"]
    schedule = UpdateArchiverPolicy(
        archiver_policy=ref("kubedb", "pg-pitr"), full_backup_schedule="* * *"
    )
    assert codes(plan_update_archiver_policy(schedule, store=store, cluster=C)) == [
        "INVALID_SCHEDULE"
    ]
    bad_kind = UpdateArchiverPolicy(archiver_policy=ref("kubedb", "pg-pitr", kind="Redis"))
    assert codes(plan_update_archiver_policy(bad_kind, store=store, cluster=C)) == ["INVALID_INPUT"]


# ------------------------------------------------------------------- delete


def delete(kind: str, namespace: str, name: str, ref_kind: str | None = None) -> DeletePolicyObject:
    return DeletePolicyObject(kind=kind, object=ref(namespace, name, ref_kind))


def test_delete_storage_in_use_names_every_kind_of_user(store: MemoryStore) -> None:
    db = o.database("Postgres", "orders", "team-a")
    store.put(o.repository(db, "orders-repo", storage=("kubedb", "s3-main")))
    store.put(
        o.backup_configuration(
            "orders-backup", db, storage=("kubedb", "s3-main"), retention=("kubedb", "keep-30d")
        )
    )
    made_policy(store, user_may_use_own_storage=True)  # storageRef ${storage:=s3-main}
    store.put(
        o.archiver(
            "MySQL",
            "my-pitr",
            "kubedb",
            storage=("kubedb", "s3-main"),
            retention=("kubedb", "keep-30d"),
        )
    )
    error = only_error(
        plan_delete_policy_object(
            delete("BACKUP_STORAGE", "kubedb", "s3-main"), store=store, cluster=C
        )
    )
    assert error.code == "IN_USE"
    for user in (
        "Repository team-a/orders-repo",
        "BackupConfiguration team-a/orders-backup",
        "BackupBlueprint kubedb/pg-daily",
        "MySQLArchiver kubedb/my-pitr",
    ):
        assert user in error.message

    retention = plan_delete_policy_object(
        delete("RETENTION_POLICY", "kubedb", "keep-30d"), store=store, cluster=C
    )
    assert codes(retention) == ["IN_USE"]
    assert "MySQLArchiver kubedb/my-pitr" in retention.errors[0].message


def test_delete_wipe_out_storage_warns_that_data_goes(store: MemoryStore) -> None:
    gone = o.backup_storage("old", "kubedb")
    gone["spec"]["deletionPolicy"] = "WipeOut"
    store.put(gone)
    plan = ok(
        plan_delete_policy_object(delete("BACKUP_STORAGE", "kubedb", "old"), store=store, cluster=C)
    )
    (change,) = plan.changes
    assert (change.action, change.kind, change.body) == ("DELETE", "BackupStorage", gone)
    assert [w.code for w in plan.warnings] == ["BACKUP_DATA_DELETED"]


def test_delete_other_kinds(store: MemoryStore) -> None:
    made_policy(store)
    plan = ok(
        plan_delete_policy_object(
            delete("BACKUP_POLICY", "kubedb", "pg-daily"), store=store, cluster=C
        )
    )
    assert [(c.action, c.kind) for c in plan.changes] == [("DELETE", "BackupBlueprint")]
    assert not plan.warnings
    plain = plan_delete_policy_object(
        delete("RETENTION_POLICY", "kubedb", "keep-1y"), store=store, cluster=C
    )
    assert [c.action for c in ok(plain).changes] == ["DELETE"]

    (change,) = ok(plan_create_hook_template(hook(), store=store, cluster=C)).changes
    assert change.body is not None
    store.put(change.body)
    db = o.database("Postgres", "orders", "team-a")
    session = o.restore_session("orders-restore", db, repository="orders-repo")
    session["spec"]["hooks"] = {
        "postRestore": [
            {"name": "check", "hookTemplate": {"namespace": "kubedb", "name": "row-count"}}
        ]
    }
    store.put(session)
    hooked = plan_delete_policy_object(
        delete("HOOK_TEMPLATE", "kubedb", "row-count"), store=store, cluster=C
    )
    assert codes(hooked) == ["IN_USE"]
    assert "RestoreSession team-a/orders-restore" in hooked.errors[0].message

    store.put(
        o.archiver(
            "Postgres",
            "pg-pitr",
            "kubedb",
            storage=("kubedb", "s3-main"),
            retention=("kubedb", "keep-30d"),
        )
    )
    store.put(o.database("Postgres", "ledger", "team-a", archiver=("kubedb", "pg-pitr")))
    used = plan_delete_policy_object(
        delete("ARCHIVER_POLICY", "kubedb", "pg-pitr"), store=store, cluster=C
    )
    assert codes(used) == ["IN_USE"]
    assert "Postgres team-a/ledger" in used.errors[0].message

    store.put(
        o.archiver(
            "MongoDB",
            "mg-pitr",
            "kubedb",
            storage=("kubedb", "s3-main"),
            retention=("kubedb", "keep-30d"),
        )
    )
    free = plan_delete_policy_object(
        delete("ARCHIVER_POLICY", "kubedb", "mg-pitr", "MongoDBArchiver"), store=store, cluster=C
    )
    assert [(c.action, c.kind) for c in ok(free).changes] == [("DELETE", "MongoDBArchiver")]

    missing = plan_delete_policy_object(
        delete("HOOK_TEMPLATE", "kubedb", "gone"), store=store, cluster=C
    )
    assert codes(missing) == ["NOT_FOUND"]
    assert codes(
        plan_delete_policy_object(delete("SECRET", "kubedb", "x"), store=store, cluster=C)
    ) == ["INVALID_INPUT"]


def test_retention_choice_needs_a_default_to_offer() -> None:
    store = MemoryStore([PG_ADDON, o.backup_storage("s3-main", "kubedb")])
    error = only_error(
        plan_create_backup_policy(policy(user_may_choose_retention=True), store=store, cluster=C)
    )
    assert (error.code, error.field) == ("INVALID_INPUT", ("retentionPolicy",))


def test_new_credentials_on_a_used_storage_are_no_move(store: MemoryStore) -> None:
    db = o.database("Postgres", "orders", "team-a")
    store.put(o.repository(db, "orders-repo", storage=("kubedb", "s3-main")))
    inp = UpdateBackupStorage(
        backup_storage=ref("kubedb", "s3-main"),
        location=StorageLocation(
            bucket="stashql-backups",
            prefix="prod",
            endpoint="https://s3.eu-west-1.amazonaws.com",
            region="eu-west-1",
        ),
        credentials=StorageCredentials(secret_name="rotated"),
    )
    (change,) = ok(plan_update_backup_storage(inp, store=store, cluster=C)).changes
    assert change.action == "PATCH"
    assert change.body is not None
    assert change.body["spec"]["storage"]["s3"]["secretName"] == "rotated"
    assert "(credentials)" in change.summary


def test_clickhouse_archivers_take_physical_full_backups_without_log_shipping(
    store: MemoryStore,
) -> None:
    refused = plan_create_archiver_policy(
        archiver(database_kind="ClickHouse", volume_snapshot_class=None), store=store, cluster=C
    )
    assert codes(refused) == ["METHOD_NOT_AVAILABLE"]
    plan = plan_create_archiver_policy(
        archiver(
            database_kind="clickhouse", full_backup_method="PHYSICAL", volume_snapshot_class=None
        ),
        store=store,
        cluster=C,
    )
    (change,) = ok(plan).changes
    assert change.kind == "ClickHouseArchiver"
    assert change.body is not None
    assert change.body["spec"]["fullBackup"]["driver"] == "ClickHouseBackup"
    assert "logBackup" not in change.body["spec"]
