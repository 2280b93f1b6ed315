"""The CRDs the sandbox installs agree with apis/resources.py on every kind it names.

The gateway's informers and writes, the simulator and the benchmark name resources
through apis/resources.py; the sandbox's API servers serve what sandbox/crds declares.
If the two drifted apart (a plural, a scope, a missing status subresource), the product
would pass its own tests against a cluster unlike the real ones, so each fact is checked
here against the generated files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apis.resources import (
    DATABASE_KINDS,
    KUBESTASH_KINDS,
    DatabaseKind,
    ResourceType,
    archiver,
    catalog_version,
)

CRD_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "crds"


def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) -> CRD, from every file in sandbox/crds."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                spec = doc["spec"]
                found[(spec["group"], spec["names"]["kind"])] = doc
    return found


CRDS = _crds()

NAMED: list[ResourceType] = [
    *KUBESTASH_KINDS,
    *(db.resource for db in DATABASE_KINDS),
    *(archiver(db.kind) for db in DATABASE_KINDS if db.archiver),
    *(catalog_version(db.kind) for db in DATABASE_KINDS),
]


def _crd(resource: ResourceType) -> dict[str, Any]:
    crd = CRDS.get((resource.group, resource.kind))
    assert crd is not None, f"sandbox/crds has no CRD for {resource.kind} in {resource.group}"
    return crd


@pytest.mark.parametrize("resource", NAMED, ids=lambda r: f"{r.group}/{r.kind}")
def test_each_named_kind_is_installed_as_apis_resources_describes_it(
    resource: ResourceType,
) -> None:
    crd = _crd(resource)
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{resource.plural}.{resource.group}"
    assert spec["names"]["plural"] == resource.plural
    assert spec["scope"] == ("Namespaced" if resource.namespaced else "Cluster")
    served = {v["name"]: v for v in spec["versions"] if v.get("served")}
    assert resource.version in served, f"{resource.kind} {resource.version} is not served"
    storage = [v["name"] for v in spec["versions"] if v.get("storage")]
    assert storage == [resource.version], "the resource's version is the storage version"
    for name, version in served.items():
        has_status = "status" in (version.get("subresources") or {})
        assert has_status == resource.status_subresource, f"{resource.kind} {name}"


@pytest.mark.parametrize("db", DATABASE_KINDS, ids=lambda d: d.kind)
def test_database_kinds_serve_exactly_their_versions_storage_first(db: DatabaseKind) -> None:
    spec = _crd(db.resource)["spec"]
    assert tuple(v["name"] for v in spec["versions"] if v.get("served")) == db.versions
    assert spec["names"]["shortNames"][0] == db.short


def test_every_installed_crd_is_a_kind_apis_resources_names() -> None:
    named = {(r.group, r.kind) for r in NAMED}
    assert sorted(set(CRDS) - named) == []
