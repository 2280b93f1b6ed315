"""What one GraphQL document may ask for: the query limits' settings."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import setting
from resolvers.reads.paging import MAX_PAGE


@dataclass(frozen=True)
class Limits:
    """What one GraphQL document may ask for. The defaults suit an interactive console."""

    # Fields on the longest path, leaves included: `{ viewer { username } }` is 2 deep.
    # A connection costs two levels (`edges { node`), so 12 allows three nested lists.
    max_depth: int = setting(12, help="deepest query accepted, in levels of fields")
    # Aliased fields in the document, counted where they are written; a query that needs
    # more asks for one list with a larger `first` instead (the refusal says so).
    max_aliases: int = setting(50, help="aliased fields per query")
    # Lexical tokens (and, separately, comments): the parser gives up past this, so
    # parsing is bounded before anything else looks at the document.
    max_tokens: int = setting(5000, help="lexical tokens (and comments) per query document")
    # Estimated work (see gateway/limits/cost.py); a page of 500 databases with a few
    # fields each over three clusters is about 5,000, so 50,000 leaves room for nested
    # lists while refusing a page of pages of pages.
    max_cost: int = setting(
        50_000, help="largest query cost (fields x page sizes x clusters) accepted"
    )
    # Largest `first`; the resolvers refuse more than resolvers.reads.paging.MAX_PAGE anyway.
    max_page: int = setting(MAX_PAGE, help="largest `first` (page size) accepted")
    # Introspection is what GraphiQL and code generators read the schema with; turning it
    # off hides nothing (`stashql schema` prints the same SDL) but some deployments ask.
    introspection: bool = setting(True, help="answer __schema/__type queries")
    # Length of the document in UTF-8 bytes. Hand-written queries are a few kilobytes;
    # the HTTP body limit (GateSettings.max_body_bytes) leaves room for variables too.
    max_query_bytes: int = setting(100_000, help="longest query document, in UTF-8 bytes")

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_aliases", "max_tokens", "max_cost", "max_query_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        if self.max_page < 0:
            raise ValueError("Limits.max_page must not be negative")
