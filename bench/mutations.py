"""Benchmark: how long enableBackup and restoreDatabase take, dry run and real, and how
many API-server round trips each makes.

    uv run python -m bench.mutations [--iterations N] [--out docs/benchmarks.md]

Starts its own two-cluster sandbox in a temporary folder and the gateway in this
process (so its audit log, which records each mutation's round trips, can be read).
Seeds the installation (Addons, Functions, catalog), a storage, a retention policy and
``N`` Postgres databases in team-a, each with its KubeDB Service and a Repository
holding one snapshot of it. Then, as alice:

- ``N`` dry runs of enableBackup on one database, and ``N`` real enableBackup calls, one
  per database (each makes an encryption Secret and a BackupConfiguration);
- ``N`` dry runs of restoreDatabase on one database, and ``N`` real restoreDatabase
  calls, one per database, each restoring the database's snapshot with the defaults
  (traffic paused, resume AUTOMATIC): it pauses the Service, records the pause on the
  database, makes the maintenance Service, pauses the BackupConfiguration that
  enableBackup made, creates the RestoreSession, and records the workflow.

Every answer is checked (no userErrors, the configuration, the workflow and the
RestoreSession returned, the restore plan pausing the backup), so a fast wrong answer
cannot pass. Latency is measured at the HTTP client, end to end: for restoreDatabase
that is the mutation's answer, not the restore. The sandbox runs no operator, so after
each real restore the benchmark plays KubeStash (writes the RestoreSession's status
``Succeeded`` as admin) and, untimed, waits until the gateway's workflow controller has
run the workflow to SUCCEEDED and the gateway shows the database accepting traffic
again, so no workflow is still moving during the next call. While it waits it touches
an annotation of that RestoreSession every ``WAKE_EVERY`` seconds (as KubeStash's
progress updates would): the controller moves on when an informer event wakes it, and
the events of its own writes arrive while it is still busy with the step before and
are not seen, so without later events each of its later steps waits for its 5 s tick,
which would add seconds to every iteration without changing what is timed.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from apis.resources import RESTORE_SESSIONS, SERVICES
from auth.audit import LOGGER as AUDIT_LOGGER
from bench.procs import REPO
from bench.report import write_section
from gateway.settings import Settings
from kube.client import KubeClient
from sandbox import objects as o
from sandbox.controlplane import Sandbox, start_sandbox
from sandbox.demo import installation
from tests.helpers import free_port, run_gateway, seed, stop_gateway

DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- mutations:begin -->", "<!-- mutations:end -->"

CLUSTER, NS = "sandbox-1", "team-a"
# How long one restore workflow may take to reach SUCCEEDED once its data is "in".
WORKFLOW_TIMEOUT = 60.0
# While waiting for a workflow, how often the benchmark polls it and wakes the controller.
WAKE_EVERY = 0.2

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

RESTORE = """
mutation($i: RestoreDatabaseInput!) {
  restoreDatabase(input: $i) {
    plan { action kind name }
    warnings { code }
    userErrors { code message }
    restore { id phase }
    restoreSession { name }
  }
}
"""

WORKFLOW = """
query($r: ObjectRefInput!) {
  database(ref: $r) {
    traffic { state }
    restoreWorkflow { id phase steps { kind state message } }
  }
}
"""


class CallFailed(Exception):
    """A mutation answered with an error, userErrors or without what it must return."""


class Rounds(logging.Handler):
    """Collects (operation, roundTrips) of every mutation audit entry, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = json.loads(record.getMessage())
        if entry.get("event") == "mutation":
            self.entries.append((str(entry.get("operation")), int(entry.get("roundTrips", 0))))

    def take(self, operation: str, expected: int) -> list[int]:
        """The round trips of ``operation``'s entries since the last take; the other
        operations' entries are dropped. Exactly one entry per timed call."""
        rounds = [n for op, n in self.entries if op == operation]
        self.entries.clear()
        if len(rounds) != expected:
            raise CallFailed(
                f"{operation}: {len(rounds)} audit entries for {expected} calls; "
                "round trips cannot be attributed"
            )
        return rounds


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


