"""What every mutation shares: the plan, warnings, user errors, and the common inputs.

Every payload implements ``MutationPayload``; its types subclass ``Payload``, which
states the three shared fields once with the short descriptions most payloads use
(``Payload`` is never referenced, so it does not appear in the schema). Every input ends
with ``dryRun`` and ``idempotencyKey``, made by ``dry_run()`` and ``idempotency_key()``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from schema.enums import UsageScope
from schema.inputs import ObjectRefInput
from schema.scalars import JSON


@strawberry.enum(description="What a mutation does, or would do, to one Kubernetes object.")
class PlanAction(Enum):
    CREATE = strawberry.enum_value("CREATE", description="The object is created.")
    PATCH = strawberry.enum_value("PATCH", description="The existing object is changed.")
    DELETE = strawberry.enum_value("DELETE", description="The object is deleted.")
    NONE = strawberry.enum_value(
        "NONE", description="The object is already as asked; nothing is sent."
    )
    WAIT = strawberry.enum_value(
        "WAIT",
        description=(
            "Nothing is written: later steps wait for what `summary` names "
            "(for example a restore to finish)."
        ),
    )


@strawberry.type(description="One step of a mutation's plan.")
class PlannedChange:
    action: PlanAction = strawberry.field(description="What happens to the object.")
    cluster: str = strawberry.field(description="Cluster of the object.")
    api_version: str = strawberry.field(description="For example core.kubestash.com/v1alpha1.")
    kind: str = strawberry.field(description="For example BackupConfiguration.")
    namespace: str | None = strawberry.field(description="Null for cluster-scoped objects.")
    name: str = strawberry.field(description="Object name.")
    summary: str = strawberry.field(description="One plain sentence saying what this step does.")
    object: JSON | None = strawberry.field(
        description=(
            "The object as it will be (for DELETE, as it is); Secret values read <redacted>, "
            "keys are kept."
        )
    )


@strawberry.enum(
    description="Something to know about a mutation that goes ahead (or would, on a dry run)."
)
class WarningCode(Enum):
    DATABASE_UNAVAILABLE_DURING_SETUP = strawberry.enum_value(
        "DATABASE_UNAVAILABLE_DURING_SETUP",
        description="Setup makes the database unavailable for a while, for example a restart.",
    )
    INITIAL_BACKUP_STARTS = strawberry.enum_value(
        "INITIAL_BACKUP_STARTS",
        description="A first backup starts as soon as the setup is ready, and loads the database.",
    )
    BACKUPS_PAUSED_DURING_RESTORE = strawberry.enum_value(
        "BACKUPS_PAUSED_DURING_RESTORE",
        description=(
            "Scheduled backups pause during the restore, so no half-restored data is backed up."
        ),
    )
    TRAFFIC_STOPPED = strawberry.enum_value(
        "TRAFFIC_STOPPED", description="Applications cannot connect until traffic resumes."
    )
    TRAFFIC_NOT_STOPPED = strawberry.enum_value(
        "TRAFFIC_NOT_STOPPED",
        description="Applications keep using the database while its data is replaced.",
    )
    MANUAL_RESUME_REQUIRED = strawberry.enum_value(
        "MANUAL_RESUME_REQUIRED",
        description="Traffic stays paused after the restore until resumeDatabaseTraffic.",
    )
    EXISTING_DATA_KEPT = strawberry.enum_value(
        "EXISTING_DATA_KEPT",
        description=(
            "A logical restore replays the dump over the data there; nothing is removed first."
        ),
    )
    SNAPSHOTS_KEPT = strawberry.enum_value(
        "SNAPSHOTS_KEPT",
        description=(
            "Snapshots are kept and take space; with backup off no retention policy removes them."
        ),
    )
    BACKUP_DATA_DELETED = strawberry.enum_value(
        "BACKUP_DATA_DELETED",
        description="Backup data is deleted from the storage and can no longer be restored.",
    )
    CATALOG_VERSION_COPIED = strawberry.enum_value(
        "CATALOG_VERSION_COPIED",
        description="A catalog version the target cluster lacked is created there (cluster-wide).",
    )
    STORAGE_SHARED_ACROSS_CLUSTERS = strawberry.enum_value(
        "STORAGE_SHARED_ACROSS_CLUSTERS",
        description=(
            "The target cluster gets a BackupStorage on the source's location; "
            "deleting it keeps the data."
        ),
    )
    WAITING_FOR_DEPENDENCY = strawberry.enum_value(
        "WAITING_FOR_DEPENDENCY",
        description=(
            "Something waits for an object that does not exist yet; it completes when that appears."
        ),
    )
    EXISTING_CONFIGURATIONS_UNCHANGED = strawberry.enum_value(
        "EXISTING_CONFIGURATIONS_UNCHANGED",
        description=(
            "Databases already using the policy keep their setup until updateBackup is run "
            "for them."
        ),
    )


# Named MutationWarning in Python so it does not shadow the builtin Warning.
@strawberry.type(name="Warning", description="Something to know about a mutation that goes ahead.")
class MutationWarning:
    code: WarningCode = strawberry.field(description="What kind of warning.")
    message: str = strawberry.field(description="Plain sentence naming the objects concerned.")


@strawberry.enum(description="Why a mutation was refused. Any userError means nothing was changed.")
class UserErrorCode(Enum):
    FORBIDDEN = strawberry.enum_value(
        "FORBIDDEN", description="Kubernetes RBAC does not let the caller make a planned change."
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="A referenced object does not exist, or the caller may not see it."
    )
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT",
        description=(
            "The input is malformed or incomplete, or the API server's schema rejects the result."
        ),
    )
    ADMISSION_DENIED = strawberry.enum_value(
        "ADMISSION_DENIED",
        description=(
            "A KubeDB or KubeStash admission webhook rejected a planned object; "
            "the message is its answer."
        ),
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="An object changed while the mutation ran; retry."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED",
        description="The idempotency key was already used with a different input.",
    )
    CLUSTER_UNAVAILABLE = strawberry.enum_value(
        "CLUSTER_UNAVAILABLE", description="The cluster could not be reached or timed out; retry."
    )
    TARGET_EXISTS = strawberry.enum_value(
        "TARGET_EXISTS",
        description="An object with the name the mutation would create already exists.",
    )
    IN_USE = strawberry.enum_value(
        "IN_USE",
        description=(
            "The object is still used (by repositories, databases, configurations or hooks); "
            "the message names them."
        ),
    )
    DEFAULT_ALREADY_SET = strawberry.enum_value(
        "DEFAULT_ALREADY_SET",
        description="Another BackupStorage or RetentionPolicy is already this namespace's default.",
    )
    POLICY_NOT_ALLOWED = strawberry.enum_value(
        "POLICY_NOT_ALLOWED",
        description=(
            "The BackupPolicy, ArchiverPolicy or HookTemplate does not admit this namespace, "
            "kind or database."
        ),
    )
    RETENTION_NOT_ALLOWED = strawberry.enum_value(
        "RETENTION_NOT_ALLOWED",
        description=(
            "The RetentionPolicy is not one the policy lets the user choose, "
            "or does not admit the namespace."
        ),
    )
    CUSTOM_STORAGE_NOT_ALLOWED = strawberry.enum_value(
        "CUSTOM_STORAGE_NOT_ALLOWED",
        description=(
            "The policy does not leave storage open, or the BackupStorage does not admit "
            "the namespace."
        ),
    )
    INVALID_SCHEDULE = strawberry.enum_value(
        "INVALID_SCHEDULE",
        description="The schedule is not a valid cron expression, or the policy fixes it.",
    )
    METHOD_NOT_AVAILABLE = strawberry.enum_value(
        "METHOD_NOT_AVAILABLE",
        description=(
            "A backup method is not offered by the policy or addon, "
            "or cannot be combined with the others."
        ),
    )
    BACKUP_ALREADY_ENABLED = strawberry.enum_value(
        "BACKUP_ALREADY_ENABLED",
        description="Backup is already set up for this database; use updateBackup.",
    )
    BACKUP_NOT_ENABLED = strawberry.enum_value(
        "BACKUP_NOT_ENABLED", description="Backup is not set up for this database."
    )
    BACKUP_PAUSED = strawberry.enum_value(
        "BACKUP_PAUSED",
        description="This database's backups are paused (by a user or for a restore).",
    )
    DATABASE_NOT_READY = strawberry.enum_value(
        "DATABASE_NOT_READY",
        description=(
            "The database is halted or still provisioning, so nothing can run against it."
        ),
    )
    SNAPSHOT_NOT_RESTORABLE = strawberry.enum_value(
        "SNAPSHOT_NOT_RESTORABLE",
        description=(
            "The snapshot did not succeed, failed its integrity check, holds no data, or does "
            "not fit\nthe target (for example physical data into another major version)."
        ),
    )
    NO_RESTORE_TASK = strawberry.enum_value(
        "NO_RESTORE_TASK",
        description="The target cluster's addon has no restore task for the snapshot's data.",
    )
    RECOVERY_TIME_OUTSIDE_WINDOW = strawberry.enum_value(
        "RECOVERY_TIME_OUTSIDE_WINDOW",
        description=(
            "The time lies outside the source's recovery window (`RecoveryWindow.start` to `end`)."
        ),
    )
    RECOVERY_NOT_AVAILABLE = strawberry.enum_value(
        "RECOVERY_NOT_AVAILABLE",
        description=(
            "The source has no continuous backup, or the target is an existing database "
            "or another cluster."
        ),
    )
    RESTORE_IN_PROGRESS = strawberry.enum_value(
        "RESTORE_IN_PROGRESS",
        description="A restore into this database is still restoring or checking data.",
    )
    CATALOG_VERSION_MISSING = strawberry.enum_value(
        "CATALOG_VERSION_MISSING",
        description=(
            "The target cluster lacks the catalog version; neither the snapshot nor the source "
            "cluster can supply it."
        ),
    )
    STORAGE_MISSING_IN_TARGET = strawberry.enum_value(
        "STORAGE_MISSING_IN_TARGET",
        description=(
            "No BackupStorage on the snapshot's location is usable in the target, and the "
            "caller may not make one."
        ),
    )


@strawberry.type(description="Why a mutation was refused.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What went wrong.")
    message: str = strawberry.field(description="Plain sentence for the user.")
    field: list[str] | None = strawberry.field(
        description=(
            "Path from the input object to the field at fault, for example [backup, schedule]; "
            "null if none."
        )
    )


@strawberry.interface(
    description=(
        "What every mutation returns besides its objects. The plan is filled on dry runs, on\n"
        "success and, as far as it got, on refusals. A userError means nothing was changed: if\n"
        "the cluster refuses a change after the dry run passed, what the call had already "
        "changed\nis undone before it answers."
    )
)
class MutationPayload:
    plan: list[PlannedChange] = strawberry.field(
        description="The changes, in the order they are (or would be) applied."
    )
    warnings: list[MutationWarning] = strawberry.field(description="Effects to know about.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed; empty on success."
    )


@strawberry.type
class Payload(MutationPayload):
    """The shared fields with the descriptions most payloads state; subclass it.

    A payload whose contract words a shared field differently redeclares just that field.
    """

    plan: list[PlannedChange] = strawberry.field(
        default_factory=list, description="The changes, in order."
    )
    warnings: list[MutationWarning] = strawberry.field(
        default_factory=list, description="Effects to know about."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was changed."
    )


DRY_RUN = "Plan and check only; change nothing."


def dry_run(description: str = DRY_RUN) -> Any:
    """The ``dryRun: Boolean = false`` every input ends with."""
    return strawberry.field(default=False, description=description)


def idempotency_key() -> Any:
    """The ``idempotencyKey: String`` every input ends with."""
    return strawberry.field(default=strawberry.UNSET, description="Retry key (see Mutation).")


CLUSTER = "Cluster; may be left out when only one is configured."


def cluster_field() -> Any:
    """The optional ``cluster`` that inputs creating an object start with."""
    return strawberry.field(default=strawberry.UNSET, description=CLUSTER)


def optional(description: str) -> Any:
    """An input field without a default: left out, it is UNSET (the planner's default)."""
    return strawberry.field(default=strawberry.UNSET, description=description)


@strawberry.input(
    description="Which namespaces may use a shared object; left out, only its own namespace may."
)
class UsagePolicyInput:
    from_: UsageScope = strawberry.field(name="from", description="ALL, SAME or SELECTOR.")
    selector: JSON | None = optional("SELECTOR: a label selector on namespaces.")
    namespaces: list[str] | None = optional(
        "SELECTOR shorthand: exactly these namespaces, by name."
    )


@strawberry.enum(description="What deleting an object does to the backup data behind it.")
class DataDeletionPolicy(Enum):
    DELETE = strawberry.enum_value(
        "DELETE", description="The Kubernetes objects go; the data stays in the storage."
    )
    WIPE_OUT = strawberry.enum_value(
        "WIPE_OUT", description="The data in the storage is deleted too."
    )
    RETAIN = strawberry.enum_value(
        "RETAIN", description="Repositories and snapshots stay (archiver policies only)."
    )


@strawberry.input(
    description=(
        "The password that encrypts backups; give one of the two. Keep a copy outside the\n"
        "cluster: without it the backups cannot be read."
    )
)
class EncryptionInput:
    secret: ObjectRefInput | None = optional("An existing Secret holding it (key RESTIC_PASSWORD).")
    password: str | None = optional(
        "The password itself: write-only, stored as a Secret, never returned."
    )
