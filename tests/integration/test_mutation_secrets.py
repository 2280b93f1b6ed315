"""No credential value in any mutation answer: storage keys and encryption passwords
are write-only.

This module runs the mutations that carry credentials (createBackupStorage with an
access key, updateBackupStorage rotating it, createBackupPolicy, createArchiverPolicy
and enableBackup with encryption passwords), as successes, dry runs, retries and
refusals, and checks that the values did reach the cluster (so the check is not
vacuous). Its last test then looks for every credential value, as given and
base64-encoded, in every response body the suite's mutation helper received so far
(``tests.mutations.RECORDED``); the other mutation modules run the same check over
their own answers when they end (``tests.mutations.recording``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, seed
from tests.mutations import (
    ACCESS_KEY_ID,
    CREDENTIALS,
    PASSWORD,
    POLICY_PASSWORD,
    RECORDED,
    ROTATED_ACCESS_KEY_ID,
    ROTATED_SECRET_ACCESS_KEY,
    SECRET_ACCESS_KEY,
    Mutations,
    leaked,
    read,
    recording,
    ref,
    refused,
    seen,
    succeeded,
)

pytestmark = pytest.mark.sandbox

NS = "team-a"
KEYS = {"accessKeyId": ACCESS_KEY_ID, "secretAccessKey": SECRET_ACCESS_KEY}
ROTATED = {"accessKeyId": ROTATED_ACCESS_KEY_ID, "secretAccessKey": ROTATED_SECRET_ACCESS_KEY}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def m(gateway: Gateway) -> AsyncIterator[Mutations]:
    async for calls in recording(gateway):
        yield calls


@pytest.fixture(autouse=True)
def gateway_logs(caplog: pytest.LogCaptureFixture, m: Mutations) -> Iterator[None]:
    """The gateway runs in this process: its log lines and its audit log (logger
    stashql.audit) hold no credential either, and the audit log did record the calls."""
    calls = len(m.bodies)
    with caplog.at_level(logging.DEBUG, logger="stashql"):
        yield
    records = caplog.get_records("call")  # caplog.records would be the teardown's
    assert leaked([caplog.handler.format(r) for r in records], CREDENTIALS) == []
    if len(m.bodies) > calls:
        assert any(r.name == "stashql.audit" for r in records)


@pytest.fixture(scope="module")
def mark() -> str:
    return os.urandom(3).hex()


@pytest.fixture(scope="module")
def cluster(sandbox: Sandbox) -> str:
    return sandbox.clusters[0].name


def storage(cluster: str, ns: str, name: str, credentials: dict[str, str]) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "namespace": ns,
        "name": name,
        "provider": "S3",
        "location": {"bucket": "secrets-test", "prefix": name, "region": "eu-west-1"},
        "credentials": credentials,
    }


def decoded(secret: dict[str, Any]) -> set[str]:
    return {base64.b64decode(v).decode() for v in (secret.get("data") or {}).values()}


async def test_storage_credentials_are_written_never_answered(
    sandbox: Sandbox, m: Mutations, mark: str, cluster: str
) -> None:
    name = f"sec-{mark}"
    inp = storage(cluster, NS, name, KEYS)
    dry = succeeded(await m("createBackupStorage", {**inp, "dryRun": True}, user="alice"))
    secret = next(c for c in dry["plan"] if c["kind"] == "Secret")
    # Keys are kept, values are not.
    assert set(secret["object"]["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert set(secret["object"]["stringData"].values()) == {"<redacted>"}

    keyed = {**inp, "idempotencyKey": f"sec-{mark}"}
    made = succeeded(await m("createBackupStorage", keyed, user="alice"))
    succeeded(await m("createBackupStorage", keyed, user="alice"))  # the replayed answer
    stored = await read(sandbox, cluster=0, kind="Secret", namespace=NS, name=secret["name"])
    assert stored is not None
    assert decoded(stored) == {ACCESS_KEY_ID, SECRET_ACCESS_KEY}
    assert made["backupStorage"]["name"] == name

    # Refusals that carry the credentials: the name is taken; a namespace she may not
    # write to; the same key with other input.
    refused(await m("createBackupStorage", inp, user="alice"), "TARGET_EXISTS")
    refused(
        await m("createBackupStorage", storage(cluster, "kubedb", name, KEYS), user="alice"),
        "FORBIDDEN",
    )
    refused(
        await m("createBackupStorage", {**keyed, "credentials": ROTATED}, user="alice"),
        "IDEMPOTENCY_KEY_REUSED",
    )

    # Rotation: dry run, the change, and a refusal (bob may not see team-a).
    rotate = {"backupStorage": ref(cluster, NS, name), "credentials": ROTATED}
    dry = succeeded(await m("updateBackupStorage", {**rotate, "dryRun": True}, user="alice"))
    assert any(c["kind"] == "Secret" for c in dry["plan"])
    succeeded(await m("updateBackupStorage", rotate, user="alice"))
    stored = await read(sandbox, cluster=0, kind="Secret", namespace=NS, name=secret["name"])
    assert stored is not None
    assert decoded(stored) == {ROTATED_ACCESS_KEY_ID, ROTATED_SECRET_ACCESS_KEY}
    refused(await m("updateBackupStorage", rotate, user="bob"), "NOT_FOUND")

    # What a viewer reads of the storage afterwards holds no credential either.
    body = await m.post(
        "query($c: String, $ns: String!) { backupStorages(cluster: $c, namespace: $ns) {"
        " name provider location { bucket prefix endpoint region } } }",
        {"c": cluster, "ns": NS},
        user="alice",
    )
    assert name in [s["name"] for s in body["data"]["backupStorages"]]


async def test_encryption_passwords_are_written_never_answered(
    sandbox: Sandbox, gateway: Gateway, m: Mutations, mark: str, cluster: str
) -> None:
    st, rp, db = f"est-{mark}", f"erp-{mark}", f"edb-{mark}"
    await seed(
        sandbox,
        [
            o.backup_storage(st, NS),
            o.retention_policy(rp, NS),
            o.database("Postgres", db, NS),
            o.addon(
                "postgres-addon",
                ("logical-backup", "physical-backup", "volume-snapshot", "manifest-backup"),
                ("logical-backup-restore",),
            ),
        ],
    )
    await seen(
        gateway,
        cluster=cluster,
        namespace=NS,
        storages=[st],
        retention=[rp],
        databases=[("Postgres", db)],
    )
    policy = {
        "cluster": cluster,
        "namespace": NS,
        "name": f"epol-{mark}",
        "databaseKinds": ["Postgres"],
        "sessions": [{"name": "full-backup", "methods": ["LOGICAL"], "schedule": "0 2 * * *"}],
        "storage": ref(cluster, NS, st),
        "retentionPolicy": ref(cluster, NS, rp),
        "encryption": {"password": POLICY_PASSWORD},
    }
    succeeded(await m("createBackupPolicy", {**policy, "dryRun": True}, user="alice"))
    made = succeeded(await m("createBackupPolicy", policy, user="alice"))
    secret = next(c for c in made["plan"] if c["kind"] == "Secret")
    stored = await read(sandbox, cluster=0, kind="Secret", namespace=NS, name=secret["name"])
    assert stored is not None
    assert decoded(stored) == {POLICY_PASSWORD}
    refused(await m("createBackupPolicy", policy, user="alice"), "TARGET_EXISTS")
    # Refused whichever check comes first: she may not write to team-b.
    other = await m("createBackupPolicy", {**policy, "namespace": "team-b"}, user="alice")
    assert other["userErrors"]
    archiver = {
        "cluster": cluster,
        "namespace": NS,
        "name": f"earc-{mark}",
        "databaseKind": "Postgres",
        "storage": ref(cluster, NS, st),
        "encryption": {"password": POLICY_PASSWORD},
        "fullBackupSchedule": "0 1 * * *",
        "databaseSelector": {"matchLabels": {"archive": "secrets-none"}},
    }
    succeeded(await m("createArchiverPolicy", {**archiver, "dryRun": True}, user="alice"))
    other = await m("createArchiverPolicy", {**archiver, "namespace": "kubedb"}, user="alice")
    assert other["userErrors"]

    enable = {
        "database": ref(cluster, NS, db, "Postgres"),
        "backup": {
            "storage": ref(cluster, NS, st),
            "schedule": "0 3 * * *",
            "encryption": {"password": PASSWORD},
        },
    }
    bad = {**enable, "backup": {**enable["backup"], "schedule": "whenever"}}
    refused(await m("enableBackup", bad, user="alice"), "INVALID_SCHEDULE")
    dry = succeeded(await m("enableBackup", {**enable, "dryRun": True}, user="alice"))
    assert dry["plan"][0]["object"]["stringData"] == {"RESTIC_PASSWORD": "<redacted>"}
    done = succeeded(await m("enableBackup", enable, user="alice"))
    secret = next(c for c in done["plan"] if c["kind"] == "Secret")
    stored = await read(sandbox, cluster=0, kind="Secret", namespace=NS, name=secret["name"])
    assert stored is not None
    assert decoded(stored) == {PASSWORD}
    refused(await m("enableBackup", enable, user="alice"), "BACKUP_ALREADY_ENABLED")
    refused(await m("enableBackup", enable, user="bob"), "NOT_FOUND")


def test_no_answer_of_the_suite_holds_a_credential(sandbox: Sandbox) -> None:
    # Runs last in this module: everything above, and every module before, is recorded.
    assert len(RECORDED) >= 20
    assert any("createBackupStorage" in body for body in RECORDED)
    assert leaked(RECORDED, CREDENTIALS) == []
    # Nor the API servers' audit logs of those writes.
    for cluster in range(len(sandbox.clusters)):
        events = [json.dumps(e) for e in sandbox.audit_events(cluster)]
        assert events
        assert leaked(events, CREDENTIALS) == []
