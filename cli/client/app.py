"""What every client command shares: the connection options, ``-o``, running a click
command from the argparse entry point with exit codes instead of tracebacks."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from rich.console import Console

from cli.client.config import resolve
from cli.client.exits import CliError, Exit, exit_codes_help
from cli.client.render import OUTPUTS, Output
from cli.client.transport import GraphQLClient

F = TypeVar("F", bound=Callable[..., Any])


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


# Off a terminal (a pipe, a file, CI logs) nothing wraps: one row is one line, for grep.
_UNWRAPPED = 1_000


def _console(*, stderr: bool) -> Console:
    console = Console(stderr=stderr, soft_wrap=True, highlight=False)
    if not console.is_terminal:
        console.width = _UNWRAPPED
    return console


@dataclass
class Session:
    """One client command's run: where to talk to, how to print."""

    server: str | None
    token: str | None
    token_from_kubeconfig: bool
    output: Output
    out: Console = field(default_factory=lambda: _console(stderr=False))
    err: Console = field(default_factory=lambda: _console(stderr=True))
    _client: GraphQLClient | None = None

    @property
    def client(self) -> GraphQLClient:
        if self._client is None:
            connection = resolve(
                server=self.server,
                token=self.token,
                token_from_kubeconfig=self.token_from_kubeconfig,
                environ=os.environ,
            )
            self._client = GraphQLClient(connection)
        return self._client

    @property
    def interactive(self) -> bool:
        """Whether a person can answer a prompt and watch live progress."""
        return stdin_is_terminal() and self.err.is_terminal


def client_options(f: F) -> F:
    """``--server``, ``--token``, ``--token-from-kubeconfig`` and ``-o``; the command gets
    a ``session`` argument instead of them."""

    def make(
        *args: Any,
        server: str | None,
        token: str | None,
        token_from_kubeconfig: bool,
        output: Output,
        **kwargs: Any,
    ) -> Any:
        session = Session(server, token, token_from_kubeconfig, output)
        return f(*args, session=session, **kwargs)

    make.__name__ = f.__name__
    make.__doc__ = f.__doc__
    decorated: Any = make
    for option in reversed(
        [
            click.option(
                "--server",
                metavar="URL",
                help="gateway URL [env STASHQL_SERVER, config 'server'; default "
                "http://127.0.0.1:8080]",
            ),
            click.option(
                "--token", metavar="TOKEN", help="bearer token [env STASHQL_TOKEN, config 'token']"
            ),
            click.option(
                "--token-from-kubeconfig",
                is_flag=True,
                help="use the bearer token of the current kubeconfig context (token, tokenFile "
                "or exec plugin)",
            ),
            click.option(
                "-o",
                "--output",
                type=click.Choice(OUTPUTS),
                default="table",
                show_default=True,
                help="table for people; json or yaml (the GraphQL data) for scripts",
            ),
        ]
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def command(name: str, **kwargs: Any) -> Callable[[F], click.Command]:
    """A click command whose help ends with the exit codes."""
    kwargs.setdefault("epilog", exit_codes_help())
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return click.command(name, **kwargs)


def group(name: str, **kwargs: Any) -> Callable[[F], click.Group]:
    kwargs.setdefault("epilog", exit_codes_help())
    kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
    return click.group(name, **kwargs)


def run_click(cmd: click.Command, argv: list[str]) -> int:
    """Runs ``cmd`` as ``stashql <name>``; every way out is an exit code and one line."""
    # The entry point logs at INFO for the server; a client prints only its own lines.
    for noisy in ("httpx", "httpcore", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    try:
        result = cmd.main(args=argv, prog_name=f"stashql {cmd.name}", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return Exit.USAGE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:  # Ctrl-C, or end of input at a prompt
        err.print("stashql: interrupted; nothing more was changed", markup=False)
        return Exit.ERROR
    except CliError as exc:
        err.print(f"stashql: {exc.message}", markup=False)
        return exc.code
    except KeyboardInterrupt:
        err.print("stashql: interrupted", markup=False)
        return 130
    return int(result or 0)


def passthrough(commands: Any, cmd: click.Command) -> None:
    """Registers ``cmd`` with the argparse entry point: ``stashql --help`` lists it, and
    everything after its name goes to click untouched."""
    assert cmd.name
    parser: argparse.ArgumentParser = commands.add_parser(
        cmd.name,
        help=cmd.get_short_help_str(limit=80),
        add_help=False,
        # No option prefix: argparse must not read, or refuse, the command's own flags.
        prefix_chars="\0",
    )
    parser.add_argument("args", nargs="*")

    def run(args: argparse.Namespace) -> int:
        return run_click(cmd, list(args.args))

    run.click_command = cmd  # type: ignore[attr-defined]  # read by cli.client.helpdoc
    parser.set_defaults(run=run)
