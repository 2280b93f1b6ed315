"""The processes the benchmark measures: the gateway (`stashql serve`) and kubectl."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
KUBECTL_SCRIPT = Path(__file__).with_name("kubectl.sh")
READY_TIMEOUT = 1800.0  # first sync of 100k snapshots on a busy 2-core machine
STOP_TIMEOUT = 30.0


class BenchError(RuntimeError):
    """Something the benchmark needs failed, or an answer was wrong."""


# ---------------------------------------------------------------------------- memory


@dataclass(frozen=True)
class Memory:
    rss_kib: int  # VmRSS
    peak_kib: int  # VmHWM: the high-water mark of the resident set
    cpu_seconds: float  # user + system time so far


def memory_of(pid: int) -> Memory:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    # /proc/PID/stat: the command name may hold spaces, so split after its closing ')'.
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime, stime (fields 14 and 15)
    return Memory(rss_kib=fields["VmRSS"], peak_kib=fields["VmHWM"], cpu_seconds=cpu)


# ---------------------------------------------------------------------------- gateway


def gateway_command(kubeconfig: Path, *, port: int, profile: Path | None) -> list[str]:
    """`stashql serve` run by this venv's Python directly, so the pid we hold is the
    gateway's own (``uv run`` would put a uv process in between)."""
    script = Path(sys.executable).with_name("stashql")
    entry = [str(script)] if script.is_file() else ["-m", "cli"]
    if profile is not None:
        prefix = [sys.executable, "-m", "cProfile", "-o", str(profile)]
    elif script.is_file():
        prefix = []
    else:
        prefix = [sys.executable]
    return [
        *prefix,
        *entry,
        "serve",
        "--kubeconfig",
        str(kubeconfig),
        "--all-contexts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def gateway_env(pycache: Path) -> dict[str, str]:
    """The environment with bytecode caching on, into a folder of the benchmark's own.

    Where PYTHONDONTWRITEBYTECODE is set (as on the project's machines) and the venv
    holds no .pyc files, every start would compile ~1,500 modules first (about 3 s on
    2 cores), which a deployed image with compiled bytecode never does. With
    PYTHONPYCACHEPREFIX the .pyc files go to ``pycache``, never into the venv or the
    checkout; the first start (the cold start) fills it.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


@dataclass(frozen=True)
class Startup:
    healthz_s: float  # process start until /healthz answers (imports, app start-up)
    ready_s: float  # process start until /readyz is 200: the first full sync
    memory: Memory  # right when /readyz turned 200


class GatewayProcess:
    """One `stashql serve` process on loopback."""

    def __init__(
        self,
        command: list[str],
        *,
        port: int,
        log: Path,
        env: dict[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.command = command
        self.env = env
        self.stop_signal = stop_signal
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise BenchError("the gateway is not running")
        return self._popen.pid

    def _exited(self) -> None:
        if self._popen is not None and self._popen.poll() is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise BenchError(
                f"the gateway exited with {self._popen.returncode}; last lines of {self.log}:\n"
                + "\n".join(tail)
            )

    def _spawn(self) -> float:
        """Start the process (Popen does not wait for it); return when, in perf_counter."""
        with self.log.open("ab") as handle:
            began = time.perf_counter()
            self._popen = subprocess.Popen(
                self.command,
                cwd=REPO,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        return began

    async def start(self) -> Startup:
        """Start it and wait until /readyz is 200 (every cluster listed once)."""
        began = self._spawn()
        healthz: float | None = None
        timeout = httpx.Timeout(5.0)
        async with httpx.AsyncClient(base_url=self.url, timeout=timeout) as client:
            while time.perf_counter() - began < READY_TIMEOUT:
                self._exited()
                try:
                    if healthz is None and (await client.get("/healthz")).status_code == 200:
                        healthz = time.perf_counter() - began
                    if healthz is not None and (await client.get("/readyz")).status_code == 200:
                        ready = time.perf_counter() - began
                        return Startup(healthz_s=healthz, ready_s=ready, memory=memory_of(self.pid))
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise BenchError(f"the gateway was not ready within {READY_TIMEOUT:.0f} s; see {self.log}")

    def memory(self) -> Memory:
        self._exited()
        return memory_of(self.pid)

    def stop(self) -> None:
        """``stop_signal``, then SIGKILL after a while.

        uvicorn shuts down cleanly on SIGTERM and SIGINT and then raises the signal again
        with the original handler: SIGTERM then kills the process at once, while SIGINT
        becomes KeyboardInterrupt, which lets ``python -m cProfile`` write its file.
        """
        if self._popen is None:
            return
        popen, self._popen = self._popen, None
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                popen.send_signal(self.stop_signal)
        try:
            popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                popen.kill()
            popen.wait(5)


# ---------------------------------------------------------------------------- kubectl


def find_kubectl() -> Path:
    """kubectl v1.36.3 from ~/.cache/stashql (bench/kubectl.sh builds it once)."""
    result = subprocess.run(
        ["bash", str(KUBECTL_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        check=False,
        timeout=1800,
    )
    path = Path(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None
    if result.returncode != 0 or path is None or not os.access(path, os.X_OK):
        raise BenchError(f"{KUBECTL_SCRIPT} could not provide kubectl (exit {result.returncode})")
    return path


def kubectl_version(kubectl: Path) -> str:
    result = subprocess.run(
        [str(kubectl), "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    version: str = json.loads(result.stdout)["clientVersion"]["gitVersion"]
    return version


class Kubectl:
    """`kubectl get snapshots -A -o json` against one sandbox context."""

    def __init__(self, binary: Path, *, kubeconfig: Path, cache_dir: Path) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.cache_dir = cache_dir  # discovery cache, kept out of ~/.kube

    def command(self, context: str) -> list[str]:
        return [
            str(self.binary),
            "--kubeconfig",
            str(self.kubeconfig),
            "--context",
            context,
            "--cache-dir",
            str(self.cache_dir),
            "--request-timeout=120s",
            "get",
            "snapshots",
            "-A",
            "-o",
            "json",
        ]

    async def list_all(self, context: str, *, out: Path | None = None) -> float:
        """Run it once; return its wall time. Output goes to ``out`` or /dev/null."""
        handle = out.open("wb") if out is not None else None
        try:
            began = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *self.command(context),
                stdout=handle if handle is not None else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(proc.communicate(), timeout=300)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise BenchError(f"kubectl get snapshots on {context} took over 300 s") from None
            elapsed = time.perf_counter() - began
        finally:
            if handle is not None:
                handle.close()
        if proc.returncode != 0:
            raise BenchError(f"kubectl on {context} failed: {err.decode(errors='replace')[:500]}")
        return elapsed
