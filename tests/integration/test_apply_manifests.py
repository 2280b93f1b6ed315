"""applyManifests against the real sandbox: the example CI bundle, in many orders, run
through the real write engine as admin, ends with the same objects; a missing storage
waits and then completes; a refused bundle leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from core.identity import Viewer
from kube.client import KubeClient
from resolvers.writes.engine import Outcome, Writer
from resolvers.writes.idempotency import input_digest
from resolvers.writes.manifests import ManifestOutcome, ManifestResult, apply_manifests
from resolvers.writes.plan import Plan
from sandbox.controlplane import Sandbox
from tests.helpers import eventually, kube_http, seed
from tests.unit.test_backup_plans import MemoryStore

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Viewer("admin", ("system:masters", "system:authenticated"), "admin-uid")
ALICE = Viewer("alice", ("team-a-developers", "system:authenticated"), "alice-uid")
BOB = Viewer("bob", ("team-b-viewers", "system:authenticated"), "bob-uid")
ORDERS = 24
SEED = 20261202
# What the store of each round holds: listed from the API server as admin.
LISTED = (
    "/api/v1/namespaces",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/apis/catalog.kubedb.com/v1alpha1/postgresversions",
    "/apis/addons.kubestash.com/v1alpha1/addons",
    "/apis/storage.kubestash.com/v1alpha1/backupstorages",
    "/apis/storage.kubestash.com/v1alpha1/retentionpolicies",
    "/apis/kubedb.com/v1/postgreses",
    "/apis/core.kubestash.com/v1alpha1/backupconfigurations",
)
FILLED = {
    "${S3_ACCESS_KEY_ID}": "AKIAEXAMPLE",
    "${S3_SECRET_ACCESS_KEY}": "s3-secret-example",
    "${BACKUP_ENCRYPTION_PASSWORD}": "restic-example",
}


def bundle(namespace: str) -> list[dict[str, Any]]:
    """The example bundle, filled as a pipeline fills it, moved into ``namespace``."""
    text = "\n---\n".join(
        p.read_text() for p in sorted((ROOT / "examples/ci-bundle").glob("*.yaml"))
    )
    for placeholder, value in FILLED.items():
        text = text.replace(placeholder, value)
    text = text.replace("ci-demo", namespace)
    return [d for d in yaml.safe_load_all(text) if d]


@pytest_asyncio.fixture
async def admin(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    await seed(
        sandbox,
        [
            d
            for name in ("catalog.kubedb.com/versions.yaml", "addons.kubestash.com/addons.yaml")
            for d in yaml.safe_load_all((ROOT / "sandbox/examples" / name).read_text())
            if d
        ],
    )
    async with kube_http(sandbox, user="admin") as client:
        # A freshly started API server answers 429 for a CRD kind until its cache is warm.
        async def warm() -> bool:
            for path in LISTED:
                if (await client.get(path)).status_code != 200:
                    return False
            return True

        assert await eventually(warm, timeout=60)
        yield client


@pytest_asyncio.fixture
async def writer(sandbox: Sandbox) -> AsyncIterator[Writer]:
    clients: dict[str, KubeClient] = {
        c.name: sandbox.client(c.name, user="gateway") for c in sandbox.clusters
    }
    yield Writer(clients=clients)
    for client in clients.values():
        await client.close()


class Pipeline:
    """An applyManifests call wired as the gateway wires it: the engine as admin, a
    store read from the cluster for every round."""

    def __init__(
        self, sandbox: Sandbox, admin: httpx.AsyncClient, writer: Writer, caller: Viewer = ADMIN
    ) -> None:
        self.cluster = sandbox.clusters[0].name
        self.admin = admin
        self.writer = writer
        self.caller = caller

    async def store(self) -> MemoryStore:
        store = MemoryStore()
        for path in LISTED:
            r = await self.admin.get(path)
            assert r.status_code == 200, r.text
            body = r.json()
            version = body["apiVersion"]
            for item in body["items"]:
                store.put(
                    {"apiVersion": version, "kind": body["kind"][: -len("List")], **item},
                    self.cluster,
                )
        return store

    async def apply(self, plan: Plan, round_no: int, *, dry_run: bool = False) -> Outcome:
        return await self.writer.run(
            plan,
            caller=self.caller,
            mutation="applyManifests",
            input_digest=input_digest("applyManifests", {"round": round_no}),
            dry_run=dry_run,
            idempotency_key=None,
        )

    async def run(
        self, documents: list[Any], *, wait: int = 0, dry_run: bool = False, progress: Any = None
    ) -> ManifestOutcome:
        async def apply(plan: Plan, round_no: int) -> Outcome:
            return await self.apply(plan, round_no, dry_run=dry_run)

        return await apply_manifests(
            documents,
            cluster=self.cluster,
            store=self.store,
            apply=apply,
            wait_seconds=wait,
            dry_run=dry_run,
            progress=progress,
        )


@pytest.fixture
def pipeline(sandbox: Sandbox, admin: httpx.AsyncClient, writer: Writer) -> Pipeline:
    return Pipeline(sandbox, admin, writer)


STASH = "/apis/{group}/v1alpha1/namespaces/{{ns}}/{plural}/{{name}}"
PATHS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets/{name}",
    "BackupStorage": STASH.format(group="storage.kubestash.com", plural="backupstorages"),
    "RetentionPolicy": STASH.format(group="storage.kubestash.com", plural="retentionpolicies"),
    "Postgres": "/apis/kubedb.com/v1/namespaces/{ns}/postgreses/{name}",
    "BackupConfiguration": STASH.format(group="core.kubestash.com", plural="backupconfigurations"),
}


async def stored(admin: httpx.AsyncClient, ns: str) -> dict[str, Any]:
    """What the bundle left in ``ns``, with the namespace's name taken out."""
    out: dict[str, Any] = {}
    for doc in bundle(ns):
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Namespace":
            continue
        r = await admin.get(PATHS[kind].format(ns=ns, name=name))
        assert r.status_code == 200, f"{kind} {name}: {r.text}"
        obj = r.json()
        part = obj.get("data") if kind == "Secret" else obj.get("spec")
        out[f"{kind} {name.replace(ns, 'NS')}"] = json.loads(json.dumps(part).replace(ns, "NS"))
    return out


