"""Every GraphQL example a reader may paste from the README or docs/ is valid.

A newcomer copies these into GraphiQL first; a field renamed in the schema but not in
the docs would greet them with an error. Each operation (``tests/docs_examples.py``
finds them, fenced and inline) is parsed and validated against the product schema.
"""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest

import schema
from tests.docs_examples import examples

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in DOCS:
        for example in examples(path.read_text()):
            where = f"{path.relative_to(ROOT)}:{example.line}"
            found.append((where + (" (inline)" if example.inline else ""), example.operation))
    return found


EXAMPLES = _examples()


def test_the_docs_have_examples_to_check() -> None:
    # The README alone walks through backup setup, restores and subscriptions.
    assert len([e for e in EXAMPLES if e[0].startswith("README.md")]) >= 10


@pytest.mark.parametrize(("where", "text"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_is_valid_against_the_schema(where: str, text: str) -> None:
    product = schema.build_schema()._schema
    errors = graphql.validate(product, graphql.parse(text))
    assert not errors, f"{where}: {[e.message for e in errors]}\n{text}"
