"""One cluster as the controllers see it: its informers, our own recent writes, the API
calls, and the reconcile loop that asks every controller for its work each step.

Why our own writes are remembered: an informer shows a write only when the watch event
arrives, a moment later. A controller that read only the informer would act twice on
the same object (two BackupSessions for one firing, a second Snapshot), so reads merge
the informer's copy with our newer writes (:meth:`Cluster.view`) for ``FRESH_TTL``.

Every API call has a deadline; errors are logged (and kept in ``Simulation.errors``),
never raised; each object is reconciled at most once per step; status goes through the
status subresource with server-side apply (field manager ``stashql-simulator``), spec
changes with merge patches under the same manager.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

from apis import links
from apis.objects import dig, mapping_at, name_of, str_at, text_at, uid_of
from apis.resources import (
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    NAMESPACES,
    REPOSITORIES,
    RESTORE_SESSIONS,
    SNAPSHOTS,
    ResourceType,
)
from core.selectors import selector_from_label_selector
from kube.client import ApiError, JSONDict, KubeClient, KubeError
from sandbox.simulator.core import (
    CALL_TIMEOUT,
    FIELD_MANAGER,
    AppKey,
    Raw,
    Simulation,
    ns_of,
    prune,
)
from sandbox.simulator.discovery import discover
from watchers.informer import Change, Informer, Relisted, trim

log = logging.getLogger("sandbox.simulator")

SYNC_TIMEOUT = 15.0  # start() waits this long at most for the first lists
UNSYNCED_GRACE = 30.0  # after this, reconcile even if some informer never synced
REDISCOVER_EVERY = 60.0  # look for newly installed database/archiver kinds
FRESH_TTL = 10.0  # how long our own writes override a lagging informer
MAX_CONCURRENCY = 8  # reconciles in flight per cluster
PRUNE_EVERY = 40  # steps between memory clean-ups

# The indexes the controllers look things up by, from the gateway's own index functions
# (apis/links.py), so the simulator and the joins follow references the same way.
INDEXES = {
    SNAPSHOTS: "repository",  # (namespace, repository)
    BACKUP_SESSIONS: "invoker",  # (namespace, invoker kind, invoker name)
    BACKUP_CONFIGURATIONS: "app",  # (target kind, namespace, name)
    REPOSITORIES: "storage",  # (storage namespace, storage name)
}

Job = tuple[str, Callable[[], Awaitable[None]]]  # (what, reconcile)
Key = tuple[str, str, str, str]  # (group, plural, namespace, name)


class Controller(Protocol):
    """One operator's controller: its work for this step and its memory clean-up."""

    def jobs(self) -> Iterable[Job]: ...

    def forget(self, live_uids: set[str]) -> None: ...


def _rv(obj: Raw | None) -> int:
    try:
        return int(text_at(obj, "metadata", "resourceVersion"))
    except ValueError:
        return 0