def _ref(db: str) -> dict[str, Any]:
    return {"cluster": CLUSTER, "kind": "Postgres", "namespace": NS, "name": db}


def _enable_input(db: str, *, dry_run: bool) -> dict[str, Any]:
    return {
        "database": _ref(db),
        "backup": {
            "storage": {"namespace": NS, "name": "bench-s3"},
            "retentionPolicy": {"namespace": NS, "name": "bench-keep"},
            "schedule": "0 3 * * *",
            "encryption": {"password": "bench-password"},
        },
        "dryRun": dry_run,
    }


def _restore_input(db: str, *, dry_run: bool) -> dict[str, Any]:
    return {
        "database": _ref(db),
        "source": {"snapshot": {"cluster": CLUSTER, "namespace": NS, "name": f"{db}-snap"}},
        "dryRun": dry_run,
    }


def _check_enable(answer: dict[str, Any], dry_run: bool) -> str | None:
    if not dry_run and not answer["configuration"]:
        return "answered without its configuration"
    return None


def _check_restore(answer: dict[str, Any], dry_run: bool) -> str | None:
    kinds = {(c["action"], c["kind"]) for c in answer["plan"]}
    if ("CREATE", "RestoreSession") not in kinds:
        return f"the plan creates no RestoreSession: {answer['plan']}"
    if ("PATCH", "BackupConfiguration") not in kinds:
        return f"the plan pauses no BackupConfiguration: {answer['plan']}"
    if dry_run:
        if answer["restore"] is not None or answer["restoreSession"] is not None:
            return "a dry run answered with a workflow or a RestoreSession"
        return None
    if not answer["restore"] or not answer["restoreSession"]:
        return "answered without its workflow or its RestoreSession"
    if answer["restore"]["phase"] != "RUNNING":
        return f"the workflow is {answer['restore']['phase']}, not RUNNING"
    return None


# Each mutation's document and the check of its payload (given whether it was a dry run).
MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any], bool], str | None]]] = {
    "enableBackup": (ENABLE, _check_enable),
    "restoreDatabase": (RESTORE, _check_restore),
}


async def _call(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    field: str,
    inp: dict[str, Any],
) -> tuple[float, dict[str, Any]]:
    """One mutation as the token's user: (seconds at the client, its checked payload)."""
    query, check = MUTATIONS[field]
    start = time.perf_counter()
    r = await client.post(
        url,
        json={"query": query, "variables": {"i": inp}},
        headers={"Authorization": f"Bearer {token}"},
    )
    took = time.perf_counter() - start
    body = r.json()
    answer = (body.get("data") or {}).get(field)
    if r.status_code != 200 or not answer or answer["userErrors"]:
        raise CallFailed(f"{field} failed: {r.status_code} {json.dumps(body)[:800]}")
    wrong = check(answer, bool(inp["dryRun"]))
    if wrong:
        raise CallFailed(f"{field}: {wrong}")
    return took, answer


async def _warm_up(
    client: httpx.AsyncClient, url: str, token: str, field: str, inp: dict[str, Any]
) -> None:
    """The first request of a viewer pays its access reviews, and the gateway's cache
    may still be listing the seeded objects: retry a dry run until it is answered."""
    last: CallFailed | None = None
    for _ in range(100):
        try:
            await _call(client, url, token, field, inp)
            return
        except CallFailed as exc:
            last = exc
            await asyncio.sleep(0.2)
    assert last is not None
    raise last


