"""The write contract's types: they print as the pending contract states them, inputs
reach the planners as plain dataclasses, plans reach the caller with Secret values
redacted, and the new read types answer from raw objects.

Everything runs through real GraphQL execution on a throwaway schema, since the Mutation
root and the new Query fields are wired elsewhere.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import graphql
import pytest
import strawberry

from apis.resources import BACKUP_STORAGES, ResourceType
from resolvers.reads.graph import Item
from resolvers.writes import plan as plans
from schema import archivers, choices, contents
from schema import hooks as hook_reads
from schema.archivers import ArchiverPolicy
from schema.hooks import HookTemplate
from schema.linked import Snapshot
from schema.mutations import backup, conventions, convert, hooks, policies, storage
from schema.mutations.storage import (
    CreateBackupStorageInput,
    CreateBackupStoragePayload,
    StorageCredentialsInput,
)
from tests.unit.test_contract import (
    compare_pending,
    contract_in_force_sdl,
    pending_contract_sdl,
)

MODULES: tuple[ModuleType, ...] = (
    conventions,
    storage,
    policies,
    hooks,
    backup,
    archivers,
    hook_reads,
    choices,
    contents,
)

# Every type issue 9 builds, by its contract name. Restore and CI types (RestoreWorkflow,
# restoreDatabase, applyManifests...) are later issues'.
CONTRACT_TYPES = frozenset(
    {
        *("PlanAction", "PlannedChange", "WarningCode", "Warning", "UserErrorCode"),
        *("UserError", "MutationPayload", "UsagePolicyInput", "EncryptionInput"),
        *("DataDeletionPolicy", "StorageProvider", "StorageLocationInput"),
        *("StorageCredentialsInput", "CreateBackupStorageInput", "CreateBackupStoragePayload"),
        *("UpdateBackupStorageInput", "UpdateBackupStoragePayload", "RetentionCountsInput"),
        *("CreateRetentionPolicyInput", "CreateRetentionPolicyPayload"),
        *("UpdateRetentionPolicyInput", "UpdateRetentionPolicyPayload"),
        *("BackupPolicySessionInput", "CreateBackupPolicyInput", "CreateBackupPolicyPayload"),
        *("UpdateBackupPolicyInput", "UpdateBackupPolicyPayload", "HookExecutorType"),
        *("HookExecutorInput", "HookParameterInput", "CreateHookTemplateInput"),
        *("CreateHookTemplatePayload", "UpdateHookTemplateInput", "UpdateHookTemplatePayload"),
        *("CreateArchiverPolicyInput", "CreateArchiverPolicyPayload"),
        *("UpdateArchiverPolicyInput", "UpdateArchiverPolicyPayload", "PolicyObjectKind"),
        *("DeletePolicyObjectInput", "DeletePolicyObjectPayload", "SessionScheduleInput"),
        *("BackupSetupInput", "BackupImpact", "EnableBackupInput", "EnableBackupPayload"),
        *("UpdateBackupInput", "UpdateBackupPayload", "DisableBackupInput"),
        *("DisableBackupPayload", "PauseBackupInput", "PauseBackupPayload"),
        *("ResumeBackupInput", "ResumeBackupPayload", "TriggerBackupInput"),
        *("TriggerBackupPayload", "ArchiverPolicy", "HookParameter", "HookTemplate"),
        *("BackupPolicySessionChoice", "BackupPolicyChoices", "SnapshotContents"),
    }
)


def _graphql_name(cls: type) -> str | None:
    definition = getattr(cls, "__strawberry_definition__", None)
    return getattr(definition, "name", None)


def defined_types() -> dict[str, type]:
    """The strawberry types the write-contract modules define, by GraphQL name."""
    found: dict[str, type] = {}
    for module in MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                name = _graphql_name(value)
                if name is not None:
                    found[name] = value
    return found


@strawberry.type
class PingQuery:
    ping: int = 1


def throwaway_schema() -> strawberry.Schema:
    bases = {"Payload", "Described"}  # shared fields only; never in a schema
    return strawberry.Schema(
        query=PingQuery,
        types=[cls for name, cls in defined_types().items() if name not in bases],
    )


# --------------------------------------------------------------- the contract


def test_every_type_of_issue_9_is_defined_and_no_other() -> None:
    assert set(defined_types()) - {"Payload", "Described"} == CONTRACT_TYPES


def test_the_types_print_exactly_as_the_pending_contract_states_them() -> None:
    product = graphql.build_schema(throwaway_schema().as_str())
    report = compare_pending(
        contract_sdl=contract_in_force_sdl(),
        pending_sdl=pending_contract_sdl(),
        product=product,
        only=CONTRACT_TYPES,
    )
    assert report.mismatches == []
    assert report.missing == []
    assert report.extras == []
    assert report.descriptions == []


def test_the_printed_types_fit_into_the_contract_in_force() -> None:
    """Referenced read types (BackupStorage, Database...) resolve to the contract's."""
    contract = graphql.build_schema(contract_in_force_sdl() + pending_contract_sdl())
    printed = graphql.build_schema(throwaway_schema().as_str())
    for name in CONTRACT_TYPES:
        assert printed.get_type(name) is not None, name
        assert contract.get_type(name) is not None, name


