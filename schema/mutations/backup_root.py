"""Mutation fields for users: turning a database's backup on, changing it, pausing it,
running it now and turning it off."""

from __future__ import annotations

from typing import Annotated

import strawberry

from apis.resources import ARCHIVER, CORE, KUBEDB, STORAGE
from core.ids import encode_id
from resolvers.writes import backup
from resolvers.writes.run import Result
from schema.configurations import BackupConfiguration
from schema.info import Info
from schema.linked import BackupSession, Database
from schema.mutations import backup as backup_types
from schema.mutations.calls import answered, answered_all, call, current
from schema.mutations.convert import payload
from schema.policies import BackupMethodInfo

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
class BackupMutations:
    @strawberry.mutation(
        description=(
            "Turns backup on for a database: with a policy it may use and the choices that policy"
            " leaves, or on the user's own storage where allowed, or continuously. Always "
            "includes the manifest-backup task, so the database manifest, its auth Secret and its"
            " catalog version are backed up with the data. Reports the impact, with "
            "DATABASE_UNAVAILABLE_DURING_SETUP when setup interrupts the database. "
            "BACKUP_ALREADY_ENABLED if backup is on."
        )
    )
    async def enable_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.EnableBackupInput, strawberry.argument(description="What to set up.")
        ],
    ) -> backup_types.EnableBackupPayload:
        r = await call(
            info,
            mutation="enableBackup",
            given=input,
            target=backup.EnableBackupInput,
            planner=backup.plan_enable_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.EnableBackupPayload,
            r.plan,
            impact=impact_of(r),
            database=current(info, r, input.database, Database),
            configuration=answered(r, BackupConfiguration),
        )

    @strawberry.mutation(
        description="Changes how a database is backed up; BACKUP_NOT_ENABLED if it is not."
    )
    async def update_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.UpdateBackupInput, strawberry.argument(description="The new setup.")
        ],
    ) -> backup_types.UpdateBackupPayload:
        r = await call(
            info,
            mutation="updateBackup",
            given=input,
            target=backup.UpdateBackupInput,
            planner=backup.plan_update_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.UpdateBackupPayload,
            r.plan,
            impact=impact_of(r),
            database=current(info, r, input.database, Database),
            configuration=answered(r, BackupConfiguration),
        )

    @strawberry.mutation(
        description=(
            "Turns backup off (the user opts out), keeping the snapshots unless asked otherwise. "
            "Continuous backup stops too, and no archiver picks the database up again."
        )
    )
    async def disable_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.DisableBackupInput, strawberry.argument(description="What to turn off.")
        ],
    ) -> backup_types.DisableBackupPayload:
        r = await call(
            info,
            mutation="disableBackup",
            given=input,
            target=backup.DisableBackupInput,
            planner=backup.plan_disable_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.DisableBackupPayload,
            r.plan,
            database=current(info, r, input.database, Database),
        )

    @strawberry.mutation(
        description=(
            "Pauses a database's scheduled and continuous backups until resumeBackup; pausing "
            "twice changes nothing."
        )
    )
    async def pause_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.PauseBackupInput, strawberry.argument(description="The database.")
        ],
    ) -> backup_types.PauseBackupPayload:
        r = await call(
            info,
            mutation="pauseBackup",
            given=input,
            target=backup.PauseBackupInput,
            planner=backup.plan_pause_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.PauseBackupPayload,
            r.plan,
            database=current(info, r, input.database, Database),
        )

    @strawberry.mutation(description="Lets a database's paused backups run on schedule again.")
    async def resume_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.ResumeBackupInput, strawberry.argument(description="The database.")
        ],
    ) -> backup_types.ResumeBackupPayload:
        r = await call(
            info,
            mutation="resumeBackup",
            given=input,
            target=backup.ResumeBackupInput,
            planner=backup.plan_resume_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.ResumeBackupPayload,
            r.plan,
            database=current(info, r, input.database, Database),
        )

    @strawberry.mutation(
        description=(
            "Runs a backup now, outside the schedule; BACKUP_PAUSED while backups are paused."
        )
    )
    async def trigger_backup(
        self,
        info: Info,
        input: Annotated[
            backup_types.TriggerBackupInput, strawberry.argument(description="What to run.")
        ],
    ) -> backup_types.TriggerBackupPayload:
        r = await call(
            info,
            mutation="triggerBackup",
            given=input,
            target=backup.TriggerBackupInput,
            planner=backup.plan_trigger_backup,
            refs=[input.database],
            subject=(input.database, KUBEDB, None),
            subject_field="database",
            with_now=True,
        )
        return payload(
            backup_types.TriggerBackupPayload,
            r.plan,
            backup_sessions=sessions(r),
        )
