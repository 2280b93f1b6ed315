"""Query limits: size, depth, aliases, page size, introspection and a fan-out cost.

Every limit is checked before a resolver runs, on the parsed document only (no I/O), and
each refusal is a ``GatewayError`` so its message and ``extensions.code`` reach the client
(the server masks every other error).

The order is cheapest first and each step bounds the next one's work:

1. parsing: the document's length and its number of tokens and comments (the parser stops
   at the limit, so a huge document costs no more than a small one);
2. before the standard validation rules: introspection, aliases, depth, ``first`` and
   cost, each a single walk over the document (fragments are measured once, however often
   they are spread), and the first that fails refuses the query without running the
   standard rules at all;
3. with the standard rules: graphql-core's introspection depth rule, given a code
   (``fields`` inside ``type`` inside ``fields``... grows a response exponentially; depth
   and cost skip introspection, which is answered from the in-memory schema).

The cost estimates the work a query asks for and is reported in every response as
``extensions.cost``: each field costs 1, and the selection of a list costs once per item
it may return, multiplied through nested lists. See ``_Cost`` for the model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    get_named_type,
    value_from_ast_untyped,
)
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

from core.errors import (
    GatewayError,
    IntrospectionDisabled,
    InvalidInput,
    QueryTooCostly,
    QueryTooDeep,
    QueryTooLarge,
    TooManyAliases,
)
from resolvers.paging import DEFAULT_PAGE, MAX_PAGE

__all__ = [
    "IntrospectionDisabled",
    "Limits",
    "QueryLimits",
    "QueryTooCostly",
    "QueryTooDeep",
    "QueryTooLarge",
    "TooManyAliases",
    "limit_extensions",
]

# A root list without `first` (backupPolicies, backupStorages...): the blueprints, storages
# or methods usable in one namespace of one cluster are a few dozen at most.
ROOT_LIST_ESTIMATE = 20
# A list inside one object (conditions, components, sessions of a policy): a handful.
NESTED_LIST_ESTIMATE = 5
# Lists whose size is known: `clusters` has one item per cluster, and the cluster factor
# of a root list already counts those.
KNOWN_LIST_SIZES: Mapping[tuple[str, str], int] = {("Query", "clusters"): 1}
# Fields, inline fragments and fragment spreads along one path. No sensible query comes
# near it; it keeps the walks below far from Python's recursion limit whatever the
# document (a chain of fragment spreads adds no depth of fields but does nest).
NESTING_LIMIT = 100
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
CONNECTION_ITEMS = frozenset({"edges", "nodes"})


@dataclass(frozen=True)
class Limits:
    """What one GraphQL document may ask for. The defaults suit an interactive console."""

    # Fields on the longest path, leaves included: `{ viewer { username } }` is 2 deep.
    # A connection costs two levels (`edges { node`), so 12 allows three nested lists.
    max_depth: int = 12
    # Aliased fields in the document, counted where they are written.
    max_aliases: int = 50
    # Lexical tokens (and, separately, comments): the parser gives up past this, so
    # parsing is bounded before anything else looks at the document.
    max_tokens: int = 5000
    # Estimated work (see the module docstring); a page of 500 databases with a few
    # fields each over three clusters is about 5,000.
    max_cost: int = 50_000
    # Largest `first`; the resolvers refuse more than resolvers.paging.MAX_PAGE anyway.
    max_page: int = MAX_PAGE
    introspection: bool = True
    # Length of the document in UTF-8 bytes.
    max_query_bytes: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_aliases", "max_tokens", "max_cost", "max_query_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if self.max_page < 0:
            raise ValueError("Limits.max_page must not be negative")


def limit_extensions(
    limits: Limits, *, clusters: Callable[[], int]
) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for ``build_schema(extensions=...)`` that enforce ``limits``.

    ``clusters`` returns the number of configured clusters when a query is checked.
    """
    return [functools.partial(QueryLimits, limits=limits, clusters=clusters)]


