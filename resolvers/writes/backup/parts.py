"""The steps the three ways of setting up backup share (see ``setup.py``): checks of
schedules, storages, retention policies and encryption, the kind's addon, and the
BackupConfiguration apply itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apis import objects
from apis.blueprints import MANIFEST, MANIFEST_TASK, METHOD_TASKS
from apis.resources import (
    ADDONS_KIND,
    BACKUP_CONFIGURATIONS,
    BACKUP_STORAGES,
    RETENTION_POLICIES,
    SECRETS,
    catalog_version,
)
from core import cron
from core.errors import InvalidInput
from resolvers.choices import usage_allows
from resolvers.reads.methods import CONTINUOUS, MethodInfo
from resolvers.writes.backup.common import GATEWAY, MANAGED_BY, Database, configuration_name
from resolvers.writes.backup.inputs import BackupSetupInput, EncryptionInput, ObjectRefInput
from resolvers.writes.plan import Change, JSONDict, Plan, Store

BACKEND = "default"
OWN_SESSION = "full-backup"
DATA_METHODS = (*METHOD_TASKS, CONTINUOUS)
ENCRYPTION_KEY = "RESTIC_PASSWORD"


@dataclass
class Setup:
    """What a planned setup runs (its changes are in the plan)."""

    methods: list[MethodInfo] = field(default_factory=list)
    # Continuous backup through an archiver, rather than a BackupConfiguration.
    continuous: bool = False


@dataclass(frozen=True)
class Context:
    """The call's fixed facts, passed to every step."""

    store: Store
    cluster: str
    db: Database
    plan: Plan
    # The configuration being replaced (updateBackup), if any.
    existing: JSONDict | None = None


def data_methods(setup: BackupSetupInput, plan: Plan) -> list[str] | None:
    """The chosen data methods (MANIFEST is always added), or None for the default.

    Refuses unknown values and a choice with no data method.
    """
    if setup.methods is None:
        return None
    unknown = sorted({m for m in setup.methods if m not in (*DATA_METHODS, MANIFEST)})
    if unknown:
        plan.refuse(
            "INVALID_INPUT",
            f"Unknown backup method {', '.join(unknown)}; use LOGICAL, PHYSICAL, "
            "VOLUME_SNAPSHOT or CONTINUOUS.",
            field=("backup", "methods"),
        )
        return None
    chosen = [m for m in DATA_METHODS if m in setup.methods]
    if not chosen:
        plan.refuse(
            "INVALID_INPUT",
            "Choose at least one of LOGICAL, PHYSICAL, VOLUME_SNAPSHOT or CONTINUOUS; "
            "the manifest backup is always added to them.",
            field=("backup", "methods"),
        )
    return chosen


def valid_schedule(text: str, path: Sequence[str], plan: Plan) -> bool:
    try:
        cron.parse(text)
    except InvalidInput as exc:
        plan.refuse(
            "INVALID_SCHEDULE",
            f"{exc.message}. Give a 5-field cron schedule, for example '0 2 * * *'.",
            field=path,
        )
        return False
    return True


def same_cluster(ctx: Context, ref: ObjectRefInput | None, path: Sequence[str]) -> bool:
    if ref is None or ref.cluster is None or ref.cluster == ctx.cluster:
        return True
    ctx.plan.refuse(
        "INVALID_INPUT",
        f"{ref.namespace}/{ref.name} is in cluster {ref.cluster}, but the database is in "
        f"{ctx.cluster}; name one in the database's cluster.",
        field=path,
    )
    return False


def chosen_retention(ctx: Context, ref: ObjectRefInput) -> JSONDict | None:
    """The RetentionPolicy the user named, if it exists and admits the namespace."""
    path = ("backup", "retentionPolicy")
    if not same_cluster(ctx, ref, path):
        return None
    found = ctx.store.get(ctx.cluster, RETENTION_POLICIES, ref.namespace, ref.name)
    if found is None:
        ctx.plan.refuse(
            "NOT_FOUND",
            f"RetentionPolicy {ref.namespace}/{ref.name} was not found; "
            "pick one of the policy's choices.retentionPolicies.",
            field=path,
        )
        return None
    if not usage_allows(ctx.store, cluster=ctx.cluster, obj=found, namespace=ctx.db.namespace):
        ctx.plan.refuse(
            "RETENTION_NOT_ALLOWED",
            f"RetentionPolicy {ref.namespace}/{ref.name} may not be used from namespace "
            f"{ctx.db.namespace}; pick one that admits it.",
            field=path,
        )
        return None
    return found


def chosen_storage(ctx: Context, ref: ObjectRefInput) -> JSONDict | None:
    """The user's own BackupStorage, if it exists and admits the namespace."""
    path = ("backup", "storage")
    if not same_cluster(ctx, ref, path):
        return None
    found = ctx.store.get(ctx.cluster, BACKUP_STORAGES, ref.namespace, ref.name)
    if found is None:
        ctx.plan.refuse(
            "NOT_FOUND",
            f"BackupStorage {ref.namespace}/{ref.name} was not found; check its namespace "
            "and name.",
            field=path,
        )
        return None
    if not usage_allows(ctx.store, cluster=ctx.cluster, obj=found, namespace=ctx.db.namespace):
        ctx.plan.refuse(
            "CUSTOM_STORAGE_NOT_ALLOWED",
            f"BackupStorage {ref.namespace}/{ref.name} does not admit namespace "
            f"{ctx.db.namespace}; use one whose usage policy admits it.",
            field=path,
        )
        return None
    return found


