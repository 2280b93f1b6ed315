"""Helpers of the mutation tests: one GraphQL call per mutation with every answer kept,
and the cluster's objects as the API server lists them to admin.

Every body a ``Mutations`` receives is kept twice: on the instance (so a module can check
its own answers when it ends) and in ``RECORDED`` (so the secrets test, which runs its
own credential-bearing calls, also checks whatever the suite answered before it).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import httpx

from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, eventually, kube_http

# Every response body any Mutations received in this test session, in order.
RECORDED: list[str] = []

CLUSTERS = (0, 1)

# Credential values the mutation tests send; no answer may ever hold one (or its base64).
ACCESS_KEY_ID = "AKIAMTESTQ7ZX3KEYID"
SECRET_ACCESS_KEY = "mtest-secret-access-key-7c2e9a1f"
ROTATED_ACCESS_KEY_ID = "AKIAMTESTROTATEDR4Y"
ROTATED_SECRET_ACCESS_KEY = "mtest-rotated-secret-key-91d04b"
PASSWORD = "mtest-encryption-password-4b8d"
POLICY_PASSWORD = "mtest-policy-password-2f9c6e"
CREDENTIALS = (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    ROTATED_ACCESS_KEY_ID,
    ROTATED_SECRET_ACCESS_KEY,
    PASSWORD,
    POLICY_PASSWORD,
)

CORE = "/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/"
STORAGE = "/apis/storage.kubestash.com/v1alpha1/namespaces/{ns}/"
# The kinds mutations write, as the API server lists them (namespaced collections).
COLLECTIONS: dict[str, str] = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "BackupStorage": STORAGE + "backupstorages",
    "RetentionPolicy": STORAGE + "retentionpolicies",
    "Repository": STORAGE + "repositories",
    "BackupBlueprint": CORE + "backupblueprints",
    "HookTemplate": CORE + "hooktemplates",
    "BackupConfiguration": CORE + "backupconfigurations",
    "BackupSession": CORE + "backupsessions",
    "PostgresArchiver": "/apis/archiver.kubedb.com/v1alpha1/namespaces/{ns}/postgresarchivers",
    "Postgres": "/apis/kubedb.com/v1/namespaces/{ns}/postgreses",
}

PLAN = "plan { action cluster apiVersion kind namespace name summary object }"
COMMON = PLAN + " warnings { code message } userErrors { code message field }"
STORAGE_FIELDS = "id cluster namespace name uid provider isDefault usage"
DATABASE_FIELDS = "database { id cluster namespace name kind }"
CONFIGURATION_FIELDS = (
    "configuration { id cluster namespace name uid paused sessions { name schedule tasks } }"
)
# What each payload answers besides the common fields.
OBJECT_FIELDS: dict[str, str] = {
    "createBackupStorage": f"backupStorage {{ {STORAGE_FIELDS} }}",
    "updateBackupStorage": f"backupStorage {{ {STORAGE_FIELDS} }}",
    "createRetentionPolicy": (
        "retentionPolicy { id cluster namespace name uid maxRetentionPeriod isDefault usage"
        " failedSnapshotsLast }"
    ),
    "updateRetentionPolicy": (
        "retentionPolicy { id cluster namespace name uid maxRetentionPeriod isDefault usage"
        " failedSnapshotsLast }"
    ),
    "createBackupPolicy": (
        "backupPolicy { id cluster namespace name uid usage sessions { name schedule methods } }"
    ),
    "updateBackupPolicy": (
        "backupPolicy { id cluster namespace name uid usage sessions { name schedule methods } }"
    ),
    "createHookTemplate": "hookTemplate { id cluster namespace name uid executor usage }",
    "updateHookTemplate": "hookTemplate { id cluster namespace name uid executor usage }",
    "createArchiverPolicy": (
        "archiverPolicy { id cluster namespace name uid kind databaseKind fullBackupSchedule"
        " paused }"
    ),
    "updateArchiverPolicy": (
        "archiverPolicy { id cluster namespace name uid kind databaseKind fullBackupSchedule"
        " paused }"
    ),
    "deletePolicyObject": "deletedId",
    "enableBackup": (
        f"impact {{ unavailableDuringSetup methods {{ method }} }} {DATABASE_FIELDS} "
        + CONFIGURATION_FIELDS
    ),
    "updateBackup": (
        f"impact {{ unavailableDuringSetup methods {{ method }} }} {DATABASE_FIELDS} "
        + CONFIGURATION_FIELDS
    ),
    "disableBackup": DATABASE_FIELDS,
    "pauseBackup": DATABASE_FIELDS,
    "resumeBackup": DATABASE_FIELDS,
    "triggerBackup": "backupSessions { id cluster namespace name uid session }",
}


def input_type(mutation: str) -> str:
    return mutation[0].upper() + mutation[1:] + "Input"


def document(mutation: str) -> str:
    return (
        f"mutation($i: {input_type(mutation)}!) {{ {mutation}(input: $i) "
        f"{{ {COMMON} {OBJECT_FIELDS[mutation]} }} }}"
    )


class Mutations:
    """Posts mutations to the gateway as a sandbox user and keeps every answer."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.bodies: list[str] = []

    async def post(self, query: str, variables: dict[str, Any], *, user: str) -> dict[str, Any]:
        """The whole GraphQL answer (status 200 asserted), kept as text."""
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                self.gateway.url + "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {self.gateway.sandbox.tokens[user]}"},
            )
        self.bodies.append(r.text)
        RECORDED.append(r.text)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def __call__(
        self, mutation: str, inp: dict[str, Any], *, user: str = "admin"
    ) -> dict[str, Any]:
        """The mutation's payload; a GraphQL error (not a userError) fails the test."""
        body = await self.post(document(mutation), {"i": inp}, user=user)
        assert not body.get("errors"), body["errors"]
        payload: dict[str, Any] = body["data"][mutation]
        return payload


