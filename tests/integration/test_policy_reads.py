"""What a namespace may use, as alice (editor of team-a) and bob (reader of team-b) see it.

archiverPolicies, hookTemplates, backupPolicies { choices } and snapshots { contents }
against both sandbox clusters: the usage policies decide what a namespace may use, RBAC
decides who is shown it (whoever may edit databases there sees every summary; anyone
else only the objects they may list), and own storages only where the viewer may read
them.
"""

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

CLUSTERS = ("sandbox-1", "sandbox-2")
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Seeded:
    u: str  # the suffix every object of this module carries
    admin_ns: str


def _only_team_a() -> dict[str, Any]:
    return {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a"]}
        ]
    }


def _hook(name: str, namespace: str, allowed: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": o.CORE_V1,
        "kind": "HookTemplate",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "usagePolicy": {"allowedNamespaces": allowed},
            "params": [{"name": "TABLE", "usage": "Table to count", "required": True}],
            "action": {"exec": {"command": ["/bin/sh", "-c", 'test -n "$TABLE"']}},
            "executor": {"type": "Function", "function": {"name": "row-count"}},
        },
    }


def _open_blueprint(name: str, namespace: str, u: str, *, scope: str) -> dict[str, Any]:
    """A blueprint in the encoding of policy-encoding.md: the schedule, the retention and
    the storage left to the user, with defaults; one variable (tier) for the user."""
    session = o.session_spec(
        schedule="${schedule:=0 1 * * *}",
        addon="${addon}",
        repository="${targetName}-full-backup",
        backend="default",
    )
    session["repositories"][0]["directory"] = "/${targetNamespace}/${targetName}/${tier}"
    found = o.blueprint(
        name,
        namespace,
        storage=("${storageNamespace:=" + namespace + "}", "${storage:=shared-" + u + "}"),
        retention=(
            "${retentionPolicyNamespace:=" + namespace + "}",
            "${retentionPolicy:=keep-" + u + "}",
        ),
        scope=scope,
        sessions=[session],
    )
    found["spec"]["backupConfigurationTemplate"]["backends"][0]["name"] = "default"
    return found


