"""The user's backup mutations end to end: enableBackup, updateBackup, disableBackup,
pauseBackup, resumeBackup and triggerBackup, through the gateway as alice and bob.

Outcomes are read as admin directly through the API server; refusals and dry runs are
shown to persist nothing by listing team-a's (and team-b's) objects of the kinds these
mutations write, before and after, resourceVersions included.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from sandbox.rbac import GATEWAY_USER
from tests.helpers import Gateway, audited_creator, eventually, kube_http, seed
from tests.mutations import (
    CLUSTERS,
    PASSWORD,
    POLICY_PASSWORD,
    Mutations,
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

KINDS = ("BackupConfiguration", "BackupSession", "Secret", "Postgres", "Repository")
PG = "Postgres"


@dataclass(frozen=True)
class Env:
    mark: str
    names: tuple[str, ...]

    def cluster(self, index: int) -> str:
        return self.names[index]

    @property
    def storage(self) -> str:
        return f"st-{self.mark}"

    @property
    def retention(self) -> str:
        return f"rp-{self.mark}"

    @property
    def policy(self) -> str:
        return f"pol-{self.mark}"

    @property
    def long_db(self) -> str:
        """A database whose name is valid (250 characters) but too long for the
        configuration named after it."""
        return f"long-{self.mark}-" + "x" * (250 - 6 - len(self.mark))

    def db(self, role: str) -> str:
        """Module databases: idle (no backup), on (backup set up), halted, and team-b's."""
        return f"{role}-{self.mark}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def m(gateway: Gateway) -> AsyncIterator[Mutations]:
    async for calls in recording(gateway):
        yield calls


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(sandbox: Sandbox, gateway: Gateway, m: Mutations) -> Env:
    """On both clusters: team-a's storage and retention policy, a BackupPolicy made by
    createBackupPolicy, the admins' own objects in kubedb that admit only kubedb, and
    databases that the refusal tests share (they change nothing)."""
    mark = os.urandom(3).hex()
    env = Env(mark, tuple(c.name for c in sandbox.clusters))
    for cluster in CLUSTERS:
        c = env.cluster(cluster)
        on = o.database(PG, env.db("on"), "team-a")
        halted = o.database(PG, env.db("halted"), "team-a", phase="Halted", halted=True)
        bob_on = o.database(PG, env.db("bon"), "team-b")
        await seed(
            sandbox,
            [
                o.addon(
                    "postgres-addon",
                    ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
                    ("logical-backup-restore",),
                ),
                o.backup_storage(env.storage, "team-a"),
                o.retention_policy(env.retention, "team-a"),
                o.backup_storage(f"ks-{mark}", "kubedb"),
                o.retention_policy(f"kr-{mark}", "kubedb"),
                o.blueprint(
                    f"kb-{mark}",
                    "kubedb",
                    storage=("kubedb", f"ks-{mark}"),
                    retention=("kubedb", f"kr-{mark}"),
                    scope="Same",
                ),
                o.database(PG, env.db("idle"), "team-a"),
                o.database(PG, env.long_db, "team-a"),
                on,
                o.backup_configuration(
                    f"{env.db('on')}-backup",
                    on,
                    storage=("team-a", env.storage),
                    retention=("team-a", env.retention),
                ),
                halted,
                o.backup_configuration(
                    f"{env.db('halted')}-backup",
                    halted,
                    storage=("team-a", env.storage),
                    retention=("team-a", env.retention),
                ),
                o.backup_storage(f"bs-{mark}", "team-b"),
                o.retention_policy(f"br-{mark}", "team-b"),
                o.database(PG, env.db("bidle"), "team-b"),
                bob_on,
                o.backup_configuration(
                    f"{env.db('bon')}-backup",
                    bob_on,
                    storage=("team-b", f"bs-{mark}"),
                    retention=("team-b", f"br-{mark}"),
                ),
            ],
            cluster=cluster,
        )
        await seen(
            gateway,
            cluster=c,
            namespace="team-a",
            storages=[env.storage],
            retention=[env.retention],
            databases=[(PG, env.db("idle")), (PG, env.long_db)],
            backed_up=[(PG, env.db("on")), (PG, env.db("halted"))],
        )
        await seen(
            gateway,
            cluster=c,
            namespace="team-b",
            storages=[f"bs-{mark}"],
            databases=[(PG, env.db("bidle"))],
            backed_up=[(PG, env.db("bon"))],
        )
        succeeded(
            await m(
                "createBackupPolicy",
                {
                    "cluster": c,
                    "namespace": "team-a",
                    "name": env.policy,
                    "databaseKinds": [PG],
                    "sessions": [
                        {"name": "full-backup", "methods": ["LOGICAL"], "schedule": "0 2 * * *"}
                    ],
                    "storage": ref(c, "team-a", env.storage),
                    "retentionPolicy": ref(c, "team-a", env.retention),
                    "encryption": {"password": POLICY_PASSWORD},
                    "usage": {"from": "SAME"},
                },
            )
        )
    return env


