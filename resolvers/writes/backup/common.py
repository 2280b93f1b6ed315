"""What the backup planners share: the database, the configurations backing it up, the
shape of what they write, and the impact they report.

Patches are server-side apply bodies under the gateway's one field manager. Such an
apply removes every field the manager owned and left out, so a patch of an object the
gateway may have written before (a database createDatabase made, a configuration
enableBackup made) carries its whole spec as read from the cache, plus its
``resourceVersion``: if the object changed since, the API server answers Conflict
rather than the gateway writing back a stale copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apis import objects
from apis.blueprints import Target
from apis.resources import (
    BACKUP_CONFIGURATIONS,
    DATABASE_KINDS,
    KUBEDB,
    ResourceType,
    database_kind,
)
from resolvers.reads.methods import MethodInfo
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import JSONDict, Plan, Store

MANAGED_BY = "app.kubernetes.io/managed-by"
GATEWAY = "stashql"
INVOKER_NAME = "kubestash.com/invoker-name"
INVOKER_NAMESPACE = "kubestash.com/invoker-namespace"
INVOKER_KIND = "kubestash.com/invoker-kind"


@dataclass(frozen=True)
class BackupImpact:
    """``BackupImpact``: what turning backup on does to the database."""

    unavailable_during_setup: bool
    methods: list[MethodInfo]


@dataclass
class PlanWithImpact:
    plan: Plan = field(default_factory=Plan)
    # Null on error (the contract's ``impact``); set by enableBackup and updateBackup.
    impact: BackupImpact | None = None


def impact_of(methods: list[MethodInfo]) -> BackupImpact:
    return BackupImpact(
        unavailable_during_setup=any(m.text.may_restart_database for m in methods),
        methods=methods,
    )


@dataclass(frozen=True)
class Database:
    raw: JSONDict
    resource: ResourceType

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def namespace(self) -> str:
        return objects.namespace_of(self.raw) or ""

    @property
    def name(self) -> str:
        return objects.name_of(self.raw)

    @property
    def target(self) -> Target:
        return Target(kind=self.kind, namespace=self.namespace, name=self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def database_resource(kind: str) -> ResourceType:
    known = database_kind(kind)
    if known is not None:
        return known.resource
    # Any other KubeDB kind: the Store matches by group and kind; plural by convention.
    return ResourceType(
        group=KUBEDB, version="v1", plural=f"{kind.lower()}s", kind=kind, status_subresource=True
    )


def _served_as(resource: ResourceType, raw: Mapping[str, Any]) -> ResourceType:
    """The resource at the version the cached object was read in (its spec's shape)."""
    version = (objects.str_at(raw, "apiVersion") or "").rpartition("/")[2]
    return dataclasses.replace(resource, version=version) if version else resource


def find_database(
    store: Store, *, cluster: str, ref: ObjectRefInput, plan: Plan
) -> Database | None:
    """The database named by ``ref``, or None with NOT_FOUND/INVALID_INPUT in ``plan``."""
    if ref.kind:
        known = database_kind(ref.kind) or next(
            (d for d in DATABASE_KINDS if d.kind.lower() == ref.kind.lower()), None
        )
        resource = known.resource if known is not None else database_resource(ref.kind)
        raw = store.get(cluster, resource, ref.namespace, ref.name)
        if raw is not None:
            return Database(raw, _served_as(resource, raw))
    else:
        found = [
            (d.resource, raw)
            for d in DATABASE_KINDS
            if (raw := store.get(cluster, d.resource, ref.namespace, ref.name)) is not None
        ]
        if len(found) == 1:
            return Database(found[0][1], _served_as(*found[0]))
        if found:
            kinds = ", ".join(sorted(r.kind for r, _ in found))
            plan.refuse(
                "INVALID_INPUT",
                f"Several databases are called {ref.namespace}/{ref.name} ({kinds}); "
                "give the kind.",
                field=("database", "kind"),
            )
            return None
    what = f"{ref.kind} " if ref.kind else "Database "
    plan.refuse(
        "NOT_FOUND",
        f"{what}{ref.namespace}/{ref.name} was not found in cluster {cluster}; "
        "check its namespace and name.",
        field=("database",),
    )
    return None


def targets(bc: Mapping[str, Any], db: Database) -> bool:
    """Whether a BackupConfiguration's ``spec.target`` is the database."""
    ref = objects.typed_ref(
        objects.dig(bc, "spec", "target"), default_namespace=objects.namespace_of(bc)
    )
    return (
        ref is not None
        and (ref.api_group or KUBEDB) == KUBEDB
        and ref.kind == db.kind
        and ref.namespace == db.namespace
        and ref.name == db.name
    )


def configurations_of(store: Store, *, cluster: str, db: Database) -> list[JSONDict]:
    """BackupConfigurations targeting the database (they live in its namespace)."""
    found = store.list(cluster, BACKUP_CONFIGURATIONS, db.namespace)
    return sorted((bc for bc in found if targets(bc, db)), key=objects.name_of)


def archiver_made(bc: Mapping[str, Any], db: Database) -> bool:
    """Whether KubeDB made the configuration for the database's archiver (``<db>-archiver``)."""
    owners = objects.mappings_at(bc, "metadata", "ownerReferences")
    if any(str(o.get("kind") or "").endswith("Archiver") for o in owners):
        return True
    return objects.name_of(bc) == f"{db.name}-archiver"


def own_configuration(configs: list[JSONDict], db: Database) -> JSONDict | None:
    """The configuration a user manages: not the archiver's; the gateway's name first."""
    candidates = [bc for bc in configs if not archiver_made(bc, db)]
    preferred = configuration_name(db)
    return next(
        (bc for bc in candidates if objects.name_of(bc) == preferred),
        candidates[0] if candidates else None,
    )


def configuration_name(db: Database) -> str:
    return f"{db.name}-backup"


@dataclass(frozen=True)
class ArchiverState:
    ref: tuple[str, str] | None
    paused: bool

    @property
    def active(self) -> bool:
        return self.ref is not None and not self.paused


def archiver_state(db: Database) -> ArchiverState:
    archiver = objects.mapping_at(db.raw, "spec", "archiver")
    name = objects.str_at(archiver, "ref", "name")
    ref = (objects.str_at(archiver, "ref", "namespace") or db.namespace, name) if name else None
    return ArchiverState(ref=ref, paused=bool(objects.bool_at(archiver, "pause")))


def whole_body(raw: Mapping[str, Any], *, spec: Mapping[str, Any]) -> JSONDict:
    """An apply body replacing an existing object's spec (see the module docstring)."""
    metadata: JSONDict = {"name": objects.name_of(raw)}
    namespace = objects.namespace_of(raw)
    if namespace:
        metadata["namespace"] = namespace
    labels = objects.labels_of(raw)
    if labels:
        metadata["labels"] = labels
    version = objects.str_at(raw, "metadata", "resourceVersion")
    if version:
        metadata["resourceVersion"] = version
    return {
        "apiVersion": objects.str_at(raw, "apiVersion"),
        "kind": objects.kind_of(raw),
        "metadata": metadata,
        "spec": dict(spec),
    }


def database_patch(db: Database, archiver: Mapping[str, Any]) -> JSONDict:
    """The database with ``spec.archiver`` replaced."""
    spec = dict(objects.mapping_at(db.raw, "spec"))
    spec["archiver"] = dict(archiver)
    body = whole_body(db.raw, spec=spec)
    body["apiVersion"] = body["apiVersion"] or db.resource.api_version
    body["kind"] = body["kind"] or db.kind
    return body


def ref_text(ref: tuple[str, str]) -> str:
    return f"{ref[0]}/{ref[1]}"
