"""Results, the machine they were measured on, and docs/benchmarks.md."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

from bench.dataset import (
    CLUSTERS,
    ENGINES,
    FILTER_PHASE,
    NAMESPACES,
    SLOTS,
)
from bench.procs import Memory, Startup
from bench.queries import filtered_query, page_query


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def p50_p99(samples: Sequence[float]) -> str:
    return f"{ms(percentile(samples, 0.5))} / {ms(percentile(samples, 0.99))}"


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    nproc: int
    memory_gib: float
    kernel: str
    python: str
    load_at_start: tuple[float, float, float]

    @staticmethod
    def probe() -> Machine:
        cpu: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if not key.strip():
                break  # the first processor's block is enough
            cpu.setdefault(key.strip(), value.strip())
        model = cpu.get("model name", "unknown")
        details = [
            f"family {cpu['cpu family']}, model {cpu['model']}" if "cpu family" in cpu else "",
            f"{float(cpu['cpu MHz']):,.0f} MHz" if "cpu MHz" in cpu else "",
            "virtual machine" if "hypervisor" in cpu.get("flags", "").split() else "",
        ]
        if any(details):
            model += " (" + ", ".join(d for d in details if d) + ")"
        total_kib = 0
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_kib = int(line.split()[1])
        return Machine(
            cpu_model=model,
            nproc=len(os.sched_getaffinity(0)),
            memory_gib=total_kib / 1024 / 1024,
            kernel=f"{platform.system()} {platform.release()}",
            python=f"{platform.python_implementation()} {platform.python_version()}",
            load_at_start=os.getloadavg(),
        )


@dataclass(frozen=True)
class Versions:
    kube_apiserver: str
    etcd: str
    kubectl: str
    strawberry: str = field(default_factory=lambda: metadata.version("strawberry-graphql"))


@dataclass(frozen=True)
class SizeResult:
    size: int
    per_cluster: dict[str, int]  # context (cluster name) -> snapshots in it
    filtered: int
    seeded: int  # snapshots added for this size
    seed_s: float
    iterations: int
    startup: Startup
    after_queries: Memory
    gateway: dict[str, list[float]]  # query key -> seconds
    kubectl: dict[str, list[float]]  # context -> seconds
    # Raw paged LIST of every snapshot, both clusters at once (bench/floor.py), seconds.
    floor: list[float] = field(default_factory=list)

    def floor_s(self) -> float:
        return percentile(self.floor, 0.5) if self.floor else float("nan")

    def sync_vs_floor(self) -> str:
        """First sync against the goal: within 1.3x the floor plus 2.5 s of start-up."""
        if not self.floor:
            return "n/a"
        ratio = self.startup.ready_s / self.floor_s()
        beyond = (self.startup.ready_s - 2.5) / self.floor_s()
        return f"{ratio:.2f}x ({max(beyond, 0):.2f}x after 2.5 s)"

    def kubectl_all(self) -> list[float]:
        return [s for samples in self.kubectl.values() for s in samples]

    def kubectl_both(self) -> list[float]:
        """Per iteration, both clusters one after the other (what the gateway covers)."""
        return [sum(pair) for pair in zip(*self.kubectl.values(), strict=True)]

    def summary(self) -> str:
        g = self.gateway
        return (
            f"{self.size:>7,} snapshots: seeded {self.seeded:,} in {self.seed_s:,.1f} s; "
            f"first sync {self.startup.ready_s:,.2f} s; "
            f"RSS {mib(self.startup.memory.rss_kib)} (peak {mib(self.after_queries.peak_kib)}); "
            f"p50/p99 ms: page50 {p50_p99(g['page50'])}, page500 {p50_p99(g['page500'])}, "
            f"filtered {p50_p99(g['filtered'])}, "
            f"kubectl per cluster {p50_p99(self.kubectl_all())}"
        )


@dataclass
class Run:
    command: str
    started: datetime
    machine: Machine
    versions: Versions
    concurrency: int
    warmup: int
    cold_start: Startup | None = None  # first start, empty clusters, no bytecode cache
    results: list[SizeResult] = field(default_factory=list)
    finished: datetime | None = None
    load_at_end: tuple[float, float, float] | None = None


def _load(load: tuple[float, float, float] | None) -> str:
    return " / ".join(f"{x:.2f}" for x in load) if load else "n/a"


def summary_table(run: Run) -> list[str]:
    rows = [
        "| snapshots | seeding | raw LIST floor | first full sync | sync vs floor | "
        "RSS after sync | RSS after queries | "
        "peak RSS | page of 50 | page of 500 | filtered count | kubectl, one cluster | "
        "kubectl, both clusters |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in run.results:
        g = r.gateway
        rows.append(
            f"| {r.size:,} | {r.seed_s:,.1f} s | {r.floor_s():,.2f} s "
            f"| {r.startup.ready_s:,.2f} s | {r.sync_vs_floor()} "
            f"| {mib(r.startup.memory.rss_kib)} | {mib(r.after_queries.rss_kib)} "
            f"| {mib(r.after_queries.peak_kib)} | {p50_p99(g['page50'])} "
            f"| {p50_p99(g['page500'])} | {p50_p99(g['filtered'])} "
            f"| {p50_p99(r.kubectl_all())} | {p50_p99(r.kubectl_both())} |"
        )
    return rows


def size_section(r: SizeResult) -> list[str]:
    per_cluster = ", ".join(f"{n:,} in {c}" for c, n in r.per_cluster.items())
    out = [
        f"### {r.size:,} snapshots",
        "",
        f"{per_cluster}; {r.filtered:,} match the filtered count. "
        f"{r.iterations} timed iterations per measurement.",
        "",
        "| measurement | p50 (ms) | p99 (ms) | min (ms) | max (ms) |",
        "|---|---:|---:|---:|---:|",
    ]

    def row(label: str, samples: list[float]) -> str:
        return (
            f"| {label} | {ms(percentile(samples, 0.5))} | {ms(percentile(samples, 0.99))} "
            f"| {ms(min(samples))} | {ms(max(samples))} |"
        )

    out.append(row("gateway: page of 50", r.gateway["page50"]))
    out.append(row("gateway: page of 500", r.gateway["page500"]))
    out.append(row(f"gateway: filtered count ({FILTER_PHASE})", r.gateway["filtered"]))
    for context, samples in r.kubectl.items():
        n = r.per_cluster[context]
        out.append(row(f"kubectl get snapshots -A -o json, {context} ({n:,})", samples))
    out.append(row("kubectl, both clusters one after the other", r.kubectl_both()))
    s, m = r.startup, r.after_queries
    out += [
        "",
        "| gateway process | value |",
        "|---|---:|",
        f"| seeding {r.seeded:,} snapshots (create + status) | {r.seed_s:,.1f} s "
        f"({r.seeded / r.seed_s:,.0f}/s) |",
        f"| start until /healthz answers (imports, app start) | {s.healthz_s:,.2f} s |",
        f"| start until /readyz is 200 (first full sync) | {s.ready_s:,.2f} s |",
        f"| raw paged LIST of the same snapshots, both clusters at once (p50 of "
        f"{len(r.floor)}) | {r.floor_s():,.2f} s |",
        f"| CPU time used by then | {s.memory.cpu_seconds:,.1f} s |",
        f"| RSS after the first sync (VmRSS) | {mib(s.memory.rss_kib)} |",
        f"| RSS after the queries (VmRSS) | {mib(m.rss_kib)} |",
        f"| peak RSS (VmHWM) | {mib(m.peak_kib)} |",
        "",
    ]
    return out


def _what(run: Run) -> list[str]:
    engines = "/".join(kind for kind, *_ in ENGINES)
    return [
        "### What is measured",
        "",
        f"- **Data.** A {CLUSTERS}-cluster sandbox (one etcd, two real kube-apiservers, see the",
        "  README) is seeded cumulatively: up to the first size, measure, add snapshots up to",
        f"  the next size, measure again. Each cluster has the same {len(NAMESPACES)}",
        f"  namespaces, each with one database of each kind ({engines}) with its",
        f"  Repository and BackupConfiguration ({len(SLOTS)} of each per cluster), plus one",
        "  BackupStorage and one RetentionPolicy. Each snapshot goes to a cluster and a",
        "  database picked by a hash of its number and was taken one minute after the one",
        "  before; 6% are FAILED, 3% RUNNING, 1% PENDING, the rest SUCCEEDED (10% of those",
        "  incremental WAL backups). Objects are written as KubeStash writes them",
        "  (`sandbox/objects.py`): created, then their status through `/status`, with",
        f"  {run.concurrency} requests in flight. *Seeding* is the time for the snapshots",
        "  added for that size.",
        "- **Gateway process.** For each size a fresh `stashql serve --all-contexts` process",
        "  (the least-privilege identity of `deploy/`) is started. *First full sync* is the",
        "  time from starting the process until `/readyz` answers 200, i.e. every informer of",
        "  both clusters has listed (500 objects a page); it includes Python start-up and",
        "  imports (the time until `/healthz` answers is in the per-size tables). *RSS* is",
        "  that process's `VmRSS` right then and after all queries; *peak* is its `VmHWM`.",
        "  The gateway runs with bytecode caching on (into the benchmark's own temporary",
        "  folder, even where `PYTHONDONTWRITEBYTECODE` is set), as a deployed image would;",
        "  the very first start, on empty clusters and without any `.pyc`, is shown as the",
        "  cold start.",
        "- **Floor.** Right before the gateway starts, a raw paged LIST of every snapshot",
        "  (`bench/floor.py`: plain HTTP, 500 a page, both clusters at once as the gateway",
        "  lists them, each page only scanned for its continue token), 3 times; its median",
        "  is the floor. *Sync vs floor* is the first full sync divided by it, and, after",
        "  the parenthesis, what remains once 2.5 s of start-up are taken off (the goal: at",
        "  most 1.3x).",
        "- **Queries.** Over HTTP on loopback as `admin` (cluster-admin), one request at a",
        f"  time: each query {run.warmup}x untimed, then N times timed (client wall time until",
        "  the whole body is read). Every answer is checked (total count, the exact names of",
        "  the page newest first, the filtered count) and a wrong one fails the run. The",
        "  gateway caches token and access reviews for 30 s, so now and then a request pays",
        "  for them again; that shows in p99.",
        f"  - page of 50: `{page_query(50)}`",
        f"  - page of 500: `{page_query(500)}`",
        f"  - filtered count: `{filtered_query()}`",
        "- **Baseline.** On the same API servers, with the gateway stopped: `kubectl get",
        "  snapshots -A -o json` (default `--chunk-size=500`, warm discovery cache, output",
        "  to /dev/null), first once per cluster untimed with its item count checked, then",
        "  N times per cluster. *One cluster* pools the runs on both clusters (each holds",
        "  about half of the snapshots); *both clusters* adds one run on each, which is what",
        "  a user needs to see everything the gateway pages through.",
        "- p99 interpolates between order statistics: with 30 or fewer samples it is about",
        "  the maximum.",
        "",
    ]


def _rerun() -> list[str]:
    return [
        "### How to rerun",
        "",
        "```sh",
        "uv run python -m bench.snapshots --sizes 1000,10000,100000    # rewrites this file",
        "uv run python -m bench.snapshots --sizes 1000 --iterations 5 --out /tmp/b.md  # smoke",
        "```",
        "",
        "The benchmark starts its own sandbox in a temporary folder (removed at the end,",
        "`--keep` keeps it). It needs the sandbox binaries (`stashql sandbox build`) and a",
        "kubectl of the API servers' version: `bench/kubectl.sh` builds kubectl v1.36.3 from",
        "the Go module proxy into `~/.cache/stashql/` once (about a minute when the Go build",
        "cache is warm from the sandbox build); `KUBECTL=/path/to/kubectl` uses another one.",
        "Iterations: 30 per measurement, 10 from 100k snapshots on; `--iterations N` sets",
        "them for every size. `--profile DIR` runs the gateway under cProfile and writes one",
        "`.prof` per size instead of this file (timings under a profiler mean little).",
        "Seeding runs at about 200 snapshots/s on 2 cores (two writes each), so the full",
        "run takes roughly half an hour, most of it adding the snapshots up to 100k. Run it",
        "on a quiet machine: the load average is recorded below for that reason.",
        "",
    ]


def markdown(run: Run) -> str:
    m, v = run.machine, run.versions
    took = (
        f", took {(run.finished - run.started).total_seconds() / 60:,.1f} min"
        if run.finished
        else ""
    )
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bench/snapshots.py` (the snapshot sections) and `bench/mutations.py`"
        " (the last section): rerun them to replace their parts.",
        "",
        "## Snapshots: the gateway against `kubectl get snapshots -A -o json`",
        "",
        *_what(run),
        *_rerun(),
        "### This run",
        "",
        f"- Command: `{run.command}`",
        f"- Started {run.started:%Y-%m-%d %H:%M} UTC{took}",
        "",
        "| machine and versions | |",
        "|---|---|",
        f"| CPU | {m.cpu_model} |",
        f"| cores (nproc) | {m.nproc} |",
        f"| memory | {m.memory_gib:,.1f} GiB |",
        f"| kernel | {m.kernel} |",
        f"| Python (gateway and benchmark) | {m.python} |",
        f"| strawberry-graphql | {v.strawberry} |",
        f"| kube-apiserver | {v.kube_apiserver} |",
        f"| etcd | {v.etcd} |",
        f"| kubectl | {v.kubectl} |",
        f"| load average (1/5/15 min) at start | {_load(m.load_at_start)} |",
        f"| load average (1/5/15 min) at end | {_load(run.load_at_end)} |",
        "",
        "### Results",
        "",
        "Latencies are p50 / p99 in milliseconds.",
        "",
        *summary_table(run),
        "",
    ]
    if run.cold_start is not None:
        c = run.cold_start
        lines += [
            f"Cold start (empty clusters, no bytecode cache yet): `/readyz` 200 after "
            f"{c.ready_s:,.2f} s (`/healthz` after {c.healthz_s:,.2f} s), "
            f"RSS {mib(c.memory.rss_kib)}.",
            "",
        ]
    for r in run.results:
        lines += size_section(r)
    return "\n".join(lines).rstrip() + "\n"


def write_section(out: Path, section: str, *, begin: str, end: str) -> None:
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) into ``out`` in
    place of the one between those markers, or at the end when there is none yet."""
    text = out.read_text() if out.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)
