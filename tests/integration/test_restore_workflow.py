"""Traffic pause/resume and the restore workflow controller against the real sandbox.

The sandbox runs no KubeStash: the tests play the operator by writing the
RestoreSession's status as admin. Everything else is real: alice's changes go through
the write engine as alice, the records are written as the gateway, the controllers
hold a real Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from apis.resources import CONFIG_MAPS, RESTORE_SESSIONS, SERVICES
from core.identity import Viewer
from kube.client import ApiError, KubeClient
from resolvers.reads.traffic import traffic_view
from resolvers.reads.workflows import Workflow
from resolvers.workflows.controller import ControllerSettings, WorkflowController
from resolvers.workflows.records import Records
from resolvers.workflows.restore import (
    RestoreCheckInput,
    RestoreWorkflowInput,
    plan_restore_database,
    run_restore,
)
from resolvers.workflows.resume import run_resume
from resolvers.writes.backup.common import Database
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.engine import Outcome, Writer
from resolvers.writes.plan import Change, Plan
from resolvers.writes.store import CacheStore
from resolvers.writes.traffic import (
    PauseDatabaseTrafficInput,
    ResumeDatabaseTrafficInput,
    plan_pause_database_traffic,
    plan_resume_database_traffic,
)
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import eventually, seed
from watchers.cache import Cache
from watchers.clusters import ClusterHandle

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(300)]

ALICE = Viewer("alice", ("team-a-developers", "system:authenticated"), "alice-uid")
NS = "team-a"
OWN = "stashql-system"
PAUSED = {"stashql.io/traffic": "paused"}
BC = "/apis/core.kubestash.com/v1alpha1/namespaces/team-a/backupconfigurations/{name}"
SELECTOR = {
    "app.kubernetes.io/instance": "",
    "app.kubernetes.io/managed-by": "kubedb.com",
    "app.kubernetes.io/name": "postgreses.kubedb.com",
}


@dataclass
class Shared:
    cluster: str
    cache: Cache
    clients: dict[str, KubeClient]
    admin: KubeClient


@pytest_asyncio.fixture(scope="module")
async def shared(sandbox: Sandbox) -> AsyncIterator[Shared]:
    """One cache for the module: every informer relisting per test would load the
    machine more than the tests do."""
    gateway = sandbox.client(0, user="gateway")
    admin = sandbox.client(0, user="admin")
    # Every informer holds a watch: a pool of their own, large enough for all of them.
    watch = gateway.with_own_pool(connection_limit=200)
    await _grant_alice_services(admin)
    cluster = sandbox.clusters[0].name
    cache = Cache([ClusterHandle(cluster, sandbox.clusters[0].server, gateway, watch)])
    cache.start()
    try:
        synced = await cache.wait_synced(timeout=150, reachable=[cluster])
        errors = {gk: i.error for gk, i in cache.clusters[cluster].informers.items() if i.error}
        assert synced, errors
        yield Shared(cluster, cache, {cluster: gateway}, admin)
    finally:
        await cache.stop()
        for c in (gateway, admin, watch):
            await c.close()


@pytest_asyncio.fixture
async def env(sandbox: Sandbox, shared: Shared) -> AsyncIterator[Env]:
    made = Env(sandbox, shared.cluster, shared.cache, shared.clients, shared.admin)
    try:
        yield made
    finally:
        for controller in made.controllers:
            await controller.stop()


async def _grant_alice_services(admin: KubeClient) -> None:
    """Test-only: the sandbox grants alice Services in team-a once the lead adds it to
    sandbox/rbac.py; until then this Role does."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "test-traffic-services", "namespace": NS},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["services"],
                "verbs": ["get", "list", "watch", "create", "patch", "delete"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "test-traffic-services", "namespace": NS},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "test-traffic-services",
        },
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }
    for path, body in (
        (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles", role),
        (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings", binding),
    ):
        with contextlib.suppress(ApiError):
            await admin.post(path, body)


class Env:
    def __init__(
        self,
        sandbox: Sandbox,
        cluster: str,
        cache: Cache,
        clients: dict[str, KubeClient],
        admin: KubeClient,
    ) -> None:
        self.sandbox = sandbox
        self.cluster = cluster
        self.cache = cache
        self.clients = clients
        self.admin = admin
        self.store = CacheStore(cache)
        self.writer = Writer(clients=clients)
        self.records = Records(client=clients[cluster], namespace=OWN)
        self.controllers: list[WorkflowController] = []

    def controller(
        self, name: str, *, renew_every: float = 0.3, lease_duration: int = 2
    ) -> WorkflowController:
        c = WorkflowController(
            cache=self.cache,
            clients=self.clients,
            settings=ControllerSettings(
                renew_every=renew_every, lease_duration=lease_duration, identity=name
            ),
        )
        self.controllers.append(c)
        c.start()
        return c

    async def run(self, plan: Plan) -> Outcome:
        return await self.writer.run(
            plan,
            caller=ALICE,
            mutation="test",
            input_digest="",
            dry_run=False,
            idempotency_key=None,
        )

    async def database(self, name: str, *, backup: bool = True) -> None:
        db = o.database("Postgres", name, NS)
        objs: list[dict[str, Any]] = [db]
        if backup:
            objs.append(
                o.backup_configuration(
                    f"{name}-backup", db, storage=(NS, "s3"), retention=(NS, "keep")
                )
            )
        await seed(self.sandbox, objs)
        selector = {**SELECTOR, "app.kubernetes.io/instance": name}
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": NS,
                "labels": {"app.kubernetes.io/managed-by": "kubedb.com"},
            },
            "spec": {"selector": selector, "ports": [{"name": "primary", "port": 5432}]},
        }
        await self.admin.post(SERVICES.path(namespace=NS), service)
        await eventually(lambda: self.service(name) is not None)
        await eventually(lambda: self.db(name) is not None)

    def db(self, name: str) -> dict[str, Any] | None:
        from resolvers.writes.backup.common import database_resource

        return self.store.get(self.cluster, database_resource("Postgres"), NS, name)

    def service(self, name: str) -> dict[str, Any] | None:
        return self.store.get(self.cluster, SERVICES, NS, name)

    def traffic(self, name: str) -> str:
        db = self.db(name)
        assert db is not None
        return traffic_view(db, self.service(name)).state

    async def selector(self, name: str) -> dict[str, str]:
        svc = await self.admin.get(SERVICES.path(namespace=NS, name=name))
        return dict(svc["spec"]["selector"])

    async def operator(self, session: str, status: dict[str, Any]) -> None:
        """Play KubeStash: write the RestoreSession's status as admin."""
        path = RESTORE_SESSIONS.path(namespace=NS, name=session) + "/status"
        body = {
            "apiVersion": RESTORE_SESSIONS.api_version,
            "kind": "RestoreSession",
            "metadata": {"name": session, "namespace": NS},
            "status": status,
        }
        await self.admin.apply(path, body, field_manager="test-operator")

    async def record(self, wid: str) -> Workflow:
        wf = await self.records.get(wid)
        assert wf is not None
        return wf

    async def restore(self, name: str, **kw: Any) -> Workflow:
        now = datetime.now(UTC)
        inp = RestoreWorkflowInput(
            database=ObjectRefInput(namespace=NS, name=name, kind="Postgres"),
            snapshot=ObjectRefInput(namespace=NS, name=f"{name}-snap"),
            repository=ObjectRefInput(namespace=NS, name=f"{name}-repo"),
            **kw,
        )
        planned = plan_restore_database(
            inp,
            store=self.store,
            cluster=self.cluster,
            caller=ALICE,
            own_namespace=OWN,
            now=now,
            data_restore=session_change(self.cluster, inp, now),
        )
        assert not planned.plan.errors, planned.plan.errors
        outcome, wf = await run_restore(
            self.writer,
            planned,
            caller=ALICE,
            own_namespace=OWN,
            input_digest="",
            dry_run=False,
            idempotency_key=None,
        )
        assert outcome.ok, outcome.plan.errors
        assert wf is not None
        return wf


