"""Argument types shared by many fields, with their descriptions.

Each is an ``Annotated`` alias, so a resolver parameter reads
``first: First = None`` and the description appears in the schema.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.enums import SortOrder

First = Annotated[
    int | None,
    strawberry.argument(description="Page size: at most this many items (a server limit applies)."),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Continue after this cursor (a previous `endCursor`)."),
]
OrderBy = Annotated[
    SortOrder | None,
    strawberry.argument(description="Time order of the items; null means NEWEST_FIRST."),
]
ClusterName = Annotated[
    str | None,
    strawberry.argument(description="Cluster name; may be left out when only one is configured."),
]
Namespace = Annotated[str, strawberry.argument(description="The namespace asked about.")]
DatabaseKind = Annotated[str, strawberry.argument(description="KubeDB kind, for example Postgres.")]
ResumeToken = Annotated[
    str | None,
    strawberry.argument(
        description="A `resumeToken` from an earlier event: continue after it instead of "
        "starting over."
    ),
]
