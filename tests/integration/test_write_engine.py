"""The write engine against the real sandbox: plans of real objects, run as real users."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from apis.resources import RETENTION_POLICIES, SECRETS
from auth.audit import AuditLog
from core.identity import Viewer
from kube.client import ApiError, KubeClient
from resolvers.writes.engine import Outcome, Writer, WriteSettings
from resolvers.writes.idempotency import input_digest, record_name
from resolvers.writes.plan import Action, Change, JSONDict, Plan
from sandbox.controlplane import Sandbox
from tests.helpers import eventually, free_port, kube_http

pytestmark = pytest.mark.sandbox

ALICE = Viewer("alice", ("team-a-developers", "system:authenticated"), "alice-uid")
BOB = Viewer("bob", ("team-b-viewers", "system:authenticated"), "bob-uid")
RP = "/apis/storage.kubestash.com/v1alpha1/namespaces/{ns}/retentionpolicies"
CM = "/api/v1/namespaces/stashql-system/configmaps/{name}"
SECRET_VALUE = "hunter2-very-secret"
# The sandbox's first cluster (the clients fixture checks it is one).
FIRST = "sandbox-1"


def policy(name: str, ns: str = "team-a", **spec: Any) -> JSONDict:
    return {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"maxRetentionPeriod": "30d", **spec},
    }


def change(action: Action, body: JSONDict, *, cluster: str = FIRST, secret: bool = False) -> Change:
    meta = body["metadata"]
    return Change(
        action=action,
        cluster=cluster,
        resource=SECRETS if secret else RETENTION_POLICIES,
        namespace=meta["namespace"],
        name=meta["name"],
        summary=f"{action.lower()} {meta['name']}",
        body=body,
    )


def plan(*changes: Change) -> Plan:
    return Plan(changes=list(changes))


def gateway_clients(sandbox: Sandbox) -> dict[str, KubeClient]:
    return {c.name: sandbox.client(c.name, user="gateway") for c in sandbox.clusters}


@pytest_asyncio.fixture
async def clients(sandbox: Sandbox) -> AsyncIterator[dict[str, KubeClient]]:
    made = gateway_clients(sandbox)
    assert FIRST in made
    yield made
    for client in made.values():
        await client.close()


@pytest_asyncio.fixture
async def admin(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with kube_http(sandbox, user="admin") as client:
        # A freshly started API server answers 429 for a CRD kind until its cache is warm.
        async def warm() -> bool:
            return (await client.get(RP.format(ns="team-a"))).status_code == 200

        assert await eventually(warm)
        yield client


async def run(
    writer: Writer,
    p: Plan,
    *,
    caller: Viewer = ALICE,
    dry_run: bool = False,
    key: str | None = None,
    digest: str | None = None,
) -> Outcome:
    return await writer.run(
        p,
        caller=caller,
        mutation="test",
        input_digest=digest or input_digest("test", {"plan": [c.name for c in p.changes]}),
        dry_run=dry_run,
        idempotency_key=key,
    )


def codes(outcome: Outcome) -> list[str]:
    return [e.code for e in outcome.plan.errors]


async def names(admin: httpx.AsyncClient, ns: str = "team-a") -> set[str]:
    r = await admin.get(RP.format(ns=ns))
    assert r.status_code == 200, r.text
    return {i["metadata"]["name"] for i in r.json()["items"]}


async def get(admin: httpx.AsyncClient, name: str, ns: str = "team-a") -> httpx.Response:
    return await admin.get(f"{RP.format(ns=ns)}/{name}")


# ------------------------------------------------------------------- check and apply


async def test_alice_creates_objects_and_gets_them_back(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"cred-{unique}", "namespace": "team-a"},
        "stringData": {"password": SECRET_VALUE},
    }
    outcome = await run(
        Writer(clients=clients),
        plan(change("CREATE", policy(f"keep-{unique}")), change("CREATE", secret, secret=True)),
    )
    assert outcome.ok, outcome.plan.errors
    assert [o["metadata"]["name"] for o in outcome.objects] == [f"keep-{unique}", f"cred-{unique}"]
    assert outcome.objects[0]["spec"]["maxRetentionPeriod"] == "30d"
    # Two dry runs and two creates: nothing else is asked.
    assert outcome.round_trips == 4
    assert (await get(admin, f"keep-{unique}")).status_code == 200
    stored = await admin.get(f"/api/v1/namespaces/team-a/secrets/cred-{unique}")
    assert stored.status_code == 200
    assert stored.json()["data"]["password"]  # the real value is stored...
    assert outcome.objects[1]["data"] == {"password": "<redacted>"}  # ...and never returned


async def test_a_dry_run_persists_nothing(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    before = await names(admin)
    outcome = await run(
        Writer(clients=clients),
        plan(change("CREATE", policy(f"dry-{unique}"))),
        dry_run=True,
        key=f"k-{unique}",
    )
    assert outcome.ok
    assert outcome.objects == []
    assert outcome.plan.changes[0].name == f"dry-{unique}"
    assert await names(admin) == before
    # ...not even an idempotency record.
    r = await admin.get(CM.format(name=record_name("alice", f"k-{unique}")))
    assert r.status_code == 404


@pytest.mark.parametrize("who", [BOB, ALICE])
async def test_writing_in_team_b_is_forbidden(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str, who: Viewer
) -> None:
    outcome = await run(
        Writer(clients=clients),
        plan(change("CREATE", policy(f"nope-{unique}", "team-b"))),
        caller=who,
    )
    assert codes(outcome) == ["FORBIDDEN"]
    message = outcome.plan.errors[0].message
    assert f"RetentionPolicy team-b/nope-{unique}" in message
    assert f'User "{who.username}"' in message  # the API server judged the caller
    assert f"nope-{unique}" not in await names(admin, "team-b")


async def test_a_crd_invalid_object_names_the_field(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    bad = policy(f"bad-{unique}", successfulSnapshots={"last": "many"})
    outcome = await run(
        Writer(clients=clients),
        plan(change("CREATE", policy(f"ok-{unique}")), change("CREATE", bad)),
    )
    assert codes(outcome) == ["INVALID_INPUT"]
    error = outcome.plan.errors[0]
    assert error.field == ("spec", "successfulSnapshots", "last")
    assert f"RetentionPolicy team-a/bad-{unique}" in error.message
    # The valid first object was not created either: nothing is applied after a refusal.
    assert not {f"ok-{unique}", f"bad-{unique}"} & await names(admin)


async def test_a_taken_name_is_target_exists(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    name = f"taken-{unique}"
    r = await admin.post(RP.format(ns="team-a"), json=policy(name, maxRetentionPeriod="1y"))
    assert r.status_code == 201
    outcome = await run(Writer(clients=clients), plan(change("CREATE", policy(name))))
    assert codes(outcome) == ["TARGET_EXISTS"]
    assert "already exists" in outcome.plan.errors[0].message
    assert (await get(admin, name)).json()["spec"]["maxRetentionPeriod"] == "1y"


async def test_patching_or_deleting_a_missing_object_is_not_found(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    name = f"ghost-{unique}"
    patched = await run(Writer(clients=clients), plan(change("PATCH", policy(name))))
    assert codes(patched) == ["NOT_FOUND"]
    deleted = await run(Writer(clients=clients), plan(change("DELETE", policy(name))))
    assert codes(deleted) == ["NOT_FOUND"]
    assert (await get(admin, name)).status_code == 404  # the PATCH did not create it


async def test_a_dead_cluster_is_cluster_unavailable(sandbox: Sandbox, unique: str) -> None:
    dead = KubeClient(
        cluster="dead",
        server=f"https://127.0.0.1:{free_port()}",
        ssl_context=sandbox.ssl_context(),
        timeout=3,
    )
    the_plan = plan(change("CREATE", policy(f"x-{unique}"), cluster="dead"))
    try:
        plain = await run(Writer(clients={"dead": dead}), the_plan)
        keyed = await run(Writer(clients={"dead": dead}), the_plan, key=f"k-{unique}")
    finally:
        await dead.close()
    assert codes(plain) == ["CLUSTER_UNAVAILABLE"]
    assert plain.plan.errors[0].message == (
        f"Cluster dead could not be reached, so RetentionPolicy team-a/x-{unique} on cluster "
        "dead was not written; retry later."
    )
    assert codes(keyed) == ["CLUSTER_UNAVAILABLE"]
    assert "Cluster dead could not be reached" in keyed.plan.errors[0].message


async def test_an_admission_policy_denial_is_admission_denied(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    vap = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
    binding = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
    name = f"deny-{unique}"
    r = await admin.post(
        vap,
        json={
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["storage.kubestash.com"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE"],
                            "resources": ["retentionpolicies"],
                        }
                    ]
                },
                "validations": [
                    {"expression": "false", "message": "retention must be approved by ops"}
                ],
            },
        },
    )
    assert r.status_code == 201, r.text
    r = await admin.post(
        binding,
        json={
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"objectSelector": {"matchLabels": {"deny": unique}}},
            },
        },
    )
    assert r.status_code == 201, r.text
    body = policy(f"denied-{unique}")
    body["metadata"]["labels"] = {"deny": unique}
    try:

        async def denied() -> Outcome | None:
            outcome = await run(Writer(clients=clients), plan(change("CREATE", body)), dry_run=True)
            return outcome if codes(outcome) else None

        outcome = await eventually(denied)
        assert codes(outcome) == ["ADMISSION_DENIED"]
        assert "retention must be approved by ops" in outcome.plan.errors[0].message
    finally:
        await admin.delete(f"{binding}/{name}")
        await admin.delete(f"{vap}/{name}")


# ------------------------------------------------------------------------------ undo


async def test_a_failure_at_apply_undoes_everything_the_call_did(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    existing, fresh, clash = f"old-{unique}", f"new-{unique}", f"clash-{unique}"
    r = await admin.post(RP.format(ns="team-a"), json=policy(existing))
    assert r.status_code == 201
    original = r.json()

    async def someone_takes_the_name() -> None:
        # Between the check and the apply, as a concurrent user could.
        made = await admin.post(RP.format(ns="team-a"), json=policy(clash, maxRetentionPeriod="2y"))
        assert made.status_code == 201

    patch = policy(existing, maxRetentionPeriod="90d", default=True)
    patch["metadata"]["labels"] = {"tier": "gold"}
    outcome = await run(
        Writer(clients=clients, between_check_and_apply=someone_takes_the_name),
        plan(
            change("PATCH", patch),
            change("CREATE", policy(fresh)),
            change("CREATE", policy(clash)),
        ),
    )
    assert codes(outcome) == ["TARGET_EXISTS"]
    assert outcome.objects == []
    assert (await get(admin, fresh)).status_code == 404  # created, then deleted
    restored = (await get(admin, existing)).json()
    assert restored["spec"] == original["spec"]  # 30d again, and no "default"
    assert "tier" not in (restored["metadata"].get("labels") or {})
    # The other user's object is untouched.
    assert (await get(admin, clash)).json()["spec"]["maxRetentionPeriod"] == "2y"


async def alice_edits(admin: httpx.AsyncClient, ns: str) -> str:
    """A new namespace where alice may edit; the path of its RoleBinding (delete it to
    take the rights away)."""
    r = await admin.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
    assert r.status_code == 201
    grant = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "alice-edits", "namespace": ns},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "stashql-sandbox:database-editor",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    bindings = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"
    assert (await admin.post(bindings, json=grant)).status_code == 201
    return f"{bindings}/alice-edits"


async def test_a_rights_change_between_check_and_apply_undoes_the_created_objects(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    ns = f"undo-{unique}"
    binding = await alice_edits(admin, ns)

    async def may_create() -> bool:
        probe = plan(change("CREATE", policy("probe", ns)))
        return (await run(Writer(clients=clients), probe, dry_run=True)).ok

    async def alice_loses_her_rights_there() -> None:
        assert (await admin.delete(binding)).status_code == 200
        await eventually(lambda: _not(may_create()))
        # Alice keeps team-a, so the undo (as alice) can delete what the call made there.

    await eventually(may_create)
    outcome = await run(
        Writer(clients=clients, between_check_and_apply=alice_loses_her_rights_there),
        plan(change("CREATE", policy(f"a-{unique}")), change("CREATE", policy(f"b-{unique}", ns))),
    )
    assert codes(outcome) == ["FORBIDDEN"]
    assert f"a-{unique}" not in await names(admin)


async def test_a_delete_that_cannot_be_undone_is_named_in_the_error(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    ns = f"del-{unique}"
    binding = await alice_edits(admin, ns)
    kept, gone, there = f"kept-{unique}", f"gone-{unique}", f"there-{unique}"
    for name, where in ((kept, "team-a"), (gone, "team-a"), (there, ns)):
        assert (await admin.post(RP.format(ns=where), json=policy(name, where))).status_code == 201

    async def may_delete() -> bool:
        probe = plan(change("DELETE", policy(there, ns)))
        return (await run(Writer(clients=clients), probe, dry_run=True)).ok

    async def alice_loses_her_rights_there() -> None:
        assert (await admin.delete(binding)).status_code == 200
        await eventually(lambda: _not(may_delete()))

    await eventually(may_delete)
    outcome = await run(
        Writer(clients=clients, between_check_and_apply=alice_loses_her_rights_there),
        plan(
            change("PATCH", policy(kept, maxRetentionPeriod="1y")),
            change("DELETE", policy(gone)),
            change("DELETE", policy(there, ns)),
        ),
    )
    assert codes(outcome) == ["FORBIDDEN"]
    message = outcome.plan.errors[0].message
    assert f"RetentionPolicy team-a/{gone} on cluster {FIRST} (it was deleted" in message
    assert (await get(admin, kept)).json()["spec"]["maxRetentionPeriod"] == "30d"
    assert (await get(admin, there, ns)).status_code == 200


async def _not(value: Any) -> bool:
    return not await value


# ----------------------------------------------------------------------- idempotency


async def test_a_retry_with_the_same_key_returns_the_first_result_and_changes_nothing(
    sandbox: Sandbox, clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    key, name = f"key-{unique}", f"idem-{unique}"
    the_plan = plan(change("CREATE", policy(name)))
    first = await run(Writer(clients=clients), the_plan, key=key)
    assert first.ok
    assert not first.replayed
    assert first.round_trips == 4  # record, dry run, create, record done
    version = first.objects[0]["metadata"]["resourceVersion"]

    # Another "replica" (its own clients, nothing in memory) answers the retry.
    other = gateway_clients(sandbox)
    try:
        again = await run(Writer(clients=other), the_plan, key=key)
    finally:
        for c in other.values():
            await c.close()
    assert again.ok
    assert again.replayed
    assert [o["metadata"]["resourceVersion"] for o in again.objects] == [version]
    assert again.round_trips == 3  # the refused record create, its read, the object's read
    assert again.plan.changes[0].action == "CREATE"
    assert (await get(admin, name)).json()["metadata"]["resourceVersion"] == version
    # The record is the gateway's: a ConfigMap in its namespace.
    record = await admin.get(CM.format(name=record_name("alice", key)))
    assert record.json()["data"]["state"] == "done"

    reused = await run(
        Writer(clients=clients),
        plan(change("CREATE", policy(f"other-{unique}"))),
        key=key,
    )
    assert codes(reused) == ["IDEMPOTENCY_KEY_REUSED"]
    assert f"other-{unique}" not in await names(admin)


async def test_keys_belong_to_the_caller(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    key = f"shared-{unique}"
    assert (
        await run(Writer(clients=clients), plan(change("CREATE", policy(f"a-{unique}"))), key=key)
    ).ok
    # Bob's same key is his own: his call is judged on its own (and forbidden in team-a).
    bobs = await run(
        Writer(clients=clients), plan(change("CREATE", policy(f"b-{unique}"))), caller=BOB, key=key
    )
    assert codes(bobs) == ["FORBIDDEN"]


async def test_dry_runs_and_refused_calls_do_not_use_up_the_key(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    key = f"k-{unique}"
    writer = Writer(clients=clients)
    dry = await run(writer, plan(change("CREATE", policy(f"d-{unique}"))), dry_run=True, key=key)
    assert dry.ok
    refused = await run(writer, plan(change("CREATE", policy(f"r-{unique}", "team-b"))), key=key)
    assert codes(refused) == ["FORBIDDEN"]
    assert (await admin.get(CM.format(name=record_name("alice", key)))).status_code == 404
    # The key is still free for a different input.
    done = await run(writer, plan(change("CREATE", policy(f"real-{unique}"))), key=key)
    assert done.ok
    assert not done.replayed
    assert f"real-{unique}" in await names(admin)


async def test_a_call_that_changes_nothing_still_holds_its_key(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    key = f"none-{unique}"
    writer = Writer(clients=clients)
    unchanged = Change("NONE", FIRST, RETENTION_POLICIES, "team-a", "x", "Already as asked.")
    first = await run(writer, plan(unchanged), key=key)
    assert first.ok
    assert first.objects == []
    again = await run(writer, plan(unchanged), key=key)
    assert again.replayed
    assert [c.summary for c in again.plan.changes] == ["Already as asked."]
    other = await run(writer, plan(change("CREATE", policy(f"n-{unique}"))), key=key)
    assert codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    assert f"n-{unique}" not in await names(admin)


async def test_an_expired_record_is_replaced(
    clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    key = f"old-{unique}"
    writer = Writer(clients=clients, settings=WriteSettings(record_lifetime=-1))
    assert (await run(writer, plan(change("CREATE", policy(f"one-{unique}"))), key=key)).ok
    later = await run(writer, plan(change("CREATE", policy(f"two-{unique}"))), key=key)
    assert later.ok
    assert not later.replayed
    assert {f"one-{unique}", f"two-{unique}"} <= await names(admin)


async def test_two_replicas_racing_with_one_key_make_the_objects_once(
    sandbox: Sandbox, admin: httpx.AsyncClient, unique: str
) -> None:
    key = f"race-{unique}"
    the_plan = plan(
        change("CREATE", policy(f"race-{unique}")), change("CREATE", policy(f"race2-{unique}"))
    )
    replicas = [gateway_clients(sandbox), gateway_clients(sandbox)]
    try:
        outcomes = await asyncio.gather(
            *(run(Writer(clients=c), the_plan, key=key) for c in replicas)
        )
        winners = [o for o in outcomes if o.ok and not o.replayed]
        assert len(winners) == 1
        loser = next(o for o in outcomes if o is not winners[0])
        # The loser either saw the winner's call still running or its finished result;
        # never a second create (which would be TARGET_EXISTS).
        assert loser.replayed or codes(loser) == ["CONFLICT"], loser.plan.errors
        after = await run(Writer(clients=replicas[0]), the_plan, key=key)
        assert after.replayed
        assert [o["metadata"]["uid"] for o in after.objects] == [
            o["metadata"]["uid"] for o in winners[0].objects
        ]
    finally:
        for clients in replicas:
            for c in clients.values():
                await c.close()


# ------------------------------------------------------------------ identity, secrets


async def test_the_api_server_sees_the_caller_not_the_gateway(
    sandbox: Sandbox, clients: dict[str, KubeClient], admin: httpx.AsyncClient, unique: str
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"s-{unique}", "namespace": "team-a"},
        "stringData": {"k": "v"},
    }
    # The gateway's own identity may not create Secrets anywhere...
    with pytest.raises(ApiError) as refused:
        await clients[FIRST].post("/api/v1/namespaces/team-a/secrets", secret)
    assert refused.value.status == 403
    # ...so a Secret it made was made with alice's rights.
    outcome = await run(Writer(clients=clients), plan(change("CREATE", secret, secret=True)))
    assert outcome.ok
    stored = (await admin.get(f"/api/v1/namespaces/team-a/secrets/s-{unique}")).json()
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["stashql"]

    # And the API server is told who the caller is, extra attributes included.
    review = (
        await clients[FIRST]
        .impersonating("alice", ALICE.groups, extra={"scopes": ["backups"]})
        .post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    )
    user = review["status"]["userInfo"]
    assert user["username"] == "alice"
    assert user["extra"] == {"scopes": ["backups"]}


async def test_secret_values_appear_in_no_plan_object_log_or_audit_entry(
    clients: dict[str, KubeClient], unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"red-{unique}", "namespace": "team-a"},
        "stringData": {"password": SECRET_VALUE},
        "data": {"token": "aHVudGVyMi12ZXJ5LXNlY3JldA=="},
    }
    bad = {**secret, "metadata": {"name": f"bad-{unique}", "namespace": "team-a"}}
    bad["data"] = {"token": SECRET_VALUE}  # not base64: the API server refuses it
    audit_log = logging.getLogger(f"test.audit.{unique}")
    writer = Writer(clients=clients, audit=AuditLog(audit_log))
    caplog.set_level(logging.DEBUG)
    outcomes = [
        await run(writer, plan(change("CREATE", secret, secret=True)), dry_run=True),
        await run(writer, plan(change("CREATE", secret, secret=True))),
        await run(writer, plan(change("CREATE", bad, secret=True))),
    ]
    assert [o.ok for o in outcomes] == [True, True, False]
    for outcome in outcomes:
        body = outcome.plan.changes[0].body
        assert body is not None
        assert body["stringData"] == {"password": "<redacted>"}
        assert body["data"] == {"token": "<redacted>"}
    shown = json.dumps(
        [[o.objects, [c.body for c in o.plan.changes], o.plan.errors] for o in outcomes],
        default=str,
    )
    assert "aHVudGVy" not in shown
    assert SECRET_VALUE not in shown
    logged = "\n".join(r.getMessage() for r in caplog.records)
    audited = [json.loads(r.getMessage()) for r in caplog.records if r.name == audit_log.name]
    assert [(a["user"], a["operation"], a["dryRun"], a["result"]) for a in audited] == [
        ("alice", "test", True, "dry-run"),
        ("alice", "test", False, "ok"),
        ("alice", "test", False, "refused"),
    ]
    assert audited[2]["codes"] == ["INVALID_INPUT"]
    assert audited[1]["changes"][0]["name"] == f"red-{unique}"
    assert f"red-{unique}" in logged
    assert SECRET_VALUE not in logged
    assert "aHVudGVy" not in logged


async def test_the_gateway_may_keep_records_and_nothing_more(
    clients: dict[str, KubeClient], unique: str
) -> None:
    gateway = clients[FIRST]
    record = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"r-{unique}"}}
    made = await gateway.post("/api/v1/namespaces/stashql-system/configmaps", record)
    await gateway.delete(f"/api/v1/namespaces/stashql-system/configmaps/{made['metadata']['name']}")
    refused = [
        ("/api/v1/namespaces/team-a/configmaps", record),
        (
            "/apis/core.kubestash.com/v1alpha1/namespaces/team-a/backupsessions",
            {
                "apiVersion": "core.kubestash.com/v1alpha1",
                "kind": "BackupSession",
                "metadata": {"name": f"bs-{unique}"},
            },
        ),
        (
            "/apis/core.kubestash.com/v1alpha1/namespaces/team-a/backupconfigurations",
            {
                "apiVersion": "core.kubestash.com/v1alpha1",
                "kind": "BackupConfiguration",
                "metadata": {"name": f"bc-{unique}"},
            },
        ),
    ]
    for path, body in refused:
        with pytest.raises(ApiError) as denied:
            await gateway.post(path, body)
        assert denied.value.status == 403, path

    # It can list HookTemplates (the gateway watches them); right after start-up the API
    # server may answer 429 while its cache of the kind warms up.
    async def listed() -> bool:
        try:
            await gateway.get("/apis/core.kubestash.com/v1alpha1/hooktemplates")
        except ApiError as exc:
            if exc.status != 429:
                raise
            return False
        return True

    assert await eventually(listed)
