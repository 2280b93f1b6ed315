"""applyManifests planned over an in-memory cache: the order of a bundle, what waits for
what, and what refuses the whole call."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import yaml

from resolvers.writes.manifests import (
    ManifestPlan,
    ManifestSettings,
    ObjectKey,
    check_bounds,
    plan_manifests,
)
from sandbox import objects as o
from tests.unit.test_backup_plans import MemoryStore, namespace

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "examples" / "ci-bundle"
CLUSTER = "c1"
Obj = dict[str, Any]


def crds() -> list[Obj]:
    out: list[Obj] = []
    for path in sorted((ROOT / "sandbox" / "crds").glob("*.yaml")):
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


def bundle() -> list[Obj]:
    docs: list[Obj] = []
    for path in sorted(BUNDLE.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def cluster(*, with_namespace: bool = False) -> MemoryStore:
    """A cluster with the sandbox CRDs, the Postgres catalog version and its addon."""
    store = MemoryStore()
    for crd in crds():
        store.put(crd, CLUSTER)
    store.put(
        {
            "apiVersion": "catalog.kubedb.com/v1alpha1",
            "kind": "PostgresVersion",
            "metadata": {"name": "16.4"},
            "spec": {"version": "16.4"},
        },
        CLUSTER,
    )
    store.put(o.addon("postgres-addon", ("logical-backup", "manifest-backup"), ()), CLUSTER)
    if with_namespace:
        store.put(namespace("ci-demo"), CLUSTER)
    return store


def plan(docs: list[Obj], store: MemoryStore, **kw: Any) -> ManifestPlan:
    return plan_manifests(docs, store=store, cluster=CLUSTER, **kw)


def order(mp: ManifestPlan) -> list[str]:
    return [f"{c.action} {c.kind} {c.name}" for c in mp.plan.changes]


def states(mp: ManifestPlan) -> dict[str, str]:
    return {r.object.name if r.object else str(r.index): r.state for r in mp.results}


def without(docs: list[Obj], kind: str) -> list[Obj]:
    return [d for d in docs if d["kind"] != kind]


def test_every_order_of_the_bundle_gives_the_same_plan() -> None:
    docs = without(bundle(), "Namespace")  # its namespace exists: everything is planned
    store = cluster(with_namespace=True)
    expected = plan(docs, store)
    assert order(expected) == [
        "CREATE Secret ci-demo-encryption",
        "CREATE Secret ci-demo-s3-credentials",
        "CREATE BackupStorage ci-demo-s3",
        "CREATE RetentionPolicy ci-demo-keep-7d",
        "CREATE Postgres app-db",
        "CREATE BackupConfiguration app-db-backup",
    ]
    assert set(states(expected).values()) == {"APPLIED"}
    bodies = [c.body for c in expected.plan.changes]
    for perm in itertools.permutations(docs):
        got = plan(list(perm), store)
        assert order(got) == order(expected)
        assert [c.body for c in got.plan.changes] == bodies
        # Results stay in the order given.
        assert [r.object.name for r in got.results if r.object] == [
            d["metadata"]["name"] for d in perm
        ]


def test_a_secret_comes_before_the_storage_that_names_it_whatever_their_names() -> None:
    docs = without(bundle(), "Namespace")
    for d in docs:
        if d["kind"] == "Secret" and d["metadata"]["name"] == "ci-demo-s3-credentials":
            d["metadata"]["name"] = "zz-credentials"
        if d["kind"] == "BackupStorage":
            d["metadata"]["name"] = "aa-storage"
            d["spec"]["storage"]["s3"]["secretName"] = "zz-credentials"
    names = [c.name for c in plan(docs, cluster(with_namespace=True)).plan.changes]
    assert names.index("zz-credentials") < names.index("aa-storage")


def test_existing_objects_are_applied_with_patch() -> None:
    store = cluster(with_namespace=True)
    store.put(o.retention_policy("ci-demo-keep-7d", "ci-demo"), CLUSTER)
    got = plan(without(bundle(), "Namespace"), store)
    assert "PATCH RetentionPolicy ci-demo-keep-7d" in order(got)
    assert "CREATE BackupStorage ci-demo-s3" in order(got)


def test_a_bundle_without_its_storage_waits_naming_it() -> None:
    docs = [d for d in without(bundle(), "Namespace") if d["kind"] != "BackupStorage"]
    got = plan(docs, cluster(with_namespace=True))
    bc = next(r for r in got.results if r.object and r.object.kind == "BackupConfiguration")
    assert bc.state == "WAITING"
    assert bc.waiting_for == ObjectKey(
        CLUSTER, "storage.kubestash.com", "BackupStorage", "ci-demo", "ci-demo-s3"
    )
    assert bc.reason
    assert "BackupStorage ci-demo/ci-demo-s3" in bc.reason
    # Stored anyway: KubeStash completes it once the storage appears.
    assert "CREATE BackupConfiguration app-db-backup" in order(got)
    assert [w.code for w in got.plan.warnings] == ["WAITING_FOR_DEPENDENCY"]
    assert not got.plan.errors
    assert states(got)["app-db"] == "APPLIED"


def test_a_storage_that_exists_in_the_cluster_satisfies_the_configuration() -> None:
    store = cluster(with_namespace=True)
    store.put(o.backup_storage("ci-demo-s3", "ci-demo"), CLUSTER)
    docs = [d for d in without(bundle(), "Namespace") if d["kind"] != "BackupStorage"]
    assert set(states(plan(docs, store)).values()) == {"APPLIED"}


def test_documents_in_a_namespace_that_is_missing_are_not_stored() -> None:
    got = plan(without(bundle(), "Namespace"), cluster())
    assert got.plan.changes == []
    for r in got.results:
        assert r.state == "WAITING"
        assert r.waiting_for == ObjectKey(CLUSTER, "", "Namespace", None, "ci-demo")


def test_a_namespace_the_bundle_creates_comes_first_and_alone() -> None:
    got = plan(bundle(), cluster())
    assert order(got) == ["CREATE Namespace ci-demo"]
    assert got.deferred
    # The next round, with the namespace stored, plans the rest.
    store = cluster(with_namespace=True)
    again = plan(bundle(), store)
    assert not again.deferred
    assert order(again)[0] == "PATCH Namespace ci-demo"
    assert len(again.plan.changes) == 7
    # A dry run checks what it can at once.
    dry = plan(bundle(), cluster(), namespaces_first=False)
    assert order(dry) == ["CREATE Namespace ci-demo"]
    assert states(dry)["app-db"] == "WAITING"


def test_a_kind_the_cluster_does_not_serve_waits_for_its_definition() -> None:
    store = MemoryStore()  # no CRDs
    store.put(namespace("ci-demo"), CLUSTER)
    got = plan(without(bundle(), "Namespace"), store)
    pg = next(r for r in got.results if r.object and r.object.kind == "Postgres")
    assert pg.state == "WAITING"
    assert pg.waiting_for is not None
    assert pg.waiting_for.name == "postgreses.kubedb.com"
    assert [c.kind for c in got.plan.changes] == ["Secret", "Secret"]


def test_another_kind_or_a_document_without_a_name_fails_and_nothing_is_planned() -> None:
    docs: list[Any] = bundle()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    nameless = {"apiVersion": "kubedb.com/v1", "kind": "Postgres", "metadata": {}}
    docs[2:2] = [deployment]
    docs.append(nameless)
    docs.append("not an object")
    got = plan(docs, cluster(with_namespace=True))
    assert got.plan.changes == []
    failed = {r.index: r for r in got.results if r.state == "FAILED"}
    assert set(failed) == {2, len(docs) - 2, len(docs) - 1}
    assert failed[2].reason
    assert "Deployment" in failed[2].reason
    assert "metadata.name" in (failed[len(docs) - 2].reason or "")
    assert [(e.code, e.field) for e in got.plan.errors] == [
        ("INVALID_INPUT", ("documents", str(i))) for i in sorted(failed)
    ]


def test_an_object_given_twice_fails_both() -> None:
    docs = without(bundle(), "Namespace")
    twin = copy.deepcopy(docs[-1])
    got = plan([*docs, twin], cluster(with_namespace=True))
    assert got.plan.changes == []
    assert [r.index for r in got.results if r.state == "FAILED"] == [len(docs) - 1, len(docs)]


def test_status_and_server_metadata_are_dropped() -> None:
    db = o.database("Postgres", "app-db", "ci-demo")
    db["metadata"].update(
        uid="u1",
        resourceVersion="9",
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"},
    )
    got = plan([db], cluster(with_namespace=True))
    body = got.plan.changes[0].body
    assert body is not None
    assert "status" not in body
    assert body["metadata"] == {
        "name": "app-db",
        "namespace": "ci-demo",
        "annotations": {"team": "a"},
    }


def test_a_namespaced_document_without_namespace_fails() -> None:
    rp = o.retention_policy("keep", "x")
    del rp["metadata"]["namespace"]
    got = plan([rp], cluster(with_namespace=True))
    assert got.results[0].state == "FAILED"
    assert "metadata.namespace" in (got.results[0].reason or "")


def test_bounds_refuse_with_invalid_input() -> None:
    s = ManifestSettings(max_documents=3, max_bytes=400, max_wait_seconds=60)
    small = [namespace("a")]
    assert not check_bounds(small, wait_seconds=60, settings=s).refused
    too_many = check_bounds([namespace(str(i)) for i in range(4)], wait_seconds=0, settings=s)
    assert [(e.code, e.field) for e in too_many.errors] == [("INVALID_INPUT", ("documents",))]
    big = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "x": "y" * 500}]
    too_big = check_bounds(big, wait_seconds=0, settings=s)
    assert too_big.errors
    assert "bytes" in too_big.errors[0].message
    too_long = check_bounds(small, wait_seconds=61, settings=s)
    assert [(e.code, e.field) for e in too_long.errors] == [("INVALID_INPUT", ("waitSeconds",))]
    assert check_bounds([], wait_seconds=0, settings=s).refused
    defaults = ManifestSettings()
    assert (defaults.max_documents, defaults.max_bytes, defaults.max_wait_seconds) == (
        200,
        2 * 1024 * 1024,
        300,
    )
