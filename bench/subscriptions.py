"""Benchmark: many graphql-transport-ws subscribers on one gateway process.

    uv run python -m bench.subscriptions [--subscribers N] [--changes K] [--rate R]
                                         [--clients P] [--out docs/benchmarks.md]

Starts its own two-cluster sandbox in a temporary folder, seeds BackupSessions in three
namespaces of both clusters (team-a, team-b, ops), and starts ``stashql serve`` as its
own process. Then, in two rounds, with 1 subscriber and with ``N``:

1. opens the subscribers to ``backupSessionEvents``, one WebSocket connection each,
   spread over the viewers admin, alice (team-a) and bob (team-b) and over filters (none,
   one namespace, two namespaces, one cluster); a subscriber is open once its
   ``connection_ack`` and every INITIAL event it should see (known from the seed) have
   arrived, and the INITIAL set is checked;
2. changes ``K`` BackupSession phases through ``/status`` (as the operator would), one
   every ``1/R`` s, round-robin over clusters and namespaces, stamping each write's
   response time;
3. collects which changes each subscriber received (each change is identified by its
   session and new phase) and the delay from the write's response to the client's
   receipt, and compares with what each subscriber may see (its viewer's namespaces and
   its filter). A RESYNC received counts as explicit, not as a missed change.

The gateway's CPU time and RSS come from /proc, the API servers' open watches from
their /metrics (``apiserver_longrunning_requests{verb="WATCH"}``, summed over both).
The clients run in ``P`` processes (asyncio + ``websockets``), so they are not the
bottleneck; they share the machine with the gateway and the API servers.

The results replace the section between the "subscriptions" markers of ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.procs import REPO, BenchError, GatewayProcess, Memory, gateway_command, gateway_env
from bench.report import percentile, write_section
from sandbox import objects as o
from sandbox.controlplane import Sandbox, start_sandbox

DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- subscriptions:begin -->", "<!-- subscriptions:end -->"

CLUSTERS = ("sandbox-1", "sandbox-2")
NAMESPACES = ("team-a", "team-b", "ops")
SESSIONS_PER_NAMESPACE = 4
# Who may read which namespaces' backup sessions (sandbox/rbac.py).
VIEWERS = {"admin": set(NAMESPACES), "alice": {"team-a"}, "bob": {"team-b"}}
# (filter, namespaces it keeps or None for all, clusters it keeps or None for all)
FILTERS: list[tuple[dict[str, Any] | None, set[str] | None, set[str] | None]] = [
    (None, None, None),
    ({"namespaces": ["team-a"]}, {"team-a"}, None),
    ({"namespaces": ["team-b"]}, {"team-b"}, None),
    ({"namespaces": ["team-a", "team-b"]}, {"team-a", "team-b"}, None),
    ({"clusters": ["sandbox-2"]}, None, {"sandbox-2"}),
]
QUERY = """subscription($f: BackupSessionFilter) {
  backupSessionEvents(filter: $f) {
    type ref { cluster namespace name } previousPhase phase resumeToken
    backupSession { name phase }
  }
}"""
# The phases a session goes through during the run (it starts Pending).
STEPS = (("Running", "RUNNING"), ("Succeeded", "SUCCEEDED"), ("Failed", "FAILED"))
OPEN_TIMEOUT = 120.0
SETTLE = 5.0  # after the last change, how long clients wait for stragglers


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Spec:
    viewer: str
    filter_index: int

    def sees(self, cluster: str, namespace: str) -> bool:
        _, namespaces, clusters = FILTERS[self.filter_index]
        return (
            namespace in VIEWERS[self.viewer]
            and (namespaces is None or namespace in namespaces)
            and (clusters is None or cluster in clusters)
        )

    def initial_count(self) -> int:
        return sum(
            SESSIONS_PER_NAMESPACE for c in CLUSTERS for ns in NAMESPACES if self.sees(c, ns)
        )


def specs_for(count: int, *, offset: int = 0) -> list[Spec]:
    viewers = list(VIEWERS)
    out = []
    for i in range(offset, offset + count):
        out.append(Spec(viewers[i % len(viewers)], (i // len(viewers)) % len(FILTERS)))
    return out


# ---------------------------------------------------------------------------- clients


@dataclass
class Receipt:
    """What one subscriber saw: (cluster, namespace, name, phase) -> wall time received."""

    spec: Spec
    opened_at: float = 0.0  # wall time when ack + every INITIAL arrived
    initial: int = 0
    events: dict[str, float] = field(default_factory=dict)
    resyncs: int = 0
    errors: list[str] = field(default_factory=list)


def _event_key(cluster: str, namespace: str, name: str, phase: str) -> str:
    return f"{cluster}/{namespace}/{name}/{phase}"


async def _subscriber(
    url: str, token: str, receipt: Receipt, opened: asyncio.Event, stop: asyncio.Event
) -> None:
    import websockets  # only the client processes need it

    expected = receipt.spec.initial_count()
    flt = FILTERS[receipt.spec.filter_index][0]
    try:
        async with websockets.connect(
            url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            max_size=2**24,
            open_timeout=OPEN_TIMEOUT,
            ping_interval=None,
            compression=None if os.environ.get("BENCH_WS_COMPRESSION") == "none" else "deflate",
        ) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            ack = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
            if ack.get("type") != "connection_ack":
                receipt.errors.append(f"no ack: {ack}")
                opened.set()
                return
            payload = {"query": QUERY, "variables": {"f": flt}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            if expected == 0:
                receipt.opened_at = time.time()
                opened.set()
            reader = asyncio.ensure_future(_read(ws, receipt, expected, opened))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            reader.cancel()
            stopper.cancel()
    except Exception as exc:  # a benchmark client records, never crashes
        receipt.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        opened.set()


async def _read(ws: Any, receipt: Receipt, expected: int, opened: asyncio.Event) -> None:
    async for raw in ws:
        now = time.time()
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "ping":
            await ws.send('{"type":"pong"}')
            continue
        if kind != "next":
            receipt.errors.append(f"{kind}: {str(msg)[:300]}")
            if kind in ("error", "complete"):
                return
            continue
        payload = msg["payload"]
        if payload.get("errors"):
            receipt.errors.append(str(payload["errors"])[:300])
            continue
        event = payload["data"]["backupSessionEvents"]
        if event["type"] == "INITIAL":
            receipt.initial += 1
            if receipt.initial == expected:
                receipt.opened_at = now
                opened.set()
            continue
        if event["type"] == "RESYNC":
            receipt.resyncs += 1
            continue
        ref = event["ref"]
        key = _event_key(ref["cluster"], ref["namespace"], ref["name"], event["phase"] or "")
        receipt.events.setdefault(key, now)


def _client_main(conn: multiprocessing.connection.Connection, url: str) -> None:
    """One client process: opens subscribers on command, reports what they saw."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_client_loop(conn, url))


