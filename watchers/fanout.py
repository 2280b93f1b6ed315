"""Fan-out of informer changes to subscribers, with bounded queues and resumable history.

Subscriptions never open their own watch: the hub is one listener on the shared
informers, so the number of watches on the API servers does not grow with subscribers.

- Every subscriber has a bounded queue. One that cannot keep up is not allowed to grow
  without limit or to slow the others: its queue is dropped and it gets a RESYNC.
- Every informer keeps a bounded history of recent changes with their resourceVersions.
  A client that reconnects with a resume token (the resourceVersions it last saw) gets
  what it missed from that history, or a RESYNC when the history no longer reaches back
  that far or an informer had to re-list (a gap: events may have been missed).
- The informer's listener does O(1) work per event: it records the change in the history
  and appends it to a pending list; a separate loop callback hands the pending changes
  to the subscribers of their stream (indexed by stream), so a busy fan-out never holds
  up the informer's watch reads.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from watchers.cache import Cache
from watchers.informer import Change, Informer, Relisted

StreamKey = tuple[str, str, str]  # (cluster, group, kind)

DEFAULT_HISTORY = 2000
DEFAULT_QUEUE = 1000


@dataclass(frozen=True)
class Resync:
    """Events may have been missed for these streams: refetch, then continue."""

    reason: str


@dataclass(frozen=True)
class Closed:
    """The gateway is shutting down: finish the subscription cleanly."""


@dataclass(frozen=True)
class Poke:
    """No change: wakes the stream to look at its other work (joiners, RESYNCs)."""


Item = Change | Resync | Closed | Poke


def _rv(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def encode_token(positions: dict[StreamKey, str]) -> str:
    raw = json.dumps(sorted([*key, rv] for key, rv in positions.items()), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[StreamKey, str] | None:
    """Positions from a token, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        entries = json.loads(raw)
        if not isinstance(entries, list) or len(entries) > 10_000:
            return None
        out: dict[StreamKey, str] = {}
        for entry in entries:
            if not (
                isinstance(entry, list)
                and len(entry) == 4
                and all(isinstance(x, str) for x in entry)
            ):
                return None
            out[(entry[0], entry[1], entry[2])] = entry[3]
        return out
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


@dataclass
class _History:
    events: deque[tuple[int, Change]]
    # Changes with a resourceVersion above `floor` are all in `events` (or newer).
    floor: int


