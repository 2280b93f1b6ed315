"""Keyset pagination over a global sort, merged across clusters.

A cursor is the sort key of the last item a page returned (plus which ordering it
belongs to), not an offset: the next page is "the items after this key". So inserting or
removing objects between two requests never makes a page skip or repeat an item that
was there both times.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Generic, TypeVar

from core.errors import InvalidInput

T = TypeVar("T")
SortKey = tuple[str | float | int, ...]

DEFAULT_PAGE = 50
MAX_PAGE = 500


def page_size(first: int | None, *, maximum: int = MAX_PAGE) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > maximum:
        raise InvalidInput(
            f"`first` must be between 0 and {maximum} (it was {first}); "
            "page through larger results with `after`",
            extensions={"argument": "first", "maximum": maximum},
        )
    return first


def encode_cursor(ordering: str, key: SortKey) -> str:
    raw = json.dumps([ordering, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(ordering: str, cursor: str) -> SortKey:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        tag, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(tag, str) or not isinstance(key, list):
            raise ValueError
        if not all(isinstance(k, str | int | float) for k in key):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(
            "`after` is not a cursor this API gave out; pass an `endCursor` or `cursor` "
            "from a previous page",
            extensions={"argument": "after"},
        ) from None
    if tag != ordering:
        raise InvalidInput(
            f"`after` is a cursor for another list or ordering ({tag}), not for {ordering}",
            extensions={"argument": "after"},
        )
    return tuple(key)


@dataclass
class Page(Generic[T]):
    items: list[tuple[SortKey, T]]
    has_next: bool
    count: Callable[[], int]  # how many match in all: computed only if asked for
    ordering: str
    _total: int | None = None

    @property
    def total(self) -> int:
        if self._total is None:
            self._total = self.count()
        return self._total

    def cursor(self, key: SortKey) -> str:
        return encode_cursor(self.ordering, key)

    @property
    def end_cursor(self) -> str | None:
        return self.cursor(self.items[-1][0]) if self.items else None


def paginate(
    entries: Iterable[tuple[SortKey, T]],
    *,
    ordering: str,
    first: int | None,
    after: str | None,
    descending: bool = False,
    maximum: int = MAX_PAGE,
) -> Page[T]:
    """One page of ``entries`` (already filtered), in ``ordering``, after ``after``.

    Costs one pass over the entries plus a bounded heap: no full sort per request.
    """
    size = page_size(first, maximum=maximum)
    after_key = decode_cursor(ordering, after) if after else None
    total = 0
    candidates: list[tuple[SortKey, T]] = []
    for entry in entries:
        total += 1
        if after_key is not None:
            if descending and not entry[0] < after_key:
                continue
            if not descending and not entry[0] > after_key:
                continue
        candidates.append(entry)
    pick = heapq.nlargest if descending else heapq.nsmallest
    chosen = pick(size + 1, candidates, key=itemgetter(0))
    return Page(
        items=chosen[:size], has_next=len(chosen) > size, count=lambda: total, ordering=ordering
    )


def take(
    entries: Iterable[tuple[SortKey, T]],
    *,
    ordering: str,
    first: int | None,
    count: Callable[[], int],
    maximum: int = MAX_PAGE,
) -> Page[T]:
    """A page from entries already in order and already past the cursor (lazy walks)."""
    size = page_size(first, maximum=maximum)
    chosen = list(itertools.islice(entries, size + 1))
    return Page(items=chosen[:size], has_next=len(chosen) > size, count=count, ordering=ordering)