def encryption_secret_name(db: Database) -> str:
    return f"{configuration_name(db)}-encryption"


def _existing_secret(existing: JSONDict | None) -> tuple[str, str] | None:
    for session in objects.mappings_at(existing, "spec", "sessions"):
        for repo in objects.mappings_at(session, "repositories"):
            name = objects.str_at(repo, "encryptionSecret", "name")
            if name:
                namespace = objects.str_at(repo, "encryptionSecret", "namespace")
                return (namespace or objects.namespace_of(existing or {}) or "", name)
    return None


def encryption(ctx: Context, given: EncryptionInput | None) -> tuple[str, str] | None:
    """(namespace, name) of the Secret encrypting the repositories; a password becomes a
    new Secret in the database's namespace (a CREATE in the plan).

    On updateBackup, leaving it out keeps the current Secret: a new password for
    repositories already encrypted with another would make their snapshots unreadable.
    """
    path = ("backup", "encryption")
    if given is None:
        return _existing_secret(ctx.existing)
    if (given.secret is None) == (given.password is None):
        ctx.plan.refuse(
            "INVALID_INPUT",
            "Give either an existing Secret or a password for encryption, not both or neither.",
            field=path,
        )
        return None
    if given.secret is not None:
        if not same_cluster(ctx, given.secret, (*path, "secret")):
            return None
        return (given.secret.namespace, given.secret.name)
    name = encryption_secret_name(ctx.db)
    if _existing_secret(ctx.existing) == (ctx.db.namespace, name):
        ctx.plan.refuse(
            "INVALID_INPUT",
            f"The repositories are encrypted with the password in Secret {name}; a new "
            "password would make their snapshots unreadable. Leave encryption out to keep it.",
            field=(*path, "password"),
        )
        return None
    if not given.password:
        ctx.plan.refuse(
            "INVALID_INPUT", "The password must not be empty.", field=(*path, "password")
        )
        return None
    ctx.plan.add(
        Change(
            action="CREATE",
            cluster=ctx.cluster,
            resource=SECRETS,
            namespace=ctx.db.namespace,
            name=name,
            summary=f"Create Secret {ctx.db.namespace}/{name} holding the backup encryption "
            "password.",
            body={
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": ctx.db.namespace,
                    "labels": {MANAGED_BY: GATEWAY},
                },
                "type": "Opaque",
                "stringData": {ENCRYPTION_KEY: given.password},
            },
        )
    )
    return (ctx.db.namespace, name)


def kind_addon(ctx: Context) -> str:
    """The KubeStash addon backing up the database's kind: its catalog version's, else the
    ``<kind>-addon`` name of the KubeDB catalog chart."""
    version = objects.str_at(ctx.db.raw, "spec", "version")
    if version:
        catalog = ctx.store.get(ctx.cluster, catalog_version(ctx.db.kind), None, version)
        name = objects.str_at(catalog, "spec", "archiver", "addon", "name")
        if name:
            return name
    return f"{ctx.db.kind.lower()}-addon"


def addon_tasks(ctx: Context, addon: str) -> set[str] | None:
    """The backup tasks an installed Addon offers; None when the cache has no such Addon."""
    found = ctx.store.get(ctx.cluster, ADDONS_KIND, None, addon)
    if found is None:
        return None
    return {n for t in objects.mappings_at(found, "spec", "backupTasks") if (n := t.get("name"))}


def with_manifest(tasks: list[str], offered: set[str] | None) -> list[str]:
    """Every session also backs up the manifest, where the addon can (elasticsearch-addon
    has no manifest-backup task)."""
    if MANIFEST_TASK in tasks or (offered is not None and MANIFEST_TASK not in offered):
        return tasks
    return [*tasks, MANIFEST_TASK]


def applied_name(ctx: Context) -> str:
    """The configuration's name: the one replaced, else ``<db>-backup``."""
    return objects.name_of(ctx.existing) if ctx.existing else configuration_name(ctx.db)


def configuration_change(
    ctx: Context, *, spec: JSONDict, labels: Mapping[str, str], summary: str
) -> Change:
    """The BackupConfiguration apply: created, or replacing ``ctx.existing`` whole."""
    name = applied_name(ctx)
    metadata: JSONDict = {
        "name": name,
        "namespace": ctx.db.namespace,
        "labels": {MANAGED_BY: GATEWAY, **labels},
    }
    if ctx.existing is not None:
        version = objects.str_at(ctx.existing, "metadata", "resourceVersion")
        if version:
            metadata["resourceVersion"] = version
        # Replacing the setup does not resume backups the user paused.
        if objects.bool_at(ctx.existing, "spec", "paused"):
            spec = {**spec, "paused": True}
    return Change(
        action="CREATE" if ctx.existing is None else "PATCH",
        cluster=ctx.cluster,
        resource=BACKUP_CONFIGURATIONS,
        namespace=ctx.db.namespace,
        name=name,
        summary=summary,
        body={
            "apiVersion": BACKUP_CONFIGURATIONS.api_version,
            "kind": BACKUP_CONFIGURATIONS.kind,
            "metadata": metadata,
            "spec": spec,
        },
    )


def variables_given(value: Any, plan: Plan) -> dict[str, str] | None:
    """BackupSetupInput.variables as name to text; None (refused) if it is not an object
    of strings and numbers."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, (str, int, float)) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        plan.refuse(
            "INVALID_INPUT",
            "Variables must be an object of names to text values, for example "
            '{"database": "orders"}.',
            field=("backup", "variables"),
        )
        return None
    return {k: str(v) for k, v in value.items()}
