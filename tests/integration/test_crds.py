"""The project's CRDs keep every field a real KubeDB/KubeStash installation writes.

The API server prunes fields a structural schema does not declare, so an example object
that reads back unchanged proves the schema declares everything the example uses. The
examples (``sandbox/examples``) are realistic objects with status, as the operators write
them; they also seed the demo.

The first group of tests needs no cluster: the generated YAML is up to date, every schema
is structural, names and scopes match the reference, and every example is valid against
its schema (a small offline validator, so mistakes show up without a control plane). The
second group runs against the real kube-apiserver of the sandbox.
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from sandbox import crdgen
from sandbox.controlplane import Sandbox

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "sandbox" / "crds"
EXAMPLE_DIR = ROOT / "sandbox" / "examples"
GROUP_FILES = (
    "storage.kubestash.com",
    "core.kubestash.com",
    "addons.kubestash.com",
    "kubedb.com",
    "archiver.kubedb.com",
    "catalog.kubedb.com",
)


# --------------------------------------------------------------------------------------
# What the reference says (kubestash-kubedb-api.md §1.0, §3.2, §3.4, §4.1)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    group: str
    kind: str
    plural: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    status_subresource: bool = True
    versions: tuple[str, ...] = ("v1alpha1",)


def _db(kind: str, plural: str, short: str) -> Expected:
    return Expected("kubedb.com", kind, plural, (short,), versions=("v1", "v1alpha2"))


def _catalog(kind: str, short: str) -> Expected:
    return Expected(
        "catalog.kubedb.com",
        kind,
        kind.lower() + "s",
        (short,),
        namespaced=False,
        status_subresource=False,
    )


EXPECTED = [
    Expected("storage.kubestash.com", "BackupStorage", "backupstorages"),
    Expected("storage.kubestash.com", "Repository", "repositories", ("repo",)),
    Expected("storage.kubestash.com", "Snapshot", "snapshots"),
    Expected(
        "storage.kubestash.com",
        "RetentionPolicy",
        "retentionpolicies",
        status_subresource=False,
    ),
    Expected("core.kubestash.com", "BackupConfiguration", "backupconfigurations", ("bc",)),
    Expected("core.kubestash.com", "BackupSession", "backupsessions"),
    Expected("core.kubestash.com", "BackupBlueprint", "backupblueprints", status_subresource=False),
    Expected("core.kubestash.com", "RestoreSession", "restoresessions", ("restore",)),
    Expected("core.kubestash.com", "HookTemplate", "hooktemplates", status_subresource=False),
    Expected("core.kubestash.com", "BackupBatch", "backupbatches"),
    # The plural quirk: upstream serves these two under their singular names.
    Expected("core.kubestash.com", "BackupVerifier", "backupverifier", status_subresource=False),
    Expected("core.kubestash.com", "BackupVerificationSession", "backupverificationsession"),
    Expected(
        "addons.kubestash.com",
        "Addon",
        "addons",
        namespaced=False,
        status_subresource=False,
    ),
    Expected(
        "addons.kubestash.com",
        "Function",
        "functions",
        ("fn",),
        namespaced=False,
        status_subresource=False,
    ),
    _db("Postgres", "postgreses", "pg"),
    _db("MySQL", "mysqls", "my"),
    _db("MariaDB", "mariadbs", "md"),
    _db("MongoDB", "mongodbs", "mg"),
    _db("Redis", "redises", "rd"),
    _db("Elasticsearch", "elasticsearches", "es"),
    Expected("archiver.kubedb.com", "PostgresArchiver", "postgresarchivers", ("pgarchiver",)),
    Expected("archiver.kubedb.com", "MySQLArchiver", "mysqlarchivers", ("myarchiver",)),
    Expected("archiver.kubedb.com", "MariaDBArchiver", "mariadbarchivers", ("mdarchiver",)),
    Expected("archiver.kubedb.com", "MongoDBArchiver", "mongodbarchivers", ("mgarchiver",)),
    _catalog("PostgresVersion", "pgversion"),
    _catalog("MySQLVersion", "myversion"),
    _catalog("MariaDBVersion", "mdversion"),
    _catalog("MongoDBVersion", "mgversion"),
    _catalog("RedisVersion", "rdversion"),
    _catalog("ElasticsearchVersion", "esversion"),
]
EXPECTED_BY_KIND = {(item.group, item.kind): item for item in EXPECTED}

CATEGORIES = {
    "storage.kubestash.com": "kubestash",
    "core.kubestash.com": "kubestash",
    "addons.kubestash.com": "kubestash",
    "kubedb.com": "datastore",
    "archiver.kubedb.com": "kubedb",
    "catalog.kubedb.com": "kubedb",
}


# --------------------------------------------------------------------------------------
# Loading CRDs and examples
# --------------------------------------------------------------------------------------


def _load_all(path: Path) -> list[Json]:
    with path.open() as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


@dataclass(frozen=True)
class CrdInfo:
    group: str
    kind: str
    plural: str
    namespaced: bool
    status_subresource: bool
    schemas: Mapping[str, Json]
    definition: Json


def _crd_infos() -> dict[tuple[str, str], CrdInfo]:
    infos: dict[tuple[str, str], CrdInfo] = {}
    for group in GROUP_FILES:
        for crd in _load_all(CRD_DIR / f"{group}.yaml"):
            spec = crd["spec"]
            versions = spec["versions"]
            infos[(spec["group"], spec["names"]["kind"])] = CrdInfo(
                group=spec["group"],
                kind=spec["names"]["kind"],
                plural=spec["names"]["plural"],
                namespaced=spec["scope"] == "Namespaced",
                status_subresource=all(
                    "status" in version.get("subresources", {}) for version in versions
                ),
                schemas={v["name"]: v["schema"]["openAPIV3Schema"] for v in versions},
                definition=crd,
            )
    return infos


CRDS = _crd_infos()


@dataclass(frozen=True)
class Example:
    file: str
    body: Json

    @property
    def group(self) -> str:
        return str(self.body["apiVersion"]).rpartition("/")[0]

    @property
    def version(self) -> str:
        return str(self.body["apiVersion"]).rpartition("/")[2]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def crd(self) -> CrdInfo:
        return CRDS[(self.group, self.kind)]

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}@{self.version}"


def _examples() -> list[Example]:
    return [
        Example(str(path.relative_to(EXAMPLE_DIR)), document)
        for path in sorted(EXAMPLE_DIR.rglob("*.yaml"))
        for document in _load_all(path)
    ]


EXAMPLES = _examples()


def _example(kind: str, name: str) -> Example:
    for example in EXAMPLES:
        if example.kind == kind and example.name == name:
            return example
    raise LookupError(f"no example {kind}/{name}")


# --------------------------------------------------------------------------------------
# Offline checks: structural schemas and a small validator that mirrors pruning,
# defaulting and the validations the schemas use
# --------------------------------------------------------------------------------------


def _walk_structural(schema: Json, path: str) -> Iterator[str]:
    if schema.get("x-kubernetes-int-or-string"):
        if "type" in schema:
            yield f"{path}: int-or-string must not have a type"
        return
    kind = schema.get("type")
    if not kind:
        yield f"{path}: no type"
        return
    if schema.get("x-kubernetes-preserve-unknown-fields") and kind != "object":
        yield f"{path}: preserve-unknown-fields on a {kind}"
    for forbidden in ("$ref", "allOf", "anyOf", "oneOf", "not", "nullable"):
        if forbidden in schema:
            yield f"{path}: uses {forbidden}"
    if "enum" in schema and "default" in schema and schema["default"] not in schema["enum"]:
        yield f"{path}: default {schema['default']!r} not in enum"
    properties = schema.get("properties", {})
    additional = schema.get("additionalProperties")
    if kind == "object":
        if properties and additional is not None:
            yield f"{path}: both properties and additionalProperties"
        for name, child in properties.items():
            yield from _walk_structural(child, f"{path}.{name}")
        if isinstance(additional, dict):
            yield from _walk_structural(additional, f"{path}.*")
        for name in schema.get("required", []):
            if name not in properties:
                yield f"{path}: required {name} is not a property"
    elif kind == "array":
        if "items" not in schema:
            yield f"{path}: array without items"
        else:
            yield from _walk_structural(schema["items"], f"{path}[]")
    elif properties or "items" in schema or additional is not None:
        yield f"{path}: a {kind} with object or array keywords"


def _valid_date_time(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _validate(schema: Json, value: Any, path: str) -> Iterator[str]:
    """Problems the API server would report, or fields it would prune or default."""
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            yield f"{path}: {value!r} is neither an integer nor a string"
        return
    kind = schema["type"]
    if kind == "object":
        if not isinstance(value, dict):
            yield f"{path}: {value!r} is not an object"
            return
        properties: Json = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if key in properties:
                yield from _validate(properties[key], child, f"{path}.{key}")
            elif isinstance(additional, dict):
                yield from _validate(additional, child, f"{path}.{key}")
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                yield f"{path}.{key}: not declared, the API server would prune it"
        for key in schema.get("required", []):
            if key not in value:
                yield f"{path}.{key}: required"
        for key, child in properties.items():
            if "default" in child and key not in value:
                yield f"{path}.{key}: missing, the API server would default it"
    elif kind == "array":
        if not isinstance(value, list):
            yield f"{path}: {value!r} is not an array"
            return
        for index, item in enumerate(value):
            yield from _validate(schema["items"], item, f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            yield f"{path}: {value!r} is not a string"
            return
        if "enum" in schema and value not in schema["enum"]:
            yield f"{path}: {value!r} not in {schema['enum']}"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield f"{path}: {value!r} does not match {schema['pattern']}"
        if schema.get("format") == "date-time" and not _valid_date_time(value):
            yield f"{path}: {value!r} is not an RFC 3339 date-time"
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{path}: {value!r} is not an integer"
        elif "minimum" in schema and value < schema["minimum"]:
            yield f"{path}: {value!r} is below {schema['minimum']}"
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield f"{path}: {value!r} is not a boolean"
    else:
        yield f"{path}: unexpected schema type {kind}"


def _validate_object(example: Example) -> list[str]:
    schema = example.crd.schemas[example.version]
    body = {key: value for key, value in example.body.items() if key != "metadata"}
    return list(_validate(schema, body, example.kind))


def test_generated_crds_are_up_to_date() -> None:
    rendered = crdgen.render_all()
    assert sorted(path.name for path in rendered) == sorted(f"{g}.yaml" for g in GROUP_FILES)
    stale = [path.name for path, text in rendered.items() if path.read_text() != text]
    assert not stale, f"run `uv run python -m sandbox.crdgen`: {stale} are out of date"


def test_every_crd_file_says_where_it_comes_from() -> None:
    for group in GROUP_FILES:
        head = (CRD_DIR / f"{group}.yaml").read_text().splitlines()[:6]
        assert head[0].startswith("#"), group
        assert "Written by the StashQL project from public API facts" in " ".join(head)


def test_every_schema_is_structural() -> None:
    problems = [
        problem
        for info in CRDS.values()
        for version, schema in info.schemas.items()
        for problem in _walk_structural(schema, f"{info.kind}@{version}")
    ]
    assert not problems, "\n".join(problems)


def test_names_scope_and_subresources_match_the_reference() -> None:
    assert set(EXPECTED_BY_KIND) <= set(CRDS)
    for key, expected in EXPECTED_BY_KIND.items():
        info = CRDS[key]
        names = info.definition["spec"]["names"]
        assert info.plural == expected.plural, key
        assert info.definition["metadata"]["name"] == f"{expected.plural}.{expected.group}"
        assert tuple(names.get("shortNames", ())) == expected.short_names, key
        assert names["listKind"] == f"{expected.kind}List", key
        assert CATEGORIES[expected.group] in names["categories"], key
        assert info.namespaced == expected.namespaced, key
        assert info.status_subresource == expected.status_subresource, key
        versions = info.definition["spec"]["versions"]
        assert tuple(v["name"] for v in versions) == expected.versions, key
        assert [v["name"] for v in versions if v["storage"]] == [expected.versions[0]], key
        for version in versions:
            has_status = "status" in version["schema"]["openAPIV3Schema"]["properties"]
            # Kinds without a status subresource have no status upstream either.
            assert has_status == expected.status_subresource, key


def test_every_required_kind_has_an_example() -> None:
    covered = {(example.group, example.kind) for example in EXAMPLES}
    missing = sorted(kind for group, kind in set(EXPECTED_BY_KIND) - covered)
    assert not missing


def test_examples_declare_every_field_they_use() -> None:
    problems: list[str] = []
    for example in EXAMPLES:
        # Timestamps must be quoted in YAML, or they would not be JSON strings.
        json.dumps(example.body)
        if example.crd.status_subresource:
            assert "status" in example.body, f"{example.id} should show its status"
        problems += [f"{example.file}: {problem}" for problem in _validate_object(example)]
    assert not problems, "\n".join(problems)


def test_printer_columns_include_the_reference_ones() -> None:
    def columns(kind: str, group: str) -> list[tuple[str, str]]:
        version = CRDS[(group, kind)].definition["spec"]["versions"][0]
        return [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]

    assert columns("Repository", "storage.kubestash.com")[:5] == [
        ("Integrity", ".status.integrity"),
        ("Snapshot-Count", ".status.snapshotCount"),
        ("Size", ".status.size"),
        ("Phase", ".status.phase"),
        ("Last-Successful-Backup", ".status.lastBackupTime"),
    ]
    assert columns("Postgres", "kubedb.com") == [
        ("Version", ".spec.version"),
        ("Status", ".status.phase"),
        ("Age", ".metadata.creationTimestamp"),
    ]


# --------------------------------------------------------------------------------------
# Against the real kube-apiserver
# --------------------------------------------------------------------------------------


def _client(sandbox: Sandbox, server: str) -> httpx.AsyncClient:
    # httpx deprecates verify=<path>; an SSLContext is the supported form.
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    return httpx.AsyncClient(
        base_url=server,
        verify=context,
        headers={"Authorization": f"Bearer {sandbox.tokens['admin']}"},
        timeout=30,
    )


@pytest_asyncio.fixture(scope="session")
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Cluster-admin client for the first sandbox cluster."""
    async with _client(sandbox, sandbox.clusters[0].server) as client:
        yield client


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


