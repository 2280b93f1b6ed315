"""Pausing a database's scheduled backups for a restore, and resuming exactly those.

A restore pauses the BackupConfigurations targeting the database that are running, and
records which (the workflow's ``pausedBackups``), so resuming afterwards leaves alone
any a user had paused before: they stay paused, as the user wanted.
"""

from __future__ import annotations

from collections.abc import Sequence

from apis import objects
from apis.resources import BACKUP_CONFIGURATIONS
from resolvers.reads.workflows import Ref
from resolvers.writes.backup.common import Database, configurations_of, whole_body
from resolvers.writes.plan import Change, Store


def pause_backup_changes(
    db: Database, *, store: Store, cluster: str
) -> tuple[list[Change], list[Ref]]:
    """PATCHes pausing the running configurations, and the ones they pause."""
    changes: list[Change] = []
    paused: list[Ref] = []
    for bc in configurations_of(store, cluster=cluster, db=db):
        name = objects.name_of(bc)
        if objects.bool_at(bc, "spec", "paused"):
            continue  # paused by someone before: not ours to resume later
        spec = dict(objects.mapping_at(bc, "spec"))
        spec["paused"] = True
        changes.append(
            Change(
                "PATCH",
                cluster,
                BACKUP_CONFIGURATIONS,
                db.namespace,
                name,
                f"Pause BackupConfiguration {db.namespace}/{name} while restoring, so no "
                "backup is taken of half-restored data.",
                whole_body(bc, spec=spec),
            )
        )
        paused.append(Ref(db.namespace, name))
    return changes, paused


def resume_backup_changes(refs: Sequence[Ref], *, store: Store, cluster: str) -> list[Change]:
    """PATCHes resuming exactly ``refs`` (NONE for those already running or gone)."""
    changes: list[Change] = []
    for ref in refs:
        bc = store.get(cluster, BACKUP_CONFIGURATIONS, ref.namespace, ref.name)
        what = f"BackupConfiguration {ref.namespace}/{ref.name}"
        if bc is None or not objects.bool_at(bc, "spec", "paused"):
            state = "is gone" if bc is None else "is already running"
            changes.append(
                Change(
                    "NONE",
                    cluster,
                    BACKUP_CONFIGURATIONS,
                    ref.namespace,
                    ref.name,
                    f"{what} {state}.",
                )
            )
            continue
        spec = dict(objects.mapping_at(bc, "spec"))
        spec["paused"] = False
        changes.append(
            Change(
                "PATCH",
                cluster,
                BACKUP_CONFIGURATIONS,
                ref.namespace,
                ref.name,
                f"Resume {what}, paused for the restore.",
                whole_body(bc, spec=spec),
            )
        )
    return changes
