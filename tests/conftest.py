"""Shared fixtures: a real two-cluster sandbox for the whole session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from gateway.settings import Settings
from sandbox.controlplane import Sandbox, start_sandbox
from tests.helpers import Gateway, free_port, run_gateway, stop_gateway

REPO = Path(__file__).resolve().parents[1]
STASHQL = str(Path(sys.executable).with_name("stashql"))
CONTRACT_DIR = REPO.parent / "shared" / "contract"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    """Two real clusters (etcd + kube-apiserver each with RBAC and the project's CRDs)."""
    directory = tmp_path_factory.mktemp("sandbox")
    running = await start_sandbox(directory, clusters=2)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def unique() -> str:
    """A suffix that keeps each test's objects apart (namespaces are never deleted here)."""
    return os.urandom(3).hex()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway(sandbox: Sandbox) -> AsyncIterator[Gateway]:
    """StashQL serving both sandbox clusters (as the gateway's own identity).

    Without the restore workflows' controller: tests that drive workflows run the
    controller they test (one Lease per cluster: a session-long holder would starve them).
    """
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        all_contexts=True,
        port=free_port(),
        workflow_controller=False,
    )
    server, task = await run_gateway(settings)
    try:
        yield Gateway(f"http://127.0.0.1:{settings.port}", sandbox)
    finally:
        await stop_gateway(server, task)


@pytest.fixture(scope="session")
def served(sandbox: Sandbox) -> Iterator[str]:
    """`stashql serve` as its own process (for synchronous tests and the CLI's own path)."""
    port = free_port()
    # Its log goes to a file: a pipe nobody reads fills up (64 KiB) and then blocks the
    # gateway on its next log line, so a long session would hang it.
    log_path = sandbox.dir / "logs" / "served-gateway.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            STASHQL,
            "serve",
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--all-contexts",
            "--port",
            str(port),
            "--no-workflow-controller",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "stashql serve not ready in 90 s"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise
        finally:
            log.close()
