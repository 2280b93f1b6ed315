"""Inputs and payloads for new databases and restores: createDatabase,
restoreToNewDatabase, and restoreDatabase's input (its payload returns the restore
workflow, built with the workflow types)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import BackupMethod
from schema.inputs import ObjectRefInput
from schema.linked import Database, RestoreSession
from schema.mutations.backup import BackupSetupInput
from schema.mutations.conventions import (
    CLUSTER,
    MutationWarning,
    Payload,
    PlannedChange,
    dry_run,
    idempotency_key,
    optional,
)
from schema.scalars import JSON
from schema.workflows import TrafficResume

_NAME = "Its name; TARGET_EXISTS if taken."
_NEW_NAMESPACE = "Namespace of the new database."


@strawberry.input(
    description="The newest restorable snapshot of a repository, or of a database's backups."
)
class LatestSnapshotInput:
    repository: ObjectRefInput | None = optional("The repository.")
    database: ObjectRefInput | None = optional(
        "Or a database, possibly deleted; in restoreDatabase null: the one restored into."
    )
    method: BackupMethod | None = optional(
        "Only snapshots taken with this method, for example PHYSICAL."
    )


@strawberry.input(description="A point in time of a database with continuous backup.")
class PointInTimeInput:
    database: ObjectRefInput = strawberry.field(
        description="The source; if deleted, its backups are found by their database reference."
    )
    time: datetime = strawberry.field(
        description=(
            "Inside its recovery window, else RECOVERY_TIME_OUTSIDE_WINDOW before anything is "
            "created."
        )
    )


@strawberry.input(description="Where restored data comes from; give exactly one.")
class RestoreSourceInput:
    snapshot: ObjectRefInput | None = optional(
        "A snapshot, possibly in another namespace or cluster."
    )
    latest: LatestSnapshotInput | None = optional(
        "The newest restorable snapshot, picked when the mutation runs; the plan names it."
    )
    point_in_time: PointInTimeInput | None = optional(
        "A point in time: only into a new database in the source's cluster."
    )


@strawberry.input(
    description=(
        "Input of createDatabase. With `initFrom` the database stays PROVISIONING until its "
        "data\nis restored, and takes the source's auth Secret from the backup so restored "
        "users keep\nworking; a backup in another cluster is made available as in "
        "restoreToNewDatabase. With\n`backup` as well, backup starts once the data is restored."
    )
)
class CreateDatabaseInput:
    cluster: str | None = optional(CLUSTER)
    namespace: str = strawberry.field(description=_NEW_NAMESPACE)
    name: str = strawberry.field(description=_NAME)
    kind: str = strawberry.field(description="KubeDB kind, for example Postgres.")
    version: str = strawberry.field(
        description=(
            "Catalog version, for example 16.4; CATALOG_VERSION_MISSING if the cluster lacks it."
        )
    )
    storage_size: str = strawberry.field(description="Storage size, for example 10Gi.")
    storage_class: str | None = optional("StorageClass; null: the cluster default.")
    replicas: int | None = strawberry.field(default=1, description="Number of replicas.")
    labels: JSON | None = optional("Labels, for example those an ArchiverPolicy selects.")
    backup: BackupSetupInput | None = optional("Backup to set up, as in enableBackup.")
    init_from: RestoreSourceInput | None = optional(
        "Data to start with: a snapshot, the latest of a repository and method, or a point in time."
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createDatabase.")
class CreateDatabasePayload(Payload):
    database: Database | None = strawberry.field(
        default=None, description="The new database; null on a dry run or error."
    )
    restore_session: RestoreSession | None = strawberry.field(
        default=None,
        description=(
            "The restore filling it from a snapshot; null otherwise, on a dry run or error."
        ),
    )


@strawberry.input(
    description="An automatic check run after the data is restored, before traffic resumes."
)
class RestoreCheckInput:
    hook_template: ObjectRefInput = strawberry.field(
        description="The HookTemplate to run; it must admit the database's namespace."
    )
    params: JSON | None = optional("Values for its parameters, name to value.")


@strawberry.input(description="Input of restoreDatabase.")
class RestoreDatabaseInput:
    database: ObjectRefInput = strawberry.field(description="The running database to restore into.")
    source: RestoreSourceInput = strawberry.field(
        description=(
            "A snapshot or the latest one; point in time is refused (RECOVERY_NOT_AVAILABLE)."
        )
    )
    pause_traffic: bool | None = strawberry.field(
        default=True,
        description=(
            "Stop application connections while restoring; false: only with resume AUTOMATIC."
        ),
    )
    resume: TrafficResume | None = strawberry.field(
        default=TrafficResume.AUTOMATIC, description="When traffic resumes."
    )
    checks: list[RestoreCheckInput] | None = optional(
        "Checks to run once the data is restored; need AFTER_CHECKS or MANUAL."
    )
    tasks: list[str] | None = optional(
        "Experts only: restore task names instead of the ones StashQL chooses."
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.input(
    description=(
        "Input of restoreToNewDatabase. The new database takes the settings saved with the\n"
        "backup (kind, version, configuration, auth Secret), with the values given here instead."
    )
)
class RestoreToNewDatabaseInput:
    source: RestoreSourceInput = strawberry.field(
        description="A snapshot from any namespace or cluster, the latest one, or a point in time."
    )
    cluster: str | None = optional("Cluster of the new database; null: the source's.")
    namespace: str = strawberry.field(description=_NEW_NAMESPACE)
    name: str = strawberry.field(description=_NAME)
    storage_size: str | None = optional("Storage size, for example 20Gi; null: as saved.")
    storage_class: str | None = optional(
        "StorageClass; null: as saved, or the cluster default where that one does not exist."
    )
    version: str | None = optional(
        "Catalog version instead of the saved one; physical data needs the same major version."
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of restoreToNewDatabase.")
class RestoreToNewDatabasePayload(Payload):
    plan: list[PlannedChange] = strawberry.field(
        default_factory=list,
        description="The changes, in order, in both clusters when they differ.",
    )
    warnings: list[MutationWarning] = strawberry.field(
        default_factory=list,
        description="Effects to know about, for example CATALOG_VERSION_COPIED.",
    )
    database: Database | None = strawberry.field(
        default=None, description="The new database; null on a dry run or error."
    )
    restore_session: RestoreSession | None = strawberry.field(
        default=None,
        description=(
            "The restore filling it; null for a point in time (KubeDB runs it), a dry run or error."
        ),
    )
