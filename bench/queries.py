"""The GraphQL queries the benchmark times, and the checks that their answers are right."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.dataset import FILTER_NAMESPACES, FILTER_PHASE, Expected
from bench.procs import BenchError

# Page queries can take long on 100k objects on a busy machine: never give up early,
# never hang forever.
CLIENT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)

JSON = dict[str, Any]


def page_query(first: int) -> str:
    return (
        f"{{ snapshots(first: {first}) {{ totalCount "
        "edges { cursor node { id name phase snapshotTime size } } } }"
    )


def filtered_query() -> str:
    namespaces = ", ".join(f'"{ns}"' for ns in FILTER_NAMESPACES)
    return (
        f"{{ snapshots(filter: {{phases: [{FILTER_PHASE}], namespaces: [{namespaces}]}}) "
        "{ totalCount } }"
    )


Check = Callable[[JSON], None]


@dataclass(frozen=True)
class Query:
    key: str  # short name used in the results
    label: str  # what it is, for the report
    text: str
    check: Check


def _data(body: JSON) -> JSON:
    if body.get("errors"):
        raise BenchError(f"the gateway answered with errors: {body['errors']}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BenchError(f"the gateway answered without data: {str(body)[:300]}")
    return data


def check_page(expected: Expected, first: int) -> Check:
    names = expected.newest(first)

    def check(body: JSON) -> None:
        conn = _data(body)["snapshots"]
        if conn["totalCount"] != expected.total:
            raise BenchError(f"totalCount {conn['totalCount']} != {expected.total} seeded")
        edges = conn["edges"]
        got = [e["node"]["name"] for e in edges]
        if got != names:
            raise BenchError(
                f"page of {first}: expected the {len(names)} newest snapshots newest first "
                f"({names[:3]}...), got {len(got)} ({got[:3]}...)"
            )
        times = [e["node"]["snapshotTime"] for e in edges]
        if times != sorted(times, reverse=True):
            raise BenchError(f"page of {first} is not newest first")
        if len({e["node"]["id"] for e in edges}) != len(edges) or not all(
            e["cursor"] for e in edges
        ):
            raise BenchError(f"page of {first} has repeated ids or empty cursors")

    return check


def check_filtered(expected: Expected) -> Check:
    def check(body: JSON) -> None:
        count = _data(body)["snapshots"]["totalCount"]
        if count != expected.filtered:
            raise BenchError(
                f"filtered count {count} != {expected.filtered} {FILTER_PHASE} snapshots "
                f"seeded in {', '.join(FILTER_NAMESPACES)}"
            )

    return check


def queries_for(expected: Expected) -> list[Query]:
    return [
        Query("page50", "page of 50", page_query(50), check_page(expected, 50)),
        Query("page500", "page of 500", page_query(500), check_page(expected, 500)),
        Query(
            "filtered",
            f"count of {FILTER_PHASE} in {len(FILTER_NAMESPACES)} namespaces",
            filtered_query(),
            check_filtered(expected),
        ),
    ]


async def run_query(client: httpx.AsyncClient, *, token: str, query: Query) -> tuple[float, JSON]:
    """POST the query once; return (seconds, decoded body). Non-200 is an error."""
    began = time.perf_counter()
    response = await client.post(
        "/graphql",
        json={"query": query.text},
        headers={"Authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - began  # the whole body has been read by now
    body: JSON = response.json()
    if response.status_code != 200:
        raise BenchError(f"{query.key}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed, body


async def measure(
    url: str, *, token: str, queries: list[Query], iterations: int, warmup: int
) -> dict[str, list[float]]:
    """Each query ``warmup`` times untimed, then ``iterations`` times, one at a time.

    Every answer (warm-up and timed) is checked, after its time was taken.
    """
    samples: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT) as client:
        for query in queries:
            for _ in range(warmup):
                _, body = await run_query(client, token=token, query=query)
                query.check(body)
            times: list[float] = []
            for _ in range(iterations):
                elapsed, body = await run_query(client, token=token, query=query)
                query.check(body)
                times.append(elapsed)
            samples[query.key] = times
    return samples