def states(outcome: ManifestOutcome) -> dict[str, str]:
    return {f"{r.object.kind} {r.object.name}": r.state for r in outcome.results if r.object}


async def test_the_bundle_in_any_order_ends_with_the_same_objects(
    pipeline: Pipeline, admin: httpx.AsyncClient
) -> None:
    rng = random.Random(SEED)
    first: dict[str, Any] | None = None
    for i in range(ORDERS):
        ns = f"ci-order-{SEED}-{i}"
        docs = bundle(ns)
        rng.shuffle(docs)
        outcome = await pipeline.run(docs)
        assert not outcome.plan.errors, outcome.plan.errors
        assert set(states(outcome).values()) == {"APPLIED"}, outcome.results
        # Secret values never come back.
        assert "s3-secret-example" not in json.dumps([c.body for c in outcome.plan.changes])
        got = await stored(admin, ns)
        if first is None:
            first = got
        assert got == first, f"order {i} differs"
    # Applying again changes nothing and still succeeds (PATCH of what exists).
    again = await pipeline.run(bundle(f"ci-order-{SEED}-0"))
    assert set(states(again).values()) == {"APPLIED"}
    assert {c.action for c in again.plan.changes} == {"PATCH"}


async def test_a_missing_storage_waits_naming_it_then_completes(
    pipeline: Pipeline, admin: httpx.AsyncClient
) -> None:
    ns = f"ci-wait-{random.Random().randrange(10**6)}"
    docs = bundle(ns)
    storage = next(d for d in docs if d["kind"] == "BackupStorage")
    rest = [d for d in docs if d is not storage]

    first = await pipeline.run(rest)
    assert not first.plan.errors
    bc = next(r for r in first.results if r.object and r.object.kind == "BackupConfiguration")
    assert bc.state == "WAITING"
    assert bc.waiting_for is not None
    assert (bc.waiting_for.kind, bc.waiting_for.namespace, bc.waiting_for.name) == (
        "BackupStorage",
        ns,
        f"{ns}-s3",
    )
    assert [w.code for w in first.plan.warnings] == ["WAITING_FOR_DEPENDENCY"]
    # Stored anyway: KubeStash completes it once the storage appears.
    r = await admin.get(PATHS["BackupConfiguration"].format(ns=ns, name="app-db-backup"))
    assert r.status_code == 200

    seen: list[ManifestResult] = []
    waiting = asyncio.create_task(pipeline.run(rest, wait=60, progress=seen.append))
    await eventually(lambda: any(s.state == "WAITING" for s in seen))
    added = await pipeline.run([storage])
    assert states(added) == {f"BackupStorage {ns}-s3": "APPLIED"}
    done = await asyncio.wait_for(waiting, 60)
    assert set(states(done).values()) == {"APPLIED"}
    assert [s.state for s in seen if s.object and s.object.kind == "BackupConfiguration"] == [
        "WAITING",
        "APPLIED",
    ]


