"""What a viewer may read, decided by each cluster's API server (SubjectAccessReview).

The gateway reads everything into one shared cache with its own identity, so every
object it returns must first pass the viewer's own RBAC. Decisions are made in batches
before a request resolves (never one review per item), cached per (viewer, cluster,
verb, group, resource, namespace) for a short time, and then answered synchronously.

Per (cluster, resource) we first ask whether the viewer may list it in all namespaces;
only if not do we ask for each namespace that holds such objects. A review that cannot
be made (cluster down) counts as "no": access fails closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.identity import Viewer
from kube.client import KubeClient, KubeError
from watchers.cache import Cache

ALL = ""  # the namespace of a cluster-wide decision


@dataclass(frozen=True)
class Check:
    cluster: str
    verb: str
    group: str
    resource: str
    namespace: str = ALL


def _viewer_key(viewer: Viewer) -> str:
    raw = "\x00".join([viewer.username, viewer.uid or "", *sorted(viewer.groups)])
    return hashlib.sha256(raw.encode()).hexdigest()


class AccessReviewer:
    """Asks the API servers and remembers the answers briefly (shared by all requests)."""

    def __init__(
        self,
        clients: Mapping[str, KubeClient],
        *,
        ttl: float = 30.0,
        max_entries: int = 100_000,
        concurrency: int = 16,
    ) -> None:
        self._clients = clients
        self._ttl = ttl
        self._max = max_entries
        self._cache: OrderedDict[tuple[str, Check], tuple[bool, float]] = OrderedDict()
        self._semaphore = asyncio.Semaphore(concurrency)
        self.reviews = 0  # how many reviews were sent (tests and metrics read it)

    async def decide(self, viewer: Viewer, checks: Iterable[Check]) -> dict[Check, bool]:
        key = _viewer_key(viewer)
        now = time.monotonic()
        answers: dict[Check, bool | None] = {}
        missing: list[Check] = []
        for check in dict.fromkeys(checks):
            hit = self._cache.get((key, check))
            if hit is not None and hit[1] > now:
                answers[check] = hit[0]
            else:
                missing.append(check)
        results = await asyncio.gather(*(self._review(viewer, c) for c in missing))
        expires = time.monotonic() + self._ttl
        for check, allowed in zip(missing, results, strict=True):
            answers[check] = allowed
            if allowed is not None:
                self._cache[(key, check)] = (allowed, expires)
                self._cache.move_to_end((key, check))
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return {c: bool(a) for c, a in answers.items()}

    async def _review(self, viewer: Viewer, check: Check) -> bool | None:
        client = self._clients.get(check.cluster)
        if client is None:
            return False
        attributes = {"verb": check.verb, "group": check.group, "resource": check.resource}
        if check.namespace:
            attributes["namespace"] = check.namespace
        spec: dict[str, object] = {
            "user": viewer.username,
            "groups": list(viewer.groups),
            "resourceAttributes": attributes,
        }
        if viewer.uid:
            spec["uid"] = viewer.uid
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        async with self._semaphore:
            self.reviews += 1
            try:
                result = await client.post(
                    "/apis/authorization.k8s.io/v1/subjectaccessreviews", body, timeout=5
                )
            except KubeError:
                return None  # unknown: deny now, ask again next time
        return bool((result.get("status") or {}).get("allowed"))


@dataclass(frozen=True)
class Grant:
    """Where a viewer may read one resource on one cluster: everywhere, or these namespaces."""

    everywhere: bool
    namespaces: frozenset[str] = frozenset()

    def allows(self, namespace: str | None) -> bool:
        return self.everywhere or (namespace or "") in self.namespaces


NOTHING = Grant(everywhere=False)


class ViewerAccess:
    """One viewer's read access for one request (or one subscription event)."""

    def __init__(self, reviewer: AccessReviewer, viewer: Viewer, cache: Cache) -> None:
        self.viewer = viewer
        self._reviewer = reviewer
        self._cache = cache
        self._grants: dict[tuple[str, str, str], Grant] = {}
        self._decisions: dict[Check, bool] = {}

    async def prepare(self) -> None:
        """Decide list access for every resource the cache watches, on every cluster."""
        targets: list[tuple[str, str, str, bool]] = []
        for name, cluster in self._cache.clusters.items():
            for informer in cluster.informers.values():
                r = informer.resource
                targets.append((name, r.group, r.plural, r.namespaced))
        wide = await self._reviewer.decide(
            self.viewer, [Check(c, "list", g, p) for c, g, p, _ in targets]
        )
        narrow: list[Check] = []
        for c, g, p, namespaced in targets:
            if wide[Check(c, "list", g, p)]:
                self._grants[(c, g, p)] = Grant(everywhere=True)
            elif namespaced:
                found = self._cache.clusters[c].informers_by_plural(g, p)
                for ns in found.index_values("namespace") if found is not None else ():
                    narrow.append(Check(c, "list", g, p, str(ns)))
        decided = await self._reviewer.decide(self.viewer, narrow)
        per_resource: dict[tuple[str, str, str], set[str]] = {}
        for check, allowed in decided.items():
            if allowed:
                key = (check.cluster, check.group, check.resource)
                per_resource.setdefault(key, set()).add(check.namespace)
        for c, g, p, _ in targets:
            if (c, g, p) not in self._grants:
                self._grants[(c, g, p)] = Grant(
                    everywhere=False, namespaces=frozenset(per_resource.get((c, g, p), ()))
                )

    async def ensure(self, keys: Iterable[tuple[str, str, str, str]]) -> None:
        """Decide (cluster, group, plural, namespace) tuples not decided yet, in one batch.

        Grants cover the namespaces that held objects when access was prepared; objects
        that appear later in another namespace are decided here before anyone sees them.
        """
        wanted: list[Check] = []
        expanded = set(keys)
        # Joins mostly stay inside a namespace (a snapshot's repository and session, a
        # session's configuration): decide every watched kind there at once.
        for cluster, _, _, namespace in list(expanded):
            cache = self._cache.clusters.get(cluster)
            for informer in cache.informers.values() if cache else ():
                r = informer.resource
                if r.namespaced:
                    expanded.add((cluster, r.group, r.plural, namespace))
        for cluster, group, plural, namespace in expanded:
            grant = self._grants.get((cluster, group, plural))
            if grant is not None and (grant.everywhere or namespace in grant.namespaces):
                continue
            check = Check(cluster, "list", group, plural, namespace)
            if check not in self._decisions:
                wanted.append(check)
        if not wanted:
            return
        decided = await self._reviewer.decide(self.viewer, wanted)
        self._decisions.update(decided)
        for check, allowed in decided.items():
            if allowed:
                key = (check.cluster, check.group, check.resource)
                old = self._grants.get(key, NOTHING)
                self._grants[key] = Grant(
                    everywhere=old.everywhere, namespaces=old.namespaces | {check.namespace}
                )

    def grant(self, cluster: str, group: str, plural: str) -> Grant:
        return self._grants.get((cluster, group, plural), NOTHING)

    def allows(self, cluster: str, group: str, plural: str, namespace: str | None) -> bool:
        return self.grant(cluster, group, plural).allows(namespace)

    async def check(self, checks: Iterable[Check]) -> dict[Check, bool]:
        """Other decisions (get, create, ...) made on demand, remembered for the request."""
        wanted = [c for c in checks if c not in self._decisions]
        if wanted:
            self._decisions.update(await self._reviewer.decide(self.viewer, wanted))
        return self._decisions

    def decided(self, check: Check) -> bool:
        """A decision made earlier with :meth:`check`; False if never asked."""
        return self._decisions.get(check, False)
