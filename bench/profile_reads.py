"""Profile the snapshot reads in-process: where a page or a filtered count spends its time.

    uv run python -m bench.profile_reads --size 10000 [--iterations 20] [--top 25]

Starts a two-cluster sandbox in a temporary folder, seeds ``--size`` snapshots
(``bench.dataset``, the benchmark's own data), serves the gateway in this process and,
for each query, times ``--iterations`` requests over HTTP on loopback, then runs as many
again under cProfile and prints the functions with the most own time. Timings here are
for finding hot spots, not for the record (``bench.snapshots`` writes that).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.dataset import origin_for, seed_fixtures, seed_snapshots
from bench.queries import page_query
from gateway.settings import Settings
from sandbox.controlplane import start_sandbox
from tests.helpers import free_port, run_gateway, stop_gateway

FIELDS = "edges { cursor node { id name phase snapshotTime size } }"
QUERIES = {
    "page50": page_query(50),
    "page500": page_query(500),
    "count FAILED in 2 namespaces": (
        '{ snapshots(filter: {phases: [FAILED], namespaces: ["orders", "payments"]}) '
        "{ totalCount } }"
    ),
    "page50 in 1 namespace": (
        f'{{ snapshots(first: 50, filter: {{namespaces: ["orders"]}}) {{ totalCount {FIELDS} }} }}'
    ),
    "page50 PENDING in 1 namespace": (
        f'{{ snapshots(first: 50, filter: {{phases: [PENDING], namespaces: ["orders"]}}) '
        f"{{ totalCount {FIELDS} }} }}"
    ),
}


async def _post(client: httpx.AsyncClient, token: str, query: str) -> float:
    began = time.perf_counter()
    r = await client.post("/graphql", json={"query": query}, headers={"Authorization": token})
    elapsed = time.perf_counter() - began
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise SystemExit(f"bad answer: {r.status_code} {str(body)[:300]}")
    return elapsed


async def run(size: int, iterations: int, top: int) -> None:
    with tempfile.TemporaryDirectory(prefix="stashql-profile-") as scratch:
        sandbox = await start_sandbox(Path(scratch) / "sandbox", clusters=2)
        try:
            await seed_fixtures(sandbox)
            await seed_snapshots(
                sandbox, origin=origin_for(size), start=0, stop=size, concurrency=48
            )
            settings = Settings(
                kubeconfig=sandbox.kubeconfig,
                all_contexts=True,
                port=free_port(),
                workflow_controller=False,
            )
            server, task = await run_gateway(settings)
            token = f"Bearer {sandbox.tokens['admin']}"
            url = f"http://127.0.0.1:{settings.port}"
            try:
                async with httpx.AsyncClient(base_url=url, timeout=120) as client:
                    for label, query in QUERIES.items():
                        for _ in range(3):
                            await _post(client, token, query)
                        times = [await _post(client, token, query) for _ in range(iterations)]
                        profile = cProfile.Profile()
                        profile.enable()
                        for _ in range(iterations):
                            await _post(client, token, query)
                        profile.disable()
                        out = io.StringIO()
                        stats = pstats.Stats(profile, stream=out)
                        stats.sort_stats("tottime").print_stats(top)
                        print(
                            f"\n=== {label} at {size:,}: p50 "
                            f"{statistics.median(times) * 1000:.1f} ms, max "
                            f"{max(times) * 1000:.1f} ms ({iterations} requests)"
                        )
                        print(out.getvalue())
            finally:
                await stop_gateway(server, task)
        finally:
            sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    asyncio.run(run(args.size, args.iterations, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
