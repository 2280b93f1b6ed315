"""Who uses a policy object: what makes a delete (or a storage move) IN_USE.

References are read as KubeStash and KubeDB resolve them: a reference without a
namespace means the referring object's own namespace, and a BackupBlueprint's
``${name:=default}`` placeholders refer to their default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apis import objects
from apis.resources import (
    BACKUP_BLUEPRINTS,
    BACKUP_CONFIGURATIONS,
    REPOSITORIES,
    RESTORE_SESSIONS,
    ResourceType,
    archiver,
)
from resolvers.writes.admin.common import (
    ARCHIVER_KINDS,
    database_resource,
    names,
    placeholder_default,
    ref_text,
)
from resolvers.writes.plan import JSONDict, Store


def _points_at(ref: Mapping[str, Any], home: str | None, target: tuple[str, str]) -> bool:
    name = placeholder_default(ref.get("name"))
    namespace = placeholder_default(ref.get("namespace")) or home
    return (namespace, name) == target


def _label(resource: ResourceType, raw: JSONDict) -> str:
    return f"{resource.kind} {ref_text(objects.namespace_of(raw), objects.name_of(raw))}"


def _users(
    store: Store,
    cluster: str,
    resource: ResourceType,
    refs_of: Callable[[JSONDict], list[Mapping[str, Any]]],
    target: tuple[str, str],
) -> list[str]:
    found = []
    for raw in store.list(cluster, resource):
        home = objects.namespace_of(raw)
        if any(_points_at(ref, home, target) for ref in refs_of(raw)):
            found.append(_label(resource, raw))
    return found


def _backend_refs(raw: JSONDict, part: str, *path: str) -> list[Mapping[str, Any]]:
    return [objects.mapping_at(b, part) for b in objects.mappings_at(raw, *path, "backends")]


def _archivers() -> Iterable[ResourceType]:
    return (archiver(kind) for kind in ARCHIVER_KINDS)


def repositories_in(store: Store, cluster: str, target: tuple[str, str]) -> list[str]:
    return _users(
        store,
        cluster,
        REPOSITORIES,
        lambda r: [objects.mapping_at(r, "spec", "storageRef")],
        target,
    )


def storage_users(store: Store, cluster: str, target: tuple[str, str]) -> list[str]:
    found = repositories_in(store, cluster, target)
    found += _users(
        store,
        cluster,
        BACKUP_CONFIGURATIONS,
        lambda r: _backend_refs(r, "storageRef", "spec"),
        target,
    )
    found += _users(
        store,
        cluster,
        BACKUP_BLUEPRINTS,
        lambda r: _backend_refs(r, "storageRef", "spec", "backupConfigurationTemplate"),
        target,
    )
    for resource in _archivers():
        found += _users(
            store,
            cluster,
            resource,
            lambda r: [objects.mapping_at(r, "spec", "backupStorage", "ref")],
            target,
        )
    return found


def retention_users(store: Store, cluster: str, target: tuple[str, str]) -> list[str]:
    found = _users(
        store,
        cluster,
        BACKUP_CONFIGURATIONS,
        lambda r: _backend_refs(r, "retentionPolicy", "spec"),
        target,
    )
    found += _users(
        store,
        cluster,
        BACKUP_BLUEPRINTS,
        lambda r: _backend_refs(r, "retentionPolicy", "spec", "backupConfigurationTemplate"),
        target,
    )
    for resource in _archivers():
        found += _users(
            store,
            cluster,
            resource,
            lambda r: [objects.mapping_at(r, "spec", "retentionPolicy")],
            target,
        )
    return found


def _hook_refs(hooks: Mapping[str, Any], *phases: str) -> list[Mapping[str, Any]]:
    return [
        objects.mapping_at(h, "hookTemplate")
        for phase in phases
        for h in objects.mappings_at(hooks, phase)
    ]


def hook_users(store: Store, cluster: str, target: tuple[str, str]) -> list[str]:
    def in_configuration(raw: JSONDict) -> list[Mapping[str, Any]]:
        return [
            ref
            for s in objects.mappings_at(raw, "spec", "sessions")
            for ref in _hook_refs(objects.mapping_at(s, "hooks"), "preBackup", "postBackup")
        ]

    def in_restore(raw: JSONDict) -> list[Mapping[str, Any]]:
        return _hook_refs(objects.mapping_at(raw, "spec", "hooks"), "preRestore", "postRestore")

    found = _users(store, cluster, BACKUP_CONFIGURATIONS, in_configuration, target)
    return found + _users(store, cluster, RESTORE_SESSIONS, in_restore, target)


def archiver_users(store: Store, cluster: str, kind: str, target: tuple[str, str]) -> list[str]:
    """Databases of ``kind`` whose ``spec.archiver.ref`` names the archiver."""
    return _users(
        store,
        cluster,
        database_resource(kind),
        lambda r: [objects.mapping_at(r, "spec", "archiver", "ref")],
        target,
    )


def in_use_message(what: str, users: list[str], *, then: str) -> str:
    return f"{what} is still used by {names(users)}; {then}"
