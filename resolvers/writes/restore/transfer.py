"""Making a backup in one cluster restorable in another: in the target cluster a
BackupStorage on the same location (a usable one reused, else one created with a copy of
its credentials Secret), the encryption Secret, and a Repository on the same path.

The gateway cannot read Secrets: the mutation reads the source's Secrets as the caller
before planning and hands them in (``SecretData``); the plan shows their values redacted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apis import objects
from apis.resources import BACKUP_STORAGES, REPOSITORIES, SECRETS
from resolvers.choices import usage_allows
from resolvers.writes.backup.common import GATEWAY, MANAGED_BY
from resolvers.writes.plan import Change, JSONDict, Plan, Store
from resolvers.writes.restore.inputs import RestoreSourceInput, SecretData
from resolvers.writes.restore.source import (
    SOURCE_FIELD,
    Target,
    given_source,
    resolve_snapshot,
    source_cluster,
)

_PROVIDER_KEYS = ("s3", "gcs", "azure", "local")
# Fields that say where the data is; credentials and tuning do not.
_NOT_LOCATION = frozenset({"secretName", "maxConnections", "insecureTLS"})


def location_of(storage: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A BackupStorage's backup location: provider and where in it."""
    backend = objects.mapping_at(storage, "spec", "storage")
    provider = str(backend.get("provider") or "")
    where = objects.mapping_at(backend, provider)
    return provider, tuple(sorted((k, str(v)) for k, v in where.items() if k not in _NOT_LOCATION))


def storage_of(store: Store, cluster: str, repository: Mapping[str, Any]) -> JSONDict | None:
    ref = objects.mapping_at(repository, "spec", "storageRef")
    name = objects.str_at(ref, "name")
    if not name:
        return None
    ns = objects.str_at(ref, "namespace") or objects.namespace_of(repository)
    return store.get(cluster, BACKUP_STORAGES, ns, name)


def credentials_secret(storage: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, name) of a BackupStorage's credentials Secret; None: credential-less."""
    backend = objects.mapping_at(storage, "spec", "storage")
    provider = str(backend.get("provider") or "")
    name = objects.str_at(backend, provider, "secretName")
    return (objects.namespace_of(storage) or "", name) if name else None


