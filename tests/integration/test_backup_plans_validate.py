"""What the backup planners write is accepted by a real API server as it stands.

Each planned object is sent the way the engine sends it (server-side apply, field
manager ``stashql``, ``dryRun=All``) to the sandbox's kube-apiserver with the project's
CRDs, as admin: the server validates it against the CRD schema and answers with the
object it would store, which must keep every field planned (a structural schema prunes
fields it does not declare, silently).
"""

from __future__ import annotations

from typing import Any

import pytest

from apis.resources import BACKUP_CONFIGURATIONS
from kube.client import KubeClient
from resolvers.writes.backup import (
    BackupSetupInput,
    EnableBackupInput,
    EncryptionInput,
    ObjectRefInput,
    PauseBackupInput,
    TriggerBackupInput,
    plan_enable_backup,
    plan_pause_backup,
    plan_trigger_backup,
)
from resolvers.writes.plan import Change
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.unit.test_backup_plans import CLUSTER, NOW, MemoryStore, world
from tests.unit.test_blueprints import policy

pytestmark = pytest.mark.sandbox

Obj = dict[str, Any]
NAMESPACE = "team-a"


def contains(actual: Any, expected: Any, path: str = "") -> None:
    """Every field of ``expected`` is in ``actual`` with the same value (defaults may add)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} was dropped by the API server"
            contains(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: {actual!r}"
        assert len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            contains(a, e, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


async def dry_run(client: KubeClient, change: Change) -> Obj:
    assert change.body is not None
    path = change.resource.path(namespace=change.namespace, name=change.name)
    answer = await client.apply(
        path, change.body, field_manager="stashql", params={"dryRun": "All"}
    )
    spec = {k: v for k, v in change.body.items() if k not in ("metadata", "stringData")}
    contains(answer, spec)
    contains(
        answer["metadata"],
        {k: v for k, v in change.body["metadata"].items() if k != "resourceVersion"},
    )
    return answer


async def _database(client: KubeClient, name: str) -> Obj:
    """A Ready Postgres (status written as KubeDB would; the sandbox runs no operator)."""
    body = o.database("Postgres", name, NAMESPACE, labels={"archive": "yes"})
    status = body.pop("status")
    path = f"/apis/kubedb.com/v1/namespaces/{NAMESPACE}/postgreses/{name}"
    await client.apply(path, body, field_manager="sandbox-test")
    return await client.request(
        "PATCH",
        path + "/status",
        body={"status": status},
        content_type="application/merge-patch+json",
    )


async def _store(client: KubeClient, name: str) -> MemoryStore:
    store = world()
    store.put(await _database(client, name))
    return store


def _enable(store: MemoryStore, name: str, **backup: Any) -> list[Change]:
    inp = EnableBackupInput(
        database=ObjectRefInput(namespace=NAMESPACE, name=name, kind="Postgres"),
        backup=BackupSetupInput(**backup),
    )
    result = plan_enable_backup(inp, store=store, cluster=CLUSTER, now=NOW)
    assert not result.plan.errors, result.plan.errors
    return result.plan.changes


async def test_the_configuration_expanded_from_a_policy_is_valid(
    sandbox: Sandbox, unique: str
) -> None:
    client = sandbox.client(0, user="admin")
    try:
        name = f"pol-{unique}"
        store = await _store(client, name)
        store.put(policy(own_storage=True, choose_retention=True))
        (change,) = _enable(
            store,
            name,
            policy=ObjectRefInput(namespace="backup-admin", name="gold"),
            methods=["LOGICAL"],
            schedule="30 1 * * *",
            storage=ObjectRefInput(namespace=NAMESPACE, name="mine"),
        )
        answer = await dry_run(client, change)
        assert answer["spec"]["sessions"][0]["repositories"][0]["name"] == f"{name}-daily"
        r = await client.get(BACKUP_CONFIGURATIONS.path(namespace=NAMESPACE))
        assert f"{name}-backup" not in [i["metadata"]["name"] for i in r["items"]]
    finally:
        await client.close()


async def test_own_storage_configuration_and_its_encryption_secret_are_valid(
    sandbox: Sandbox, unique: str
) -> None:
    client = sandbox.client(0, user="admin")
    try:
        name = f"own-{unique}"
        store = await _store(client, name)
        secret, bc = _enable(
            store,
            name,
            methods=["LOGICAL", "PHYSICAL"],
            schedule="0 1 * * *",
            storage=ObjectRefInput(namespace=NAMESPACE, name="mine"),
            encryption=EncryptionInput(password="not-shown"),
        )
        path = secret.resource.path(namespace=secret.namespace, name=secret.name)
        assert secret.body is not None
        answer = await client.apply(
            path, secret.body, field_manager="stashql", params={"dryRun": "All"}
        )
        assert set(answer["data"]) == {"RESTIC_PASSWORD"}
        await dry_run(client, bc)
    finally:
        await client.close()


async def test_the_continuous_backup_patch_of_the_database_is_valid(
    sandbox: Sandbox, unique: str
) -> None:
    client = sandbox.client(0, user="admin")
    try:
        name = f"cont-{unique}"
        store = await _store(client, name)
        (patch,) = _enable(store, name, methods=["CONTINUOUS"])
        answer = await dry_run(client, patch)
        assert answer["spec"]["archiver"] == {
            "ref": {"name": "pg-archiver", "namespace": "backup-admin"},
            "pause": False,
        }
        # The whole spec went with it, so nothing the database had was lost.
        assert answer["spec"]["version"] == "16.4"
    finally:
        await client.close()


async def test_pausing_and_triggering_a_stored_configuration_are_valid(
    sandbox: Sandbox, unique: str
) -> None:
    client = sandbox.client(0, user="admin")
    try:
        name = f"run-{unique}"
        store = await _store(client, name)
        (create,) = _enable(
            store, name, policy=ObjectRefInput(namespace="backup-admin", name="gold")
        )
        assert create.body is not None
        path = create.resource.path(namespace=create.namespace, name=create.name)
        stored = await client.apply(path, create.body, field_manager="stashql")
        store.put(stored)
        db = ObjectRefInput(namespace=NAMESPACE, name=name, kind="Postgres")

        pause = plan_pause_backup(
            PauseBackupInput(database=db), store=store, cluster=CLUSTER, now=NOW
        )
        (change,) = pause.plan.changes
        answer = await dry_run(client, change)
        assert answer["spec"]["paused"] is True

        trigger = plan_trigger_backup(
            TriggerBackupInput(database=db), store=store, cluster=CLUSTER, now=NOW
        )
        assert [c.kind for c in trigger.plan.changes] == ["BackupSession", "BackupSession"]
        for session in trigger.plan.changes:
            answer = await dry_run(client, session)
            assert answer["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]
    finally:
        await client.close()
