"""Inputs and payloads of pauseDatabaseTraffic, resumeDatabaseTraffic, and the payload of
restoreDatabase (its input, with the restore source, is the restore planner's)."""

from __future__ import annotations

import strawberry

from schema.inputs import ObjectRefInput
from schema.linked import Database, RestoreSession, RestoreWorkflow
from schema.mutations.conventions import Payload, dry_run, idempotency_key, optional


@strawberry.input(description="Input of pauseDatabaseTraffic.")
class PauseDatabaseTrafficInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    reason: str | None = optional("Why; shown on the database.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of pauseDatabaseTraffic.")
class PauseDatabaseTrafficPayload(Payload):
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )


@strawberry.input(description="Input of resumeDatabaseTraffic.")
class ResumeDatabaseTrafficInput:
    database: ObjectRefInput = strawberry.field(description="The database.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of resumeDatabaseTraffic.")
class ResumeDatabaseTrafficPayload(Payload):
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )
    restore: RestoreWorkflow | None = strawberry.field(
        default=None, description="The restore this completed, if one was waiting for it."
    )


@strawberry.type(description="Result of restoreDatabase.")
class RestoreDatabasePayload(Payload):
    restore: RestoreWorkflow | None = strawberry.field(
        default=None, description="The restore, step by step; null on a dry run or error."
    )
    restore_session: RestoreSession | None = strawberry.field(
        default=None,
        description="The RestoreSession restoring the data; null on a dry run or error.",
    )
    database: Database | None = strawberry.field(
        default=None, description="The database; null on a dry run or error."
    )
