"""Query limits: what a client sees when a query is too large, deep, wide or costly.

Refusals happen before execution, so these queries run against the real schema with no
cluster cache behind it: a query that slipped through would fail differently (the
resolvers need ``context.graph``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError, get_introspection_query
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionResult

import schema
from core.errors import GatewayError
from gateway.limits import Limits, limit_extensions
from resolvers.reads.context import ClusterInfo, RequestContext, Viewer

CLUSTERS = 3


@dataclass
class StaticClusters:
    infos: list[ClusterInfo] = field(default_factory=list)

    def cluster_infos(self) -> list[ClusterInfo]:
        return list(self.infos)


def make_context() -> RequestContext:
    return RequestContext(
        viewer=Viewer(username="alice@example.com", groups=("dba",)),
        clusters=StaticClusters(
            [
                ClusterInfo(name=name, server=f"https://{name}:6443", reachable=True)
                for name in ("prod", "staging", "dev")
            ]
        ),
        request_id="test",
    )


def limited_schema(limits: Limits | None = None) -> strawberry.Schema:
    return schema.build_schema(
        extensions=limit_extensions(limits or Limits(), clusters=lambda: CLUSTERS)
    )


async def execute(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    limits: Limits | None = None,
    target: strawberry.Schema | None = None,
) -> ExecutionResult:
    target = target or limited_schema(limits)
    return await target.execute(query, variable_values=variables, context_value=make_context())


def refusal(result: ExecutionResult, code: str) -> dict[str, Any]:
    """The single error of a refused query, as the client receives it."""
    assert result.data is None
    assert result.errors is not None
    assert len(result.errors) == 1, [e.message for e in result.errors]
    formatted: dict[str, Any] = dict(result.errors[0].formatted)
    assert formatted["extensions"]["code"] == code, formatted
    return formatted


async def cost_of(query: str, variables: dict[str, Any] | None = None) -> int:
    """The cost the gateway computes for ``query`` (refused with a limit of 1, so the
    query needs no cluster cache)."""
    result = await execute(query, variables, limits=Limits(max_cost=1))
    error = refusal(result, "QUERY_TOO_COSTLY")
    assert result.extensions is not None
    assert result.extensions["cost"]["requested"] == error["extensions"]["cost"]
    cost: int = error["extensions"]["cost"]
    return cost


def deep_query(levels: int) -> str:
    """Sessions' databases' sessions...: ``levels`` fields deep (levels % 3 == 1)."""
    hops = (levels - 1) // 3
    return "{ " + "backupSessions { nodes { database { " * hops + "name" + " } } }" * hops + " }"


# ---------------------------------------------------------------------------
# Hostile documents


async def test_a_query_25_levels_deep_is_refused() -> None:
    error = refusal(await execute(deep_query(25)), "QUERY_TOO_DEEP")

    assert "25 levels deep" in error["message"]
    assert "limit is 12" in error["message"]
    assert error["extensions"]["depth"] == 25
    assert error["extensions"]["maximumDepth"] == 12


async def test_a_query_at_the_depth_limit_passes_the_depth_check() -> None:
    result = await execute(deep_query(13), limits=Limits(max_depth=13, max_cost=1))

    # Refused for its cost, computed after the depth check let it through.
    refusal(result, "QUERY_TOO_COSTLY")


async def test_fragment_spreads_count_towards_depth() -> None:
    query = """
    { backupSessions { nodes { ...S } } }
    fragment S on BackupSession { database { backupSessions { nodes { ...S2 } } } }
    fragment S2 on BackupSession { database { name } }
    """
    error = refusal(await execute(query, limits=Limits(max_depth=6)), "QUERY_TOO_DEEP")

    assert error["extensions"]["depth"] == 7


async def test_a_long_chain_of_fragment_spreads_is_refused_without_recursing_deeply() -> None:
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} }}\n" for i in range(300))
    query = "{ ...F0 }\n" + chain + "fragment F300 on Query { viewer { username } }"

    error = refusal(await execute(query), "QUERY_TOO_DEEP")

    assert "more than 100 levels deep" in error["message"]


async def test_10000_aliases_are_refused_quickly() -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(10_000)) + " }"

    started = time.perf_counter()
    result = await execute(query)
    elapsed = time.perf_counter() - started

    error = refusal(result, "QUERY_TOO_LARGE")
    assert "longer than 100000 bytes" in error["message"]
    assert elapsed < 5


async def test_10000_aliases_are_refused_as_aliases_when_the_document_may_be_that_large() -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(10_000)) + " }"
    roomy = Limits(max_tokens=100_000, max_query_bytes=1_000_000)

    started = time.perf_counter()
    result = await execute(query, limits=roomy)
    elapsed = time.perf_counter() - started

    error = refusal(result, "TOO_MANY_ALIASES")
    assert error["message"].startswith("the query uses 10000 aliases; the limit is 50")
    assert error["extensions"]["aliases"] == 10_000
    assert error["extensions"]["maximumAliases"] == 50
    assert elapsed < 5


async def test_a_few_aliases_are_allowed() -> None:
    result = await execute("{ me: viewer { name: username } again: viewer { username } }")

    assert result.errors is None
    assert result.data == {
        "me": {"name": "alice@example.com"},
        "again": {"username": "alice@example.com"},
    }


async def test_a_page_of_100000_is_refused_as_bad_input() -> None:
    error = refusal(
        await execute("{ databases(first: 100000) { nodes { name } } }"), "BAD_USER_INPUT"
    )

    assert error["message"] == (
        "`first` must be between 0 and 500 (it was 100000); "
        "page through larger results with `after`"
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first", "maximum": 500}
    assert error["locations"] == [{"line": 1, "column": 3}]


async def test_a_page_of_100000_across_clusters_from_a_variable_is_refused() -> None:
    query = """
    query Everything($n: Int) {
      snapshots(first: $n, filter: {clusters: ["prod", "staging", "dev"]}) { nodes { name } }
    }
    """
    error = refusal(await execute(query, {"n": 100_000}), "BAD_USER_INPUT")

    assert "(it was 100000)" in error["message"]


async def test_a_nested_page_beyond_the_maximum_is_refused() -> None:
    query = "{ databases { nodes { snapshots(first: 501) { nodes { name } } } } }"

    error = refusal(await execute(query), "BAD_USER_INPUT")

    assert "between 0 and 500 (it was 501)" in error["message"]


async def test_a_negative_page_is_refused() -> None:
    error = refusal(
        await execute("{ repositories(first: -1) { nodes { name } } }"), "BAD_USER_INPUT"
    )

    assert "(it was -1)" in error["message"]


async def test_the_maximum_page_is_configurable() -> None:
    result = await execute(
        "{ databases(first: 200) { nodes { name } } }", limits=Limits(max_page=100)
    )

    assert "between 0 and 100 (it was 200)" in refusal(result, "BAD_USER_INPUT")["message"]


async def test_500_databases_each_with_500_snapshots_is_refused_as_too_costly() -> None:
    query = "{ databases(first: 500) { nodes { snapshots(first: 500) { nodes { name } } } } }"

    result = await execute(query)

    error = refusal(result, "QUERY_TOO_COSTLY")
    # 1 + 3 clusters * (1 + 500 * (nodes 1 + snapshots (1 + 1 + 500 * name 1)))
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 753_004,
        "maximumCost": 50_000,
    }
    assert "estimated cost is 753004; the limit is 50000" in error["message"]
    assert "Lower `first`" in error["message"]
    assert result.extensions == {"cost": {"requested": 753_004, "maximum": 50_000}}


async def test_a_huge_document_is_refused_by_the_token_limit() -> None:
    query = "{ viewer { " + "username " * 6000 + "} }"
    assert len(query) < Limits().max_query_bytes

    error = refusal(await execute(query), "QUERY_TOO_LARGE")

    assert "more than 5000 tokens" in error["message"]
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE", "maximumTokens": 5000}


async def test_a_document_padded_with_comments_is_refused() -> None:
    query = "{ viewer { username } }\n" + "#\n" * 6000

    error = refusal(await execute(query), "QUERY_TOO_LARGE")

    assert "tokens or comments" in error["message"]


async def test_the_document_size_is_measured_in_bytes() -> None:
    # 60,000 characters but 120,000 bytes: over the 100,000-byte limit.
    query = "{ viewer { username } } # " + "é" * 60_000

    error = refusal(await execute(query), "QUERY_TOO_LARGE")

    assert "longer than 100000 bytes" in error["message"]
    assert error["extensions"]["maximumBytes"] == 100_000


async def test_a_document_nested_beyond_the_parser_is_refused_as_too_deep() -> None:
    query = "{ a " + "{ a " * 300 + "}" * 301

    error = refusal(await execute(query), "QUERY_TOO_DEEP")

    assert "nested too deeply" in error["message"]


# ---------------------------------------------------------------------------
# The cost a query is charged


async def test_an_allowed_query_reports_its_cost() -> None:
    result = await execute("{ viewer { username } clusters { name } }")

    assert result.errors is None
    assert result.data == {
        "viewer": {"username": "alice@example.com"},
        "clusters": [{"name": "prod"}, {"name": "staging"}, {"name": "dev"}],
    }
    # viewer 1 + username 1; clusters 1 + 3 clusters * 1 item * name 1
    assert result.extensions == {"cost": {"requested": 6, "maximum": 50_000}}


async def test_the_maximum_cost_is_configurable() -> None:
    result = await execute("{ viewer { username } clusters { name } }", limits=Limits(max_cost=5))

    error = refusal(result, "QUERY_TOO_COSTLY")
    assert error["extensions"]["cost"] == 6
    assert error["extensions"]["maximumCost"] == 5


async def test_a_page_without_first_counts_as_the_default_page() -> None:
    # databases 1 + 3 clusters * (nodes 1 + 50 items * name 1)
    assert await cost_of("{ databases { nodes { name } } }") == 1 + 3 * (1 + 50 * 1)


async def test_page_info_and_totals_count_once_per_page() -> None:
    plain = await cost_of("{ databases(first: 100) { nodes { name } } }")
    with_totals = await cost_of(
        "{ databases(first: 100) { totalCount pageInfo { hasNextPage } nodes { name } } }"
    )

    assert with_totals - plain == 3 * (1 + 2)


async def test_a_page_size_from_a_variable_is_counted() -> None:
    query = """
    query Pages($n: Int) {
      databases(first: $n) { nodes { snapshots(first: $n) { nodes { name } } } }
    }
    """
    # snapshots = 1 + (nodes 1 + n * name 1); databases = 1 + 3 * (nodes 1 + n * snapshots)
    assert await cost_of(query, {"n": 10}) == 1 + 3 * (1 + 10 * (1 + 1 + 10))
    assert await cost_of(query, {"n": 400}) == 1 + 3 * (1 + 400 * (1 + 1 + 400))
    assert await cost_of(query) == 1 + 3 * (1 + 50 * (1 + 1 + 50))


async def test_a_variables_default_page_size_is_counted() -> None:
    query = "query Pages($n: Int = 7) { databases(first: $n) { nodes { name } } }"

    assert await cost_of(query) == 1 + 3 * (1 + 7)
    assert await cost_of(query, {"n": 9}) == 1 + 3 * (1 + 9)


async def test_fragments_cost_what_their_fields_cost_at_each_spread() -> None:
    inline = """
    {
      databases(first: 10) { nodes { name namespace } }
      snapshots(first: 20) { nodes { database { name namespace } } }
    }
    """
    with_fragments = """
    {
      databases(first: 10) { nodes { ...Db } }
      snapshots(first: 20) { ...Page }
    }
    fragment Db on Database { name namespace }
    fragment Page on SnapshotConnection { nodes { database { ...Db } } }
    """
    with_inline_fragments = """
    {
      databases(first: 10) { nodes { ... on Database { name namespace } } }
      snapshots(first: 20) { ... { nodes { database { ... on Database { name namespace } } } } }
    }
    """
    expected = (1 + 3 * (1 + 10 * 2)) + (1 + 3 * (1 + 20 * (1 + 2)))

    assert await cost_of(inline) == expected
    assert await cost_of(with_fragments) == expected
    assert await cost_of(with_inline_fragments) == expected


async def test_naming_clusters_in_the_filter_narrows_the_fan_out() -> None:
    everywhere = await cost_of("{ databases(first: 10) { nodes { name } } }")
    one = await cost_of('{ databases(first: 10, filter: {clusters: ["prod"]}) { nodes { name } } }')
    two = await cost_of(
        "query Two($c: [String!]) "
        "{ databases(first: 10, filter: {clusters: $c}) { nodes { name } } }",
        {"c": ["prod", "dev"]},
    )

    assert everywhere == 1 + 3 * (1 + 10)
    assert one == 1 + 1 * (1 + 10)
    assert two == 1 + 2 * (1 + 10)


async def test_plain_lists_are_estimated() -> None:
    query = """
    { backupStorages(namespace: "demo") { name }
      backupPolicies(namespace: "demo", databaseKind: "Postgres", cluster: "prod") { name } }
    """
    # a root list reads 20 items per cluster (all 3, or the one named)
    assert await cost_of(query) == (1 + 3 * 20 * 1) + (1 + 1 * 20 * 1)

    nested = "{ databases(first: 10) { nodes { conditions { type status } } } }"
    # a list inside an object holds about 5 items
    assert await cost_of(nested) == 1 + 3 * (1 + 10 * (1 + 5 * 2))


async def test_a_page_of_500_with_a_few_fields_is_allowed_by_cost() -> None:
    query = """
    { databases(first: 500) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id name namespace cluster conditions { type status } } } }
    """
    assert await cost_of(query) < Limits().max_cost


# ---------------------------------------------------------------------------
# Introspection


async def test_introspection_works_when_enabled() -> None:
    result = await execute(get_introspection_query(descriptions=True))

    assert result.errors is None
    assert result.data is not None
    assert result.data["__schema"]["queryType"] == {"name": "Query", "kind": "OBJECT"}
    assert result.extensions == {"cost": {"requested": 0, "maximum": 50_000}}


async def test_introspection_that_multiplies_itself_is_refused() -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"

    error = refusal(await execute(query), "QUERY_TOO_DEEP")

    assert "introspection query nests `fields`" in error["message"]


@pytest.mark.parametrize(
    ("query", "asked"),
    [
        (get_introspection_query(), "__schema"),
        ('{ __type(name: "Database") { name } }', "__type"),
        ('{ viewer { ...T } } fragment T on Viewer { __type(name: "Viewer") { name } }', "__type"),
    ],
)
async def test_introspection_is_refused_when_disabled(query: str, asked: str) -> None:
    result = await execute(query, limits=Limits(introspection=False))

    error = refusal(result, "INTROSPECTION_DISABLED")
    assert error["message"].startswith("introspection is disabled on this server")
    assert f"`{asked}`" in error["message"]


async def test_typename_is_allowed_when_introspection_is_disabled() -> None:
    result = await execute("{ __typename viewer { username } }", limits=Limits(introspection=False))

    assert result.errors is None
    assert result.data == {"__typename": "Query", "viewer": {"username": "alice@example.com"}}


# ---------------------------------------------------------------------------
# With the server's error masking


def should_mask(error: GraphQLError) -> bool:
    """A masking rule like the server's: domain errors keep their message."""
    return not isinstance(error.original_error, GatewayError)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (deep_query(25), "QUERY_TOO_DEEP"),
        ("{ viewer { " + "username " * 6000 + "} }", "QUERY_TOO_LARGE"),
        ("{ databases(first: 100000) { nodes { name } } }", "BAD_USER_INPUT"),
        (
            "{ databases(first: 500) { nodes { snapshots(first: 500) { nodes { id } } } } }",
            "QUERY_TOO_COSTLY",
        ),
    ],
)
async def test_refusals_keep_their_message_when_errors_are_masked(query: str, code: str) -> None:
    masked = schema.build_schema(
        extensions=[
            *limit_extensions(Limits(), clusters=lambda: CLUSTERS),
            lambda: MaskErrors(should_mask_error=should_mask),
        ]
    )

    result = await execute(query, target=masked)

    error = refusal(result, code)
    assert error["message"] != "Unexpected error."
    assert result.errors is not None
    assert isinstance(result.errors[0].original_error, GatewayError)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=0)
    with pytest.raises(ValueError, match="max_page"):
        Limits(max_page=-1)
