"""The admin mutations end to end: GraphQL in, the real API server's objects out.

Every call goes through the gateway as a sandbox user; every outcome is read back (or
found unchanged) as admin directly through the API server: listings of the kinds a
mutation writes, compared by resourceVersion, show that refusals and dry runs persist
nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.rbac import GATEWAY_USER
from tests.helpers import Gateway, audited_creator, ensure_namespace, kube_http, seed
from tests.mutations import (
    ACCESS_KEY_ID,
    CLUSTERS,
    PASSWORD,
    SECRET_ACCESS_KEY,
    Mutations,
    codes,
    listing,
    planned,
    read,
    recording,
    ref,
    refused,
    seen,
    succeeded,
)

pytestmark = pytest.mark.sandbox


# The kinds each mutation writes, to list before and after.
WRITES: dict[str, tuple[str, ...]] = {
    "createBackupStorage": ("Secret", "BackupStorage"),
    "createRetentionPolicy": ("RetentionPolicy",),
    "createBackupPolicy": ("Secret", "BackupBlueprint"),
    "createHookTemplate": ("HookTemplate",),
    "createArchiverPolicy": ("Secret", "PostgresArchiver"),
}


@dataclass(frozen=True)
class Env:
    ns: str
    names: tuple[str, ...]  # cluster names, by index

    def cluster(self, index: int) -> str:
        return self.names[index]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(sandbox: Sandbox, gateway: Gateway) -> Env:
    """A namespace of its own on both clusters, with a storage, retention policies (one
    the default), a default storage and the Postgres addon."""
    ns = f"mta-{os.urandom(3).hex()}"
    for cluster in CLUSTERS:
        async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
            await ensure_namespace(admin, ns)
        await seed(
            sandbox,
            [
                o.addon(
                    "postgres-addon",
                    ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
                    ("logical-backup-restore",),
                ),
                o.backup_storage("st", ns),
                o.backup_storage("dst", ns, default=True),
                o.retention_policy("keep", ns),
                o.retention_policy("dflt", ns, default=True),
            ],
            cluster=cluster,
        )
        await seen(
            gateway,
            cluster=sandbox.clusters[cluster].name,
            namespace=ns,
            storages=("st", "dst"),
            retention=("keep", "dflt"),
        )
    return Env(ns, tuple(c.name for c in sandbox.clusters))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def m(gateway: Gateway) -> AsyncIterator[Mutations]:
    async for calls in recording(gateway):
        yield calls


def storage_input(cluster: str, ns: str, name: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "provider": "S3",
        "location": {
            "bucket": "mt-bucket",
            "prefix": name,
            "endpoint": "https://s3.example.com",
            "region": "eu-west-1",
        },
        "credentials": {"accessKeyId": ACCESS_KEY_ID, "secretAccessKey": SECRET_ACCESS_KEY},
        "usage": {"from": "SAME"},
    }


def retention_input(cluster: str, ns: str, name: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "maxRetentionPeriod": "30d",
        "successfulSnapshots": {"last": 3, "daily": 7},
        "usage": {"from": "SAME"},
    }


def policy_input(cluster: str, ns: str, name: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "databaseKinds": ["Postgres"],
        "sessions": [{"name": "full-backup", "methods": ["LOGICAL"], "schedule": "0 2 * * *"}],
        "storage": ref(cluster, ns, "st"),
        "retentionPolicy": ref(cluster, ns, "keep"),
        "encryption": {"password": PASSWORD},
        "usage": {"from": "ALL"},
    }


def hook_input(cluster: str, ns: str, name: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "action": {"exec": {"command": ["/bin/true"]}},
        "executor": {"type": "POD", "podSelector": "app.kubernetes.io/instance=db"},
        "params": [{"name": "table", "usage": "table to count", "required": True}],
    }


def archiver_input(cluster: str, ns: str, name: str) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "databaseKind": "Postgres",
        "storage": ref(cluster, ns, "st"),
        "retentionPolicy": ref(cluster, ns, "keep"),
        "encryption": {"password": PASSWORD},
        "fullBackupSchedule": "0 1 * * *",
        "fullBackupMethod": "VOLUME_SNAPSHOT",
        "volumeSnapshotClass": "csi-snapclass",
        # No database of this module carries the label, so none takes the archiver up.
        "databaseSelector": {"matchLabels": {"archive": "mt-none"}},
    }


# mutation -> (input, payload field, kind of the main object, API kind on the server)
CREATES: dict[str, tuple[Callable[[str, str, str], dict[str, Any]], str, str]] = {
    "createBackupStorage": (storage_input, "backupStorage", "BackupStorage"),
    "createRetentionPolicy": (retention_input, "retentionPolicy", "RetentionPolicy"),
    "createBackupPolicy": (policy_input, "backupPolicy", "BackupBlueprint"),
    "createHookTemplate": (hook_input, "hookTemplate", "HookTemplate"),
    "createArchiverPolicy": (archiver_input, "archiverPolicy", "PostgresArchiver"),
}


async def create(m: Mutations, env: Env, mutation: str, name: str, cluster: int = 0) -> Any:
    build, field, _ = CREATES[mutation]
    payload = succeeded(await m(mutation, build(env.cluster(cluster), env.ns, name)))
    return payload[field]


# ------------------------------------------------------------------- creates


@pytest.mark.parametrize("cluster", CLUSTERS)
@pytest.mark.parametrize("mutation", list(CREATES))
async def test_create_makes_the_object_and_answers_it(
    sandbox: Sandbox, env: Env, m: Mutations, mutation: str, cluster: int, unique: str
) -> None:
    build, field, kind = CREATES[mutation]
    name = f"c-{unique}"
    payload = succeeded(await m(mutation, build(env.cluster(cluster), env.ns, name)))

    shown = payload[field]
    assert (shown["cluster"], shown["namespace"], shown["name"]) == (
        env.cluster(cluster),
        env.ns,
        name,
    )
    assert shown["id"]
    assert shown["uid"]
    assert {c["action"] for c in payload["plan"]} == {"CREATE"}
    assert [c["kind"] for c in payload["plan"]][-1] == kind
    for change in payload["plan"]:
        stored = await read(
            sandbox,
            cluster=cluster,
            kind=change["kind"],
            namespace=env.ns,
            name=change["name"],
        )
        assert stored is not None, change
        if change["kind"] == kind:
            assert stored["metadata"]["uid"] == shown["uid"]
            assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "stashql"


@pytest.mark.parametrize("mutation", list(CREATES))
async def test_create_dry_run_returns_the_plan_and_persists_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, mutation: str, unique: str
) -> None:
    build, field, kind = CREATES[mutation]
    name = f"d-{unique}"
    before = await listing(sandbox, cluster=1, namespaces=[env.ns], kinds=WRITES[mutation])
    payload = succeeded(await m(mutation, {**build(env.cluster(1), env.ns, name), "dryRun": True}))
    after = await listing(sandbox, cluster=1, namespaces=[env.ns], kinds=WRITES[mutation])

    assert after == before
    assert payload[field] is None
    assert {c["kind"] for c in payload["plan"]} == set(WRITES[mutation])
    for change in payload["plan"]:
        assert change["action"] == "CREATE"
        assert change["cluster"] == env.cluster(1)
        assert change["summary"]
        assert change["object"]["metadata"]["name"] == change["name"]
    main = next(c for c in payload["plan"] if c["kind"] == kind)
    assert main["object"]["spec"]


# ------------------------------------------------------------------- updates

# mutation -> (create mutation, ref field, change, (path into the stored object, value))
UPDATES: dict[str, tuple[str, str, dict[str, Any], tuple[tuple[str, ...], Any]]] = {
    "updateBackupStorage": (
        "createBackupStorage",
        "backupStorage",
        {"deletionPolicy": "WIPE_OUT", "isDefault": False},
        (("spec", "deletionPolicy"), "WipeOut"),
    ),
    "updateRetentionPolicy": (
        "createRetentionPolicy",
        "retentionPolicy",
        {"maxRetentionPeriod": "2mo", "failedSnapshotsLast": 4},
        (("spec", "maxRetentionPeriod"), "2mo"),
    ),
    "updateBackupPolicy": (
        "createBackupPolicy",
        "backupPolicy",
        {"usage": {"from": "SELECTOR", "namespaces": ["team-a"]}},
        (("spec", "usagePolicy", "allowedNamespaces", "from"), "Selector"),
    ),
    "updateHookTemplate": (
        "createHookTemplate",
        "hookTemplate",
        {"action": {"exec": {"command": ["/bin/false"]}}},
        (("spec", "action", "exec", "command"), ["/bin/false"]),
    ),
    "updateArchiverPolicy": (
        "createArchiverPolicy",
        "archiverPolicy",
        {"paused": True, "fullBackupSchedule": "30 1 * * *"},
        (("spec", "pause"), True),
    ),
}


def at(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


@pytest.mark.parametrize("mutation", list(UPDATES))
async def test_update_changes_the_object_and_answers_it(
    sandbox: Sandbox, env: Env, m: Mutations, mutation: str, unique: str
) -> None:
    made_by, field, change, (path, value) = UPDATES[mutation]
    kind = CREATES[made_by][2]
    made = await create(m, env, made_by, f"u-{unique}")
    target = ref(env.cluster(0), env.ns, made["name"])
    payload = succeeded(await m(mutation, {field: target, **change}))

    assert payload[field]["uid"] == made["uid"]
    assert payload[field]["name"] == made["name"]
    assert "PATCH" in {c["action"] for c in payload["plan"]}
    stored = await read(sandbox, cluster=0, kind=kind, namespace=env.ns, name=made["name"])
    assert stored is not None
    assert at(stored, path) == value


@pytest.mark.parametrize("mutation", list(UPDATES))
async def test_update_dry_run_returns_the_plan_and_persists_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, mutation: str, unique: str
) -> None:
    made_by, field, change, (path, value) = UPDATES[mutation]
    made = await create(m, env, made_by, f"v-{unique}")
    before = await listing(sandbox, cluster=0, namespaces=[env.ns], kinds=WRITES[made_by])
    target = ref(env.cluster(0), env.ns, made["name"])
    payload = succeeded(await m(mutation, {field: target, **change, "dryRun": True}))
    after = await listing(sandbox, cluster=0, namespaces=[env.ns], kinds=WRITES[made_by])

    assert after == before
    assert payload[field] is None
    patch = next(c for c in payload["plan"] if c["action"] == "PATCH")
    assert at(patch["object"], path) == value


async def test_an_update_that_changes_nothing_plans_none(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    made = await create(m, env, "createRetentionPolicy", f"n-{unique}")
    before = await listing(sandbox, cluster=0, namespaces=[env.ns], kinds=["RetentionPolicy"])
    payload = succeeded(
        await m(
            "updateRetentionPolicy",
            {
                "retentionPolicy": ref(env.cluster(0), env.ns, made["name"]),
                "maxRetentionPeriod": "30d",
            },
        )
    )
    assert [c["action"] for c in payload["plan"]] == ["NONE"]
    assert await listing(sandbox, cluster=0, namespaces=[env.ns], kinds=["RetentionPolicy"]) == (
        before
    )


# ------------------------------------------------------------------- delete


async def test_delete_policy_object_deletes_it(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    made = await create(m, env, "createHookTemplate", f"x-{unique}")
    inp = {"kind": "HOOK_TEMPLATE", "object": ref(env.cluster(0), env.ns, made["name"])}

    dry = succeeded(await m("deletePolicyObject", {**inp, "dryRun": True}))
    assert planned(dry) == [("DELETE", "HookTemplate", made["name"])]
    assert dry["deletedId"] is None
    assert await read(sandbox, cluster=0, kind="HookTemplate", namespace=env.ns, name=made["name"])

    payload = succeeded(await m("deletePolicyObject", inp))
    assert payload["deletedId"] == made["id"]
    gone = await read(sandbox, cluster=0, kind="HookTemplate", namespace=env.ns, name=made["name"])
    assert gone is None


async def test_delete_of_a_storage_in_use_is_in_use_and_changes_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    storage = await create(m, env, "createBackupStorage", f"s-{unique}")
    policy = policy_input(env.cluster(0), env.ns, f"p-{unique}")
    policy["storage"] = ref(env.cluster(0), env.ns, storage["name"])
    succeeded(await m("createBackupPolicy", policy))
    before = await listing(sandbox, cluster=0, namespaces=[env.ns])

    payload = await m(
        "deletePolicyObject",
        {"kind": "BACKUP_STORAGE", "object": ref(env.cluster(0), env.ns, storage["name"])},
    )
    error = refused(payload, "IN_USE")
    assert f"p-{unique}" in error["message"]
    assert payload["deletedId"] is None
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before


# ------------------------------------------------------------------- refusals


def refusal_cases(env: Env, unique: str) -> list[tuple[str, dict[str, Any], str, list[str] | None]]:
    """(mutation, input, code, field) of refusals the planners make."""
    c = env.cluster(0)
    ns = env.ns
    bad_name = {**retention_input(c, ns, "Not_A_Name")}
    bad_period = {**retention_input(c, ns, f"bp-{unique}"), "maxRetentionPeriod": "30 days"}
    bad_cron = policy_input(c, ns, f"bc-{unique}")
    bad_cron["sessions"][0]["schedule"] = "every night"
    continuous = policy_input(c, ns, f"cm-{unique}")
    continuous["sessions"][0]["methods"] = ["CONTINUOUS"]
    missing_storage = policy_input(c, ns, f"ms-{unique}")
    missing_storage["storage"] = ref(c, ns, f"nowhere-{unique}")
    archiver_cron = {**archiver_input(c, ns, f"ac-{unique}"), "fullBackupSchedule": "61 * * * *"}
    archiver_logical = {**archiver_input(c, ns, f"al-{unique}"), "fullBackupMethod": "LOGICAL"}
    return [
        ("createRetentionPolicy", retention_input(c, ns, "keep"), "TARGET_EXISTS", None),
        ("createBackupStorage", storage_input(c, ns, "st"), "TARGET_EXISTS", None),
        (
            "createRetentionPolicy",
            {**retention_input(c, ns, f"dr-{unique}"), "isDefault": True},
            "DEFAULT_ALREADY_SET",
            ["isDefault"],
        ),
        (
            "createBackupStorage",
            {**storage_input(c, ns, f"ds-{unique}"), "isDefault": True},
            "DEFAULT_ALREADY_SET",
            ["isDefault"],
        ),
        ("createRetentionPolicy", bad_name, "INVALID_INPUT", ["name"]),
        ("createRetentionPolicy", bad_period, "INVALID_INPUT", ["maxRetentionPeriod"]),
        ("createBackupPolicy", bad_cron, "INVALID_SCHEDULE", ["sessions", "0", "schedule"]),
        ("createArchiverPolicy", archiver_cron, "INVALID_SCHEDULE", ["fullBackupSchedule"]),
        ("createBackupPolicy", continuous, "METHOD_NOT_AVAILABLE", None),
        ("createArchiverPolicy", archiver_logical, "METHOD_NOT_AVAILABLE", None),
        ("createBackupPolicy", missing_storage, "NOT_FOUND", ["storage"]),
        (
            "updateRetentionPolicy",
            {"retentionPolicy": ref(c, ns, f"absent-{unique}"), "maxRetentionPeriod": "1y"},
            "NOT_FOUND",
            ["retentionPolicy"],
        ),
        (
            "updateHookTemplate",
            {"hookTemplate": ref(c, ns, f"absent-{unique}"), "action": {"exec": {}}},
            "NOT_FOUND",
            ["hookTemplate"],
        ),
        (
            "deletePolicyObject",
            {"kind": "ARCHIVER_POLICY", "object": ref(c, ns, f"absent-{unique}")},
            "NOT_FOUND",
            ["object"],
        ),
    ]


CASES = 14


@pytest.mark.parametrize("case", range(CASES))
async def test_a_refusal_is_typed_and_changes_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, case: int, unique: str
) -> None:
    cases = refusal_cases(env, unique)
    assert len(cases) == CASES
    mutation, inp, code, field = cases[case]
    before = await listing(sandbox, cluster=0, namespaces=[env.ns])
    payload = await m(mutation, inp)
    error = refused(payload, code)
    if field is not None:
        assert error["field"][: len(field)] == field, error
    assert error["message"]
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before


async def test_a_name_with_no_room_for_its_secrets_is_refused_naming_the_input_field(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    # A 250-character name is a valid object name, but the credentials Secret beside the
    # storage would be named <name>-credentials, too long for any object: refused before
    # anything is sent, pointing at the input's `name`, and nothing is made.
    name = f"{unique}-" + "n" * (249 - len(unique))
    before = await listing(sandbox, cluster=0, namespaces=[env.ns])
    payload = await m("createBackupStorage", storage_input(env.cluster(0), env.ns, name))
    error = refused(payload, "INVALID_INPUT")
    assert error["field"] == ["name"], error
    assert "Secrets" in error["message"]
    assert payload["backupStorage"] is None
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before


# ------------------------------------------------------------------- idempotency


async def test_a_retry_with_the_same_key_answers_the_first_result_and_changes_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    key = f"k-{unique}"
    inp = {**storage_input(env.cluster(0), env.ns, f"i-{unique}"), "idempotencyKey": key}
    # A dry run with the key does not use it up.
    dry = succeeded(await m("createBackupStorage", {**inp, "dryRun": True}))
    assert dry["backupStorage"] is None
    first = succeeded(await m("createBackupStorage", inp))
    assert first["backupStorage"] is not None
    before = await listing(sandbox, cluster=0, namespaces=[env.ns])

    again = succeeded(await m("createBackupStorage", inp))
    assert again["backupStorage"]["uid"] == first["backupStorage"]["uid"]
    assert planned(again) == planned(first)
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before

    other = {**inp, "location": {**inp["location"], "prefix": "elsewhere"}}
    reused = await m("createBackupStorage", other)
    refused(reused, "IDEMPOTENCY_KEY_REUSED")
    assert reused["backupStorage"] is None
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before


async def test_a_retried_update_is_not_applied_twice(
    sandbox: Sandbox, env: Env, m: Mutations, unique: str
) -> None:
    made = await create(m, env, "createArchiverPolicy", f"r-{unique}")
    inp = {
        "archiverPolicy": ref(env.cluster(0), env.ns, made["name"]),
        "logRetentionPeriod": "30d",
        "idempotencyKey": f"ku-{unique}",
    }
    first = succeeded(await m("updateArchiverPolicy", inp))
    before = await listing(sandbox, cluster=0, namespaces=[env.ns])
    again = succeeded(await m("updateArchiverPolicy", inp))
    assert planned(again) == planned(first)
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before
    reused = await m("updateArchiverPolicy", {**inp, "logRetentionPeriod": "60d"})
    assert codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert await listing(sandbox, cluster=0, namespaces=[env.ns]) == before


# ------------------------------------------------------------------- RBAC, both clusters


@pytest.mark.parametrize("cluster", CLUSTERS)
async def test_alice_makes_every_policy_object_in_team_a_and_nowhere_else(
    sandbox: Sandbox, env: Env, m: Mutations, cluster: int, unique: str
) -> None:
    c = env.cluster(cluster)  # env also brings the Postgres addon the policies need
    name = f"al-{unique}"
    made: dict[str, Any] = {}
    for mutation, (build, field, kind) in CREATES.items():
        # A BackupPolicy and an ArchiverPolicy of one name live side by side: each writes
        # its encryption Secret under a name of its own.
        inp = build(c, "team-a", name)
        if "storage" in inp:
            inp["storage"] = ref(c, "team-a", name)  # the storage she made first
            inp["retentionPolicy"] = ref(c, "team-a", name)
        made[mutation] = succeeded(await m(mutation, inp, user="alice"))[field]
        assert made[mutation]["name"] == inp["name"]
        stored = await read(
            sandbox, cluster=cluster, kind=kind, namespace="team-a", name=inp["name"]
        )
        assert stored is not None
        assert stored["metadata"]["uid"] == made[mutation]["uid"]

    # Every create went to the API server as alice (the gateway impersonating her).
    for plural in ("secrets", "backupstorages", "retentionpolicies", "hooktemplates"):
        creator = await audited_creator(
            sandbox,
            cluster=cluster,
            resource_plural=plural,
            namespace="team-a",
            name=f"{name}-credentials" if plural == "secrets" else name,
        )
        assert creator == (GATEWAY_USER, "alice")

    changed = succeeded(
        await m(
            "updateRetentionPolicy",
            {"retentionPolicy": ref(c, "team-a", name), "maxRetentionPeriod": "1y"},
            user="alice",
        )
    )
    assert changed["retentionPolicy"]["maxRetentionPeriod"] == "1y"

    places = ["team-a", "team-b", "kubedb"]
    before = await listing(sandbox, cluster=cluster, namespaces=places)
    # team-b: she has no rights there at all; kubedb: the admins' namespace.
    for ns in ("team-b", "kubedb"):
        for mutation, (build, field, _) in CREATES.items():
            inp = build(c, ns, name)
            if "storage" in inp:
                inp["storage"] = ref(c, ns, name)
                inp["retentionPolicy"] = ref(c, ns, name)
            payload = await m(mutation, inp, user="alice")
            assert payload[field] is None
            if mutation in ("createBackupStorage", "createRetentionPolicy", "createHookTemplate"):
                # Nothing the planner could refuse first: the API server's check as alice.
                assert "alice" in refused(payload, "FORBIDDEN")["message"]
            else:
                assert payload["userErrors"], payload
    assert await listing(sandbox, cluster=cluster, namespaces=places) == before

    for kind, target in (
        ("ARCHIVER_POLICY", name),
        ("BACKUP_POLICY", name),
        ("HOOK_TEMPLATE", name),
    ):
        deleted = succeeded(
            await m(
                "deletePolicyObject",
                {"kind": kind, "object": ref(c, "team-a", target)},
                user="alice",
            )
        )
        assert deleted["deletedId"]
    gone = await read(sandbox, cluster=cluster, kind="HookTemplate", namespace="team-a", name=name)
    assert gone is None


@pytest.mark.parametrize("cluster", CLUSTERS)
async def test_bob_reads_team_b_and_may_change_nothing(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations, cluster: int, unique: str
) -> None:
    c = env.cluster(cluster)
    await seed(sandbox, [o.retention_policy(f"b-{unique}", "team-b")], cluster=cluster)
    await seed(sandbox, [o.retention_policy(f"a-{unique}", "team-a")], cluster=cluster)
    await seen(gateway, cluster=c, namespace="team-b", retention=[f"b-{unique}"])
    await seen(gateway, cluster=c, namespace="team-a", retention=[f"a-{unique}"])
    before = await listing(sandbox, cluster=cluster, namespaces=["team-a", "team-b"])

    # He may read team-b, so the API server's check as bob refuses the writes there.
    create = await m(
        "createRetentionPolicy", retention_input(c, "team-b", f"n-{unique}"), user="bob"
    )
    assert "bob" in refused(create, "FORBIDDEN")["message"]
    update = await m(
        "updateRetentionPolicy",
        {"retentionPolicy": ref(c, "team-b", f"b-{unique}"), "maxRetentionPeriod": "1y"},
        user="bob",
    )
    refused(update, "FORBIDDEN")
    delete = await m(
        "deletePolicyObject",
        {"kind": "RETENTION_POLICY", "object": ref(c, "team-b", f"b-{unique}")},
        user="bob",
    )
    refused(delete, "FORBIDDEN")
    # team-a he may not even see: NOT_FOUND, without a word on whether it exists.
    hidden = await m(
        "updateRetentionPolicy",
        {"retentionPolicy": ref(c, "team-a", f"a-{unique}"), "maxRetentionPeriod": "1y"},
        user="bob",
    )
    error = refused(hidden, "NOT_FOUND")
    assert error["field"] == ["retentionPolicy"]
    assert hidden["plan"] == []
    assert await listing(sandbox, cluster=cluster, namespaces=["team-a", "team-b"]) == before