# ------------------------------------------------------------- inputs in


@dataclass(frozen=True)
class Ref:
    namespace: str
    name: str
    cluster: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Usage:
    from_: str
    selector: dict[str, Any] | None = None
    namespaces: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Location:
    bucket: str | None = None
    prefix: str | None = None
    endpoint: str | None = None
    region: str | None = None
    storage_account: str | None = None
    volume: dict[str, Any] | None = None
    mount_path: str | None = None
    sub_path: str | None = None


@dataclass(frozen=True)
class Credentials:
    access_key_id: str | None = None
    secret_access_key: str | None = None
    project_id: str | None = None
    service_account_key: str | None = None
    account_key: str | None = None
    secret_name: str | None = None


@dataclass(frozen=True)
class CreateStorage:
    """What a storage planner would take: the input's fields, in snake_case."""

    namespace: str
    name: str
    provider: str
    location: Location
    cluster: str | None = None
    credentials: Credentials | None = None
    usage: Usage | None = None
    is_default: bool = False
    deletion_policy: str = "DELETE"


@dataclass(frozen=True)
class Session:
    name: str
    methods: tuple[str, ...]
    schedule: str
    user_may_set_schedule: bool = True


@dataclass(frozen=True)
class Encryption:
    secret: Ref | None = None
    password: str | None = None


@dataclass(frozen=True)
class CreatePolicy:
    namespace: str
    name: str
    database_kinds: tuple[str, ...]
    sessions: tuple[Session, ...]
    storage: Ref
    encryption: Encryption
    cluster: str | None = None
    retention_policy: Ref | None = None
    user_may_choose_retention: bool = False
    user_may_use_own_storage: bool = False
    usage: Usage | None = None


def converting_schema(received: list[object]) -> strawberry.Schema:
    """A schema whose mutations hand their converted input to ``received``."""

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def create_backup_storage(
            self, input: storage.CreateBackupStorageInput
        ) -> storage.CreateBackupStoragePayload:
            received.append(convert.to_dataclass(input, CreateStorage))
            return storage.CreateBackupStoragePayload()

        @strawberry.mutation
        def create_backup_policy(
            self, input: policies.CreateBackupPolicyInput
        ) -> policies.CreateBackupPolicyPayload:
            received.append(convert.to_dataclass(input, CreatePolicy))
            return policies.CreateBackupPolicyPayload()

    return strawberry.Schema(query=PingQuery, mutation=Mutation)


