"""Slim records answer every field of the contract exactly as whole objects do.

The informers keep slim records (``apis/records.py``): the fields the gateway reads,
decoded straight from the list's JSON bytes. This test loads every example object of
``sandbox/examples`` twice through the informers' own list path, once into slim records
and once into whole objects, and runs the same queries against both: every field of
every contract type reachable from the root lists and from ``node(id:)``, three levels
deep (so joins such as a snapshot's repository and database are included). The answers
must be identical, and they must not be empty.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import graphql
import pytest
import strawberry
import yaml
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

import schema
from apis import resources
from apis.resources import ResourceType
from auth.access import Check, ViewerAccess
from core.health import ClusterInfo
from core.identity import Viewer
from core.ids import encode_id
from kube.client import KubeClient
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph
from watchers.cache import Cache
from watchers.clusters import ClusterHandle
from watchers.informer import Informer
from watchers.records import RecordCodec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sandbox" / "examples"
CLUSTER = "prod"
DEPTH = 3


def _examples() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        with path.open() as handle:
            docs.extend(d for d in yaml.safe_load_all(handle) if d)
    return docs


def _resource(group: str, version: str, kind: str) -> ResourceType:
    found: ResourceType | None = None
    if group == resources.KUBEDB:
        db = resources.database_kind(kind)
        found = db.resource if db else None
    elif group == resources.CATALOG:
        found = resources.catalog_version(kind.removesuffix("Version"))
    elif group == resources.ARCHIVER:
        found = resources.archiver(kind.removesuffix("Archiver"))
    else:
        found = resources.by_kind(group, kind)
    assert found is not None, f"no resource for {group}/{kind}"
    return ResourceType(
        group=found.group,
        version=version,
        plural=found.plural,
        kind=found.kind,
        namespaced=found.namespaced,
        status_subresource=found.status_subresource,
    )


class ExampleServer:
    """Answers the informers' LIST with the example objects, as JSON bytes."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        self.bodies = bodies

    async def fetch(self, path: str, *, decode: Any, **_: Any) -> Any:
        return decode(self.bodies[path])


def _list_body(kind: str, objects: Iterable[dict[str, Any]]) -> bytes:
    items = []
    for obj in objects:
        item = json.loads(json.dumps(obj))
        item.pop("apiVersion", None)  # as the API server lists them
        item.pop("kind", None)
        meta = item.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta.get('name')}")
        meta.setdefault("resourceVersion", "7")
        # What the API server adds and records drop: none of it may change an answer.
        meta["managedFields"] = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {}}]
        items.append(item)
    doc = {"kind": f"{kind}List", "metadata": {"resourceVersion": "9"}, "items": items}
    return json.dumps(doc).encode()


class Everyone:
    """The admin's answers to access reviews: every check allowed."""

    async def decide(self, viewer: Viewer, checks: Iterable[Check]) -> dict[Check, bool]:
        return dict.fromkeys(checks, True)


class Directory:
    def cluster_infos(self) -> list[ClusterInfo]:
        return [ClusterInfo(name=CLUSTER, server="https://prod", reachable=True)]


async def _cache(slim: bool) -> Cache:
    client = KubeClient(cluster=CLUSTER, server="https://127.0.0.1:9", ssl_context=False)
    handle = ClusterHandle(name=CLUSTER, server=client.server, client=client, watch_client=client)
    cache = Cache([handle], slim=slim)
    cluster = cache.clusters[CLUSTER]
    by_resource: dict[ResourceType, list[dict[str, Any]]] = {}
    for doc in _examples():
        group, _, version = str(doc["apiVersion"]).rpartition("/")
        by_resource.setdefault(_resource(group, version, str(doc["kind"])), []).append(doc)
    namespaces = [{"metadata": {"name": n, "labels": {"team": n}}} for n in ("demo", "verify")]
    bodies = {resources.NAMESPACES.path(): _list_body("Namespace", namespaces)}
    bodies |= {r.path(): _list_body(r.kind, objs) for r, objs in by_resource.items()}
    server: Any = ExampleServer(bodies)
    informers: list[Informer] = [cluster.crds, cluster.namespaces]
    for resource in by_resource:
        informer = cluster._make(resource)
        cluster.informers[(resource.group, resource.kind)] = informer
        informers.append(informer)
    informers += [i for i in cluster.informers.values() if i not in informers]
    for informer in informers:
        bodies.setdefault(informer._path(), _list_body(informer.resource.kind, []))
        informer._client = server
        await informer._list()
    return cache