async def _namespace(api: httpx.AsyncClient) -> str:
    # A fresh namespace per object; namespaces are never deleted (no namespace controller).
    name = f"crds-{_suffix()}"
    response = await api.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert response.status_code == 201, response.text
    return name


def _collection(crd: CrdInfo, version: str, namespace: str | None) -> str:
    prefix = f"/apis/{crd.group}/{version}"
    if crd.namespaced:
        assert namespace
        prefix += f"/namespaces/{namespace}"
    return f"{prefix}/{crd.plural}"


async def _place(api: httpx.AsyncClient, example: Example) -> tuple[Json, str]:
    """A copy of the example in a fresh namespace (or with a fresh cluster-wide name)."""
    body = copy.deepcopy(example.body)
    if example.crd.namespaced:
        body["metadata"]["namespace"] = await _namespace(api)
    else:
        body["metadata"]["name"] = f"{example.name}-{_suffix()}"
    url = _collection(example.crd, example.version, body["metadata"].get("namespace"))
    return body, f"{url}/{body['metadata']['name']}"


async def _create(api: httpx.AsyncClient, example: Example, body: Json) -> Json:
    url = _collection(example.crd, example.version, body["metadata"].get("namespace"))
    response = await api.post(url, json=body)
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def _put_status(api: httpx.AsyncClient, url: str, created: Json, status: Json) -> Json:
    response = await api.put(f"{url}/status", json={**created, "status": status})
    assert response.status_code == 200, response.text
    updated: Json = response.json()
    return updated