async def _seed(sandbox: Sandbox, names: list[str]) -> None:
    """The installation, a storage and retention policy, and per name a Ready database,
    its KubeDB Service (as KubeDB makes it; the traffic pause acts on it) and a
    Repository holding one restorable snapshot of it."""
    taken = datetime.now(UTC) - timedelta(minutes=10)
    objects: list[dict[str, Any]] = [
        *installation(),
        o.backup_storage("bench-s3", NS, bucket="bench", prefix="b", scope="Same"),
        o.retention_policy("bench-keep", NS, scope="Same", max_period="30d", last=3),
    ]
    for name in names:
        db = o.database("Postgres", name, NS, phase="Ready")
        repo = o.repository(db, f"{name}-repo", storage=(NS, "bench-s3"), snapshots=1)
        snap = o.snapshot(f"{name}-snap", repo, session="seeded", taken=taken, size="16 MiB")
        objects += [db, repo, snap]
    await seed(sandbox, objects)
    admin = sandbox.client(0)
    try:
        for name in names:
            service = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": name,
                    "namespace": NS,
                    "labels": {"app.kubernetes.io/managed-by": "kubedb.com"},
                },
                "spec": {
                    "selector": {
                        "app.kubernetes.io/instance": name,
                        "app.kubernetes.io/managed-by": "kubedb.com",
                        "app.kubernetes.io/name": "postgreses.kubedb.com",
                    },
                    "ports": [{"name": "primary", "port": 5432}],
                },
            }
            await admin.post(SERVICES.path(namespace=NS), service)
    finally:
        await admin.close()


async def _finish_restore(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    admin: KubeClient,
    db: str,
    answer: dict[str, Any],
) -> None:
    """Untimed: play KubeStash (the RestoreSession succeeded), then wait, waking the
    controller, until it has run the workflow to SUCCEEDED and the gateway shows the
    database accepting traffic again."""
    session = answer["restoreSession"]["name"]
    wid = answer["restore"]["id"]
    await admin.apply(
        RESTORE_SESSIONS.path(namespace=NS, name=session) + "/status",
        {
            "apiVersion": RESTORE_SESSIONS.api_version,
            "kind": RESTORE_SESSIONS.kind,
            "metadata": {"name": session, "namespace": NS},
            "status": {"phase": "Succeeded"},
        },
        field_manager="bench-operator",
    )
    loop = asyncio.get_running_loop()
    end = loop.time() + WORKFLOW_TIMEOUT
    last: Any = None
    polls = 0
    while loop.time() < end:
        polls += 1
        await admin.apply(
            RESTORE_SESSIONS.path(namespace=NS, name=session),
            {
                "apiVersion": RESTORE_SESSIONS.api_version,
                "kind": RESTORE_SESSIONS.kind,
                "metadata": {
                    "name": session,
                    "namespace": NS,
                    "annotations": {"bench.stashql.io/wake": str(polls)},
                },
            },
            field_manager="bench-wake",
        )
        r = await client.post(
            url,
            json={"query": WORKFLOW, "variables": {"r": _ref(db)}},
            headers={"Authorization": f"Bearer {token}"},
        )
        last = (r.json().get("data") or {}).get("database")
        wf = (last or {}).get("restoreWorkflow") or {}
        if wf.get("id") == wid and wf.get("phase") == "FAILED":
            raise CallFailed(f"restore workflow {wid} of {db} failed: {json.dumps(wf)}")
        if (
            wf.get("id") == wid
            and wf.get("phase") == "SUCCEEDED"
            and (last.get("traffic") or {}).get("state") == "ACCEPTING"
        ):
            await asyncio.sleep(WAKE_EVERY)  # the last wake-up's events are handled
            return
        await asyncio.sleep(WAKE_EVERY)
    raise CallFailed(
        f"restore workflow {wid} of {db} not done in {WORKFLOW_TIMEOUT:.0f} s: {json.dumps(last)}"
    )


