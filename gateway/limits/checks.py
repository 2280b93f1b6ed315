"""The query limits' extension: refusals before execution, the cost in every response.

The order of the checks, and why each step bounds the next, is in ``gateway.limits``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
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
from gateway.limits.cost import Cost
from gateway.limits.document import (
    INTROSPECTION_ROOTS,
    NESTING_LIMIT,
    Shape,
    TooNested,
    all_fields,
    argument,
    as_int,
    variable_values,
)
from gateway.limits.settings import Limits
from resolvers.reads.paging import DEFAULT_PAGE


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


class IntrospectionDepthRule(MaxIntrospectionDepthRule):
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
            IntrospectionDepthRule if rule is MaxIntrospectionDepthRule else rule
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
        fields = list(all_fields(document))

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

        shape = Shape(fragments)
        try:
            depth = max((shape.depth(op.selection_set.selections) for op in operations), default=0)
        except TooNested:
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

        values = variable_values(operations, variables)
        pages = [_bad_page(f, values, limits.max_page) for f in fields]
        if bad := [p for p in pages if p is not None]:
            return bad

        cost = Cost(
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


def _bad_page(node: FieldNode, variables: dict[str, Any], maximum: int) -> GraphQLError | None:
    # Every `first` in this schema is a page size.
    first = as_int(argument(node, "first", variables))
    if first is None or 0 <= first <= maximum:
        return None
    refusal = InvalidInput(
        f"`first` must be between 0 and {maximum} (it was {first}); "
        "page through larger results with `after`",
        extensions={"argument": "first", "maximum": maximum},
    )
    return _refusal(refusal, [node])
