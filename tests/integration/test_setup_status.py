"""Database.setupStatus over the gateway's real cache, with the operators simulated: the
example CI bundle applied through the gateway's own store and engine goes PENDING ->
READY; a missing storage is PENDING naming it until it is applied; a failing first
backup is FAILED with its reason; the stream's tracker sees the change also when it is
the BackupConfiguration that moved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateway.services import Services, open_services
from gateway.settings import Settings
from resolvers.reads.graph import Graph, Item
from resolvers.reads.setup import SetupStates, setup_status_of
from resolvers.writes.engine import Writer
from resolvers.writes.manifests import ManifestOutcome, apply_manifests
from resolvers.writes.plan import Plan, Store
from resolvers.writes.store import CacheStore
from sandbox.controlplane import Sandbox
from sandbox.simulator import FAIL_ANNOTATION, Simulator
from tests.helpers import eventually
from tests.integration.test_apply_manifests import ADMIN, PATHS, bundle

# The fixtures: admin (seeds the catalog version and the addon) and writer (the engine).
from tests.integration.test_apply_manifests import admin as admin
from tests.integration.test_apply_manifests import writer as writer

pytestmark = pytest.mark.sandbox

PREFIX = "ci-setup-"


@pytest_asyncio.fixture
async def services(sandbox: Sandbox) -> AsyncIterator[Services]:
    made = await open_services(Settings(kubeconfig=sandbox.kubeconfig, all_contexts=True))
    await made.start()
    try:
        await eventually(made.ready, timeout=60)
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture
async def sim(sandbox: Sandbox) -> AsyncIterator[Simulator]:
    clients = {c.name: sandbox.client(c.name) for c in sandbox.clusters}
    simulator = Simulator(
        clients,
        time_scale=600,
        step=0.25,
        seed=11,
        namespace_filter=lambda ns: ns.startswith(PREFIX),
    )
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()
        for client in clients.values():
            await client.close()


class Setup:
    def __init__(self, sandbox: Sandbox, services: Services, writer: Writer) -> None:
        self.cluster = sandbox.clusters[0].name
        self.services = services
        self.writer = writer

    async def apply(self, docs: list[Any], wait: int = 0) -> ManifestOutcome:
        async def store() -> Store:
            return CacheStore(self.services.cache)

        async def run(plan: Plan, round_no: int) -> Any:
            return await self.writer.run(
                plan,
                caller=ADMIN,
                mutation="applyManifests",
                input_digest=f"round-{round_no}",
                dry_run=False,
                idempotency_key=None,
            )

        return await apply_manifests(
            docs, cluster=self.cluster, store=store, apply=run, wait_seconds=wait
        )

    async def graph(self) -> Graph:
        return await self.services.graph_for(ADMIN)

    async def database(self, ns: str) -> Item:
        graph = await self.graph()

        def found() -> Item | None:
            return graph.database(self.cluster, "Postgres", ns, "app-db")

        item: Item = await eventually(found)
        return item


@pytest.fixture
def setup(
    sandbox: Sandbox,
    services: Services,
    writer: Writer,
    sim: Simulator,
    admin: httpx.AsyncClient,
) -> Setup:
    return Setup(sandbox, services, writer)


def states(outcome: ManifestOutcome) -> set[str]:
    return {r.state for r in outcome.results}


async def test_the_example_bundle_becomes_ready(setup: Setup, unique: str) -> None:
    ns = f"{PREFIX}{unique}"
    outcome = await setup.apply(bundle(ns), wait=30)
    assert not outcome.plan.errors, outcome.plan.errors
    assert states(outcome) == {"APPLIED"}, outcome.results
    db = await setup.database(ns)
    graph = await setup.graph()
    tracker = SetupStates()
    first = tracker.initial(graph, db)
    assert first in ("PENDING", "READY")

    async def ready() -> bool:
        item = graph.database(setup.cluster, "Postgres", ns, "app-db")
        return item is not None and setup_status_of(graph, item, fresh=True).state == "READY"

    await eventually(ready, timeout=60, interval=0.5)
    item = graph.database(setup.cluster, "Postgres", ns, "app-db")
    assert item is not None
    got = setup_status_of(graph, item, fresh=True)
    assert (got.reasons, got.waiting_for) == ([], [])
    # Applying the same bundle again (Secrets the cache never holds included) succeeds.
    again = await setup.apply(bundle(ns))
    assert not again.plan.errors, again.plan.errors
    assert states(again) == {"APPLIED"}


async def test_a_missing_storage_is_pending_until_applied(
    setup: Setup, unique: str, admin: httpx.AsyncClient
) -> None:
    ns = f"{PREFIX}{unique}"
    docs = bundle(ns)
    storage = next(d for d in docs if d["kind"] == "BackupStorage")
    outcome = await setup.apply([d for d in docs if d is not storage], wait=10)
    assert "WAITING" in states(outcome)
    db = await setup.database(ns)
    graph = await setup.graph()

    async def provisioned() -> bool:
        r = await admin.get(PATHS["Postgres"].format(ns=ns, name="app-db"))
        return bool(r.json().get("status", {}).get("phase") == "Ready")

    await eventually(provisioned, timeout=30)
    got = setup_status_of(graph, db, fresh=True)
    assert got.state == "PENDING"
    assert [(w.kind, w.namespace, w.name) for w in got.waiting_for] == [
        ("BackupStorage", ns, f"{ns}-s3")
    ]
    assert any(f"BackupStorage {ns}/{ns}-s3" in r for r in got.reasons)

    tracker = SetupStates()
    assert tracker.initial(graph, db) == "PENDING"
    added = await setup.apply([storage])
    assert states(added) == {"APPLIED"}

    # The database object need not change: the tracker sees the move through the
    # BackupConfiguration (and the storage) as they change in the cache.
    def moved() -> list[Any]:
        bc = graph.get(
            setup.cluster, "core.kubestash.com", "BackupConfiguration", ns, "app-db-backup"
        )
        assert bc is not None
        return tracker.related(graph, setup.cluster, bc.raw)

    transitions = await eventually(moved, timeout=60, interval=0.5)
    assert [(i.name, before, now) for i, before, now in transitions] == [
        ("app-db", "PENDING", "READY")
    ]


async def test_a_failing_first_backup_is_failed_with_its_reason(setup: Setup, unique: str) -> None:
    ns = f"{PREFIX}{unique}"
    docs = bundle(ns)
    for d in docs:
        if d["kind"] == "BackupConfiguration":
            d["metadata"]["annotations"] = {FAIL_ANNOTATION: "backup"}
    outcome = await setup.apply(docs, wait=30)
    assert states(outcome) == {"APPLIED"}
    db = await setup.database(ns)
    graph = await setup.graph()

    def failed() -> Any:
        item = graph.database(setup.cluster, "Postgres", ns, "app-db") or db
        got = setup_status_of(graph, item, fresh=True)
        return got if got.state == "FAILED" else None

    got = await eventually(failed, timeout=60, interval=0.5)
    assert any("failed" in r and "app-db-backup" in r for r in got.reasons), got.reasons
