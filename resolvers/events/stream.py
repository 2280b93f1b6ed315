"""Phase-change streams for subscriptions, fed by the shared informers through the hub.

A stream first sends INITIAL events for the current state (or, when resuming, what was
missed), then ADDED, UPDATED and DELETED as they happen. Only meaningful changes are
sent: an UPDATED whose phase (and, for restores, progress) did not change is dropped,
and rapid updates of one object that arrive together are coalesced into one event
carrying the first previous phase and the latest state. Every event passes the viewer's
access, re-decided periodically, so a revoked permission stops the flow.

A stream may be *shared* (``Members``): one stream serves every subscriber with the same
document, variables and viewer, so access, filtering, coalescing and the rendering of
each event happen once for all of them. Subscribers join between batches, when the
stream's queue is empty: the store is then exactly at the stream's position, so the
INITIAL events it sends them (once for all who join together) precede what follows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from apis import objects
from apis.resources import CORE, KUBEDB, STORAGE, ResourceType
from core.errors import InvalidInput
from resolvers.reads.graph import Graph, Item
from resolvers.reads.setup import SetupStates
from watchers.fanout import Closed, Hub, Poke, Resync, StreamKey, decode_token, encode_token
from watchers.informer import Change

# Access decisions are cached for 30 s upstream; re-decide at least this often.
ACCESS_REFRESH = 10.0
# At most this many queued changes are coalesced into one batch.
BATCH = 500
# Between this many INITIAL events the stream lets the loop run (informers, other
# subscribers): a large INITIAL set is sent in chunks, never in one stretch.
CHUNK = 100


# (cluster, group, plural, namespace): one access decision of a viewer.
AccessKey = tuple[str, str, str, str]


class Tracker(Protocol):
    """A state derived from an object and the objects around it (a database's setup
    state), followed per subscription: a change to a related object can move it."""

    def initial(self, graph: Graph, item: Item) -> object: ...

    def database(self, graph: Graph, item: Item) -> tuple[object | None, object]: ...

    def deleted(self, key: tuple[str, str, str, str]) -> object | None: ...

    def related(
        self, graph: Graph, cluster: str, raw: dict[str, object]
    ) -> Sequence[tuple[Item, object | None, object]]: ...


@dataclass(frozen=True)
class StreamSpec:
    """What one subscription field streams."""

    wants: Callable[[str, str, str], bool]  # (cluster, group, kind)
    phase: Callable[[dict[str, object]], str | None]
    progress: Callable[[dict[str, object]], float | None] | None = None
    # The kinds the stream reports on; the other kinds it wants only move a tracked
    # state (None: every kind it wants is its own).
    own: Callable[[str, str], bool] | None = None
    # A new tracker per subscription, for a derived state carried by its events.
    tracker: Callable[[], Tracker] | None = None
    # The access decision that shows an item to a viewer, as (cluster, group, plural,
    # namespace), or None to hide it. Unset: reading the item itself. A stream of records
    # the viewer cannot read (a restore workflow's ConfigMap in the gateway's namespace)
    # is shown by access to what the record is about (its database).
    access: Callable[[Item], AccessKey | None] | None = None

    def is_own(self, resource: ResourceType) -> bool:
        return self.own is None or self.own(resource.group, resource.kind)

    def access_key(self, item: Item) -> AccessKey | None:
        if self.access is not None:
            return self.access(item)
        r = item.resource
        return (item.cluster, r.group, r.plural, item.namespace)


@dataclass(frozen=True)
class Event:
    type: str  # INITIAL, ADDED, UPDATED, DELETED, RESYNC
    cluster: str
    resource: ResourceType | None
    namespace: str | None
    name: str
    item: Item | None
    previous_phase: str | None
    phase: str | None
    progress: float | None
    at: datetime
    resume_token: str
    # The tracked state before and after (for example the database's setup state).
    previous_tracked: object | None = None
    tracked: object | None = None


class Members:
    """Who the events of a shared stream are for (the transport's side of sharing).

    ``current`` names, for the event being yielded, the members it is for: None means
    every live member, a list means those only (INITIAL events for joiners, a RESYNC for
    members who fell behind). The stream sets it before each event it yields.
    """

    def __init__(self) -> None:
        self.current: list[object] | None = None
        self._joining: list[object] = []
        self._resyncing: list[object] = []
        self._wake: Callable[[], None] | None = None

    # -------------------------------------------------------------- transport side

    def join(self, member: object) -> None:
        self._joining.append(member)
        if self._wake is not None:
            self._wake()

    def resync(self, member: object) -> None:
        """``member`` fell behind: its next event is a RESYNC (then it continues)."""
        self._resyncing.append(member)
        if self._wake is not None:
            self._wake()

    def promote(self, members: list[object]) -> None:
        """Their INITIAL events are out: from now on they get every live event."""

    # While the stream renders INITIAL events, the state (a number that changes whenever
    # the stream's view may have) they stand for; None otherwise.
    recording: int | None = None

    def replay(self, members: list[object], state: int) -> bool:
        """Send ``members`` the INITIAL events last rendered, if they stand for ``state``
        (nothing changed since): True if done, False if they must be rendered."""
        return False

    def recorded(self, state: int) -> None:
        """The INITIAL events just rendered (``recording``) are complete for ``state``."""

    # -------------------------------------------------------------- stream side

    def attach(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def take_joining(self) -> list[object]:
        out, self._joining = self._joining, []
        return out

    def take_resyncing(self) -> list[object]:
        out, self._resyncing = self._resyncing, []
        return out

    @property
    def joining(self) -> bool:
        return bool(self._joining)


def _item(change: Change) -> Item:
    return Item(change.cluster, change.obj, change.resource)


@dataclass
class _Pending:
    type: str
    change: Change
    previous: dict[str, object] | None


def coalesce(changes: list[Change]) -> list[_Pending]:
    """Merge changes of the same object within one batch, keeping their order."""
    pending: dict[tuple[str, str, str, str, str], _Pending] = {}
    out: list[_Pending] = []
    for change in changes:
        key = (change.cluster, change.resource.group, change.resource.kind, *change.key)
        current = pending.get(key)
        if current is None or current.type == "DELETED":
            entry = _Pending(type=change.type, change=change, previous=change.old)
            pending[key] = entry
            out.append(entry)
            continue
        # ADDED then UPDATED stays ADDED; UPDATED then UPDATED keeps the first "before".
        current.change = change
        if change.type == "DELETED":
            current.type = "DELETED"
    return out


async def stream(
    *,
    hub: Hub,
    spec: StreamSpec,
    graph: Graph,
    refresh: Callable[[], Awaitable[Graph]],
    accept: Callable[[Graph, Item], bool],
    resume_token: str | None,
    members: Members | None = None,
) -> AsyncIterator[Event]:
    since = None
    if resume_token is not None:
        since = decode_token(resume_token)
        if since is None:
            raise InvalidInput(
                "`resumeToken` is not a token this API gave out; pass the `resumeToken` of "
                "the last event you received, or none to start over",
                extensions={"argument": "resumeToken"},
            )
    sub, informers, positions = hub.subscribe(spec.wants)
    try:
        # Taken before any await: exactly the state that precedes the queued changes.
        # Only the stream's own kinds have INITIAL events; the related kinds it listens to
        # (for a tracked state) are read when they change.
        snapshot = [
            Item(i.cluster, raw, i.resource)
            for i in informers
            if spec.is_own(i.resource)
            for raw in i.items()
        ]
        missed = hub.missed(since, positions.keys()) if since is not None else None
        refreshed_at = time.monotonic()

        def visible(g: Graph, item: Item) -> bool:
            key = spec.access_key(item)
            return key is not None and g.access.allows(*key) and accept(g, item)

        tracker = spec.tracker() if spec.tracker is not None else None

        def make(
            kind: str,
            item: Item,
            previous: dict[str, object] | None,
            tracked: tuple[object | None, object | None] = (None, None),
        ) -> Event:
            raw = item.raw
            return Event(
                type=kind,
                cluster=item.cluster,
                resource=item.resource,
                namespace=item.namespace or None,
                name=item.name,
                item=None if kind == "DELETED" else item,
                previous_phase=spec.phase(previous) if previous is not None else None,
                phase=spec.phase(raw),
                progress=spec.progress(raw) if spec.progress else None,
                at=datetime.now(UTC),
                resume_token=encode_token(positions),
                previous_tracked=tracked[0],
                tracked=tracked[1],
            )

        def resync(reason: str) -> Event:
            return Event(
                type="RESYNC",
                cluster="",
                resource=None,
                namespace=None,
                name=reason,
                item=None,
                previous_phase=None,
                phase=None,
                progress=None,
                at=datetime.now(UTC),
                resume_token=encode_token(positions),
            )

        def flush(changes: list[Change]) -> list[Event]:
            # Coalescing reorders a batch, so no event inside it can vouch for a point
            # in the middle: each carries the position before the batch (resuming there
            # replays the batch: at least once, never lost) and the last one the position
            # after it.
            out = [
                event
                for pending in coalesce(changes)
                for event in _emit(pending, spec, graph, visible, make, tracker)
            ]
            for change in changes:
                key, rv = _key(change), _rv_int(change.resource_version)
                if rv is not None and rv > (_rv_int(positions.get(key, "")) or -1):
                    positions[key] = change.resource_version
            if out:
                out[-1] = replace(out[-1], resume_token=encode_token(positions))
            return out

        async def decide(items: list[Item]) -> None:
            keys = {spec.access_key(i) for i in items}
            await graph.access.ensure(k for k in keys if k is not None)

        async def initial(items: list[Item]) -> AsyncIterator[Event]:
            await decide(items)
            ordered = sorted(items, key=lambda i: (i.cluster, i.namespace, i.name))
            for count, item in enumerate(ordered, 1):
                if spec.is_own(item.resource) and visible(graph, item):
                    now = tracker.initial(graph, item) if tracker is not None else None
                    yield make("INITIAL", item, None, (None, now))
                if count % CHUNK == 0:
                    await asyncio.sleep(0)

        # Changes whenever this stream's view may have: a batch of changes, a RESYNC, a
        # fresh access view. INITIAL events rendered for one state serve later joiners.
        state = 0

        async def joined(items: Callable[[], list[Item]]) -> AsyncIterator[Event]:
            # INITIAL events for everyone who joined since the last batch, once for all.
            assert members is not None
            batch = members.take_joining()
            if not members.replay(batch, state):
                members.recording = state
                try:
                    async for event in initial(items()):
                        members.current = batch
                        yield event
                finally:
                    members.recording = None
                members.current = None
                members.recorded(state)
            members.promote(batch)

        if members is not None:
            members.attach(sub.poke)

        if since is None:
            if members is None:
                async for event in initial(snapshot):
                    yield event
            else:
                async for event in joined(lambda: snapshot):
                    yield event
        elif missed is None:
            yield resync("the resume token is older than the history this gateway keeps")
        else:
            await decide([_item(c) for c in missed])
            for event in flush(missed):
                yield event

        while True:
            if members is not None:
                behind = members.take_resyncing()
                if behind:
                    members.current = behind
                    yield resync("this subscriber fell behind; refetch, then continue")
                    members.current = None
                    continue
                if members.joining:
                    # Join where the store is exactly at this stream's position: nothing
                    # pending in the hub or in this stream's queue.
                    hub.flush()
                    if sub.queue.empty() and not sub.overflowed:
                        for key, rv in _positions(informers).items():
                            if (_rv_int(rv) or -1) > (_rv_int(positions.get(key, "")) or -1):
                                positions[key] = rv

                        def now_items() -> list[Item]:
                            return [
                                Item(i.cluster, raw, i.resource)
                                for i in informers
                                if spec.is_own(i.resource)
                                for raw in i.items()
                            ]

                        async for event in joined(now_items):
                            yield event
                        continue
            first = await sub.queue.get()
            batch = [first]
            while len(batch) < BATCH and not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            batch = [queued for queued in batch if not isinstance(queued, Poke)]
            if sub.overflowed:
                sub.reset()
                state += 1
                yield resync("this subscriber fell behind; refetch, then continue")
                continue
            if not batch:
                continue
            state += 1
            if time.monotonic() - refreshed_at > ACCESS_REFRESH:
                graph = await refresh()
                refreshed_at = time.monotonic()
            await decide([_item(q) for q in batch if isinstance(q, Change)])
            changes: list[Change] = []
            for queued in batch:
                if isinstance(queued, Closed):
                    return
                if isinstance(queued, Resync):
                    for event in flush(changes):
                        yield event
                    changes = []
                    yield resync(queued.reason)
                    continue
                if isinstance(queued, Change):
                    changes.append(queued)
            for count, event in enumerate(flush(changes), 1):
                yield event
                if count % CHUNK == 0:
                    await asyncio.sleep(0)
    finally:
        hub.unsubscribe(sub)


def _positions(informers: list[Any]) -> dict[StreamKey, str]:
    return {(i.cluster, i.resource.group, i.resource.kind): i.resource_version for i in informers}


def _rv_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _key(change: Change) -> StreamKey:
    return (change.cluster, change.resource.group, change.resource.kind)


def _emit(
    pending: _Pending,
    spec: StreamSpec,
    graph: Graph,
    visible: Callable[[Graph, Item], bool],
    make: Callable[..., Event],
    tracker: Tracker | None,
) -> list[Event]:
    item = _item(pending.change)
    if not spec.is_own(item.resource):
        # A related object changed: only the tracked states it moved are news.
        if tracker is None:
            return []
        raw = pending.change.old if pending.type == "DELETED" else item.raw
        return [
            make("UPDATED", db, db.raw, (before, now))
            for db, before, now in tracker.related(graph, item.cluster, raw or item.raw)
            if before != now and visible(graph, db)
        ]
    if pending.type == "DELETED":
        last = Item(item.cluster, pending.change.old or item.raw, item.resource)
        if not visible(graph, last):
            return []
        before = tracker.deleted(_db_key(last)) if tracker is not None else None
        return [make("DELETED", last, pending.previous, (before, None))]
    if not visible(graph, item):
        return []
    tracked: tuple[object | None, object | None] = (None, None)
    if tracker is not None:
        tracked = tracker.database(graph, item)
    if pending.type == "UPDATED" and pending.previous is not None:
        same_phase = spec.phase(pending.previous) == spec.phase(item.raw)
        same_progress = spec.progress is None or spec.progress(pending.previous) == spec.progress(
            item.raw
        )
        if same_phase and same_progress and tracked[0] == tracked[1]:
            return []  # not a meaningful change
    return [make(pending.type, item, pending.previous, tracked)]


def _db_key(item: Item) -> tuple[str, str, str, str]:
    return (item.cluster, item.resource.kind, item.namespace, item.name)


def group_kinds(group: str, kind: str | None = None) -> Callable[[str, str, str], bool]:
    def wants(cluster: str, g: str, k: str) -> bool:
        return g == group and (kind is None or k == kind)

    return wants


def _database_related(cluster: str, group: str, kind: str) -> bool:
    """A database's own changes, and those of the objects its setup state depends on."""
    return group == KUBEDB or (group, kind) in SETUP_KINDS


# What a database's setup state depends on besides the database (resolvers/reads/setup).
SETUP_KINDS = frozenset(
    {
        (CORE, "BackupConfiguration"),
        (CORE, "BackupSession"),
        (CORE, "RestoreSession"),
        (STORAGE, "BackupStorage"),
        (STORAGE, "RetentionPolicy"),
    }
)

DATABASES = StreamSpec(
    wants=_database_related,
    phase=objects.database_phase,
    own=lambda group, kind: group == KUBEDB,
    tracker=SetupStates,
)
BACKUP_SESSIONS = StreamSpec(
    wants=group_kinds("core.kubestash.com", "BackupSession"), phase=objects.backup_session_phase
)
RESTORE_SESSIONS = StreamSpec(
    wants=group_kinds("core.kubestash.com", "RestoreSession"),
    phase=objects.restore_session_phase,
    progress=objects.restore_progress,
)
SNAPSHOTS = StreamSpec(
    wants=group_kinds("storage.kubestash.com", "Snapshot"), phase=objects.snapshot_phase
)
