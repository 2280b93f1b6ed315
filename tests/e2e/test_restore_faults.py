"""Restore workflows survive faults of real processes (issue 10).

Gateways run as their own `stashql serve` processes and are killed with SIGKILL at
every step of running workflows; two gateways run side by side; an API server is
restarted mid-workflow. The tests play KubeStash by writing the RestoreSession's
status as admin, so each step lasts exactly as long as the test needs. "No step ran
twice" is read from the API server's audit log: the Service is patched once to pause
and once to resume, the RestoreSession is created once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from apis.resources import LEASES
from resolvers.reads.workflows import Workflow
from resolvers.workflows.lease import LEASE_NAME
from resolvers.workflows.restore import RestoreCheckInput
from resolvers.writes.backup.inputs import ObjectRefInput
from sandbox.controlplane import Sandbox
from tests.conftest import STASHQL
from tests.helpers import eventually, free_port
from tests.integration.test_restore_workflow import (
    NS,
    OWN,
    PAUSED,
    Env,
    _grant_alice_services,
    states,
)
from watchers.cache import Cache
from watchers.clusters import ClusterHandle

pytestmark = [pytest.mark.sandbox]

# Killed gateways keep the Lease until it expires (15 s), then a new one takes over.
TAKEOVER = 60.0
CHECK = RestoreCheckInput(ObjectRefInput(namespace="kubestash", name="row-count"), {"min": "1"})


class GatewayProcess:
    """One `stashql serve` process on both sandbox clusters, its output in a file."""

    def __init__(self, sandbox: Sandbox, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sandbox = sandbox
        self.log = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [
                STASHQL,
                "serve",
                "--kubeconfig",
                str(sandbox.kubeconfig),
                "--all-contexts",
                "--port",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    async def ready(self, timeout: float = 90) -> None:
        async def up() -> bool:
            assert self.proc.poll() is None, "stashql serve exited"
            try:
                async with httpx.AsyncClient(timeout=2) as c:
                    return (await c.get(self.url + "/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, timeout=timeout, interval=0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no Lease release, as after a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    async def query(self, query: str, variables: dict[str, Any], *, user: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as c:
            r = await c.post(
                self.url + "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {self.sandbox.tokens[user]}"},
            )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert not body.get("errors"), body["errors"]
        return body


@pytest.fixture
def gateways(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[[], GatewayProcess]]:
    """Starts gateway processes on demand; whatever still runs at the end is stopped."""
    started: list[GatewayProcess] = []

    def start() -> GatewayProcess:
        g = GatewayProcess(sandbox, tmp_path / f"gateway-{len(started)}.log")
        started.append(g)
        return g

    try:
        yield start
    finally:
        for g in started:
            with contextlib.suppress(Exception):
                g.stop()
            # Shown by pytest only when the test failed: what each gateway said.
            lines = g.log.read_text(errors="replace").splitlines()
            print(f"--- {g.log.name}", *[x for x in lines if "/readyz" not in x][-30:], sep="\n")


@pytest_asyncio.fixture(scope="module")
async def env(sandbox: Sandbox) -> AsyncIterator[Env]:
    """The test's own cache and writer: it starts the workflows as alice (as the
    restoreDatabase mutation does) and plays KubeStash; the gateways only run them."""
    gateway = sandbox.client(0, user="gateway")
    admin = sandbox.client(0, user="admin")
    watch = gateway.with_own_pool(connection_limit=200)
    await _grant_alice_services(admin)
    cluster = sandbox.clusters[0].name
    cache = Cache([ClusterHandle(cluster, sandbox.clusters[0].server, gateway, watch)])
    cache.start()
    try:
        assert await cache.wait_synced(timeout=150, reachable=[cluster])
        yield Env(sandbox, cluster, cache, {cluster: gateway}, admin)
    finally:
        await cache.stop()
        for c in (gateway, admin, watch):
            await c.close()


async def until(
    env: Env, wid: str, check: Callable[[Workflow], bool], *, timeout: float = TAKEOVER
) -> Workflow:
    last: list[Workflow] = []

    async def probe() -> Workflow | None:
        with contextlib.suppress(Exception):  # the API server may be restarting
            wf = await env.records.get(wid)
            if wf is not None:
                last[:] = [wf]
            return wf if wf is not None and check(wf) else None
        return None

    try:
        found: Workflow = await eventually(probe, timeout=timeout, interval=0.3)
    except AssertionError as exc:
        seen = [(w.phase, states(w), [(s.kind, s.message) for s in w.steps]) for w in last]
        raise AssertionError(f"workflow {wid} did not get there: {seen}") from exc
    return found


def step_is(kind: str, state: str) -> Callable[[Workflow], bool]:
    return lambda w: w.step(kind).state == state


def writes(
    sandbox: Sandbox, *, resource: str, name: str, verbs: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The successful, real (not dry-run) writes of one object in team-a made as alice
    (through a gateway, impersonated), from the audit log of cluster 0."""
    found = []
    for event in sandbox.audit_events(0):
        ref = event.get("objectRef") or {}
        if (
            event.get("verb") in verbs
            and ref.get("resource") == resource
            and ref.get("namespace") == NS
            and ref.get("name") == name
            and not ref.get("subresource")
            and (event.get("responseStatus") or {}).get("code") in (200, 201)
            and "dryRun=" not in event.get("requestURI", "")
            and (event.get("impersonatedUser") or {}).get("username") == "alice"
        ):
            found.append(event)
    return found


