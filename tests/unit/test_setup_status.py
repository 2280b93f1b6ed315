"""Database.setupStatus over raw objects: READY, PENDING (with what it waits for) and
FAILED (with reasons), and when a subscription sees the state change."""

from __future__ import annotations

from typing import Any

from resolvers.reads.setup import SetupRef, SetupStates, affected_databases, setup_status
from sandbox import objects as o

Obj = dict[str, Any]
C = "c1"
DB = o.database("Postgres", "app-db", "ci")
EXISTING = {
    ("catalog.kubedb.com", "PostgresVersion", None, "16.4"),
    ("storage.kubestash.com", "BackupStorage", "ci", "s3"),
    ("storage.kubestash.com", "RetentionPolicy", "ci", "keep"),
}


def exists(group: str, kind: str, ns: str | None, name: str) -> bool:
    return (group, kind, ns, name) in EXISTING


def bc(phase: str = "Ready", storage: str = "s3") -> Obj:
    return o.backup_configuration(
        "app-db-backup", DB, storage=("ci", storage), retention=("ci", "keep"), phase=phase
    )


def status(db: Obj = DB, **kw: Any) -> Any:
    return setup_status(cluster=C, database=db, exists=exists, **kw)


def test_ready_database_without_backup_is_ready() -> None:
    got = status()
    assert (got.state, got.reasons, got.waiting_for) == ("READY", [], [])


def test_ready_only_when_its_backup_configuration_is_ready() -> None:
    assert status(configuration=bc()).state == "READY"
    pending = status(configuration=bc("NotReady"))
    assert pending.state == "PENDING"
    assert pending.reasons == ["The BackupConfiguration app-db-backup is not ready yet."]


def test_a_storage_not_applied_yet_is_pending_and_named() -> None:
    got = status(configuration=bc("Invalid", storage="later"))
    assert got.state == "PENDING"
    assert got.waiting_for == [SetupRef(C, "storage.kubestash.com", "BackupStorage", "ci", "later")]
    assert "BackupStorage ci/later" in got.reasons[0]


def test_provisioning_and_restoring_are_pending() -> None:
    assert status(o.database("Postgres", "app-db", "ci", phase="Provisioning")).state == "PENDING"
    restoring = o.database("Postgres", "app-db", "ci", phase="DataRestoring")
    assert status(restoring).reasons == ["Data is being restored into the database app-db."]
    missing_version = o.database("Postgres", "app-db", "ci", version="99", phase="Provisioning")
    got = status(missing_version)
    assert got.waiting_for == [SetupRef(C, "catalog.kubedb.com", "PostgresVersion", None, "99")]


def test_failures_say_why() -> None:
    not_ready = status(o.database("Postgres", "app-db", "ci", phase="NotReady"))
    assert not_ready.state == "FAILED"
    assert not_ready.reasons[0].startswith("The database app-db is NotReady")
    invalid = status(configuration=bc("Invalid"))
    assert invalid.state == "FAILED"
    assert invalid.reasons == [
        "The BackupConfiguration app-db-backup is invalid: backend storage not found"
    ]
    run = o.backup_session("app-db-backup-full-1", bc(), phase="Failed")
    first_run = status(configuration=bc(), last_session=run)
    assert first_run.state == "FAILED"
    assert "app-db-backup-full-1 failed" in first_run.reasons[0]


def test_a_failed_restore_into_it_fails() -> None:
    restore = o.restore_session("restore-1", DB, repository="app-db-backup", phase="Failed")
    got = status(restore=restore)
    assert got.state == "FAILED"
    assert got.reasons[0].startswith("The restore restore-1 into it failed")
    assert (
        status(restore=o.restore_session("restore-2", DB, repository="app-db-backup")).state
        == "PENDING"
    )


def test_a_change_of_the_configuration_is_a_change_of_its_database() -> None:
    assert affected_databases(C, bc()) == [(C, "Postgres", "ci", "app-db")]
    assert affected_databases(C, DB) == [(C, "Postgres", "ci", "app-db")]
    states = SetupStates()
    key = (C, "Postgres", "ci", "app-db")
    assert states.changed(key, "PENDING") == (None, "PENDING")
    assert states.changed(key, "PENDING") is None
    assert states.changed(key, "READY") == ("PENDING", "READY")
