"""Admin inputs and payloads for where backups go and how long they stay:
BackupStorages and RetentionPolicies."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.inputs import ObjectRefInput
from schema.mutations.conventions import (
    DataDeletionPolicy,
    Payload,
    UsagePolicyInput,
    cluster_field,
    dry_run,
    idempotency_key,
    optional,
)
from schema.scalars import JSON
from schema.storage import BackupStorage, RetentionPolicy


@strawberry.enum(description="Where a BackupStorage keeps data.")
class StorageProvider(Enum):
    S3 = strawberry.enum_value("S3", description="Amazon S3 or an S3-compatible store.")
    GCS = strawberry.enum_value("GCS", description="Google Cloud Storage.")
    AZURE = strawberry.enum_value("AZURE", description="Azure Blob Storage.")
    LOCAL = strawberry.enum_value("LOCAL", description="A Kubernetes volume.")


@strawberry.input(description="Where in the provider backups go; fill in what the provider needs.")
class StorageLocationInput:
    bucket: str | None = optional("Bucket (s3, gcs) or container (azure).")
    prefix: str | None = optional("Path prefix inside the bucket.")
    endpoint: str | None = optional("S3 endpoint URL, for S3-compatible stores.")
    region: str | None = optional("S3 region.")
    storage_account: str | None = optional("Azure storage account.")
    volume: JSON | None = optional(
        "Local: a Kubernetes volume source, for example a persistentVolumeClaim."
    )
    mount_path: str | None = optional("Local: where the volume is mounted.")
    sub_path: str | None = optional("Local: sub-path inside the volume.")


@strawberry.input(
    description=(
        "Access to the storage. Write-only: stored as a Secret beside the BackupStorage, never\n"
        "returned by any query or payload, redacted in plans. Left out for S3 or Azure, the\n"
        "storage uses the workload's own cloud identity."
    )
)
class StorageCredentialsInput:
    access_key_id: str | None = optional("S3: access key ID.")
    secret_access_key: str | None = optional("S3: secret access key.")
    project_id: str | None = optional("GCS: project ID.")
    service_account_key: str | None = optional("GCS: service account key, as JSON text.")
    account_key: str | None = optional("Azure: storage account key.")
    secret_name: str | None = optional(
        "Instead of the values above: an existing Secret in the storage's namespace."
    )


@strawberry.input(description="Input of createBackupStorage.")
class CreateBackupStorageInput:
    cluster: str | None = cluster_field()
    namespace: str = strawberry.field(description="Namespace of the new BackupStorage.")
    name: str = strawberry.field(description="Its name.")
    provider: StorageProvider = strawberry.field(description="The provider.")
    location: StorageLocationInput = strawberry.field(description="Where backups go.")
    credentials: StorageCredentialsInput | None = optional("Access to the storage; write-only.")
    usage: UsagePolicyInput | None = optional("Which namespaces may keep backups here.")
    is_default: bool | None = strawberry.field(
        default=False,
        description=(
            "Whether it is the namespace's default storage (DEFAULT_ALREADY_SET if one is)."
        ),
    )
    deletion_policy: DataDeletionPolicy | None = strawberry.field(
        default=DataDeletionPolicy.DELETE, description="What deleting it does to the data in it."
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createBackupStorage.")
class CreateBackupStoragePayload(Payload):
    backup_storage: BackupStorage | None = strawberry.field(
        default=None, description="The new BackupStorage; null on a dry run or error."
    )


@strawberry.input(description="Input of updateBackupStorage; fields left null keep their value.")
class UpdateBackupStorageInput:
    backup_storage: ObjectRefInput = strawberry.field(description="The BackupStorage to change.")
    location: StorageLocationInput | None = optional(
        "New location; IN_USE while repositories are in it."
    )
    credentials: StorageCredentialsInput | None = optional(
        "New credentials, replacing the old ones; write-only."
    )
    usage: UsagePolicyInput | None = optional(
        "New usage policy; namespaces no longer admitted lose access."
    )
    is_default: bool | None = optional("Make it the namespace default, or not.")
    deletion_policy: DataDeletionPolicy | None = optional("New deletion policy.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateBackupStorage.")
class UpdateBackupStoragePayload(Payload):
    backup_storage: BackupStorage | None = strawberry.field(
        default=None, description="The changed BackupStorage; null on a dry run or error."
    )


@strawberry.input(
    description="Snapshot counts a RetentionPolicy keeps; a null rule keeps nothing by itself."
)
class RetentionCountsInput:
    last: int | None = optional("The newest N.")
    hourly: int | None = optional("One per hour for N hours.")
    daily: int | None = optional("One per day for N days.")
    weekly: int | None = optional("One per week for N weeks.")
    monthly: int | None = optional("One per month for N months.")
    yearly: int | None = optional("One per year for N years.")


@strawberry.input(description="Input of createRetentionPolicy.")
class CreateRetentionPolicyInput:
    cluster: str | None = cluster_field()
    namespace: str = strawberry.field(description="Namespace of the new RetentionPolicy.")
    name: str = strawberry.field(description="Its name.")
    max_retention_period: str | None = optional(
        "Snapshots older than this go, for example 30d, 6mo or 1y2mo3w4d5h6m."
    )
    successful_snapshots: RetentionCountsInput | None = optional(
        "Which successful snapshots to keep."
    )
    failed_snapshots_last: int | None = strawberry.field(
        default=1, description="How many failed snapshots to keep."
    )
    is_default: bool | None = strawberry.field(
        default=False,
        description="Whether it is the namespace's default (DEFAULT_ALREADY_SET if one is).",
    )
    usage: UsagePolicyInput | None = optional(
        "Which namespaces may use it; a user picks among those usable from theirs."
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createRetentionPolicy.")
class CreateRetentionPolicyPayload(Payload):
    retention_policy: RetentionPolicy | None = strawberry.field(
        default=None, description="The new RetentionPolicy; null on a dry run or error."
    )


@strawberry.input(
    description=(
        "Input of updateRetentionPolicy; fields left null keep their value. "
        "It applies from each user's next backup."
    )
)
class UpdateRetentionPolicyInput:
    retention_policy: ObjectRefInput = strawberry.field(
        description="The RetentionPolicy to change."
    )
    max_retention_period: str | None = optional("New maximum age.")
    successful_snapshots: RetentionCountsInput | None = optional(
        "New counts, replacing the old ones."
    )
    failed_snapshots_last: int | None = optional("New count of failed snapshots to keep.")
    is_default: bool | None = optional("Make it the namespace default, or not.")
    usage: UsagePolicyInput | None = optional("New usage policy.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateRetentionPolicy.")
class UpdateRetentionPolicyPayload(Payload):
    retention_policy: RetentionPolicy | None = strawberry.field(
        default=None, description="The changed RetentionPolicy; null on a dry run or error."
    )
