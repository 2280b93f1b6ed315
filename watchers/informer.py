"""List-then-watch of one resource on one cluster, kept in a local store with indexes.

The loop: LIST in pages (``limit``/``continue``), then WATCH from the list's
resourceVersion with bookmarks and a server-side timeout, re-watching from the last seen
resourceVersion when the server ends the stream. When the server says the version is
gone (410), or a watch cannot resume, we LIST again and diff the result against the
store, so listeners still see every missed ADDED, UPDATED and DELETED. Errors back off
with jitter so a fleet of gateways does not hammer a recovering API server in lockstep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sortedcontainers import SortedList

from apis.links import IndexFunc, SortFunc
from apis.objects import LAST_APPLIED
from apis.resources import ResourceType
from kube.client import ApiError, JSONDict, KubeClient, KubeError
from watchers.records import RecordCodec

log = logging.getLogger(__name__)

ChangeType = Literal["ADDED", "UPDATED", "DELETED"]
Key = tuple[str, str]  # (namespace or "", name)

# While a page is stored, the loop gets a turn every this many objects.
_YIELD_EVERY = 100


@dataclass(frozen=True)
class Change:
    """One change to the store, as listeners see it."""

    type: ChangeType
    cluster: str
    resource: ResourceType
    key: Key
    obj: JSONDict  # the new object, or the last known one for DELETED
    old: JSONDict | None
    resource_version: str
    relist: bool = False  # found by diffing a re-list: events between were missed


@dataclass(frozen=True)
class Relisted:
    """The informer re-listed: listeners that keep history may have a gap here."""

    cluster: str
    resource: ResourceType
    resource_version: str


Listener = Callable[[Change | Relisted], None]


def trim(obj: JSONDict) -> JSONDict:
    """Drop what no query needs and what costs most memory: managedFields, last-applied."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations.pop(LAST_APPLIED)
    return obj


def object_key(obj: JSONDict) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class GoneError(Exception):
    """The resourceVersion we asked for is too old (HTTP 410 or an ERROR event)."""


