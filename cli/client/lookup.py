"""Finding the cluster of a database named without ``--cluster``.

Mutations need the cluster once the gateway serves several; a database's namespace and
name usually say which, so the CLI asks the gateway rather than the user.
"""

from __future__ import annotations

from typing import Any

from cli.client.exits import CliError, Exit
from cli.client.refs import shown
from cli.client.transport import GraphQLClient

_FIND = """query($f: DatabaseFilter) { databases(filter: $f, first: 100) {
  nodes { cluster namespace name kind } } }"""


def locate_database(client: GraphQLClient, ref: dict[str, Any]) -> dict[str, Any]:
    """``ref`` with its cluster: as given, else the only cluster having that database.
    None visible: left out, so the gateway's answer (NOT_FOUND) says why."""
    if ref.get("cluster"):
        return ref
    f: dict[str, Any] = {"namespaces": [ref["namespace"]], "nameContains": ref["name"]}
    if ref.get("kind"):
        f["kinds"] = [ref["kind"]]
    nodes = client.execute(_FIND, {"f": f})["databases"]["nodes"]
    clusters = sorted({n["cluster"] for n in nodes if n["name"] == ref["name"]})
    if len(clusters) > 1:
        raise CliError(
            f"database {shown(ref)} exists in clusters {', '.join(clusters)}: pass --cluster",
            Exit.USAGE,
        )
    return {**ref, "cluster": clusters[0]} if clusters else ref
