"""Every GraphQL example a reader may paste from the README or docs/ is valid.

A newcomer copies these into GraphiQL first; a field renamed in the schema but not in
the docs would greet them with an error. Each fenced ```graphql block is parsed and
validated against the product schema. A block may hold several operations one after
another (the README's "pause, trigger, resume" list): each is validated alone, as
GraphiQL runs the one under the cursor. Inline examples written as `{ ... }`,
`mutation { ... }` or `subscription { ... }` in backticks are checked the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import graphql
import pytest

import schema

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCED = re.compile(r"^[ \t]*```graphql[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
INLINE = re.compile(r"`((?:mutation|subscription|query)?\s*\{[^`]*\})`")


def _operations(text: str) -> list[str]:
    """Splits a block holding several operations into one document each."""
    document = graphql.parse(text)
    out = []
    for definition in document.definitions:
        loc = definition.loc
        assert loc is not None
        out.append(text[loc.start : loc.end])
    return out


def _examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in DOCS:
        text = path.read_text()
        for match in FENCED.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1)))
        for match in INLINE.finditer(text):
            body = match.group(1)
            if body.count("{") != body.count("}") or ("(" not in body and "{ " not in body):
                continue  # a JSON fragment or a placeholder, not an operation
            if body.lstrip().startswith('{"') or '": ' in body:
                continue  # a JSON object such as a headers example
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line} (inline)", body))
    return found


EXAMPLES = _examples()


def test_the_docs_have_examples_to_check() -> None:
    # The README alone walks through backup setup, restores and subscriptions.
    assert len([e for e in EXAMPLES if e[0].startswith("README.md")]) >= 10


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_is_valid_against_the_schema(where: str, text: str) -> None:
    product = schema.build_schema()._schema
    for operation in _operations(text):
        errors = graphql.validate(product, graphql.parse(operation))
        assert not errors, f"{where}: {[e.message for e in errors]}\n{operation}"
