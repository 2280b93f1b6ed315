"""Continuous backup: the database takes a KubeDB archiver (``spec.archiver.ref``).

The archiver (an ArchiverPolicy, for example a PostgresArchiver) brings its own full and
manifest backups and its own BackupConfiguration, so CONTINUOUS stands alone: with a
BackupPolicy or other methods it is refused, and the storage, schedule and retention
are the archiver's. An archiver admits a database by namespace (``spec.databases
.namespaces``) and by the database's labels (``spec.databases.selector``), KubeDB's
"double opt-in"; without one named, the first admitting archiver is taken, one in the
database's namespace first, as KubeDB itself would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis import objects
from apis.resources import archiver, database_kind
from core.selectors import selector_from_label_selector
from resolvers.choices import namespace_admitted
from resolvers.reads.methods import (
    CONTINUOUS,
    LOGICAL,
    MANIFEST,
    ORDER,
    PHYSICAL,
    TEXTS,
    VOLUME_SNAPSHOT,
    MethodInfo,
)
from resolvers.writes.backup.common import Database, archiver_state, database_patch
from resolvers.writes.backup.inputs import BackupSetupInput
from resolvers.writes.backup.parts import Context, Setup, same_cluster
from resolvers.writes.plan import Change, JSONDict

# Kinds whose archiver takes its full backups as a logical dump (KubeDB catalog).
_LOGICAL_FULL_BACKUP = frozenset({"MongoDB", "MSSQLServer"})


def admits(ctx: Context, found: Mapping[str, Any], db: Database) -> bool:
    """Whether an archiver admits the database: namespace rule and label selector."""
    databases = objects.mapping_at(found, "spec", "databases")
    if not namespace_admitted(
        ctx.store,
        cluster=ctx.cluster,
        allowed=objects.mapping_at(databases, "namespaces"),
        home=objects.namespace_of(found),
        namespace=db.namespace,
    ):
        return False
    selector = databases.get("selector")
    if selector is None:
        return True
    return selector_from_label_selector(selector).matches(objects.labels_of(db.raw))


def method_infos(found: Mapping[str, Any], kind: str) -> list[MethodInfo]:
    """What runs: the archiver's full backups, log shipping and manifest backups."""
    driver = objects.str_at(found, "spec", "fullBackup", "driver") or "VolumeSnapshotter"
    if driver == "VolumeSnapshotter":
        full = VOLUME_SNAPSHOT
    else:
        full = LOGICAL if kind in _LOGICAL_FULL_BACKUP else PHYSICAL
    return [
        MethodInfo(method=m, tasks=[], text=TEXTS[m])
        for m in ORDER
        if m in (full, CONTINUOUS, MANIFEST)
    ]


def _unsupported(ctx: Context, setup: BackupSetupInput, methods: list[str]) -> bool:
    plan = ctx.plan
    if setup.policy is not None:
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            "Continuous backup cannot be combined with a BackupPolicy; choose the policy's "
            "methods, or CONTINUOUS without a policy.",
            field=("backup", "methods"),
        )
    elif len(methods) > 1:
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            "Continuous backup brings its own full and manifest backups; choose CONTINUOUS alone.",
            field=("backup", "methods"),
        )
    given = [
        name
        for name, value in (
            ("schedule", setup.schedule),
            ("sessionSchedules", setup.session_schedules),
            ("retentionPolicy", setup.retention_policy),
            ("storage", setup.storage),
            ("encryption", setup.encryption),
            ("variables", setup.variables),
        )
        if value is not None
    ]
    for name in given:
        plan.refuse(
            "INVALID_INPUT",
            f"With continuous backup the archiver policy sets the {name}; leave it out.",
            field=("backup", name),
        )
    kind = database_kind(ctx.db.kind)
    if kind is None or not kind.archiver:
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"KubeDB has no continuous backup for {ctx.db.kind}; choose another method.",
            field=("backup", "methods"),
        )
    return plan.refused


def _archiver(ctx: Context, setup: BackupSetupInput) -> JSONDict | None:
    db = ctx.db
    resource = archiver(db.kind)
    ref = setup.archiver_policy
    path = ("backup", "archiverPolicy")
    if ref is not None:
        if not same_cluster(ctx, ref, path):
            return None
        found = ctx.store.get(ctx.cluster, resource, ref.namespace, ref.name)
        if found is None:
            ctx.plan.refuse(
                "NOT_FOUND",
                f"{resource.kind} {ref.namespace}/{ref.name} was not found; pick one of the "
                "archiverPolicies for the database.",
                field=path,
            )
        elif not admits(ctx, found, db):
            ctx.plan.refuse(
                "POLICY_NOT_ALLOWED",
                f"{resource.kind} {ref.namespace}/{ref.name} does not admit {db.label} "
                "(its namespace rule or database label selector); pick one that does.",
                field=path,
            )
            return None
        return found
    candidates = sorted(
        (a for a in ctx.store.list(ctx.cluster, resource) if admits(ctx, a, db)),
        key=lambda a: (
            objects.namespace_of(a) != db.namespace,
            objects.namespace_of(a) or "",
            objects.name_of(a),
        ),
    )
    if not candidates:
        ctx.plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"No {resource.kind} admits {db.label}; ask an administrator for an archiver "
            "policy, or choose another method.",
            field=("backup", "methods"),
        )
        return None
    return candidates[0]


def continuous_setup(ctx: Context, setup: BackupSetupInput, methods: list[str]) -> Setup | None:
    if _unsupported(ctx, setup, methods):
        return None
    found = _archiver(ctx, setup)
    if found is None:
        return None
    db = ctx.db
    ref = {"name": objects.name_of(found), "namespace": objects.namespace_of(found) or ""}
    state = archiver_state(db)
    where = f"{objects.kind_of(found) or archiver(db.kind).kind} {ref['namespace']}/{ref['name']}"
    change = Change(
        action="PATCH",
        cluster=ctx.cluster,
        resource=db.resource,
        namespace=db.namespace,
        name=db.name,
        summary=(
            f"Resume continuous backup of {db.label} through {where}."
            if state.ref == (ref["namespace"], ref["name"])
            else f"Turn on continuous backup of {db.label} through {where}."
        ),
        body=database_patch(db, {"ref": ref, "pause": False}),
    )
    ctx.plan.add(change)
    return Setup(methods=method_infos(found, db.kind), continuous=True)
