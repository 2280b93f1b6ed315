"""What the limits read from a parsed document: its fields, arguments, variables and depth.

Pure functions over graphql-core's AST (no schema, no I/O), shared by the checks
(``gateway.limits.checks``) and the cost model (``gateway.limits.cost``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    value_from_ast_untyped,
)

# Fields, inline fragments and fragment spreads along one path. No sensible query comes
# near it; it keeps the walks below far from Python's recursion limit whatever the
# document (a chain of fragment spreads adds no depth of fields but does nest).
NESTING_LIMIT = 100
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def all_fields(document: DocumentNode) -> Iterator[FieldNode]:
    """Every field written in the document (operations and fragments), once each."""
    stack: list[SelectionNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            stack.extend(definition.selection_set.selections)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode):
            yield node
        if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set:
            stack.extend(node.selection_set.selections)


def variable_values(
    operations: list[OperationDefinitionNode], given: dict[str, Any] | None
) -> dict[str, Any]:
    """The variables' values: those given, else the operations' defaults."""
    values: dict[str, Any] = {}
    for op in operations:
        for definition in op.variable_definitions or ():
            if definition.default_value is not None:
                name = definition.variable.name.value
                values.setdefault(name, value_from_ast_untyped(definition.default_value))
    values.update(given or {})
    return values


def argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def as_int(value: Any) -> int | None:
    """``value`` as GraphQL's Int would accept it, else None (coercion will refuse it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class TooNested(Exception):
    """A document nested past NESTING_LIMIT (fields, fragments or both)."""


class Shape:
    """The depth of fields in a document, each fragment measured once."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        # fragment name -> (depth of fields, nesting of any kind) inside it
        self.measured: dict[str, tuple[int, int]] = {}
        self.entered: set[str] = set()

    def depth(self, selections: Sequence[SelectionNode]) -> int:
        return self._measure(selections, 1)[0]

    def _measure(self, selections: Sequence[SelectionNode], level: int) -> tuple[int, int]:
        """(depth of fields, nesting of any kind) of the selections at nesting ``level``
        (the root's are at 1); raises TooNested past NESTING_LIMIT."""
        if level > NESTING_LIMIT:
            raise TooNested
        depth = nesting = 0
        for node in selections:
            if isinstance(node, FieldNode):
                d = n = 1
                if node.selection_set and node.name.value not in INTROSPECTION_ROOTS:
                    inner = self._measure(node.selection_set.selections, level + 1)
                    d, n = 1 + inner[0], 1 + inner[1]
            elif isinstance(node, InlineFragmentNode):
                inner = self._measure(node.selection_set.selections, level + 1)
                d, n = inner[0], 1 + inner[1]
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self.entered:
                    continue  # unknown fragments and cycles are refused by validation
                if name not in self.measured:
                    self.entered.add(name)
                    self.measured[name] = self._measure(
                        fragment.selection_set.selections, level + 1
                    )
                    self.entered.discard(name)
                d, n = self.measured[name][0], 1 + self.measured[name][1]
                # Measured once, maybe from a shallower spread: check this one too.
                if level + n - 1 > NESTING_LIMIT:
                    raise TooNested
            else:  # pragma: no cover - graphql-core has no other selection nodes
                continue
            depth, nesting = max(depth, d), max(nesting, n)
        return depth, nesting