async def recording(gateway: Gateway) -> AsyncIterator[Mutations]:
    """A module's Mutations; when the module ends, none of its answers (refusals and dry
    runs included) holds a credential value."""
    calls = Mutations(gateway)
    yield calls
    assert leaked(calls.bodies, CREDENTIALS) == []


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def refused(payload: dict[str, Any], code: str) -> dict[str, Any]:
    """The payload's user error of ``code``; fails unless that is what it answered."""
    assert code in codes(payload), payload["userErrors"] or payload["plan"]
    return next(e for e in payload["userErrors"] if e["code"] == code)


def succeeded(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def planned(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(action, kind, name) of each planned change."""
    return [(c["action"], c["kind"], c["name"]) for c in payload["plan"]]


async def listing(
    sandbox: Sandbox,
    *,
    cluster: int,
    namespaces: Iterable[str],
    kinds: Sequence[str] = tuple(COLLECTIONS),
) -> dict[str, str]:
    """Every object of ``kinds`` in ``namespaces``, as admin lists them through the API
    server: ``"Kind ns/name"`` to its resourceVersion (so any change shows)."""
    found: dict[str, str] = {}
    async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
        for ns in namespaces:
            for kind in kinds:
                r = await admin.get(COLLECTIONS[kind].format(ns=ns))
                assert r.status_code == 200, r.text
                for item in r.json()["items"]:
                    meta = item["metadata"]
                    found[f"{kind} {ns}/{meta['name']}"] = meta["resourceVersion"]
    return found


async def read(
    sandbox: Sandbox, *, cluster: int, kind: str, namespace: str, name: str
) -> dict[str, Any] | None:
    """One object as admin reads it through the API server; None if it does not exist."""
    async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
        r = await admin.get(COLLECTIONS[kind].format(ns=namespace) + "/" + name)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    obj: dict[str, Any] = r.json()
    return obj


def leaked(bodies: Iterable[str], values: Iterable[str]) -> list[str]:
    """Which credential values (as given, or base64-encoded as Secret data holds them)
    appear in any body."""
    forms = {v: (v, base64.b64encode(v.encode()).decode()) for v in values}
    text = "\n".join(bodies)
    return [v for v, shapes in forms.items() if any(s in text for s in shapes)]


def ref(cluster: str, namespace: str, name: str, kind: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"cluster": cluster, "namespace": namespace, "name": name}
    if kind:
        out["kind"] = kind
    return out


async def seen(
    gateway: Gateway,
    *,
    cluster: str,
    namespace: str,
    storages: Sequence[str] = (),
    retention: Sequence[str] = (),
    databases: Sequence[tuple[str, str]] = (),
    backed_up: Sequence[tuple[str, str]] = (),
) -> None:
    """Wait until the gateway's cache holds seeded objects (informers are eventual, and
    the planners read the cache)."""

    async def there() -> bool:
        body = await gateway.query(
            "query($c: String, $ns: String!) {"
            " backupStorages(cluster: $c, namespace: $ns) { name namespace }"
            " retentionPolicies(cluster: $c, namespace: $ns) { name namespace } }",
            {"c": cluster, "ns": namespace},
        )
        have = {(k, x["namespace"], x["name"]) for k, xs in body["data"].items() for x in xs}
        if not all(("backupStorages", namespace, s) in have for s in storages):
            return False
        if not all(("retentionPolicies", namespace, r) in have for r in retention):
            return False
        for kind, name in [*databases, *backed_up]:
            found = await gateway.query(
                "query($r: ObjectRefInput!) { database(ref: $r) { name backup { enabled } } }",
                {"r": ref(cluster, namespace, name, kind)},
            )
            db = found["data"]["database"]
            if db is None or ((kind, name) in backed_up and not db["backup"]["enabled"]):
                return False
        return True

    await eventually(there)
