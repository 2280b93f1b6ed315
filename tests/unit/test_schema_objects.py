"""What clients read: GraphQL answers built from raw Kubernetes objects.

Objects are realistic raw dicts (shaped like the KubeStash/KubeDB docs' examples) fed
through real GraphQL execution, so enum mapping, DateTime/JSON serialisation and field
names are checked the way a client sees them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import graphql
import pytest
import strawberry
from strawberry.types import ExecutionResult

import schema
from apis import objects
from apis.resources import (
    BACKUP_BLUEPRINTS,
    BACKUP_STORAGES,
    HOOK_TEMPLATES,
    RETENTION_POLICIES,
    archiver,
)
from core import quantities
from core.ids import GlobalRef, decode_id
from core.times import parse_time
from resolvers.reads import choosing, summaries
from resolvers.reads.context import ClusterInfo, RequestContext, Viewer
from resolvers.reads.graph import Item
from schema import enums, registry
from schema.archivers import ArchiverPolicy
from schema.configurations import BackupConfiguration
from schema.hooks import HookTemplate
from schema.linked import BackupSession, Database, Repository, RestoreSession, Snapshot
from schema.policies import BackupPolicy
from schema.storage import BackupStorage, RetentionPolicy

# ---------------------------------------------------------------------------
# Fixtures: a request context and realistic raw objects


@dataclass
class StaticClusters:
    infos: list[ClusterInfo] = field(default_factory=list)

    def cluster_infos(self) -> list[ClusterInfo]:
        return list(self.infos)


SYNCED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_context() -> RequestContext:
    return RequestContext(
        viewer=Viewer(username="alice@example.com", groups=("dba", "system:authenticated")),
        clusters=StaticClusters(
            [
                ClusterInfo(
                    name="prod",
                    server="https://10.0.0.1:6443",
                    reachable=True,
                    server_version="v1.33.1",
                    synced_at=SYNCED,
                    kubedb_installed=True,
                    kubestash_installed=True,
                ),
                ClusterInfo(
                    name="staging",
                    server="https://10.0.0.2:6443",
                    reachable=False,
                    error="connection refused",
                ),
            ]
        ),
        request_id="test",
    )


SNAPSHOT: dict[str, Any] = {
    "apiVersion": "storage.kubestash.com/v1alpha1",
    "kind": "Snapshot",
    "metadata": {
        "name": "gcs-postgres-repo-sample-postgres-backup-frequent-backup-1725533628",
        "namespace": "demo",
        "uid": "5b6c6c3e-9a65-4a0e-9f0b-8d1b6d0c1a11",
        "creationTimestamp": "2024-09-05T10:53:48Z",
        "labels": {
            "kubestash.com/app-ref-kind": "Postgres",
            "kubestash.com/app-ref-name": "sample-postgres",
            "kubestash.com/app-ref-namespace": "demo",
            "kubestash.com/repo-name": "gcs-postgres-repo",
        },
        "annotations": {
            "kubedb.com/db-version": "16.1",
            "kubectl.kubernetes.io/last-applied-configuration": '{"huge": "json"}',
        },
    },
    "spec": {
        "appRef": {
            "apiGroup": "kubedb.com",
            "kind": "Postgres",
            "name": "sample-postgres",
            "namespace": "demo",
        },
        "backupSession": "sample-postgres-backup-frequent-backup-1725533628",
        "deletionPolicy": "Delete",
        "repository": "gcs-postgres-repo",
        "session": "frequent-backup",
        "snapshotID": "01J70KJ2Q1ZB8V7F3ZQ5X0Y9AB",
        "type": "FullBackup",
        "version": "v1",
    },
    "status": {
        "components": {
            "manifest": {
                "driver": "Restic",
                "duration": "1.2s",
                "integrity": True,
                "path": "repository/v1/frequent-backup/manifest",
                "phase": "Succeeded",
                "size": "2 KiB",
            },
            "dump": {
                "driver": "Restic",
                "duration": "6.403101319s",
                "integrity": True,
                "path": "repository/v1/frequent-backup/dump",
                "phase": "Succeeded",
                "resticStats": [{"hostPath": "dumpfile.sql", "size": "3.633 KiB"}],
                "size": "1.559 KiB",
            },
        },
        "conditions": [
            {
                "lastTransitionTime": "2024-09-05T10:53:48Z",
                "message": "Recent snapshot list updated successfully",
                "reason": "SuccessfullyUpdatedRecentSnapshotList",
                "status": "True",
                "type": "RecentSnapshotListUpdated",
            }
        ],
        "integrity": True,
        "phase": "Succeeded",
        "size": "1.559 KiB",
        "snapshotTime": "2024-09-05T10:53:48Z",
        "totalComponents": 2,
        "verificationStatus": "NotVerified",
    },
}

POSTGRES: dict[str, Any] = {
    "apiVersion": "kubedb.com/v1",
    "kind": "Postgres",
    "metadata": {
        "name": "sample-postgres",
        "namespace": "demo",
        "uid": "0d1c2b3a-0000-4000-8000-000000000001",
        "creationTimestamp": "2024-09-05T10:00:00Z",
        "labels": {"app": "payments"},
    },
    "spec": {
        "version": "16.1",
        "replicas": 3,
        "deletionPolicy": "WipeOut",
        "storageType": "Durable",
        "storage": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Gi"}},
            "storageClassName": "standard",
        },
        "archiver": {"pause": True, "ref": {"name": "pg-archiver", "namespace": "kubedb"}},
    },
    "status": {
        "phase": "DataRestoring",
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "DataRestoreStarted",
                "status": "True",
                "reason": "DataRestoreStartedByExternalInitializer",
                "lastTransitionTime": "2024-09-05T10:05:00Z",
            }
        ],
    },
}

BACKUP_CONFIGURATION: dict[str, Any] = {
    "apiVersion": "core.kubestash.com/v1alpha1",
    "kind": "BackupConfiguration",
    "metadata": {"name": "sample-postgres-backup", "namespace": "demo", "uid": "bc-1"},
    "spec": {
        "target": {"apiGroup": "kubedb.com", "kind": "Postgres", "name": "sample-postgres"},
        "backends": [
            {
                "name": "gcs-backend",
                "storageRef": {"name": "gcs-storage", "namespace": "demo"},
                "retentionPolicy": {"name": "demo-retention", "namespace": "demo"},
            }
        ],
        "sessions": [
            {
                "name": "frequent-backup",
                "scheduler": {"schedule": "*/5 * * * *", "jobTemplate": {"backoffLimit": 1}},
                "repositories": [{"name": "gcs-postgres-repo", "backend": "gcs-backend"}],
                "addon": {
                    "name": "postgres-addon",
                    "tasks": [{"name": "logical-backup"}, {"name": "manifest-backup"}],
                },
            },
            {"name": "weekly", "scheduler": {"schedule": "0 0 * * 0"}},
        ],
    },
    "status": {
        "phase": "Ready",
        "sessions": [
            {"name": "frequent-backup", "nextSchedule": "2024-09-05T11:00:00Z"},
            {"name": "weekly", "nextSchedule": "2024-09-08 00:00:00 +0000 UTC"},
        ],
        "conditions": [{"type": "ValidationPassed", "status": "True", "reason": "OK"}],
    },
}


@strawberry.type
class ObjectsQuery:
    """A test-only root that serves the objects put in the context."""

    @strawberry.field
    def snapshot(self, info: strawberry.Info[dict[str, Any], None]) -> Snapshot:
        return Snapshot(raw=info.context["snapshot"], cluster_name="prod")

    @strawberry.field
    def database(self, info: strawberry.Info[dict[str, Any], None]) -> Database:
        return Database(raw=info.context["database"], cluster_name="prod")

    @strawberry.field
    def repository(self, info: strawberry.Info[dict[str, Any], None]) -> Repository:
        return Repository(raw=info.context["repository"], cluster_name="prod")

    @strawberry.field
    def storage(self, info: strawberry.Info[dict[str, Any], None]) -> BackupStorage:
        visible = info.context.get("location_visible")
        return BackupStorage(
            raw=info.context["storage"], cluster_name="prod", location_visible=visible
        )

    @strawberry.field
    def retention(self, info: strawberry.Info[dict[str, Any], None]) -> RetentionPolicy:
        return RetentionPolicy(raw=info.context["retention"], cluster_name="prod")

    @strawberry.field
    def configuration(self, info: strawberry.Info[dict[str, Any], None]) -> BackupConfiguration:
        return BackupConfiguration(raw=info.context["configuration"], cluster_name="prod")

    @strawberry.field
    def backup_session(self, info: strawberry.Info[dict[str, Any], None]) -> BackupSession:
        return BackupSession(raw=info.context["backup_session"], cluster_name="prod")

    @strawberry.field
    def restore_session(self, info: strawberry.Info[dict[str, Any], None]) -> RestoreSession:
        return RestoreSession(raw=info.context["restore_session"], cluster_name="prod")

    @strawberry.field
    def policy(self, info: strawberry.Info[dict[str, Any], None]) -> BackupPolicy:
        return BackupPolicy(raw=info.context["policy"], cluster_name="prod")


async def read(query: str, **raw_objects: Any) -> dict[str, Any]:
    """Run ``query`` against the test root; fail on any GraphQL error."""
    result = await strawberry.Schema(query=ObjectsQuery).execute(query, context_value=raw_objects)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def execute(query: str, variables: dict[str, Any] | None = None) -> ExecutionResult:
    return await schema.build_schema().execute(
        query, variable_values=variables, context_value=make_context()
    )


def error_codes(result: ExecutionResult) -> dict[str, str]:
    """Top-level field (or path) -> error code."""
    return {
        ".".join(str(p) for p in (e.path or [])): (e.extensions or {}).get("code", "")
        for e in result.errors or []
    }


# ---------------------------------------------------------------------------
# The gateway's own fields


async def test_viewer_is_the_authenticated_caller() -> None:
    result = await execute("{ viewer { username groups } }")
    assert result.errors is None
    assert result.data == {
        "viewer": {"username": "alice@example.com", "groups": ["dba", "system:authenticated"]}
    }


async def test_clusters_report_health_of_every_configured_cluster() -> None:
    result = await execute(
        "{ clusters { name server reachable serverVersion syncedAt error "
        "kubedbInstalled kubestashInstalled } }"
    )
    assert result.errors is None
    assert result.data == {
        "clusters": [
            {
                "name": "prod",
                "server": "https://10.0.0.1:6443",
                "reachable": True,
                "serverVersion": "v1.33.1",
                "syncedAt": "2025-01-02T03:04:05+00:00",
                "error": None,
                "kubedbInstalled": True,
                "kubestashInstalled": True,
            },
            {
                "name": "staging",
                "server": "https://10.0.0.2:6443",
                "reachable": False,
                "serverVersion": None,
                "syncedAt": None,
                "error": "connection refused",
                "kubedbInstalled": False,
                "kubestashInstalled": False,
            },
        ]
    }


# ---------------------------------------------------------------------------
# Bad input is refused before anything is read


async def test_node_rejects_garbage_ids_before_anything_else() -> None:
    result = await execute('{ node(id: "definitely not an id") { id } }')
    assert error_codes(result) == {"node": "BAD_USER_INPUT"}
    assert result.errors is not None
    assert "is not a valid StashQL ID" in result.errors[0].message


@pytest.mark.parametrize(
    ("subscription", "field_name"),
    [
        ("subscription { databaseEvents { type } }", "Subscription.databaseEvents"),
        (
            'subscription { backupSessionEvents(resumeToken: "t") { type } }',
            "Subscription.backupSessionEvents",
        ),
        ("subscription { restoreSessionEvents { type } }", "Subscription.restoreSessionEvents"),
        ("subscription { snapshotEvents { type } }", "Subscription.snapshotEvents"),
    ],
)
async def test_subscriptions_without_a_websocket_say_where_to_go(
    subscription: str, field_name: str
) -> None:
    stream = await schema.build_schema().subscribe(subscription, context_value=make_context())
    assert not isinstance(stream, ExecutionResult), stream
    results = [result async for result in stream]
    assert len(results) == 1
    assert results[0].errors is not None
    [error] = results[0].errors
    assert (error.extensions or {}).get("code") == "BAD_REQUEST"
    assert "WebSocket" in error.message


# ---------------------------------------------------------------------------
# Snapshots


async def test_snapshot_fields_come_from_its_own_object() -> None:
    data = await read(
        """{ snapshot {
            id cluster namespace name uid createdAt labels annotations
            type methods phase snapshotTime size sizeBytes integrity verificationStatus
            components { name phase driver size duration error }
            databaseRef { cluster apiGroup kind namespace name }
        } }""",
        snapshot=SNAPSHOT,
    )
    snap = data["snapshot"]
    assert decode_id(snap.pop("id")) == expected_ref(
        group="storage.kubestash.com", kind="Snapshot", raw=SNAPSHOT
    )
    assert snap == {
        "cluster": "prod",
        "namespace": "demo",
        "name": "gcs-postgres-repo-sample-postgres-backup-frequent-backup-1725533628",
        "uid": "5b6c6c3e-9a65-4a0e-9f0b-8d1b6d0c1a11",
        "createdAt": "2024-09-05T10:53:48+00:00",
        "labels": SNAPSHOT["metadata"]["labels"],
        "annotations": {"kubedb.com/db-version": "16.1"},
        "type": "FULL",
        "methods": ["LOGICAL", "MANIFEST"],
        "phase": "SUCCEEDED",
        "snapshotTime": "2024-09-05T10:53:48+00:00",
        "size": "1.559 KiB",
        "sizeBytes": pytest.approx(1.559 * 1024),
        "integrity": True,
        "verificationStatus": "NotVerified",
        "components": [
            {
                "name": "dump",
                "phase": "SUCCEEDED",
                "driver": "Restic",
                "size": "1.559 KiB",
                "duration": "6.403101319s",
                "error": None,
            },
            {
                "name": "manifest",
                "phase": "SUCCEEDED",
                "driver": "Restic",
                "size": "2 KiB",
                "duration": "1.2s",
                "error": None,
            },
        ],
        "databaseRef": {
            "cluster": "prod",
            "apiGroup": "kubedb.com",
            "kind": "Postgres",
            "namespace": "demo",
            "name": "sample-postgres",
        },
    }


def expected_ref(*, group: str, kind: str, raw: dict[str, Any]) -> GlobalRef:
    """The global reference a raw object in cluster prod should have."""
    return GlobalRef(
        cluster="prod",
        api_group=group,
        kind=kind,
        namespace=raw["metadata"].get("namespace"),
        name=raw["metadata"]["name"],
    )


async def test_an_archiver_log_snapshot_is_incremental_and_continuous() -> None:
    raw = copy.deepcopy(SNAPSHOT)
    raw["spec"]["type"] = "IncrementalBackup"
    raw["status"] = {
        "phase": "Running",
        "components": {
            "wal": {
                "driver": "WalG",
                "phase": "Running",
                "logStats": {"start": "2024-09-01T00:00:00Z", "end": "2024-09-05T10:00:00Z"},
            }
        },
    }
    data = await read(
        "{ snapshot { type methods phase sizeBytes components { name phase } } }", snapshot=raw
    )
    assert data["snapshot"] == {
        "type": "INCREMENTAL",
        "methods": ["CONTINUOUS"],
        "phase": "RUNNING",
        "sizeBytes": None,
        "components": [{"name": "wal", "phase": "RUNNING"}],
    }


async def test_a_new_snapshot_without_status_reads_as_pending() -> None:
    raw = copy.deepcopy(SNAPSHOT)
    del raw["status"]
    raw["spec"]["type"] = "SomethingNew"
    data = await read(
        "{ snapshot { type phase components { name } size integrity } }", snapshot=raw
    )
    assert data["snapshot"] == {
        "type": "FULL",
        "phase": "PENDING",
        "components": [],
        "size": None,
        "integrity": None,
    }


async def test_odd_component_phases_read_as_null_not_errors() -> None:
    raw = copy.deepcopy(SNAPSHOT)
    raw["status"]["components"] = {
        "volumesnapshot": {"phase": "Exploded", "driver": "VolumeSnapshotter"},
        "broken": "not a mapping",
    }
    data = await read("{ snapshot { methods components { name phase driver } } }", snapshot=raw)
    assert data["snapshot"] == {
        "methods": ["VOLUME_SNAPSHOT"],
        "components": [{"name": "volumesnapshot", "phase": None, "driver": "VolumeSnapshotter"}],
    }


# ---------------------------------------------------------------------------
# Databases


async def test_database_fields_come_from_its_own_object() -> None:
    data = await read(
        """{ database {
            id kind version phase halted deletionPolicy
            volume { size storageClass }
            conditions { type status reason message lastTransitionTime }
            archiver { kind namespace name paused }
            labels
        } }""",
        database=POSTGRES,
    )
    db = data["database"]
    assert decode_id(db.pop("id")) == expected_ref(
        group="kubedb.com", kind="Postgres", raw=POSTGRES
    )
    assert db == {
        "kind": "Postgres",
        "version": "16.1",
        "phase": "DATA_RESTORING",
        "halted": False,
        "deletionPolicy": "WipeOut",
        "volume": {"size": "10Gi", "storageClass": "standard"},
        "conditions": [
            {
                "type": "DataRestoreStarted",
                "status": "True",
                "reason": "DataRestoreStartedByExternalInitializer",
                "message": None,
                "lastTransitionTime": "2024-09-05T10:05:00+00:00",
            }
        ],
        "archiver": {
            "kind": "PostgresArchiver",
            "namespace": "kubedb",
            "name": "pg-archiver",
            "paused": True,
        },
        "labels": {"app": "payments"},
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("Provisioning", "PROVISIONING"),
        ("DataRestoring", "DATA_RESTORING"),
        ("Ready", "READY"),
        ("Critical", "CRITICAL"),
        ("NotReady", "NOT_READY"),
        ("Halted", "HALTED"),
        ("Unknown", "UNKNOWN"),
        ("SomethingNewInKubeDB", "UNKNOWN"),
        ("", "UNKNOWN"),
        (None, "UNKNOWN"),
        (42, "UNKNOWN"),
    ],
)
async def test_database_phase_maps_kubernetes_values_with_a_safe_fallback(
    phase: object, expected: str
) -> None:
    raw = copy.deepcopy(POSTGRES)
    raw["status"] = {"phase": phase}
    data = await read("{ database { phase } }", database=raw)
    assert data["database"]["phase"] == expected


async def test_a_bare_database_still_answers() -> None:
    """Older v1alpha2 objects: terminationPolicy, no storage, no status, no archiver."""
    raw = {
        "apiVersion": "kubedb.com/v1alpha2",
        "kind": "MongoDB",
        "metadata": {"name": "mg", "namespace": "demo"},
        "spec": {"version": "7.0.5", "terminationPolicy": "Halt", "halted": True},
    }
    data = await read(
        "{ database { kind uid createdAt labels annotations phase halted deletionPolicy "
        "volume { size } conditions { type } archiver { name } } }",
        database=raw,
    )
    assert data["database"] == {
        "kind": "MongoDB",
        "uid": "",
        "createdAt": None,
        "labels": {},
        "annotations": {},
        "phase": "UNKNOWN",
        "halted": True,
        "deletionPolicy": "Halt",
        "volume": None,
        "conditions": [],
        "archiver": None,
    }


# ---------------------------------------------------------------------------
# Backup configuration and sessions


async def test_backup_configuration_sessions_join_spec_and_status() -> None:
    data = await read(
        """{ configuration {
            phase paused
            targetRef { cluster apiGroup kind namespace name }
            sessions { name schedule nextScheduledAt addon tasks }
            conditions { type status }
        } }""",
        configuration=BACKUP_CONFIGURATION,
    )
    assert data["configuration"] == {
        "phase": "Ready",
        "paused": False,
        # An empty target namespace means the BackupConfiguration's own.
        "targetRef": {
            "cluster": "prod",
            "apiGroup": "kubedb.com",
            "kind": "Postgres",
            "namespace": "demo",
            "name": "sample-postgres",
        },
        "sessions": [
            {
                "name": "frequent-backup",
                "schedule": "*/5 * * * *",
                "nextScheduledAt": "2024-09-05T11:00:00+00:00",
                "addon": "postgres-addon",
                "tasks": ["logical-backup", "manifest-backup"],
            },
            {
                "name": "weekly",
                "schedule": "0 0 * * 0",
                "nextScheduledAt": "2024-09-08T00:00:00+00:00",
                "addon": None,
                "tasks": [],
            },
        ],
        "conditions": [{"type": "ValidationPassed", "status": "True"}],
    }


async def test_backup_session_fields() -> None:
    raw = {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupSession",
        "metadata": {
            "name": "sample-postgres-backup-frequent-backup-1725533628",
            "namespace": "demo",
        },
        "spec": {
            "invoker": {
                "apiGroup": "core.kubestash.com",
                "kind": "BackupConfiguration",
                "name": "sample-postgres-backup",
            },
            "session": "frequent-backup",
        },
        "status": {
            "phase": "Skipped",
            "duration": "2s",
            "retried": False,
            "conditions": [
                {"type": "BackupSkipped", "status": "True", "reason": "PreRequisitesNotSatisfied"}
            ],
        },
    }
    data = await read(
        "{ backupSession { phase session duration retried conditions { type reason } } }",
        backup_session=raw,
    )
    assert data["backupSession"] == {
        "phase": "SKIPPED",
        "session": "frequent-backup",
        "duration": "2s",
        "retried": False,
        "conditions": [{"type": "BackupSkipped", "reason": "PreRequisitesNotSatisfied"}],
    }


async def test_restore_session_progress_comes_from_its_components() -> None:
    raw = {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "RestoreSession",
        "metadata": {"name": "restore-pg", "namespace": "demo"},
        "spec": {
            "target": {
                "apiGroup": "kubedb.com",
                "kind": "Postgres",
                "name": "restored-pg",
                "namespace": "dev",
            },
            "dataSource": {"repository": "gcs-postgres-repo", "snapshot": "latest"},
        },
        "status": {
            "phase": "Running",
            "duration": "30s",
            "components": {
                "dump": {"phase": "Running", "progress": {"percentDone": 50}},
                "manifest": {
                    "phase": "Succeeded",
                    "progress": {"percentDone": "100.0"},
                    "duration": "3s",
                },
            },
        },
    }
    data = await read(
        """{ restoreSession {
            phase progressPercent duration
            targetRef { namespace name kind }
            components { name phase percentDone duration error }
        } }""",
        restore_session=raw,
    )
    assert data["restoreSession"] == {
        "phase": "RUNNING",
        "progressPercent": 75.0,
        "duration": "30s",
        "targetRef": {"namespace": "dev", "name": "restored-pg", "kind": "Postgres"},
        "components": [
            {
                "name": "dump",
                "phase": "Running",
                "percentDone": 50.0,
                "duration": None,
                "error": None,
            },
            {
                "name": "manifest",
                "phase": "Succeeded",
                "percentDone": 100.0,
                "duration": "3s",
                "error": None,
            },
        ],
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("Invalid", "INVALID"), ("Unknown", "UNKNOWN"), ("Whatever", "UNKNOWN"), (None, "PENDING")],
)
async def test_restore_session_phase_fallbacks(phase: object, expected: str) -> None:
    raw = {"metadata": {"name": "r", "namespace": "demo"}, "status": {"phase": phase}}
    data = await read(
        "{ restoreSession { phase progressPercent targetRef { name } } }", restore_session=raw
    )
    assert data["restoreSession"] == {"phase": expected, "progressPercent": None, "targetRef": None}


# ---------------------------------------------------------------------------
# Storage, retention, repositories, policies


STORAGE: dict[str, Any] = {
    "apiVersion": "storage.kubestash.com/v1alpha1",
    "kind": "BackupStorage",
    "metadata": {"name": "s3-storage", "namespace": "demo"},
    "spec": {
        "storage": {
            "provider": "s3",
            "s3": {
                "bucket": "kubestash-qa",
                "prefix": "demo",
                "endpoint": "https://s3.eu-west-1.amazonaws.com",
                "region": "eu-west-1",
                "secretName": "s3-secret",
            },
        },
        "usagePolicy": {"allowedNamespaces": {"from": "All"}},
        "default": True,
        "deletionPolicy": "WipeOut",
    },
    "status": {"phase": "Ready", "totalSize": "2.5 GiB"},
}


async def test_backup_storage_fields() -> None:
    data = await read(
        "{ storage { provider phase totalSize totalSizeBytes isDefault usage "
        "location { bucket prefix endpoint region } } }",
        storage=STORAGE,
        location_visible=True,
    )
    assert data["storage"] == {
        "provider": "s3",
        "phase": "Ready",
        "totalSize": "2.5 GiB",
        "totalSizeBytes": 2.5 * 2**30,
        "isDefault": True,
        "usage": "ALL",
        "location": {
            "bucket": "kubestash-qa",
            "prefix": "demo",
            "endpoint": "https://s3.eu-west-1.amazonaws.com",
            "region": "eu-west-1",
        },
    }


async def test_storage_location_is_hidden_unless_the_viewer_may_get_it() -> None:
    data = await read(
        "{ storage { location { bucket } } }", storage=STORAGE, location_visible=False
    )
    assert data["storage"] == {"location": None}

    # Undecided counts as "no": a location is shown only when access was granted.
    result = await strawberry.Schema(query=ObjectsQuery).execute(
        "{ storage { location { bucket } } }", context_value={"storage": STORAGE}
    )
    assert result.errors is None
    assert result.data == {"storage": {"location": None}}


# Names of what must never be answered: a Secret's data or name, a password, storage
# credentials, tokens. Inputs may carry them (write-only: EncryptionInput.secret,
# StorageCredentialsInput.secretAccessKey); no output type may.
CREDENTIAL_NAME = re.compile(r"secret|passw|credential|access_?key|token|private_?key", re.I)

# Output fields whose names match yet reveal nothing, each with its reason and the one
# type that keeps it harmless (a change of type fails the test).
HARMLESS_OUTPUT_FIELDS = {
    # Whether the snapshot holds the database's auth Secret: a yes/no, never its data.
    "SnapshotContents.authSecret": "Boolean!",
    # A subscription event's resume cursor, not a credential.
    "*.resumeToken": "String!",
}


def credential_outputs(gql_schema: graphql.GraphQLSchema) -> list[str]:
    """Output types, and fields of output types, named like a secret or a credential."""
    found = []
    for name, type_ in gql_schema.type_map.items():
        if name.startswith("__") or not isinstance(
            type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType
        ):
            continue
        if CREDENTIAL_NAME.search(name):
            found.append(name)
        for field_name, field_ in type_.fields.items():
            if not CREDENTIAL_NAME.search(field_name):
                continue
            allowed = HARMLESS_OUTPUT_FIELDS.get(f"{name}.{field_name}") or (
                HARMLESS_OUTPUT_FIELDS.get(f"*.{field_name}")
            )
            if allowed != str(field_.type):
                found.append(f"{name}.{field_name}: {field_.type}")
    return found


def test_no_output_field_exposes_a_secret_or_a_credential() -> None:
    """No type a client reads exposes Secrets, secret names or credentials."""
    assert credential_outputs(schema.build_schema()._schema) == []


def test_the_credential_check_finds_what_it_guards_against() -> None:
    planted = graphql.build_schema(
        """
        type Query { storage: Storage, event: Event, snap: SnapshotContents, s(i: In): Int }
        type Storage { name: String, secretName: String, accessKeyId: String }
        type StorageCredentials { password: String }
        type Event { resumeToken: String!, token: String }
        type SnapshotContents { authSecret: String }
        input In { secret: String, secretAccessKey: String, password: String }
        """
    )
    assert sorted(credential_outputs(planted)) == [
        "Event.token: String",
        # Allowed only as a yes/no: as a String it could carry the Secret.
        "SnapshotContents.authSecret: String",
        "Storage.accessKeyId: String",
        "Storage.secretName: String",
        "StorageCredentials",
        "StorageCredentials.password: String",
    ]


async def test_retention_policy_fields() -> None:
    raw = {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "RetentionPolicy",
        "metadata": {"name": "demo-retention", "namespace": "demo"},
        "spec": {
            "maxRetentionPeriod": "2mo",
            "successfulSnapshots": {"last": 10, "daily": 7},
            "failedSnapshots": {"last": 2},
            "usagePolicy": {"allowedNamespaces": {"from": "Selector", "selector": {}}},
        },
    }
    data = await read(
        "{ retention { maxRetentionPeriod successfulSnapshots { last hourly daily } "
        "failedSnapshotsLast isDefault usage } }",
        retention=raw,
    )
    assert data["retention"] == {
        "maxRetentionPeriod": "2mo",
        "successfulSnapshots": {"last": 10, "hourly": None, "daily": 7},
        "failedSnapshotsLast": 2,
        "isDefault": False,
        "usage": "SELECTOR",
    }


async def test_usage_defaults_to_same_namespace() -> None:
    raw = {"metadata": {"name": "r", "namespace": "demo"}, "spec": {}}
    data = await read("{ retention { usage successfulSnapshots { last } } }", retention=raw)
    assert data["retention"] == {"usage": "SAME", "successfulSnapshots": None}


async def test_repository_fields() -> None:
    raw = {
        "apiVersion": "storage.kubestash.com/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": "gcs-postgres-repo", "namespace": "demo"},
        "spec": {
            "appRef": {"apiGroup": "kubedb.com", "kind": "Postgres", "name": "sample-postgres"},
            "storageRef": {"name": "gcs-storage", "namespace": "storage"},
            "path": "/demo/postgres",
            "deletionPolicy": "WipeOut",
        },
        "status": {
            "phase": "Ready",
            "integrity": True,
            "snapshotCount": 5,
            "size": "10 MiB",
            "lastBackupTime": "2024-09-05T10:53:48Z",
        },
    }
    data = await read(
        """{ repository {
            path phase integrity snapshotCount size sizeBytes lastBackupTime
            databaseRef { namespace name kind }
            storageRef { namespace name kind apiGroup }
        } }""",
        repository=raw,
    )
    assert data["repository"] == {
        "path": "/demo/postgres",
        "phase": "Ready",
        "integrity": True,
        "snapshotCount": 5,
        "size": "10 MiB",
        "sizeBytes": 10 * 2**20,
        "lastBackupTime": "2024-09-05T10:53:48+00:00",
        "databaseRef": {"namespace": "demo", "name": "sample-postgres", "kind": "Postgres"},
        "storageRef": {
            "namespace": "storage",
            "name": "gcs-storage",
            "kind": "BackupStorage",
            "apiGroup": "storage.kubestash.com",
        },
    }


async def test_a_repository_of_a_workload_has_no_database_ref() -> None:
    raw = {
        "metadata": {"name": "deploy-repo", "namespace": "demo"},
        "spec": {"appRef": {"apiGroup": "apps", "kind": "Deployment", "name": "web"}},
    }
    data = await read("{ repository { databaseRef { name } snapshotCount } }", repository=raw)
    assert data["repository"] == {"databaseRef": None, "snapshotCount": 0}


async def test_backup_policy_reads_sessions_and_placeholders_from_the_blueprint() -> None:
    raw = {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupBlueprint",
        "metadata": {"name": "postgres-blueprint", "namespace": "kubedb"},
        "spec": {
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
            "backupConfigurationTemplate": {
                "deletionPolicy": "OnDelete",
                "backends": [{"name": "gcs", "storageRef": {"name": "gcs", "namespace": "kubedb"}}],
                "sessions": [
                    {
                        "name": "frequent-backup",
                        "scheduler": {"schedule": "${schedule}"},
                        "repositories": [
                            {
                                "name": "${repoName}",
                                "backend": "gcs",
                                "directory": "${namespace}/${targetName}",
                            }
                        ],
                        "addon": {
                            "name": "postgres-addon",
                            "tasks": [
                                {"name": "manifest-backup"},
                                {"name": "logical-backup"},
                                {"name": "something-custom"},
                            ],
                        },
                    }
                ],
            },
        },
    }
    data = await read(
        "{ policy { name usage variables sessions { name schedule methods } } }", policy=raw
    )
    assert data["policy"] == {
        "name": "postgres-blueprint",
        "usage": "ALL",
        "variables": ["namespace", "repoName", "schedule", "targetName"],
        "sessions": [
            {
                "name": "frequent-backup",
                "schedule": "${schedule}",
                "methods": ["LOGICAL", "MANIFEST"],
            }
        ],
    }


# ---------------------------------------------------------------------------
# Enums stay in step with the names apis.objects produces


@pytest.mark.parametrize(
    ("enum", "names"),
    [
        (enums.DatabasePhase, objects.DATABASE_PHASES),
        (enums.SnapshotPhase, objects.SNAPSHOT_PHASES),
        (enums.BackupSessionPhase, objects.BACKUP_SESSION_PHASES),
        (enums.RestoreSessionPhase, objects.RESTORE_SESSION_PHASES),
        (enums.SnapshotType, objects.SNAPSHOT_TYPES),
        (enums.BackupMethod, objects.BACKUP_METHODS),
        (enums.UsageScope, objects.USAGE_SCOPES),
    ],
)
def test_enum_members_match_the_reader_names(enum: type[Enum], names: tuple[str, ...]) -> None:
    assert [m.name for m in enum] == list(names)
    assert all(m.value == m.name for m in enum)


# ---------------------------------------------------------------------------
# Pure readers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.559 KiB", 1.559 * 1024),
        ("10 MiB", 10 * 2**20),
        ("2.5 GiB", 2.5 * 2**30),
        ("1 TiB", 2**40),
        ("512 B", 512),
        ("0 B", 0),
        ("3 kB", 3000),
        ("10Gi", 10 * 2**30),
        ("500M", 500e6),
        ("100k", 100e3),
        ("1e3", 1000),
        ("1.5Ti", 1.5 * 2**40),
        ("128974848", 128974848),
        ("  7 MiB ", 7 * 2**20),
        ("500m", 0.5),
    ],
)
def test_parse_size_understands_kubestash_and_kubernetes_sizes(text: str, expected: float) -> None:
    assert quantities.parse_size(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["", "KiB", "ten MiB", "-1Gi", "1 XB", "1e3Gi", "1e99999", "1.2.3 MiB", "5 Mo"]
)
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    assert quantities.parse_size(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-05T10:53:48Z", datetime(2024, 9, 5, 10, 53, 48, tzinfo=UTC)),
        ("2024-09-05T10:53:48.123456789Z", datetime(2024, 9, 5, 10, 53, 48, 123456, tzinfo=UTC)),
        ("2024-09-05T12:53:48+02:00", datetime(2024, 9, 5, 10, 53, 48, tzinfo=UTC)),
        ("2024-09-05 10:53:48 +0000 UTC", datetime(2024, 9, 5, 10, 53, 48, tzinfo=UTC)),
        (
            "2024-09-05 10:53:48.5 +0000 UTC m=+3600.000000001",
            datetime(2024, 9, 5, 10, 53, 48, 500000, tzinfo=UTC),
        ),
        ("2024-09-05T10:53:48", datetime(2024, 9, 5, 10, 53, 48, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (1725533628, None),
    ],
)
def test_parse_time_reads_kubernetes_and_go_formats(
    value: object, expected: datetime | None
) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DataRestoring", "DATA_RESTORING"),
        ("NotReady", "NOT_READY"),
        ("Ready", "READY"),
        ("VolumeSnapshot", "VOLUME_SNAPSHOT"),
        ("already-kebab", "ALREADY_KEBAB"),
    ],
)
def test_screaming_snake(value: str, expected: str) -> None:
    assert objects.screaming_snake(value) == expected


def test_readers_survive_mistyped_objects() -> None:
    weird: dict[str, Any] = {
        "metadata": {"name": 5, "labels": ["x"], "annotations": {"a": 1, "b": "ok"}},
        "spec": "not a mapping",
        "status": {
            "conditions": [{"status": "True"}, "junk", {"type": "Ready"}],
            "components": ["a"],
            "phase": ["Ready"],
        },
    }
    assert objects.name_of(weird) == ""
    assert objects.labels_of(weird) == {}
    assert objects.annotations_of(weird) == {"b": "ok"}
    assert [c.type for c in objects.conditions_of(weird)] == ["Ready"]
    assert objects.conditions_of(weird)[0].status == "Unknown"
    assert objects.snapshot_methods(weird) == []
    assert objects.snapshot_phase(weird) == "PENDING"
    assert objects.usage_scope(weird) == "SAME"
    assert objects.configured_sessions(weird) == []
    assert objects.restore_progress(weird) is None


# ---------------------------------------------------------------------------
# What a namespace may use: archivers, hooks, a policy's choices (read side of issue 9)


@dataclass
class CacheOf:
    """The policy summaries' view of the cache (``resolvers.reads.summaries.Summaries``):
    raw objects of cluster prod, and namespace labels."""

    items: list[Item]
    labels: dict[str, dict[str, str]]

    def unfiltered(self, cluster: str, group: str, kind: str) -> list[Item]:
        return [
            i
            for i in self.items
            if (i.cluster, i.resource.group, i.resource.kind) == (cluster, group, kind)
        ]

    def namespace_labels(self, cluster: str, namespace: str) -> dict[str, str] | None:
        return self.labels.get(namespace)


NAMESPACE_LABELS = {
    "team-a": {"kubernetes.io/metadata.name": "team-a", "pitr": "on"},
    "team-b": {"kubernetes.io/metadata.name": "team-b"},
    "kubedb": {"kubernetes.io/metadata.name": "kubedb"},
}


def _named(kind: str, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _archiver(kind: str, name: str, namespace: str, rule: dict[str, Any] | None) -> Item:
    spec: dict[str, Any] = {"databases": {"selector": {"matchLabels": {"x": "y"}}}}
    if rule is not None:
        spec["databases"]["namespaces"] = rule
    return Item(
        "prod", _named(kind, name, namespace, spec), archiver(kind.removesuffix("Archiver"))
    )


def _hook(name: str, namespace: str, allowed: dict[str, Any] | None) -> Item:
    spec: dict[str, Any] = {"executor": {"type": "Function"}}
    if allowed is not None:
        spec["usagePolicy"] = {"allowedNamespaces": allowed}
    return Item("prod", _named("HookTemplate", name, namespace, spec), HOOK_TEMPLATES)


PITR = {"from": "Selector", "selector": {"matchLabels": {"pitr": "on"}}}


def test_archivers_of_the_kind_whose_namespace_rule_admits_the_namespace() -> None:
    cache = CacheOf(
        items=[
            _archiver("PostgresArchiver", "everyone", "kubedb", {"from": "All"}),
            _archiver("PostgresArchiver", "pitr-only", "kubedb", PITR),
            # No rule: upstream's default, Same, admits only its own namespace.
            _archiver("PostgresArchiver", "own-a", "team-a", None),
            _archiver("PostgresArchiver", "own-b", "team-b", {"from": "Same"}),
            _archiver("PostgresArchiver", "odd", "kubedb", {"from": "Nobody"}),
            _archiver("MySQLArchiver", "mysql", "kubedb", {"from": "All"}),
        ],
        labels=NAMESPACE_LABELS,
    )

    def names(namespace: str, kind: str = "Postgres") -> list[str]:
        return [a.name for a in summaries.usable_archivers(cache, "prod", namespace, kind)]

    assert names("team-a") == ["everyone", "pitr-only", "own-a"]
    assert names("team-b") == ["everyone", "own-b"]
    # A namespace the cache does not know matches no selector (fail closed).
    assert names("nowhere") == ["everyone"]
    assert names("team-a", "MySQL") == ["mysql"]
    assert names("team-a", "MongoDB") == []


def test_hook_templates_whose_usage_policy_admits_the_namespace() -> None:
    cache = CacheOf(
        items=[
            _hook("row-count", "kubedb", {"from": "All"}),
            _hook("pitr-check", "kubedb", PITR),
            _hook("a-own", "team-a", None),
            _hook("broken-selector", "kubedb", {"from": "Selector", "selector": "pitr=on"}),
        ],
        labels=NAMESPACE_LABELS,
    )

    def names(namespace: str) -> list[str]:
        return [h.name for h in summaries.usable_hooks(cache, "prod", namespace)]

    assert names("team-a") == ["pitr-check", "row-count", "a-own"]
    assert names("team-b") == ["row-count"]
    assert names("kubedb") == ["row-count"]


def _storage(name: str, namespace: str, allowed: dict[str, Any]) -> Item:
    spec = {"storage": {"provider": "s3"}, "usagePolicy": {"allowedNamespaces": allowed}}
    return Item("prod", _named("BackupStorage", name, namespace, spec), BACKUP_STORAGES)


def _retention(name: str, namespace: str, allowed: dict[str, Any], default: bool = False) -> Item:
    spec = {"default": default, "usagePolicy": {"allowedNamespaces": allowed}}
    return Item("prod", _named("RetentionPolicy", name, namespace, spec), RETENTION_POLICIES)


def _blueprint_item(backend: dict[str, Any], schedule: str) -> Item:
    session = {
        "name": "full-backup",
        "scheduler": {"schedule": schedule, "jobTemplate": {}},
        "repositories": [
            {"name": "${targetName}-full-backup", "directory": "/${targetNamespace}/${tier}"}
        ],
        "addon": {
            "name": "${addon}",
            "tasks": [{"name": "logical-backup"}, {"name": "manifest-backup"}],
        },
    }
    spec = {
        "usagePolicy": {"allowedNamespaces": {"from": "All"}},
        "backupConfigurationTemplate": {"backends": [backend], "sessions": [session]},
    }
    return Item("prod", _named("BackupBlueprint", "pg", "kubedb", spec), BACKUP_BLUEPRINTS)


POLICY_CACHE = CacheOf(
    items=[
        _storage("shared", "kubedb", {"from": "All"}),
        _storage("mine", "team-a", {"from": "Same"}),
        _storage("theirs", "team-b", {"from": "Same"}),
        _retention("keep-30d", "kubedb", {"from": "All"}),
        _retention("team-a-keep", "team-a", {"from": "Same"}, default=True),
        _retention("pitr-keep", "kubedb", PITR),
    ],
    labels=NAMESPACE_LABELS,
)


def test_an_open_policy_offers_what_the_namespace_may_use_as_the_viewer_sees_it() -> None:
    blueprint = _blueprint_item(
        {
            "name": "default",
            "storageRef": {
                "name": "${storage:=shared}",
                "namespace": "${storageNamespace:=kubedb}",
            },
            "retentionPolicy": {
                "name": "${retentionPolicy:=keep-30d}",
                "namespace": "${retentionPolicyNamespace:=kubedb}",
            },
        },
        "${schedule:=0 1 * * *}",
    )
    found = choosing.choices_for(
        POLICY_CACHE,
        blueprint=blueprint,
        namespace="team-a",
        # The viewer may list RetentionPolicies only in team-a, and read only its storages.
        shown=lambda i: i.namespace == "team-a",
        readable=lambda i: i.namespace == "team-a",
    )
    [session] = found.found.sessions
    assert (session.name, session.methods, session.schedule, session.may_set_schedule) == (
        "full-backup",
        ("LOGICAL",),
        "0 1 * * *",
        True,
    )
    assert found.found.may_choose_retention
    assert found.found.may_use_own_storage
    # Usable from team-a: the defaults first, then its own, then by namespace and name.
    assert [objects.name_of(r) for r in found.found.retention_policies] == [
        "team-a-keep",
        "keep-30d",
        "pitr-keep",
    ]
    assert [r.name for r in found.retention_policies] == ["team-a-keep"]
    assert [objects.name_of(s) for s in found.found.own_storages] == ["mine", "shared"]
    assert [s.name for s in found.own_storages] == ["mine"]
    assert found.found.variables == ("tier",)

    everything = choosing.choices_for(
        POLICY_CACHE, blueprint=blueprint, namespace="team-b", shown=_yes, readable=_yes
    )
    assert [r.name for r in everything.retention_policies] == ["keep-30d"]
    assert [s.name for s in everything.own_storages] == ["theirs", "shared"]


def _yes(item: Item) -> bool:
    return True


def test_a_fixed_policy_offers_its_own_schedule_and_retention_only() -> None:
    blueprint = _blueprint_item(
        {
            "name": "default",
            "storageRef": {"name": "shared", "namespace": "kubedb"},
            "retentionPolicy": {"name": "keep-30d"},  # the blueprint's own namespace
        },
        "30 2 * * *",
    )
    found = choosing.choices_for(
        POLICY_CACHE, blueprint=blueprint, namespace="team-a", shown=_yes, readable=_yes
    )
    [session] = found.found.sessions
    assert (session.schedule, session.may_set_schedule) == ("30 2 * * *", False)
    assert not found.found.may_choose_retention
    assert not found.found.may_use_own_storage
    assert [r.name for r in found.retention_policies] == ["keep-30d"]
    assert found.own_storages == []


def test_the_registry_wraps_archivers_and_hook_templates() -> None:
    pg = _archiver("PostgresArchiver", "pitr", "kubedb", PITR)
    wrapped = registry.wrap(pg)
    assert isinstance(wrapped, ArchiverPolicy)
    ref = decode_id(wrapped.id)
    assert (ref.api_group, ref.kind, ref.name) == (
        "archiver.kubedb.com",
        "PostgresArchiver",
        "pitr",
    )
    hook = registry.wrap(_hook("row-count", "kubedb", None))
    assert isinstance(hook, HookTemplate)
    assert decode_id(hook.id).kind == "HookTemplate"


async def test_a_snapshot_says_what_it_holds() -> None:
    data = await read(
        "{ snapshot { contents { manifest authSecret catalogVersion data version } } }",
        snapshot=SNAPSHOT,
    )
    assert data["snapshot"]["contents"] == {
        "manifest": True,
        "authSecret": True,
        "catalogVersion": True,
        "data": True,
        "version": "16.1",
    }
    failed = copy.deepcopy(SNAPSHOT)
    failed["status"]["components"]["dump"]["phase"] = "Failed"
    data = await read("{ snapshot { contents { manifest data } } }", snapshot=failed)
    assert data["snapshot"]["contents"] == {"manifest": True, "data": False}
