"""Parts of an object's status that are plain values: components, the archiver in use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from apis import objects
from schema.enums import SnapshotPhase


@strawberry.type(description="One component of a snapshot (`status.components.<name>`), e.g. dump.")
class SnapshotComponent:
    name: str = strawberry.field(description="Component name, for example dump, manifest or wal.")
    phase: SnapshotPhase | None = strawberry.field(description="Phase of this component.")
    driver: str | None = strawberry.field(description="Driver, for example Restic or WalG.")
    size: str | None = strawberry.field(description="Size of this component's data.")
    duration: str | None = strawberry.field(description="How long it took.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")

    @classmethod
    def all_of(cls, raw: objects.Raw) -> list[SnapshotComponent]:
        """``status.components``, sorted by component name."""
        return [cls.from_raw(n, c) for n, c in objects.named_entries(raw, "status", "components")]

    @classmethod
    def from_raw(cls, name: str, component: Mapping[str, Any]) -> SnapshotComponent:
        phase = objects.component_phase(component)
        return cls(
            name=name,
            phase=SnapshotPhase(phase) if phase is not None else None,
            driver=objects.str_at(component, "driver"),
            size=objects.str_at(component, "size"),
            duration=objects.str_at(component, "duration"),
            error=objects.str_at(component, "error"),
        )


@strawberry.type(description="One component of a restore (`status.components.<name>`).")
class RestoreComponent:
    name: str = strawberry.field(description="Component name, for example dump.")
    phase: str | None = strawberry.field(description="Phase of this component, e.g. Running.")
    percent_done: float | None = strawberry.field(
        description="Progress in percent (`progress.percentDone`)."
    )
    duration: str | None = strawberry.field(description="How long it took.")
    error: str | None = strawberry.field(description="Why it failed, if it did.")

    @classmethod
    def all_of(cls, raw: objects.Raw) -> list[RestoreComponent]:
        """``status.components``, sorted by component name."""
        return [cls.from_raw(n, c) for n, c in objects.named_entries(raw, "status", "components")]

    @classmethod
    def from_raw(cls, name: str, component: Mapping[str, Any]) -> RestoreComponent:
        return cls(
            name=name,
            phase=objects.str_at(component, "phase"),
            percent_done=objects.percent(objects.dig(component, "progress", "percentDone")),
            duration=objects.str_at(component, "duration"),
            error=objects.str_at(component, "error"),
        )


@strawberry.type(description="The KubeDB archiver (continuous backup) a database uses.")
class ArchiverStatus:
    kind: str = strawberry.field(description="Archiver kind, for example PostgresArchiver.")
    namespace: str = strawberry.field(description="Namespace of the archiver.")
    name: str = strawberry.field(description="Name of the archiver.")
    paused: bool = strawberry.field(
        description="Whether archiving is paused (`spec.archiver.pause`)."
    )

    @classmethod
    def of(cls, database: objects.Raw) -> ArchiverStatus | None:
        """The archiver a database names (``spec.archiver.ref``), if any."""
        name = objects.str_at(database, "spec", "archiver", "ref", "name")
        if name is None:
            return None
        return cls(
            # Each archiver kind is named after its database kind (PostgresArchiver, ...).
            kind=f"{objects.kind_of(database) or ''}Archiver",
            namespace=objects.str_at(database, "spec", "archiver", "ref", "namespace")
            or objects.namespace_of(database)
            or "",
            name=name,
            paused=objects.bool_at(database, "spec", "archiver", "pause") or False,
        )