def session_change(
    cluster: str, inp: RestoreWorkflowInput, now: datetime
) -> Callable[[Database, Plan], Change | None]:
    """Stands in for the restore planner (resolvers/writes/restore): a RestoreSession."""

    def make(db: Database, plan: Plan) -> Change | None:
        del plan
        name = f"{db.name}-restore-{int(now.timestamp())}"
        body = o.restore_session(
            name, db.raw, repository=f"{db.name}-repo", snapshot_name=inp.snapshot.name
        )
        body.pop("status")
        body["spec"]["hooks"] = {
            "postRestore": [
                {
                    "name": f"check-{i}",
                    "hookTemplate": {
                        "namespace": c.hook_template.namespace,
                        "name": c.hook_template.name,
                    },
                    "executionPolicy": "OnSuccess",
                }
                for i, c in enumerate(inp.checks)
            ]
        }
        return Change("CREATE", cluster, RESTORE_SESSIONS, db.namespace, name, "restore", body)

    return make


def states(wf: Workflow) -> dict[str, str]:
    return {s.kind: s.state for s in wf.steps}


async def until(
    env: Env, wid: str, check: Callable[[Workflow], bool], timeout: float = 30
) -> Workflow:
    async def probe() -> Workflow | None:
        wf = await env.records.get(wid)
        return wf if wf is not None and check(wf) else None

    result: Workflow = await eventually(probe, timeout=timeout, interval=0.2)
    return result