async def _client_loop(conn: multiprocessing.connection.Connection, url: str) -> None:
    loop = asyncio.get_running_loop()
    receipts: list[Receipt] = []
    tasks: list[asyncio.Task[None]] = []
    stop = asyncio.Event()
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            specs: list[Spec] = arg["specs"]
            tokens: dict[str, str] = arg["tokens"]
            fresh = [Receipt(spec) for spec in specs]
            events = [asyncio.Event() for _ in fresh]
            receipts += fresh
            for receipt, opened in zip(fresh, events, strict=True):
                tasks.append(
                    asyncio.create_task(
                        _subscriber(url, tokens[receipt.spec.viewer], receipt, opened, stop)
                    )
                )
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), OPEN_TIMEOUT + 10)
            conn.send("opened")
        elif command == "hello":
            conn.send("hello")
        elif command == "collect":
            conn.send([asdict(r) for r in receipts])
        elif command == "close":
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            conn.send("closed")
            return


class Clients:
    """``processes`` client processes, the subscribers dealt out round-robin."""

    def __init__(self, url: str, processes: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conns: list[multiprocessing.connection.Connection] = []
        self._procs: list[Any] = []
        for _ in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_client_main, args=(child, url), daemon=True)
            proc.start()
            self._conns.append(parent)
            self._procs.append(proc)

    async def _ask(self, conn: multiprocessing.connection.Connection, msg: Any) -> Any:
        conn.send(msg)
        return await asyncio.to_thread(conn.recv)

    def cpu_seconds(self) -> float:
        """User + system time of the client processes so far."""
        from bench.procs import memory_of

        return sum(memory_of(p.pid).cpu_seconds for p in self._procs)

    async def ready(self) -> None:
        """Every client process has started (imports done): open times exclude that."""
        await asyncio.gather(*(self._ask(c, ("hello", None)) for c in self._conns))

    async def open(self, specs: list[Spec], tokens: dict[str, str]) -> None:
        parts = [specs[i :: len(self._conns)] for i in range(len(self._conns))]
        await asyncio.gather(
            *(
                self._ask(c, ("open", {"specs": part, "tokens": tokens}))
                for c, part in zip(self._conns, parts, strict=True)
                if part
            )
        )

    async def collect(self) -> list[Receipt]:
        out: list[Receipt] = []
        for conn in self._conns:
            for raw in await self._ask(conn, ("collect", None)):
                spec = Spec(**raw.pop("spec"))
                out.append(Receipt(spec=spec, **raw))
        return out

    async def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ask(conn, ("close", None)), 60)
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# ---------------------------------------------------------------------------- sandbox


