"""KubeDB archivers (archiver.kubedb.com, for example PostgresArchiver) as ArchiverPolicies.

Field names are upstream's (``shared/reference/kubestash-kubedb-api.md`` §4.2): who may
use it in ``spec.databases``, where and how full backups go in ``spec.backupStorage``,
``spec.retentionPolicy`` and ``spec.fullBackup``, log shipping in ``spec.logBackup``
(``spec.walBackup`` before kubedb/apimachinery e677abc2b), its users in
``status.databaseRefs``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import strawberry

from apis import objects
from apis.resources import ARCHIVER, KUBEDB, STORAGE
from resolvers.reads import offers, policies
from schema.common import ObjectRef
from schema.described import Described
from schema.enums import BackupMethod, UsageScope
from schema.info import Info, graph_of
from schema.scalars import JSON
from schema.storage import BackupStorage, RetentionPolicy

ARCHIVER_SUFFIX = "Archiver"

# `spec.fullBackup.driver`; upstream's default, when the field is left out, is
# VolumeSnapshotter. Other drivers (ClickHouseBackup) are no method the contract names.
_FULL_BACKUP_DRIVERS = {"VolumeSnapshotter": "VOLUME_SNAPSHOT", "Restic": "PHYSICAL"}


def database_kind(archiver_kind: str) -> str:
    """``PostgresArchiver`` -> ``Postgres``."""
    return archiver_kind.removesuffix(ARCHIVER_SUFFIX)


def _ref(raw: dict[str, Any], *path: str) -> tuple[str, str] | None:
    """(namespace, name) of an ObjectReference; the namespace defaults to the archiver's."""
    ref = objects.mapping_at(raw, *path)
    name = objects.str_at(ref, "name")
    if name is None:
        return None
    return (objects.str_at(ref, "namespace") or objects.namespace_of(raw) or "", name)


@strawberry.type(
    description=(
        "A KubeDB archiver (for example a PostgresArchiver): continuous backup that the "
        "databases it admits may use."
    )
)
class ArchiverPolicy(Described):
    API_GROUP: ClassVar[str] = ARCHIVER
    # KIND is left empty: the kind varies (PostgresArchiver, MySQLArchiver, ...) and is
    # read from the object itself.

    @strawberry.field(description="Archiver kind, for example PostgresArchiver.")
    def kind(self) -> str:
        return self.object_kind()

    @strawberry.field(description="KubeDB kind it serves, for example Postgres.")
    def database_kind(self) -> str:
        return database_kind(self.object_kind())

    @strawberry.field(
        description="Where backups go; null where the viewer may not read the storage."
    )
    def storage(self, info: Info) -> BackupStorage | None:
        found = policies.lookup(
            graph_of(info),
            self.cluster_name,
            STORAGE,
            "BackupStorage",
            _ref(self.raw, "spec", "backupStorage", "ref"),
        )
        # Where an archiver's backups go is the storage itself, so a viewer who may not
        # read the BackupStorage gets null here, not a summary without a location.
        if found is None or not offers.location_visible(graph_of(info), found):
            return None
        return BackupStorage(raw=found.raw, cluster_name=found.cluster, location_visible=True)

    @strawberry.field(description="Retention of full backups.")
    def retention_policy(self, info: Info) -> RetentionPolicy | None:
        # A policy summary, shown to whoever may see the archiver (as BackupPolicy does).
        found = policies.lookup(
            graph_of(info),
            self.cluster_name,
            STORAGE,
            "RetentionPolicy",
            _ref(self.raw, "spec", "retentionPolicy"),
        )
        return RetentionPolicy(raw=found.raw, cluster_name=found.cluster) if found else None

    @strawberry.field(description="Cron schedule of full backups.")
    def full_backup_schedule(self) -> str | None:
        return objects.str_at(self.raw, "spec", "fullBackup", "scheduler", "schedule")

    @strawberry.field(description="How full backups are taken: VOLUME_SNAPSHOT or PHYSICAL.")
    def full_backup_method(self) -> BackupMethod | None:
        if not objects.mapping_at(self.raw, "spec", "fullBackup"):
            return None
        driver = objects.str_at(self.raw, "spec", "fullBackup", "driver") or "VolumeSnapshotter"
        method = _FULL_BACKUP_DRIVERS.get(driver)
        return BackupMethod(method) if method else None

    @strawberry.field(description="How long logs are kept.")
    def log_retention_period(self) -> str | None:
        return objects.str_at(self.raw, "spec", "logBackup", "retentionPeriod") or objects.str_at(
            self.raw, "spec", "walBackup", "retentionPeriod"
        )

    @strawberry.field(description="Whether archiving is paused for every database using it.")
    def paused(self) -> bool:
        return objects.bool_at(self.raw, "spec", "pause") or False

    @strawberry.field(description="Which namespaces may use it.")
    def usage(self) -> UsageScope:
        # Upstream's default, also the safe reading of an unknown value, is Same.
        value = objects.dig(self.raw, "spec", "databases", "namespaces", "from")
        return UsageScope(objects.enum_name(value, allowed=objects.USAGE_SCOPES) or "SAME")

    @strawberry.field(
        description="Labels a database must carry to use it, as a label selector; null: any."
    )
    def database_selector(self) -> JSON | None:
        selector = objects.dig(self.raw, "spec", "databases", "selector")
        return JSON(dict(selector)) if isinstance(selector, dict) else None

    @strawberry.field(description="Databases using it now.")
    def databases(self) -> list[ObjectRef]:
        kind = database_kind(self.object_kind())
        return [
            ObjectRef(
                cluster=self.cluster_name,
                api_group=KUBEDB,
                kind=kind,
                namespace=objects.str_at(ref, "namespace") or objects.namespace_of(self.raw),
                name=name,
            )
            for ref in objects.mappings_at(self.raw, "status", "databaseRefs")
            if (name := objects.str_at(ref, "name"))
        ]