class Informer:
    def __init__(
        self,
        *,
        cluster: str,
        client: KubeClient,
        resource: ResourceType,
        page_size: int = 500,
        watch_timeout: int = 300,
        read_timeout: float = 90.0,
        max_backoff: float = 30.0,
        namespace: str | None = None,
        label_selector: str | None = None,
        slim: bool = False,
    ) -> None:
        self.cluster = cluster
        # How list pages and watch events become stored records: slim records keep only
        # what the gateway reads (apis/records.py); whole objects (the simulator, which
        # plays the operators, needs them) lose only managedFields and last-applied.
        self._codec = RecordCodec(resource.group, resource.kind, slim=slim)
        # Optional narrowing (the gateway's own records, Services it may touch): one
        # namespace, and a label selector sent with every list and watch.
        self._namespace = namespace
        self._selector = label_selector
        self.resource = resource
        self._client = client
        self._page_size = page_size
        self._watch_timeout = watch_timeout
        self._read_timeout = read_timeout
        self._max_backoff = max_backoff
        self._store: dict[Key, JSONDict] = {}
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[Hashable, set[Key]]] = {}
        self._sorted_funcs: dict[str, SortFunc] = {}
        self._sorted: dict[str, SortedList] = {}
        self._listeners: list[Listener] = []
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.last_sync: datetime | None = None
        self.error: str | None = None
        self.error_code: str | None = None
        self.stale_since: datetime | None = None
        self.relists = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._store)

    def get(self, namespace: str | None, name: str) -> JSONDict | None:
        return self._store.get((namespace or "", name))

    def items(self) -> Iterable[JSONDict]:
        return self._store.values()

    def by_index(self, index: str, value: Hashable) -> list[JSONDict]:
        keys = self._indexes[index].get(value, ())
        return [self._store[k] for k in keys if k in self._store]

    def index_values(self, index: str) -> Iterable[Hashable]:
        return self._indexes[index].keys()

    def index_keys(self, index: str, value: Hashable) -> set[Key] | frozenset[Key]:
        """The keys whose index ``index`` holds ``value``: the live set, so its size and
        membership cost nothing; read it at once, never keep it or change it."""
        return self._indexes[index].get(value) or frozenset()

    def sorted_keys(
        self, name: str, *, after: tuple[str, ...] | None = None, reverse: bool = False
    ) -> Iterator[tuple[str, ...]]:
        """Sort keys of the ordering ``name``, strictly after ``after`` in that direction.

        Each key ends with (namespace, name), so ``get(key[-2], key[-1])`` is the object.
        Walking a page from a cursor costs O(log n + page), not a pass over everything.
        """
        ordered = self._sorted[name]
        if after is None:
            return iter(reversed(ordered) if reverse else ordered)
        if reverse:
            return ordered.irange(maximum=after, inclusive=(True, False), reverse=True)  # type: ignore[no-any-return]
        return ordered.irange(minimum=after, inclusive=(False, True))  # type: ignore[no-any-return]

    @property
    def healthy(self) -> bool:
        return self.synced.is_set() and self.error is None

    # ------------------------------------------------------------------ wiring

    def add_index(self, name: str, func: IndexFunc) -> None:
        """Keep ``name`` -> set of keys up to date; must be added before the first list."""
        self._index_funcs[name] = func
        index: dict[Hashable, set[Key]] = {}
        self._indexes[name] = index
        for key, obj in self._store.items():
            for value in func(obj):
                index.setdefault(value, set()).add(key)

    def add_sorted(self, name: str, func: SortFunc) -> None:
        """Keep the objects ordered by ``func`` (a tuple ending in namespace and name)."""
        self._sorted_funcs[name] = func
        self._sorted[name] = SortedList(func(obj) for obj in self._store.values())

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def start(self) -> None:
        """Start, or restart after :meth:`stop`: a restart resumes the watch from the last
        resourceVersion seen, and re-lists only if the server says that is too old."""
        self._stopped = False
        if self._task is None:
            self._task = asyncio.create_task(
                self.run(), name=f"informer {self.cluster} {self.resource.plural}"
            )

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ------------------------------------------------------------------ store

    def _index_add(self, key: Key, obj: JSONDict) -> None:
        for name, sort in self._sorted_funcs.items():
            self._sorted[name].add(sort(obj))
        for name, func in self._index_funcs.items():
            index = self._indexes[name]
            for value in func(obj):
                index.setdefault(value, set()).add(key)

    def _index_remove(self, key: Key, obj: JSONDict) -> None:
        for name, sort in self._sorted_funcs.items():
            self._sorted[name].discard(sort(obj))
        for name, func in self._index_funcs.items():
            index = self._indexes[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    def _emit(self, event: Change | Relisted) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the informer
                log.exception("listener failed on %s %s", self.cluster, self.resource.plural)

    def _apply(self, change_type: ChangeType, obj: JSONDict, *, relist: bool = False) -> None:
        key = object_key(obj)
        old = self._store.get(key)
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if change_type == "DELETED":
            if old is None:
                return
            self._index_remove(key, old)
            del self._store[key]
        else:
            if old is not None:
                self._index_remove(key, old)
            self._store[key] = obj
            self._index_add(key, obj)
            change_type = "UPDATED" if old is not None else "ADDED"
        self._emit(
            Change(
                type=change_type,
                cluster=self.cluster,
                resource=self.resource,
                key=key,
                obj=obj,
                old=old,
                resource_version=rv,
                relist=relist,
            )
        )

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        backoff = 0.5
        need_list = not self.synced.is_set() or not self.resource_version
        while not self._stopped:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    backoff = 0.5
                await self._watch()
                backoff = 0.5
            except GoneError:
                # Too old to resume: re-list at once and diff (no backoff: nothing failed).
                need_list = True
                continue
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.status == 410:
                    need_list = True
                    continue
                self._fail(exc, code=_code_for(exc))
                if exc.status == 404:
                    need_list = True  # the CRD went away; re-list when it returns
            except (KubeError, ValueError) as exc:
                self._fail(exc, code="TIMEOUT" if getattr(exc, "timeout", False) else "UNREACHABLE")
            # Full jitter: sleep a random time up to the current cap.
            await asyncio.sleep(random.uniform(backoff / 2, backoff))
            backoff = min(backoff * 2, self._max_backoff)

    def _fail(self, exc: Exception, *, code: str) -> None:
        if self.error is None:
            log.warning("%s %s: %s", self.cluster, self.resource.plural, exc)
        self.error = str(exc)
        self.error_code = code
        if self.stale_since is None:
            self.stale_since = datetime.now(UTC)

    def _ok(self) -> None:
        self.error = None
        self.error_code = None
        self.stale_since = None
        self.last_sync = datetime.now(UTC)

    def _path(self) -> str:
        return self.resource.path(namespace=self._namespace)

    def _narrow(self, params: dict[str, str | int]) -> dict[str, str | int]:
        if self._selector:
            params["labelSelector"] = self._selector
        return params

    async def _fetch(self, params: dict[str, str | int]) -> tuple[JSONDict, list[JSONDict]]:
        return await self._client.fetch(
            self._path(), params=params, timeout=60, decode=self._codec.page
        )

    async def _list(self) -> None:
        """LIST in pages, applying each page while the API server prepares the next.

        The continue token is in a page's metadata, so the next request goes out as soon
        as a page is decoded, and storing and indexing this page overlaps with the
        server's work on the next. Every listed object is applied as its page arrives;
        what the store holds that the list did not return is deleted at the end.
        """
        first = not self.synced.is_set()
        seen: set[Key] = set()
        rv = ""
        params = self._narrow({"limit": self._page_size})
        pending: asyncio.Task[tuple[JSONDict, list[JSONDict]]] | None = asyncio.ensure_future(
            self._fetch(params)
        )
        try:
            while pending is not None:
                try:
                    meta, items = await pending
                except ApiError as exc:
                    if exc.status == 410 and "continue" in params:
                        # The continue token expired mid-list: list again from the start.
                        seen.clear()
                        params = self._narrow({"limit": self._page_size})
                        pending = asyncio.ensure_future(self._fetch(params))
                        continue
                    raise
                rv = str(meta.get("resourceVersion") or rv)
                token = meta.get("continue")
                pending = None
                if token:
                    params = self._narrow({"limit": self._page_size, "continue": str(token)})
                    pending = asyncio.ensure_future(self._fetch(params))
                for n, obj in enumerate(items, 1):
                    if n % _YIELD_EVERY == 0:
                        # Let queries, other informers and the request just sent run.
                        await asyncio.sleep(0)
                    # List items carry no apiVersion/kind; put them back so records are whole.
                    obj.setdefault("apiVersion", self.resource.api_version)
                    obj.setdefault("kind", self.resource.kind)
                    key = object_key(obj)
                    seen.add(key)
                    old = self._store.get(key)
                    if old is None or _version(old) != _version(obj):
                        self._apply("ADDED", obj, relist=not first)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
        if not first:
            self.relists += 1
        for key in [k for k in self._store if k not in seen]:
            self._apply("DELETED", self._store[key], relist=not first)
        self.resource_version = rv
        self._ok()
        if not first:
            self._emit(Relisted(cluster=self.cluster, resource=self.resource, resource_version=rv))
        self.synced.set()

    async def _watch(self) -> None:
        # Jitter the server-side timeout so watches of many resources don't end together.
        timeout = int(self._watch_timeout * random.uniform(0.8, 1.2))
        params: dict[str, str | int] = {
            "watch": "1",
            "resourceVersion": self.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout,
        }
        params = self._narrow(params)
        started = time.monotonic()

        def opened() -> None:
            # The server accepted the watch: whatever failed before is over, even if
            # this resource stays quiet and no event ever arrives to say so.
            if self.error is not None:
                self._ok()

        async for event in self._client.watch(
            self._path(),
            params=params,
            read_timeout=self._read_timeout,
            on_open=opened,
            decode=self._codec.event,
        ):
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise GoneError(obj.get("message", "resource version too old"))
                raise ApiError(self.cluster, int(obj.get("code") or 500), obj)
            rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            if kind == "BOOKMARK":
                # Bookmarks only move the resume point forward; the object is a stub.
                if rv:
                    self.resource_version = rv
                continue
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                obj.setdefault("apiVersion", self.resource.api_version)
                obj.setdefault("kind", self.resource.kind)
                self._apply("DELETED" if kind == "DELETED" else "ADDED", obj)
                if rv:
                    self.resource_version = rv
        if self.error is None:
            self.last_sync = datetime.now(UTC)
        if time.monotonic() - started < 1.0:
            # A watch that ends at once again and again would spin: pace it.
            await asyncio.sleep(1.0)


def _version(obj: JSONDict) -> object:
    meta = obj.get("metadata")
    return meta.get("resourceVersion") if isinstance(meta, dict) else None


def _code_for(exc: ApiError) -> str:
    if exc.status in (401, 403):
        return "FORBIDDEN"
    if exc.status == 404:
        return "NOT_INSTALLED"
    if exc.status in (429, 500, 502, 503, 504):
        return "UNREACHABLE"
    return "INTERNAL"