async def namespace_gone(admin: httpx.AsyncClient, ns: str) -> bool:
    r = await admin.get(f"/api/v1/namespaces/{ns}")
    return r.status_code == 404 or bool(r.json()["metadata"].get("deletionTimestamp"))


async def test_a_bundle_with_another_kind_applies_nothing(
    pipeline: Pipeline, admin: httpx.AsyncClient
) -> None:
    ns = f"ci-bad-{random.Random().randrange(10**6)}"
    docs = bundle(ns)
    docs.insert(3, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}})
    outcome = await pipeline.run(docs)
    assert [(e.code, e.field) for e in outcome.plan.errors] == [
        ("INVALID_INPUT", ("documents", "3"))
    ]
    assert outcome.results[3].state == "FAILED"
    r = await admin.get(f"/api/v1/namespaces/{ns}")
    assert r.status_code == 404


async def test_a_document_the_api_server_refuses_fails_and_the_namespace_is_undone(
    pipeline: Pipeline, admin: httpx.AsyncClient
) -> None:
    ns = f"ci-invalid-{random.Random().randrange(10**6)}"
    docs = bundle(ns)
    storage = next(d for d in docs if d["kind"] == "BackupStorage")
    storage["spec"]["storage"]["provider"] = "carrier-pigeon"  # not in the CRD's enum
    index = docs.index(storage)
    outcome = await pipeline.run(docs)
    assert [e.field for e in outcome.plan.errors] == [("documents", str(index))]
    assert outcome.results[index].state == "FAILED"
    assert "BackupStorage" in (outcome.results[index].reason or "")
    assert await namespace_gone(admin, ns)
    r = await admin.get(f"/apis/kubedb.com/v1/namespaces/{ns}/postgreses")
    assert r.status_code == 200
    assert r.json()["items"] == []


async def test_a_dry_run_changes_nothing(pipeline: Pipeline, admin: httpx.AsyncClient) -> None:
    ns = f"ci-dry-{random.Random().randrange(10**6)}"
    outcome = await pipeline.run(bundle(ns), dry_run=True)
    assert not outcome.plan.errors
    assert states(outcome)[f"Namespace {ns}"] == "APPLIED"
    assert states(outcome)["Postgres app-db"] == "WAITING"
    r = await admin.get(f"/api/v1/namespaces/{ns}")
    assert r.status_code == 404


async def test_what_the_caller_may_not_do_fails_and_nothing_is_applied(
    sandbox: Sandbox, admin: httpx.AsyncClient, writer: Writer
) -> None:
    # alice edits team-a but may not change the Namespace itself.
    alice = Pipeline(sandbox, admin, writer, caller=ALICE)
    docs = bundle("team-a")
    index = next(i for i, d in enumerate(docs) if d["kind"] == "Namespace")
    outcome = await alice.run(docs)
    assert [(e.code, e.field) for e in outcome.plan.errors] == [
        ("FORBIDDEN", ("documents", str(index)))
    ]
    assert outcome.results[index].state == "FAILED"
    r = await admin.get(PATHS["Postgres"].format(ns="team-a", name="app-db"))
    assert r.status_code == 404
    # bob only reads team-b: every document is refused, one user error each.
    bob = Pipeline(sandbox, admin, writer, caller=BOB)
    docs = [d for d in bundle("team-b") if d["kind"] != "Namespace"]
    refused = await bob.run(docs)
    assert {e.code for e in refused.plan.errors} == {"FORBIDDEN"}
    assert sorted(e.field for e in refused.plan.errors if e.field) == sorted(
        ("documents", str(i)) for i in range(len(docs))
    )
    assert {r.state for r in refused.results} == {"FAILED"}