def moved_past(generation: int) -> Callable[[Workflow], bool]:
    def moved(w: Workflow) -> bool:
        return w.generation > generation or w.phase == "SUCCEEDED"

    return moved


class SelectorHistory:
    """Every distinct selector the Service had, in order, from a watch as admin."""

    def __init__(self, env: Env, name: str) -> None:
        self.seen: list[dict[str, str]] = []
        self._task = asyncio.get_running_loop().create_task(self._watch(env, name))

    async def _watch(self, env: Env, name: str) -> None:
        async for event in env.admin.watch(
            SERVICES.path(namespace=NS),
            params={"watch": "1", "fieldSelector": f"metadata.name={name}"},
            read_timeout=120,
        ):
            selector = dict((event.get("object") or {}).get("spec", {}).get("selector") or {})
            if not self.seen or self.seen[-1] != selector:
                self.seen.append(selector)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# ------------------------------------------------------------------- traffic


async def test_pause_and_resume_are_idempotent_and_drift_is_seen(env: Env, unique: str) -> None:
    name = f"pg-t-{unique}"
    await env.database(name, backup=False)
    original = await env.selector(name)
    ref = ObjectRefInput(namespace=NS, name=name, kind="Postgres")
    assert env.traffic(name) == "ACCEPTING"

    paused = plan_pause_database_traffic(
        PauseDatabaseTrafficInput(ref, reason="maintenance"),
        store=env.store,
        cluster=env.cluster,
        caller="alice",
        now=datetime.now(UTC),
    )
    assert [c.action for c in paused.plan.changes] == ["PATCH", "PATCH", "CREATE"]
    assert [w.code for w in paused.plan.warnings] == ["TRAFFIC_STOPPED"]
    assert (await env.run(paused.plan)).ok
    assert await env.selector(name) == {"stashql.io/traffic": "paused"}
    maintenance = await env.admin.get(SERVICES.path(namespace=NS, name=f"{name}-maintenance"))
    assert maintenance["spec"]["selector"] == original
    await eventually(lambda: env.traffic(name) == "PAUSED")
    db = env.db(name)
    assert db is not None
    view = traffic_view(db, env.service(name))
    assert (view.paused_by, view.reason, view.maintenance_service) == (
        "alice",
        "maintenance",
        f"{name}-maintenance",
    )

    again = plan_pause_database_traffic(
        PauseDatabaseTrafficInput(ref),
        store=env.store,
        cluster=env.cluster,
        caller="alice",
        now=datetime.now(UTC),
    )
    assert [c.action for c in again.plan.changes] == ["NONE", "NONE", "NONE"]
    assert again.plan.warnings == []

    # Someone puts the selector back by hand: recorded as paused, yet reachable.
    svc = await env.admin.get(SERVICES.path(namespace=NS, name=name))
    svc["spec"]["selector"] = original
    await env.admin.put(SERVICES.path(namespace=NS, name=name), svc)
    await eventually(lambda: env.traffic(name) == "DRIFTED")

    resumed = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert [c.action for c in resumed.plan.changes] == ["NONE", "PATCH", "DELETE"]
    assert (await env.run(resumed.plan)).ok
    await eventually(lambda: env.traffic(name) == "ACCEPTING")
    assert await env.selector(name) == original
    with pytest.raises(ApiError) as gone:
        await env.admin.get(SERVICES.path(namespace=NS, name=f"{name}-maintenance"))
    assert gone.value.status == 404
    await eventually(lambda: env.service(f"{name}-maintenance") is None)
    twice = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert [c.action for c in twice.plan.changes] == ["NONE"]