SERVER_SET = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")


def _comparable(obj: Json) -> Json:
    result = copy.deepcopy(obj)
    for key in SERVER_SET:
        result["metadata"].pop(key, None)
    return result


def _differences(sent: Any, got: Any, path: str) -> Iterator[str]:
    """Where the object read back differs from what was sent (pruned, defaulted, changed)."""
    if isinstance(sent, dict) and isinstance(got, dict):
        for key in sent.keys() - got.keys():
            yield f"{path}.{key}: sent but not read back (pruned?)"
        for key in got.keys() - sent.keys():
            yield f"{path}.{key}: read back but not sent (defaulted?): {got[key]!r}"
        for key in sent.keys() & got.keys():
            yield from _differences(sent[key], got[key], f"{path}.{key}")
    elif isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        for index, (left, right) in enumerate(zip(sent, got, strict=True)):
            yield from _differences(left, right, f"{path}[{index}]")
    elif sent != got or type(sent) is not type(got):
        yield f"{path}: sent {sent!r}, read back {got!r}"


def _invalid(response: httpx.Response, *fields: str) -> str:
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    causes = {cause.get("field") for cause in status["details"]["causes"]}
    for name in fields:
        assert name in causes, (name, causes)
        assert name in status["message"]
    message: str = status["message"]
    return message