async def run(iterations: int) -> tuple[list[Series], str]:
    with tempfile.TemporaryDirectory(prefix="stashql-bench-") as tmp:
        sandbox = await start_sandbox(Path(tmp), clusters=2)
        try:
            names = [f"bench-{i:03d}" for i in range(iterations)]
            await _seed(sandbox, names)
            handler = Rounds()
            logging.getLogger(AUDIT_LOGGER).addHandler(handler)
            logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)
            settings = Settings(kubeconfig=sandbox.kubeconfig, all_contexts=True, port=free_port())
            server, task = await run_gateway(settings)
            url = f"http://127.0.0.1:{settings.port}/graphql"
            token = sandbox.tokens["alice"]
            admin = sandbox.client(0)
            try:
                async with httpx.AsyncClient(timeout=60) as client:

                    async def timed(field: str, inp: dict[str, Any]) -> float:
                        return (await _call(client, url, token, field, inp))[0]

                    # enableBackup: dry runs on one database, then one real call each.
                    await _warm_up(
                        client, url, token, "enableBackup", _enable_input(names[0], dry_run=True)
                    )
                    handler.entries.clear()
                    enable_dry = [
                        await timed("enableBackup", _enable_input(names[0], dry_run=True))
                        for _ in range(iterations)
                    ]
                    enable_dry_rounds = handler.take("enableBackup", iterations)
                    enable_real = [
                        await timed("enableBackup", _enable_input(n, dry_run=False)) for n in names
                    ]
                    enable_real_rounds = handler.take("enableBackup", iterations)

                    # restoreDatabase, into the databases now backed up: dry runs on one,
                    # then one real call each, its workflow run to its end untimed.
                    await _warm_up(
                        client,
                        url,
                        token,
                        "restoreDatabase",
                        _restore_input(names[0], dry_run=True),
                    )
                    handler.entries.clear()
                    restore_dry = [
                        await timed("restoreDatabase", _restore_input(names[0], dry_run=True))
                        for _ in range(iterations)
                    ]
                    restore_dry_rounds = handler.take("restoreDatabase", iterations)
                    restore_real: list[float] = []
                    restore_real_rounds: list[int] = []
                    for n in names:
                        took, answer = await _call(
                            client, url, token, "restoreDatabase", _restore_input(n, dry_run=False)
                        )
                        restore_real.append(took)
                        restore_real_rounds += handler.take("restoreDatabase", 1)
                        await _finish_restore(client, url, token, admin, n, answer)
            finally:
                await admin.close()
                await stop_gateway(server, task)
                logging.getLogger(AUDIT_LOGGER).removeHandler(handler)
        finally:
            sandbox.stop()
    return [
        Series("enableBackup, dryRun", enable_dry, enable_dry_rounds),
        Series("enableBackup", enable_real, enable_real_rounds),
        Series("restoreDatabase, dryRun", restore_dry, restore_dry_rounds),
        Series("restoreDatabase", restore_real, restore_real_rounds),
    ], f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def report(series: list[Series], machine: str, iterations: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        BEGIN,
        "## Mutations: enableBackup and restoreDatabase, dry run and real",
        "",
        f"Measured {when} by `uv run python -m bench.mutations --iterations {iterations}` "
        f"on {machine}: a two-cluster sandbox, the gateway in the benchmark's process, "
        "alice calling over HTTP on loopback. Each call is checked (no userErrors; the real "
        "enableBackup returns its BackupConfiguration, the real restoreDatabase its "
        "workflow and RestoreSession). Round trips are the API-server requests the write "
        "pipeline made for the call, from its audit entry.",
        "",
        "A dry run sends each planned object once with `dryRun=All` as the caller. A real "
        "call adds the apply of each object, the idempotency-free path (no key sent), and "
        "waits until the gateway's cache has seen its writes, so the answer reads them.",
        "",
        "restoreDatabase restores a database's snapshot with the defaults (traffic paused, "
        "resume AUTOMATIC) into a database with one BackupConfiguration (the one "
        "enableBackup made): it pauses the Service, records the pause on the database, "
        "makes the maintenance Service, pauses the BackupConfiguration and creates the "
        "RestoreSession as the caller, then records the workflow as the gateway. Its "
        "latency is the mutation's answer, not the restore: one database per real call, "
        "and between calls (untimed) the benchmark plays KubeStash and waits until the "
        "gateway's controller has run the workflow to SUCCEEDED, so none is moving during "
        "the next call.",
        "",
        "| call | n | p50 ms | p99 ms | max ms | API round trips |",
        "|---|---|---|---|---|---|",
        *(s.row() for s in series),
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    try:
        series, machine = asyncio.run(run(args.iterations))
    except CallFailed as exc:
        raise SystemExit(str(exc)) from exc
    section = report(series, machine, args.iterations)
    write_section(args.out, section, begin=BEGIN, end=END)
    print(section, file=sys.stdout)


if __name__ == "__main__":
    main()
