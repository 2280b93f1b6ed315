"""The command reference in docs/cli.md, made from the commands' own ``--help``.

``python -m cli.client.helpdoc docs/cli.md`` rewrites the part between the markers;
tests/unit/test_client_cli.py fails when the file is not current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

BEGIN = "<!-- BEGIN GENERATED: python -m cli.client.helpdoc docs/cli.md -->"
END = "<!-- END GENERATED -->"
WIDTH = 100


def _help(cmd: click.Command, name: str, parent: click.Context | None = None) -> list[str]:
    # As click makes it when run: the command's context settings, or its group's.
    settings = {"terminal_width": WIDTH, "max_content_width": WIDTH, **cmd.context_settings}
    info_name = name if parent is None else name.rpartition(" ")[2]
    ctx = click.Context(cmd, info_name=info_name, parent=parent, **settings)
    parts = [f"### `{name}`", "", "```text", cmd.get_help(ctx), "```", ""]
    if isinstance(cmd, click.Group):
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None:
                parts += _help(sub, f"{name} {sub_name}", ctx)
    return parts


def reference() -> str:
    """Every command with its one-line help, then every client command's full help."""
    from cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in sub._choices_actions}
    lines = ["| command | what it does |", "| --- | --- |"]
    lines += [f"| `stashql {name}` | {helps.get(name, '')} |" for name in sorted(sub.choices)]
    lines.append("")
    for name in sorted(sub.choices):
        run = sub.choices[name].get_default("run")
        cmd = getattr(run, "click_command", None)
        if isinstance(cmd, click.Command):
            lines += _help(cmd, f"stashql {name}")
    return "\n".join(lines).rstrip() + "\n"


def render(current: str) -> str:
    """``current`` with the generated part replaced."""
    head, begin, rest = current.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n\n{reference()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/cli.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
