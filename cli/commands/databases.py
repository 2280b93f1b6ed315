"""``stashql databases``: the databases the caller may see, across clusters."""

from __future__ import annotations

from typing import Any

import click

from cli.client.app import Session, client_options, command, passthrough
from cli.client.listing import cluster_errors, fetch_all, filter_of
from cli.client.render import emit, field, table

QUERY = """query($f: DatabaseFilter, $first: Int, $after: String) {
  databases(filter: $f, first: $first, after: $after) {
    nodes { cluster namespace name kind version phase halted
      backup { enabled paused health schedule lastSuccessfulSnapshot { snapshotTime } } }
    pageInfo { hasNextPage endCursor }
    clusterErrors { cluster code message } } }"""

COLUMNS = [
    ("CLUSTER", field("cluster")),
    ("NAMESPACE", field("namespace")),
    ("NAME", field("name")),
    ("KIND", field("kind")),
    ("VERSION", field("version")),
    ("PHASE", field("phase")),
    ("BACKUP", field("backup", "health")),
    ("PAUSED", field("backup", "paused")),
    ("LAST SNAPSHOT", field("backup", "lastSuccessfulSnapshot", "snapshotTime")),
]


@command("databases", short_help="list databases (filters: namespace, kind, cluster, phase)")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="only this namespace")
@click.option("--kind", "kinds", multiple=True, help="only this KubeDB kind, e.g. Postgres")
@click.option("--cluster", "clusters", multiple=True, help="only this cluster")
@click.option("--phase", "phases", multiple=True, help="only this phase, e.g. READY")
@click.option("--name", "name_contains", help="only names containing this text")
@click.option("-l", "--selector", help="only databases matching this label selector")
@click.option("--limit", type=click.IntRange(min=1), help="at most this many")
@client_options
def cli(
    *,
    session: Session,
    namespaces: tuple[str, ...],
    kinds: tuple[str, ...],
    clusters: tuple[str, ...],
    phases: tuple[str, ...],
    name_contains: str | None,
    selector: str | None,
    limit: int | None,
) -> int:
    """List the databases you may see, across every cluster of the gateway."""
    f = filter_of(
        namespaces=namespaces,
        kinds=kinds,
        clusters=clusters,
        phases=tuple(p.upper() for p in phases),
        nameContains=name_contains,
        labelSelector=selector,
    )
    nodes, errors = fetch_all(session.client, QUERY, "databases", {"f": f}, limit=limit)
    cluster_errors(session, errors)
    data: dict[str, Any] = {"databases": nodes, "clusterErrors": errors}
    emit(session.out, data, session.output, lambda d: [table(d["databases"], COLUMNS)])
    return 0


def register(commands: Any) -> None:
    passthrough(commands, cli)
