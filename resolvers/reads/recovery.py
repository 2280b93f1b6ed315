"""The recovery window of a database with continuous (archiver) backup.

The archiver's sidekick keeps one long-lived Snapshot of type IncrementalBackup for the
database; its log components (``wal`` for Postgres, ``log`` for MySQL, one per replica
or shard for MongoDB) carry ``logStats``: the first and last log still in the
repository, and recent pushes. The full (base) backups are ordinary FullBackup
Snapshots of the same database. A time can be recovered if a base backup was taken at or
before it and logs reach from that backup to it, so the window starts at the later of
the oldest base backup and the oldest log, and ends at the newest shipped log.
Snapshots are found through the app-ref index, never by their names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apis import objects
from apis.resources import STORAGE
from core.times import parse_time
from resolvers.reads.graph import Graph, Item


@dataclass
class Window:
    start: datetime | None = None
    end: datetime | None = None
    lsn: str | None = None
    base_backups: list[Item] = field(default_factory=list)
    healthy: bool = True
    last_error: str | None = None
    log_start: datetime | None = None


def _latest(entries: list[Any], key: str) -> dict[str, Any] | None:
    valid = [e for e in entries if isinstance(e, dict)]
    return max(valid, key=lambda e: str(e.get(key) or ""), default=None)


def recovery_window(graph: Graph, database: Item) -> Window | None:
    app = (database.resource.kind, database.namespace, database.name)
    snapshots = graph.related(database.cluster, STORAGE, "Snapshot", "app", app)
    incremental = [s for s in snapshots if objects.snapshot_type(s.raw) == "INCREMENTAL"]
    if not incremental:
        return None
    # Several would be unusual; the newest one is what the archiver writes to.
    log_snapshot = max(incremental, key=lambda s: objects.name_of(s.raw))
    components = [
        (name, objects.mapping_at(component, "logStats"))
        for name, component in objects.named_entries(log_snapshot.raw, "status", "components")
        if objects.mapping_at(component, "logStats")
    ]
    window = Window()
    starts = [t for _, ls in components if (t := parse_time(ls.get("start")))]
    ends = [t for _, ls in components if (t := parse_time(ls.get("end")))]
    # With one log stream per replica or shard, only times every stream covers count.
    window.log_start = max(starts) if starts else None
    window.end = min(ends) if ends else None
    window.lsn = next((str(ls["lsn"]) for _, ls in components if ls.get("lsn")), None)

    for _, stats in components:
        failed = _latest(list(stats.get("lastFailedStats") or []), "end")
        succeeded = _latest(list(stats.get("lastSucceededStats") or []), "end")
        if failed is not None and str(failed.get("end") or "") > str(
            (succeeded or {}).get("end") or ""
        ):
            window.healthy = False
            window.last_error = str(failed.get("error") or "log push failed")
        elif failed is not None and window.last_error is None and failed.get("error"):
            window.last_error = str(failed["error"])

    window.base_backups = sorted(
        (
            s
            for s in snapshots
            if objects.snapshot_type(s.raw) == "FULL"
            and objects.snapshot_phase(s.raw) == "SUCCEEDED"
            and set(objects.snapshot_methods(s.raw)) & {"PHYSICAL", "VOLUME_SNAPSHOT", "LOGICAL"}
        ),
        key=lambda s: str(objects.dig(s.raw, "status", "snapshotTime") or ""),
    )
    base_times = [
        t
        for s in window.base_backups
        if (t := parse_time(objects.dig(s.raw, "status", "snapshotTime")))
    ]
    candidates = [t for t in (window.log_start, min(base_times) if base_times else None) if t]
    window.start = max(candidates) if candidates else None
    if not base_times:
        window.healthy = False
        window.last_error = window.last_error or (
            "No full backup has succeeded yet, so there is nothing to replay logs onto."
        )
    if window.start and window.end and window.start > window.end:
        window.healthy = False
    return window
