"""The inputs of the database and restore mutations, as plain data.

They mirror the GraphQL inputs of ``shared/contract/pending/write.graphql`` field by
field (snake_case names, the contract's defaults, enums as their GraphQL value strings,
JSON as Any), so the GraphQL layer converts by field name. ``dryRun`` and
``idempotencyKey`` are the engine's and are not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from resolvers.writes.backup.inputs import BackupSetupInput, ObjectRefInput


@dataclass(frozen=True)
class LatestSnapshotInput:
    repository: ObjectRefInput | None = None
    database: ObjectRefInput | None = None
    method: str | None = None


@dataclass(frozen=True)
class PointInTimeInput:
    database: ObjectRefInput
    time: datetime


@dataclass(frozen=True)
class RestoreSourceInput:
    snapshot: ObjectRefInput | None = None
    latest: LatestSnapshotInput | None = None
    point_in_time: PointInTimeInput | None = None


@dataclass(frozen=True)
class CreateDatabaseInput:
    namespace: str
    name: str
    kind: str
    version: str
    storage_size: str
    cluster: str | None = None
    storage_class: str | None = None
    replicas: int = 1
    labels: Any = None
    backup: BackupSetupInput | None = None
    init_from: RestoreSourceInput | None = None


@dataclass(frozen=True)
class RestoreCheckInput:
    hook_template: ObjectRefInput
    params: Any = None


@dataclass(frozen=True)
class RestoreDatabaseInput:
    database: ObjectRefInput
    source: RestoreSourceInput
    pause_traffic: bool = True
    resume: str = "AUTOMATIC"
    checks: tuple[RestoreCheckInput, ...] | None = None
    tasks: Sequence[str] | None = None


@dataclass(frozen=True)
class RestoreToNewDatabaseInput:
    source: RestoreSourceInput
    namespace: str
    name: str
    cluster: str | None = None
    storage_size: str | None = None
    storage_class: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class SecretData:
    """A Secret the mutation read as the caller before planning, to copy across clusters.

    Its values never reach a repr (and so no log line).
    """

    namespace: str
    name: str
    data: Mapping[str, str] = field(repr=False)
    type: str = "Opaque"
