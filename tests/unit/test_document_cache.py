"""The parsed-document cache: repeated queries skip parsing and the standard rules, never
the limits.

Runs the real schema with the extensions in the server's order (limits, then the cache)
and no cluster cache behind it, as the limits' own tests do.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import ExecutionResult

import schema
from gateway.documents import MAX_CACHED_LENGTH, Documents, document_cache
from gateway.limits import Limits, limit_extensions
from tests.unit.test_limits import CLUSTERS, make_context, refusal


def cached_schema(documents: Documents, limits: Limits | None = None) -> strawberry.Schema:
    return schema.build_schema(
        extensions=[
            *limit_extensions(limits or Limits(), clusters=lambda: CLUSTERS),
            document_cache(documents),
        ]
    )


async def run(
    target: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> ExecutionResult:
    return await target.execute(query, variable_values=variables, context_value=make_context())


SIMPLE = "{ viewer { username } clusters { name } }"


async def test_a_repeated_query_is_answered_the_same_from_the_cache() -> None:
    documents = Documents()
    target = cached_schema(documents)

    first = await run(target, SIMPLE)
    again = await run(target, SIMPLE)

    assert len(documents) == 1
    assert first.errors is None
    assert again.errors is None
    assert again.data == first.data
    # The limits ran again: the cost is reported for the cached document too.
    assert again.extensions == first.extensions == {"cost": {"requested": 6, "maximum": 50_000}}


async def test_a_cached_document_is_still_checked_with_each_requests_variables() -> None:
    documents = Documents()
    target = cached_schema(documents)
    query = """query($n: Int, $m: Int) {
      databases(first: $n) { nodes { snapshots(first: $m) { nodes { name } } } } }"""

    small = await run(target, query, {"n": 2, "m": 2})
    # Past the limits (the resolver then needs a cluster cache, which this test has not).
    assert small.errors is not None
    assert small.errors[0].extensions is None or small.errors[0].extensions.get("code") not in (
        "BAD_USER_INPUT",
        "QUERY_TOO_COSTLY",
    )
    assert len(documents) == 1

    too_large = refusal(await run(target, query, {"n": 100_000, "m": 1}), "BAD_USER_INPUT")
    assert "(it was 100000)" in too_large["message"]
    too_costly = refusal(await run(target, query, {"n": 500, "m": 500}), "QUERY_TOO_COSTLY")
    assert too_costly["extensions"]["cost"] > 50_000
    assert len(documents) == 1


async def test_refused_documents_are_refused_every_time() -> None:
    documents = Documents()
    target = cached_schema(documents)
    deep = "{ " + "backupSessions { nodes { database { " * 5 + "name" + " } } }" * 5 + " }"
    aliases = "{ " + " ".join(f"a{i}: viewer {{ username }}" for i in range(60)) + " }"
    unknown = "{ viewer { noSuchField } }"

    for _ in range(3):
        refusal(await run(target, deep), "QUERY_TOO_DEEP")
        refusal(await run(target, aliases), "TOO_MANY_ALIASES")
        result = await run(target, unknown)
        assert result.data is None
        assert result.errors is not None
        assert "noSuchField" in result.errors[0].message


async def test_a_document_over_the_token_limit_is_never_kept() -> None:
    documents = Documents()
    target = cached_schema(documents)
    query = "{ viewer { " + "username " * 6000 + "} }"

    for _ in range(2):
        refusal(await run(target, query), "QUERY_TOO_LARGE")
    assert len(documents) == 0


async def test_a_document_kept_under_one_limit_is_parsed_again_under_another() -> None:
    documents = Documents()
    query = "{ viewer { " + "username " * 200 + "} }"
    assert len(query) < MAX_CACHED_LENGTH

    assert (await run(cached_schema(documents), query)).errors is None
    strict = cached_schema(documents, Limits(max_tokens=100))
    error = refusal(await run(strict, query), "QUERY_TOO_LARGE")

    assert "more than 100 tokens" in error["message"]


async def test_the_cache_is_bounded() -> None:
    documents = Documents(maxsize=2)
    target = cached_schema(documents)

    for field in ("username", "groups", "username groups"):
        assert (await run(target, f"{{ viewer {{ {field} }} }}")).errors is None

    assert len(documents) == 2
    # Longer documents are parsed each time and not kept.
    long_query = "{ viewer { username } } #" + "x" * MAX_CACHED_LENGTH
    assert (await run(target, long_query)).errors is None
    assert len(documents) == 2
