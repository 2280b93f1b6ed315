"""The GraphQL examples written in Markdown docs, as a reader finds them: each operation of
a fenced ```graphql block (a block may hold several, one after another, as GraphiQL
runs the one under the cursor), and inline ones written as `{ ... }`, `mutation { ... }`
or `subscription { ... }` in backticks. Used by the docs check (every example is valid)
and the demo walkthrough (the README's examples run in order)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import graphql

# A fenced block with its language.
FENCED = re.compile(r"^[ \t]*```(\w+)[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
_INLINE = re.compile(r"`((?:mutation|subscription|query)?\s*\{[^`]*\})`")


@dataclass(frozen=True)
class Example:
    line: int  # 1-based, in the text given
    operation: str
    inline: bool


def _is_operation(body: str) -> bool:
    if body.count("{") != body.count("}"):
        return False
    if "(" not in body and "{ " not in body:
        return False  # a placeholder such as `{x}`, not an operation
    return not ('": ' in body or body.lstrip().startswith('{"'))  # a JSON object


def examples(text: str) -> list[Example]:
    """Every GraphQL operation in ``text``, in reading order."""
    found: list[tuple[int, Example]] = []

    def line_at(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for match in FENCED.finditer(text):
        if match.group(1) != "graphql":
            continue
        block, start = match.group(2), match.start(2)
        for definition in graphql.parse(block).definitions:
            assert definition.loc is not None
            at = start + definition.loc.start
            operation = block[definition.loc.start : definition.loc.end]
            found.append((at, Example(line_at(at), operation, inline=False)))
    for match in _INLINE.finditer(text):
        if _is_operation(match.group(1)):
            found.append((match.start(), Example(line_at(match.start()), match.group(1), True)))
    return [example for _, example in sorted(found, key=lambda pair: pair[0])]