@pytest.mark.sandbox
@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
async def test_example_reads_back_unchanged(api: httpx.AsyncClient, example: Example) -> None:
    body, url = await _place(api, example)
    created = await _create(api, example, body)
    if example.crd.status_subresource:
        # With the status subresource the API server ignores status on create...
        assert "status" not in created
        # ...and takes it only through /status, as the operators write it.
        await _put_status(api, url, created, body["status"])
    response = await api.get(url)
    assert response.status_code == 200, response.text
    differences = list(_differences(body, _comparable(response.json()), example.kind))
    assert not differences, "\n".join(differences)


@pytest.mark.sandbox
async def test_snapshot_type_outside_the_enum_is_rejected(api: httpx.AsyncClient) -> None:
    example = _example("Snapshot", "sample-postgres-incremental-snapshot")
    body, _ = await _place(api, example)
    body["spec"]["type"] = "Weekly"
    url = _collection(example.crd, example.version, body["metadata"]["namespace"])
    message = _invalid(await api.post(url, json=body), "spec.type")
    assert 'Unsupported value: "Weekly"' in message
    assert '"FullBackup", "IncrementalBackup"' in message


@pytest.mark.sandbox
async def test_usage_policy_outside_the_enum_is_rejected(api: httpx.AsyncClient) -> None:
    example = _example("BackupStorage", "s3-storage")
    body, _ = await _place(api, example)
    body["spec"]["usagePolicy"]["allowedNamespaces"]["from"] = "Everyone"
    url = _collection(example.crd, example.version, body["metadata"]["namespace"])
    message = _invalid(await api.post(url, json=body), "spec.usagePolicy.allowedNamespaces.from")
    assert '"All", "Selector", "Same"' in message


