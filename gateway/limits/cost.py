"""The estimated cost of an operation: the work a query asks for, before it runs.

It is reported in every response as ``extensions.cost`` and refused past
``Limits.max_cost``. See ``Cost`` for the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    get_named_type,
)

from gateway.limits.document import INTROSPECTION_ROOTS, argument, as_int
from resolvers.reads.paging import DEFAULT_PAGE

# A root list without `first` (backupPolicies, backupStorages...): the blueprints, storages
# or methods usable in one namespace of one cluster are a few dozen at most.
ROOT_LIST_ESTIMATE = 20
# A list inside one object (conditions, components, sessions of a policy): a handful.
NESTED_LIST_ESTIMATE = 5
# Lists whose size is known: `clusters` has one item per cluster, and the cluster factor
# of a root list already counts those.
KNOWN_LIST_SIZES: Mapping[tuple[str, str], int] = {("Query", "clusters"): 1}
CONNECTION_ITEMS = frozenset({"edges", "nodes"})


class Cost:
    """The estimated cost of an operation.

    Each field costs 1. The selection of a list field costs once per item it may return:

    - a connection (a field returning a ``...Connection``) returns ``first`` items, or
      ``DEFAULT_PAGE`` when ``first`` is not given: its ``edges`` and ``nodes``
      selections count that many times, the rest (``pageInfo``, ``totalCount``) once;
    - another list returns an estimated ``ROOT_LIST_ESTIMATE`` items at the root and
      ``NESTED_LIST_ESTIMATE`` inside an object (or a size from ``KNOWN_LIST_SIZES``).

    A root list reads every cluster, so its cost is also multiplied by the number of
    configured clusters, or by the number its filter names (``filter.clusters``, a
    ``cluster`` argument or ``filter.database.cluster``). Nested lists multiply: a page of
    500 databases each with ``snapshots(first: 500) { nodes { name } }`` over three
    clusters costs 1 + 3 * (1 + 500 * (1 + 1 + 500 * 1)) = 753,004.

    Introspection costs nothing here; ``checks.IntrospectionDepthRule`` bounds it.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        *,
        clusters: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.clusters = clusters
        # fragment name -> (cost once, cost per item of an enclosing connection)
        self.costed: dict[str, tuple[int, int]] = {}
        self.entered: set[str] = set()

    def operation(self, op: OperationDefinitionNode) -> int:
        root: GraphQLObjectType | None = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[op.operation]
        once, per_item = self._selections(op.selection_set.selections, root)
        return once + per_item

    def _selections(
        self, selections: Sequence[SelectionNode], parent: GraphQLNamedType | None
    ) -> tuple[int, int]:
        """(cost once, cost per item) of a selection set on ``parent``; the second is
        what ``edges`` and ``nodes`` cost for each item when ``parent`` is a connection."""
        once = per_item = 0
        for node in selections:
            if isinstance(node, FieldNode):
                a, b = self._field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = self._type(condition.name.value) if condition else parent
                a, b = self._selections(node.selection_set.selections, inner)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self.entered:
                    continue
                if name not in self.costed:
                    self.entered.add(name)
                    inner = self._type(fragment.type_condition.name.value)
                    self.costed[name] = self._selections(fragment.selection_set.selections, inner)
                    self.entered.discard(name)
                a, b = self.costed[name]
            else:  # pragma: no cover - graphql-core has no other selection nodes
                continue
            once, per_item = once + a, per_item + b
        return once, per_item

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> tuple[int, int]:
        name = node.name.value
        if name in INTROSPECTION_ROOTS:
            return 0, 0
        if not node.selection_set:
            return 1, 0
        field_type: GraphQLOutputType | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
            field_type = definition.type if definition else None
        child = get_named_type(field_type) if field_type is not None else None
        once, per_item = self._selections(node.selection_set.selections, child)
        at_root = parent is not None and parent is self.schema.query_type
        if _is_connection(child):
            inner = once + self._page(node) * per_item
            return 1 + self._fan_out(node, at_root) * inner, 0
        selected = once + per_item
        if not _is_list(field_type):
            return 1 + selected, 0
        if _is_connection(parent) and name in CONNECTION_ITEMS:
            return 1, selected  # counted once per item by the enclosing connection
        assert parent is not None  # a list type comes from a field of a known parent
        estimate = KNOWN_LIST_SIZES.get((parent.name, name))
        if estimate is None:
            estimate = ROOT_LIST_ESTIMATE if at_root else NESTED_LIST_ESTIMATE
        return 1 + self._fan_out(node, at_root) * estimate * selected, 0

    def _page(self, node: FieldNode) -> int:
        first = as_int(argument(node, "first", self.variables))
        return DEFAULT_PAGE if first is None else max(0, first)

    def _fan_out(self, node: FieldNode, at_root: bool) -> int:
        """How many clusters a list reads: every one at the root, unless narrowed."""
        if not at_root:
            return 1
        if isinstance(argument(node, "cluster", self.variables), str):
            return 1
        search = argument(node, "filter", self.variables)
        if isinstance(search, dict):
            database = search.get("database")
            if isinstance(database, dict) and isinstance(database.get("cluster"), str):
                return 1
            clusters = search.get("clusters")
            if isinstance(clusters, list):
                return min(len({c for c in clusters if isinstance(c, str)}), self.clusters)
        return self.clusters

    def _type(self, name: str) -> GraphQLNamedType | None:
        return self.schema.get_type(name)


def _is_list(field_type: GraphQLOutputType | None) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _is_connection(named: GraphQLNamedType | None) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")