class Cluster:
    """One cluster: its informers, our recent writes, and the reconcile loop."""

    def __init__(self, sim: Simulation, *, name: str, client: KubeClient, task_name: str) -> None:
        self.sim = sim
        self.name = name
        self.client = client
        # Each watch holds a connection for minutes; sharing ``client``'s pool (20 by
        # default) with twenty-odd watches would leave no connection for the writes.
        # The gateway keeps a separate watch client for the same reason.
        self.watch_client = client.with_own_pool(connection_limit=256)
        self.controllers: list[Controller] = []
        self.informers: dict[tuple[str, str], Informer] = {}
        self.db_kinds: dict[str, ResourceType] = {}
        self.archiver_kinds: dict[str, ResourceType] = {}
        self._task_name = task_name
        self._discovered = False
        self._last_discovery = -REDISCOVER_EVERY
        self._started_at = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._steps = 0
        # Our own writes, per resource, until the informer shows them: (object, when).
        self._fresh: dict[tuple[str, str], dict[tuple[str, str], tuple[JSONDict, float]]] = {}
        self._deleted: dict[Key, tuple[str, float]] = {}
        self._applied: dict[Key, tuple[JSONDict, JSONDict]] = {}
        self._locks: dict[Key, tuple[asyncio.Lock, list[int]]] = {}
        self._reported: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        try:
            await self._discover()
        except (KubeError, ValueError) as exc:
            self.report("discovery", exc)
        if self.informers:
            waits = [i.synced.wait() for i in self.informers.values()]
            try:
                await asyncio.wait_for(asyncio.gather(*waits), timeout=SYNC_TIMEOUT)
            except TimeoutError:
                log.warning(
                    "simulator %s: not every watch synced in %.0fs", self.name, SYNC_TIMEOUT
                )
        self._started_at = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name=self._task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        informers = list(self.informers.values())
        self.informers.clear()
        await asyncio.gather(*(i.stop() for i in informers), return_exceptions=True)
        await self.watch_client.close()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad step must not end the simulator
                log.exception("simulator %s: step failed", self.name)
            await asyncio.sleep(max(0.0, self.sim.step - (loop.time() - began)))

    async def _step(self) -> None:
        if not self._discovered or time.monotonic() - self._last_discovery > REDISCOVER_EVERY:
            try:
                await self._discover()
            except (KubeError, ValueError) as exc:
                self.report("discovery", exc)
        if not self.informers:
            return
        synced = all(i.synced.is_set() for i in self.informers.values())
        if not synced and time.monotonic() - self._started_at < UNSYNCED_GRACE:
            return
        jobs = [job for controller in self.controllers for job in controller.jobs()]
        gate = asyncio.Semaphore(MAX_CONCURRENCY)

        async def run(what: str, job: Callable[[], Awaitable[None]]) -> None:
            async with gate:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except KubeError as exc:
                    self.report(what, exc)
                except Exception:
                    log.exception("simulator %s: reconciling %s failed", self.name, what)

        await asyncio.gather(*(run(what, job) for what, job in jobs))
        self._steps += 1
        if self._steps % PRUNE_EVERY == 0:
            self._prune_memory()

    def _prune_memory(self) -> None:
        now = time.monotonic()
        for writes in self._fresh.values():
            for k in [k for k, (_, at) in writes.items() if now - at > FRESH_TTL * 3]:
                del writes[k]
        for key in [k for k, (_, at) in self._deleted.items() if now - at > FRESH_TTL]:
            del self._deleted[key]
        live: set[str] = set()
        for res in (BACKUP_SESSIONS, RESTORE_SESSIONS, *self.db_kinds.values()):
            live.update(uid_of(obj) for obj in self.items(res))
        for controller in self.controllers:
            controller.forget(live)
        live_keys: set[Key] = set()
        for informer in self.informers.values():
            res = informer.resource
            live_keys.update(
                (res.group, res.plural, ns_of(obj) if res.namespaced else "", name_of(obj))
                for obj in informer.items()
            )
        fresh_keys = {(*res, *k) for res, writes in self._fresh.items() for k in writes}
        for key in [k for k in self._applied if k not in live_keys and k not in fresh_keys]:
            del self._applied[key]

    # ------------------------------------------------------------------ discovery

    async def _discover(self) -> None:
        self._last_discovery = time.monotonic()
        wanted = await discover(self.client, databases=self.db_kinds, archivers=self.archiver_kinds)
        for res in wanted:
            key = (res.group, res.plural)
            if key in self.informers:
                continue
            informer = Informer(cluster=self.name, client=self.watch_client, resource=res)
            index = INDEXES.get(res)
            if index is not None:
                informer.add_index(index, links.indexes_for(res.group, res.kind)[index])
            informer.add_listener(self._on_change)
            self.informers[key] = informer
            informer.start()
        self._discovered = True

    def _on_change(self, event: Change | Relisted) -> None:
        """Forget our copy of an object once the watch shows it deleted (or newer)."""
        if not isinstance(event, Change):
            return
        writes = self._fresh.get((event.resource.group, event.resource.plural))
        if not writes or event.key not in writes:
            return
        if event.type == "DELETED" or _rv(event.obj) >= _rv(writes[event.key][0]):
            del writes[event.key]

    def informer(self, res: ResourceType) -> Informer | None:
        return self.informers.get((res.group, res.plural))

    # ------------------------------------------------------------------ reading

    def view(self, res: ResourceType, key: tuple[str, str]) -> JSONDict | None:
        """The newest copy we know of the object ``key`` (namespace, name): the
        informer's, or our own write if it is newer."""
        namespace, name = key
        ns = namespace if res.namespaced else ""
        informer = self.informer(res)
        stored = informer.get(ns, name) if informer is not None else None
        full_key = (res.group, res.plural, ns, name)
        deleted = self._deleted.get(full_key)
        if deleted is not None:
            uid, at = deleted
            if time.monotonic() - at <= FRESH_TTL and (stored is None or uid_of(stored) == uid):
                return None  # we deleted it; the informer has not caught up yet
            del self._deleted[full_key]
        writes = self._fresh.get((res.group, res.plural))
        fresh = writes.get((ns, name)) if writes else None
        if writes is None or fresh is None:
            return stored
        obj, at = fresh
        if stored is not None and _rv(stored) >= _rv(obj):
            del writes[(ns, name)]
            return stored
        if stored is None and time.monotonic() - at > FRESH_TTL:
            del writes[(ns, name)]
            return None
        return obj

    def items(self, res: ResourceType) -> list[JSONDict]:
        informer = self.informer(res)
        return list(informer.items()) if informer is not None else []

    def wanted_items(self, res: ResourceType) -> list[JSONDict]:
        """The objects of ``res`` in namespaces this simulator reconciles."""
        return [obj for obj in self.items(res) if self.sim.wanted(ns_of(obj))]

    def indexed(self, res: ResourceType, value: tuple[str, ...]) -> list[JSONDict]:
        """Objects from the informer index of ``res``, merged with our own newer writes."""
        index = INDEXES[res]
        func = links.indexes_for(res.group, res.kind)[index]
        informer = self.informer(res)
        found: dict[tuple[str, str], JSONDict] = {}
        if informer is not None:
            for obj in informer.by_index(index, value):
                found[(ns_of(obj), name_of(obj))] = obj
        for (ns, name), (obj, _) in list(self._fresh.get((res.group, res.plural), {}).items()):
            if value in func(obj):
                found[(ns, name)] = obj
        out = []
        for ns, name in found:
            current = self.view(res, (ns, name))
            if current is not None and value in func(current):
                out.append(current)
        return out

    def database(self, key: AppKey | None) -> tuple[ResourceType, JSONDict] | None:
        """The database ``key`` (kind, namespace, name) and its resource, if it exists."""
        if key is None:
            return None
        kind, namespace, name = key
        res = self.db_kinds.get(kind)
        if res is None:
            return None
        obj = self.view(res, (namespace, name))
        return (res, obj) if obj is not None else None

    def allowed(self, owner: Raw, namespace: str) -> bool:
        """KubeStash usagePolicy: may objects in ``namespace`` use ``owner``?"""
        policy = mapping_at(owner, "spec", "usagePolicy", "allowedNamespaces")
        return self.namespace_allowed(policy, owner_namespace=ns_of(owner), namespace=namespace)

    def namespace_allowed(self, rule: Raw, *, owner_namespace: str, namespace: str) -> bool:
        """A ``{from: All|Same|Selector, selector}`` namespace rule (KubeStash's
        usagePolicy, KubeDB's archiver ``databases.namespaces``): is ``namespace`` in?"""
        scope = str_at(rule, "from") or "Same"
        if scope == "All":
            return True
        if scope == "Selector":
            ns = self.view(NAMESPACES, ("", namespace))
            if ns is None:
                return False
            labels = {str(k): str(v) for k, v in mapping_at(ns, "metadata", "labels").items()}
            return selector_from_label_selector(rule.get("selector") or {}).matches(labels)
        return owner_namespace == namespace

    def default_of(self, res: ResourceType, namespace: str) -> JSONDict | None:
        """The ``spec.default`` object usable from ``namespace`` (its own first)."""
        candidates = [
            obj
            for obj in self.items(res)
            if dig(obj, "spec", "default") is True and self.allowed(obj, namespace)
        ]
        candidates.sort(key=lambda obj: (ns_of(obj) != namespace, ns_of(obj), name_of(obj)))
        return candidates[0] if candidates else None

    # ------------------------------------------------------------------ writing

    def _remember(self, res: ResourceType, obj: JSONDict) -> JSONDict:
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        trim(obj)
        ns = ns_of(obj) if res.namespaced else ""
        writes = self._fresh.setdefault((res.group, res.plural), {})
        writes[(ns, name_of(obj))] = (obj, time.monotonic())
        return obj

    async def create(self, res: ResourceType, body: JSONDict) -> JSONDict | None:
        """POST; an existing object (409) is fine and returns what we know of it."""
        ns, name = ns_of(body), name_of(body)
        body = {"apiVersion": res.api_version, "kind": res.kind, **prune(body)}
        try:
            created = await self.client.post(
                res.path(namespace=ns),
                body,
                params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
                timeout=CALL_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 409:
                return self.view(res, (ns, name))
            self.report(f"create {res.kind} {ns}/{name}", exc)
            return None
        except KubeError as exc:
            self.report(f"create {res.kind} {ns}/{name}", exc)
            return None
        return self._remember(res, created)

    async def fetch(self, res: ResourceType, key: tuple[str, str]) -> JSONDict | None:
        """GET ``key`` (namespace, name) from the API server itself, not the informer: for
        decisions another writer may have just changed (None: not found; other errors
        raise, so the job is retried next step)."""
        namespace, name = key
        try:
            return await self.client.get(
                res.path(namespace=namespace if res.namespaced else None, name=name),
                timeout=CALL_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def patch(
        self, res: ResourceType, key: tuple[str, str], *, body: JSONDict, conflict_ok: bool = False
    ) -> bool:
        """Merge-patch the object ``key`` (namespace, name); a missing object is done.
        With ``conflict_ok`` a 409 (a stale ``metadata.resourceVersion``) is False, not an
        error."""
        namespace, name = key
        try:
            patched = await self.client.request(
                "PATCH",
                res.path(namespace=namespace, name=name),
                body=body,
                content_type="application/merge-patch+json",
                params={"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"},
                timeout=CALL_TIMEOUT,
            )
        except ApiError as exc:
            if exc.status == 404:
                return True
            if exc.status == 409 and conflict_ok:
                return False
            self.report(f"patch {res.kind} {namespace}/{name}", exc)
            return False
        except KubeError as exc:
            self.report(f"patch {res.kind} {namespace}/{name}", exc)
            return False
        self._remember(res, patched)
        return True

    async def delete(self, res: ResourceType, address: tuple[str, str]) -> None:
        namespace, name = address
        key = (res.group, res.plural, namespace if res.namespaced else "", name)
        current = self.view(res, address)
        try:
            await self.client.delete(res.path(namespace=namespace, name=name), timeout=CALL_TIMEOUT)
        except ApiError as exc:
            if exc.status != 404:
                self.report(f"delete {res.kind} {namespace}/{name}", exc)
                return
        except KubeError as exc:
            self.report(f"delete {res.kind} {namespace}/{name}", exc)
            return
        self._fresh.get((res.group, res.plural), {}).pop(key[2:], None)
        self._applied.pop(key, None)
        if current is not None:
            self._deleted[key] = (uid_of(current), time.monotonic())

    @contextlib.asynccontextmanager
    async def _locked(self, key: Key) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                self._locks.pop(key, None)

    async def update_status(
        self,
        res: ResourceType,
        key: tuple[str, str],
        *,
        mutate: Callable[[JSONDict, JSONDict], None],
    ) -> JSONDict | None:
        """Read the newest copy of ``key`` (namespace, name), let ``mutate(obj, status)``
        edit the status, apply it.

        Serialized per object, so two reconcilers touching one status (a database's, by
        its own controller and by a restore) never lose each other's change.
        """
        namespace, name = key
        ns = namespace if res.namespaced else ""
        lock_key = (res.group, res.plural, ns, name)
        async with self._locked(lock_key):
            obj = self.view(res, (ns, name))
            if obj is None or dig(obj, "metadata", "deletionTimestamp"):
                return None
            old = dict(mapping_at(obj, "status"))
            new = copy.deepcopy(old)
            mutate(obj, new)
            new = prune(new)
            if new == old:
                return obj
            applied = self._applied.get(lock_key)
            if applied is not None and applied == (new, old):
                # Our last apply already asked for exactly this and the server kept what it
                # kept (fields another manager owns); asking again would only churn.
                return obj
            body = {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {"name": name, **({"namespace": ns} if res.namespaced else {})},
                "status": new,
            }
            try:
                result = await self.client.apply(
                    res.status_path(namespace=ns, name=name),
                    body,
                    field_manager=FIELD_MANAGER,
                    params={"fieldValidation": "Strict"},
                    timeout=CALL_TIMEOUT,
                )
            except ApiError as exc:
                if exc.status != 404:
                    self.report(f"status {res.kind} {ns}/{name}", exc)
                return None
            except KubeError as exc:
                self.report(f"status {res.kind} {ns}/{name}", exc)
                return None
            self._applied[lock_key] = (new, dict(mapping_at(result, "status")))
            return self._remember(res, result)

    def report(self, what: str, exc: Exception) -> None:
        message = f"{self.name}: {what}: {exc}"
        self.sim.record_error(message)
        if self._reported.get(what) != str(exc):
            if len(self._reported) > 1000:
                self._reported.clear()
            self._reported[what] = str(exc)
            log.warning("simulator %s", message)
