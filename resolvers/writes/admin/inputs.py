"""The admin mutations' inputs, one frozen dataclass per GraphQL input type.

Field names are the contract's (``shared/contract/pending/write.graphql``) in
snake_case, with the contract's defaults, so the GraphQL layer can build them by field
name; ``INPUT_TYPES`` maps each GraphQL input type to its dataclass for that. Enums are
their GraphQL value strings (``"S3"``, ``"WIPE_OUT"``), JSON scalars are ``Any``.
``dryRun`` and ``idempotencyKey`` are left out: the engine handles them. Dataclasses
are keyword-only so the fields keep the contract's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class ObjectRef:
    """ObjectRefInput (``schema/inputs.py``)."""

    cluster: str | None = None
    kind: str | None = None
    namespace: str
    name: str


@dataclass(frozen=True, kw_only=True)
class UsagePolicy:
    """UsagePolicyInput: which namespaces may use a shared object."""

    from_: str  # ALL, SAME or SELECTOR (GraphQL field ``from``)
    selector: Any = None
    namespaces: Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class Encryption:
    secret: ObjectRef | None = None
    password: str | None = None

    def __repr__(self) -> str:
        shown = "password=<redacted>" if self.password is not None else f"secret={self.secret!r}"
        return f"Encryption({shown})"


# ------------------------------------------------------------------------ storage


@dataclass(frozen=True, kw_only=True)
class StorageLocation:
    bucket: str | None = None
    prefix: str | None = None
    endpoint: str | None = None
    region: str | None = None
    storage_account: str | None = None
    volume: Any = None
    mount_path: str | None = None
    sub_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class StorageCredentials:
    access_key_id: str | None = None
    secret_access_key: str | None = None
    project_id: str | None = None
    service_account_key: str | None = None
    account_key: str | None = None
    secret_name: str | None = None

    def __repr__(self) -> str:
        # Credentials are write-only: never let a log line or a traceback show them.
        return "StorageCredentials(<redacted>)"


@dataclass(frozen=True, kw_only=True)
class CreateBackupStorage:
    cluster: str | None = None
    namespace: str
    name: str
    provider: str  # S3, GCS, AZURE, LOCAL
    location: StorageLocation
    credentials: StorageCredentials | None = None
    usage: UsagePolicy | None = None
    is_default: bool = False
    deletion_policy: str = "DELETE"  # DELETE or WIPE_OUT


@dataclass(frozen=True, kw_only=True)
class UpdateBackupStorage:
    backup_storage: ObjectRef
    location: StorageLocation | None = None
    credentials: StorageCredentials | None = None
    usage: UsagePolicy | None = None
    is_default: bool | None = None
    deletion_policy: str | None = None


# ---------------------------------------------------------------------- retention


@dataclass(frozen=True, kw_only=True)
class RetentionCounts:
    last: int | None = None
    hourly: int | None = None
    daily: int | None = None
    weekly: int | None = None
    monthly: int | None = None
    yearly: int | None = None


@dataclass(frozen=True, kw_only=True)
class CreateRetentionPolicy:
    cluster: str | None = None
    namespace: str
    name: str
    max_retention_period: str | None = None
    successful_snapshots: RetentionCounts | None = None
    failed_snapshots_last: int = 1
    is_default: bool = False
    usage: UsagePolicy | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateRetentionPolicy:
    retention_policy: ObjectRef
    max_retention_period: str | None = None
    successful_snapshots: RetentionCounts | None = None
    failed_snapshots_last: int | None = None
    is_default: bool | None = None
    usage: UsagePolicy | None = None


# ------------------------------------------------------------------ backup policy


@dataclass(frozen=True, kw_only=True)
class BackupPolicySession:
    name: str
    methods: Sequence[str]  # LOGICAL, PHYSICAL, VOLUME_SNAPSHOT
    schedule: str
    user_may_set_schedule: bool = True


@dataclass(frozen=True, kw_only=True)
class CreateBackupPolicy:
    cluster: str | None = None
    namespace: str
    name: str
    database_kinds: Sequence[str]
    sessions: Sequence[BackupPolicySession]
    storage: ObjectRef
    retention_policy: ObjectRef | None = None
    encryption: Encryption
    user_may_choose_retention: bool = False
    user_may_use_own_storage: bool = False
    usage: UsagePolicy | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateBackupPolicy:
    backup_policy: ObjectRef
    database_kinds: Sequence[str] | None = None
    sessions: Sequence[BackupPolicySession] | None = None
    storage: ObjectRef | None = None
    retention_policy: ObjectRef | None = None
    user_may_choose_retention: bool | None = None
    user_may_use_own_storage: bool | None = None
    usage: UsagePolicy | None = None


# ------------------------------------------------------------------ hook template


@dataclass(frozen=True, kw_only=True)
class HookExecutor:
    type: str  # FUNCTION, POD, OPERATOR
    function: str | None = None
    pod_selector: str | None = None
    on_all_pods: bool = False


@dataclass(frozen=True, kw_only=True)
class HookParameter:
    name: str
    usage: str | None = None
    required: bool = False
    default: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateHookTemplate:
    cluster: str | None = None
    namespace: str
    name: str
    action: Any
    executor: HookExecutor
    params: Sequence[HookParameter] | None = None
    usage: UsagePolicy | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateHookTemplate:
    hook_template: ObjectRef
    action: Any = None
    executor: HookExecutor | None = None
    params: Sequence[HookParameter] | None = None
    usage: UsagePolicy | None = None


# --------------------------------------------------------------- archiver policy


@dataclass(frozen=True, kw_only=True)
class CreateArchiverPolicy:
    cluster: str | None = None
    namespace: str
    name: str
    database_kind: str
    storage: ObjectRef
    retention_policy: ObjectRef | None = None
    encryption: Encryption
    full_backup_schedule: str
    full_backup_method: str = "VOLUME_SNAPSHOT"
    volume_snapshot_class: str | None = None
    log_retention_period: str = "1y"
    usage: UsagePolicy | None = None
    database_selector: Any = None
    deletion_policy: str = "DELETE"  # DELETE, WIPE_OUT or RETAIN


@dataclass(frozen=True, kw_only=True)
class UpdateArchiverPolicy:
    archiver_policy: ObjectRef
    retention_policy: ObjectRef | None = None
    full_backup_schedule: str | None = None
    log_retention_period: str | None = None
    usage: UsagePolicy | None = None
    database_selector: Any = None
    paused: bool | None = None


# ------------------------------------------------------------------------- delete


@dataclass(frozen=True, kw_only=True)
class DeletePolicyObject:
    # BACKUP_STORAGE, RETENTION_POLICY, BACKUP_POLICY, HOOK_TEMPLATE, ARCHIVER_POLICY
    kind: str
    object: ObjectRef


# GraphQL input type -> dataclass, for the layer that converts inputs by field name.
# ``UsagePolicyInput.from`` is a Python keyword: its field is ``from_``.
INPUT_TYPES: dict[str, type] = {
    "ObjectRefInput": ObjectRef,
    "UsagePolicyInput": UsagePolicy,
    "EncryptionInput": Encryption,
    "StorageLocationInput": StorageLocation,
    "StorageCredentialsInput": StorageCredentials,
    "CreateBackupStorageInput": CreateBackupStorage,
    "UpdateBackupStorageInput": UpdateBackupStorage,
    "RetentionCountsInput": RetentionCounts,
    "CreateRetentionPolicyInput": CreateRetentionPolicy,
    "UpdateRetentionPolicyInput": UpdateRetentionPolicy,
    "BackupPolicySessionInput": BackupPolicySession,
    "CreateBackupPolicyInput": CreateBackupPolicy,
    "UpdateBackupPolicyInput": UpdateBackupPolicy,
    "HookExecutorInput": HookExecutor,
    "HookParameterInput": HookParameter,
    "CreateHookTemplateInput": CreateHookTemplate,
    "UpdateHookTemplateInput": UpdateHookTemplate,
    "CreateArchiverPolicyInput": CreateArchiverPolicy,
    "UpdateArchiverPolicyInput": UpdateArchiverPolicy,
    "DeletePolicyObjectInput": DeletePolicyObject,
}