async def _context(slim: bool) -> RequestContext:
    cache = await _cache(slim)
    viewer = Viewer(username="admin", groups=("system:masters",))
    reviewer: Any = Everyone()
    access = ViewerAccess(reviewer, viewer, cache)
    await access.prepare()
    return RequestContext(viewer=viewer, clusters=Directory(), graph=Graph(cache, access))


def _required(field: GraphQLField) -> bool:
    return any(
        is_non_null_type(a.type) and a.default_value is graphql.Undefined
        for a in field.args.values()
    )


def _selection(named: GraphQLNamedType, depth: int, path: frozenset[str]) -> str:
    if isinstance(named, GraphQLUnionType):
        return (
            "{ __typename "
            + " ".join(f"... on {t.name} {_selection(t, depth, path)}" for t in named.types)
            + " }"
        )
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    parts = ["__typename"]
    for name, field in named.fields.items():
        if _required(field):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif depth > 0 and inner.name not in path:
            parts.append(f"{name} {_selection(inner, depth - 1, path | {inner.name})}")
    return "{ " + " ".join(parts) + " }"


@functools.cache
def _schema() -> strawberry.Schema:
    return schema.build_schema()


def _type(name: str) -> GraphQLNamedType:
    found = _schema()._schema.get_type(name)
    assert found is not None
    return found


def _queries() -> dict[str, str]:
    def nodes(field: str, connection: str, args: str = "(first: 500)") -> str:
        connection_type = _type(connection)
        assert isinstance(connection_type, GraphQLObjectType)
        node_type = get_named_type(connection_type.fields["nodes"].type)
        assert node_type is not None
        sel = _selection(node_type, DEPTH, frozenset({node_type.name}))
        return f"{{ {field}{args} {{ totalCount nodes {sel} }} }}"

    queries = {
        "databases": nodes("databases", "DatabaseConnection"),
        "snapshots": nodes("snapshots", "SnapshotConnection"),
        "repositories": nodes("repositories", "RepositoryConnection"),
        "backupSessions": nodes("backupSessions", "BackupSessionConnection"),
        "restoreSessions": nodes("restoreSessions", "RestoreSessionConnection"),
    }
    for field, type_name in (
        ("retentionPolicies", "RetentionPolicy"),
        ("backupStorages", "BackupStorage"),
    ):
        sel = _selection(_type(type_name), DEPTH, frozenset({type_name}))
        queries[field] = f'{{ {field}(namespace: "demo") {sel} }}'
    policy = _selection(_type("BackupPolicy"), DEPTH, frozenset({"BackupPolicy"}))
    for kind in ("Postgres", "MySQL", "MongoDB", "MariaDB"):
        queries[f"backupPolicies {kind}"] = (
            f'{{ backupPolicies(namespace: "demo", databaseKind: "{kind}") {policy} }}'
        )
    return queries


def _node_ids() -> dict[str, str]:
    """The global ID of every example object."""
    ids: dict[str, str] = {}
    for doc in _examples():
        meta = doc["metadata"]
        ids[f"node {doc['kind']}/{meta['name']}"] = encode_id(
            cluster=CLUSTER,
            api_group=str(doc["apiVersion"]).rpartition("/")[0],
            kind=str(doc["kind"]),
            namespace=meta.get("namespace"),
            name=meta["name"],
        )
    return ids


