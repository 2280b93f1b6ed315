"""The `stashql` command as a newcomer runs it: `sandbox up` and `serve`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
import yaml

from sandbox.controlplane import Sandbox

pytestmark = pytest.mark.sandbox

STASHQL = str(Path(sys.executable).with_name("stashql"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for every practical purpose.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.timeout(240)
def test_sandbox_up_writes_its_files_and_leaves_nothing_behind(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [STASHQL, "sandbox", "up", "--dir", str(tmp_path), "--clusters", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "sandbox did not become ready in 120 s"
            time.sleep(0.2)
        kubeconfig = yaml.safe_load((tmp_path / "kubeconfig").read_text())
        admin = yaml.safe_load((tmp_path / "admin.kubeconfig").read_text())
        tokens = json.loads((tmp_path / "tokens.json").read_text())
        assert [c["name"] for c in kubeconfig["contexts"]] == ["sandbox-1", "sandbox-2"]
        assert [c["name"] for c in admin["contexts"]] == ["sandbox-1", "sandbox-2"]
        assert set(tokens) == {"admin", "alice", "bob"}
        # The gateway's kubeconfig is not the admin's: it carries its own identity.
        assert kubeconfig["users"][0]["user"]["token"] not in tokens.values()
        servers = [c["cluster"]["server"] for c in kubeconfig["clusters"]]
        ca = ssl.create_default_context(
            cafile=kubeconfig["clusters"][0]["cluster"]["certificate-authority"]
        )
        for server in servers:
            r = httpx.get(
                server + "/apis/kubedb.com/v1",
                verify=ca,
                headers={"Authorization": f"Bearer {tokens['bob']}"},
            )
            assert r.status_code == 200
            assert "postgreses" in {x["name"] for x in r.json()["resources"]}
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert len(pids) == 3  # one etcd, two API servers
        assert all(_alive(p) for p in pids)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        if proc.stdout:
            proc.stdout.close()
    assert code == 0
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)], "processes left running after SIGTERM"
    assert not (tmp_path / "ready").exists()


QUERY = "{ viewer { username } clusters { name reachable } }"


def test_serve_answers_viewer_and_clusters_for_alice(served: str, sandbox: Sandbox) -> None:
    r = httpx.post(
        served + "/graphql",
        json={"query": QUERY},
        headers={"Authorization": f"Bearer {sandbox.tokens['alice']}"},
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["viewer"]["username"] == "alice"
    assert data["clusters"] == [
        {"name": "sandbox-1", "reachable": True},
        {"name": "sandbox-2", "reachable": True},
    ]


def test_serve_refuses_requests_without_a_valid_token(served: str) -> None:
    r = httpx.post(served + "/graphql", json={"query": QUERY})
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = httpx.post(
        served + "/graphql", json={"query": QUERY}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert r.status_code == 401


async def _ws_exchange(
    url: str, init_payload: dict[str, str] | None
) -> tuple[int | None, list[dict[str, object]]]:
    received: list[dict[str, object]] = []
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": init_payload or {}}))
        try:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None, received
        received.append(ack)
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { username } }"}}
            )
        )
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            received.append(msg)
            if msg["type"] in ("complete", "error"):
                return None, received


async def test_websocket_requires_a_token_in_connection_init(served: str, sandbox: Sandbox) -> None:
    url = served.replace("http", "ws") + "/graphql"
    code, _ = await _ws_exchange(url, None)
    assert code == 4403
    code, _ = await _ws_exchange(url, {"authorization": "Bearer wrong"})
    assert code == 4403
    code, messages = await _ws_exchange(url, {"authorization": f"Bearer {sandbox.tokens['bob']}"})
    assert code is None
    assert messages[0]["type"] == "connection_ack"
    nexts = [m for m in messages if m["type"] == "next"]
    payload: Any = nexts[0]["payload"]
    assert payload["data"] == {"viewer": {"username": "bob"}}
    assert payload["extensions"]["cost"]["requested"] > 0


def test_a_query_in_a_browser_get_still_needs_a_token(served: str) -> None:
    """The GraphiQL page is public; running a query through it is not."""
    page = httpx.get(served + "/graphql", headers={"Accept": "text/html"})
    assert page.status_code in (200, 503)
    assert "<html" in page.text.lower()
    r = httpx.get(
        served + "/graphql",
        params={"query": "{ clusters { name server } }"},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 401
    assert "server" not in r.text
