"""The README's walkthroughs, run as written against `stashql demo`.

A newcomer starts the demo and pastes the README's operations into GraphiQL in order.
This test does the same: it starts the real `stashql demo` command in a subprocess (its
own sandbox, seeded, the simulator playing the operators), reads the operations out of
the README's sections (not copies of them), runs them as alice over HTTP and WebSocket,
and checks what she would see at each step. Then it runs the README's `stashql apply`
command line. A walkthrough that drifts from the product fails here.

Backups in the demo fail at random (`--fail-rate`, 10% by default) to give the problems
views something to show; the test starts it with 0 so the first backup it waits for
succeeds.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.docs_examples import FENCED, examples
from tests.helpers import eventually, free_port
from tests.ws import GraphQLWebSocket

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
STASHQL = str(Path(sys.executable).with_name("stashql"))
FAIL_NEVER = ("--fail-rate", "0")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def _operations(title: str) -> list[str]:
    """Every GraphQL operation of a README section, fenced or inline, in reading order."""
    return [example.operation for example in examples(_section(title))]


def _find(operations: list[str], *needles: str) -> str:
    hits = [op for op in operations if all(n in op for n in needles)]
    assert len(hits) == 1, f"expected one README operation with {needles}, found {len(hits)}"
    return hits[0]


@dataclass
class Demo:
    url: str
    tokens: dict[str, str]
    log: Path

    async def run(self, user: str, query: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as client:
            r = await client.post(
                self.url + "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {self.tokens[user]}"},
            )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert not body.get("errors"), (query, body["errors"])
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = folder / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [STASHQL, "demo", "--dir", str(folder / "sandbox"), "--port", str(port), *FAIL_NEVER],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 180
        while "StashQL demo is running" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "demo not running after 180 s:\n" + log.read_text()
            time.sleep(0.5)
        tokens = json.loads((folder / "sandbox" / "tokens.json").read_text())
        # The demo prints every user's token, as the README says.
        for user, token in tokens.items():
            assert f"{user:6} {token}" in log.read_text()
        pids = [int(p) for p in (folder / "sandbox" / "pids").read_text().split()]
        yield Demo(url=f"http://127.0.0.1:{port}", tokens=tokens, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    # SIGTERM stops the demo and everything it started: no etcd or API server is left.
    assert proc.returncode == 0, log.read_text()[-2000:]
    deadline = time.monotonic() + 15
    while [p for p in pids if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], "sandbox processes left after SIGTERM"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


async def _next_until(
    ws: GraphQLWebSocket, sid: str, field: str, done: Any, *, timeout: float
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{field}: never reached the expected event; saw {seen}"
        try:
            event = await ws.event(sid, field, timeout=left)
        except TimeoutError:
            message = f"{field}: no expected event in {timeout:g} s; saw {seen}"
            raise AssertionError(message) from None
        seen.append(event)
        if done(event):
            return seen


@pytest.mark.timeout(420)
async def test_backup_setup_walkthrough_as_alice(demo: Demo) -> None:
    ops = _operations("Set up a backup in the demo (as alice)")

    # 1. Her policies for Postgres in team-a: the one the README then uses is there.
    policies = (await demo.run("alice", _find(ops, "backupPolicies")))["backupPolicies"]
    named = {p["name"]: p for p in policies}
    assert "postgres-standard" in named, sorted(named)
    assert named["postgres-standard"]["methods"], named["postgres-standard"]
    assert named["postgres-standard"]["choices"]["mayChooseRetention"] is True

    # 2. The dry run plans and persists nothing; the same operation without it applies.
    enable = _find(ops, "enableBackup")
    assert "dryRun: true" in enable
    database = (
        '{ database(ref: { cluster: "sandbox-1", kind: "Postgres", namespace: "team-a",'
        ' name: "reports" }) { backup { enabled via } } }'
    )
    assert (await demo.run("alice", database))["database"]["backup"]["enabled"] is False
    planned = (await demo.run("alice", enable))["enableBackup"]
    assert planned["userErrors"] == [], planned
    assert {c["kind"] for c in planned["plan"]} >= {"BackupConfiguration"}, planned["plan"]
    assert (await demo.run("alice", database))["database"]["backup"]["enabled"] is False

    async with GraphQLWebSocket(demo.url, demo.tokens["alice"]) as ws:
        # 3. Subscribed first (as the README says: keep it open in a second tab).
        sid = await ws.subscribe(_find(ops, "subscription", "backupSessionEvents"))
        await asyncio.sleep(1)
        done = (await demo.run("alice", enable.replace("dryRun: true", "")))["enableBackup"]
        assert done["userErrors"] == [], done
        assert done["configuration"]["name"], done
        events = await _next_until(
            ws, sid, "backupSessionEvents", lambda e: e["phase"] == "SUCCEEDED", timeout=150
        )
        assert any(e["type"] == "ADDED" for e in events), events

    health = _find(ops, "lastSuccessfulSnapshot", "contents")

    async def snapshot_shown() -> dict[str, Any] | None:
        backup = (await demo.run("alice", health))["database"]["backup"]
        return backup if backup and backup["lastSuccessfulSnapshot"] else None

    backup = await eventually(snapshot_shown, timeout=30)
    contents = backup["lastSuccessfulSnapshot"]["contents"]
    # The manifest, its Secret and the data are always in a snapshot.
    assert (contents["manifest"], contents["authSecret"], contents["data"]) == (True,) * 3

    # 4. Pause, a refused run, resume, a run, opt out.
    triggers = [op for op in ops if "triggerBackup" in op]
    assert len(triggers) == 2, triggers  # one while paused, one after resuming
    trigger_paused, trigger = triggers
    pause, resume = _find(ops, "pauseBackup"), _find(ops, "resumeBackup")
    disable = _find(ops, "disableBackup")
    assert (await demo.run("alice", pause))["pauseBackup"]["userErrors"] == []
    refused = (await demo.run("alice", trigger_paused))["triggerBackup"]
    assert [e["code"] for e in refused["userErrors"]] == ["BACKUP_PAUSED"], refused
    assert (await demo.run("alice", resume))["resumeBackup"]["userErrors"] == []
    ran = (await demo.run("alice", trigger))["triggerBackup"]
    assert ran["userErrors"] == [], ran
    assert ran["backupSessions"], ran
    off = (await demo.run("alice", disable))["disableBackup"]
    assert off["userErrors"] == [], off
    assert {c["action"] for c in off["plan"]} >= {"DELETE"}, off["plan"]
    assert (await demo.run("alice", database))["database"]["backup"]["enabled"] is False

    # bob, a reader of team-b, sees nothing of alice's database and may not write.
    bob = (await demo.run("bob", pause))["pauseBackup"]
    assert [e["code"] for e in bob["userErrors"]] == ["NOT_FOUND"], bob


@pytest.mark.timeout(420)
async def test_restore_walkthrough_as_alice(demo: Demo) -> None:
    ops = _operations("Restore in the demo (as alice)")

    # 1. The details page: her Postgres orders has snapshots to restore from.
    options = _find(ops, "restoreOptions")

    async def has_snapshots() -> bool:
        found = (await demo.run("alice", options))["restoreOptions"]
        return bool(found["logicalSnapshots"]["nodes"])

    await eventually(has_snapshots, timeout=120, interval=1)

    async with GraphQLWebSocket(demo.url, demo.tokens["alice"]) as ws:
        sid = await ws.subscribe(_find(ops, "subscription", "restoreWorkflowEvents"))
        await asyncio.sleep(1)
        started = (await demo.run("alice", _find(ops, "restoreDatabase")))["restoreDatabase"]
        assert started["userErrors"] == [], started
        assert started["restore"]["phase"] in {"RUNNING", "AWAITING_RESUME"}, started
        steps = await _next_until(
            ws,
            sid,
            "restoreWorkflowEvents",
            lambda e: e["workflow"] and e["workflow"]["phase"] == "AWAITING_RESUME",
            timeout=150,
        )
        # Steps are seen live, one event per step that moved.
        assert len({e["step"] for e in steps if e["step"]}) >= 2, steps

        traffic = (await demo.run("alice", _find(ops, "traffic", "maintenanceService")))[
            "database"
        ]["traffic"]
        assert traffic["state"] == "PAUSED", traffic
        resumed = (await demo.run("alice", _find(ops, "resumeDatabaseTraffic")))[
            "resumeDatabaseTraffic"
        ]
        assert resumed["userErrors"] == [], resumed
        await _next_until(
            ws,
            sid,
            "restoreWorkflowEvents",
            lambda e: e["workflow"] and e["workflow"]["phase"] == "SUCCEEDED",
            timeout=120,
        )

    # 2. The backup page: the latest snapshot into a new database.
    copies = [op for op in ops if "restoreToNewDatabase" in op]
    new = (await demo.run("alice", _find(copies, "orders-copy")))["restoreToNewDatabase"]
    assert new["userErrors"] == [], new
    assert new["database"]["name"] == "orders-copy", new

    # 3. A point in time outside the window: refused, the window in the message.
    outside = (await demo.run("alice", _find(copies, "pointInTime")))["restoreToNewDatabase"]
    codes = [e["code"] for e in outside["userErrors"]]
    assert codes == ["RECOVERY_TIME_OUTSIDE_WINDOW"], outside
    assert re.search(r"\d{4}-\d\d-\d\dT", outside["userErrors"][0]["message"]), outside


@pytest.mark.timeout(300)
def test_the_readme_apply_command_works_in_the_demo(demo: Demo) -> None:
    blocks = [m.group(2) for m in FENCED.finditer(_section("CI pipelines and the command line"))]
    lines = [line for b in blocks for line in b.splitlines() if "stashql apply" in line]
    assert len(lines) == 1, lines
    argv = shlex.split(lines[0].replace("<admin's token>", demo.tokens["admin"]))
    assert argv[:3] == ["uv", "run", "stashql"], argv
    argv = [STASHQL, *argv[3:]]
    argv[argv.index("--server") + 1] = demo.url
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    # --wait reports progress on stderr and ends once the database's setup is READY.
    assert "ci-demo/app-db: phase READY, setup READY" in done.stderr, done.stderr
    assert re.search(r"BackupConfiguration\s+ci-demo\s+app-db-backup\s+APPLIED", done.stdout)
    assert "Traceback" not in done.stderr, done.stderr
