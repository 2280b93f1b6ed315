"""What a document refers to, and which tier of the apply order it belongs to.

The order, tier by tier: Namespaces; catalog versions and addons; storages and the
Secrets they name; retention policies; blueprints, archivers, hook templates and
repositories; databases; configurations (BackupConfigurations, sessions, and every other
KubeDB or KubeStash kind). Within a tier, an object comes after the objects of the
bundle it refers to (a Secret before the BackupStorage that names it).

A *hard* reference is one the object does not work without (a BackupConfiguration's
storage): while it is missing the document is WAITING. A *soft* one only orders: a
database's ``spec.authSecret`` (KubeDB makes the Secret when it is missing), and every
Secret outside the bundle, since the gateway never caches Secrets (their values never
enter its memory) and so cannot tell whether one exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apis import objects
from apis.resources import ADDONS, ARCHIVER, CATALOG, CORE, KUBEDB, STORAGE
from resolvers.writes.manifests.documents import Document, ObjectKey

BLUEPRINT_NAME = "blueprint.kubestash.com/name"
BLUEPRINT_NAMESPACE = "blueprint.kubestash.com/namespace"

TIERS = (
    "namespaces",
    "catalog and addons",
    "storages and Secrets",
    "retention policies",
    "blueprints and archivers",
    "databases",
    "configurations",
)


@dataclass(frozen=True)
class Reference:
    key: ObjectKey
    hard: bool = True


def tier(key: ObjectKey) -> int:
    group, kind = key.group, key.kind
    if group == "":
        return 0 if kind == "Namespace" else 2
    if group in (CATALOG, ADDONS):
        return 1
    if (group, kind) == (STORAGE, "BackupStorage"):
        return 2
    if (group, kind) == (STORAGE, "RetentionPolicy"):
        return 3
    if group == ARCHIVER or (group, kind) in (
        (CORE, "BackupBlueprint"),
        (CORE, "HookTemplate"),
        (STORAGE, "Repository"),
    ):
        return 4
    if group == KUBEDB:
        return 5
    return 6


def references(doc: Document) -> list[Reference]:
    """The objects ``doc`` names, besides its namespace."""
    return list(dict.fromkeys(_references(doc)))


def _references(doc: Document) -> Iterator[Reference]:
    key, body = doc.key, doc.body
    group, kind = key.group, key.kind

    def ref(
        g: str, k: str, name: object, namespace: object = None, *, scoped: bool = True
    ) -> Iterator[Reference]:
        if not isinstance(name, str) or not name or "${" in name:
            return  # templated (a blueprint's placeholder) or absent
        ns: str | None = None
        if scoped:
            ns = namespace if isinstance(namespace, str) and namespace else key.namespace
            if ns is None or "${" in ns:
                return
        hard = g != ""  # Secrets only order (see the module's doc)
        yield Reference(ObjectKey(key.cluster, g, k, ns, name), hard)

    def obj_ref(g: str, k: str, value: Mapping[str, Any]) -> Iterator[Reference]:
        yield from ref(g, k, value.get("name"), value.get("namespace"))

    def secret(value: Mapping[str, Any]) -> Iterator[Reference]:
        yield from obj_ref("", "Secret", value)

    if (group, kind) == (STORAGE, "BackupStorage"):
        storage = objects.mapping_at(body, "spec", "storage")
        for provider in ("s3", "gcs", "azure"):
            yield from ref("", "Secret", objects.mapping_at(storage, provider).get("secretName"))
    elif (group, kind) == (STORAGE, "Repository"):
        yield from obj_ref(STORAGE, "BackupStorage", objects.mapping_at(body, "spec", "storageRef"))
        yield from secret(objects.mapping_at(body, "spec", "encryptionSecret"))
    elif (group, kind) in ((CORE, "BackupConfiguration"), (CORE, "BackupBlueprint")):
        spec = objects.mapping_at(body, "spec")
        if kind == "BackupBlueprint":
            spec = objects.mapping_at(spec, "backupConfigurationTemplate")
        else:
            target = objects.mapping_at(spec, "target")
            if target.get("apiGroup") == KUBEDB and isinstance(target.get("kind"), str):
                yield from obj_ref(KUBEDB, str(target["kind"]), target)
        for backend in objects.mappings_at(spec, "backends"):
            yield from obj_ref(STORAGE, "BackupStorage", objects.mapping_at(backend, "storageRef"))
            retention = objects.mapping_at(backend, "retentionPolicy")
            yield from obj_ref(STORAGE, "RetentionPolicy", retention)
        for session in objects.mappings_at(spec, "sessions"):
            for repository in objects.mappings_at(session, "repositories"):
                yield from secret(objects.mapping_at(repository, "encryptionSecret"))
            addon = objects.mapping_at(session, "addon").get("name")
            yield from ref(ADDONS, "Addon", addon, scoped=False)
    elif (group, kind) == (CORE, "RestoreSession"):
        spec = objects.mapping_at(body, "spec")
        target = objects.mapping_at(spec, "target")
        if target.get("apiGroup") == KUBEDB and isinstance(target.get("kind"), str):
            # A restore may create its target from the manifest snapshot: order only.
            for r in obj_ref(KUBEDB, str(target["kind"]), target):
                yield Reference(r.key, hard=False)
        yield from secret(objects.mapping_at(spec, "dataSource", "encryptionSecret"))
        yield from ref(ADDONS, "Addon", objects.mapping_at(spec, "addon").get("name"), scoped=False)
    elif (group, kind) == (CORE, "BackupSession"):
        invoker = objects.mapping_at(body, "spec", "invoker")
        if invoker.get("apiGroup") == CORE and isinstance(invoker.get("kind"), str):
            yield from ref(CORE, str(invoker["kind"]), invoker.get("name"))
    elif group == ARCHIVER:
        spec = objects.mapping_at(body, "spec")
        storage = objects.mapping_at(spec, "backupStorage", "ref")
        yield from obj_ref(STORAGE, "BackupStorage", storage)
        yield from obj_ref(STORAGE, "RetentionPolicy", objects.mapping_at(spec, "retentionPolicy"))
        yield from secret(objects.mapping_at(spec, "encryptionSecret"))
    elif group == KUBEDB:
        spec = objects.mapping_at(body, "spec")
        yield from ref(CATALOG, f"{kind}Version", spec.get("version"), scoped=False)
        for r in ref("", "Secret", objects.mapping_at(spec, "authSecret").get("name")):
            yield Reference(r.key, hard=False)
        yield from obj_ref(ARCHIVER, f"{kind}Archiver", objects.mapping_at(spec, "archiver", "ref"))
        annotations = objects.mapping_at(body, "metadata", "annotations")
        yield from ref(
            CORE,
            "BackupBlueprint",
            annotations.get(BLUEPRINT_NAME),
            annotations.get(BLUEPRINT_NAMESPACE),
        )
