"""Running a mutation the way the CLI promises: the plan and warnings first, a prompt on
a terminal (``--yes`` skips it), ``--yes`` required off a terminal for destructive
changes, ``--dry-run`` to stop after the plan; userErrors end with exit code 3."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from cli.client.app import Session
from cli.client.exits import CliError, Exit
from cli.client.render import emit, notes_view, plan_view

PAYLOAD = """plan { action cluster apiVersion kind namespace name summary }
warnings { code message }
userErrors { code message field }"""


@dataclass(frozen=True)
class Change:
    """One mutation call: ``mutation(input: <type>!)``, what to select besides the
    MutationPayload fields, and how careful to be."""

    mutation: str
    input_type: str
    input: dict[str, Any]
    selection: str = ""
    # Asks before going ahead on a terminal (it changes what users of the database notice).
    confirm: bool = True
    # Cannot be undone (data replaced or deleted): off a terminal only with --yes.
    destructive: bool = False
    what: str = "this change"

    def document(self) -> str:
        return (
            f"mutation($input: {self.input_type}!) {{ {self.mutation}(input: $input) "
            f"{{ {PAYLOAD}\n{self.selection} }} }}"
        )


def call(session: Session, change: Change, *, dry_run: bool, timeout: float | None = None) -> Any:
    data = session.client.execute(
        change.document(),
        {"input": {**change.input, "dryRun": dry_run}},
        timeout=timeout,
    )
    payload = data.get(change.mutation)
    if not isinstance(payload, dict):
        raise CliError(f"the gateway's answer has no {change.mutation}")
    return payload


def run_change(
    session: Session,
    change: Change,
    *,
    dry_run: bool,
    yes: bool,
    view: Callable[[dict[str, Any]], Iterable[RenderableType]] = lambda p: (),
    timeout: float | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """Plans, asks, applies; returns the exit code and the applied payload (None if
    nothing was applied)."""
    # One key for the whole run: if the connection drops after the gateway applied the
    # change, running the same command again would not be a retry; within a run it is.
    key = uuid.uuid4().hex
    change = Change(**{**change.__dict__, "input": {**change.input, "idempotencyKey": key}})
    if dry_run:
        preview = call(session, change, dry_run=True, timeout=timeout)
        emit(session.out, preview, session.output, lambda p: [*plan_view(p), *view(p)])
        if preview["userErrors"]:
            return Exit.REFUSED, None
        if session.output == "table":
            session.out.print(Text("Dry run: nothing was changed."))
        return Exit.OK, None
    ask = not yes and change.confirm and session.interactive
    guard = not yes and change.destructive and not session.interactive
    if ask or guard:
        preview = call(session, change, dry_run=True, timeout=timeout)
        for part in plan_view(preview):
            session.err.print(part)
        if preview["userErrors"]:
            if session.output != "table":
                emit(session.out, preview, session.output, lambda p: ())
            return Exit.REFUSED, None
        if guard:
            raise CliError(
                f"{change.what} cannot be undone and stdin is not a terminal, so there is no "
                "prompt: pass --yes to go ahead (or --dry-run to see the plan only)",
                Exit.USAGE,
            )
        if not click.confirm(f"Go ahead with {change.what}?", default=False, err=True):
            session.err.print("Nothing was changed.")
            return Exit.ERROR, None
    payload = call(session, change, dry_run=False, timeout=timeout)
    shown_plan = ask or guard
    emit(
        session.out,
        payload,
        session.output,
        lambda p: [*(_errors_only(p) if shown_plan else plan_view(p)), *view(p)],
    )
    if payload["userErrors"]:
        return Exit.REFUSED, None
    return Exit.OK, payload


def _errors_only(payload: dict[str, Any]) -> list[RenderableType]:
    if not payload.get("userErrors"):
        return [Text("Done.")]
    return notes_view({**payload, "warnings": []})


def dry_run_option(f: Any) -> Any:
    return click.option(
        "--dry-run", is_flag=True, help="show the plan and warnings, change nothing"
    )(f)


def yes_option(f: Any) -> Any:
    return click.option(
        "-y",
        "--yes",
        is_flag=True,
        help="go ahead without a prompt (needed in scripts for changes that cannot be undone)",
    )(f)
