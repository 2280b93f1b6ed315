"""Printing answers: a table for people, JSON or YAML (the GraphQL data as is) for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import yaml
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

Output = Literal["table", "json", "yaml"]
OUTPUTS: tuple[Output, ...] = ("table", "json", "yaml")

# A column: its header and how to read its cell from a row.
Column = tuple[str, Callable[[dict[str, Any]], Any]]


def field(*path: str) -> Callable[[dict[str, Any]], Any]:
    """A cell read from nested keys; None where any is missing."""

    def read(row: dict[str, Any]) -> Any:
        value: Any = row
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[Column], *, title: str | None = None
) -> Table:
    out = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for header, _ in columns:
        out.add_column(header, overflow="fold")
    for row in rows:
        out.add_row(*(Text(cell(read(row))) for _, read in columns))
    return out


def serialize(data: Any, output: Output) -> str:
    """JSON or YAML text of ``data``, the way scripts read it."""
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text


def emit(
    console: Console,
    data: Any,
    output: Output,
    view: Callable[[Any], Iterable[RenderableType]],
) -> None:
    """``data`` as JSON/YAML on stdout, or the renderables ``view`` makes of it."""
    if output != "table":
        # Written raw: rich would wrap long lines and break the JSON.
        console.file.write(serialize(data, output))
        console.file.flush()
        return
    for part in view(data):
        console.print(part)


def plan_view(payload: dict[str, Any]) -> list[RenderableType]:
    """A mutation payload's plan, warnings and user errors, as people read them. A
    refusal with no plan shows only why (not "nothing to change", which reads as if all
    were in place)."""
    if not payload.get("plan") and payload.get("userErrors"):
        return notes_view(payload)
    return [plan_table(payload), *notes_view(payload)]


def plan_table(payload: dict[str, Any]) -> RenderableType:
    plan = payload.get("plan") or []
    if not plan:
        return Text("Plan: nothing to change")
    return table(
        plan,
        [
            ("ACTION", field("action")),
            ("CLUSTER", field("cluster")),
            ("KIND", field("kind")),
            ("NAMESPACE", field("namespace")),
            ("NAME", field("name")),
            ("WHAT", field("summary")),
        ],
        title="Plan",
    )


def notes_view(payload: dict[str, Any]) -> list[RenderableType]:
    """The warnings and user errors of a mutation payload."""
    parts: list[RenderableType] = []
    for warning in payload.get("warnings") or []:
        parts.append(
            Text(f"warning {warning.get('code')}: {warning.get('message')}", style="yellow")
        )
    for error in payload.get("userErrors") or []:
        where = ".".join(error.get("field") or [])
        at = f" (at {where})" if where else ""
        parts.append(Text(f"refused {error.get('code')}{at}: {error.get('message')}", style="red"))
    return parts
