"""``stashql snapshots``: backup snapshots, newest first."""

from __future__ import annotations

from typing import Any

import click

from cli.client.app import Session, client_options, command, passthrough
from cli.client.listing import cluster_errors, fetch_all, filter_of
from cli.client.refs import object_ref
from cli.client.render import emit, field, table

QUERY = """query($f: SnapshotFilter, $first: Int, $after: String) {
  snapshots(filter: $f, first: $first, after: $after) {
    nodes { cluster namespace name type methods phase snapshotTime size integrity
      databaseRef { cluster kind namespace name } repository { name } }
    pageInfo { hasNextPage endCursor }
    clusterErrors { cluster code message } } }"""

COLUMNS = [
    ("CLUSTER", field("cluster")),
    ("NAMESPACE", field("namespace")),
    ("NAME", field("name")),
    ("DATABASE", field("databaseRef", "name")),
    ("METHODS", field("methods")),
    ("TYPE", field("type")),
    ("PHASE", field("phase")),
    ("TAKEN", field("snapshotTime")),
    ("SIZE", field("size")),
    ("INTEGRITY", field("integrity")),
]


@command("snapshots", short_help="list backup snapshots (filters: database, phase, method)")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="only this namespace")
@click.option("--cluster", "clusters", multiple=True, help="only this cluster")
@click.option("--database", help="only snapshots of this database (NAME or NAMESPACE/NAME)")
@click.option("--kind", help="with --database: its KubeDB kind")
@click.option("--phase", "phases", multiple=True, help="only this phase, e.g. SUCCEEDED")
@click.option("--method", "methods", multiple=True, help="only this method, e.g. LOGICAL")
@click.option("--type", "types", multiple=True, help="FULL or INCREMENTAL")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@client_options
def cli(
    *,
    session: Session,
    namespaces: tuple[str, ...],
    clusters: tuple[str, ...],
    database: str | None,
    kind: str | None,
    phases: tuple[str, ...],
    methods: tuple[str, ...],
    types: tuple[str, ...],
    limit: int,
) -> int:
    """List backup snapshots you may see, newest first."""
    ref = None
    if database:
        one_ns = namespaces[0] if len(namespaces) == 1 else None
        one_cluster = clusters[0] if len(clusters) == 1 else None
        ref = object_ref(database, namespace=one_ns, cluster=one_cluster, kind=kind)
    f = filter_of(
        namespaces=namespaces,
        clusters=clusters,
        database=ref,
        phases=tuple(p.upper() for p in phases),
        methods=tuple(m.upper() for m in methods),
        types=tuple(t.upper() for t in types),
    )
    nodes, errors = fetch_all(session.client, QUERY, "snapshots", {"f": f}, limit=limit)
    cluster_errors(session, errors)
    data: dict[str, Any] = {"snapshots": nodes, "clusterErrors": errors}
    emit(session.out, data, session.output, lambda d: [table(d["snapshots"], COLUMNS)])
    return 0


def register(commands: Any) -> None:
    passthrough(commands, cli)
