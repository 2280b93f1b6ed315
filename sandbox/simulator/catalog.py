"""The catalog the simulator draws on: which Snapshot component and driver each addon task
produces, and the failure messages the backup and restore jobs print.

Facts from the KubeStash API (``apis/constant.go``) and the kubedb-kubestash-catalog
addons. Guesses where the reference is silent: the component of an unknown task is its
name without ``-backup``/``-restore``; every logical backup not listed in
``LOGICAL_DRIVERS`` uses Restic; the failure messages are modelled on what pg_dump,
mysqldump, mongodump, restic and the CSI snapshotter print, not copied from a run.
"""

from __future__ import annotations

import random
from datetime import datetime

# Addon task -> Snapshot component (apis/constant.go and the KubeDB addons).
TASK_COMPONENTS = {
    "logical-backup": "dump",
    "manifest-backup": "manifest",
    "physical-backup": "physical",
    "volume-snapshot": "volumesnapshot",
    "dashboard-backup": "dashboard",
    "logical-backup-restore": "dump",
    "manifest-restore": "manifest",
    "physical-backup-restore": "physical",
    "volume-snapshot-restore": "volumesnapshot",
    "dashboard-restore": "dashboard",
    "distributed-physical-backup-restore": "physical",
}

# The driver of a logical backup per database kind (kubedb-kubestash-catalog addons).
LOGICAL_DRIVERS = {
    "MSSQLServer": "WalG",
    "ClickHouse": "ClickHouseBackup",
    "Cassandra": "Medusa",
    "Neo4j": "Neo4jAdmin",
    "Solr": "Solr",
}

# Realistic failure messages (what the backup/restore jobs and sidecars print).
_BACKUP_ERRORS = {
    "Postgres": [
        'pg_dumpall: error: connection to server at "{host}" (10.0.0.17), port 5432 failed: '
        "FATAL:  the database system is shutting down",
        "pg_dump: error: query failed: ERROR:  canceling statement due to conflict with recovery",
    ],
    "MySQL": [
        "mysqldump: Got error: 2013: Lost connection to MySQL server during query when "
        "dumping table `orders` at row: 48213",
        "mysqldump: Couldn't execute 'FLUSH TABLES WITH READ LOCK': Lock wait timeout "
        "exceeded; try restarting transaction (1205)",
    ],
    "MariaDB": [
        "mariadb-dump: Got error: 2013: Lost connection to server during query when dumping "
        "table `orders` at row: 10342",
    ],
    "MongoDB": [
        "mongodump: Failed: error connecting to db server: server returned error on SASL "
        "authentication step: Authentication failed.",
    ],
    "Redis": ["redis-dump-go: error: dial tcp {host}:6379: connect: connection refused"],
}
_STORAGE_ERRORS = [
    "Fatal: unable to save snapshot: client.PutObject: RequestTimeout: Your socket "
    "connection to the server was not read from or written to within the timeout period.",
    "Fatal: unable to create lock in backend: repository is already locked exclusively by "
    "PID 41 on {host} by root (UID 0, GID 0)",
]
_VOLUME_SNAPSHOT_ERROR = (
    "VolumeSnapshot {pvc}-{stamp} failed: rpc error: code = ResourceExhausted desc = the "
    "maximum number of snapshots for this volume has been reached"
)
_RESTORE_ERRORS = {
    "Postgres": [
        'psql:/kubestash-tmp/dumpfile.sql:1042: ERROR:  could not extend file "base/16384/'
        '16397": No space left on device',
    ],
    "MySQL": ["ERROR 1062 (23000) at line 845: Duplicate entry '1001' for key 'orders.PRIMARY'"],
    "MariaDB": ["ERROR 1114 (HY000) at line 312: The table 'events' is full"],
    "MongoDB": [
        "mongorestore: Failed: app.orders: error restoring from archive: E11000 duplicate key "
        "error collection: app.orders index: _id_",
    ],
}
_GENERIC_RESTORE_ERRORS = [
    "restic: Fatal: wrong password or no key found",
    "restic: Fatal: unable to open repository: Stat: The specified key does not exist.",
]
_LOG_ERRORS = {
    "Postgres": "failed to push wal segment {segment}: RequestTimeout: request timed out",
    "MySQL": "failed to upload binlog mysql-bin.{seq:06d}: RequestError: send request failed: "
    "dial tcp: i/o timeout",
    "MariaDB": "failed to upload binlog mariadb-bin.{seq:06d}: RequestError: send request "
    "failed: dial tcp: i/o timeout",
    "MongoDB": "failed to upload oplog chunk {seq}: context deadline exceeded",
}


def component_of(task: str) -> str:
    """The Snapshot component an addon task writes (or reads, for a restore task)."""
    if task in TASK_COMPONENTS:
        return TASK_COMPONENTS[task]
    for suffix in ("-backup-restore", "-restore", "-backup"):
        if task.endswith(suffix) and len(task) > len(suffix):
            return task[: -len(suffix)]
    return task


def driver_of(kind: str, component: str) -> str:
    """The driver that backs up ``component`` of a database of ``kind``."""
    if component == "volumesnapshot":
        return "VolumeSnapshotter"
    if component == "dump":
        return LOGICAL_DRIVERS.get(kind, "Restic")
    return "Restic"


def backup_error(
    rng: random.Random, *, kind: str, app: tuple[str, str], component: str, now: datetime
) -> str:
    """What a failed backup of ``component`` of the database ``app`` (namespace, name)
    prints."""
    namespace, name = app
    if component == "volumesnapshot":
        return _VOLUME_SNAPSHOT_ERROR.format(pvc=f"data-{name}-0", stamp=int(now.timestamp()))
    choices = [*_BACKUP_ERRORS.get(kind, []), *_STORAGE_ERRORS]
    return rng.choice(choices).format(host=f"{name}.{namespace}.svc")


def restore_error(rng: random.Random, kind: str) -> str:
    """What a failed restore of a database of ``kind`` prints."""
    return rng.choice([*_RESTORE_ERRORS.get(kind, []), *_GENERIC_RESTORE_ERRORS])


def log_error(kind: str, seq: int) -> str:
    """What a failed push of log segment number ``seq`` prints."""
    segment = f"{1:08X}{0:08X}{seq:08X}"
    return _LOG_ERRORS.get(kind, "failed to upload log: i/o timeout").format(
        segment=segment, seq=seq
    )
