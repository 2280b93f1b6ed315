"""How objects point at each other, as index functions: the joins and the simulator use them.

Links follow references and labels, never object names (see the API reference):
Snapshot labels ``kubestash.com/app-ref-*`` (falling back to ``spec.appRef``),
BackupConfiguration and RestoreSession ``spec.target``, Repository ``spec.appRef``,
BackupSession ``spec.invoker``, Snapshot ``spec.repository``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from apis import objects
from apis.resources import CORE, STORAGE

JSONDict = dict[str, Any]
IndexFunc = Callable[[JSONDict], Iterable[Hashable]]
SortFunc = Callable[[JSONDict], tuple[str, ...]]

AppKey = tuple[str, str, str]  # (kind, namespace, name) of a backed-up application


def _meta(obj: JSONDict) -> JSONDict:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: JSONDict) -> JSONDict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def typed_ref_key(ref: object, default_namespace: str) -> AppKey | None:
    """(kind, namespace, name) of a TypedObjectReference; namespace defaults to the owner's."""
    if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
        return None
    return (str(ref["kind"]), str(ref.get("namespace") or default_namespace), str(ref["name"]))


def snapshot_app(obj: JSONDict) -> Iterable[Hashable]:
    labels = _meta(obj).get("labels") or {}
    ns = str(_meta(obj).get("namespace") or "")
    kind = labels.get("kubestash.com/app-ref-kind")
    name = labels.get("kubestash.com/app-ref-name")
    if kind and name:
        return [(str(kind), str(labels.get("kubestash.com/app-ref-namespace") or ns), str(name))]
    key = typed_ref_key(_spec(obj).get("appRef"), ns)
    return [key] if key else []


def snapshot_repository(obj: JSONDict) -> Iterable[Hashable]:
    ns = str(_meta(obj).get("namespace") or "")
    repo = _spec(obj).get("repository") or (_meta(obj).get("labels") or {}).get(
        "kubestash.com/repo-name"
    )
    return [(ns, str(repo))] if repo else []


def snapshot_repository_name(obj: JSONDict) -> Iterable[Hashable]:
    """``spec.repository`` alone, as the snapshot filter's ``repository`` matches it."""
    repo = _spec(obj).get("repository")
    return [repo] if isinstance(repo, str) and repo else []


def snapshot_phase(obj: JSONDict) -> Iterable[Hashable]:
    return [objects.snapshot_phase(obj)]


def snapshot_type(obj: JSONDict) -> Iterable[Hashable]:
    return [objects.snapshot_type(obj)]


def target_app(obj: JSONDict) -> Iterable[Hashable]:
    key = typed_ref_key(_spec(obj).get("target"), str(_meta(obj).get("namespace") or ""))
    return [key] if key else []


def repository_app(obj: JSONDict) -> Iterable[Hashable]:
    key = typed_ref_key(_spec(obj).get("appRef"), str(_meta(obj).get("namespace") or ""))
    return [key] if key else []


def repository_storage(obj: JSONDict) -> Iterable[Hashable]:
    ref = _spec(obj).get("storageRef")
    if not isinstance(ref, dict) or not ref.get("name"):
        return []
    return [(str(ref.get("namespace") or _meta(obj).get("namespace") or ""), str(ref["name"]))]


def session_invoker(obj: JSONDict) -> Iterable[Hashable]:
    inv = _spec(obj).get("invoker")
    if not isinstance(inv, dict) or not inv.get("name"):
        return []
    return [(str(_meta(obj).get("namespace") or ""), str(inv.get("kind") or ""), str(inv["name"]))]


def by_namespace(obj: JSONDict) -> Iterable[Hashable]:
    return [str(_meta(obj).get("namespace") or "")]


def snapshot_time(obj: JSONDict) -> str:
    """When a snapshot was taken (its creation until KubeStash sets snapshotTime).

    Kubernetes writes RFC 3339 UTC times ("...Z") everywhere, so the strings sort as times.
    """
    status = obj.get("status")
    when = status.get("snapshotTime") if isinstance(status, dict) else None
    if not isinstance(when, str) or not when:
        when = _meta(obj).get("creationTimestamp")
    return when if isinstance(when, str) else ""


def snapshot_order(obj: JSONDict) -> tuple[str, ...]:
    meta = _meta(obj)
    return (snapshot_time(obj), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def sorted_for(group: str, kind: str) -> dict[str, SortFunc]:
    """Orderings kept sorted per informer (the lists that grow large)."""
    if (group, kind) == (STORAGE, "Snapshot"):
        return {"time": snapshot_order}
    return {}


def indexes_for(group: str, kind: str) -> dict[str, IndexFunc]:
    specs: dict[str, IndexFunc] = {"namespace": by_namespace}
    if (group, kind) == (STORAGE, "Snapshot"):
        # phase, type and repository_name answer the list filters (counts, pages).
        specs |= {
            "app": snapshot_app,
            "repository": snapshot_repository,
            "repository_name": snapshot_repository_name,
            "phase": snapshot_phase,
            "type": snapshot_type,
        }
    elif (group, kind) in ((CORE, "BackupConfiguration"), (CORE, "RestoreSession")):
        specs |= {"app": target_app}
    elif (group, kind) == (STORAGE, "Repository"):
        specs |= {"app": repository_app, "storage": repository_storage}
    elif (group, kind) == (CORE, "BackupSession"):
        specs |= {"invoker": session_invoker}
    return specs
