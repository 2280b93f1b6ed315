"""``stashql sandbox``: the local control plane (``up``) and its binaries (``build``)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from cli.commands import Commands
from cli.options import SettingOptions
from core.settings import setting


@dataclass(frozen=True)
class SandboxSettings:
    """What ``stashql sandbox up`` starts."""

    # Two clusters: the fewest that show fan-out, per-cluster errors and per-cluster RBAC.
    clusters: int = setting(2, help="how many kube-apiservers (clusters) to start, 1 to 8")


def register(commands: Commands) -> None:
    sandbox = commands.add_parser("sandbox", help="the local control plane")
    sub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="start etcd and N kube-apiservers; stop with SIGINT/SIGTERM")
    up.add_argument("--dir", required=True, help="folder for kubeconfigs, tokens, logs, data")
    options = SettingOptions(up)
    options.add("--clusters", SandboxSettings, "clusters")
    up.set_defaults(run=run_up, options=options)
    build = sub.add_parser("build", help="build (or find) kube-apiserver and etcd")
    build.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from sandbox.binaries import BuildError, ensure_binaries

    try:
        found = ensure_binaries()
    except BuildError as exc:
        print(f"stashql: {exc}", file=sys.stderr)
        return 1
    print(f"kube-apiserver: {found.kube_apiserver}\netcd: {found.etcd}")
    return 0


async def wait_for_signal() -> None:
    """Until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run_up(args: argparse.Namespace) -> int:
    options: SettingOptions = args.options
    settings = options.build(args, SandboxSettings)
    from sandbox.binaries import BuildError
    from sandbox.controlplane import SandboxError, start_sandbox

    async def run() -> int:
        try:
            sandbox = await start_sandbox(Path(args.dir), clusters=settings.clusters)
        except (SandboxError, BuildError) as exc:
            print(f"stashql: {exc}", file=sys.stderr)
            return 1
        try:
            for c in sandbox.clusters:
                print(f"{c.name}: {c.server}", flush=True)
            print(f"kubeconfig (gateway): {sandbox.kubeconfig}", flush=True)
            print(f"kubeconfig (admin):   {sandbox.admin_kubeconfig}", flush=True)
            print(f"tokens: {sandbox.dir / 'tokens.json'}", flush=True)
            print("ready; stop with Ctrl-C", flush=True)
            await wait_for_signal()
        finally:
            sandbox.stop()
        return 0

    return asyncio.run(run())