async def fresh_database(sandbox: Sandbox, gateway: Gateway, env: Env, cluster: int) -> str:
    """A Ready Postgres of its own in team-a, once the gateway has seen it."""
    name = f"pg-{os.urandom(3).hex()}"
    await seed(sandbox, [o.database(PG, name, "team-a")], cluster=cluster)
    await seen(gateway, cluster=env.cluster(cluster), namespace="team-a", databases=[(PG, name)])
    return name


def own(env: Env, cluster: int, **extra: Any) -> dict[str, Any]:
    """A setup without policy: team-a's own storage, a schedule and a password."""
    c = env.cluster(cluster)
    return {
        "storage": ref(c, "team-a", env.storage),
        "retentionPolicy": ref(c, "team-a", env.retention),
        "schedule": "0 3 * * *",
        "encryption": {"password": PASSWORD},
        **extra,
    }


def db_ref(env: Env, cluster: int, name: str, ns: str = "team-a") -> dict[str, Any]:
    return ref(env.cluster(cluster), ns, name, PG)


async def state(sandbox: Sandbox, cluster: int) -> dict[str, str]:
    return await listing(sandbox, cluster=cluster, namespaces=["team-a", "team-b"], kinds=KINDS)


async def enabled(
    sandbox: Sandbox, gateway: Gateway, m: Mutations, env: Env, cluster: int = 0
) -> str:
    name = await fresh_database(sandbox, gateway, env, cluster)
    succeeded(
        await m(
            "enableBackup",
            {"database": db_ref(env, cluster, name), "backup": own(env, cluster)},
            user="alice",
        )
    )
    return name


async def configuration(sandbox: Sandbox, cluster: int, db: str) -> dict[str, Any] | None:
    return await read(
        sandbox,
        cluster=cluster,
        kind="BackupConfiguration",
        namespace="team-a",
        name=f"{db}-backup",
    )


# ------------------------------------------------------------------- enableBackup


@pytest.mark.parametrize("cluster", CLUSTERS)
async def test_alice_enables_backup_on_her_own_storage(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations, cluster: int
) -> None:
    name = await fresh_database(sandbox, gateway, env, cluster)
    payload = succeeded(
        await m(
            "enableBackup",
            {"database": db_ref(env, cluster, name), "backup": own(env, cluster)},
            user="alice",
        )
    )

    assert payload["database"]["name"] == name
    assert payload["database"]["cluster"] == env.cluster(cluster)
    shown = payload["configuration"]
    assert shown["name"] == f"{name}-backup"
    assert [s["name"] for s in shown["sessions"]] == ["full-backup"]
    assert shown["sessions"][0]["schedule"] == "0 3 * * *"
    assert "manifest-backup" in shown["sessions"][0]["tasks"]
    assert [i["method"] for i in payload["impact"]["methods"]] == ["LOGICAL", "MANIFEST"]
    stored = await configuration(sandbox, cluster, name)
    assert stored is not None
    assert stored["metadata"]["uid"] == shown["uid"]
    assert stored["spec"]["target"] == {
        "apiGroup": "kubedb.com",
        "kind": PG,
        "namespace": "team-a",
        "name": name,
    }
    secret = next(c for c in payload["plan"] if c["kind"] == "Secret")
    kept = await read(
        sandbox, cluster=cluster, kind="Secret", namespace="team-a", name=secret["name"]
    )
    assert kept is not None
    assert set(kept["data"]) == {"RESTIC_PASSWORD"}


