"""Exit codes of the client commands, and the error that carries one to the exit.

Pipelines branch on these, so they are part of the interface (docs/cli.md lists them).
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    REFUSED = 3
    FAILED = 4
    TIMED_OUT = 5
    UNREACHABLE = 6
    UNAUTHENTICATED = 7


MEANINGS: dict[Exit, str] = {
    Exit.OK: "success",
    Exit.ERROR: "an error: the gateway's (for example an unknown field), a prompt declined "
    "or interrupted",
    Exit.USAGE: "bad flags or arguments, or --yes missing where no prompt can be shown",
    Exit.REFUSED: "the gateway refused the change (userErrors): nothing was changed",
    Exit.FAILED: "what was waited for FAILED (setup, database or restore)",
    Exit.TIMED_OUT: "the wait ended before the state was reached (--timeout)",
    Exit.UNREACHABLE: "the gateway could not be reached",
    Exit.UNAUTHENTICATED: "the gateway did not accept the token (or none was given)",
}


def exit_codes_help() -> str:
    """The table shown at the end of every client command's ``--help``; the leading
    backspace line keeps click from re-flowing it into one paragraph."""
    lines = [f"  {int(code)}  {text}" for code, text in MEANINGS.items()]
    return "\b\nExit codes:\n" + "\n".join(lines)


class CliError(Exception):
    """Ends a command with ``code`` and one line on stderr, never a traceback."""

    def __init__(self, message: str, code: Exit = Exit.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
