"""Mutation fields for CI pipelines: applyManifests.

A call may run several rounds (apply what can be applied, wait, apply again): each round
goes through the same write pipeline as every mutation, as the caller, with its own
idempotency key derived from the call's (a retried call replays round by round).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.writes.engine import Outcome
from resolvers.writes.idempotency import input_digest
from resolvers.writes.manifests.apply import ManifestOutcome, apply_manifests
from resolvers.writes.manifests.planner import ManifestSettings
from resolvers.writes.plan import Plan, Store
from resolvers.writes.run import resolve_cluster
from schema.info import Info
from schema.mutations import manifests as types
from schema.mutations.calls import services_of


@strawberry.type
class ManifestMutations:
    @strawberry.mutation(
        description=(
            "Applies KubeDB and KubeStash objects (databases, catalog versions, archivers, "
            "storages, policies, configurations, and the Namespaces and Secrets they need) "
            "given in any order: StashQL orders them by their references, so every order "
            "ends the same. Other kinds are FAILED, and if any document fails none is "
            "applied. Gate a pipeline on `Database.setupStatus`."
        )
    )
    async def apply_manifests(
        self,
        info: Info,
        input: Annotated[types.ApplyManifestsInput, strawberry.argument(description="The bundle.")],
    ) -> types.ApplyManifestsPayload:
        services = services_of(info)
        context = info.context
        chosen = resolve_cluster(services.store.clusters(), given=input.cluster, refs=())
        if not isinstance(chosen, str):
            return types.apply_manifests_payload(ManifestOutcome(Plan(errors=[chosen]), []))
        documents = list(input.documents)
        dry_run = bool(input.dry_run)
        key = input.idempotency_key or None
        digest_input = {"cluster": chosen, "documents": documents, "wait": input.wait_seconds}

        async def store() -> Store:
            return services.store

        async def apply_round(plan: Plan, round_no: int) -> Outcome:
            return await services.writer.run(
                plan,
                caller=context.viewer,
                mutation="applyManifests",
                input_digest=input_digest("applyManifests", {**digest_input, "round": round_no}),
                dry_run=dry_run,
                idempotency_key=f"{key}#{round_no}" if key else None,
                request_id=context.request_id,
            )

        outcome = await apply_manifests(
            documents,
            cluster=chosen,
            store=store,
            apply=apply_round,
            wait_seconds=input.wait_seconds or 0,
            dry_run=dry_run,
            settings=ManifestSettings(),
        )
        return types.apply_manifests_payload(outcome)
