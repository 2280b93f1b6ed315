"""Parsed and validated documents, kept for the next request with the same query text.

Clients send the same few queries again and again; parsing and graphql-core's standard
validation rules cost more than resolving a page of 50. ``DocumentCache`` keeps, per
query text and parser options, the parsed document and whether it passed the standard
rules, in a bounded LRU shared by all requests.

It must come *after* ``gateway.limits.QueryLimits`` in the schema's extensions (hooks
enter in order), so that:

- the limits set the parser options (tokens, length) before the cache is looked up, and
  the options are part of the key: a document is only ever reused under the options it
  was parsed with, and one the parser refused is never kept;
- the limits' own checks (introspection, aliases, depth, page sizes, cost) run on every
  request, cached or not, with that request's variables and operation; only the
  standard rules' verdict, which depends on the document alone, is reused.

strawberry's ``ParserCache`` and ``ValidationCache`` are not used: the first parses
before the limits can explain a parser refusal, and the second overwrites whatever
errors the limits set (or, placed first, makes them skip their checks).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

# Distinct query texts kept, and the longest text kept (in characters). Hand-written and
# generated client queries are a few kilobytes at most; longer documents are parsed each
# time, so the cache holds at most a few dozen MiB of syntax trees whatever is sent.
MAX_DOCUMENTS = 128
MAX_CACHED_LENGTH = 8_192


@dataclass
class _Entry:
    document: DocumentNode
    # The validation rules the document passed (all of strawberry's standard ones), or
    # None until it has passed them once.
    valid_under: tuple[object, ...] | None = None


class Documents:
    """A bounded LRU of query text (and parser options) -> parsed document."""

    def __init__(self, maxsize: int = MAX_DOCUMENTS) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, document: DocumentNode) -> _Entry:
        entry = _Entry(document)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return entry


class DocumentCache(SchemaExtension):
    """Reuses a parsed document and its standard validation verdict (see the module)."""

    def __init__(self, *, documents: Documents) -> None:
        self.documents = documents
        self._entry: _Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if not query or len(query) > MAX_CACHED_LENGTH or context.graphql_document is not None:
            yield
            return
        key = (query, tuple(sorted(dict(context.parse_options).items())))
        entry = self.documents.get(key)
        if entry is not None:
            context.graphql_document = entry.document  # strawberry then skips parsing
            self._entry = entry
            yield
            return
        yield
        if context.graphql_document is not None and not context.pre_execution_errors:
            self._entry = self.documents.put(key, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self._entry
        rules = tuple(context.validation_rules)
        if (
            entry is not None
            and entry.valid_under == rules
            and context.graphql_document is entry.document
            # None: the limits (before this extension) found nothing to refuse.
            and context.pre_execution_errors is None
        ):
            # Passed the standard rules before: an empty list tells strawberry that
            # validation has run, so it executes at once.
            context.pre_execution_errors = []
            yield
            return
        yield
        if entry is not None and context.pre_execution_errors == []:
            entry.valid_under = rules


def document_cache(documents: Documents | None = None) -> Callable[[], SchemaExtension]:
    """The extension factory for ``build_schema(extensions=...)``: one ``Documents`` LRU
    shared by every request of that schema. Put it after the limits' extensions."""
    return functools.partial(
        DocumentCache, documents=documents if documents is not None else Documents()
    )
