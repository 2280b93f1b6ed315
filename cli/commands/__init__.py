"""The ``stashql`` commands, one module each (or one small group, like ``sandbox``).

A command is a module here with a ``register(commands)`` function that adds its parser
to ``commands`` (``argparse`` sub-parsers) and sets ``run``, the function that takes
the parsed arguments and returns the exit code::

    def register(commands: Commands) -> None:
        parser = commands.add_parser("hello", help="say hello")
        parser.set_defaults(run=run)

Options that set a settings field are added with ``cli.options.SettingOptions`` (kept
in ``options`` beside ``run``), so their defaults and help come from the field.
``cli.main`` finds every module here: adding a command is adding a module.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

# What argparse returns from add_subparsers (its class is private, its use is not).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Run = Callable[[argparse.Namespace], int]
