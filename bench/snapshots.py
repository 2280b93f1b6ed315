"""Benchmark: the gateway's snapshot lists at 1k, 10k and 100k snapshots, against kubectl.

    uv run python -m bench.snapshots --sizes 1000,10000,100000 [--iterations N]
                                     [--out docs/benchmarks.md]

Starts its own two-cluster sandbox in a temporary folder, seeds snapshots cumulatively
(``bench.dataset``), and for each size: starts ``stashql serve`` as a separate process
(time to first full sync, RSS, peak RSS), times three queries over HTTP with checked
answers (``bench.queries``), then times ``kubectl get snapshots -A -o json`` on the same
API servers. Progress goes to stderr, a summary to stdout, and the full report to
``--out`` (see ``bench.report``). Any wrong answer stops the run with an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.dataset import Expected, origin_for, seed_fixtures, seed_snapshots
from bench.floor import raw_list
from bench.mutations import BEGIN as MUTATIONS_BEGIN
from bench.mutations import END as MUTATIONS_END
from bench.procs import (
    REPO,
    BenchError,
    GatewayProcess,
    Kubectl,
    Startup,
    find_kubectl,
    gateway_command,
    gateway_env,
    kubectl_version,
)
from bench.queries import measure, queries_for
from bench.report import Machine, Run, SizeResult, Versions, markdown, summary_table
from bench.subscriptions import BEGIN as SUBSCRIPTIONS_BEGIN
from bench.subscriptions import END as SUBSCRIPTIONS_END
from sandbox.binaries import ensure_binaries
from sandbox.controlplane import Sandbox, start_sandbox

DEFAULT_SIZES = (1_000, 10_000, 100_000)
# The sections other benchmarks write into the same file, kept as they are.
KEPT_SECTIONS = ((MUTATIONS_BEGIN, MUTATIONS_END), (SUBSCRIPTIONS_BEGIN, SUBSCRIPTIONS_END))
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
LARGE = 100_000  # from this size on, fewer iterations by default


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes wants numbers like 1000,10000: {text}") from None
    if not sizes or any(s <= 0 for s in sizes) or sizes != sorted(set(sizes)):
        raise argparse.ArgumentTypeError("--sizes must be positive and increasing, e.g. 1000,10000")
    return sizes


def iterations_for(size: int, override: int | None) -> int:
    if override is not None:
        return override
    return 10 if size >= LARGE else 30


async def apiserver_version(sandbox: Sandbox) -> str:
    client = sandbox.client(0)
    try:
        info = await client.get("/version")
    finally:
        await client.close()
    return str(info.get("gitVersion") or "unknown")


def etcd_version() -> str:
    result = subprocess.run(
        [str(ensure_binaries(quiet=True).etcd), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    for line in result.stdout.splitlines():
        if line.startswith("etcd Version:"):
            return "v" + line.partition(":")[2].strip()
    return "unknown"


def _count_items(path: Path) -> int:
    doc: dict[str, Any] = json.loads(path.read_bytes())
    return len(doc.get("items") or [])


async def time_kubectl(
    kubectl: Kubectl, sandbox: Sandbox, *, expected: Expected, iterations: int, scratch: Path
) -> dict[str, list[float]]:
    """Per context: one checked, untimed run (warms discovery), then ``iterations`` timed."""
    samples: dict[str, list[float]] = {}
    for index, endpoint in enumerate(sandbox.clusters):
        out = scratch / f"kubectl-{endpoint.name}.json"
        await kubectl.list_all(endpoint.name, out=out)
        count = await asyncio.to_thread(_count_items, out)
        out.unlink()
        if count != expected.per_cluster[index]:
            raise BenchError(
                f"kubectl listed {count} snapshots in {endpoint.name}, "
                f"{expected.per_cluster[index]} were seeded there"
            )
        samples[endpoint.name] = [await kubectl.list_all(endpoint.name) for _ in range(iterations)]
    return samples


def new_gateway(
    sandbox: Sandbox, *, scratch: Path, name: str, profile_dir: Path | None
) -> GatewayProcess:
    port = free_port()
    profile = profile_dir / f"gateway-{name}.prof" if profile_dir else None
    return GatewayProcess(
        gateway_command(sandbox.kubeconfig, port=port, profile=profile),
        port=port,
        log=scratch / f"gateway-{name}.log",
        env=gateway_env(scratch / "pycache"),
        stop_signal=signal.SIGINT if profile else signal.SIGTERM,
    )


async def cold_start(sandbox: Sandbox, *, scratch: Path, warmup: int) -> Startup:
    """Start the gateway once on the empty clusters: it must answer right, and the
    start fills the bytecode cache (so this start's time is the cold one)."""
    gateway = new_gateway(sandbox, scratch=scratch, name="cold", profile_dir=None)
    log(f"cold start of the gateway, no snapshots yet (log: {gateway.log})")
    try:
        startup = await gateway.start()
        await measure(
            gateway.url,
            token=sandbox.tokens["admin"],
            queries=queries_for(Expected(origin=datetime.now(UTC))),
            iterations=1,
            warmup=warmup,
        )
    finally:
        gateway.stop()
    log(f"cold start: ready after {startup.ready_s:.2f} s")
    return startup


async def measure_size(
    sandbox: Sandbox,
    *,
    expected: Expected,
    seeded: int,
    seed_s: float,
    iterations: int,
    warmup: int,
    kubectl: Kubectl,
    scratch: Path,
    profile_dir: Path | None,
    kubectl_iterations: int | None = None,
) -> SizeResult:
    size = expected.total
    log(f"{size:,}: raw paged LIST of every snapshot x{FLOOR_RUNS} (the floor)")
    floor = [await raw_list(sandbox, expected=size) for _ in range(FLOOR_RUNS)]
    log(f"{size:,}: floor {sorted(floor)[len(floor) // 2]:.2f} s")
    gateway = new_gateway(sandbox, scratch=scratch, name=str(size), profile_dir=profile_dir)
    log(f"{size:,}: starting the gateway (log: {gateway.log})")
    try:
        startup = await gateway.start()
        log(
            f"{size:,}: ready after {startup.ready_s:.2f} s "
            f"(/healthz after {startup.healthz_s:.2f} s); timing queries x{iterations}"
        )
        samples = await measure(
            gateway.url,
            token=sandbox.tokens["admin"],
            queries=queries_for(expected),
            iterations=iterations,
            warmup=warmup,
        )
        after = gateway.memory()
    finally:
        gateway.stop()
    runs = min(iterations, kubectl_iterations or iterations)
    log(f"{size:,}: timing kubectl x{runs} per cluster")
    kubectl_samples = await time_kubectl(
        kubectl, sandbox, expected=expected, iterations=runs, scratch=scratch
    )
    return SizeResult(
        size=size,
        per_cluster={
            c.name: n for c, n in zip(sandbox.clusters, expected.per_cluster, strict=True)
        },
        filtered=expected.filtered,
        seeded=seeded,
        seed_s=seed_s,
        iterations=iterations,
        startup=startup,
        after_queries=after,
        gateway=samples,
        kubectl=kubectl_samples,
        floor=floor,
    )


async def run(args: argparse.Namespace) -> Run:
    sizes: list[int] = args.sizes
    command = shlex.join(["uv", "run", "python", "-m", "bench.snapshots", *sys.argv[1:]])
    machine = Machine.probe()
    kubectl_bin = find_kubectl()
    scratch = Path(tempfile.mkdtemp(prefix="stashql-bench-"))
    log(f"working folder: {scratch}")
    sandbox: Sandbox | None = None
    try:
        sandbox = await start_sandbox(scratch / "sandbox", clusters=2)
        versions = Versions(
            kube_apiserver=await apiserver_version(sandbox),
            etcd=etcd_version(),
            kubectl=kubectl_version(kubectl_bin),
        )
        result = Run(
            command=command,
            started=datetime.now(UTC),
            machine=machine,
            versions=versions,
            concurrency=args.concurrency,
            warmup=args.warmup,
        )
        kubectl = Kubectl(
            kubectl_bin, kubeconfig=sandbox.admin_kubeconfig, cache_dir=scratch / "kube-cache"
        )
        log("seeding namespaces, storage, databases, repositories")
        await seed_fixtures(sandbox)
        result.cold_start = await cold_start(sandbox, scratch=scratch, warmup=args.warmup)
        expected = Expected(origin=origin_for(sizes[-1]))
        for size in sizes:
            start = expected.total
            log(f"seeding snapshots {start:,} -> {size:,}")
            seed_s = await seed_snapshots(
                sandbox,
                origin=expected.origin,
                start=start,
                stop=size,
                concurrency=args.concurrency,
            )
            expected.extend(size)
            outcome = await measure_size(
                sandbox,
                expected=expected,
                seeded=size - start,
                seed_s=seed_s,
                iterations=iterations_for(size, args.iterations),
                warmup=args.warmup,
                kubectl=kubectl,
                scratch=scratch,
                profile_dir=args.profile,
                kubectl_iterations=args.kubectl_iterations,
            )
            result.results.append(outcome)
            print(outcome.summary(), flush=True)
        result.finished = datetime.now(UTC)
        result.load_at_end = os.getloadavg()
        return result
    finally:
        if sandbox is not None:
            sandbox.stop()
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


async def main_async(args: argparse.Namespace) -> Run:
    # SIGTERM cancels the run like Ctrl-C does, so the gateway and sandbox are stopped.
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(args)


# Raw LIST runs per size: the floor is their median.
FLOOR_RUNS = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.snapshots", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="cumulative snapshot counts, increasing (default: 1000,10000,100000)",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=None,
        help=f"timed runs per measurement (default: 30, or 10 from {LARGE:,} snapshots on)",
    )
    parser.add_argument(
        "--kubectl-iterations",
        type=int,
        default=None,
        help="at most this many kubectl runs per cluster and size (each takes about a "
        "minute at 100k snapshots; default: as --iterations)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per query first")
    parser.add_argument(
        "--concurrency", type=int, default=48, help="requests in flight while seeding"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="Markdown report to (over)write (default: docs/benchmarks.md)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary sandbox folder")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the gateway under cProfile, one .prof per size in DIR (no report is written)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.iterations is not None and args.iterations < 1:
        print("--iterations must be at least 1", file=sys.stderr)
        return 2
    if not 1 <= args.concurrency <= 256:
        print("--concurrency must be between 1 and 256", file=sys.stderr)
        return 2
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    try:
        result = asyncio.run(main_async(args))
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted", file=sys.stderr)
        return 130
    print("\n".join(summary_table(result)))
    if args.profile is not None:
        log(f"profiles in {args.profile}; no report written (timings under cProfile)")
    else:
        out: Path = args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        # The other benchmarks' sections (bench/mutations.py, bench/subscriptions.py)
        # are kept as they are.
        old = out.read_text() if out.exists() else ""
        kept = [
            begin + old.split(begin, 1)[1].split(end, 1)[0] + end + "\n"
            for begin, end in KEPT_SECTIONS
            if begin in old and end in old.split(begin, 1)[1]
        ]
        out.write_text(markdown(result) + "".join("\n" + k for k in kept))
        log(f"wrote {out}")
    log(f"done in {(time.perf_counter() - began) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
