"""The GraphQL schema: strawberry types for the whole contract.

``build_schema()`` constructs a new Schema on every call (no module-level instance);
``sdl()`` prints it. The roots (``query``, ``mutation``, ``subscription``) sit on top of
the object types; types only read the raw Kubernetes dicts they wrap, and anything that
needs other objects is resolved in ``resolvers/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry

from schema.mutation import Mutation
from schema.query import Query
from schema.subscription import Subscription


def build_schema(*, extensions: Sequence[Any] = ()) -> strawberry.Schema:
    """A new Schema with the Query, Mutation and Subscription roots and ``extensions``."""
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=list(extensions)
    )


def sdl() -> str:
    """The schema in GraphQL SDL."""
    return build_schema().as_str()


__all__ = ["build_schema", "sdl"]