async def test_enable_backup_with_a_policy_expands_it(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await fresh_database(sandbox, gateway, env, 1)
    policy = ref(env.cluster(1), "team-a", env.policy)
    payload = succeeded(
        await m(
            "enableBackup",
            {"database": db_ref(env, 1, name), "backup": {"policy": policy}},
            user="alice",
        )
    )
    assert payload["configuration"]["name"] == f"{name}-backup"
    stored = await configuration(sandbox, 1, name)
    assert stored is not None
    labels = stored["metadata"]["labels"]
    assert labels["kubestash.com/invoker-name"] == env.policy
    assert labels["kubestash.com/invoker-kind"] == "BackupBlueprint"
    assert stored["spec"]["sessions"][0]["scheduler"]["schedule"] == "0 2 * * *"


async def test_enable_backup_dry_run_plans_all_and_persists_nothing(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    before = await state(sandbox, 0)
    payload = succeeded(
        await m(
            "enableBackup",
            {"database": db_ref(env, 0, env.db("idle")), "backup": own(env, 0), "dryRun": True},
            user="alice",
        )
    )
    assert await state(sandbox, 0) == before

    assert payload["configuration"] is None
    assert payload["database"] is None
    assert payload["impact"]["methods"]
    assert [(a, k) for a, k, _ in planned(payload)] == [
        ("CREATE", "Secret"),
        ("CREATE", "BackupConfiguration"),
    ]
    bc = payload["plan"][1]["object"]
    tasks = [t["name"] for t in bc["spec"]["sessions"][0]["addon"]["tasks"]]
    assert tasks == ["logical-backup", "manifest-backup"]
    assert payload["plan"][0]["object"]["stringData"]["RESTIC_PASSWORD"] == "<redacted>"


def enable_refusals(env: Env) -> list[tuple[str, str, dict[str, Any], str, list[str] | None]]:
    """(user, mutation, input, code, field) of refusals; none of them changes anything."""
    c = env.cluster(0)
    idle = db_ref(env, 0, env.db("idle"))
    policy = ref(c, "team-a", env.policy)
    return [
        ("alice", "enableBackup", {"database": ref(c, "team-a", env.db("on"), PG),
         "backup": own(env, 0)}, "BACKUP_ALREADY_ENABLED", ["database"]),
        ("alice", "enableBackup", {"database": idle, "backup": own(env, 0, schedule="daily")},
         "INVALID_SCHEDULE", ["backup", "schedule"]),
        ("alice", "enableBackup", {"database": idle, "backup": own(env, 0, encryption=None)},
         "INVALID_INPUT", ["backup", "encryption"]),
        ("alice", "enableBackup", {"database": idle,
         "backup": own(env, 0, storage=ref(c, "team-a", "no-such-storage"))},
         "NOT_FOUND", ["backup", "storage"]),
        ("alice", "enableBackup", {"database": db_ref(env, 0, "no-such-db"),
         "backup": own(env, 0)}, "NOT_FOUND", ["database"]),
        ("alice", "enableBackup", {"database": idle,
         "backup": {"policy": ref(c, "kubedb", f"kb-{env.mark}")}},
         "POLICY_NOT_ALLOWED", ["backup", "policy"]),
        ("alice", "enableBackup", {"database": idle,
         "backup": {"policy": policy, "retentionPolicy": ref(c, "team-a", env.retention)}},
         "RETENTION_NOT_ALLOWED", ["backup", "retentionPolicy"]),
        ("alice", "enableBackup", {"database": idle,
         "backup": own(env, 0, storage=ref(c, "kubedb", f"ks-{env.mark}"))},
         "CUSTOM_STORAGE_NOT_ALLOWED", ["backup", "storage"]),
        ("alice", "enableBackup", {"database": idle,
         "backup": {"policy": policy, "methods": ["CONTINUOUS"]}},
         "METHOD_NOT_AVAILABLE", None),
        ("alice", "updateBackup", {"database": idle, "backup": own(env, 0)},
         "BACKUP_NOT_ENABLED", ["database"]),
        ("alice", "disableBackup", {"database": idle}, "BACKUP_NOT_ENABLED", ["database"]),
        ("alice", "pauseBackup", {"database": idle}, "BACKUP_NOT_ENABLED", ["database"]),
        ("alice", "resumeBackup", {"database": idle}, "BACKUP_NOT_ENABLED", ["database"]),
        ("alice", "triggerBackup", {"database": idle}, "BACKUP_NOT_ENABLED", ["database"]),
        ("alice", "triggerBackup", {"database": db_ref(env, 0, env.db("halted"))},
         "DATABASE_NOT_READY", ["database"]),
        ("alice", "triggerBackup", {"database": ref(c, "team-a", env.db("on"), PG),
         "sessions": ["nightly"]}, "INVALID_INPUT", ["sessions"]),
        # Bob may not even see team-a: the same answer whether the database exists or not.
        ("bob", "enableBackup", {"database": idle, "backup": own(env, 0)},
         "NOT_FOUND", ["database"]),
        ("bob", "triggerBackup", {"database": ref(c, "team-a", env.db("on"), PG)},
         "NOT_FOUND", ["database"]),
    ]  # fmt: skip


REFUSALS = 18


@pytest.mark.parametrize("case", range(REFUSALS))
async def test_a_backup_refusal_is_typed_and_changes_nothing(
    sandbox: Sandbox, env: Env, m: Mutations, case: int
) -> None:
    cases = enable_refusals(env)
    assert len(cases) == REFUSALS
    user, mutation, inp, code, field = cases[case]
    before = await state(sandbox, 0)
    payload = await m(mutation, inp, user=user)
    error = refused(payload, code)
    assert error["message"]
    if field is not None:
        assert error["field"][: len(field)] == field, error
    assert await state(sandbox, 0) == before


async def test_the_api_servers_validation_refusal_is_invalid_input_with_its_field(
    sandbox: Sandbox, env: Env, m: Mutations
) -> None:
    # The planner names the configuration <db>-backup; for a 250-character database name
    # that is too long, and the API server's check as alice refuses it with the field.
    before = await state(sandbox, 0)
    payload = await m(
        "enableBackup",
        {"database": db_ref(env, 0, env.long_db), "backup": own(env, 0)},
        user="alice",
    )
    error = refused(payload, "INVALID_INPUT")
    assert error["field"] == ["metadata", "name"], error
    assert payload["configuration"] is None
    assert payload["impact"] is None
    assert await state(sandbox, 0) == before


async def test_continuous_backup_takes_an_archiver_policy(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = f"pg-{os.urandom(3).hex()}"
    labels = {"archive": name}
    await seed(sandbox, [o.database(PG, name, "team-a", labels=labels)])
    await seen(gateway, cluster=env.cluster(0), namespace="team-a", databases=[(PG, name)])
    c = env.cluster(0)
    archiver = succeeded(
        await m(
            "createArchiverPolicy",
            {
                "cluster": c,
                "namespace": "team-a",
                "name": f"arc-{name}",
                "databaseKind": PG,
                "storage": ref(c, "team-a", env.storage),
                "retentionPolicy": ref(c, "team-a", env.retention),
                "encryption": {"password": POLICY_PASSWORD},
                "fullBackupSchedule": "0 1 * * *",
                "databaseSelector": {"matchLabels": labels},
            },
        )
    )["archiverPolicy"]
    setup = {"methods": ["CONTINUOUS"], "archiverPolicy": ref(c, "team-a", archiver["name"])}
    inp = {"database": db_ref(env, 0, name), "backup": setup}

    # With a policy as well it is refused: the archiver brings its own backups.
    before = await state(sandbox, 0)
    mixed = {**inp, "backup": {**setup, "policy": ref(c, "team-a", env.policy)}}
    refused(await m("enableBackup", mixed, user="alice"), "METHOD_NOT_AVAILABLE")
    dry = succeeded(await m("enableBackup", {**inp, "dryRun": True}, user="alice"))
    assert planned(dry) == [("PATCH", PG, name)]
    assert await state(sandbox, 0) == before

    payload = succeeded(await m("enableBackup", inp, user="alice"))
    assert "DATABASE_UNAVAILABLE_DURING_SETUP" in [w["code"] for w in payload["warnings"]]
    assert payload["impact"]["unavailableDuringSetup"] is True
    assert payload["database"]["name"] == name
    stored = await read(sandbox, cluster=0, kind=PG, namespace="team-a", name=name)
    assert stored is not None
    assert stored["spec"]["archiver"]["ref"] == {"namespace": "team-a", "name": archiver["name"]}


# ------------------------------------------------------------------- the lifecycle


async def test_update_backup_replaces_the_setup(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await enabled(sandbox, gateway, m, env)
    # Encryption left out keeps the current Secret (a new password is refused: it would
    # make the snapshots taken so far unreadable).
    inp = {
        "database": db_ref(env, 0, name),
        "backup": own(env, 0, schedule="0 5 * * *", encryption=None),
    }
    before = await state(sandbox, 0)
    dry = succeeded(await m("updateBackup", {**inp, "dryRun": True}, user="alice"))
    assert await state(sandbox, 0) == before
    assert dry["configuration"] is None
    assert dry["impact"] is not None
    assert ("PATCH", "BackupConfiguration", f"{name}-backup") in planned(dry)

    payload = succeeded(await m("updateBackup", inp, user="alice"))
    assert payload["configuration"]["sessions"][0]["schedule"] == "0 5 * * *"
    assert payload["database"]["name"] == name
    stored = await configuration(sandbox, 0, name)
    assert stored is not None
    assert stored["spec"]["sessions"][0]["scheduler"]["schedule"] == "0 5 * * *"


async def test_pause_and_resume_backup(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await enabled(sandbox, gateway, m, env)
    db = {"database": db_ref(env, 0, name)}

    before = await state(sandbox, 0)
    dry = succeeded(await m("pauseBackup", {**db, "dryRun": True}, user="alice"))
    assert planned(dry) == [("PATCH", "BackupConfiguration", f"{name}-backup")]
    assert await state(sandbox, 0) == before

    paused = succeeded(await m("pauseBackup", db, user="alice"))
    assert paused["database"]["name"] == name
    stored = await configuration(sandbox, 0, name)
    assert stored is not None
    assert stored["spec"]["paused"] is True
    # Pausing twice changes nothing.
    before = await state(sandbox, 0)
    again = succeeded(await m("pauseBackup", db, user="alice"))
    assert [c["action"] for c in again["plan"]] == ["NONE"]
    refused(await m("triggerBackup", db, user="alice"), "BACKUP_PAUSED")
    assert await state(sandbox, 0) == before

    dry = succeeded(await m("resumeBackup", {**db, "dryRun": True}, user="alice"))
    assert await state(sandbox, 0) == before
    resumed = succeeded(await m("resumeBackup", db, user="alice"))
    assert resumed["database"]["name"] == name
    stored = await configuration(sandbox, 0, name)
    assert stored is not None
    assert not stored["spec"].get("paused")


async def with_repository(sandbox: Sandbox, gateway: Gateway, env: Env, db: str) -> str:
    """The Repository KubeStash would make for the configuration (no operator runs here)."""
    repo = f"{db}-backup"
    await seed(
        sandbox,
        [o.repository(o.database(PG, db, "team-a"), repo, storage=("team-a", env.storage))],
    )

    async def cached() -> bool:
        body = await gateway.query(
            "query($f: ResourceFilter) { repositories(filter: $f, first: 50) {"
            " nodes { cluster namespace name } } }",
            {"f": {"clusters": [env.cluster(0)], "namespaces": ["team-a"], "nameContains": repo}},
        )
        return {"cluster": env.cluster(0), "namespace": "team-a", "name": repo} in body["data"][
            "repositories"
        ]["nodes"]

    await eventually(cached)
    return repo


async def test_disable_backup_keeps_the_snapshots(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await enabled(sandbox, gateway, m, env)
    repo = await with_repository(sandbox, gateway, env, name)
    db = {"database": db_ref(env, 0, name)}
    before = await state(sandbox, 0)
    dry = succeeded(await m("disableBackup", {**db, "dryRun": True}, user="alice"))
    assert planned(dry) == [("DELETE", "BackupConfiguration", f"{name}-backup")]
    assert await state(sandbox, 0) == before

    payload = succeeded(await m("disableBackup", db, user="alice"))
    assert "SNAPSHOTS_KEPT" in [w["code"] for w in payload["warnings"]]
    assert payload["database"]["name"] == name
    assert await configuration(sandbox, 0, name) is None
    assert await read(sandbox, cluster=0, kind="Repository", namespace="team-a", name=repo)
    refused(await m("disableBackup", db, user="alice"), "BACKUP_NOT_ENABLED")


async def test_disable_backup_without_keeping_snapshots_deletes_the_repositories(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await enabled(sandbox, gateway, m, env)
    repo = await with_repository(sandbox, gateway, env, name)
    inp = {"database": db_ref(env, 0, name), "keepSnapshots": False}
    before = await state(sandbox, 0)
    dry = succeeded(await m("disableBackup", {**inp, "dryRun": True}, user="alice"))
    assert set(planned(dry)) == {
        ("DELETE", "BackupConfiguration", f"{name}-backup"),
        ("DELETE", "Repository", repo),
    }
    assert await state(sandbox, 0) == before

    succeeded(await m("disableBackup", inp, user="alice"))
    assert await configuration(sandbox, 0, name) is None
    assert await read(sandbox, cluster=0, kind="Repository", namespace="team-a", name=repo) is None


# ------------------------------------------------------------------- triggerBackup, as the caller


@pytest.mark.parametrize("cluster", CLUSTERS)
async def test_trigger_backup_runs_as_the_caller(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations, cluster: int
) -> None:
    name = await enabled(sandbox, gateway, m, env, cluster)
    db = {"database": db_ref(env, cluster, name)}
    before = await state(sandbox, cluster)
    dry = succeeded(await m("triggerBackup", {**db, "dryRun": True}, user="alice"))
    assert [(a, k) for a, k, _ in planned(dry)] == [("CREATE", "BackupSession")]
    assert dry["backupSessions"] is None
    assert await state(sandbox, cluster) == before

    payload = succeeded(await m("triggerBackup", db, user="alice"))
    [session] = payload["backupSessions"]
    assert session["session"] == "full-backup"
    stored = await read(
        sandbox, cluster=cluster, kind="BackupSession", namespace="team-a", name=session["name"]
    )
    assert stored is not None
    assert stored["metadata"]["uid"] == session["uid"]
    assert stored["spec"]["invoker"]["name"] == f"{name}-backup"
    assert {f["manager"] for f in stored["metadata"]["managedFields"]} == {"stashql"}
    # The API server's audit log: created by the gateway's identity impersonating alice.
    user, impersonated = await audited_creator(
        sandbox,
        cluster=cluster,
        resource_plural="backupsessions",
        namespace="team-a",
        name=session["name"],
    )
    assert (user, impersonated) == (GATEWAY_USER, "alice")

    # The gateway's own identity may not create it: the session above was written as alice.
    body = {**stored["spec"]}
    async with kube_http(sandbox, user="gateway", cluster=cluster) as as_gateway:
        r = await as_gateway.post(
            "/apis/core.kubestash.com/v1alpha1/namespaces/team-a/backupsessions",
            params={"dryRun": "All"},
            json={
                "apiVersion": "core.kubestash.com/v1alpha1",
                "kind": "BackupSession",
                "metadata": {"name": f"gw-{name}"},
                "spec": body,
            },
        )
    assert r.status_code == 403, r.text

    # Bob reads team-b: his trigger there reaches the API server as bob, which refuses it.
    before = await state(sandbox, cluster)
    bob = await m(
        "triggerBackup", {"database": db_ref(env, cluster, env.db("bon"), "team-b")}, user="bob"
    )
    assert "bob" in refused(bob, "FORBIDDEN")["message"]
    assert bob["backupSessions"] is None
    assert await state(sandbox, cluster) == before


@pytest.mark.parametrize("cluster", CLUSTERS)
async def test_bob_may_not_change_team_b_backups(
    sandbox: Sandbox, env: Env, m: Mutations, cluster: int
) -> None:
    before = await state(sandbox, cluster)
    c = env.cluster(cluster)
    bidle = db_ref(env, cluster, env.db("bidle"), "team-b")
    bon = db_ref(env, cluster, env.db("bon"), "team-b")
    storage = ref(c, "team-b", f"bs-{env.mark}")
    setup = {"storage": storage, "schedule": "0 1 * * *", "encryption": {"password": PASSWORD}}
    for mutation, inp in (
        ("enableBackup", {"database": bidle, "backup": setup}),
        ("pauseBackup", {"database": bon}),
        ("disableBackup", {"database": bon}),
    ):
        payload = await m(mutation, inp, user="bob")
        refused(payload, "FORBIDDEN")
    # Alice may not see team-b at all.
    hidden = await m("pauseBackup", {"database": bon}, user="alice")
    refused(hidden, "NOT_FOUND")
    assert await state(sandbox, cluster) == before


# ------------------------------------------------------------------- idempotency


async def test_enable_backup_retried_with_its_key(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await fresh_database(sandbox, gateway, env, 0)
    inp = {
        "database": db_ref(env, 0, name),
        "backup": own(env, 0),
        "idempotencyKey": f"enable-{name}",
    }
    dry = succeeded(await m("enableBackup", {**inp, "dryRun": True}, user="alice"))
    assert dry["configuration"] is None
    first = succeeded(await m("enableBackup", inp, user="alice"))
    before = await state(sandbox, 0)
    again = succeeded(await m("enableBackup", inp, user="alice"))
    assert again["configuration"]["uid"] == first["configuration"]["uid"]
    assert planned(again) == planned(first)
    assert await state(sandbox, 0) == before
    other = {**inp, "backup": own(env, 0, schedule="0 4 * * *")}
    refused(await m("enableBackup", other, user="alice"), "IDEMPOTENCY_KEY_REUSED")
    assert await state(sandbox, 0) == before


async def test_trigger_backup_retried_with_its_key_starts_one_session(
    sandbox: Sandbox, gateway: Gateway, env: Env, m: Mutations
) -> None:
    name = await enabled(sandbox, gateway, m, env)
    inp = {"database": db_ref(env, 0, name), "idempotencyKey": f"trigger-{name}"}
    first = succeeded(await m("triggerBackup", inp, user="alice"))
    before = await state(sandbox, 0)
    again = succeeded(await m("triggerBackup", inp, user="alice"))
    assert [s["uid"] for s in again["backupSessions"]] == [
        s["uid"] for s in first["backupSessions"]
    ]
    assert await state(sandbox, 0) == before
    other = {**inp, "sessions": ["full-backup"]}
    refused(await m("triggerBackup", other, user="alice"), "IDEMPOTENCY_KEY_REUSED")
    assert await state(sandbox, 0) == before