async def _answers(slim: bool) -> dict[str, Any]:
    context = await _context(slim)
    built = _schema()
    out: dict[str, Any] = {}
    for name, query in _queries().items():
        result = await built.execute(query, context_value=context)
        assert result.errors is None, (name, result.errors)
        out[name] = result.data
    # Each example by its ID: first its type, then every field of that type.
    for name, node_id in _node_ids().items():
        found = await built.execute(
            f'{{ node(id: "{node_id}") {{ __typename }} }}', context_value=context
        )
        assert found.errors is None, (name, found.errors)
        assert found.data is not None
        if found.data["node"] is None:
            out[name] = None
            continue
        type_name = found.data["node"]["__typename"]
        sel = _selection(_type(type_name), DEPTH, frozenset({type_name}))
        result = await built.execute(
            f'{{ node(id: "{node_id}") {{ ... on {type_name} {sel} }} }}', context_value=context
        )
        assert result.errors is None, (name, result.errors)
        out[name] = result.data
    return out


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 0 if value is None else 1


@pytest.mark.asyncio
async def test_slim_records_answer_every_field_as_whole_objects_do() -> None:
    whole = await _answers(slim=False)
    slim = await _answers(slim=True)
    assert slim.keys() == whole.keys()
    for name in whole:
        assert slim[name] == whole[name], name
    # Not an empty comparison: every kind of example was found and answered.
    examples = _examples()
    snapshots = sum(1 for d in examples if d["kind"] == "Snapshot")
    assert whole["snapshots"]["snapshots"]["totalCount"] == snapshots > 0
    for doc in examples:
        answer = whole[f"node {doc['kind']}/{doc['metadata']['name']}"]
        if answer is not None:  # kinds that are not nodes of the graph answer null
            assert answer["node"]["name"] == doc["metadata"]["name"]
    assert sum(1 for k, v in whole.items() if k.startswith("node ") and v) >= 20
    assert _leaves(whole) > 2000


def test_records_keep_less_than_whole_objects() -> None:
    """A snapshot's record drops what no reader uses, and the strings that repeat are shared."""
    snapshot = next(d for d in _examples() if d["kind"] == "Snapshot")
    body = _list_body("Snapshot", [snapshot, snapshot])
    codec = RecordCodec(resources.SNAPSHOTS.group, "Snapshot", slim=True)
    _, (first, second) = codec.page(body)
    assert "managedFields" not in first["metadata"]
    assert "lastUpdateTime" not in first["status"] or "lastUpdateTime" not in snapshot["status"]
    assert first["metadata"]["namespace"] is second["metadata"]["namespace"]
    # One repository's snapshots share their labels and database reference.
    assert first["metadata"]["labels"] is second["metadata"]["labels"]
    assert first["spec"]["appRef"] is second["spec"]["appRef"]
    assert first["metadata"]["labels"] == snapshot["metadata"]["labels"]


def test_records_share_only_equal_maps() -> None:
    snapshot = next(d for d in _examples() if d["kind"] == "Snapshot")
    other = json.loads(json.dumps(snapshot))
    other["metadata"]["labels"]["kubestash.com/repo-name"] = "another-repo"
    codec = RecordCodec(resources.SNAPSHOTS.group, "Snapshot", slim=True)
    _, (first, second) = codec.page(_list_body("Snapshot", [snapshot, other]))
    assert first["metadata"]["labels"] is not second["metadata"]["labels"]
    assert second["metadata"]["labels"]["kubestash.com/repo-name"] == "another-repo"
    # Strings that repeat are one copy, even where the maps differ.
    for key, value in first["metadata"]["labels"].items():
        if key != "kubestash.com/repo-name":
            assert next(k for k in second["metadata"]["labels"] if k == key) is key
            assert second["metadata"]["labels"][key] is value
