"""The applyManifests planner: a bundle of documents in, one ordered plan out.

Pure over the documents and a ``plan.Store``. Each document gets a result:

- APPLIED: stored by this plan, and every object it needs exists (in the cluster or
  stored before it by the same plan);
- WAITING: it needs an object that is neither in the cluster nor in the bundle
  (``waiting_for``). It is stored anyway when its kind and namespace exist: KubeStash
  and KubeDB reconcile it once the missing object appears. While its kind or its
  namespace is missing it is not stored;
- FAILED: StashQL does not apply it (``documents.parse``), or it names the same object
  as another document. One FAILED document refuses the whole call: no changes, one
  user error per FAILED document with field ``[documents, index]``.

The order is by tier and reference (``references.py``), then by identity, so it does
not depend on the order given: every order of a bundle ends with the same objects.

A document in a Namespace the bundle creates cannot be checked yet: the engine's dry
runs do not see each other. Such a plan is ``deferred``: it writes the Namespaces only
(so that, should a later document be refused, undoing the call is deleting the
Namespaces it created) and the caller plans again at once (``apply.py``).

An object that exists is applied with PATCH (the engine's server-side apply), a new one
with CREATE (a POST, refused if the name was taken since). ``present`` adds objects the
caller knows to exist beyond the store: ones this call stored already, and Secrets
(which the store never holds) the API server said exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from apis.resources import NAMESPACES, SECRETS, ResourceType
from resolvers.writes.manifests.documents import (
    Document,
    Kinds,
    ObjectKey,
    Refused,
    canonical,
    parse,
)
from resolvers.writes.manifests.references import references, tier
from resolvers.writes.plan import Action, Change, JSONDict, Plan, Store

ManifestState = Literal["APPLIED", "WAITING", "FAILED"]


@dataclass(frozen=True)
class ManifestSettings:
    """Bounds of one applyManifests call. Defaults are what production runs with."""

    # Documents in one call.
    max_documents: int = 200
    # Bytes of the documents as canonical JSON (sorted keys, no spaces), all together.
    max_bytes: int = 2 * 1024 * 1024
    # The longest `waitSeconds` accepted.
    max_wait_seconds: int = 300
    # How often a waiting call plans again (seconds).
    poll_interval: float = 2.0


@dataclass(frozen=True)
class ManifestResult:
    index: int
    object: ObjectKey | None
    state: ManifestState
    waiting_for: ObjectKey | None = None
    reason: str | None = None


@dataclass
class ManifestPlan:
    plan: Plan
    # One per document, in the order given.
    results: list[ManifestResult]
    # The document index of each change of ``plan``.
    indexes: list[int] = field(default_factory=list)
    # Documents wait for a Namespace this plan creates: plan again once it is stored.
    deferred: bool = False


def check_bounds(
    documents: Sequence[object], *, wait_seconds: int, settings: ManifestSettings
) -> Plan:
    """A plan refused with INVALID_INPUT when the call is over a bound, else empty."""
    plan = Plan()
    if len(documents) > settings.max_documents:
        plan.refuse(
            "INVALID_INPUT",
            f"{len(documents)} documents given; at most {settings.max_documents} are "
            "applied in one call. Split the bundle.",
            field=["documents"],
        )
    else:
        size = sum(len(canonical(d).encode()) for d in documents)
        if size > settings.max_bytes:
            plan.refuse(
                "INVALID_INPUT",
                f"The documents are {size} bytes as JSON; at most {settings.max_bytes} are "
                "applied in one call. Split the bundle.",
                field=["documents"],
            )
    if not documents:
        plan.refuse("INVALID_INPUT", "No documents given.", field=["documents"])
    if wait_seconds < 0 or wait_seconds > settings.max_wait_seconds:
        plan.refuse(
            "INVALID_INPUT",
            f"waitSeconds must be between 0 and {settings.max_wait_seconds}.",
            field=["waitSeconds"],
        )
    return plan


def store_resource(key: ObjectKey) -> ResourceType:
    """The resource to look ``key`` up with: the Store matches by group and kind."""
    if key.group == "":
        return NAMESPACES if key.kind == "Namespace" else SECRETS
    return ResourceType(
        group=key.group, version="", plural="", kind=key.kind, namespaced=key.namespace is not None
    )


def plan_manifests(
    documents: Sequence[object],
    *,
    store: Store,
    cluster: str,
    present: Mapping[ObjectKey, JSONDict] | None = None,
    namespaces_first: bool = True,
) -> ManifestPlan:
    """The plan of one round (see the module's doc)."""
    kinds = Kinds(store, cluster)
    known = present or {}
    results: dict[int, ManifestResult] = {}
    docs: list[Document] = []
    for index, raw in enumerate(documents):
        try:
            docs.append(parse(index, raw, cluster=cluster, kinds=kinds))
        except Refused as why:
            results[index] = ManifestResult(index, None, "FAILED", reason=str(why))
    bundle: dict[ObjectKey, Document] = {}
    for doc in docs:
        other = bundle.get(doc.key)
        if other is None:
            bundle[doc.key] = doc
            continue
        for d in (other, doc):
            results[d.index] = ManifestResult(
                d.index,
                d.key,
                "FAILED",
                reason=f"{doc.key.describe()} is given twice (documents {other.index} and "
                f"{doc.index}); give each object once.",
            )

    def exists(key: ObjectKey) -> bool:
        if key in known:
            return True
        return store.get(cluster, store_resource(key), key.namespace, key.name) is not None

    order = _ordered(bundle)
    out = ManifestPlan(Plan(), [])
    stored: set[ObjectKey] = set()
    for doc in order:
        if doc.index in results:
            continue  # given twice
        result, change = _plan_one(doc, bundle=bundle, stored=stored, exists=exists, kinds=kinds)
        if result.state == "WAITING" and change is None and _deferred(doc, bundle, exists):
            out.deferred = True
        if change is not None:
            stored.add(doc.key)
            out.plan.add(change)
            out.indexes.append(doc.index)
        results[doc.index] = result
    out.results = [results[i] for i in range(len(documents))]

    failed = [r for r in out.results if r.state == "FAILED"]
    if failed:
        out.plan.changes, out.indexes = [], []
        for r in failed:
            what = f"Document {r.index}" + (f" ({r.object.describe()})" if r.object else "")
            out.plan.refuse(
                "INVALID_INPUT", f"{what}: {r.reason}", field=["documents", str(r.index)]
            )
        return out
    for r in out.results:
        if r.state == "WAITING" and r.object is not None:
            out.plan.warn("WAITING_FOR_DEPENDENCY", f"{r.object.describe()}: {r.reason}")
    if out.deferred and namespaces_first:
        keep = [
            (c, i)
            for c, i in zip(out.plan.changes, out.indexes, strict=True)
            if c.resource == NAMESPACES
        ]
        out.plan.changes = [c for c, _ in keep]
        out.indexes = [i for _, i in keep]
    return out


def _deferred(
    doc: Document, bundle: Mapping[ObjectKey, Document], exists: Callable[[ObjectKey], bool]
) -> bool:
    """Whether ``doc`` waits for its Namespace, which the bundle creates."""
    ns = _namespace_key(doc)
    return ns is not None and ns in bundle and not exists(ns)


def _namespace_key(doc: Document) -> ObjectKey | None:
    if doc.key.namespace is None:
        return None
    return ObjectKey(doc.key.cluster, "", "Namespace", None, doc.key.namespace)


def _plan_one(
    doc: Document,
    *,
    bundle: Mapping[ObjectKey, Document],
    stored: set[ObjectKey],
    exists: Callable[[ObjectKey], bool],
    kinds: Kinds,
) -> tuple[ManifestResult, Change | None]:
    key = doc.key
    ns = _namespace_key(doc)
    if ns is not None and not exists(ns):
        if ns in bundle:
            why = (
                f"It is checked and stored once Namespace {ns.name}, which this bundle "
                "creates, exists."
            )
        else:
            why = f"Namespace {ns.name} does not exist, so it is not stored yet."
        return ManifestResult(doc.index, key, "WAITING", ns, why), None
    if doc.resource is None:
        missing = kinds.crd_key(key.group, key.kind, cluster=key.cluster)
        why = f"The cluster does not serve {key.kind} ({key.group}), so it is not stored yet."
        return ManifestResult(doc.index, key, "WAITING", missing, why), None
    action: Action = "PATCH" if exists(key) else "CREATE"
    summary = (
        f"Apply {key.describe()} as given (it exists)."
        if action == "PATCH"
        else f"Create {key.describe()}."
    )
    change = Change(
        action=action,
        cluster=key.cluster,
        resource=doc.resource,
        namespace=key.namespace,
        name=key.name,
        summary=summary,
        body=doc.body,
    )
    for ref in references(doc):
        if not ref.hard or exists(ref.key) or ref.key in stored:
            continue
        if ref.key in bundle:
            why = f"It needs {ref.key.describe()}, which this bundle stores once it can."
        else:
            why = (
                f"It needs {ref.key.describe()}, which is neither in the cluster nor in "
                "this bundle; it completes by itself once that is applied."
            )
        return ManifestResult(doc.index, key, "WAITING", ref.key, why), change
    return ManifestResult(doc.index, key, "APPLIED"), change


def _ordered(bundle: Mapping[ObjectKey, Document]) -> list[Document]:
    """Tier, then depth within the tier (after what it refers to), then identity."""
    depth: dict[ObjectKey, int] = {}

    def depth_of(key: ObjectKey, seen: frozenset[ObjectKey]) -> int:
        if key in depth:
            return depth[key]
        doc = bundle[key]
        level = tier(key)
        below = [
            r.key
            for r in references(doc)
            if r.key in bundle and tier(r.key) == level and r.key not in seen
        ]
        d = max((depth_of(k, seen | {key}) + 1 for k in below), default=0)
        depth[key] = d
        return d

    def sort_key(doc: Document) -> tuple[int, int, str, str, str, str]:
        k = doc.key
        return (tier(k), depth_of(k, frozenset()), k.group, k.kind, k.namespace or "", k.name)

    return sorted(bundle.values(), key=sort_key)
