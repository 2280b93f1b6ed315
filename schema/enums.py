"""GraphQL enums. Phases are the Kubernetes values in SCREAMING_SNAKE_CASE.

Member names equal their values so resolvers can turn the names produced by
``apis.objects`` (for example ``objects.snapshot_phase``) into members with
``SnapshotPhase(name)``; a unit test keeps both lists in step.
"""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="KubeDB database phase (`status.phase`).")
class DatabasePhase(Enum):
    PROVISIONING = "PROVISIONING"
    DATA_RESTORING = strawberry.enum_value(
        "DATA_RESTORING", description="A KubeStash restore into this database is running."
    )
    READY = "READY"
    CRITICAL = strawberry.enum_value(
        "CRITICAL", description="Accepting connections, but some replicas are not ready."
    )
    NOT_READY = "NOT_READY"
    HALTED = strawberry.enum_value(
        "HALTED", description="Halted: everything but the volumes was removed."
    )
    UNKNOWN = strawberry.enum_value(
        "UNKNOWN", description="No phase reported, an unrecognised phase, or health checks paused."
    )


@strawberry.enum(description="Snapshot `spec.type`.")
class SnapshotType(Enum):
    FULL = strawberry.enum_value("FULL", description="FullBackup.")
    INCREMENTAL = strawberry.enum_value(
        "INCREMENTAL", description="IncrementalBackup, for example an archiver's log backup."
    )


@strawberry.enum(description="Snapshot `status.phase` (also used for its components).")
class SnapshotPhase(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="BackupSession `status.phase`.")
class BackupSessionPhase(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@strawberry.enum(description="RestoreSession `status.phase`.")
class RestoreSessionPhase(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INVALID = strawberry.enum_value(
        "INVALID", description="The RestoreSession failed validation (ValidationPassed=False)."
    )
    UNKNOWN = "UNKNOWN"


@strawberry.enum(
    description="How a backup is taken; derived from addon task names and snapshot components."
)
class BackupMethod(Enum):
    LOGICAL = strawberry.enum_value(
        "LOGICAL", description="A logical dump (task logical-backup, component dump)."
    )
    PHYSICAL = strawberry.enum_value(
        "PHYSICAL", description="A copy of the data files (task physical-backup)."
    )
    VOLUME_SNAPSHOT = strawberry.enum_value(
        "VOLUME_SNAPSHOT", description="CSI volume snapshots (task volume-snapshot)."
    )
    CONTINUOUS = strawberry.enum_value(
        "CONTINUOUS",
        description="Continuous log shipping (WAL, binlog, oplog) by a KubeDB archiver.",
    )
    MANIFEST = strawberry.enum_value(
        "MANIFEST", description="The database's own manifests (task manifest-backup)."
    )


@strawberry.enum(description="Overall backup health of a database.")
class BackupHealth(Enum):
    NOT_CONFIGURED = "NOT_CONFIGURED"
    HEALTHY = "HEALTHY"
    WARNING = "WARNING"
    FAILING = "FAILING"


@strawberry.enum(
    description="Which namespaces may use a shared object (`usagePolicy.allowedNamespaces.from`)."
)
class UsageScope(Enum):
    ALL = strawberry.enum_value("ALL", description="Every namespace.")
    SAME = strawberry.enum_value("SAME", description="Only the object's own namespace.")
    SELECTOR = strawberry.enum_value(
        "SELECTOR", description="Namespaces matching a label selector."
    )


@strawberry.enum(description="Order of time-ordered lists.")
class SortOrder(Enum):
    NEWEST_FIRST = "NEWEST_FIRST"
    OLDEST_FIRST = "OLDEST_FIRST"


@strawberry.enum(description="What happened to an object in a subscription event.")
class ChangeType(Enum):
    INITIAL = strawberry.enum_value(
        "INITIAL",
        description="Current state, sent once per matching object when the subscription starts.",
    )
    ADDED = "ADDED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    RESYNC = strawberry.enum_value(
        "RESYNC",
        description=(
            "Events may have been missed (watch expired, slow consumer): refetch, then continue."
        ),
    )