async def assert_ran_once(env: Env, wf: Workflow, *, resumed: bool) -> None:
    """Exactly one pause (and one resume when ``resumed``) of the Service, each as alice
    through the gateway; one RestoreSession; the BackupConfiguration paused and resumed
    once. The audit log is written just after the response: give it a moment."""
    name = wf.database.name
    service_writes = 2 if resumed else 1

    def patches() -> list[dict[str, Any]]:
        return writes(env.sandbox, resource="services", name=name, verbs=("patch", "update"))

    with contextlib.suppress(AssertionError):
        await eventually(lambda: len(patches()) >= service_writes, timeout=5)
    events = patches()
    assert len(events) == service_writes, [e["requestURI"] for e in events]
    sessions = writes(
        env.sandbox, resource="restoresessions", name=wf.restore_session, verbs=("create",)
    )
    assert len(sessions) == 1
    bc = writes(
        env.sandbox,
        resource="backupconfigurations",
        name=f"{name}-backup",
        verbs=("patch", "update"),
    )
    assert len(bc) == (2 if resumed else 1), [e["requestURI"] for e in bc]


async def lease_holder(env: Env) -> str | None:
    with contextlib.suppress(Exception):
        lease = await env.admin.get(LEASES.path(namespace=OWN, name=LEASE_NAME))
        return str((lease.get("spec") or {}).get("holderIdentity") or "") or None
    return None


