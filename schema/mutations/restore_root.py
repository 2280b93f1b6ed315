"""Mutation fields for new databases and restores: createDatabase, restoreToNewDatabase.

A restore into another cluster copies the source's storage-credentials and encryption
Secrets into the target. The gateway itself may not read Secrets, so before planning
they are read *as the caller* (``prepare``): a caller who may not read them is refused
with FORBIDDEN, and nothing is planned.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from apis.resources import SECRETS, STORAGE
from auth.access import Check
from resolvers.writes import restore
from resolvers.writes.plan import UserError
from schema.info import Info, graph_of
from schema.linked import Database, RestoreSession
from schema.mutations import restore as types
from schema.mutations.calls import answered, call, services_of
from schema.mutations.convert import payload


def _source_refs(source: Any) -> list[Any]:
    """The object references of a RestoreSourceInput (their clusters name the source's)."""
    if source is None:
        return []
    latest = getattr(source, "latest", None)
    point = getattr(source, "point_in_time", None)
    return [
        getattr(source, "snapshot", None),
        getattr(latest, "repository", None) if latest else None,
        getattr(latest, "database", None) if latest else None,
        getattr(point, "database", None) if point else None,
    ]


def _preparer(info: Info, *, target_cluster: str | None, target_namespace: str) -> Any:
    """``prepare`` for the new-database planners: the Secrets a cross-cluster restore
    copies, read as the caller, and whether the caller may make a BackupStorage there."""

    async def prepare(cluster: str, inp: Any) -> dict[str, Any] | UserError:
        services = services_of(info)
        source = getattr(inp, "init_from", None) or getattr(inp, "source", None)
        if source is None:
            return {}
        wanted = restore.secrets_to_copy(
            services.store, source, default_cluster=cluster, target_cluster=target_cluster
        )
        secrets: list[restore.SecretData] = []
        for where, namespace, name in wanted:
            found = await services.writer.read_as_caller(
                cluster=where,
                caller=info.context.viewer,
                resource=SECRETS,
                namespace=namespace,
                name=name,
            )
            if isinstance(found, UserError):
                return UserError(found.code, found.message, ("source",))
            data = found.get("data") or {}
            secrets.append(
                restore.SecretData(
                    namespace=namespace,
                    name=name,
                    data={str(k): str(v) for k, v in data.items()},
                    type=str(found.get("type") or "Opaque"),
                )
            )
        if not wanted:
            return {"secrets": ()}
        target = target_cluster or cluster
        check = Check(target, "create", STORAGE, "backupstorages", target_namespace)
        decided = await graph_of(info).access.check([check])
        return {"secrets": tuple(secrets), "can_create_storage": decided.get(check, False)}

    return prepare


@strawberry.type
class RestoreMutations:
    @strawberry.mutation(
        description="Deploys a new database, optionally backed up and filled from a backup."
    )
    async def create_database(
        self,
        info: Info,
        input: Annotated[
            types.CreateDatabaseInput, strawberry.argument(description="The database.")
        ],
    ) -> types.CreateDatabasePayload:
        r = await call(
            info,
            mutation="createDatabase",
            given=input,
            target=restore.CreateDatabaseInput,
            planner=restore.plan_create_database,
            cluster=input.cluster,
            with_now=True,
            prepare=_preparer(info, target_cluster=input.cluster, target_namespace=input.namespace),
        )
        return payload(
            types.CreateDatabasePayload,
            r.plan,
            database=answered(r, Database),
            restore_session=answered(r, RestoreSession),
        )

    @strawberry.mutation(
        description=(
            "Deploys a new database with the data of a backup, possibly from another "
            "namespace or cluster. Across clusters the plan also creates, in the target "
            "cluster, a Repository on the same backup location, a BackupStorage for it "
            "unless a usable one exists, the encryption Secret, and the catalog version if "
            "the target lacks it. The new database starts without backup."
        )
    )
    async def restore_to_new_database(
        self,
        info: Info,
        input: Annotated[
            types.RestoreToNewDatabaseInput, strawberry.argument(description="Source and target.")
        ],
    ) -> types.RestoreToNewDatabasePayload:
        r = await call(
            info,
            mutation="restoreToNewDatabase",
            given=input,
            target=restore.RestoreToNewDatabaseInput,
            planner=restore.plan_restore_to_new_database,
            refs=_source_refs(input.source),
            with_now=True,
            prepare=_preparer(info, target_cluster=input.cluster, target_namespace=input.namespace),
        )
        return payload(
            types.RestoreToNewDatabasePayload,
            r.plan,
            database=answered(r, Database),
            restore_session=answered(r, RestoreSession),
        )