# ------------------------------------------------------------------- workflows


async def test_automatic_restore_runs_to_succeeded(env: Env, unique: str) -> None:
    name = f"pg-a-{unique}"
    await env.database(name)
    original = await env.selector(name)
    wf = await env.restore(name)
    history = SelectorHistory(env, name)
    assert states(wf)["PAUSE_TRAFFIC"] == "SUCCEEDED"
    assert [r.name for r in wf.paused_backups] == [f"{name}-backup"]
    bc = await env.admin.get(
        f"/apis/core.kubestash.com/v1alpha1/namespaces/{NS}/backupconfigurations/{name}-backup"
    )
    assert bc["spec"]["paused"] is True
    env.controller("one")
    await asyncio.sleep(1)
    assert states(await env.record(wf.id))["RESTORE_DATA"] == "RUNNING"
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert states(done) == {
        "PAUSE_TRAFFIC": "SUCCEEDED",
        "PAUSE_BACKUPS": "SUCCEEDED",
        "RESTORE_DATA": "SUCCEEDED",
        "RUN_CHECKS": "SKIPPED",
        "AWAIT_RESUME": "SKIPPED",
        "RESUME_BACKUPS": "SUCCEEDED",
        "RESUME_TRAFFIC": "SUCCEEDED",
    }
    assert await env.selector(name) == original
    bc = await env.admin.get(
        f"/apis/core.kubestash.com/v1alpha1/namespaces/{NS}/backupconfigurations/{name}-backup"
    )
    assert bc["spec"]["paused"] is False
    await eventually(lambda: env.traffic(name) == "ACCEPTING")
    await history.stop()
    # Paused once by the mutation, put back once by the controller.
    assert history.seen == [PAUSED, original]


async def test_each_step_is_driven_by_events_not_by_the_lease_tick(env: Env, unique: str) -> None:
    """With a lease renewed only every 10 minutes, the controller still moves the workflow
    from step to step on the events its own writes cause (a wake-up that arrived during a
    pass used to be dropped, and the workflow waited for the next tick)."""
    name = f"pg-e-{unique}"
    await env.database(name)
    wf = await env.restore(name)
    env.controller("slow-tick", renew_every=600, lease_duration=900)
    await until(env, wf.id, lambda w: states(w)["RESTORE_DATA"] == "RUNNING")
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert states(done)["RESUME_BACKUPS"] == "SUCCEEDED"
    assert states(done)["RESUME_TRAFFIC"] == "SUCCEEDED"


CHECK = RestoreCheckInput(ObjectRefInput(namespace="kubestash", name="row-count"), {"min": "1"})


async def test_after_checks_resumes_once_every_check_passed(env: Env, unique: str) -> None:
    name = f"pg-c-{unique}"
    await env.database(name, backup=False)
    original = await env.selector(name)
    wf = await env.restore(name, resume="AFTER_CHECKS", checks=[CHECK, CHECK])
    assert states(wf)["PAUSE_BACKUPS"] == "SKIPPED"
    env.controller("one")
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    running = await until(env, wf.id, lambda w: w.step("RUN_CHECKS").state == "RUNNING")
    assert running.phase == "RUNNING"
    assert await env.selector(name) == PAUSED  # not before the checks passed
    hooks = {"postHooks": [{"name": "check-0", "phase": "Succeeded"}]}
    await env.operator(wf.restore_session, {"phase": "Succeeded", "hooks": hooks})
    await until(env, wf.id, lambda w: w.checks[0].state == "SUCCEEDED")
    assert await env.selector(name) == PAUSED
    hooks["postHooks"].append({"name": "check-1", "phase": "Succeeded"})
    await env.operator(wf.restore_session, {"phase": "Succeeded", "hooks": hooks})
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert [c.state for c in done.checks] == ["SUCCEEDED", "SUCCEEDED"]
    assert await env.selector(name) == original