@pytest.mark.sandbox
async def test_database_phase_outside_the_enum_is_rejected_on_status(
    api: httpx.AsyncClient,
) -> None:
    example = _example("Postgres", "sample-postgres")
    body, url = await _place(api, example)
    created = await _create(api, example, body)
    response = await api.put(
        f"{url}/status", json={**created, "status": {**body["status"], "phase": "Sleeping"}}
    )
    message = _invalid(response, "status.phase")
    assert 'Unsupported value: "Sleeping"' in message
    assert "DataRestoring" in message


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("kind", "name", "change", "field"),
    [
        (
            "PostgresArchiver",
            "postgresarchiver-sample",
            {"logBackup": {"retentionPeriod": "forever"}},
            "spec.logBackup.retentionPeriod",
        ),
        ("Postgres", "sample-postgres", {"version": None}, "spec.version"),
        (
            "RestoreSession",
            "sample-mysql-restore",
            {"dataSource": {"pitr": {"targetTime": "yesterday noon"}}},
            "spec.dataSource.pitr.targetTime",
        ),
        (
            "Repository",
            "sample-postgres-repo",
            {"deletionPolicy": "Retain"},
            "spec.deletionPolicy",
        ),
        (
            "BackupConfiguration",
            "sample-postgres-backup",
            {"sessions": [{"name": "s", "scheduler": {"concurrencyPolicy": "Sometimes"}}]},
            "spec.sessions[0].scheduler.concurrencyPolicy",
        ),
    ],
    ids=[
        "retention-period-pattern",
        "db-version-required",
        "pitr-date-time",
        "repo-policy",
        "cron-policy",
    ],
)
async def test_other_invalid_specs_are_rejected(
    api: httpx.AsyncClient, kind: str, name: str, change: Json, field: str
) -> None:
    example = _example(kind, name)
    body, _ = await _place(api, example)
    _merge(body["spec"], change)
    url = _collection(example.crd, example.version, body["metadata"].get("namespace"))
    _invalid(await api.post(url, json=body), field)