def secrets_needed(
    store: Store, *, cluster: str, repository: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(cluster, namespace, name) of the Secrets a cross-cluster restore copies: the
    mutation reads these as the caller before planning."""
    found: list[tuple[str, str, str]] = []
    storage = storage_of(store, cluster, repository)
    creds = credentials_secret(storage) if storage is not None else None
    if creds is not None:
        found.append((cluster, *creds))
    enc = objects.mapping_at(repository, "spec", "encryptionSecret")
    if objects.str_at(enc, "name"):
        ns = objects.str_at(enc, "namespace") or objects.namespace_of(repository) or ""
        found.append((cluster, ns, str(enc["name"])))
    return found


def _secret_copy(plan: Plan, *, cluster: str, namespace: str, given: SecretData, why: str) -> None:
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=SECRETS,
            namespace=namespace,
            name=given.name,
            summary=f"Copy Secret {given.namespace}/{given.name} ({why}) into cluster "
            f"{cluster} as {namespace}/{given.name}.",
            body={
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": given.name,
                    "namespace": namespace,
                    "labels": {MANAGED_BY: GATEWAY},
                },
                "type": given.type,
                "data": dict(given.data),
            },
        )
    )


def _given(secrets: Sequence[SecretData], ref: tuple[str, str]) -> SecretData | None:
    return next((s for s in secrets if (s.namespace, s.name) == ref), None)


@dataclass(frozen=True)
class Transferred:
    """The Repository to restore from in the target cluster."""

    namespace: str
    name: str
    encryption_secret: JSONDict | None


def _target_storage(
    store: Store,
    plan: Plan,
    *,
    source: Mapping[str, Any],
    target: str,
    namespace: str,
    secrets: Sequence[SecretData],
    can_create_storage: bool,
) -> tuple[str, str] | None:
    wanted = location_of(source)
    usable = sorted(
        (
            s
            for s in store.list(target, BACKUP_STORAGES)
            if location_of(s) == wanted
            and usage_allows(store, cluster=target, obj=s, namespace=namespace)
        ),
        key=lambda s: (
            objects.namespace_of(s) != namespace,
            objects.namespace_of(s) or "",
            objects.name_of(s),
        ),
    )
    if usable:
        return (objects.namespace_of(usable[0]) or "", objects.name_of(usable[0]))
    creds = credentials_secret(source)
    given = _given(secrets, creds) if creds is not None else None
    label = f"BackupStorage {objects.namespace_of(source)}/{objects.name_of(source)}"
    if wanted[0] == "local" or not can_create_storage or (creds is not None and given is None):
        why = (
            "a local volume cannot be reached from another cluster"
            if wanted[0] == "local"
            else "you may not create one there"
            if not can_create_storage
            else "its credentials could not be read"
        )
        plan.refuse(
            "STORAGE_MISSING_IN_TARGET",
            f"Cluster {target} has no BackupStorage usable from namespace {namespace} on the "
            f"location of {label}, and the plan cannot make one: {why}. Ask an administrator "
            "to create one.",
            field=("cluster",),
        )
        return None
    name = objects.name_of(source)
    taken = store.get(target, BACKUP_STORAGES, namespace, name)
    if taken is not None:
        name = f"{name}-restore"
    if given is not None:
        _secret_copy(
            plan, cluster=target, namespace=namespace, given=given, why="storage credentials"
        )
    backend = dict(objects.mapping_at(source, "spec", "storage"))
    plan.add(
        Change(
            action="CREATE",
            cluster=target,
            resource=BACKUP_STORAGES,
            namespace=namespace,
            name=name,
            summary=f"Create BackupStorage {namespace}/{name} in cluster {target} on the "
            f"location of {label}; deleting it keeps the data.",
            body={
                "apiVersion": BACKUP_STORAGES.api_version,
                "kind": BACKUP_STORAGES.kind,
                "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY: GATEWAY}},
                "spec": {
                    "storage": backend,
                    "usagePolicy": {"allowedNamespaces": {"from": "Same"}},
                    "default": False,
                    # Never WipeOut: the data belongs to the source cluster's backups.
                    "deletionPolicy": "Delete",
                },
            },
        )
    )
    plan.warn(
        "STORAGE_SHARED_ACROSS_CLUSTERS",
        f"Cluster {target} gets BackupStorage {namespace}/{name} on the location of {label}; "
        "deleting it keeps the data.",
    )
    return (namespace, name)


def transfer(
    store: Store,
    plan: Plan,
    *,
    source_cluster: str,
    repository: Mapping[str, Any],
    target: str,
    namespace: str,
    app: tuple[str, str, str],
    secrets: Sequence[SecretData],
    can_create_storage: bool,
) -> Transferred | None:
    """Plan what the target cluster needs to read the repository; None when refused."""
    repo_label = f"Repository {objects.namespace_of(repository)}/{objects.name_of(repository)}"
    source = storage_of(store, source_cluster, repository)
    if source is None:
        plan.refuse(
            "NOT_FOUND",
            f"The BackupStorage of {repo_label} was not found in cluster {source_cluster}.",
            field=("source",),
        )
        return None
    storage = _target_storage(
        store,
        plan,
        source=source,
        target=target,
        namespace=namespace,
        secrets=secrets,
        can_create_storage=can_create_storage,
    )
    if storage is None:
        return None
    encryption: JSONDict | None = None
    enc = objects.mapping_at(repository, "spec", "encryptionSecret")
    if objects.str_at(enc, "name"):
        ref = (
            objects.str_at(enc, "namespace") or objects.namespace_of(repository) or "",
            str(enc["name"]),
        )
        given = _given(secrets, ref)
        if given is None:
            plan.refuse(
                "NOT_FOUND",
                f"The encryption Secret {ref[0]}/{ref[1]} of {repo_label} could not be read.",
                field=("source",),
            )
            return None
        _secret_copy(plan, cluster=target, namespace=namespace, given=given, why="encryption")
        encryption = {"namespace": namespace, "name": given.name}
    name = objects.name_of(repository)
    path = objects.str_at(repository, "spec", "path")
    existing = store.get(target, REPOSITORIES, namespace, name)
    if existing is not None:
        same = (
            objects.str_at(existing, "spec", "path") == path
            and objects.str_at(existing, "spec", "storageRef", "name") == storage[1]
        )
        if not same:
            plan.refuse(
                "TARGET_EXISTS",
                f"Cluster {target} already has Repository {namespace}/{name} elsewhere; it "
                "cannot take the source's backups.",
                field=("namespace",),
            )
            return None
        return Transferred(namespace, name, encryption)
    spec: JSONDict = {
        "appRef": {"apiGroup": "kubedb.com", "kind": app[0], "namespace": app[1], "name": app[2]},
        "storageRef": {"namespace": storage[0], "name": storage[1]},
        "path": path,
        # Never WipeOut: the data belongs to the source cluster's backups.
        "deletionPolicy": "Delete",
    }
    if encryption is not None:
        spec["encryptionSecret"] = encryption
    plan.add(
        Change(
            action="CREATE",
            cluster=target,
            resource=REPOSITORIES,
            namespace=namespace,
            name=name,
            summary=f"Create Repository {namespace}/{name} in cluster {target} on the path of "
            f"{repo_label} in cluster {source_cluster}.",
            body={
                "apiVersion": REPOSITORIES.api_version,
                "kind": REPOSITORIES.kind,
                "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY: GATEWAY}},
                "spec": spec,
            },
        )
    )
    return Transferred(namespace, name, encryption)


def secrets_to_copy(
    store: Store,
    source: RestoreSourceInput,
    *,
    default_cluster: str,
    target_cluster: str | None,
) -> list[tuple[str, str, str]]:
    """(cluster, namespace, name) of the Secrets the mutation reads as the caller before
    planning: the storage credentials and encryption Secrets of a snapshot in another
    cluster than the new database's (``target_cluster``; None: the source's). Nothing
    for a source in the same cluster, a point in time, or a source the planner refuses.
    """
    scratch = Plan()
    which = given_source(source, scratch, field=SOURCE_FIELD)
    if which is None or which == "pointInTime":
        return []
    where = source_cluster(source, default_cluster)
    if (target_cluster or where) == where:
        return []
    resolved = resolve_snapshot(
        store,
        source,
        which=which,
        default_cluster=default_cluster,
        target=Target(cluster=target_cluster or where),
        plan=scratch,
        field_root=SOURCE_FIELD,
    )
    if resolved is None:
        return []
    return secrets_needed(store, cluster=resolved.cluster, repository=resolved.repository)