async def test_a_failing_check_fails_the_workflow_and_keeps_traffic_paused(
    env: Env, unique: str
) -> None:
    name = f"pg-f-{unique}"
    await env.database(name)
    wf = await env.restore(name, resume="AFTER_CHECKS", checks=[CHECK])
    env.controller("one")
    hooks = {"postHooks": [{"name": "check-0", "phase": "Failed"}]}
    await env.operator(wf.restore_session, {"phase": "Succeeded", "hooks": hooks})
    failed = await until(env, wf.id, lambda w: w.phase == "FAILED")
    assert states(failed)["RUN_CHECKS"] == "FAILED"
    assert "kubestash/row-count" in (failed.step("RUN_CHECKS").message or "")
    assert failed.current_step is not None
    assert failed.current_step.kind == "RUN_CHECKS"
    await asyncio.sleep(1.5)  # the controller leaves a failed workflow alone
    assert await env.selector(name) == PAUSED
    assert (await env.admin.get(BC.format(name=f"{name}-backup")))["spec"]["paused"] is True
    assert env.traffic(name) == "PAUSED"

    # resumeDatabaseTraffic completes a failed one too: traffic and its backups resume.
    ref = ObjectRefInput(namespace=NS, name=name, kind="Postgres")
    planned = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert planned.completes is not None
    assert planned.completes.id == wf.id
    outcome, completed = await run_resume(
        env.writer,
        planned,
        records=env.records,
        caller=ALICE,
        input_digest="",
        dry_run=False,
        idempotency_key=None,
    )
    assert outcome.ok, outcome.plan.errors
    assert completed is not None
    assert completed.phase == "FAILED"
    assert states(completed)["RESUME_TRAFFIC"] == "SUCCEEDED"
    assert (await env.admin.get(BC.format(name=f"{name}-backup")))["spec"]["paused"] is False
    assert await env.selector(name) != PAUSED


async def test_a_failed_restore_keeps_traffic_paused_and_says_why(env: Env, unique: str) -> None:
    name = f"pg-x-{unique}"
    await env.database(name)
    wf = await env.restore(name)
    env.controller("one")
    status = {
        "phase": "Failed",
        "components": {"dump": {"phase": "Failed", "error": "pg_restore: connection refused"}},
    }
    await env.operator(wf.restore_session, status)
    failed = await until(env, wf.id, lambda w: w.phase == "FAILED")
    assert states(failed)["RESTORE_DATA"] == "FAILED"
    assert "connection refused" in (failed.step("RESTORE_DATA").message or "")
    assert states(failed)["RESUME_TRAFFIC"] == "PENDING"
    assert await env.selector(name) == PAUSED


async def test_manual_waits_for_resume_then_succeeds(env: Env, unique: str) -> None:
    name = f"pg-m-{unique}"
    await env.database(name)
    original = await env.selector(name)
    ref = ObjectRefInput(namespace=NS, name=name, kind="Postgres")
    wf = await env.restore(name, resume="MANUAL")
    env.controller("one")

    # While the data is restored, resuming is refused and another restore too.
    await eventually(lambda: any(w.id == wf.id for w in workflows_in(env)))
    early = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert [e.code for e in early.plan.errors] == ["RESTORE_IN_PROGRESS"]

    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    waiting = await until(env, wf.id, lambda w: w.phase == "AWAITING_RESUME")
    assert waiting.current_step is not None
    assert waiting.current_step.kind == "AWAIT_RESUME"
    await asyncio.sleep(1.5)
    assert await env.selector(name) == PAUSED  # only resumeDatabaseTraffic resumes it

    async def awaiting_in_cache() -> bool:
        return any(w.id == wf.id and w.phase == "AWAITING_RESUME" for w in workflows_in(env))

    await eventually(awaiting_in_cache)
    planned = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert planned.completes is not None
    assert [c.action for c in planned.plan.changes][-1] == "DELETE"
    outcome, completed = await run_resume(
        env.writer,
        planned,
        records=env.records,
        caller=ALICE,
        input_digest="",
        dry_run=False,
        idempotency_key=None,
    )
    assert outcome.ok, outcome.plan.errors
    assert completed is not None
    assert completed.phase == "SUCCEEDED"
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in completed.steps)
    assert await env.selector(name) == original
    assert (await env.admin.get(BC.format(name=f"{name}-backup")))["spec"]["paused"] is False


