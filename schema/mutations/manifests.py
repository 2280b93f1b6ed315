"""Input and payload of applyManifests: a CI bundle applied in the order of its
references, with one result per document."""

from __future__ import annotations

from enum import Enum

import strawberry

from resolvers.writes.manifests import ManifestOutcome, ManifestResult, ObjectKey
from schema.common import ObjectRef
from schema.mutations.conventions import (
    MutationWarning,
    Payload,
    UserError,
    cluster_field,
    dry_run,
    idempotency_key,
)
from schema.mutations.convert import payload
from schema.scalars import JSON


@strawberry.enum(description="What happened to one applied document.")
class ManifestState(Enum):
    APPLIED = strawberry.enum_value(
        "APPLIED", description="Stored, and everything it refers to exists."
    )
    WAITING = strawberry.enum_value(
        "WAITING",
        description=(
            "It needs an object that does not exist yet (`waitingFor`). Once stored it "
            "completes by\nitself when that object appears; while its kind or namespace is "
            "missing it is not\nstored: apply again, or wait."
        ),
    )
    FAILED = strawberry.enum_value(
        "FAILED",
        description=(
            "Refused: invalid, forbidden, or a kind StashQL does not apply; `reason` says why."
        ),
    )


@strawberry.type(
    name="ManifestResult",
    description="The result for one document; on a dry run or a refused call, what would happen.",
)
class ManifestResultType:
    index: int = strawberry.field(description="Position in `documents`, from 0.")
    object: ObjectRef | None = strawberry.field(
        description="The object; null if the document names none."
    )
    state: ManifestState = strawberry.field(description="What happened.")
    waiting_for: ObjectRef | None = strawberry.field(description="WAITING: the missing object.")
    reason: str | None = strawberry.field(description="FAILED or WAITING: why, in words.")


@strawberry.input(description="Input of applyManifests.")
class ApplyManifestsInput:
    cluster: str | None = cluster_field()
    documents: list[JSON] = strawberry.field(
        description="Kubernetes objects, one JSON object each, in any order."
    )
    wait_seconds: int | None = strawberry.field(
        default=0,
        description=(
            "Keep applying and waiting up to this many seconds until all are APPLIED; 0: "
            "answer at once."
        ),
    )
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of applyManifests.")
class ApplyManifestsPayload(Payload):
    warnings: list[MutationWarning] = strawberry.field(
        default_factory=list,
        description="Effects to know about, for example WAITING_FOR_DEPENDENCY.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=(
            "Why nothing was changed: one per FAILED document, with field [documents, index]."
        ),
    )
    results: list[ManifestResultType] = strawberry.field(
        default_factory=list, description="One result per document, in the order given."
    )


def object_ref(key: ObjectKey | None) -> ObjectRef | None:
    if key is None:
        return None
    return ObjectRef(
        cluster=key.cluster,
        api_group=key.group or None,
        kind=key.kind,
        namespace=key.namespace,
        name=key.name,
    )


def manifest_result(r: ManifestResult) -> ManifestResultType:
    return ManifestResultType(
        index=r.index,
        object=object_ref(r.object),
        state=ManifestState[r.state],
        waiting_for=object_ref(r.waiting_for),
        reason=r.reason,
    )


def apply_manifests_payload(outcome: ManifestOutcome) -> ApplyManifestsPayload:
    """The payload of an applyManifests call from ``resolvers.writes.manifests``."""
    return payload(
        ApplyManifestsPayload,
        outcome.plan,
        results=[manifest_result(r) for r in outcome.results],
    )
