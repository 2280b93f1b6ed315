"""``stashql schema``: print the GraphQL schema (SDL)."""

from __future__ import annotations

import argparse
import sys

from cli.commands import Commands


def register(commands: Commands) -> None:
    parser = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from schema import sdl

    sys.stdout.write(sdl())
    return 0