def _merge(target: Json, change: Mapping[str, Any]) -> None:
    for key, value in change.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


@pytest.mark.sandbox
async def test_condition_status_outside_the_enum_is_rejected(api: httpx.AsyncClient) -> None:
    example = _example("BackupSession", "sample-postgres-backup-frequent-backup-1733121300")
    body, url = await _place(api, example)
    created = await _create(api, example, body)
    status = copy.deepcopy(body["status"])
    status["conditions"][0]["status"] = "Maybe"
    response = await api.put(f"{url}/status", json={**created, "status": status})
    _invalid(response, "status.conditions[0].status")


@pytest.mark.sandbox
async def test_defaults_from_the_reference_are_applied(api: httpx.AsyncClient) -> None:
    namespace = await _namespace(api)
    base = f"/apis/storage.kubestash.com/v1alpha1/namespaces/{namespace}"
    storage = {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "BackupStorage",
        "metadata": {"name": "minimal"},
        "spec": {
            "storage": {"provider": "s3", "s3": {"bucket": "b", "secretName": "s"}},
            "usagePolicy": {"allowedNamespaces": {}},
        },
    }
    response = await api.post(f"{base}/backupstorages", json=storage)
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert spec["deletionPolicy"] == "Delete"
    assert spec["usagePolicy"]["allowedNamespaces"]["from"] == "Same"

    policy = {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "minimal"},
        "spec": {"maxRetentionPeriod": "30d", "failedSnapshots": {}},
    }
    response = await api.post(f"{base}/retentionpolicies", json=policy)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["failedSnapshots"] == {"last": 1}

    config = {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupConfiguration",
        "metadata": {"name": "minimal"},
        "spec": {
            "sessions": [
                {"name": "daily", "retryConfig": {}, "hooks": {"preBackup": [{"name": "h"}]}}
            ]
        },
    }
    response = await api.post(
        f"/apis/core.kubestash.com/v1alpha1/namespaces/{namespace}/backupconfigurations",
        json=config,
    )
    assert response.status_code == 201, response.text
    session = response.json()["spec"]["sessions"][0]
    assert session["sessionHistoryLimit"] == 1
    assert session["retryConfig"] == {"maxRetry": 1}
    assert session["hooks"]["preBackup"][0]["executionPolicy"] == "Always"

    archiver = {
        "apiVersion": "archiver.kubedb.com/v1alpha1",
        "kind": "PostgresArchiver",
        "metadata": {"name": "minimal"},
        "spec": {"databases": {"namespaces": {}}, "fullBackup": {}, "logBackup": {}},
    }
    response = await api.post(
        f"/apis/archiver.kubedb.com/v1alpha1/namespaces/{namespace}/postgresarchivers",
        json=archiver,
    )
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert spec["databases"]["namespaces"] == {"from": "Same"}
    assert spec["fullBackup"] == {"driver": "VolumeSnapshotter"}
    assert spec["logBackup"] == {
        "retentionPeriod": "1y",
        "retentionSchedule": "0 0 1 * *",
        "successfulLogHistoryLimit": 5,
        "failedLogHistoryLimit": 5,
        "logRetentionHistoryLimit": 5,
    }