def _refusal(error: GatewayError, nodes: Sequence[Node] | None = None) -> GraphQLError:
    return GraphQLError(
        error.message, nodes=nodes, original_error=error, extensions=error.extensions
    )


class _IntrospectionDepthRule(MaxIntrospectionDepthRule):
    """graphql-core's rule (among the rules strawberry runs), with a message that says
    what to change, and a code."""

    def report_error(self, error: GraphQLError) -> None:
        refusal = QueryTooDeep(
            "the introspection query nests `fields`, `inputFields`, `interfaces` or "
            "`possibleTypes` three or more levels deep; ask for types by name instead",
        )
        super().report_error(_refusal(refusal, error.nodes))


class QueryLimits(SchemaExtension):
    """Refuses documents beyond ``limits`` before execution; reports the cost of the rest."""

    def __init__(self, *, limits: Limits, clusters: Callable[[], int]) -> None:
        self.limits = limits
        self.clusters = clusters
        self.cost: int | None = None
        self._oversize = False

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = tuple(
            _IntrospectionDepthRule if rule is MaxIntrospectionDepthRule else rule
            for rule in context.validation_rules
        )
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        limits = self.limits
        # strawberry's ParseOptions only declares graphql-core's deprecated `max_tokens`
        # (which counts comments as tokens); its replacements are passed the same way.
        options = cast(dict[str, Any], context.parse_options)
        options["max_lexical_tokens"] = limits.max_tokens
        options["max_comments"] = limits.max_tokens
        options["max_source_length"] = limits.max_query_bytes
        query = context.query or ""
        # The parser measures code points; a longer UTF-8 encoding is refused before the
        # parser reads a token.
        if (
            len(query) <= limits.max_query_bytes
            and not query.isascii()
            and len(query.encode("utf-8", "surrogatepass")) > limits.max_query_bytes
        ):
            self._oversize = True
            options["max_source_length"] = 0
        yield
        for error in context.pre_execution_errors or ():
            if isinstance(error, GraphQLSyntaxError):
                self._explain_syntax_error(error)

    def _explain_syntax_error(self, error: GraphQLSyntaxError) -> None:
        """Gives a parser limit error our message and code (in place: strawberry has
        already put the same error object into the response)."""
        limits = self.limits
        description = error.description
        refusal: GatewayError
        if self._oversize or description.startswith("Source contains more than"):
            refusal = QueryTooLarge(
                f"the query document is longer than {limits.max_query_bytes} bytes, the "
                "limit. Send a smaller query",
                extensions={"maximumBytes": limits.max_query_bytes},
            )
        elif description.startswith("Document contains more than"):
            refusal = QueryTooLarge(
                f"the query document has more than {limits.max_tokens} tokens or comments, "
                f"the limit. Select fewer fields, use fewer aliases, or repeat a selection "
                f"with a fragment",
                extensions={"maximumTokens": limits.max_tokens},
            )
        elif description.startswith("Document is nested too deeply"):
            refusal = QueryTooDeep(
                f"the query document is nested too deeply to parse; the limit is "
                f"{limits.max_depth} levels of fields",
                extensions={"maximumDepth": limits.max_depth},
            )
        else:
            return
        error.message = refusal.message
        error.original_error = refusal
        error.extensions = refusal.extensions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            errors = self._check(document, context.operation_name, context.variables)
            if errors:
                # strawberry runs no further validation once errors are set, so a hostile
                # document never reaches the (costlier) standard rules.
                context.pre_execution_errors = errors
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {}
        return {"cost": {"requested": self.cost, "maximum": self.limits.max_cost}}

    def _check(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> list[GraphQLError]:
        limits = self.limits
        refusal: GatewayError
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        fields = list(_all_fields(document))

        if not limits.introspection:
            asked = [f for f in fields if f.name.value in INTROSPECTION_ROOTS]
            if asked:
                refusal = IntrospectionDisabled(
                    f"introspection is disabled on this server; the query asks for "
                    f"`{asked[0].name.value}`. `stashql schema` prints the schema (SDL) instead",
                )
                return [_refusal(refusal, asked[:1])]

        aliased = [f for f in fields if f.alias is not None]
        if len(aliased) > limits.max_aliases:
            refusal = TooManyAliases(
                f"the query uses {len(aliased)} aliases; the limit is {limits.max_aliases}. "
                "Ask for lists with one field and a larger `first` instead of many aliases",
                extensions={"aliases": len(aliased), "maximumAliases": limits.max_aliases},
            )
            return [_refusal(refusal)]

        shape = _Shape(fragments)
        try:
            depth = max((shape.depth(op.selection_set.selections) for op in operations), default=0)
        except _TooNested:
            refusal = QueryTooDeep(
                f"the query nests fields, fragments and inline fragments more than "
                f"{NESTING_LIMIT} levels deep; the limit for fields is {limits.max_depth}",
                extensions={"maximumDepth": limits.max_depth},
            )
            return [_refusal(refusal)]
        if depth > limits.max_depth:
            refusal = QueryTooDeep(
                f"the query nests fields {depth} levels deep; the limit is {limits.max_depth}. "
                "Fetch deeper objects with a separate query (for example by `id` with `node`)",
                extensions={"depth": depth, "maximumDepth": limits.max_depth},
            )
            return [_refusal(refusal)]

        values = _variable_values(operations, variables)
        pages = [_bad_page(f, values, limits.max_page) for f in fields]
        if bad := [p for p in pages if p is not None]:
            return bad

        cost = _Cost(
            self.execution_context.schema._schema,
            fragments,
            values,
            clusters=max(1, self.clusters()),
        )
        chosen = [op for op in operations if op.name and op.name.value == operation_name]
        self.cost = max((cost.operation(op) for op in chosen or operations), default=0)
        if self.cost > limits.max_cost:
            refusal = QueryTooCostly(
                f"the query's estimated cost is {self.cost}; the limit is {limits.max_cost}. "
                f"Each field costs 1, once per item a list may return (`first`, or "
                f"{DEFAULT_PAGE} when not given) and per cluster a root list reads. Lower "
                "`first`, select fewer fields or nested lists, or narrow `filter.clusters`",
                extensions={"cost": self.cost, "maximumCost": limits.max_cost},
            )
            return [_refusal(refusal)]
        return []


def _all_fields(document: DocumentNode) -> Iterator[FieldNode]:
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


def _variable_values(
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


def _argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _as_int(value: Any) -> int | None:
    """``value`` as GraphQL's Int would accept it, else None (coercion will refuse it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _bad_page(node: FieldNode, variables: dict[str, Any], maximum: int) -> GraphQLError | None:
    # Every `first` in this schema is a page size.
    first = _as_int(_argument(node, "first", variables))
    if first is None or 0 <= first <= maximum:
        return None
    refusal = InvalidInput(
        f"`first` must be between 0 and {maximum} (it was {first}); "
        "page through larger results with `after`",
        extensions={"argument": "first", "maximum": maximum},
    )
    return _refusal(refusal, [node])


class _TooNested(Exception):
    pass


class _Shape:
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
        (the root's are at 1); raises _TooNested past NESTING_LIMIT."""
        if level > NESTING_LIMIT:
            raise _TooNested
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
                    raise _TooNested
            else:  # pragma: no cover - graphql-core has no other selection nodes
                continue
            depth, nesting = max(depth, d), max(nesting, n)
        return depth, nesting


class _Cost:
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

    Introspection costs nothing here; ``_IntrospectionDepthRule`` bounds it.
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
        first = _as_int(_argument(node, "first", self.variables))
        return DEFAULT_PAGE if first is None else max(0, first)

    def _fan_out(self, node: FieldNode, at_root: bool) -> int:
        """How many clusters a list reads: every one at the root, unless narrowed."""
        if not at_root:
            return 1
        if isinstance(_argument(node, "cluster", self.variables), str):
            return 1
        search = _argument(node, "filter", self.variables)
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