def run(gql_schema: strawberry.Schema, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = gql_schema.execute_sync(query, variable_values=variables)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def test_a_storage_input_reaches_the_planner_as_its_dataclass() -> None:
    received: list[object] = []
    run(
        converting_schema(received),
        "mutation($i: CreateBackupStorageInput!) { createBackupStorage(input: $i) "
        "{ userErrors { code } } }",
        {
            "i": {
                "namespace": "team-a",
                "name": "s3",
                "provider": "S3",
                "location": {"bucket": "backups", "region": "eu-west-1"},
                "credentials": {"accessKeyId": "AKIA", "secretAccessKey": "s3cr3t"},
                "usage": {"from": "SELECTOR", "selector": {"matchLabels": {"team": "a"}}},
                "deletionPolicy": "WIPE_OUT",
                "dryRun": True,
                "idempotencyKey": "k-1",
            }
        },
    )
    assert received == [
        CreateStorage(
            namespace="team-a",
            name="s3",
            provider="S3",
            location=Location(bucket="backups", region="eu-west-1"),
            credentials=Credentials(access_key_id="AKIA", secret_access_key="s3cr3t"),
            usage=Usage(from_="SELECTOR", selector={"matchLabels": {"team": "a"}}),
            is_default=False,
            deletion_policy="WIPE_OUT",
        )
    ]


def test_left_out_fields_take_the_contract_or_dataclass_default() -> None:
    received: list[object] = []
    run(
        converting_schema(received),
        "mutation($i: CreateBackupPolicyInput!) { createBackupPolicy(input: $i) "
        "{ userErrors { code } } }",
        {
            "i": {
                "namespace": "kubedb",
                "name": "nightly",
                "databaseKinds": ["Postgres"],
                "sessions": [
                    {"name": "full", "methods": ["LOGICAL", "PHYSICAL"], "schedule": "0 1 * * *"}
                ],
                "storage": {"namespace": "kubedb", "name": "s3"},
                "encryption": {"secret": {"namespace": "kubedb", "name": "restic"}},
            }
        },
    )
    assert received == [
        CreatePolicy(
            namespace="kubedb",
            name="nightly",
            database_kinds=("Postgres",),
            sessions=(
                Session(
                    name="full",
                    methods=("LOGICAL", "PHYSICAL"),
                    schedule="0 1 * * *",
                    user_may_set_schedule=True,
                ),
            ),
            storage=Ref(namespace="kubedb", name="s3"),
            encryption=Encryption(secret=Ref(namespace="kubedb", name="restic")),
        )
    ]


def test_an_explicit_null_is_kept_apart_from_a_left_out_field() -> None:
    @dataclass(frozen=True)
    class Update:
        backup_storage: Ref
        is_default: bool | None = True  # a sentinel: "left out" must read as this
        location: Location | None = None
        credentials: Credentials | None = None
        usage: Usage | None = None
        deletion_policy: str | None = None

    left_out = storage.UpdateBackupStorageInput(
        backup_storage=_ref_input("team-a", "s3"),
    )
    assert convert.to_dataclass(left_out, Update).is_default is True
    explicit = storage.UpdateBackupStorageInput(
        backup_storage=_ref_input("team-a", "s3"), is_default=None
    )
    assert convert.to_dataclass(explicit, Update).is_default is None


def test_an_explicit_null_where_the_planner_takes_no_none_means_the_default() -> None:
    received: list[object] = []
    run(
        converting_schema(received),
        "mutation($i: CreateBackupStorageInput!) { createBackupStorage(input: $i) "
        "{ userErrors { code } } }",
        {
            "i": {
                "namespace": "team-a",
                "name": "local",
                "provider": "LOCAL",
                "location": {"volume": {"persistentVolumeClaim": {"claimName": "b"}}},
                "isDefault": None,
                "deletionPolicy": None,
            }
        },
    )
    assert received == [
        CreateStorage(
            namespace="team-a",
            name="local",
            provider="LOCAL",
            location=Location(volume={"persistentVolumeClaim": {"claimName": "b"}}),
        )
    ]
    assert isinstance(received[0], CreateStorage)
    assert (received[0].is_default, received[0].deletion_policy) == (False, "DELETE")


def _ref_input(namespace: str, name: str) -> Any:
    from schema.inputs import ObjectRefInput

    return ObjectRefInput(namespace=namespace, name=name)


def test_an_input_field_the_planner_lacks_is_an_error_not_dropped() -> None:
    @dataclass(frozen=True)
    class NoCredentials:
        namespace: str
        name: str
        provider: str
        location: Location

    given = CreateBackupStorageInput(
        namespace="team-a",
        name="s3",
        provider=storage.StorageProvider.S3,
        location=storage.StorageLocationInput(bucket="b"),
        credentials=StorageCredentialsInput(secret_name="creds"),
    )
    with pytest.raises(TypeError, match=r"no field for .*credentials"):
        convert.to_dataclass(given, NoCredentials)


def test_a_required_planner_field_the_input_left_out_is_an_error() -> None:
    @dataclass(frozen=True)
    class NeedsUsage:
        name: str
        usage: str
        required: bool = False
        default: str | None = None

    with pytest.raises(TypeError, match="usage has no default"):
        convert.to_dataclass(hooks.HookParameterInput(name="TABLE"), NeedsUsage)


def test_enum_values_become_their_graphql_names() -> None:
    assert convert.enum_value_name(conventions.DataDeletionPolicy.WIPE_OUT) == "WIPE_OUT"
    assert convert.enum_value_name(policies.PolicyObjectKind.HOOK_TEMPLATE) == "HOOK_TEMPLATE"


# ------------------------------------------------------------- plans out

SECRET_CHANGE = plans.Change(
    action="CREATE",
    cluster="prod",
    resource=ResourceType(group="", version="v1", plural="secrets", kind="Secret"),
    namespace="team-a",
    name="s3-credentials",
    summary="Create Secret team-a/s3-credentials with the storage's access keys.",
    body={
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s3-credentials", "namespace": "team-a"},
        "data": {"AWS_ACCESS_KEY_ID": "QUtJQQ==", "AWS_SECRET_ACCESS_KEY": "czNjcjN0"},
        "stringData": {"RESTIC_PASSWORD": "hunter2"},
    },
)
STORAGE_CHANGE = plans.Change(
    action="CREATE",
    cluster="prod",
    resource=BACKUP_STORAGES,
    namespace="team-a",
    name="s3",
    summary="Create BackupStorage team-a/s3.",
    body={"apiVersion": "storage.kubestash.com/v1alpha1", "kind": "BackupStorage"},
)


def payload_schema(answer: object) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def answer(self) -> CreateBackupStoragePayload:
            return answer  # type: ignore[return-value]

    return strawberry.Schema(query=Query)


PAYLOAD_QUERY = """{ answer {
  plan { action cluster apiVersion kind namespace name summary object }
  warnings { code message }
  userErrors { code message field }
  backupStorage { name }
} }"""


def test_a_plan_reaches_the_caller_with_secret_values_redacted_and_keys_kept() -> None:
    plan = plans.Plan(changes=[SECRET_CHANGE, STORAGE_CHANGE])
    plan.warn("BACKUP_DATA_DELETED", "Deleting team-a/s3 deletes its data.")
    data = run(payload_schema(convert.payload(CreateBackupStoragePayload, plan)), PAYLOAD_QUERY, {})
    answer = data["answer"]
    assert answer["plan"][0] == {
        "action": "CREATE",
        "cluster": "prod",
        "apiVersion": "v1",
        "kind": "Secret",
        "namespace": "team-a",
        "name": "s3-credentials",
        "summary": "Create Secret team-a/s3-credentials with the storage's access keys.",
        "object": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s3-credentials", "namespace": "team-a"},
            "data": {"AWS_ACCESS_KEY_ID": "<redacted>", "AWS_SECRET_ACCESS_KEY": "<redacted>"},
            "stringData": {"RESTIC_PASSWORD": "<redacted>"},
        },
    }
    assert answer["plan"][1]["apiVersion"] == "storage.kubestash.com/v1alpha1"
    assert answer["plan"][1]["object"] == STORAGE_CHANGE.body
    assert answer["warnings"] == [
        {"code": "BACKUP_DATA_DELETED", "message": "Deleting team-a/s3 deletes its data."}
    ]
    assert answer["userErrors"] == []
    assert answer["backupStorage"] is None
    text = json.dumps(data)
    for secret in ("QUtJQQ==", "czNjcjN0", "hunter2"):
        assert secret not in text
    # The planner's own change is untouched: redaction copies.
    assert SECRET_CHANGE.body is not None
    assert SECRET_CHANGE.body["stringData"] == {"RESTIC_PASSWORD": "hunter2"}


