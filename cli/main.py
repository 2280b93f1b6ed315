"""The ``stashql`` entry point: every command module in ``cli.commands`` registers itself."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from typing import Protocol

from cli import commands


class CommandModule(Protocol):
    def register(self, commands: commands.Commands) -> None: ...


def command_modules() -> list[CommandModule]:
    """Every module of ``cli.commands``, in name order."""
    found: list[CommandModule] = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found.append(module)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stashql",
        description="StashQL: a GraphQL gateway for KubeDB databases and their KubeStash "
        "backups across Kubernetes clusters.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code