def _admin(sandbox: Sandbox, cluster: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=sandbox.clusters[cluster].server,
        verify=sandbox.ssl_context(),
        headers={"Authorization": f"Bearer {sandbox.tokens['admin']}"},
        timeout=30,
    )


def _sessions_path(namespace: str) -> str:
    return f"/apis/core.kubestash.com/v1alpha1/namespaces/{namespace}/backupsessions"


async def seed(sandbox: Sandbox) -> list[tuple[int, str, str]]:
    """Namespaces, a BackupConfiguration and Pending BackupSessions per namespace and
    cluster; returns the sessions as (cluster index, namespace, name)."""
    sessions: list[tuple[int, str, str]] = []
    for index in range(len(CLUSTERS)):
        async with _admin(sandbox, index) as admin:
            for ns in NAMESPACES:
                r = await admin.post(
                    "/api/v1/namespaces",
                    json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                )
                if r.status_code not in (201, 409):
                    raise BenchError(f"namespace {ns}: {r.status_code} {r.text[:300]}")
                db = o.database("Postgres", "pg", ns, phase="Ready")
                bc = o.backup_configuration(
                    "pg-backup",
                    db,
                    storage=("stash", "s3"),
                    retention=("stash", "keep"),
                    repository="pg-repo",
                    addon="postgres-addon",
                    schedule="0 * * * *",
                )
                r = await admin.post(
                    f"/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/backupconfigurations",
                    json=bc,
                )
                if r.status_code not in (201, 409):
                    raise BenchError(f"BackupConfiguration: {r.status_code} {r.text[:300]}")
                for k in range(SESSIONS_PER_NAMESPACE):
                    name = f"pg-backup-{k}"
                    body = o.backup_session(name, bc, phase="Pending")
                    r = await admin.post(_sessions_path(ns), json=body)
                    if r.status_code != 201:
                        raise BenchError(f"BackupSession: {r.status_code} {r.text[:300]}")
                    await _set_phase(admin, ns, name, "Pending")
                    sessions.append((index, ns, name))
    return sessions


