"""Lists: every page of a connection, and the clusters that could not answer."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from cli.client.app import Session
from cli.client.transport import GraphQLClient

PAGE = 100


def filter_of(**given: Any) -> dict[str, Any] | None:
    """A filter input from the options given (empty ones left out)."""
    f = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items() if v}
    return f or None


def fetch_all(
    client: GraphQLClient,
    query: str,
    name: str,
    variables: dict[str, Any],
    *,
    limit: int | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The nodes of every page (up to ``limit``), and the cluster errors of the first."""
    nodes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        first = PAGE if limit is None else min(PAGE, limit - len(nodes))
        data = client.execute(query, {**variables, "first": first, "after": after})
        connection = data[name]
        nodes.extend(connection["nodes"])
        if after is None:
            errors = connection.get("clusterErrors") or []
        page = connection["pageInfo"]
        if not page["hasNextPage"] or (limit is not None and len(nodes) >= limit):
            return nodes, errors
        after = page["endCursor"]


def cluster_errors(session: Session, errors: list[dict[str, Any]]) -> None:
    """Clusters left out of a list, on stderr: the list is complete for the others only."""
    for e in errors:
        session.err.print(
            Text(
                f"warning: cluster {e['cluster']} left out ({e['code']}): {e['message']}", "yellow"
            )
        )
