"""``stashql demo``: a two-cluster sandbox, seeded, with the operators simulated, and the
gateway in front of it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from cli.commands import Commands
from cli.commands.serve import UVICORN_OPTIONS
from cli.options import SettingOptions
from core.settings import setting
from gateway.settings import Settings
from server import create_app


@dataclass(frozen=True)
class DemoSettings:
    """The demo's sandbox and simulator."""

    # Inside the working tree (ignored by git), so a newcomer finds the logs.
    dir: Path = setting(Path(".sandbox/demo"), help="where the sandbox keeps its files")
    # 60: a */10 schedule runs every 10 s, so backups happen while someone watches.
    time_scale: float = setting(
        60.0, help="simulated seconds per real second (60: a */10 schedule runs every 10 s)"
    )
    # Some failures, so that backup problems and recovery windows have something to show.
    fail_rate: float = setting(0.1, help="share of backups that fail (0 to 1)")

    def __post_init__(self) -> None:
        # Checked before the sandbox starts (the simulator would refuse them later).
        if self.time_scale <= 0:
            raise ValueError("--time-scale must be positive")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("--fail-rate must be between 0 and 1")


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: after a graceful stop it sends
    the caught signal to the process again, which would end the demo before it stops
    the sandbox's etcd and API servers. The demo handles the signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "demo", help="start a 2-cluster sandbox and the gateway in front of it"
    )
    options = SettingOptions(parser)
    options.add("--dir", DemoSettings, "dir", convert=Path)
    options.add("--host", Settings, "host")
    options.add("--port", Settings, "port")
    options.add("--time-scale", DemoSettings, "time_scale")
    options.add("--fail-rate", DemoSettings, "fail_rate")
    parser.set_defaults(run=run, options=options)


def run(args: argparse.Namespace) -> int:
    options: SettingOptions = args.options
    demo = options.build(args, DemoSettings)
    serve = options.build(args, Settings)
    from sandbox.binaries import BuildError
    from sandbox.controlplane import SandboxError, start_sandbox
    from sandbox.demo import seed_demo
    from sandbox.simulator import Simulator

    async def main() -> int:
        # Ctrl-C or SIGTERM: stop serving once it has started, else stop what is
        # starting; either way the sandbox is stopped before the process ends.
        loop = asyncio.get_running_loop()
        starting = asyncio.current_task()
        server: _Server | None = None

        def stop() -> None:
            if server is not None and server.started:
                server.should_exit = True
            elif starting is not None:
                starting.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)

        print("[demo] starting a two-cluster sandbox (real etcd + kube-apiservers)", flush=True)
        try:
            sandbox = await start_sandbox(demo.dir, clusters=2)
        except (SandboxError, BuildError) as exc:
            print(f"stashql: {exc}", file=sys.stderr)
            return 1
        except asyncio.CancelledError:
            return 130
        clients = {c.name: sandbox.client(c.name, timeout=30) for c in sandbox.clusters}
        simulator = Simulator(clients, time_scale=demo.time_scale, fail_rate=demo.fail_rate)
        try:
            print("[demo] seeding databases, backup policies and storages", flush=True)
            await seed_demo(sandbox)
            await simulator.start()
            settings = replace(serve, kubeconfig=sandbox.kubeconfig, all_contexts=True)
            config = uvicorn.Config(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                **UVICORN_OPTIONS,
            )
            server = _Server(config)
            serve_task = asyncio.create_task(server.serve())
            while not server.started and not serve_task.done():  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.1)
            if serve_task.done():
                return 1
            url = f"http://{settings.host}:{settings.port}/graphql"
            print(f"\nStashQL demo is running.\n  GraphiQL: {url}\n", flush=True)
            print('  Tokens (paste into the headers as {"Authorization": "Bearer <token>"}):')
            for user, token in sandbox.tokens.items():
                print(f"    {user:6} {token}")
            print(
                "\n  admin sees everything; alice edits team-a; bob reads team-b."
                f"\n  Backups run on their schedules, {demo.time_scale:g}x faster than real time."
                f"\n  Sandbox files (kubeconfigs, logs): {demo.dir.resolve()}"
                "\n  Stop with Ctrl-C.",
                flush=True,
            )
            await serve_task
        except asyncio.CancelledError:
            return 130
        finally:
            print("[demo] stopping the simulator and the sandbox", flush=True)
            await simulator.stop()
            for client in clients.values():
                await client.close()
            sandbox.stop()
        return 0

    return asyncio.run(main())
