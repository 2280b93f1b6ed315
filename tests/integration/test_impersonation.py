"""Writes go to the API server as the viewer: it enforces their RBAC, not ours."""

from __future__ import annotations

import pytest

from kube.client import ApiError
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import eventually, kube_http

pytestmark = pytest.mark.sandbox

PG = "/apis/kubedb.com/v1/namespaces/{ns}/postgreses/{name}"


async def test_the_gateway_writes_as_the_viewer_and_the_api_server_decides(
    sandbox: Sandbox, unique: str
) -> None:
    gateway = sandbox.client(0, user="gateway")
    try:
        # The gateway itself may not write databases...
        with pytest.raises(ApiError) as denied:
            await gateway.apply(
                PG.format(ns="team-a", name=f"gw-{unique}"),
                o.database("Postgres", f"gw-{unique}", "team-a"),
                field_manager="stashql",
            )
        assert denied.value.status == 403

        # ...but as alice it can, exactly where alice can.
        alice = gateway.impersonating("alice", ("team-a-developers", "system:authenticated"))
        name = f"as-alice-{unique}"
        body = o.database("Postgres", name, "team-a")
        body.pop("status")
        dry = await alice.apply(
            PG.format(ns="team-a", name=name), body, field_manager="stashql", dry_run=True
        )
        assert dry["metadata"]["name"] == name
        async with kube_http(sandbox, user="admin") as admin:
            r = await admin.get(PG.format(ns="team-a", name=name))
            assert r.status_code == 404, "a dry run changes nothing"
        created = await alice.apply(
            PG.format(ns="team-a", name=name), body, field_manager="stashql"
        )
        assert created["metadata"]["managedFields"][0]["manager"] == "stashql"

        with pytest.raises(ApiError) as refused:
            await alice.apply(
                PG.format(ns="team-b", name=name),
                o.database("Postgres", name, "team-b"),
                field_manager="stashql",
            )
        assert refused.value.status == 403
        assert 'User "alice"' in refused.value.message
    finally:
        await gateway.close()


async def test_every_group_is_sent(sandbox: Sandbox, unique: str) -> None:
    """Rights that come only through the second of two groups still apply."""
    group = f"writers-{unique}"
    async with kube_http(sandbox, user="admin") as admin:
        r = await admin.post(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/team-b/rolebindings",
            json={
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": group},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "stashql-sandbox:database-editor",
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                ],
            },
        )
        assert r.status_code == 201, r.text
    gateway = sandbox.client(0, user="gateway")
    try:
        bob = gateway.impersonating("bob", ("team-b-viewers", group, "system:authenticated"))
        name = f"as-bob-{unique}"
        body = o.database("Postgres", name, "team-b")
        body.pop("status")

        # RBAC caches bindings briefly: retry for a moment before judging.
        async def attempt() -> dict[str, object] | None:
            try:
                return await bob.apply(
                    PG.format(ns="team-b", name=name), body, field_manager="stashql"
                )
            except ApiError as exc:
                if exc.status != 403:
                    raise
                return None

        created = await eventually(attempt, timeout=5)
        assert created["metadata"]["name"] == name
        only_first = gateway.impersonating("bob", ("team-b-viewers",))
        with pytest.raises(ApiError) as refused:
            await only_first.apply(
                PG.format(ns="team-b", name=f"{name}-2"),
                body | {"metadata": {"name": f"{name}-2", "namespace": "team-b"}},
                field_manager="stashql",
            )
        assert refused.value.status == 403
    finally:
        await gateway.close()
