"""Input types: object references and the filters of list fields.

Each filter turns into the read side's query (``resolvers.reads.queries``) here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum

import strawberry

from resolvers.reads import queries
from schema.enums import (
    BackupHealth,
    BackupMethod,
    BackupSessionPhase,
    DatabasePhase,
    RestoreSessionPhase,
    SnapshotPhase,
    SnapshotType,
)


@strawberry.input(
    description="Names one object; kind and cluster may be left out where unambiguous."
)
class ObjectRefInput:
    cluster: str | None = strawberry.field(
        default=None, description="Cluster name; may be left out when only one is configured."
    )
    kind: str | None = strawberry.field(
        default=None,
        description="Kind, for example Postgres; may be left out if the name is unique.",
    )
    namespace: str = strawberry.field(description="Namespace of the object.")
    name: str = strawberry.field(description="Name of the object.")


@strawberry.input(description="Narrows a list of databases. Every given criterion must match.")
class DatabaseFilter:
    clusters: list[str] | None = strawberry.field(default=None, description="Only these clusters.")
    namespaces: list[str] | None = strawberry.field(
        default=None, description="Only these namespaces."
    )
    kinds: list[str] | None = strawberry.field(
        default=None, description="Only these KubeDB kinds, for example Postgres."
    )
    phases: list[DatabasePhase] | None = strawberry.field(
        default=None, description="Only databases in these phases."
    )
    backup_health: list[BackupHealth] | None = strawberry.field(
        default=None, description="Only databases whose backup health is one of these."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Only names containing this text."
    )
    label_selector: str | None = strawberry.field(
        default=None, description="A Kubernetes label selector, for example `team=payments`."
    )


@strawberry.input(description="Narrows a list of snapshots. Every given criterion must match.")
class SnapshotFilter:
    clusters: list[str] | None = strawberry.field(default=None, description="Only these clusters.")
    namespaces: list[str] | None = strawberry.field(
        default=None, description="Only these namespaces."
    )
    database: ObjectRefInput | None = strawberry.field(
        default=None, description="Only snapshots of this database."
    )
    repository: str | None = strawberry.field(
        default=None, description="Only snapshots in the Repository of this name."
    )
    types: list[SnapshotType] | None = strawberry.field(
        default=None, description="Only these snapshot types."
    )
    phases: list[SnapshotPhase] | None = strawberry.field(
        default=None, description="Only snapshots in these phases."
    )
    methods: list[BackupMethod] | None = strawberry.field(
        default=None, description="Only snapshots taken with one of these methods."
    )
    taken_after: datetime | None = strawberry.field(
        default=None, description="Only snapshots taken at or after this time."
    )
    taken_before: datetime | None = strawberry.field(
        default=None, description="Only snapshots taken before this time."
    )


@strawberry.input(description="Narrows a list of objects by place, name and labels.")
class ResourceFilter:
    clusters: list[str] | None = strawberry.field(default=None, description="Only these clusters.")
    namespaces: list[str] | None = strawberry.field(
        default=None, description="Only these namespaces."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Only names containing this text."
    )
    label_selector: str | None = strawberry.field(
        default=None, description="A Kubernetes label selector, for example `team=payments`."
    )


@strawberry.input(description="Narrows a list of backup sessions.")
class BackupSessionFilter:
    clusters: list[str] | None = strawberry.field(default=None, description="Only these clusters.")
    namespaces: list[str] | None = strawberry.field(
        default=None, description="Only these namespaces."
    )
    database: ObjectRefInput | None = strawberry.field(
        default=None, description="Only sessions backing up this database."
    )
    phases: list[BackupSessionPhase] | None = strawberry.field(
        default=None, description="Only sessions in these phases."
    )


@strawberry.input(description="Narrows a list of restore sessions.")
class RestoreSessionFilter:
    clusters: list[str] | None = strawberry.field(default=None, description="Only these clusters.")
    namespaces: list[str] | None = strawberry.field(
        default=None, description="Only these namespaces."
    )
    database: ObjectRefInput | None = strawberry.field(
        default=None, description="Only sessions restoring into this database."
    )
    phases: list[RestoreSessionPhase] | None = strawberry.field(
        default=None, description="Only sessions in these phases."
    )


def _values(values: Sequence[Enum] | None) -> list[str] | None:
    return None if values is None else [str(v.value) for v in values]


def ref_query(ref: ObjectRefInput | None) -> queries.RefQuery | None:
    if ref is None:
        return None
    return queries.RefQuery(
        cluster=ref.cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
    )


def database_query(f: DatabaseFilter | None) -> queries.DatabaseQuery:
    if f is None:
        return queries.DatabaseQuery()
    return queries.DatabaseQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        kinds=f.kinds,
        phases=_values(f.phases),
        backup_health=_values(f.backup_health),
        name_contains=f.name_contains,
        label_selector=f.label_selector,
    )


def snapshot_query(f: SnapshotFilter | None) -> queries.SnapshotQuery:
    if f is None:
        return queries.SnapshotQuery()
    return queries.SnapshotQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        database=ref_query(f.database),
        repository=f.repository,
        types=_values(f.types),
        phases=_values(f.phases),
        methods=_values(f.methods),
        taken_after=f.taken_after,
        taken_before=f.taken_before,
    )


def resource_query(f: ResourceFilter | None) -> queries.ResourceQuery:
    if f is None:
        return queries.ResourceQuery()
    return queries.ResourceQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        name_contains=f.name_contains,
        label_selector=f.label_selector,
    )


def session_query(f: BackupSessionFilter | RestoreSessionFilter | None) -> queries.SessionQuery:
    if f is None:
        return queries.SessionQuery()
    return queries.SessionQuery(
        clusters=f.clusters,
        namespaces=f.namespaces,
        database=ref_query(f.database),
        phases=_values(f.phases),
    )