def test_a_refused_plan_reaches_the_caller_as_typed_user_errors() -> None:
    plan = plans.Plan().refuse(
        "DEFAULT_ALREADY_SET", "team-a already has a default BackupStorage.", field=["isDefault"]
    )
    plan.refuse("INVALID_INPUT", "The bucket is missing.")
    data = run(payload_schema(convert.payload(CreateBackupStoragePayload, plan)), PAYLOAD_QUERY, {})
    assert data["answer"]["plan"] == []
    assert data["answer"]["userErrors"] == [
        {
            "code": "DEFAULT_ALREADY_SET",
            "message": "team-a already has a default BackupStorage.",
            "field": ["isDefault"],
        },
        {"code": "INVALID_INPUT", "message": "The bucket is missing.", "field": None},
    ]


def test_a_secret_named_only_by_its_body_is_redacted_too() -> None:
    shown: Any = convert.redacted(
        {"apiVersion": "v1", "kind": "Secret", "data": "not-a-map"},
        kind="Unknown",
        api_version="v1",
    )
    assert shown == {"apiVersion": "v1", "kind": "Secret", "data": "<redacted>"}


def test_every_plan_code_is_a_value_of_the_graphql_enums() -> None:
    import typing

    assert set(typing.get_args(plans.Action)) == {m.value for m in conventions.PlanAction}
    assert set(typing.get_args(plans.WarningCode)) == {m.value for m in conventions.WarningCode}
    assert set(typing.get_args(plans.ErrorCode)) == {m.value for m in conventions.UserErrorCode}