@pytest.mark.timeout(240)
async def test_gateways_killed_at_every_step_finish_each_workflow_exactly_once(
    env: Env, gateways: Callable[[], GatewayProcess], unique: str
) -> None:
    ok, bad, manual = (f"pg-kok-{unique}", f"pg-kbad-{unique}", f"pg-kman-{unique}")
    for name in (ok, bad, manual):
        await env.database(name)
    original = {name: await env.selector(name) for name in (ok, bad, manual)}
    flows = {
        ok: await env.restore(ok, resume="AFTER_CHECKS", checks=[CHECK]),
        bad: await env.restore(bad, resume="AFTER_CHECKS", checks=[CHECK]),
        manual: await env.restore(manual, resume="MANUAL", checks=[CHECK]),
    }
    for wf in flows.values():
        assert states(wf)["PAUSE_TRAFFIC"] == "SUCCEEDED"

    # PAUSE_TRAFFIC done: a gateway comes up and dies at once.
    first = gateways()
    await first.ready()
    first.kill()

    # RESTORE_DATA running: the next one takes over, starts the step, dies.
    second = gateways()
    await second.ready()
    for wf in flows.values():
        await until(env, wf.id, step_is("RESTORE_DATA", "RUNNING"))
    second.kill()
    for wf in flows.values():  # the data comes in while no gateway runs
        await env.operator(wf.restore_session, {"phase": "Succeeded"})

    # RUN_CHECKS running.
    third = gateways()
    await third.ready()
    for wf in flows.values():
        await until(env, wf.id, step_is("RUN_CHECKS", "RUNNING"))
    third.kill()
    for name, wf in flows.items():
        assert await env.selector(name) == PAUSED, name  # not before the checks pass
        phase = "Failed" if name == bad else "Succeeded"
        hooks = {"postHooks": [{"name": "check-0", "phase": phase}]}
        await env.operator(wf.restore_session, {"phase": "Succeeded", "hooks": hooks})

    # The checks end: one finishes, one fails, one awaits resume; then it dies too.
    fourth = gateways()
    await fourth.ready()
    done = await until(env, flows[ok].id, lambda w: w.phase == "SUCCEEDED")
    failed = await until(env, flows[bad].id, lambda w: w.phase == "FAILED")
    waiting = await until(env, flows[manual].id, lambda w: w.phase == "AWAITING_RESUME")
    holder = await lease_holder(env)
    fourth.kill()

    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps), states(done)
    assert await env.selector(ok) == original[ok]
    assert states(failed)["RUN_CHECKS"] == "FAILED"
    assert states(failed)["RESUME_TRAFFIC"] == "PENDING"
    assert await env.selector(bad) == PAUSED  # bad data never reaches applications
    assert waiting.current_step is not None
    assert waiting.current_step.kind == "AWAIT_RESUME"

    # AWAIT_RESUME: a new gateway takes the Lease and leaves the workflow waiting.
    fifth = gateways()
    await fifth.ready()

    async def taken_over() -> bool:
        now = await lease_holder(env)
        return now is not None and now != holder

    await eventually(taken_over, timeout=TAKEOVER, interval=0.5)
    await asyncio.sleep(2)  # a few of the new leader's ticks
    assert (await env.record(flows[manual].id)).phase == "AWAITING_RESUME"
    assert await env.selector(manual) == PAUSED
    assert (await env.record(flows[bad].id)).phase == "FAILED"
    assert await env.selector(bad) == PAUSED

    # Alice resumes it through the new gateway.
    db = {"cluster": env.cluster, "kind": "Postgres", "namespace": NS, "name": manual}
    resume = """mutation($i: ResumeDatabaseTrafficInput!) { resumeDatabaseTraffic(input: $i) {
        userErrors { code message } restore { phase } } }"""
    body = await fifth.query(resume, {"i": {"database": db}}, user="alice")
    out = body["data"]["resumeDatabaseTraffic"]
    assert out["userErrors"] == [], out
    assert out["restore"]["phase"] == "SUCCEEDED"
    assert await env.selector(manual) == original[manual]

    await assert_ran_once(env, flows[ok], resumed=True)
    await assert_ran_once(env, flows[manual], resumed=True)
    await assert_ran_once(env, flows[bad], resumed=False)


@pytest.mark.timeout(150)
async def test_two_gateways_run_a_workflow_once(
    env: Env, gateways: Callable[[], GatewayProcess], unique: str
) -> None:
    name = f"pg-two-{unique}"
    await env.database(name)
    original = await env.selector(name)
    one, two = gateways(), gateways()
    await asyncio.gather(one.ready(), two.ready())
    wf = await env.restore(name, resume="AFTER_CHECKS", checks=[CHECK])
    await until(env, wf.id, step_is("RESTORE_DATA", "RUNNING"))
    await env.operator(wf.restore_session, {"phase": "Succeeded"})
    await until(env, wf.id, step_is("RUN_CHECKS", "RUNNING"))
    hooks = {"postHooks": [{"name": "check-0", "phase": "Succeeded"}]}
    await env.operator(wf.restore_session, {"phase": "Succeeded", "hooks": hooks})
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED")
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps), states(done)
    assert one.proc.poll() is None  # both ran throughout
    assert two.proc.poll() is None
    assert await env.selector(name) == original
    await assert_ran_once(env, wf, resumed=True)


@pytest.mark.timeout(180)
async def test_an_api_server_restart_mid_workflow_is_survived(
    env: Env, gateways: Callable[[], GatewayProcess], unique: str
) -> None:
    name = f"pg-api-{unique}"
    await env.database(name)
    original = await env.selector(name)
    gateway = gateways()
    await gateway.ready()
    wf = await env.restore(name)
    await until(env, wf.id, step_is("RESTORE_DATA", "RUNNING"))

    await env.sandbox.restart_cluster(0)

    async def finished() -> bool:
        with contextlib.suppress(Exception):
            await env.operator(wf.restore_session, {"phase": "Succeeded"})
            return True
        return False

    await eventually(finished, timeout=30, interval=0.5)
    done = await until(env, wf.id, lambda w: w.phase == "SUCCEEDED", timeout=120)
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps), states(done)
    assert gateway.proc.poll() is None
    assert await env.selector(name) == original
    await assert_ran_once(env, wf, resumed=True)