def workflows_in(env: Env) -> list[Workflow]:
    from resolvers.reads.workflows import workflows_of

    return workflows_of(env.store.list(env.cluster, CONFIG_MAPS, OWN))


async def test_restore_in_progress_and_invalid_combinations_are_refused(
    env: Env, unique: str
) -> None:
    name = f"pg-r-{unique}"
    await env.database(name, backup=False)
    now = datetime.now(UTC)

    def plan(**kw: Any) -> list[str]:
        inp = RestoreWorkflowInput(
            database=ObjectRefInput(namespace=NS, name=name, kind="Postgres"),
            snapshot=ObjectRefInput(namespace=NS, name="snap"),
            **kw,
        )
        planned = plan_restore_database(
            inp,
            store=env.store,
            cluster=env.cluster,
            caller=ALICE,
            own_namespace=OWN,
            now=now,
            data_restore=session_change(env.cluster, inp, now),
        )
        return [e.code for e in planned.plan.errors]

    assert plan(pause_traffic=False, resume="MANUAL") == ["INVALID_INPUT"]
    assert plan(resume="AFTER_CHECKS") == ["INVALID_INPUT"]
    assert plan(resume="AUTOMATIC", checks=[CHECK]) == ["INVALID_INPUT"]
    assert plan(point_in_time=True) == ["RECOVERY_NOT_AVAILABLE"]
    wf = await env.restore(name)
    await eventually(lambda: any(w.id == wf.id for w in workflows_in(env)))
    assert plan() == ["RESTORE_IN_PROGRESS"]


async def test_a_killed_controller_is_replaced_and_the_workflow_runs_once(
    env: Env, unique: str
) -> None:
    name = f"pg-k-{unique}"
    await env.database(name)
    original = await env.selector(name)
    wf = await env.restore(name)
    history = SelectorHistory(env, name)
    # The first controller takes the Lease and the workflow while the data is still being
    # restored, and is killed holding both: its replacement must wait the Lease out.
    first = env.controller("gen-first")
    await until(env, wf.id, lambda w: states(w)["RESTORE_DATA"] == "RUNNING")
    await asyncio.sleep(1)
    await first.stop(release=False)
    env.controllers.remove(first)
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    generations: list[int] = []
    for i in range(12):
        controller = env.controller(f"gen-{i}")
        before = (await env.record(wf.id)).generation
        try:
            await until(env, wf.id, moved_past(before))
        finally:
            # Killed, not stopped: the Lease is left to expire, as after a crash.
            await controller.stop(release=False)
            env.controllers.remove(controller)
        current = await env.record(wf.id)
        generations.append(current.generation)
        if current.phase == "SUCCEEDED":
            break
    done = await env.record(wf.id)
    assert done.phase == "SUCCEEDED", states(done)
    assert generations  # a replacement finished what the killed one held
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps)
    assert await env.selector(name) == original
    await history.stop()
    assert history.seen == [PAUSED, original]


