"""SetupState and SetupStatus: a database and its backup setup as one state, for
pipelines (``Database.setupStatus``, ``DatabaseEvent.setupState``)."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.reads.setup import SetupRef
from resolvers.reads.setup import SetupStatus as SetupResult
from schema.common import ObjectRef


@strawberry.enum(description="One state a pipeline can gate on.")
class SetupState(Enum):
    READY = strawberry.enum_value(
        "READY",
        description=(
            "The database is READY, and any backup set up for it works (valid, storage "
            "reachable, first run not failed)."
        ),
    )
    PENDING = strawberry.enum_value(
        "PENDING",
        description=(
            "Not there yet: provisioning, restoring, or waiting for an object named in "
            "`waitingFor`."
        ),
    )
    FAILED = strawberry.enum_value(
        "FAILED",
        description=(
            "Needs a person: the database is NOT_READY, a restore into it failed, or its "
            "backup setup fails."
        ),
    )


@strawberry.type(description="The database and its backup setup, as one state.")
class SetupStatus:
    state: SetupState = strawberry.field(description="The state.")
    reasons: list[str] = strawberry.field(
        description="Plain sentences on what is pending or failed; empty when READY."
    )
    waiting_for: list[ObjectRef] = strawberry.field(
        description="Objects it needs that do not exist yet, for example a BackupStorage not "
        "applied yet."
    )

    @classmethod
    def of(cls, status: SetupResult) -> SetupStatus:
        return cls(
            state=SetupState[status.state],
            reasons=list(status.reasons),
            waiting_for=[_ref(r) for r in status.waiting_for],
        )


def _ref(ref: SetupRef) -> ObjectRef:
    return ObjectRef(
        cluster=ref.cluster,
        api_group=ref.api_group,
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
    )
