"""KubeStash BackupConfigurations: how and when one target is backed up."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import strawberry

from apis import objects
from schema.common import Condition, ObjectRef, conditions_of
from schema.interfaces import Node, Resource

CORE_GROUP = "core.kubestash.com"


@strawberry.type(description="One backup session of a BackupConfiguration (`spec.sessions[]`).")
class BackupConfigurationSession:
    name: str = strawberry.field(description="Session name, for example full-backup.")
    schedule: str | None = strawberry.field(description="Cron schedule (`scheduler.schedule`).")
    next_scheduled_at: datetime | None = strawberry.field(
        description="Next scheduled run (`status.sessions[].nextSchedule`)."
    )
    addon: str | None = strawberry.field(description="Addon name, for example postgres-addon.")
    tasks: list[str] = strawberry.field(description="Addon task names, e.g. logical-backup.")

    @classmethod
    def of(cls, s: objects.ConfiguredSession) -> BackupConfigurationSession:
        return cls(
            name=s.name,
            schedule=s.schedule,
            next_scheduled_at=s.next_scheduled_at,
            addon=s.addon,
            tasks=s.tasks,
        )


@strawberry.type(
    description="A KubeStash BackupConfiguration: how and when one target is backed up."
)
class BackupConfiguration(Node, Resource):
    API_GROUP: ClassVar[str] = CORE_GROUP
    KIND: ClassVar[str] = "BackupConfiguration"

    @strawberry.field(description="`status.phase`: Ready, NotReady or Invalid.")
    def phase(self) -> str | None:
        return objects.str_at(self.raw, "status", "phase")

    @strawberry.field(description="Whether backups are paused (`spec.paused`).")
    def paused(self) -> bool:
        return objects.bool_at(self.raw, "spec", "paused") or False

    @strawberry.field(description="What is backed up (`spec.target`).")
    def target_ref(self) -> ObjectRef | None:
        return ObjectRef.spec_target(self.raw, cluster=self.cluster_name)

    @strawberry.field(description="Sessions with their schedules and next runs.")
    def sessions(self) -> list[BackupConfigurationSession]:
        return [BackupConfigurationSession.of(s) for s in objects.configured_sessions(self.raw)]

    @strawberry.field(description="`status.conditions`, e.g. ValidationPassed.")
    def conditions(self) -> list[Condition]:
        return conditions_of(self.raw)
