"""User inputs and payloads for a database's backup: turn it on, change it, turn it off,
pause, resume, and run it now."""

from __future__ import annotations

import strawberry

from schema.configurations import BackupConfiguration
from schema.enums import BackupMethod
from schema.inputs import ObjectRefInput
from schema.linked import BackupSession, Database
from schema.mutations.conventions import (
    EncryptionInput,
    MutationWarning,
    Payload,
    PlannedChange,
    dry_run,
    idempotency_key,
    optional,
)
from schema.policies import BackupMethodInfo
from schema.scalars import JSON

_DRY_RUN_WITH_IMPACT = "Plan and check only; change nothing. The impact is still reported."


@strawberry.input(description="A schedule for one session.")
class SessionScheduleInput:
    session: str = strawberry.field(
        description="Session name, from `BackupPolicy.choices.sessions`."
    )
    schedule: str = strawberry.field(description="Cron schedule.")


@strawberry.input(
    description=(
        "How to back up a database: with a BackupPolicy and the choices it leaves; or, "
        "without a\npolicy, on the user's own storage, where RBAC lets the caller make "
        "BackupConfigurations\n(one session runs the chosen methods); or continuously through "
        "an ArchiverPolicy, which\nbrings its own full and manifest backups and cannot be "
        "combined with a policy. A\nsession runs when any of its methods is chosen, its other "
        "methods with it. The\ndatabase manifest, its auth Secret and its catalog version are "
        "always backed up."
    )
)
class BackupSetupInput:
    policy: ObjectRefInput | None = optional(
        "The BackupPolicy; it must admit the database (POLICY_NOT_ALLOWED). Null: none."
    )
    methods: list[BackupMethod] | None = optional(
        "Null: all the policy offers, LOGICAL without one. MANIFEST is always added."
    )
    archiver_policy: ObjectRefInput | None = optional(
        "For CONTINUOUS; null: one admitting the database, its namespace first."
    )
    schedule: str | None = optional(
        "Cron schedule of each session the user may schedule; null: the defaults. "
        "Needed without a policy."
    )
    session_schedules: list[SessionScheduleInput] | None = optional(
        "Schedules for single sessions, overriding `schedule`."
    )
    retention_policy: ObjectRefInput | None = optional(
        "One of `choices.retentionPolicies`; null: the policy's default, else the namespace's."
    )
    storage: ObjectRefInput | None = optional(
        "Own BackupStorage: with a policy only if `choices.mayUseOwnStorage`; needed without one."
    )
    encryption: EncryptionInput | None = optional(
        "Encryption; needed with own storage and no policy."
    )
    variables: JSON | None = optional(
        "Values for the policy's other placeholders (`choices.variables`), name to value."
    )


@strawberry.type(description="What turning backup on does to a database.")
class BackupImpact:
    unavailable_during_setup: bool = strawberry.field(
        description="Whether setting it up makes the database unavailable for a while."
    )
    methods: list[BackupMethodInfo] = strawberry.field(
        description="Every method that will run: what users notice, its load, what it can restore."
    )


@strawberry.input(description="Input of enableBackup.")
class EnableBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    backup: BackupSetupInput = strawberry.field(description="How to back it up.")
    dry_run: bool | None = dry_run(_DRY_RUN_WITH_IMPACT)
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of enableBackup.")
class EnableBackupPayload(Payload):
    plan: list[PlannedChange] = strawberry.field(
        default_factory=list,
        description="The changes, in order; always with the manifest-backup task.",
    )
    warnings: list[MutationWarning] = strawberry.field(
        default_factory=list,
        description="Effects to know about, for example DATABASE_UNAVAILABLE_DURING_SETUP.",
    )
    impact: BackupImpact | None = strawberry.field(
        default=None,
        description=(
            "Impact on availability, performance, recoverability; also on dry runs, null on error."
        ),
    )
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )
    configuration: BackupConfiguration | None = strawberry.field(
        default=None,
        description=(
            "Its BackupConfiguration; null on a dry run or error, or until KubeStash made it."
        ),
    )


@strawberry.input(description="Input of updateBackup.")
class UpdateBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    backup: BackupSetupInput = strawberry.field(
        description=(
            "The new setup; it replaces the current one whole and keeps the snapshots taken."
        )
    )
    dry_run: bool | None = dry_run(_DRY_RUN_WITH_IMPACT)
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateBackup.")
class UpdateBackupPayload(Payload):
    impact: BackupImpact | None = strawberry.field(
        default=None, description="Impact of the new setup, also on a dry run; null on error."
    )
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )
    configuration: BackupConfiguration | None = strawberry.field(
        default=None, description="Its BackupConfiguration; null on a dry run or error."
    )


@strawberry.input(description="Input of disableBackup.")
class DisableBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    keep_snapshots: bool | None = strawberry.field(
        default=True,
        description=(
            "Keep repositories and snapshots, still restorable; false deletes them and their data."
        ),
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of disableBackup.")
class DisableBackupPayload(Payload):
    warnings: list[MutationWarning] = strawberry.field(
        default_factory=list,
        description="Effects to know about: SNAPSHOTS_KEPT or BACKUP_DATA_DELETED.",
    )
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )


@strawberry.input(description="Input of pauseBackup.")
class PauseBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of pauseBackup.")
class PauseBackupPayload(Payload):
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )


@strawberry.input(description="Input of resumeBackup.")
class ResumeBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of resumeBackup.")
class ResumeBackupPayload(Payload):
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )


@strawberry.input(description="Input of triggerBackup.")
class TriggerBackupInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    sessions: list[str] | None = optional("Sessions to run now; null: every session.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of triggerBackup.")
class TriggerBackupPayload(Payload):
    backup_sessions: list[BackupSession] | None = strawberry.field(
        default=None,
        description="The backup runs started, one per session; null on a dry run or error.",
    )
