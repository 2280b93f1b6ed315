"""Who is calling: a trusted front proxy, the demo's anonymous mode, and the audit log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from auth.gate import GateSettings
from sandbox.controlplane import Sandbox
from server import Settings
from tests.helpers import free_port, run_gateway, stop_gateway

pytestmark = pytest.mark.sandbox

SECRET = "proxy-shared-secret"
QUERY = {"query": "{ viewer { username groups } databases(first: 1) { totalCount } }"}


async def test_front_proxy_identity_is_trusted_only_with_the_shared_secret(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        all_contexts=True,
        port=free_port(),
        gate=GateSettings(front_proxy_secret=SECRET),
    )
    server, task = await run_gateway(settings)
    url = f"http://127.0.0.1:{settings.port}/graphql"
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            proxied = {
                "X-Remote-User": "bob",
                "X-Remote-Group": "team-b-viewers",
                "X-Front-Proxy-Secret": SECRET,
            }
            r = await client.post(url, json=QUERY, headers=proxied)
            assert r.status_code == 200, r.text
            assert r.json()["data"]["viewer"] == {
                "username": "bob",
                "groups": ["team-b-viewers"],
            }

            with caplog.at_level(logging.INFO, logger="stashql.audit"):
                forged = {"X-Remote-User": "admin", "X-Remote-Group": "system:masters"}
                r = await client.post(url, json=QUERY, headers=forged)
                assert r.status_code == 401
                wrong = forged | {"X-Front-Proxy-Secret": "guess"}
                r = await client.post(url, json=QUERY, headers=wrong)
                assert r.status_code == 401
            lines = [
                json.loads(rec.getMessage())
                for rec in caplog.records
                if rec.name == "stashql.audit"
            ]
            assert len(lines) == 2
            assert all(
                entry["event"] == "authentication" and entry["result"] == "refused"
                for entry in lines
            )
            assert all(entry["requestId"] for entry in lines)
            assert SECRET not in caplog.text
    finally:
        await stop_gateway(server, task)


async def test_anonymous_demo_mode_still_obeys_rbac(sandbox: Sandbox, tmp_path: Path) -> None:
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        all_contexts=True,
        port=free_port(),
        gate=GateSettings(anonymous_user="bob"),
    )
    server, task = await run_gateway(settings)
    url = f"http://127.0.0.1:{settings.port}/graphql"
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.post(
                url,
                json={
                    "query": """{ viewer { username }
                        databases(first: 500, filter: {namespaces: ["team-a", "team-b"]}) {
                        nodes { namespace } } }"""
                },
            )
            assert r.status_code == 200, r.text
            data = r.json()["data"]
            assert data["viewer"] == {"username": "bob"}
            # Without credentials the request acts as bob: team-b only, as RBAC says.
            assert {n["namespace"] for n in data["databases"]["nodes"]} <= {"team-b"}
    finally:
        await stop_gateway(server, task)
