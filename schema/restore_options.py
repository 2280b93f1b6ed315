"""``RestoreOptions``: what a database (also a deleted one) or a repository can be
restored from. Which snapshots are restorable is ``resolvers/restores.py``; this pages
them. The Query field is wired with the other read fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry

from apis.resources import REPOSITORIES, SNAPSHOTS
from resolvers.reads.graph import Item
from resolvers.restores import RestoreOptionsData
from schema.enums import SortOrder
from schema.linked import RecoveryWindow, Repository, SnapshotConnection

PageSize = Annotated[int | None, strawberry.argument(description="Page size.")]
Cursor = Annotated[str | None, strawberry.argument(description="Continue after this cursor.")]
Pager = Callable[[int | None, str | None], SnapshotConnection]
# Left out rather than null: the contract states these arguments without a default.
_LEFT_OUT: Any = strawberry.UNSET


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def _pager(items: list[Item]) -> Pager:
    def page(first: int | None, after: str | None) -> SnapshotConnection:
        return SnapshotConnection.joined(
            items, None, SortOrder.NEWEST_FIRST, first=first, after=after
        )

    return page


@strawberry.type(
    description=(
        "What a database, or a deleted database's backups, can be restored from. Restorable: "
        "the\nsnapshot succeeded, did not fail its integrity check, holds data, and the addon "
        "restores it."
    )
)
class RestoreOptions:
    repositories: list[Repository] = strawberry.field(
        description="Repositories holding its backups."
    )
    recovery_window: RecoveryWindow | None = strawberry.field(
        description="Times it can be recovered to; null without continuous backup."
    )
    physical: strawberry.Private[Pager]
    logical: strawberry.Private[Pager]

    @strawberry.field(
        description=(
            "Restorable snapshots with physical data (PHYSICAL or VOLUME_SNAPSHOT), newest first."
        )
    )
    def physical_snapshots(
        self, first: PageSize = _LEFT_OUT, after: Cursor = _LEFT_OUT
    ) -> SnapshotConnection:
        return self.physical(_given(first), _given(after))

    @strawberry.field(description="Restorable snapshots with a logical dump, newest first.")
    def logical_snapshots(
        self, first: PageSize = _LEFT_OUT, after: Cursor = _LEFT_OUT
    ) -> SnapshotConnection:
        return self.logical(_given(first), _given(after))

    @classmethod
    def of(cls, options: RestoreOptionsData) -> RestoreOptions:
        cluster = options.cluster
        window = options.recovery_window
        return cls(
            repositories=[
                Repository.from_item(Item(cluster, raw, REPOSITORIES))
                for raw in options.repositories
            ],
            recovery_window=RecoveryWindow.of(window) if window is not None else None,
            physical=_pager([Item(cluster, raw, SNAPSHOTS) for raw in options.physical_snapshots]),
            logical=_pager([Item(cluster, raw, SNAPSHOTS) for raw in options.logical_snapshots]),
        )