def test_payloads_are_dataclasses_with_empty_shared_fields_by_default() -> None:
    empty = backup.TriggerBackupPayload()
    assert (empty.plan, empty.warnings, empty.user_errors, empty.backup_sessions) == (
        [],
        [],
        [],
        None,
    )
    assert {f.name for f in dataclasses.fields(empty)} == {
        "plan",
        "warnings",
        "user_errors",
        "backup_sessions",
    }


# ------------------------------------------------------------- read types


@dataclass
class FakeAccess:
    """Which BackupStorages (cluster, namespace) the viewer may read."""

    readable: set[tuple[str, str]]

    def allows(self, cluster: str, group: str, plural: str, namespace: str | None) -> bool:
        return group == "storage.kubestash.com" and (cluster, namespace or "") in self.readable


@dataclass
class FakeGraph:
    """The two Graph calls the read types make: the unfiltered cache, and access."""

    items: list[Item]
    access: FakeAccess

    def unfiltered(self, cluster: str, group: str, kind: str) -> list[Item]:
        return [
            i
            for i in self.items
            if (i.cluster, i.resource.group, i.resource.kind) == (cluster, group, kind)
        ]


@dataclass
class FakeContext:
    graph: FakeGraph

    def require_graph(self) -> FakeGraph:
        return self.graph


ARCHIVER: dict[str, Any] = {
    "apiVersion": "archiver.kubedb.com/v1alpha1",
    "kind": "PostgresArchiver",
    "metadata": {
        "name": "pg-archiver",
        "namespace": "kubedb",
        "uid": "0c2b1f0e-3b7c-4f3e-9b53-b9a3c1a7e001",
        "creationTimestamp": "2025-01-02T03:04:05Z",
        "labels": {"tier": "gold"},
    },
    "spec": {
        "pause": True,
        "databases": {
            "namespaces": {"from": "Selector", "selector": {"matchLabels": {"pitr": "on"}}},
            "selector": {"matchLabels": {"archiver": "true"}},
        },
        "retentionPolicy": {"name": "keep-30d", "namespace": "kubedb"},
        "encryptionSecret": {"name": "encrypt-secret", "namespace": "kubedb"},
        "backupStorage": {"ref": {"name": "s3-storage"}, "subDir": "pg"},
        "fullBackup": {
            "driver": "VolumeSnapshotter",
            "task": {"params": {"volumeSnapshotClassName": "csi-snapclass"}},
            "scheduler": {"schedule": "30 3 * * *"},
        },
        "logBackup": {"retentionPeriod": "30d"},
        "deletionPolicy": "WipeOut",
    },
    "status": {"databaseRefs": [{"name": "orders", "namespace": "team-a"}, {"namespace": "x"}]},
}

_STORAGE_TYPE = ResourceType(
    group="storage.kubestash.com", version="v1alpha1", plural="backupstorages", kind="BackupStorage"
)
_RETENTION_TYPE = ResourceType(
    group="storage.kubestash.com",
    version="v1alpha1",
    plural="retentionpolicies",
    kind="RetentionPolicy",
)


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"}}


