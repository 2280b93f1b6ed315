"""The sandbox's people have exactly the access the README promises, enforced by the
real API server (not by anything of ours)."""

from __future__ import annotations

import pytest

from sandbox.controlplane import Sandbox
from tests.helpers import kube_http

pytestmark = pytest.mark.sandbox

PG = "/apis/kubedb.com/v1/namespaces/{ns}/postgreses"


def postgres(name: str) -> dict[str, object]:
    return {
        "apiVersion": "kubedb.com/v1",
        "kind": "Postgres",
        "metadata": {"name": name},
        "spec": {
            "version": "16.4",
            "replicas": 1,
            "storageType": "Durable",
            "storage": {
                "storageClassName": "standard",
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
            "deletionPolicy": "Delete",
        },
    }


async def test_alice_creates_and_reads_a_postgres_in_team_a(sandbox: Sandbox, unique: str) -> None:
    async with kube_http(sandbox, user="alice") as alice:
        created = await alice.post(PG.format(ns="team-a"), json=postgres(f"pg-{unique}"))
        assert created.status_code == 201, created.text
        got = await alice.get(PG.format(ns="team-a") + f"/pg-{unique}")
        assert got.status_code == 200
        assert got.json()["spec"]["version"] == "16.4"
        assert got.json()["metadata"]["namespace"] == "team-a"


async def test_alice_is_refused_outside_team_a(sandbox: Sandbox, unique: str) -> None:
    async with kube_http(sandbox, user="alice") as alice:
        r = await alice.post(PG.format(ns="team-b"), json=postgres(f"pg-{unique}"))
        assert r.status_code == 403
        assert "alice" in r.json()["message"]
        r = await alice.get(PG.format(ns="team-b"))
        assert r.status_code == 403
        r = await alice.get("/api/v1/namespaces/kube-system/secrets")
        assert r.status_code == 403


async def test_bob_only_reads_in_team_b(sandbox: Sandbox, unique: str) -> None:
    async with kube_http(sandbox, user="bob") as bob, kube_http(sandbox, user="admin") as admin:
        r = await bob.post(PG.format(ns="team-b"), json=postgres(f"pg-{unique}"))
        assert r.status_code == 403
        seeded = await admin.post(PG.format(ns="team-b"), json=postgres(f"seed-{unique}"))
        assert seeded.status_code == 201, seeded.text
        listed = await bob.get(PG.format(ns="team-b"))
        assert listed.status_code == 200
        assert f"seed-{unique}" in {i["metadata"]["name"] for i in listed.json()["items"]}
        r = await bob.get(PG.format(ns="team-a"))
        assert r.status_code == 403
        r = await bob.get("/api/v1/namespaces/team-a/secrets")
        assert r.status_code == 403


async def test_the_same_people_exist_on_every_cluster(sandbox: Sandbox) -> None:
    for index in range(len(sandbox.clusters)):
        async with kube_http(sandbox, user="bob", cluster=index) as bob:
            assert (await bob.get(PG.format(ns="team-b"))).status_code == 200
            assert (await bob.get(PG.format(ns="team-a"))).status_code == 403


async def test_the_gateway_identity_reads_but_cannot_write_or_see_secrets(
    sandbox: Sandbox, unique: str
) -> None:
    async with kube_http(sandbox, user="gateway") as gw:
        assert (await gw.get("/apis/kubedb.com/v1/postgreses")).status_code == 200
        assert (
            await gw.post(PG.format(ns="team-a"), json=postgres(f"gw-{unique}"))
        ).status_code == 403
        assert (await gw.get("/api/v1/secrets")).status_code == 403