@dataclass(eq=False)  # identity, not value: each subscriber is its own
class Subscriber:
    """One subscription's view of the hub: a bounded queue of the kinds it asked for."""

    wants: Callable[[str, str, str], bool]  # (cluster, group, kind) -> interested?
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE))
    overflowed: bool = False
    # Pending changes numbered below this were already in the store when it subscribed.
    start: int = 0

    def offer(self, item: Item) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # Slow consumer: stop buffering; it gets a RESYNC and a fresh queue.
            self.overflowed = True

    def reset(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False

    def poke(self) -> None:
        """Wake the stream (when its queue is full it is awake anyway)."""
        if not self.overflowed and self.queue.empty():
            self.queue.put_nowait(Poke())


class Hub:
    def __init__(
        self, cache: Cache, *, history: int = DEFAULT_HISTORY, queue: int = DEFAULT_QUEUE
    ) -> None:
        self._cache = cache
        self._history_size = history
        self._queue_size = queue
        self._history: dict[StreamKey, _History] = {}
        self._subscribers: set[Subscriber] = set()
        # Who wants each stream, decided once per (subscriber, stream).
        self._by_stream: dict[StreamKey, set[Subscriber]] = {}
        # Changes seen by the listener, not yet handed to subscribers: (sequence, key, item).
        self._pending: deque[tuple[int, StreamKey, Item]] = deque()
        self._sequence = 0
        self._scheduled = False
        self.closed = False
        cache.add_listener(self._on_event)

    def close(self) -> None:
        self.closed = True
        self._cache.remove_listener(self._on_event)
        self.flush()
        for sub in list(self._subscribers):
            sub.overflowed = False
            try:
                sub.queue.put_nowait(Closed())
            except asyncio.QueueFull:
                sub.reset()
                sub.queue.put_nowait(Closed())

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    # ------------------------------------------------------------------ events

    def _history_for(self, key: StreamKey, informer_rv: str) -> _History:
        found = self._history.get(key)
        if found is None:
            found = _History(events=deque(maxlen=self._history_size), floor=_rv(informer_rv) or 0)
            self._history[key] = found
        return found

    def _on_event(self, event: Change | Relisted) -> None:
        """The informers' listener: runs inside their watch loops, so O(1) per event."""
        key = (event.cluster, event.resource.group, event.resource.kind)
        item: Item
        if isinstance(event, Relisted):
            # A gap: whatever happened between the old and new list may be missing.
            self._history[key] = _History(
                events=deque(maxlen=self._history_size), floor=_rv(event.resource_version) or 0
            )
            item = Resync(reason=f"{event.cluster} re-listed {event.resource.plural}")
        else:
            rv = _rv(event.resource_version)
            history = self._history_for(key, event.resource_version)
            if rv is not None:
                if len(history.events) == history.events.maxlen:
                    history.floor = history.events[0][0]
                history.events.append((rv, event))
            item = event
        self._sequence += 1
        self._pending.append((self._sequence, key, item))
        if not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (a synchronous caller): hand out now
                self.flush()

    def flush(self) -> None:
        """Hand every pending change to the subscribers of its stream, in order."""
        self._scheduled = False
        pending = self._pending
        while pending:
            seq, key, item = pending.popleft()
            for sub in self._wanting(key):
                if seq >= sub.start:
                    sub.offer(item)

    def _wanting(self, key: StreamKey) -> set[Subscriber]:
        found = self._by_stream.get(key)
        if found is None:
            found = {sub for sub in self._subscribers if sub.wants(*key)}
            self._by_stream[key] = found
        return found

    # ------------------------------------------------------------------ subscribing

    def subscribe(
        self, wants: Callable[[str, str, str], bool]
    ) -> tuple[Subscriber, list[Informer], dict[StreamKey, str]]:
        """Register a subscriber; return it, the informers it covers and their positions.

        Nothing awaits between registering and reading the positions, so the snapshot a
        caller takes of those informers' stores now is exactly what precedes the queue.
        """
        # Changes still pending are in the stores already: the snapshot holds them.
        sub = Subscriber(
            wants=wants, queue=asyncio.Queue(self._queue_size), start=self._sequence + 1
        )
        self._subscribers.add(sub)
        for key, wanting in self._by_stream.items():
            if wants(*key):
                wanting.add(sub)
        informers = [
            informer
            for cluster in self._cache.clusters.values()
            for informer in cluster.informers.values()
            if wants(cluster.name, informer.resource.group, informer.resource.kind)
        ]
        positions = {
            (i.cluster, i.resource.group, i.resource.kind): i.resource_version for i in informers
        }
        for key, rv in positions.items():
            self._history_for(key, rv)
        return sub, informers, positions

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        for wanting in self._by_stream.values():
            wanting.discard(sub)

    def missed(
        self, since: dict[StreamKey, str], streams: Iterable[StreamKey]
    ) -> list[Change] | None:
        """Changes after ``since`` for these streams, oldest first; None if history has a gap."""
        found: list[tuple[int, Change]] = []
        for key in streams:
            if key not in since:
                return None  # a stream the client never saw (e.g. a CRD installed since)
            start = _rv(since[key])
            history = self._history.get(key)
            if start is None or history is None or start < history.floor:
                return None
            found += [(rv, change) for rv, change in history.events if rv > start]
        found.sort(key=lambda pair: pair[0])
        return [change for _, change in found]
