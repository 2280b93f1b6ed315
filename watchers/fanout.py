"""Fan-out of informer changes to subscribers, with bounded queues and resumable history.

Subscriptions never open their own watch: the hub is one listener on the shared
informers, so the number of watches on the API servers does not grow with subscribers.

- Every subscriber has a bounded queue. One that cannot keep up is not allowed to grow
  without limit or to slow the others: its queue is dropped and it gets a RESYNC.
- Every informer keeps a bounded history of recent changes with their resourceVersions.
  A client that reconnects with a resume token (the resourceVersions it last saw) gets
  what it missed from that history, or a RESYNC when the history no longer reaches back
  that far or an informer had to re-list (a gap: events may have been missed).
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


Item = Change | Resync | Closed


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


class Hub:
    def __init__(
        self, cache: Cache, *, history: int = DEFAULT_HISTORY, queue: int = DEFAULT_QUEUE
    ) -> None:
        self._cache = cache
        self._history_size = history
        self._queue_size = queue
        self._history: dict[StreamKey, _History] = {}
        self._subscribers: set[Subscriber] = set()
        self.closed = False
        cache.add_listener(self._on_event)

    def close(self) -> None:
        self.closed = True
        self._cache.remove_listener(self._on_event)
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
        key = (event.cluster, event.resource.group, event.resource.kind)
        if isinstance(event, Relisted):
            # A gap: whatever happened between the old and new list may be missing.
            self._history[key] = _History(
                events=deque(maxlen=self._history_size), floor=_rv(event.resource_version) or 0
            )
            for sub in self._subscribers:
                if sub.wants(*key):
                    sub.offer(Resync(reason=f"{event.cluster} re-listed {event.resource.plural}"))
            return
        rv = _rv(event.resource_version)
        history = self._history_for(key, event.resource_version)
        if rv is not None:
            if len(history.events) == history.events.maxlen:
                history.floor = history.events[0][0]
            history.events.append((rv, event))
        for sub in self._subscribers:
            if sub.wants(*key):
                sub.offer(event)

    # ------------------------------------------------------------------ subscribing

    def subscribe(
        self, wants: Callable[[str, str, str], bool]
    ) -> tuple[Subscriber, list[Informer], dict[StreamKey, str]]:
        """Register a subscriber; return it, the informers it covers and their positions.

        Nothing awaits between registering and reading the positions, so the snapshot a
        caller takes of those informers' stores now is exactly what precedes the queue.
        """
        sub = Subscriber(wants=wants, queue=asyncio.Queue(self._queue_size))
        self._subscribers.add(sub)
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
