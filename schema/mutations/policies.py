"""Admin inputs and payloads for backup policies (BackupBlueprints), archiver policies
(KubeDB archivers) and deleting any policy object."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.archivers import ArchiverPolicy
from schema.enums import BackupMethod
from schema.inputs import ObjectRefInput
from schema.mutations.conventions import (
    DataDeletionPolicy,
    EncryptionInput,
    Payload,
    UsagePolicyInput,
    cluster_field,
    dry_run,
    idempotency_key,
    optional,
)
from schema.policies import BackupPolicy
from schema.scalars import JSON


@strawberry.input(description="One session of a backup policy: what it takes and when.")
class BackupPolicySessionInput:
    name: str = strawberry.field(description="Session name, for example full-backup.")
    methods: list[BackupMethod] = strawberry.field(
        description=(
            "LOGICAL, PHYSICAL or VOLUME_SNAPSHOT, offered by every kind's addon "
            "(METHOD_NOT_AVAILABLE)."
        )
    )
    schedule: str = strawberry.field(
        description="Cron schedule; the default where users may set their own."
    )
    user_may_set_schedule: bool | None = strawberry.field(
        default=True, description="Whether users may set this session's schedule."
    )


@strawberry.input(
    description=(
        "Input of createBackupPolicy. Every session also gets the manifest-backup task, so "
        "every\nsnapshot holds the database manifest, its auth Secret and its catalog version."
    )
)
class CreateBackupPolicyInput:
    cluster: str | None = cluster_field()
    namespace: str = strawberry.field(description="Namespace of the new policy.")
    name: str = strawberry.field(description="Its name.")
    database_kinds: list[str] = strawberry.field(
        description=(
            "KubeDB kinds it serves, for example [Postgres]; each database gets its kind's addon."
        )
    )
    sessions: list[BackupPolicySessionInput] = strawberry.field(description="Its sessions.")
    storage: ObjectRefInput = strawberry.field(
        description="The BackupStorage backups go to; users do not see it."
    )
    retention_policy: ObjectRefInput | None = optional(
        "The default RetentionPolicy; null: the namespace default."
    )
    encryption: EncryptionInput = strawberry.field(description="Encryption of its repositories.")
    user_may_choose_retention: bool | None = strawberry.field(
        default=False,
        description="Whether users may pick any RetentionPolicy usable from their namespace.",
    )
    user_may_use_own_storage: bool | None = strawberry.field(
        default=False,
        description="Whether users may keep backups on their own BackupStorage instead.",
    )
    usage: UsagePolicyInput | None = optional("Which namespaces may use it.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createBackupPolicy.")
class CreateBackupPolicyPayload(Payload):
    backup_policy: BackupPolicy | None = strawberry.field(
        default=None, description="The new policy; null on a dry run or error."
    )


@strawberry.input(
    description=(
        "Input of updateBackupPolicy; fields left null keep their value. It applies to "
        "databases\nthat enable backup with it afterwards (warning "
        "EXISTING_CONFIGURATIONS_UNCHANGED)."
    )
)
class UpdateBackupPolicyInput:
    backup_policy: ObjectRefInput = strawberry.field(description="The policy to change.")
    database_kinds: list[str] | None = optional("New kinds.")
    sessions: list[BackupPolicySessionInput] | None = optional(
        "New sessions, replacing the old ones."
    )
    storage: ObjectRefInput | None = optional("New storage.")
    retention_policy: ObjectRefInput | None = optional("New default RetentionPolicy.")
    user_may_choose_retention: bool | None = optional("Whether users may pick the RetentionPolicy.")
    user_may_use_own_storage: bool | None = optional("Whether users may use their own storage.")
    usage: UsagePolicyInput | None = optional("New usage policy.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateBackupPolicy.")
class UpdateBackupPolicyPayload(Payload):
    backup_policy: BackupPolicy | None = strawberry.field(
        default=None, description="The changed policy; null on a dry run or error."
    )


@strawberry.input(
    description=(
        "Input of createArchiverPolicy: continuous backup, for point-in-time recovery. "
        "Databases\nusing it ship their logs (WAL, binlog, oplog) as they are written and get "
        "periodic full\nand manifest backups. Databases it admits that have no archiver yet may "
        "take it up on\ntheir own: the plan names them, with DATABASE_UNAVAILABLE_DURING_SETUP "
        "where that\nrestarts them."
    )
)
class CreateArchiverPolicyInput:
    cluster: str | None = cluster_field()
    namespace: str = strawberry.field(description="Namespace of the new policy.")
    name: str = strawberry.field(description="Its name.")
    database_kind: str = strawberry.field(
        description="Postgres, MySQL, MariaDB, MongoDB, MSSQLServer or ClickHouse."
    )
    storage: ObjectRefInput = strawberry.field(description="The BackupStorage backups go to.")
    retention_policy: ObjectRefInput | None = optional(
        "RetentionPolicy for full backups; null: the namespace default."
    )
    encryption: EncryptionInput = strawberry.field(description="Encryption of its repositories.")
    full_backup_schedule: str = strawberry.field(description="Cron schedule of full backups.")
    full_backup_method: BackupMethod | None = strawberry.field(
        default=BackupMethod.VOLUME_SNAPSHOT,
        description="How full backups are taken: VOLUME_SNAPSHOT or PHYSICAL.",
    )
    volume_snapshot_class: str | None = optional("VOLUME_SNAPSHOT: the VolumeSnapshotClass.")
    log_retention_period: str | None = strawberry.field(
        default="1y",
        description="How long logs are kept, for example 30d; it bounds the recovery window.",
    )
    usage: UsagePolicyInput | None = optional("Which namespaces may use it.")
    database_selector: JSON | None = optional(
        "Labels a database must carry to use it, as a label selector; null: any."
    )
    deletion_policy: DataDeletionPolicy | None = strawberry.field(
        default=DataDeletionPolicy.DELETE,
        description="What deleting it does to the repositories it made.",
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createArchiverPolicy.")
class CreateArchiverPolicyPayload(Payload):
    archiver_policy: ArchiverPolicy | None = strawberry.field(
        default=None, description="The new policy; null on a dry run or error."
    )


@strawberry.input(description="Input of updateArchiverPolicy; fields left null keep their value.")
class UpdateArchiverPolicyInput:
    archiver_policy: ObjectRefInput = strawberry.field(description="The policy to change.")
    retention_policy: ObjectRefInput | None = optional("New retention of full backups.")
    full_backup_schedule: str | None = optional("New full-backup schedule.")
    log_retention_period: str | None = optional(
        "New log retention; shortening it shortens every recovery window."
    )
    usage: UsagePolicyInput | None = optional(
        "New usage policy; databases no longer admitted stop being archived."
    )
    database_selector: JSON | None = optional("New database label selector.")
    paused: bool | None = optional("Pause or resume archiving for every database using it.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateArchiverPolicy.")
class UpdateArchiverPolicyPayload(Payload):
    archiver_policy: ArchiverPolicy | None = strawberry.field(
        default=None, description="The changed policy; null on a dry run or error."
    )


@strawberry.enum(description="The kinds of object deletePolicyObject deletes.")
class PolicyObjectKind(Enum):
    BACKUP_STORAGE = strawberry.enum_value("BACKUP_STORAGE", description="A BackupStorage.")
    RETENTION_POLICY = strawberry.enum_value("RETENTION_POLICY", description="A RetentionPolicy.")
    BACKUP_POLICY = strawberry.enum_value(
        "BACKUP_POLICY", description="A BackupPolicy (BackupBlueprint)."
    )
    HOOK_TEMPLATE = strawberry.enum_value("HOOK_TEMPLATE", description="A HookTemplate.")
    ARCHIVER_POLICY = strawberry.enum_value("ARCHIVER_POLICY", description="An ArchiverPolicy.")


@strawberry.input(description="Input of deletePolicyObject.")
class DeletePolicyObjectInput:
    kind: PolicyObjectKind = strawberry.field(description="Kind of the object.")
    object: ObjectRefInput = strawberry.field(description="The object.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of deletePolicyObject.")
class DeletePolicyObjectPayload(Payload):
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="ID of the deleted object; null on a dry run or error."
    )