async def _set_phase(admin: httpx.AsyncClient, ns: str, name: str, phase: str) -> None:
    r = await admin.patch(
        f"{_sessions_path(ns)}/{name}/status",
        content=json.dumps({"status": {"phase": phase}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    if r.status_code != 200:
        raise BenchError(f"status of {ns}/{name}: {r.status_code} {r.text[:300]}")


@dataclass
class Change:
    cluster: str
    namespace: str
    name: str
    phase: str  # the enum name the API shows
    sent: float  # wall time the write was sent
    answered: float  # wall time its response arrived

    @property
    def key(self) -> str:
        return _event_key(self.cluster, self.namespace, self.name, self.phase)


class Changer:
    """Moves sessions through STEPS, round-robin, so every (session, phase) is new."""

    def __init__(self, sandbox: Sandbox, sessions: list[tuple[int, str, str]]) -> None:
        self._sandbox = sandbox
        # Interleave clusters and namespaces: consecutive changes land in different ones.
        self._order = sorted(sessions, key=lambda s: (s[2], s[1], s[0]))
        self._step: dict[tuple[int, str, str], int] = {}
        self._next = 0

    async def run(self, count: int, rate: float) -> list[Change]:
        clients = [_admin(self._sandbox, i) for i in range(len(CLUSTERS))]
        out: list[Change] = []
        try:
            start = time.perf_counter()
            for i in range(count):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                session = self._order[self._next % len(self._order)]
                self._next += 1
                step = self._step.get(session, 0)
                if step >= len(STEPS):
                    raise BenchError("more changes than the seeded sessions have steps for")
                self._step[session] = step + 1
                index, ns, name = session
                raw_phase, enum = STEPS[step]
                sent = time.time()
                await _set_phase(clients[index], ns, name, raw_phase)
                out.append(Change(CLUSTERS[index], ns, name, enum, sent, time.time()))
        finally:
            for c in clients:
                await c.aclose()
        return out


async def watch_count(sandbox: Sandbox) -> int:
    total = 0.0
    for index in range(len(CLUSTERS)):
        async with _admin(sandbox, index) as admin:
            text = (await admin.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return round(total)


# ---------------------------------------------------------------------------- rounds


@dataclass
class Round:
    subscribers: int
    open_s: float  # from the first connect until every subscriber was open
    opened: int  # subscribers that opened (ack + complete INITIAL)
    errors: list[str]
    memory_open: Memory  # gateway after opening, before the changes
    memory_end: Memory  # after the changes
    watches: int
    changes: int
    open_cpu_s: float  # the gateway's CPU time while they opened
    open_client_cpu_s: float  # the client processes' CPU time while they opened
    changes_client_cpu_s: float  # the client processes' CPU time during the changes
    expected: int  # (subscriber, change) pairs that should arrive
    delivered: int
    extra: int  # events a subscriber should not have seen
    resyncs: int
    latencies: list[float]  # seconds, from the write's response to the receipt
    latencies_sent: list[float]  # seconds, from sending the write

    @property
    def cpu_s(self) -> float:
        return self.memory_end.cpu_seconds - self.memory_open.cpu_seconds


async def one_round(
    *,
    clients: Clients,
    gateway: GatewayProcess,
    sandbox: Sandbox,
    changer: Changer,
    specs: list[Spec],
    total: int,
    changes: int,
    rate: float,
) -> Round:
    began = time.time()
    before = gateway.memory()
    client_cpu = clients.cpu_seconds()
    if specs:
        await clients.open(specs, sandbox.tokens)
    opened_memory = gateway.memory()
    open_cpu = opened_memory.cpu_seconds - before.cpu_seconds
    open_client_cpu = clients.cpu_seconds() - client_cpu
    receipts = await clients.collect()
    errors = [e for r in receipts for e in r.errors]
    opened = [r for r in receipts if r.opened_at and not r.errors]
    open_s = max((r.opened_at for r in opened), default=began) - began
    bad_initial = [r for r in opened if r.initial != r.spec.initial_count()]
    if bad_initial:
        r = bad_initial[0]
        errors.append(f"INITIAL: {r.initial} events, expected {r.spec.initial_count()}")
    log(
        f"{len(opened)}/{total} subscribers open in {open_s:.2f} s ({len(errors)} errors); "
        f"CPU meanwhile: gateway {open_cpu:.2f} s, clients {open_client_cpu:.2f} s"
    )
    await asyncio.sleep(2)  # let the gateway settle before measuring
    memory_open = gateway.memory()
    watches = await watch_count(sandbox)
    client_cpu = clients.cpu_seconds()
    done = await changer.run(changes, rate)
    await asyncio.sleep(SETTLE)
    memory_end = gateway.memory()
    changes_client_cpu = clients.cpu_seconds() - client_cpu
    log(f"changes done; client CPU meanwhile {changes_client_cpu:.2f} s")
    receipts = await clients.collect()
    expected = delivered = extra = 0
    latencies: list[float] = []
    latencies_sent: list[float] = []
    keys = {c.key for c in done}
    for r in receipts:
        for change in done:
            if not r.spec.sees(change.cluster, change.namespace):
                continue
            expected += 1
            got = r.events.get(change.key)
            if got is not None:
                delivered += 1
                latencies.append(max(0.0, got - change.answered))
                latencies_sent.append(got - change.sent)
        extra += sum(1 for k in r.events if k in keys and not r.spec.sees(*k.split("/")[:2]))
    return Round(
        subscribers=total,
        open_s=open_s,
        opened=len(opened),
        errors=errors,
        memory_open=memory_open,
        memory_end=memory_end,
        watches=watches,
        changes=len(done),
        open_cpu_s=open_cpu,
        open_client_cpu_s=open_client_cpu,
        changes_client_cpu_s=changes_client_cpu,
        expected=expected,
        delivered=delivered,
        extra=extra,
        resyncs=sum(r.resyncs for r in receipts),
        latencies=latencies,
        latencies_sent=latencies_sent,
    )


@dataclass
class Result:
    idle: Memory
    idle_watches: int
    rounds: list[Round]
    machine: str
    clients: int
    rate: float
    compression: str


async def run(args: argparse.Namespace) -> Result:
    scratch = Path(tempfile.mkdtemp(prefix="stashql-bench-subs-"))
    sandbox: Sandbox | None = None
    gateway: GatewayProcess | None = None
    clients: Clients | None = None
    try:
        log("starting a two-cluster sandbox")
        sandbox = await start_sandbox(scratch / "sandbox", clusters=len(CLUSTERS))
        sessions = await seed(sandbox)
        port = _free_port()
        gateway = GatewayProcess(
            gateway_command(sandbox.kubeconfig, port=port, profile=args.profile),
            port=port,
            log=scratch / "gateway.log",
            env=gateway_env(scratch / "pycache"),
            stop_signal=signal.SIGINT if args.profile else signal.SIGTERM,
        )
        await gateway.start()
        await asyncio.sleep(2)
        idle = gateway.memory()
        idle_watches = await watch_count(sandbox)
        clients = Clients(gateway.url.replace("http://", "ws://") + "/graphql", args.clients)
        await clients.ready()
        changer = Changer(sandbox, sessions)
        rounds = []
        log("round 1: one subscriber")
        rounds.append(
            await one_round(
                clients=clients,
                gateway=gateway,
                sandbox=sandbox,
                changer=changer,
                specs=[Spec("admin", 0)],
                total=1,
                changes=args.changes,
                rate=args.rate,
            )
        )
        if args.subscribers > 1:
            log(f"round 2: {args.subscribers} subscribers")
            rounds.append(
                await one_round(
                    clients=clients,
                    gateway=gateway,
                    sandbox=sandbox,
                    changer=changer,
                    specs=specs_for(args.subscribers - 1, offset=1),
                    total=args.subscribers,
                    changes=args.changes,
                    rate=args.rate,
                )
            )
        machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        return Result(
            idle, idle_watches, rounds, machine, args.clients, args.rate, args.compression
        )
    finally:
        if clients is not None:
            await clients.close()
        if gateway is not None:
            gateway.stop()
            if args.keep:
                log(f"gateway log: {scratch / 'gateway.log'}")
        if sandbox is not None:
            sandbox.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------- report


def _ms(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q) * 1000:,.1f}" if samples else "-"


def report(result: Result, argv: list[str]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    idle = result.idle
    rows = []
    for r in result.rounds:
        rows.append(
            f"| {r.subscribers:,} | {r.opened:,} | {r.open_s:.2f} | {r.open_cpu_s:.2f} "
            f"| {len(r.errors)} "
            f"| {r.delivered:,} / {r.expected:,} | {r.resyncs} | {r.extra} "
            f"| {_ms(r.latencies, 0.5)} | {_ms(r.latencies, 0.99)} "
            f"| {_ms(r.latencies_sent, 0.99)} | {r.cpu_s:.2f} "
            f"| {r.memory_open.rss_kib / 1024:,.0f} | {r.watches} |"
        )
    per_sub = "-"
    if len(result.rounds) == 2:
        one, many = result.rounds
        if many.subscribers > one.subscribers:
            kib = (many.memory_open.rss_kib - one.memory_open.rss_kib) / (
                many.subscribers - one.subscribers
            )
            per_sub = f"{kib:,.1f} KiB"
    errors = [e for r in result.rounds for e in r.errors][:3]
    lines = [
        BEGIN,
        "## Subscriptions: many graphql-transport-ws subscribers on one gateway",
        "",
        f"Measured {when} by `uv run python -m bench.subscriptions {' '.join(argv)}` on "
        f"{result.machine}: a two-cluster sandbox, `stashql serve` as its own process, "
        f"{result.clients} client processes (asyncio + `websockets`) on the same machine, "
        f"one WebSocket connection per subscriber (permessage-deflate: {result.compression}). "
        "Subscribers to `backupSessionEvents` are "
        "spread over admin, alice (team-a) and bob (team-b) and over five filters (none, "
        "team-a, team-b, both, cluster sandbox-2); each is open once its `connection_ack` "
        "and its complete, checked INITIAL set have arrived. Then BackupSession phases "
        f"change through `/status` at {result.rate:g}/s, round-robin over both clusters "
        "and three namespaces; every (subscriber, change) the subscriber may see is "
        "expected. Latency is from the write's response (and, in the p99-from-send column, "
        "from sending it) to the client's receipt; CPU is the gateway's during the changes; "
        "RSS is the gateway's once the subscribers are open; watches are the API servers' "
        '`apiserver_longrunning_requests{verb="WATCH"}`, both clusters summed.',
        "",
        "| subscribers | open | all open s | gateway CPU while opening s | errors "
        "| delivered / expected | RESYNC | unexpected | p50 ms | p99 ms | p99 from send ms "
        "| gateway CPU during changes s | RSS MiB | API watches |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Idle gateway before any subscriber: RSS {idle.rss_kib / 1024:,.0f} MiB, "
        f"{result.idle_watches} API watches. Per subscription (RSS difference between the "
        f"rounds, open and idle): {per_sub}. The client processes' CPU time (they share "
        "the cores): "
        + "; ".join(
            f"{r.subscribers:,} subscribers: {r.open_client_cpu_s:.2f} s while opening, "
            f"{r.changes_client_cpu_s:.2f} s during the changes"
            for r in result.rounds
        )
        + ".",
    ]
    if errors:
        lines += ["", "First errors: " + "; ".join(f"`{e[:160]}`" for e in errors)]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.subscriptions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=20, help="phase changes per round")
    parser.add_argument("--rate", type=float, default=1.0, help="changes per second")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--compression",
        choices=("deflate", "none"),
        default="deflate",
        help="whether clients offer permessage-deflate (browsers do; default: deflate)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--profile", type=Path, default=None, metavar="FILE", help="run the gateway under cProfile"
    )
    args = parser.parse_args(argv)
    sessions = len(CLUSTERS) * len(NAMESPACES) * SESSIONS_PER_NAMESPACE
    if not 1 <= args.changes * 2 <= sessions * len(STEPS):
        print(f"--changes must be between 1 and {sessions * len(STEPS) // 2}", file=sys.stderr)
        return 2
    if args.subscribers < 1 or args.clients < 1 or args.rate <= 0:
        print("--subscribers, --clients and --rate must be positive", file=sys.stderr)
        return 2
    if args.profile is not None:
        args.profile = args.profile.resolve()
    os.environ["BENCH_WS_COMPRESSION"] = args.compression  # the client processes read it
    try:
        result = asyncio.run(run(args))
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    section = report(result, argv)
    if args.profile is None:
        write_section(args.out, section, begin=BEGIN, end=END)
        log(f"wrote {args.out}")
    print(section)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