@pytest.mark.sandbox
async def test_undeclared_fields_are_pruned_and_free_form_ones_kept(
    api: httpx.AsyncClient,
) -> None:
    example = _example("Snapshot", "sample-postgres-incremental-snapshot")
    body, url = await _place(api, example)
    body["spec"]["walSegments"] = [{"start": "2024-12-01T00:00:00Z"}]
    created = await _create(api, example, body)
    assert "walSegments" not in created["spec"]
    status = copy.deepcopy(body["status"])
    status["components"]["wal"]["walSegments"] = [{"start": "2024-12-01T00:00:00Z"}]
    status["components"]["wal"]["logStats"]["bogus"] = 1
    updated = await _put_status(api, url, created, status)
    wal = updated["status"]["components"]["wal"]
    assert "walSegments" not in wal
    assert "bogus" not in wal["logStats"]
    assert wal["logStats"]["lsn"] == "0/7000060"

    example = _example("BackupConfiguration", "sample-postgres-backup")
    body, _ = await _place(api, example)
    task = body["spec"]["sessions"][0]["addon"]["tasks"][1]
    task["params"]["anything"] = {"nested": ["kept", 1]}
    created = await _create(api, example, body)
    assert created["spec"]["sessions"][0]["addon"]["tasks"][1]["params"]["anything"] == {
        "nested": ["kept", 1]
    }


@pytest.mark.sandbox
async def test_databases_are_served_at_v1alpha2_too(api: httpx.AsyncClient) -> None:
    example = _example("Postgres", "sample-postgres")
    body, url = await _place(api, example)
    await _create(api, example, body)
    response = await api.get(url.replace("/kubedb.com/v1/", "/kubedb.com/v1alpha2/"))
    assert response.status_code == 200, response.text
    assert response.json()["apiVersion"] == "kubedb.com/v1alpha2"
    assert response.json()["spec"] == body["spec"]


@pytest.mark.sandbox
async def test_printer_columns_show_repository_health(api: httpx.AsyncClient) -> None:
    example = _example("Repository", "sample-postgres-repo")
    body, url = await _place(api, example)
    created = await _create(api, example, body)
    await _put_status(api, url, created, body["status"])
    response = await api.get(
        url.rpartition("/")[0],
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert response.status_code == 200, response.text
    table = response.json()
    names = [column["name"] for column in table["columnDefinitions"]]
    assert names == [
        "Name",
        "Integrity",
        "Snapshot-Count",
        "Size",
        "Phase",
        "Last-Successful-Backup",
        "Age",
    ]
    [row] = table["rows"]
    assert row["cells"][:5] == ["sample-postgres-repo", True, 3, "12.310 MiB", "Ready"]


@pytest.mark.sandbox
async def test_discovery_shows_scope_short_names_and_subresources(
    sandbox: Sandbox,
) -> None:
    for cluster in sandbox.clusters:
        async with _client(sandbox, cluster.server) as client:
            by_group_version: dict[str, list[Json]] = {}
            for expected in EXPECTED:
                for version in expected.versions:
                    key = f"{expected.group}/{version}"
                    if key not in by_group_version:
                        response = await client.get(f"/apis/{key}")
                        assert response.status_code == 200, (cluster.name, response.text)
                        by_group_version[key] = response.json()["resources"]
                    resources = {r["name"]: r for r in by_group_version[key]}
                    resource = resources[expected.plural]
                    where = (cluster.name, key, expected.kind)
                    assert resource["kind"] == expected.kind, where
                    assert resource["namespaced"] is expected.namespaced, where
                    assert tuple(resource.get("shortNames", ())) == expected.short_names, where
                    assert CATEGORIES[expected.group] in resource["categories"], where
                    has_status = f"{expected.plural}/status" in resources
                    assert has_status is expected.status_subresource, where
