"""Mutation fields for admins: storages, retention, backup policies, hooks, archivers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from apis.resources import ARCHIVER, CORE, STORAGE
from core.ids import encode_id
from resolvers.writes import admin
from resolvers.writes.admin import inputs as admin_in
from resolvers.writes.run import Result
from schema.archivers import ArchiverPolicy
from schema.hooks import HookTemplate
from schema.info import Info
from schema.linked import BackupSession
from schema.mutations import backup as backup_types
from schema.mutations import hooks, policies, storage
from schema.mutations.calls import answered, answered_all, answered_storage, call
from schema.mutations.convert import payload
from schema.policies import BackupMethodInfo, BackupPolicy
from schema.storage import RetentionPolicy

# deletePolicyObject's kinds as (API group, kind; None: any kind of the group).
_POLICY_OBJECTS: dict[str, tuple[str, str | None]] = {
    "BACKUP_STORAGE": (STORAGE, "BackupStorage"),
    "RETENTION_POLICY": (STORAGE, "RetentionPolicy"),
    "BACKUP_POLICY": (CORE, "BackupBlueprint"),
    "HOOK_TEMPLATE": (CORE, "HookTemplate"),
    "ARCHIVER_POLICY": (ARCHIVER, None),
}


def impact_of(r: Result) -> backup_types.BackupImpact | None:
    """The impact of the setup, also on dry runs; null on error."""
    if r.impact is None or not r.ok:
        return None
    return backup_types.BackupImpact(
        unavailable_during_setup=r.impact.unavailable_during_setup,
        methods=[BackupMethodInfo.of(m) for m in r.impact.methods],
    )


def deleted_id(r: Result) -> strawberry.ID | None:
    if not r.ok or r.dry_run:
        return None
    for change in r.plan.changes:
        if change.action == "DELETE" and change.kind != "Secret":
            return strawberry.ID(
                encode_id(
                    cluster=change.cluster,
                    api_group=change.resource.group,
                    kind=change.kind,
                    namespace=change.namespace,
                    name=change.name,
                )
            )
    return None


def sessions(r: Result) -> list[BackupSession] | None:
    if not r.ok or r.dry_run:
        return None
    return answered_all(r, BackupSession)


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(
        description=(
            "Adds a BackupStorage. Credentials are write-only: kept in a Secret, never returned, "
            "redacted in plans."
        )
    )
    async def create_backup_storage(
        self,
        info: Info,
        input: Annotated[
            storage.CreateBackupStorageInput, strawberry.argument(description="The storage.")
        ],
    ) -> storage.CreateBackupStoragePayload:
        r = await call(
            info,
            mutation="createBackupStorage",
            given=input,
            target=admin_in.CreateBackupStorage,
            planner=admin.plan_create_backup_storage,
            cluster=input.cluster,
        )
        return payload(
            storage.CreateBackupStoragePayload,
            r.plan,
            backup_storage=answered_storage(info, r),
        )

    @strawberry.mutation(
        description="Changes a BackupStorage, for example to rotate its credentials."
    )
    async def update_backup_storage(
        self,
        info: Info,
        input: Annotated[
            storage.UpdateBackupStorageInput, strawberry.argument(description="The change.")
        ],
    ) -> storage.UpdateBackupStoragePayload:
        r = await call(
            info,
            mutation="updateBackupStorage",
            given=input,
            target=admin_in.UpdateBackupStorage,
            planner=admin.plan_update_backup_storage,
            refs=[input.backup_storage],
            subject=(input.backup_storage, STORAGE, "BackupStorage"),
            subject_field="backupStorage",
        )
        return payload(
            storage.UpdateBackupStoragePayload,
            r.plan,
            backup_storage=answered_storage(info, r),
        )

    @strawberry.mutation(
        description="Adds a RetentionPolicy: how long, and how many, snapshots are kept."
    )
    async def create_retention_policy(
        self,
        info: Info,
        input: Annotated[
            storage.CreateRetentionPolicyInput, strawberry.argument(description="The policy.")
        ],
    ) -> storage.CreateRetentionPolicyPayload:
        r = await call(
            info,
            mutation="createRetentionPolicy",
            given=input,
            target=admin_in.CreateRetentionPolicy,
            planner=admin.plan_create_retention_policy,
            cluster=input.cluster,
        )
        return payload(
            storage.CreateRetentionPolicyPayload,
            r.plan,
            retention_policy=answered(r, RetentionPolicy),
        )

    @strawberry.mutation(description="Changes a RetentionPolicy.")
    async def update_retention_policy(
        self,
        info: Info,
        input: Annotated[
            storage.UpdateRetentionPolicyInput, strawberry.argument(description="The change.")
        ],
    ) -> storage.UpdateRetentionPolicyPayload:
        r = await call(
            info,
            mutation="updateRetentionPolicy",
            given=input,
            target=admin_in.UpdateRetentionPolicy,
            planner=admin.plan_update_retention_policy,
            refs=[input.retention_policy],
            subject=(input.retention_policy, STORAGE, "RetentionPolicy"),
            subject_field="retentionPolicy",
        )
        return payload(
            storage.UpdateRetentionPolicyPayload,
            r.plan,
            retention_policy=answered(r, RetentionPolicy),
        )

    @strawberry.mutation(
        description=(
            "Adds a BackupPolicy (a BackupBlueprint): sessions and methods, storage, default "
            "retention and schedules, the kinds and namespaces it serves, and what it leaves to "
            "users (schedule, retention, own storage)."
        )
    )
    async def create_backup_policy(
        self,
        info: Info,
        input: Annotated[
            policies.CreateBackupPolicyInput, strawberry.argument(description="The policy.")
        ],
    ) -> policies.CreateBackupPolicyPayload:
        r = await call(
            info,
            mutation="createBackupPolicy",
            given=input,
            target=admin_in.CreateBackupPolicy,
            planner=admin.plan_create_backup_policy,
            cluster=input.cluster,
        )
        return payload(
            policies.CreateBackupPolicyPayload,
            r.plan,
            backup_policy=answered(r, BackupPolicy),
        )

    @strawberry.mutation(description="Changes a BackupPolicy.")
    async def update_backup_policy(
        self,
        info: Info,
        input: Annotated[
            policies.UpdateBackupPolicyInput, strawberry.argument(description="The change.")
        ],
    ) -> policies.UpdateBackupPolicyPayload:
        r = await call(
            info,
            mutation="updateBackupPolicy",
            given=input,
            target=admin_in.UpdateBackupPolicy,
            planner=admin.plan_update_backup_policy,
            refs=[input.backup_policy],
            subject=(input.backup_policy, CORE, "BackupBlueprint"),
            subject_field="backupPolicy",
        )
        return payload(
            policies.UpdateBackupPolicyPayload,
            r.plan,
            backup_policy=answered(r, BackupPolicy),
        )

    @strawberry.mutation(
        description="Adds a HookTemplate, for example a check to run after a restore."
    )
    async def create_hook_template(
        self,
        info: Info,
        input: Annotated[
            hooks.CreateHookTemplateInput, strawberry.argument(description="The template.")
        ],
    ) -> hooks.CreateHookTemplatePayload:
        r = await call(
            info,
            mutation="createHookTemplate",
            given=input,
            target=admin_in.CreateHookTemplate,
            planner=admin.plan_create_hook_template,
            cluster=input.cluster,
        )
        return payload(
            hooks.CreateHookTemplatePayload,
            r.plan,
            hook_template=answered(r, HookTemplate),
        )

    @strawberry.mutation(description="Changes a HookTemplate.")
    async def update_hook_template(
        self,
        info: Info,
        input: Annotated[
            hooks.UpdateHookTemplateInput, strawberry.argument(description="The change.")
        ],
    ) -> hooks.UpdateHookTemplatePayload:
        r = await call(
            info,
            mutation="updateHookTemplate",
            given=input,
            target=admin_in.UpdateHookTemplate,
            planner=admin.plan_update_hook_template,
            refs=[input.hook_template],
            subject=(input.hook_template, CORE, "HookTemplate"),
            subject_field="hookTemplate",
        )
        return payload(
            hooks.UpdateHookTemplatePayload,
            r.plan,
            hook_template=answered(r, HookTemplate),
        )

    @strawberry.mutation(
        description="Adds an ArchiverPolicy: continuous backup, for point-in-time recovery."
    )
    async def create_archiver_policy(
        self,
        info: Info,
        input: Annotated[
            policies.CreateArchiverPolicyInput, strawberry.argument(description="The policy.")
        ],
    ) -> policies.CreateArchiverPolicyPayload:
        r = await call(
            info,
            mutation="createArchiverPolicy",
            given=input,
            target=admin_in.CreateArchiverPolicy,
            planner=admin.plan_create_archiver_policy,
            cluster=input.cluster,
        )
        return payload(
            policies.CreateArchiverPolicyPayload,
            r.plan,
            archiver_policy=answered(r, ArchiverPolicy),
        )

    @strawberry.mutation(description="Changes an ArchiverPolicy.")
    async def update_archiver_policy(
        self,
        info: Info,
        input: Annotated[
            policies.UpdateArchiverPolicyInput, strawberry.argument(description="The change.")
        ],
    ) -> policies.UpdateArchiverPolicyPayload:
        r = await call(
            info,
            mutation="updateArchiverPolicy",
            given=input,
            target=admin_in.UpdateArchiverPolicy,
            planner=admin.plan_update_archiver_policy,
            refs=[input.archiver_policy],
            subject=(input.archiver_policy, ARCHIVER, None),
            subject_field="archiverPolicy",
        )
        return payload(
            policies.UpdateArchiverPolicyPayload,
            r.plan,
            archiver_policy=answered(r, ArchiverPolicy),
        )

    @strawberry.mutation(
        description=(
            "Deletes a storage, retention policy, backup policy, hook template or archiver "
            "policy; IN_USE while anything uses it. A WIPE_OUT storage takes its data with it "
            "(warning BACKUP_DATA_DELETED)."
        )
    )
    async def delete_policy_object(
        self,
        info: Info,
        input: Annotated[
            policies.DeletePolicyObjectInput, strawberry.argument(description="What to delete.")
        ],
    ) -> policies.DeletePolicyObjectPayload:
        r = await call(
            info,
            mutation="deletePolicyObject",
            given=input,
            target=admin_in.DeletePolicyObject,
            planner=admin.plan_delete_policy_object,
            refs=[input.object],
            subject=(input.object, *_POLICY_OBJECTS[input.kind.name]),
            subject_field="object",
        )
        return payload(
            policies.DeletePolicyObjectPayload,
            r.plan,
            deleted_id=deleted_id(r),
        )
