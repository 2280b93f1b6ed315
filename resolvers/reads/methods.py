"""What each way of taking a backup means for the person choosing it.

Which method a task or Snapshot is comes from ``apis.objects`` (task names,
component names, drivers). The texts are shown by the database
creation wizard to people deciding what to enable: they say plainly what happens to the
database, its load, and what can be recovered afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apis import objects

LOGICAL = "LOGICAL"
PHYSICAL = "PHYSICAL"
VOLUME_SNAPSHOT = "VOLUME_SNAPSHOT"
CONTINUOUS = "CONTINUOUS"
MANIFEST = "MANIFEST"

ORDER = (LOGICAL, PHYSICAL, VOLUME_SNAPSHOT, CONTINUOUS, MANIFEST)


@dataclass(frozen=True)
class MethodText:
    availability: str
    performance: str
    recoverability: str
    may_restart_database: bool


TEXTS: dict[str, MethodText] = {
    LOGICAL: MethodText(
        availability=(
            "The database stays online for reads and writes. The dump runs in a separate "
            "Job that connects like any other client; setting it up does not restart or "
            "pause the database."
        ),
        performance=(
            "Every run reads all the data through the database engine: expect extra CPU, "
            "disk and network load for as long as the dump takes, which grows with the "
            "size of the data. A long dump also holds a read snapshot open. For large "
            "databases, schedule it outside busy hours."
        ),
        recoverability=(
            "Restores the data as it was when the dump started, into this database or "
            "another one of a compatible version. Restoring replays statements, so it is "
            "slow for large data sets. Changes made between two runs cannot be recovered."
        ),
        may_restart_database=False,
    ),
    PHYSICAL: MethodText(
        availability=(
            "The database stays online. The data files are copied from the running "
            "server with the engine's own base-backup tool; no restart is needed."
        ),
        performance=(
            "Copies files at storage speed: sustained disk reads and network traffic on "
            "the server it copies from during the run, but less CPU than a logical dump."
        ),
        recoverability=(
            "Restores the whole instance as it was at the end of the backup, much faster "
            "than a logical restore for large data. It needs the same major version and "
            "restores everything, not single databases. Continuous backup replays its "
            "logs on top of such a base backup."
        ),
        may_restart_database=False,
    ),
    VOLUME_SNAPSHOT: MethodText(
        availability=(
            "The database stays online. The storage system snapshots the database's "
            "volumes; the cluster needs a CSI driver and a VolumeSnapshotClass for it."
        ),
        performance=(
            "Close to no load on the database: on copy-on-write storage a snapshot takes "
            "seconds whatever the data size. Keeping many snapshots can slow down some "
            "storage systems."
        ),
        recoverability=(
            "A crash-consistent copy of the volumes at the moment of the snapshot; a "
            "restore creates new volumes from it, the fastest way back for large data. "
            "The snapshots live on the same storage system: if it is lost, so are they."
        ),
        may_restart_database=False,
    ),
    CONTINUOUS: MethodText(
        availability=(
            "The database stays online while it runs. A sidecar ships the write-ahead "
            "log (WAL, binlog or oplog) as it is written. Turning log archiving on for an "
            "existing database may restart its pods once."
        ),
        performance=(
            "A small, steady overhead: log files are uploaded as they fill, plus the "
            "periodic full base backups the recovery window starts from."
        ),
        recoverability=(
            "Point-in-time recovery to any moment inside the recovery window, from the "
            "oldest kept base backup to the last shipped log, always into a new database. "
            "Only writes newer than the last shipped log (usually seconds to minutes) "
            "would be lost."
        ),
        may_restart_database=True,
    ),
    MANIFEST: MethodText(
        availability=(
            "Reads only Kubernetes objects: the database object, its Secrets and its "
            "configuration. The database itself is not touched."
        ),
        performance="Negligible: a few small objects are read from the Kubernetes API.",
        recoverability=(
            "Recreates the database object, its auth and configuration Secrets and init "
            "script, under the same or a new name and namespace. It restores no data on "
            "its own: pair it with a data backup to get a complete database back."
        ),
        may_restart_database=False,
    ),
}


@dataclass(frozen=True)
class MethodInfo:
    method: str
    tasks: list[str]
    text: MethodText


def method_infos(tasks: Iterable[str]) -> list[MethodInfo]:
    """One entry per method the tasks implement, in enum order, with the tasks behind it."""
    by_method: dict[str, list[str]] = {}
    for task in tasks:
        method = objects.method_for_task(task)
        if method is not None and task not in by_method.setdefault(method, []):
            by_method[method].append(task)
    return [
        MethodInfo(method=m, tasks=by_method[m], text=TEXTS[m]) for m in ORDER if m in by_method
    ]
