"""The documents of an applyManifests call: which objects they are, and whether StashQL
applies them at all.

A document is one Kubernetes object as JSON. StashQL applies the KubeDB and KubeStash
kinds (``kubedb.com``, ``*.kubedb.com``, ``*.kubestash.com``) and the two core kinds they
need, ``v1`` Namespace and Secret; anything else, or an object without ``apiVersion``,
``kind`` or ``metadata.name``, is refused before anything is planned.

What is applied is the document without what the API server owns: ``status`` (the
operators' part), and the server-set metadata (uid, resourceVersion, managedFields, ...).
The ``kubectl.kubernetes.io/last-applied-configuration`` annotation is dropped too: it is
a copy of a former object, for a Secret with its values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apis import resources
from apis.objects import LAST_APPLIED
from apis.resources import CRDS, NAMESPACES, SECRETS, ResourceType
from resolvers.writes.plan import JSONDict, Store

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
)


@dataclass(frozen=True, order=True)
class ObjectKey:
    """One object's identity: what results name and ``waitingFor`` points at."""

    cluster: str
    group: str  # "" for the core group
    kind: str
    namespace: str | None
    name: str

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class Document:
    """A document StashQL applies: its identity, its resource, the body to apply."""

    index: int
    key: ObjectKey
    version: str
    body: JSONDict
    # Where the resource is served; None while its kind is not (no CRD in the cluster).
    resource: ResourceType | None


class Refused(Exception):
    """A document StashQL does not apply; the message says why, in words."""


def canonical(document: object) -> str:
    """The JSON the size bound counts: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)


def applies(group: str, version: str, kind: str) -> bool:
    """Whether StashQL applies objects of this group and kind."""
    if group == "":
        return version == "v1" and kind in ("Namespace", "Secret")
    return group == resources.KUBEDB or group.endswith((".kubedb.com", ".kubestash.com"))


class Kinds:
    """Which kinds a cluster serves, from the CustomResourceDefinitions in the store."""

    def __init__(self, store: Store, cluster: str) -> None:
        self._served: dict[tuple[str, str], JSONDict] = {}
        for crd in store.list(cluster, CRDS):
            spec = crd.get("spec") or {}
            names = spec.get("names") or {}
            if isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str):
                self._served[(spec["group"], names["kind"])] = crd

    def resource(self, group: str, version: str, kind: str) -> ResourceType | None:
        """The resource serving this kind, None while no CRD defines it."""
        if group == "":
            return NAMESPACES if kind == "Namespace" else SECRETS if kind == "Secret" else None
        crd = self._served.get((group, kind))
        if crd is None:
            return None
        spec = crd.get("spec") or {}
        status = False
        for entry in spec.get("versions") or []:
            if isinstance(entry, dict) and entry.get("name") == version:
                status = "status" in (entry.get("subresources") or {})
        return ResourceType(
            group=group,
            version=version,
            plural=str((spec.get("names") or {}).get("plural") or ""),
            kind=kind,
            namespaced=spec.get("scope") != "Cluster",
            status_subresource=status,
        )

    def versions(self, group: str, kind: str) -> list[str] | None:
        crd = self._served.get((group, kind))
        if crd is None:
            return None
        return [
            str(v.get("name"))
            for v in (crd.get("spec") or {}).get("versions") or []
            if isinstance(v, dict) and v.get("served", True)
        ]

    def crd_key(self, group: str, kind: str, *, cluster: str) -> ObjectKey:
        """What a document of a kind not served waits for: its CustomResourceDefinition."""
        return ObjectKey(cluster, CRDS.group, CRDS.kind, None, f"{_plural(group, kind)}.{group}")


def _plural(group: str, kind: str) -> str:
    known = resources.by_kind(group, kind)
    if known is not None:
        return known.plural
    db = resources.database_kind(kind) if group == resources.KUBEDB else None
    return db.plural if db is not None else f"{kind.lower()}s"


def namespaced_guess(group: str, kind: str) -> bool:
    """Scope of a kind not served yet, from what StashQL knows of it."""
    if group == "":
        return kind != "Namespace"
    if group == resources.CATALOG:
        return False
    known = resources.by_kind(group, kind)
    return known.namespaced if known is not None else True


def parse(index: int, raw: object, *, cluster: str, kinds: Kinds) -> Document:
    """The document at ``index``; ``Refused`` if StashQL does not apply it."""
    if not isinstance(raw, dict):
        raise Refused("It is not a JSON object.")
    api_version = raw.get("apiVersion")
    kind = raw.get("kind")
    metadata = raw.get("metadata")
    if not isinstance(api_version, str) or not api_version:
        raise Refused("It has no apiVersion.")
    if not isinstance(kind, str) or not kind:
        raise Refused("It has no kind.")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise Refused(f"The {kind} has no metadata.name.")
    name = str(metadata["name"])
    if not name:
        raise Refused(f"The {kind} has an empty metadata.name.")
    group, _, version = api_version.rpartition("/")
    if not applies(group, version, kind):
        raise Refused(
            f"StashQL applies only KubeDB and KubeStash objects and the Namespaces and "
            f"Secrets they need, not {kind} ({api_version})."
        )
    if group == "" and kind == "Namespace" and metadata.get("namespace"):
        raise Refused(f"Namespace {name} names a namespace; a Namespace has none.")
    resource = kinds.resource(group, version, kind)
    served = kinds.versions(group, kind)
    if resource is not None and served is not None and version not in served:
        raise Refused(
            f"The cluster serves {kind} as {', '.join(group + '/' + v for v in served)}, "
            f"not {api_version}."
        )
    namespaced = resource.namespaced if resource is not None else namespaced_guess(group, kind)
    namespace = metadata.get("namespace")
    if namespaced and (not isinstance(namespace, str) or not namespace):
        raise Refused(f"The {kind} {name} has no metadata.namespace; name its namespace.")
    key = ObjectKey(cluster, group, kind, str(namespace) if namespaced else None, name)
    return Document(index, key, version, _body(raw, namespaced=namespaced), resource)


def _body(raw: JSONDict, *, namespaced: bool) -> JSONDict:
    """The document as applied: without status and server-set metadata."""
    body: JSONDict = {k: v for k, v in raw.items() if k != "status"}
    metadata: dict[str, Any] = {
        k: v for k, v in dict(raw["metadata"]).items() if k not in SERVER_METADATA
    }
    if not namespaced:
        metadata.pop("namespace", None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations")
    body["metadata"] = metadata
    return body
