"""What a mutation plans: the objects to create, patch or delete, and what to tell the user.

Every mutation is a pipeline (see ``resolvers/writes/__init__.py``): a *planner* turns
the input and the cache into a ``Plan`` without any I/O; the engine then checks each
change with the API server as the caller (``dryRun=All``), applies them as the caller,
and answers with the objects read back. A planner that finds the input wrong puts a
``UserError`` in the plan and no changes; the engine sends nothing then.

The codes are the contract's enums (``shared/contract/pending/write.graphql``), as the
strings the GraphQL layer maps onto its enums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from apis.resources import ResourceType

JSONDict = dict[str, Any]

Action = Literal["CREATE", "PATCH", "DELETE", "NONE", "WAIT"]

WarningCode = Literal[
    "DATABASE_UNAVAILABLE_DURING_SETUP",
    "INITIAL_BACKUP_STARTS",
    "BACKUPS_PAUSED_DURING_RESTORE",
    "TRAFFIC_STOPPED",
    "TRAFFIC_NOT_STOPPED",
    "MANUAL_RESUME_REQUIRED",
    "EXISTING_DATA_KEPT",
    "SNAPSHOTS_KEPT",
    "BACKUP_DATA_DELETED",
    "CATALOG_VERSION_COPIED",
    "STORAGE_SHARED_ACROSS_CLUSTERS",
    "WAITING_FOR_DEPENDENCY",
    "EXISTING_CONFIGURATIONS_UNCHANGED",
]

ErrorCode = Literal[
    "FORBIDDEN",
    "NOT_FOUND",
    "INVALID_INPUT",
    "ADMISSION_DENIED",
    "CONFLICT",
    "IDEMPOTENCY_KEY_REUSED",
    "CLUSTER_UNAVAILABLE",
    "TARGET_EXISTS",
    "IN_USE",
    "DEFAULT_ALREADY_SET",
    "POLICY_NOT_ALLOWED",
    "RETENTION_NOT_ALLOWED",
    "CUSTOM_STORAGE_NOT_ALLOWED",
    "INVALID_SCHEDULE",
    "METHOD_NOT_AVAILABLE",
    "BACKUP_ALREADY_ENABLED",
    "BACKUP_NOT_ENABLED",
    "BACKUP_PAUSED",
    "DATABASE_NOT_READY",
    "SNAPSHOT_NOT_RESTORABLE",
    "NO_RESTORE_TASK",
    "RECOVERY_TIME_OUTSIDE_WINDOW",
    "RECOVERY_NOT_AVAILABLE",
    "RESTORE_IN_PROGRESS",
    "CATALOG_VERSION_MISSING",
    "STORAGE_MISSING_IN_TARGET",
]


@dataclass(frozen=True)
class Change:
    """One step of a plan: what happens to one Kubernetes object."""

    action: Action
    cluster: str
    resource: ResourceType
    namespace: str | None
    name: str
    # One plain sentence saying what this step does.
    summary: str
    # CREATE/PATCH: the object as the caller applies it (server-side apply body: only
    # the fields this call owns). DELETE: the object as it is. NONE/WAIT: may be None.
    body: JSONDict | None = None

    @property
    def api_version(self) -> str:
        return self.resource.api_version

    @property
    def kind(self) -> str:
        return self.resource.kind


@dataclass(frozen=True)
class Warning:
    code: WarningCode
    message: str


@dataclass(frozen=True)
class UserError:
    code: ErrorCode
    message: str
    # Path from the mutation's input object to the field at fault, e.g. ("backup", "schedule").
    field: tuple[str, ...] | None = None


@dataclass
class Plan:
    """The changes in the order they are applied, and what the user should know."""

    changes: list[Change] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    errors: list[UserError] = field(default_factory=list)

    def refuse(self, code: ErrorCode, message: str, *, field: Sequence[str] | None = None) -> Plan:
        self.errors.append(UserError(code, message, tuple(field) if field else None))
        return self

    def warn(self, code: WarningCode, message: str) -> None:
        self.warnings.append(Warning(code, message))

    def add(self, change: Change) -> None:
        self.changes.append(change)

    @property
    def refused(self) -> bool:
        return bool(self.errors)


class Store(Protocol):
    """What planners read: the gateway's cache of one or more clusters.

    It is the gateway's own view, not filtered by the caller's access: a planner may
    follow a reference the caller cannot read (an admin's BackupBlueprint), but its
    messages name only what the input named, and the API server decides at the check
    whether the caller may make each change. Resources are matched by group and kind
    (the version served may differ from the one named).
    """

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None: ...

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]: ...
