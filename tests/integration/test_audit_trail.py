"""Writes run as the caller, as the API server's own audit log records them (issue 9).

The gateway's identity may impersonate users and nothing more: a BackupSession it
creates for alice is created with alice's rights, the audit event names the gateway as
the user and alice as the impersonated user, and the gateway alone is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from apis.resources import BACKUP_SESSIONS
from core.identity import Viewer
from kube.client import ApiError, KubeClient
from resolvers.writes.backup.trigger import backup_session
from resolvers.writes.engine import Writer
from resolvers.writes.idempotency import input_digest
from resolvers.writes.plan import Change, Plan
from sandbox import objects
from sandbox.controlplane import Sandbox
from sandbox.rbac import GATEWAY_USER
from tests.helpers import audited_creator, eventually, kube_http, seed

pytestmark = pytest.mark.sandbox

ALICE = Viewer("alice", ("team-a-developers", "system:authenticated"), "alice-uid")
DEPLOY_RBAC = Path(__file__).resolve().parents[2] / "deploy" / "gateway-rbac.yaml"
CORE = "core.kubestash.com"
GUARDED = ("backupsessions", "backupconfigurations")
TEAM_A = "/apis/core.kubestash.com/v1alpha1/namespaces/team-a"
SESSIONS = f"{TEAM_A}/backupsessions"


@pytest_asyncio.fixture
async def gateway_client(sandbox: Sandbox) -> AsyncIterator[KubeClient]:
    client = sandbox.client(0, user="gateway")
    yield client
    await client.close()


async def seed_configuration(sandbox: Sandbox, unique: str) -> dict[str, Any]:
    db = objects.database("Postgres", f"orders-{unique}", "team-a")
    bc = objects.backup_configuration(
        f"orders-{unique}",
        db,
        storage=("kubedb", "s3-storage"),
        retention=("kubedb", "keep-a-month"),
    )
    await seed(sandbox, [db, bc])
    async with kube_http(sandbox, user="admin") as admin:
        path = f"{TEAM_A}/backupconfigurations/{bc['metadata']['name']}"

        async def stored() -> dict[str, Any] | None:
            r = await admin.get(path)
            return r.json() if r.status_code == 200 else None

        found: dict[str, Any] = await eventually(stored)
    return found


async def test_a_backup_session_written_for_alice_is_audited_as_alice(
    sandbox: Sandbox, gateway_client: KubeClient, unique: str
) -> None:
    bc = await seed_configuration(sandbox, unique)
    body = backup_session(bc, "full-backup", now=datetime.now(UTC))
    name = body["metadata"]["name"]
    change = Change(
        action="CREATE",
        cluster=sandbox.clusters[0].name,
        resource=BACKUP_SESSIONS,
        namespace="team-a",
        name=name,
        summary=f"Start session full-backup of {bc['metadata']['name']} now.",
        body=body,
    )
    writer = Writer(clients={sandbox.clusters[0].name: gateway_client})
    outcome = await writer.run(
        Plan(changes=[change]),
        caller=ALICE,
        mutation="triggerBackup",
        input_digest=input_digest("triggerBackup", {"name": name}),
        dry_run=False,
        idempotency_key=None,
    )
    assert outcome.ok, outcome.plan.errors

    # The session exists, invoking alice's configuration...
    async with kube_http(sandbox, user="admin") as admin:
        stored = await admin.get(f"{SESSIONS}/{name}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["spec"]["invoker"]["name"] == bc["metadata"]["name"]

    # ...and the API server recorded that the gateway made it as alice.
    user, impersonated = await audited_creator(
        sandbox,
        cluster=0,
        resource_plural="backupsessions",
        namespace="team-a",
        name=name,
        timeout=10,
    )
    assert (user, impersonated) == (GATEWAY_USER, "alice")
    # RBAC allowed it through alice's own RoleBinding, not through anything of the gateway.
    creates = [
        e
        for e in sandbox.audit_events(0)
        if e["verb"] == "create"
        and e["objectRef"].get("name") == name
        and "dryRun=" not in e["requestURI"]
    ]
    reason = creates[-1]["annotations"]["authorization.k8s.io/reason"]
    assert 'RoleBinding "stashql-sandbox:database-editor:alice/team-a"' in reason
    assert 'User "alice"' in reason


@pytest.mark.parametrize("plural", GUARDED)
async def test_the_gateway_alone_may_not_create_backups(
    sandbox: Sandbox, gateway_client: KubeClient, unique: str, plural: str
) -> None:
    review = await gateway_client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "group": CORE,
                    "resource": plural,
                    "verb": "create",
                    "namespace": "team-a",
                }
            },
        },
    )
    assert review["status"]["allowed"] is False
    kind = {"backupsessions": "BackupSession", "backupconfigurations": "BackupConfiguration"}
    name = f"as-gateway-{unique}"
    with pytest.raises(ApiError) as refused:
        await gateway_client.post(
            f"{TEAM_A}/{plural}",
            {
                "apiVersion": "core.kubestash.com/v1alpha1",
                "kind": kind[plural],
                "metadata": {"name": name},
            },
        )
    assert refused.value.status == 403
    async with kube_http(sandbox, user="admin") as admin:
        r = await admin.get(f"{TEAM_A}/{plural}/{name}")
    assert r.status_code == 404


def _grants_create(rule: dict[str, Any], plural: str) -> bool:
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    verbs = rule.get("verbs") or []
    return (
        (CORE in groups or "*" in groups)
        and (plural in resources or "*" in resources or f"{plural}/*" in resources)
        and ("create" in verbs or "*" in verbs)
    )


def test_deploy_rbac_grants_the_gateway_no_create_on_backups() -> None:
    docs = [d for d in yaml.safe_load_all(DEPLOY_RBAC.read_text()) if d]
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert roles, "deploy/gateway-rbac.yaml defines no roles"
    for role in roles.values():
        # An aggregated role would gain whatever other roles carry.
        assert "aggregationRule" not in role, role["metadata"]["name"]
        for rule in role.get("rules") or []:
            for plural in GUARDED:
                assert not _grants_create(rule, plural), (role["metadata"]["name"], rule)
    # Bindings only to the roles above: binding e.g. `edit` would grant creates.
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert binding["roleRef"]["name"] in roles, binding["metadata"]["name"]


def test_the_rule_check_catches_a_grant() -> None:
    # The check above must be able to fail: a wildcard rule is a create grant.
    assert _grants_create({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, GUARDED[0])
    assert not _grants_create({"apiGroups": [CORE], "resources": ["*"], "verbs": ["get"]}, "x")


async def test_the_audit_log_records_the_refusal_as_the_gateway(
    sandbox: Sandbox, gateway_client: KubeClient, unique: str
) -> None:
    def refusals() -> list[dict[str, Any]]:
        # A refused create is judged before its body is read: the event has no name.
        return [
            e
            for e in sandbox.audit_events(0)
            if e["verb"] == "create"
            and e["objectRef"].get("resource") == "backupsessions"
            and e["objectRef"].get("namespace") == "team-a"
            and e["user"]["username"] == GATEWAY_USER
            and e["responseStatus"]["code"] == 403
        ]

    before = len(refusals())
    body = {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupSession",
        "metadata": {"name": f"refused-{unique}"},
    }
    with pytest.raises(ApiError):
        await gateway_client.post(SESSIONS, body)
    await eventually(lambda: len(refusals()) > before)
    event = refusals()[-1]
    assert "impersonatedUser" not in event
    assert event["annotations"]["authorization.k8s.io/decision"] == "forbid"
