"""The demo: a two-cluster sandbox with a realistic KubeDB + KubeStash installation.

What a newcomer gets:
- what an installation provides: KubeStash Addons and Functions for the databases, and
  a catalog of KubeDB versions (cluster-scoped);
- on each cluster an admin namespace, ``kubedb``, with storages, retention policies,
  backup blueprints, the BackupPolicy ``postgres-standard`` (a blueprint the gateway
  expands itself, with its encryption Secret), the HookTemplate ``check-rows`` and,
  on the first cluster, a Postgres archiver;
- team namespaces with databases of several kinds: backed up by a blueprint, by a
  BackupConfiguration, by the archiver (point-in-time recovery), not at all (``reports``
  in team-a on the first cluster, for alice to enable a backup of), and one whose backup
  is broken (its storage does not exist);
- the operator simulator, so databases provision, backups run on their schedules
  (one simulated minute per second by default) and restores progress.

For the restore walkthrough nothing more needs seeding: ``orders`` (team-a, first
cluster) has snapshots from its blueprint's initial and scheduled backups; the simulator
gives every database KubeDB's Services, which pausing traffic acts on; a restore check
with ``check-rows`` passes, and fails when its params hold ``fail: "true"``; a new
database restored in the second cluster gets the snapshots through the Repository the
gateway makes there on the same bucket location; ``billing``'s point-in-time window is
its archiver's log snapshot, and a time outside it leaves the new database NotReady.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kube.manifests import Discovery, apply_manifest
from sandbox import objects as o
from sandbox.controlplane import Sandbox

EXAMPLES = Path(__file__).resolve().parent / "examples"
FIELD_MANAGER = "stashql-demo"
ADMIN_NS = "kubedb"
POLICY = "postgres-standard"

# Installation objects are cluster-scoped and need no namespace rewriting.
INSTALL_FILES = (
    EXAMPLES / "addons.kubestash.com" / "addons.yaml",
    EXAMPLES / "addons.kubestash.com" / "functions.yaml",
    EXAMPLES / "catalog.kubedb.com" / "versions.yaml",
)

Obj = dict[str, Any]


def installation() -> list[Obj]:
    return [d for f in INSTALL_FILES for d in yaml.safe_load_all(f.read_text()) if d]


def postgres_archiver(name: str, namespace: str, *, storage: str, retention: str) -> Obj:
    return {
        "apiVersion": o.ARCHIVER_V1,
        "kind": "PostgresArchiver",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "pause": False,
            "databases": {
                "namespaces": {"from": "All"},
                "selector": {"matchLabels": {"archiver": "true"}},
            },
            "retentionPolicy": {"namespace": namespace, "name": retention},
            "backupStorage": {"ref": {"namespace": namespace, "name": storage}, "subDir": "pitr"},
            "deletionPolicy": "WipeOut",
            "fullBackup": {
                "driver": "VolumeSnapshotter",
                "task": {"params": {"volumeSnapshotClassName": "csi-snapclass"}},
                "scheduler": {"schedule": "0 */6 * * *"},
            },
            "logBackup": {"retentionPeriod": "7d"},
            "manifestBackup": {"scheduler": {"schedule": "0 */6 * * *"}},
        },
    }


def blueprint_annotations(name: str, schedule: str, repo: str) -> dict[str, str]:
    return {
        "blueprint.kubestash.com/name": name,
        "blueprint.kubestash.com/namespace": ADMIN_NS,
        "variables.kubestash.com/schedule": schedule,
        "variables.kubestash.com/repoName": repo,
    }


def _unstatus(obj: Obj) -> Obj:
    """Objects a user or admin writes: the simulator, as the operator, writes status."""
    return {k: v for k, v in obj.items() if k != "status"}


def admin_objects(*, storage: str, bucket: str, archiver: bool) -> list[Obj]:
    pg_sessions = [
        o.session_spec(
            name="daily",
            schedule="${schedule}",
            addon="postgres-addon",
            tasks=("logical-backup", "manifest-backup"),
            repository="${repoName}",
        )
    ]
    my_sessions = [
        o.session_spec(
            name="hourly",
            schedule="${schedule}",
            addon="mysql-addon",
            tasks=("logical-backup", "manifest-backup"),
            repository="${repoName}",
        )
    ]
    objs = [
        o.backup_storage(
            storage, ADMIN_NS, bucket=bucket, prefix="stashql", scope="All", default=True
        ),
        o.retention_policy(
            "keep-30d", ADMIN_NS, scope="All", default=True, max_period="30d", last=10
        ),
        o.retention_policy(
            "keep-7d",
            ADMIN_NS,
            scope="Selector",
            selector={"matchLabels": {"tier": "dev"}},
            max_period="7d",
            last=3,
        ),
        o.blueprint(
            "postgres-daily",
            ADMIN_NS,
            kinds=("Postgres",),
            storage=(ADMIN_NS, storage),
            retention=(ADMIN_NS, "keep-30d"),
            sessions=pg_sessions,
        ),
        o.blueprint(
            "mysql-hourly",
            ADMIN_NS,
            kinds=("MySQL", "MariaDB"),
            storage=(ADMIN_NS, storage),
            retention=(ADMIN_NS, "keep-30d"),
            sessions=my_sessions,
        ),
    ]
    objs += backup_policy(storage=storage)
    if archiver:
        objs.append(
            postgres_archiver("pg-archiver", ADMIN_NS, storage=storage, retention="keep-30d")
        )
    return [_unstatus(x) if x["kind"] != "BackupStorage" else x for x in objs]


def backup_policy(*, storage: str, namespace: str = ADMIN_NS) -> list[Obj]:
    """The BackupPolicy ``postgres-standard`` as createBackupPolicy makes it, its encryption
    Secret, and a HookTemplate for restore checks.

    A newcomer enables a backup of ``reports`` with it in GraphiQL; the gateway expands the
    blueprint itself (no database annotations), so the simulator never touches it.
    """
    secret = f"{POLICY}-encryption"
    return [
        o.encryption_secret(secret, namespace, password="demo-only-restic-password"),
        o.policy_blueprint(
            POLICY,
            namespace,
            storage=(namespace, storage),
            retention=(namespace, "keep-30d"),
            encryption=(namespace, secret),
            session="daily",
            schedule="0 2 * * *",
            tasks=("logical-backup",),
        ),
        o.hook_template(
            "check-rows",
            namespace,
            command=(
                "/bin/sh",
                "-c",
                "test \"$(psql -tAc 'SELECT count(*) FROM ${TABLE}')\" -gt 0",
            ),
        ),
    ]


def namespaces(*names: tuple[str, dict[str, str]]) -> list[Obj]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": labels}}
        for n, labels in names
    ]


def prod_teams() -> list[Obj]:
    orders = o.database(
        "Postgres",
        "orders",
        "team-a",
        phase=None,
        storage="20Gi",
        annotations=blueprint_annotations("postgres-daily", "*/10 * * * *", "orders-repo"),
    )
    catalog = o.database("MySQL", "catalog", "team-a", version="8.4.3", phase=None)
    catalog_bc = o.backup_configuration(
        "catalog-backup",
        catalog,
        storage=(ADMIN_NS, "s3-prod"),
        retention=(ADMIN_NS, "keep-30d"),
        schedule="*/15 * * * *",
        addon="mysql-addon",
    )
    billing = o.database(
        "Postgres",
        "billing",
        "team-a",
        phase=None,
        storage="50Gi",
        labels={"archiver": "true"},
        archiver=(ADMIN_NS, "pg-archiver"),
    )
    reports = o.database("Postgres", "reports", "team-a", phase=None)  # alice enables it
    events = o.database("MongoDB", "events", "team-a", version="7.0.16", phase=None)
    cache = o.database("Redis", "cache", "team-a", version="7.4.1", phase=None)
    analytics = o.database("Postgres", "analytics", "team-b", phase=None)
    analytics_bc = o.backup_configuration(
        "analytics-backup",
        analytics,
        storage=(ADMIN_NS, "s3-retired"),  # does not exist: the broken backup
        retention=(ADMIN_NS, "keep-30d"),
        schedule="0 * * * *",
    )
    inventory = o.database(
        "MariaDB",
        "inventory",
        "team-b",
        version="11.4.4",
        phase=None,
        annotations=blueprint_annotations("mysql-hourly", "0 * * * *", "inventory-repo"),
    )
    return [
        _unstatus(x)
        for x in (
            orders,
            catalog,
            catalog_bc,
            billing,
            reports,
            events,
            cache,
            analytics,
            analytics_bc,
            inventory,
        )
    ]


def staging_teams() -> list[Obj]:
    orders = o.database(
        "Postgres",
        "orders-staging",
        "team-a",
        phase=None,
        annotations=blueprint_annotations("postgres-daily", "*/30 * * * *", "orders-staging-repo"),
    )
    logs = o.database("Elasticsearch", "logs", "team-a", version="xpack-8.15.0", phase=None)
    return [_unstatus(orders), _unstatus(logs)]


async def seed_demo(sandbox: Sandbox) -> None:
    """Apply the demo's objects as admin (the simulator then plays the operators)."""
    plans = [
        (
            installation()
            + namespaces(("team-a", {"tier": "prod"}), ("team-b", {"tier": "dev"}))
            + admin_objects(storage="s3-prod", bucket="acme-prod-backups", archiver=True)
            + prod_teams()
        ),
        (
            installation()
            + namespaces(("team-a", {"tier": "dev"}), ("team-b", {"tier": "dev"}))
            + admin_objects(storage="gcs-staging", bucket="acme-staging-backups", archiver=False)
            + staging_teams()
        ),
    ]
    for index, plan in enumerate(plans[: len(sandbox.clusters)]):
        client = sandbox.client(index, timeout=30)
        discovery = Discovery(client)
        try:
            for obj in plan:
                await apply_manifest(
                    client, discovery, obj, field_manager=FIELD_MANAGER, with_status=True
                )
        finally:
            await client.close()