async def test_two_controllers_one_leads_and_the_workflow_runs_once(env: Env, unique: str) -> None:
    name = f"pg-2-{unique}"
    await env.database(name)
    original = await env.selector(name)
    wf = await env.restore(name)
    history = SelectorHistory(env, name)
    first, second = env.controller("first"), env.controller("second")
    # A Lease left by an earlier (killed) controller expires first.
    await eventually(lambda: first.leading(env.cluster) or second.leading(env.cluster))
    for _ in range(20):  # and from then on, never both
        assert [first.leading(env.cluster), second.leading(env.cluster)].count(True) == 1
        await asyncio.sleep(0.1)
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps)
    await history.stop()
    assert history.seen == [PAUSED, original]
    # The leader going away hands over: the other takes the Lease once it expires.
    leader = first if first.leading(env.cluster) else second
    other = second if leader is first else first
    await leader.stop(release=False)
    env.controllers.remove(leader)
    await eventually(lambda: other.leading(env.cluster), timeout=10)


async def test_when_the_record_cannot_be_written_nothing_is_left_changed(
    env: Env, unique: str
) -> None:
    name = f"pg-u-{unique}"
    await env.database(name)
    original = await env.selector(name)
    now = datetime.now(UTC)
    inp = RestoreWorkflowInput(
        database=ObjectRefInput(namespace=NS, name=name, kind="Postgres"),
        snapshot=ObjectRefInput(namespace=NS, name="snap"),
    )
    planned = plan_restore_database(
        inp,
        store=env.store,
        cluster=env.cluster,
        caller=ALICE,
        own_namespace=OWN,
        now=now,
        data_restore=session_change(env.cluster, inp, now),
    )
    assert planned.workflow is not None
    session = planned.workflow.restore_session
    # The record's name is taken, so creating it (as the gateway, last) fails.
    await env.records.create(planned.workflow)
    outcome, wf = await run_restore(
        env.writer,
        planned,
        caller=ALICE,
        own_namespace=OWN,
        input_digest="",
        dry_run=False,
        idempotency_key=None,
    )
    assert wf is None
    assert [e.code for e in outcome.plan.errors] == ["TARGET_EXISTS"]
    assert await env.selector(name) == original
    bc = await env.admin.get(BC.format(name=f"{name}-backup"))
    assert not bc["spec"].get("paused")
    with pytest.raises(ApiError) as gone:
        await env.admin.get(RESTORE_SESSIONS.path(namespace=NS, name=session))
    assert gone.value.status == 404
    db = await env.admin.get(f"/apis/kubedb.com/v1/namespaces/{NS}/postgreses/{name}")
    assert "stashql.io/traffic-paused-at" not in (db["metadata"].get("annotations") or {})


async def test_a_controller_dying_between_its_change_and_the_record_is_not_repeated(
    env: Env, unique: str
) -> None:
    name = f"pg-d-{unique}"
    await env.database(name, backup=False)
    original = await env.selector(name)
    wf = await env.restore(name)
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    # What a controller that died right after putting the selector back leaves: the
    # step RUNNING in the record, the Service already resumed.
    now = datetime.now(UTC)
    current = await env.record(wf.id)
    current = current.with_step("RESTORE_DATA", "SUCCEEDED", now=now)
    current = await env.records.update(current.with_step("RESUME_TRAFFIC", "RUNNING", now=now))
    ref = ObjectRefInput(namespace=NS, name=name, kind="Postgres")
    await eventually(lambda: env.traffic(name) == "PAUSED")
    await eventually(
        lambda: any(
            w.id == wf.id and w.step("RESUME_TRAFFIC").state == "RUNNING" for w in workflows_in(env)
        )
    )
    by_hand = plan_resume_database_traffic(
        ResumeDatabaseTrafficInput(ref), store=env.store, cluster=env.cluster, own_namespace=OWN
    )
    assert (await env.run(by_hand.plan)).ok
    await eventually(lambda: env.traffic(name) == "ACCEPTING")
    await eventually(lambda: env.service(f"{name}-maintenance") is None)
    history = SelectorHistory(env, name)
    svc = await env.admin.get(SERVICES.path(namespace=NS, name=name))
    env.controller("after-crash")
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert done.step("RESUME_TRAFFIC").state == "SUCCEEDED"
    await asyncio.sleep(0.5)
    await history.stop()
    assert history.seen == [original]
    # Nothing was written to the Service again (not even an identical apply).
    again = await env.admin.get(SERVICES.path(namespace=NS, name=name))
    assert again["metadata"]["resourceVersion"] == svc["metadata"]["resourceVersion"]
