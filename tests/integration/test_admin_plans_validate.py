"""Every object the admin planners plan is one the real API server accepts.

Each successful plan's CREATE and PATCH bodies are sent to a sandbox kube-apiserver as
admin with ``dryRun=All`` (server-side apply, field manager ``stashql``), the way the
engine checks them. The CRDs (``sandbox/crds``) validate types, enums and patterns, and
prune fields they do not declare, so a body that comes back with every field it sent is
one KubeStash and KubeDB would read as the planner meant.
"""

from __future__ import annotations

from typing import Any

import pytest

from apis.resources import (
    BACKUP_BLUEPRINTS,
    BACKUP_STORAGES,
    HOOK_TEMPLATES,
    RETENTION_POLICIES,
    archiver,
)
from kube.client import ApiError, KubeClient
from resolvers.writes.admin import (
    plan_create_archiver_policy,
    plan_create_backup_policy,
    plan_create_backup_storage,
    plan_create_hook_template,
    plan_create_retention_policy,
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
from resolvers.writes.plan import Change, JSONDict, Plan
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import ensure_namespace, kube_http, seed
from tests.unit.test_admin_plans import MG_ADDON, PG_ADDON, MemoryStore

pytestmark = pytest.mark.sandbox

C = "c1"


def contains(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``actual`` lacks or differs from what ``expected`` holds (empty: it holds all)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return [
            problem
            for key, value in expected.items()
            for problem in (
                contains(actual[key], value, f"{path}.{key}")
                if key in actual
                else [f"{path}.{key}: pruned or missing"]
            )
        ]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return [
            p
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for p in contains(a, e, f"{path}[{i}]")
        ]
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


def ref(namespace: str, name: str) -> ObjectRef:
    return ObjectRef(namespace=namespace, name=name)


def existing(ns: str) -> list[JSONDict]:
    """What the updates change, as they would be in the cluster."""
    return [
        o.backup_storage("s3-main", ns, scope="All"),
        o.retention_policy("keep-30d", ns, scope="All", default=True),
        o.retention_policy("keep-1y", ns),
        o.blueprint("pg-old", ns, storage=(ns, "s3-main"), retention=(ns, "keep-30d")),
        o.archiver("Postgres", "pg-old", ns, storage=(ns, "s3-main"), retention=(ns, "keep-30d")),
        {
            "apiVersion": "core.kubestash.com/v1alpha1",
            "kind": "HookTemplate",
            "metadata": {"name": "check-old", "namespace": ns},
            "spec": {"action": {"exec": {"command": ["true"]}}, "executor": {"type": "Operator"}},
        },
    ]


def plans(ns: str, store: MemoryStore) -> list[Plan]:
    enc = Encryption(secret=ref(ns, "restic-pass"))
    storages = [
        CreateBackupStorage(
            namespace=ns,
            name="s3-new",
            provider="S3",
            location=StorageLocation(
                bucket="b", prefix="team-a/", endpoint="https://minio:9000", region="eu-west-1"
            ),
            credentials=StorageCredentials(access_key_id="AKIA", secret_access_key="secret"),
            usage=UsagePolicy(from_="SELECTOR", namespaces=["team-a", "team-b"]),
        ),
        CreateBackupStorage(
            namespace=ns,
            name="gcs-new",
            provider="GCS",
            location=StorageLocation(bucket="b"),
            credentials=StorageCredentials(project_id="p", service_account_key='{"a": 1}'),
            deletion_policy="WIPE_OUT",
        ),
        CreateBackupStorage(
            namespace=ns,
            name="azure-new",
            provider="AZURE",
            location=StorageLocation(storage_account="acct", bucket="c", prefix="x"),
            usage=UsagePolicy(from_="ALL"),
        ),
        CreateBackupStorage(
            namespace=ns,
            name="local-new",
            provider="LOCAL",
            location=StorageLocation(
                volume={"persistentVolumeClaim": {"claimName": "backups"}},
                mount_path="/safe",
                sub_path="team-a",
            ),
        ),
    ]
    out = [plan_create_backup_storage(i, store=store, cluster=C) for i in storages]
    out.append(
        plan_update_backup_storage(
            UpdateBackupStorage(
                backup_storage=ref(ns, "s3-main"),
                credentials=StorageCredentials(secret_name="other-secret"),
                deletion_policy="WIPE_OUT",
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_create_retention_policy(
            CreateRetentionPolicy(
                namespace=ns,
                name="keep-long",
                max_retention_period="1y2mo3w4d5h6m",
                successful_snapshots=RetentionCounts(
                    last=1, hourly=2, daily=3, weekly=4, monthly=5, yearly=6
                ),
                failed_snapshots_last=0,
                usage=UsagePolicy(from_="ALL"),
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_update_retention_policy(
            UpdateRetentionPolicy(
                retention_policy=ref(ns, "keep-1y"),
                max_retention_period="6mo",
                successful_snapshots=RetentionCounts(monthly=6),
            ),
            store=store,
            cluster=C,
        )
    )
    sessions = [
        BackupPolicySession(name="daily", methods=["LOGICAL"], schedule="0 2 * * *"),
        BackupPolicySession(
            name="weekly",
            methods=["PHYSICAL", "VOLUME_SNAPSHOT"],
            schedule="0 3 * * 0",
            user_may_set_schedule=False,
        ),
    ]
    out.append(
        plan_create_backup_policy(
            CreateBackupPolicy(
                namespace=ns,
                name="pg-daily",
                database_kinds=["Postgres"],
                sessions=sessions,
                storage=ref(ns, "s3-main"),
                encryption=Encryption(password="correct horse"),
                user_may_choose_retention=True,
                user_may_use_own_storage=True,
                usage=UsagePolicy(from_="SELECTOR", selector={"matchLabels": {"team": "a"}}),
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_update_backup_policy(
            UpdateBackupPolicy(
                backup_policy=ref(ns, "pg-old"),
                database_kinds=["Postgres", "MongoDB"],
                sessions=sessions[:1],
                retention_policy=ref(ns, "keep-1y"),
                user_may_choose_retention=True,
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_create_hook_template(
            CreateHookTemplate(
                namespace=ns,
                name="row-count",
                action={"httpGet": {"path": "/healthz", "port": 8080}},
                executor=HookExecutor(type="POD", pod_selector="app in (db)", on_all_pods=True),
                params=[HookParameter(name="table", usage="t", required=True, default="x")],
                usage=UsagePolicy(from_="ALL"),
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_create_hook_template(
            CreateHookTemplate(
                namespace=ns,
                name="fn-hook",
                action={"exec": {"command": ["true"]}},
                executor=HookExecutor(type="FUNCTION", function="pg-check"),
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_update_hook_template(
            UpdateHookTemplate(
                hook_template=ref(ns, "check-old"),
                executor=HookExecutor(type="POD", pod_selector="app=db"),
                params=[HookParameter(name="p")],
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_create_archiver_policy(
            CreateArchiverPolicy(
                namespace=ns,
                name="pg-pitr",
                database_kind="Postgres",
                storage=ref(ns, "s3-main"),
                encryption=enc,
                full_backup_schedule="0 1 * * *",
                volume_snapshot_class="csi",
                log_retention_period="30d",
                usage=UsagePolicy(from_="ALL"),
                database_selector={"matchExpressions": [{"key": "archiver", "operator": "Exists"}]},
                deletion_policy="WIPE_OUT",
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_create_archiver_policy(
            CreateArchiverPolicy(
                namespace=ns,
                name="my-pitr",
                database_kind="MySQL",
                storage=ref(ns, "s3-main"),
                retention_policy=ref(ns, "keep-1y"),
                encryption=Encryption(password="pw"),
                full_backup_schedule="@daily",
                full_backup_method="PHYSICAL",
                deletion_policy="RETAIN",
            ),
            store=store,
            cluster=C,
        )
    )
    out.append(
        plan_update_archiver_policy(
            UpdateArchiverPolicy(
                archiver_policy=ref(ns, "pg-old"),
                paused=True,
                full_backup_schedule="30 4 * * *",
                log_retention_period="2w",
                usage=UsagePolicy(from_="SAME"),
                database_selector={},
            ),
            store=store,
            cluster=C,
        )
    )
    return out


async def dry_run(client: KubeClient, change: Change) -> JSONDict:
    assert change.body is not None
    path = change.resource.path(namespace=change.namespace, name=change.name)
    return await client.apply(path, change.body, field_manager="stashql", params={"dryRun": "All"})


async def test_every_planned_admin_object_passes_the_api_servers_validation(
    sandbox: Sandbox, unique: str
) -> None:
    ns = f"admin-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    current = existing(ns)
    await seed(sandbox, current)
    my_addon = o.addon("mysql-addon", ("physical-backup", "manifest-backup"), ())
    store = MemoryStore([PG_ADDON, MG_ADDON, my_addon, *current])
    planned = plans(ns, store)
    for plan in planned:
        assert not plan.errors, plan.errors
    changes = [c for p in planned for c in p.changes if c.action in ("CREATE", "PATCH")]
    kinds = {c.kind for c in changes}
    assert kinds >= {
        "Secret",
        BACKUP_STORAGES.kind,
        RETENTION_POLICIES.kind,
        BACKUP_BLUEPRINTS.kind,
        HOOK_TEMPLATES.kind,
        archiver("Postgres").kind,
        archiver("MySQL").kind,
    }
    assert sum(c.action == "PATCH" for c in changes) >= 5

    client = sandbox.client(0)
    try:
        for change in changes:
            answer = await dry_run(client, change)
            assert (answer["kind"], answer["metadata"]["name"]) == (change.kind, change.name)
            assert change.body is not None
            if change.kind == "Secret":
                # stringData comes back base64-encoded as data, keys kept.
                assert set(answer["data"]) == set(change.body["stringData"])
                continue
            problems = contains(answer["spec"], change.body["spec"], "spec")
            assert not problems, f"{change.kind} {change.name}: {problems}"
        # Nothing was stored: dryRun=All changed nothing.
        with pytest.raises(ApiError) as missing:
            await client.get(BACKUP_STORAGES.path(namespace=ns, name="s3-new"))
        assert missing.value.status == 404
    finally:
        await client.close()


async def test_an_invalid_body_is_refused_by_the_same_check(sandbox: Sandbox, unique: str) -> None:
    """The check above can fail: a wrong enum value is refused by CRD validation."""
    ns = f"admin-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
    store = MemoryStore([o.backup_storage("s3-main", ns)])
    plan = plan_create_retention_policy(
        CreateRetentionPolicy(namespace=ns, name="keep"), store=store, cluster=C
    )
    (change,) = plan.changes
    assert change.body is not None
    change.body["spec"]["failedSnapshots"]["last"] = -1
    client = sandbox.client(0)
    try:
        with pytest.raises(ApiError) as refused:
            await dry_run(client, change)
        assert refused.value.status == 422
        assert "failedSnapshots.last" in refused.value.message
    finally:
        await client.close()