def archiver_graph(*, readable: set[tuple[str, str]]) -> FakeGraph:
    s3 = {**_meta("s3-storage", "kubedb"), "spec": {"storage": {"provider": "s3", "s3": {}}}}
    keep = {**_meta("keep-30d", "kubedb"), "spec": {"maxRetentionPeriod": "30d"}}
    return FakeGraph(
        items=[Item("prod", s3, _STORAGE_TYPE), Item("prod", keep, _RETENTION_TYPE)],
        access=FakeAccess(readable),
    )


@strawberry.type
class ReadQuery:
    @strawberry.field
    def archiver(self, info: strawberry.Info[Any, Any]) -> ArchiverPolicy:
        return ArchiverPolicy(raw=info.root_value["archiver"], cluster_name="prod")

    @strawberry.field
    def hook(self, info: strawberry.Info[Any, Any]) -> HookTemplate:
        return HookTemplate(raw=info.root_value["hook"], cluster_name="prod")

    @strawberry.field
    def snapshot(self, info: strawberry.Info[Any, Any]) -> contents.SnapshotContents:
        return contents.snapshot_contents(info.root_value["snapshot"])


def read(query: str, *, graph: FakeGraph | None = None, **raw: Any) -> dict[str, Any]:
    gql_schema = strawberry.Schema(query=ReadQuery, types=[Snapshot])
    result = gql_schema.execute_sync(
        query, root_value=raw, context_value=FakeContext(graph or archiver_graph(readable=set()))
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


ARCHIVER_QUERY = """{ archiver {
  id cluster namespace name uid createdAt labels annotations kind databaseKind
  storage { name location { bucket } } retentionPolicy { name maxRetentionPeriod }
  fullBackupSchedule fullBackupMethod logRetentionPeriod paused usage databaseSelector
  databases { cluster apiGroup kind namespace name }
} }"""


def test_an_archiver_policy_reads_the_kubedb_archiver() -> None:
    graph = archiver_graph(readable={("prod", "kubedb")})
    archiver = read(ARCHIVER_QUERY, graph=graph, archiver=ARCHIVER)["archiver"]
    assert archiver.pop("id")
    assert archiver == {
        "cluster": "prod",
        "namespace": "kubedb",
        "name": "pg-archiver",
        "uid": "0c2b1f0e-3b7c-4f3e-9b53-b9a3c1a7e001",
        "createdAt": "2025-01-02T03:04:05+00:00",
        "labels": {"tier": "gold"},
        "annotations": {},
        "kind": "PostgresArchiver",
        "databaseKind": "Postgres",
        "storage": {"name": "s3-storage", "location": {"bucket": None}},
        "retentionPolicy": {"name": "keep-30d", "maxRetentionPeriod": "30d"},
        "fullBackupSchedule": "30 3 * * *",
        "fullBackupMethod": "VOLUME_SNAPSHOT",
        "logRetentionPeriod": "30d",
        "paused": True,
        "usage": "SELECTOR",
        "databaseSelector": {"matchLabels": {"archiver": "true"}},
        "databases": [
            {
                "cluster": "prod",
                "apiGroup": "kubedb.com",
                "kind": "Postgres",
                "namespace": "team-a",
                "name": "orders",
            }
        ],
    }


def test_an_archivers_storage_is_null_for_a_viewer_who_may_not_read_it() -> None:
    data = read(
        "{ archiver { storage { name } retentionPolicy { name } } }",
        graph=archiver_graph(readable=set()),
        archiver=ARCHIVER,
    )
    assert data["archiver"] == {"storage": None, "retentionPolicy": {"name": "keep-30d"}}


@pytest.mark.parametrize(
    ("full_backup", "method"),
    [
        ({"driver": "Restic"}, "PHYSICAL"),
        ({"scheduler": {"schedule": "0 0 * * *"}}, "VOLUME_SNAPSHOT"),  # upstream default
        ({"driver": "ClickHouseBackup"}, None),
        (None, None),
    ],
)
def test_the_full_backup_method_comes_from_the_driver(
    full_backup: dict[str, Any] | None, method: str | None
) -> None:
    raw = {"kind": "MySQLArchiver", **_meta("my", "db"), "spec": {}}
    if full_backup is not None:
        raw["spec"] = {"fullBackup": full_backup}
    data = read("{ archiver { databaseKind fullBackupMethod usage paused } }", archiver=raw)
    assert data["archiver"] == {
        "databaseKind": "MySQL",
        "fullBackupMethod": method,
        "usage": "SAME",
        "paused": False,
    }


def test_an_older_archiver_keeps_its_log_retention_in_wal_backup() -> None:
    raw = {"kind": "PostgresArchiver", **_meta("old", "db"), "spec": {"walBackup": {}}}
    raw["spec"]["walBackup"] = {"retentionPeriod": "2w"}
    assert read("{ archiver { logRetentionPeriod } }", archiver=raw)["archiver"] == {
        "logRetentionPeriod": "2w"
    }


HOOK: dict[str, Any] = {
    "apiVersion": "core.kubestash.com/v1alpha1",
    "kind": "HookTemplate",
    "metadata": {"name": "row-count-check", "namespace": "kubedb", "uid": "u-1"},
    "spec": {
        "usagePolicy": {"allowedNamespaces": {"from": "All"}},
        "params": [
            {"name": "TABLE", "usage": "Table to count", "required": True},
            {"name": "MIN_ROWS", "default": "1"},
            {"usage": "no name: skipped"},
        ],
        "action": {"exec": {"command": ["/bin/sh", "-c", "check"]}},
        "executor": {"type": "Pod", "pod": {"selector": "app=db", "strategy": "ExecuteOnAll"}},
    },
}


def test_a_hook_template_reads_executor_params_and_usage() -> None:
    data = read(
        "{ hook { name executor usage params { name usage required default } } }", hook=HOOK
    )
    assert data["hook"] == {
        "name": "row-count-check",
        "executor": "POD",
        "usage": "ALL",
        "params": [
            {"name": "TABLE", "usage": "Table to count", "required": True, "default": None},
            {"name": "MIN_ROWS", "usage": None, "required": False, "default": "1"},
        ],
    }


def _snapshot(components: dict[str, Any], *, version: str | None = "16.4") -> dict[str, Any]:
    raw: dict[str, Any] = {
        "kind": "Snapshot",
        **_meta("snap", "demo"),
        "status": {"components": components},
    }
    if version is not None:
        raw["metadata"]["annotations"] = {"kubedb.com/db-version": version}
    return raw


CONTENTS_QUERY = "{ snapshot { manifest authSecret catalogVersion data version } }"


def test_a_full_snapshot_holds_the_manifest_its_secret_catalog_version_and_data() -> None:
    raw = _snapshot(
        {"dump": {"phase": "Succeeded", "driver": "Restic"}, "manifest": {"phase": "Succeeded"}}
    )
    assert read(CONTENTS_QUERY, snapshot=raw)["snapshot"] == {
        "manifest": True,
        "authSecret": True,
        "catalogVersion": True,
        "data": True,
        "version": "16.4",
    }


@pytest.mark.parametrize(
    ("components", "manifest", "data"),
    [
        ({"manifest": {"phase": "Succeeded"}}, True, False),
        ({"dump": {"phase": "Failed"}, "manifest": {"phase": "Failed"}}, False, False),
        ({"dump": {"phase": "Running"}}, False, False),
        ({"wal": {"phase": "Running", "logStats": {"start": "x"}}}, False, True),
        ({"shard0": {"phase": "Running", "logStats": {"start": "x"}}}, False, True),
        ({"data-volume": {"phase": "Succeeded", "driver": "VolumeSnapshotter"}}, False, True),
        ({"physical": {"phase": "Succeeded"}}, False, True),
        ({"pod": {"phase": "Succeeded"}}, False, False),
        ({}, False, False),
    ],
)
def test_snapshot_contents_count_only_components_that_hold_something(
    components: dict[str, Any], manifest: bool, data: bool
) -> None:
    got = read(CONTENTS_QUERY, snapshot=_snapshot(components, version=None))["snapshot"]
    assert got == {
        "manifest": manifest,
        "authSecret": manifest,
        "catalogVersion": manifest,
        "data": data,
        "version": None,
    }
