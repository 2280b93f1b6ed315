"""Snapshot lists through the indexes: filtered counts and filtered pages, per viewer.

The oracle is the viewer's whole unfiltered list (paged through to the end): a filtered
``totalCount`` must equal how many of those match, and filtered pages, followed by
their cursors in both orders, must give exactly those, in that order. The filters mix
the indexed fields (clusters, namespaces, phases, types, repository, database) with one
no index answers (``takenAfter``), and run as admin (every namespace), alice (team-a)
and bob (team-b), over snapshots spread across both clusters with ties in time.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, ensure_namespace, eventually, kube_http, seed

pytestmark = pytest.mark.sandbox

NOW = datetime.now(UTC).replace(microsecond=0)
PHASES = ("Succeeded", "Failed", "Running", "Pending", "Succeeded", "Succeeded")
PER_CLUSTER = 24
VIEWERS = ("admin", "alice", "bob")
NODE = "cluster namespace name phase type snapshotTime"


@dataclass(frozen=True)
class Planned:
    cluster: str
    namespace: str
    name: str
    repository: str
    database: str


@dataclass
class Dataset:
    uid: str
    own_ns: str
    clusters: tuple[str, str]
    planned: dict[tuple[str, str, str], Planned]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dataset(sandbox: Sandbox, gateway: Gateway) -> AsyncIterator[Dataset]:
    uid = os.urandom(3).hex()
    own_ns = f"lists-{uid}"
    namespaces = ("team-a", "team-b", own_ns)
    clusters = (sandbox.cluster(0).name, sandbox.cluster(1).name)
    planned: dict[tuple[str, str, str], Planned] = {}
    for c in (0, 1):
        async with kube_http(sandbox, user="admin", cluster=c) as admin:
            for ns in namespaces:
                await ensure_namespace(admin, ns)
        batch: list[dict[str, Any]] = []
        repos: dict[tuple[str, str], dict[str, Any]] = {}
        for ns in namespaces:
            db = o.database("Postgres", f"db-{uid}", ns)
            batch.append(db)
            for repo_name in (f"repo-{uid}", f"other-{uid}"):
                repo = o.repository(db, repo_name, storage=(ns, "s3"))
                repos[(ns, repo_name)] = repo
                batch.append(repo)
        for i in range(PER_CLUSTER):
            ns = namespaces[i % 3]
            repo_name = f"repo-{uid}" if i % 4 < 3 else f"other-{uid}"
            name = f"s-{uid}-{c}-{i}"
            batch.append(
                o.snapshot(
                    name,
                    repos[(ns, repo_name)],
                    session=f"run-{i}",
                    # Pairs share a time, and the clusters share times too: ties are
                    # broken by cluster, namespace and name.
                    taken=NOW - timedelta(minutes=i // 2),
                    phase=PHASES[(i + c) % len(PHASES)],
                    kind="IncrementalBackup" if i % 5 == 0 else "FullBackup",
                )
            )
            planned[(clusters[c], ns, name)] = Planned(
                clusters[c], ns, name, repo_name, f"db-{uid}"
            )
        await seed(sandbox, batch, cluster=c)

    async def seeded() -> bool:
        body = await gateway.query(
            "query($r: String) { snapshots(filter: {repository: $r}) { totalCount } }",
            {"r": f"other-{uid}"},
        )
        others = sum(1 for p in planned.values() if p.repository == f"other-{uid}")
        return bool(body["data"]["snapshots"]["totalCount"] == others)

    await eventually(seeded)
    yield Dataset(uid=uid, own_ns=own_ns, clusters=clusters, planned=planned)


async def everything(
    gateway: Gateway, user: str, *, filter: dict[str, Any] | None = None, order: str, first: int
) -> tuple[list[dict[str, Any]], int]:
    """All pages of one list, following ``endCursor``; and the totalCount of page one."""
    query = f"""query($f: SnapshotFilter, $first: Int, $after: String) {{
        snapshots(filter: $f, orderBy: {order}, first: $first, after: $after) {{
          totalCount edges {{ cursor node {{ {NODE} }} }}
          pageInfo {{ hasNextPage endCursor }} }} }}"""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    total = -1
    for _ in range(10_000):
        body = await gateway.query(query, {"f": filter, "first": first, "after": after}, user=user)
        conn = body["data"]["snapshots"]
        if total < 0:
            total = conn["totalCount"]
        edges = conn["edges"]
        assert len(edges) <= first
        nodes.extend(e["node"] for e in edges)
        if edges:
            assert conn["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes, total
        assert edges, "a page with a next page holds items"
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("the pages never ended")


def key(node: dict[str, Any]) -> tuple[str, str, str]:
    return (node["cluster"], node["namespace"], node["name"])


def filters(ds: Dataset) -> list[tuple[dict[str, Any], Any]]:
    """(filter, the same condition on a node of the unfiltered list)."""
    repo, other, db = f"repo-{ds.uid}", f"other-{ds.uid}", f"db-{ds.uid}"
    late = NOW - timedelta(minutes=5)

    def plan(n: dict[str, Any]) -> Planned | None:
        return ds.planned.get(key(n))

    def taken(n: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(n["snapshotTime"].replace("Z", "+00:00"))

    return [
        ({"phases": ["FAILED"]}, lambda n: n["phase"] == "FAILED"),
        (
            {"phases": ["FAILED", "RUNNING"], "namespaces": ["team-a", ds.own_ns]},
            lambda n: (
                n["phase"] in ("FAILED", "RUNNING") and n["namespace"] in ("team-a", ds.own_ns)
            ),
        ),
        ({"types": ["INCREMENTAL"]}, lambda n: n["type"] == "INCREMENTAL"),
        (
            {"clusters": [ds.clusters[1]], "phases": ["SUCCEEDED", "PENDING"]},
            lambda n: n["cluster"] == ds.clusters[1] and n["phase"] in ("SUCCEEDED", "PENDING"),
        ),
        ({"namespaces": [ds.own_ns, "team-b"]}, lambda n: n["namespace"] in (ds.own_ns, "team-b")),
        ({"repository": other}, lambda n: (p := plan(n)) is not None and p.repository == other),
        (
            {"repository": repo, "phases": ["FAILED", "PENDING"], "types": ["FULL"]},
            lambda n: (
                (p := plan(n)) is not None
                and p.repository == repo
                and n["phase"] in ("FAILED", "PENDING")
                and n["type"] == "FULL"
            ),
        ),
        (
            {"database": {"namespace": "team-a", "name": db, "kind": "Postgres"}},
            lambda n: (p := plan(n)) is not None and p.namespace == "team-a",
        ),
        (
            {
                "database": {"namespace": ds.own_ns, "name": db, "cluster": ds.clusters[0]},
                "phases": ["SUCCEEDED"],
            },
            lambda n: (
                (p := plan(n)) is not None
                and p.namespace == ds.own_ns
                and p.cluster == ds.clusters[0]
                and n["phase"] == "SUCCEEDED"
            ),
        ),
        (
            {"repository": repo, "takenAfter": late.isoformat()},
            lambda n: (p := plan(n)) is not None and p.repository == repo and taken(n) >= late,
        ),
        ({"phases": ["FAILED"], "namespaces": ["nowhere"]}, lambda n: False),
    ]


@pytest.mark.parametrize("user", VIEWERS)
async def test_filtered_counts_equal_the_matching_visible_snapshots(
    gateway: Gateway, dataset: Dataset, user: str
) -> None:
    visible, total = await everything(gateway, user, order="NEWEST_FIRST", first=500)
    assert total == len(visible)
    seen_ns = {n["namespace"] for n in visible if key(n) in dataset.planned}
    assert (
        seen_ns
        == {
            "admin": {"team-a", "team-b", dataset.own_ns},
            "alice": {"team-a"},
            "bob": {"team-b"},
        }[user]
    )
    for f, matches in filters(dataset):
        expected = sum(1 for n in visible if matches(n))
        body = await gateway.query(
            "query($f: SnapshotFilter) { snapshots(filter: $f) { totalCount } }",
            {"f": f},
            user=user,
        )
        assert body["data"]["snapshots"]["totalCount"] == expected, (user, f)


@pytest.mark.parametrize("user", VIEWERS)
async def test_filtered_pages_follow_the_global_order_with_cursors(
    gateway: Gateway, dataset: Dataset, user: str
) -> None:
    for order in ("NEWEST_FIRST", "OLDEST_FIRST"):
        visible, _ = await everything(gateway, user, order=order, first=500)
        ours = [
            (n["snapshotTime"], n["cluster"], n["namespace"], n["name"])
            for n in visible
            if key(n) in dataset.planned
        ]
        assert ours == sorted(ours, reverse=order == "NEWEST_FIRST")
        for f, matches in filters(dataset):
            expected = [key(n) for n in visible if matches(n)]
            for first in (1, 4):
                got, total = await everything(gateway, user, filter=f, order=order, first=first)
                assert [key(n) for n in got] == expected, (user, order, f, first)
                assert total == len(expected)


async def test_a_cursor_of_another_ordering_is_refused(gateway: Gateway, dataset: Dataset) -> None:
    body = await gateway.query(
        "{ snapshots(first: 1, filter: {phases: [FAILED]}) { pageInfo { endCursor } } }"
    )
    cursor = body["data"]["snapshots"]["pageInfo"]["endCursor"]
    refused = await gateway.query(
        "query($a: String) { snapshots(orderBy: OLDEST_FIRST, after: $a, "
        "filter: {phases: [FAILED]}) { totalCount } }",
        {"a": cursor},
        expect_errors=True,
    )
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert refused["errors"][0]["extensions"]["argument"] == "after"
