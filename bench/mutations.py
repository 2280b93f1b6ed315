"""Benchmark: how long enableBackup takes, dry run and real, and how many API-server
round trips each makes.

    uv run python -m bench.mutations [--iterations N] [--out docs/benchmarks.md]

Starts its own two-cluster sandbox in a temporary folder and the gateway in this
process (so its audit log, which records each mutation's round trips, can be read).
Seeds a storage, a retention policy and ``N`` Postgres databases in team-a, then as
alice: ``N`` dry runs of enableBackup on one database, and ``N`` real enableBackup
calls, one per database (each makes an encryption Secret and a BackupConfiguration).
Every answer is checked (no userErrors, the configuration returned), so a fast wrong
answer cannot pass. Latency is measured at the HTTP client, end to end.

The results replace the section between the "mutations" markers of ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from auth.audit import LOGGER as AUDIT_LOGGER
from bench.procs import REPO
from gateway.settings import Settings
from sandbox import objects as o
from sandbox.controlplane import start_sandbox
from tests.helpers import free_port, run_gateway, seed, stop_gateway

DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- mutations:begin -->", "<!-- mutations:end -->"

ENABLE = """
mutation($i: EnableBackupInput!) {
  enableBackup(input: $i) {
    plan { action kind name }
    userErrors { code message }
    impact { unavailableDuringSetup }
    configuration { name }
  }
}
"""


class Rounds(logging.Handler):
    """Collects roundTrips of every mutation audit entry, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.rounds: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = json.loads(record.getMessage())
        if entry.get("event") == "mutation":
            self.rounds.append(int(entry.get("roundTrips", 0)))


@dataclass
class Series:
    name: str
    seconds: list[float]
    rounds: list[int]

    def row(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        trips = sorted(set(self.rounds))
        trips_text = ", ".join(str(t) for t in trips)
        return f"| {self.name} | {len(ms)} | {p50:.1f} | {p99:.1f} | {max(ms):.1f} | {trips_text} |"


def _input(db: str, *, dry_run: bool) -> dict[str, Any]:
    return {
        "database": {"cluster": "sandbox-1", "kind": "Postgres", "namespace": "team-a", "name": db},
        "backup": {
            "storage": {"namespace": "team-a", "name": "bench-s3"},
            "retentionPolicy": {"namespace": "team-a", "name": "bench-keep"},
            "schedule": "0 3 * * *",
            "encryption": {"password": "bench-password"},
        },
        "dryRun": dry_run,
    }


async def _call(client: httpx.AsyncClient, url: str, token: str, inp: dict[str, Any]) -> float:
    start = time.perf_counter()
    r = await client.post(
        url,
        json={"query": ENABLE, "variables": {"i": inp}},
        headers={"Authorization": f"Bearer {token}"},
    )
    took = time.perf_counter() - start
    body = r.json()
    answer = (body.get("data") or {}).get("enableBackup")
    if r.status_code != 200 or not answer or answer["userErrors"]:
        raise SystemExit(f"enableBackup failed: {r.status_code} {json.dumps(body)[:800]}")
    if not inp["dryRun"] and not answer["configuration"]:
        raise SystemExit("enableBackup answered without its configuration")
    return took


async def run(iterations: int) -> tuple[list[Series], str]:
    with tempfile.TemporaryDirectory(prefix="stashql-bench-") as tmp:
        sandbox = await start_sandbox(Path(tmp), clusters=2)
        try:
            names = [f"bench-{i:03d}" for i in range(iterations)]
            await seed(
                sandbox,
                [
                    o.backup_storage(
                        "bench-s3", "team-a", bucket="bench", prefix="b", scope="Same"
                    ),
                    o.retention_policy(
                        "bench-keep", "team-a", scope="Same", max_period="30d", last=3
                    ),
                    *(o.database("Postgres", n, "team-a", phase="Ready") for n in names),
                ],
            )
            handler = Rounds()
            logging.getLogger(AUDIT_LOGGER).addHandler(handler)
            logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
            settings = Settings(kubeconfig=sandbox.kubeconfig, all_contexts=True, port=free_port())
            server, task = await run_gateway(settings)
            url = f"http://127.0.0.1:{settings.port}/graphql"
            token = sandbox.tokens["alice"]
            try:
                async with httpx.AsyncClient(timeout=60) as client:
                    # Warm up: the first request of a viewer pays its access reviews.
                    await _call(client, url, token, _input(names[0], dry_run=True))
                    handler.rounds.clear()
                    dry = [
                        await _call(client, url, token, _input(names[0], dry_run=True))
                        for _ in range(iterations)
                    ]
                    dry_rounds = list(handler.rounds)
                    handler.rounds.clear()
                    real = [
                        await _call(client, url, token, _input(n, dry_run=False)) for n in names
                    ]
                    real_rounds = list(handler.rounds)
            finally:
                await stop_gateway(server, task)
                logging.getLogger(AUDIT_LOGGER).removeHandler(handler)
        finally:
            sandbox.stop()
    return [
        Series("enableBackup, dryRun", dry, dry_rounds),
        Series("enableBackup", real, real_rounds),
    ], f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def report(series: list[Series], machine: str, iterations: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        BEGIN,
        "## Mutations: enableBackup, dry run and real",
        "",
        f"Measured {when} by `uv run python -m bench.mutations --iterations {iterations}` "
        f"on {machine}: a two-cluster sandbox, the gateway in the benchmark's process, "
        "alice calling over HTTP on loopback. Each call is checked (no userErrors; the real "
        "one returns its BackupConfiguration). Round trips are the API-server requests the "
        "write pipeline made for the call, from its audit entry.",
        "",
        "A dry run sends each planned object once with `dryRun=All` as the caller. A real "
        "call adds the apply of each object, the idempotency-free path (no key sent), and "
        "waits until the gateway's cache has seen its writes, so the answer reads them.",
        "",
        "| call | n | p50 ms | p99 ms | max ms | API round trips |",
        "|---|---|---|---|---|---|",
        *(s.row() for s in series),
        END,
    ]
    return "\n".join(lines) + "\n"


def write(out: Path, section: str) -> None:
    text = out.read_text() if out.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    series, machine = asyncio.run(run(args.iterations))
    section = report(series, machine, args.iterations)
    write(args.out, section)
    print(section, file=sys.stdout)


if __name__ == "__main__":
    main()
