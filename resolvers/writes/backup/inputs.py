"""The inputs of the user's backup mutations, as plain data.

They mirror the GraphQL inputs of ``shared/contract/pending/write.graphql`` field by
field (snake_case names, the contract's defaults, enums as their GraphQL value strings,
JSON as Any), so the GraphQL layer converts by field name. ``dryRun`` and
``idempotencyKey`` are the engine's and are not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectRefInput:
    namespace: str
    name: str
    cluster: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class EncryptionInput:
    secret: ObjectRefInput | None = None
    password: str | None = None

    def __repr__(self) -> str:
        # The password never reaches a log line through a repr.
        shown = "<redacted>" if self.password is not None else None
        return f"EncryptionInput(secret={self.secret!r}, password={shown!r})"


@dataclass(frozen=True)
class SessionScheduleInput:
    session: str
    schedule: str


@dataclass(frozen=True)
class BackupSetupInput:
    policy: ObjectRefInput | None = None
    methods: Sequence[str] | None = None
    archiver_policy: ObjectRefInput | None = None
    schedule: str | None = None
    session_schedules: Sequence[SessionScheduleInput] | None = None
    retention_policy: ObjectRefInput | None = None
    storage: ObjectRefInput | None = None
    encryption: EncryptionInput | None = None
    variables: Any = None


@dataclass(frozen=True)
class EnableBackupInput:
    database: ObjectRefInput
    backup: BackupSetupInput


@dataclass(frozen=True)
class UpdateBackupInput:
    database: ObjectRefInput
    backup: BackupSetupInput


@dataclass(frozen=True)
class DisableBackupInput:
    database: ObjectRefInput
    keep_snapshots: bool = True


@dataclass(frozen=True)
class PauseBackupInput:
    database: ObjectRefInput


@dataclass(frozen=True)
class ResumeBackupInput:
    database: ObjectRefInput


@dataclass(frozen=True)
class TriggerBackupInput:
    database: ObjectRefInput
    sessions: Sequence[str] | None = None