def _objects(u: str, admin_ns: str) -> list[dict[str, Any]]:
    shared, keep = (admin_ns, f"shared-{u}"), (admin_ns, f"keep-{u}")
    fixed_session = o.session_spec(
        schedule="30 2 * * *", repository="${targetName}-full-backup", backend="s3-backend"
    )
    pg_a = o.database("Postgres", f"pg-{u}", "team-a")
    pg_b = o.database("Postgres", f"pg-{u}", "team-b")
    repo_a = o.repository(pg_a, f"repo-{u}", storage=("team-a", f"mine-{u}"))
    repo_b = o.repository(pg_b, f"repo-{u}", storage=("team-b", f"theirs-{u}"))
    full = o.snapshot(f"full-{u}", repo_a, session=f"run-{u}", taken=NOW - timedelta(hours=1))
    full["metadata"]["annotations"] = {"kubedb.com/db-version": "16.4"}
    manifest_only = o.snapshot(
        f"manifest-{u}",
        repo_b,
        session=f"run-{u}",
        taken=NOW - timedelta(hours=2),
        components={"manifest": {"driver": "Restic", "phase": "Succeeded", "size": "1 KiB"}},
    )
    return [
        o.backup_storage(f"shared-{u}", admin_ns, scope="All", bucket="admin-bucket"),
        o.backup_storage(f"mine-{u}", "team-a", bucket="team-a-bucket"),
        o.backup_storage(f"theirs-{u}", "team-b", bucket="team-b-bucket"),
        o.retention_policy(f"keep-{u}", admin_ns, scope="All"),
        o.retention_policy(f"a-keep-{u}", "team-a"),
        o.retention_policy(f"b-keep-{u}", "team-b"),
        _open_blueprint(f"open-{u}", admin_ns, u, scope="All"),
        o.blueprint(
            f"fixed-{u}", admin_ns, storage=shared, retention=keep, sessions=[fixed_session]
        ),
        # Bob's team keeps a blueprint of its own, usable there only.
        _open_blueprint(f"team-b-{u}", "team-b", u, scope="Same"),
        o.archiver(
            "Postgres", f"pg-all-{u}", admin_ns, storage=shared, retention=keep, scope="All"
        ),
        o.archiver(
            "Postgres",
            f"pg-a-{u}",
            admin_ns,
            storage=shared,
            retention=keep,
            scope="Selector",
            selector=_only_team_a(),
            driver="Restic",
        ),
        o.archiver("MySQL", f"my-all-{u}", admin_ns, storage=shared, retention=keep, scope="All"),
        o.archiver(
            "Postgres",
            f"pg-b-{u}",
            "team-b",
            storage=("team-b", f"theirs-{u}"),
            retention=("team-b", f"b-keep-{u}"),
        ),
        _hook(f"hook-all-{u}", admin_ns, {"from": "All"}),
        _hook(f"hook-a-{u}", admin_ns, {"from": "Selector", "selector": _only_team_a()}),
        _hook(f"hook-b-{u}", "team-b", {"from": "Same"}),
        repo_a,
        repo_b,
        full,
        manifest_only,
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(sandbox: Sandbox, gateway: Gateway) -> AsyncIterator[Seeded]:
    u = os.urandom(3).hex()
    admin_ns = f"policies-{u}"
    for cluster in (0, 1):
        async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
            await ensure_namespace(admin, admin_ns)
        await seed(sandbox, _objects(u, admin_ns), cluster=cluster)
    # Only the second cluster has this hook: answers are per cluster.
    await seed(sandbox, [_hook(f"hook-two-{u}", admin_ns, {"from": "All"})], cluster=1)

    async def cached() -> bool:
        # Every kind seeded, counted on both clusters as admin (informers are eventual).
        body = await gateway.query(
            """query($ns: String!) {
                hookTemplates(namespace: $ns) { name }
                archiverPolicies(namespace: $ns, databaseKind: "Postgres") { name }
                backupPolicies(namespace: $ns, databaseKind: "Postgres") { name }
                retentionPolicies(namespace: "team-a") { name }
                backupStorages(namespace: "team-b") { name }
                snapshots(filter: {namespaces: ["team-a", "team-b"]}) { nodes { name } } }""",
            {"ns": admin_ns},
        )
        data = body["data"]
        data["snapshots"] = data["snapshots"]["nodes"]
        counts = {k: len([x for x in v if x["name"].endswith(u)]) for k, v in data.items()}
        last[:] = [counts]
        return counts == {
            "hookTemplates": 3,  # hook-all on both clusters, hook-two on the second
            "archiverPolicies": 2,
            "backupPolicies": 4,
            "retentionPolicies": 4,
            "backupStorages": 4,
            "snapshots": 4,
        }

    last: list[dict[str, int]] = []
    try:
        await eventually(cached, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"the seeded objects never all showed: {last}") from exc
    yield Seeded(u=u, admin_ns=admin_ns)


POLICY_READS = """
query($c: String, $ns: String!) {
  archiverPolicies(cluster: $c, namespace: $ns, databaseKind: "postgres") {
    cluster name kind databaseKind usage fullBackupMethod
    storage { name location { bucket } } retentionPolicy { name } }
  hookTemplates(cluster: $c, namespace: $ns) { cluster name executor usage params { name } }
  backupPolicies(cluster: $c, namespace: $ns, databaseKind: "Postgres") {
    name
    choices {
      sessions { name methods schedule maySetSchedule }
      mayChooseRetention retentionPolicies { name }
      mayUseOwnStorage ownStorages { name location { bucket } }
      variables } }
}"""


async def _reads(gateway: Gateway, s: Seeded, *, user: str, cluster: str, ns: str) -> Any:
    body = await gateway.query(POLICY_READS, {"c": cluster, "ns": ns}, user=user)
    data = body["data"]

    def ours(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if i["name"].endswith(s.u)]

    for policy in data["backupPolicies"]:
        choices = policy["choices"]
        choices["retentionPolicies"] = ours(choices["retentionPolicies"])
        choices["ownStorages"] = ours(choices["ownStorages"])
    return {key: ours(value) for key, value in data.items()}


OPEN_SESSION = {
    "name": "full-backup",
    "methods": ["LOGICAL"],
    "schedule": "0 1 * * *",
    "maySetSchedule": True,
}


async def test_alice_sees_what_team_a_may_use(gateway: Gateway, seeded: Seeded) -> None:
    u = seeded.u
    for cluster in CLUSTERS:
        data = await _reads(gateway, seeded, user="alice", cluster=cluster, ns="team-a")
        # Alice may edit databases in team-a: every summary usable there, though she may
        # list none of the admin namespace's objects; the storages only as summaries.
        assert data["archiverPolicies"] == [
            {
                "cluster": cluster,
                "name": f"pg-a-{u}",
                "kind": "PostgresArchiver",
                "databaseKind": "Postgres",
                "usage": "SELECTOR",
                "fullBackupMethod": "PHYSICAL",
                "storage": None,
                "retentionPolicy": {"name": f"keep-{u}"},
            },
            {
                "cluster": cluster,
                "name": f"pg-all-{u}",
                "kind": "PostgresArchiver",
                "databaseKind": "Postgres",
                "usage": "ALL",
                "fullBackupMethod": "VOLUME_SNAPSHOT",
                "storage": None,
                "retentionPolicy": {"name": f"keep-{u}"},
            },
        ]
        hooks = [h["name"] for h in data["hookTemplates"]]
        assert hooks == [f"hook-a-{u}", f"hook-all-{u}"] + (
            [f"hook-two-{u}"] if cluster == CLUSTERS[1] else []
        )
        assert data["hookTemplates"][0] == {
            "cluster": cluster,
            "name": f"hook-a-{u}",
            "executor": "FUNCTION",
            "usage": "SELECTOR",
            "params": [{"name": "TABLE"}],
        }
        policies = {p["name"]: p["choices"] for p in data["backupPolicies"]}
        assert set(policies) == {f"open-{u}", f"fixed-{u}"}
        assert policies[f"open-{u}"] == {
            "sessions": [OPEN_SESSION],
            "mayChooseRetention": True,
            # Usable from team-a: the admin's (All) and team-a's own (Same); not team-b's.
            "retentionPolicies": [{"name": f"a-keep-{u}"}, {"name": f"keep-{u}"}],
            "mayUseOwnStorage": True,
            # The admin's shared storage is usable, but alice may not read it.
            "ownStorages": [{"name": f"mine-{u}", "location": {"bucket": "team-a-bucket"}}],
            "variables": ["tier"],
        }
        assert policies[f"fixed-{u}"] == {
            "sessions": [
                {
                    "name": "full-backup",
                    "methods": ["LOGICAL"],
                    "schedule": "30 2 * * *",
                    "maySetSchedule": False,
                }
            ],
            "mayChooseRetention": False,
            "retentionPolicies": [{"name": f"keep-{u}"}],
            "mayUseOwnStorage": False,
            "ownStorages": [],
            "variables": [],
        }

        # In team-b alice may neither edit databases nor list anything: nothing is shown.
        elsewhere = await _reads(gateway, seeded, user="alice", cluster=cluster, ns="team-b")
        assert elsewhere == {"archiverPolicies": [], "hookTemplates": [], "backupPolicies": []}


async def test_bob_sees_only_what_he_may_list_in_team_b(gateway: Gateway, seeded: Seeded) -> None:
    u = seeded.u
    for cluster in CLUSTERS:
        data = await _reads(gateway, seeded, user="bob", cluster=cluster, ns="team-b")
        # Bob only reads team-b: the admin's summaries usable there are not his to see,
        # team-b's own objects are, and he may read team-b's storage.
        assert [
            (a["name"], a["usage"], a["storage"], a["retentionPolicy"])
            for a in data["archiverPolicies"]
        ] == [
            (
                f"pg-b-{u}",
                "SAME",
                {"name": f"theirs-{u}", "location": {"bucket": "team-b-bucket"}},
                {"name": f"b-keep-{u}"},
            )
        ]
        assert [h["name"] for h in data["hookTemplates"]] == [f"hook-b-{u}"]
        assert data["backupPolicies"] == [
            {
                "name": f"team-b-{u}",
                "choices": {
                    "sessions": [OPEN_SESSION],
                    "mayChooseRetention": True,
                    # keep-<u> is usable from team-b too, but bob may not list it.
                    "retentionPolicies": [{"name": f"b-keep-{u}"}],
                    "mayUseOwnStorage": True,
                    "ownStorages": [
                        {"name": f"theirs-{u}", "location": {"bucket": "team-b-bucket"}}
                    ],
                    "variables": ["tier"],
                },
            }
        ]


async def test_choices_answer_for_the_namespace_asked_listed_or_own(
    gateway: Gateway, seeded: Seeded
) -> None:
    u = seeded.u
    query = """query($ns: String!, $other: String) {
        backupPolicies(cluster: "sandbox-2", namespace: $ns, databaseKind: "Postgres") {
            id name
            listed: choices { retentionPolicies { name } ownStorages { name } }
            asked: choices(namespace: $other) { retentionPolicies { name } ownStorages { name } }
        } }"""

    def names(items: list[dict[str, Any]]) -> list[str]:
        return [i["name"] for i in items if i["name"].endswith(u)]

    body = await gateway.query(query, {"ns": "team-b", "other": "team-a"}, user="bob")
    [policy] = [p for p in body["data"]["backupPolicies"] if p["name"].endswith(u)]
    assert names(policy["listed"]["retentionPolicies"]) == [f"b-keep-{u}"]
    assert names(policy["listed"]["ownStorages"]) == [f"theirs-{u}"]
    # Asked about team-a, where bob may neither edit nor list: nothing of team-a shows.
    assert names(policy["asked"]["retentionPolicies"]) == []
    assert names(policy["asked"]["ownStorages"]) == []

    body = await gateway.query(query, {"ns": "team-a", "other": "team-b"}, user="admin")
    policies = {p["name"]: p for p in body["data"]["backupPolicies"]}
    open_policy = policies[f"open-{u}"]
    assert names(open_policy["listed"]["ownStorages"]) == [f"mine-{u}", f"shared-{u}"]
    assert names(open_policy["asked"]["ownStorages"]) == [f"theirs-{u}", f"shared-{u}"]

    # Refetched by its ID it was listed for no namespace: its own (the admin's) answers.
    body = await gateway.query(
        """query($id: ID!) { node(id: $id) { ... on BackupPolicy { name
            choices { retentionPolicies { name } ownStorages { name } } } } }""",
        {"id": open_policy["id"]},
        user="admin",
    )
    node = body["data"]["node"]
    assert node["name"] == f"open-{u}"
    assert names(node["choices"]["retentionPolicies"]) == [f"keep-{u}"]
    assert names(node["choices"]["ownStorages"]) == [f"shared-{u}"]


async def test_archivers_and_hooks_refetch_by_id(gateway: Gateway, seeded: Seeded) -> None:
    u = seeded.u
    body = await gateway.query(
        """query($ns: String!) {
            archiverPolicies(cluster: "sandbox-1", namespace: $ns, databaseKind: "MySQL") {
                id name }
            hookTemplates(cluster: "sandbox-1", namespace: $ns) { id name } }""",
        {"ns": seeded.admin_ns},
    )
    [mysql] = [a for a in body["data"]["archiverPolicies"] if a["name"].endswith(u)]
    hook = next(h for h in body["data"]["hookTemplates"] if h["name"] == f"hook-all-{u}")
    body = await gateway.query(
        """query($a: ID!, $h: ID!) {
            a: node(id: $a) { __typename ... on ArchiverPolicy { name kind databaseKind } }
            h: node(id: $h) { __typename ... on HookTemplate { name usage } } }""",
        {"a": mysql["id"], "h": hook["id"]},
    )
    assert body["data"] == {
        "a": {
            "__typename": "ArchiverPolicy",
            "name": f"my-all-{u}",
            "kind": "MySQLArchiver",
            "databaseKind": "MySQL",
        },
        "h": {"__typename": "HookTemplate", "name": f"hook-all-{u}", "usage": "ALL"},
    }


async def test_snapshots_say_what_they_hold_to_whoever_may_see_them(
    gateway: Gateway, seeded: Seeded
) -> None:
    u = seeded.u
    query = """query($c: [String!]) {
        snapshots(filter: {clusters: $c, namespaces: ["team-a", "team-b"]}) { nodes {
            namespace name contents { manifest authSecret catalogVersion data version } } } }"""

    async def seen(user: str, cluster: str) -> dict[tuple[str, str], Any]:
        body = await gateway.query(query, {"c": [cluster]}, user=user)
        return {
            (n["namespace"], n["name"]): n["contents"]
            for n in body["data"]["snapshots"]["nodes"]
            if n["name"].endswith(u)
        }

    full = {
        "manifest": True,
        "authSecret": True,
        "catalogVersion": True,
        "data": True,
        "version": "16.4",
    }
    manifest_only = {
        "manifest": True,
        "authSecret": True,
        "catalogVersion": True,
        "data": False,
        "version": None,
    }
    for cluster in CLUSTERS:
        assert await seen("alice", cluster) == {("team-a", f"full-{u}"): full}
        assert await seen("bob", cluster) == {("team-b", f"manifest-{u}"): manifest_only}


async def test_bad_arguments_get_clear_errors(gateway: Gateway, seeded: Seeded) -> None:
    body = await gateway.query(
        '{ archiverPolicies(namespace: "team-a", databaseKind: "Oracle9i") { name } }',
        user="alice",
        expect_errors=True,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Oracle9i" in error["message"]
    body = await gateway.query(
        '{ hookTemplates(cluster: "nowhere", namespace: "team-a") { name } }',
        user="alice",
        expect_errors=True,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "nowhere" in error["message"]
