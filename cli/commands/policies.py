"""``stashql policies``: the backup policies a database of a kind in a namespace may use."""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType

from cli.client.app import Session, client_options, command, passthrough
from cli.client.render import cell, emit, field, table

QUERY = """query($cluster: String, $ns: String!, $kind: String!) {
  backupPolicies(cluster: $cluster, namespace: $ns, databaseKind: $kind) {
    cluster namespace name usage
    methods { method tasks availabilityImpact mayRestartDatabase performanceImpact recoverability }
    sessions { name schedule methods }
    retentionPolicy { namespace name }
    choices(namespace: $ns) {
      sessions { name methods schedule maySetSchedule }
      mayChooseRetention retentionPolicies { namespace name }
      mayUseOwnStorage ownStorages { namespace name }
      variables } } }"""


def _names(items: Any) -> str:
    return cell([f"{i.get('namespace')}/{i.get('name')}" for i in items or []])


def view(data: dict[str, Any]) -> list[RenderableType]:
    policies = data["backupPolicies"]
    parts: list[RenderableType] = [
        table(
            policies,
            [
                ("CLUSTER", field("cluster")),
                ("NAMESPACE", field("namespace")),
                ("NAME", field("name")),
                ("METHODS", lambda p: [m["method"] for m in p["methods"]]),
                ("MAY RESTART", lambda p: any(m["mayRestartDatabase"] for m in p["methods"])),
                ("RETENTION", lambda p: _names(p["choices"]["retentionPolicies"])),
                ("OWN STORAGE", field("choices", "mayUseOwnStorage")),
            ],
            title=None if policies else "No backup policy admits this kind in this namespace.",
        )
    ]
    for p in policies:
        choices = p["choices"]
        parts.append(
            table(
                p["methods"],
                [
                    ("METHOD", field("method")),
                    ("AVAILABILITY", field("availabilityImpact")),
                    ("MAY RESTART", field("mayRestartDatabase")),
                    ("LOAD", field("performanceImpact")),
                    ("RESTORES", field("recoverability")),
                ],
                title=f"\n{p['namespace']}/{p['name']}: impact of each method",
            )
        )
        parts.append(
            table(
                choices["sessions"],
                [
                    ("SESSION", field("name")),
                    ("METHODS", field("methods")),
                    ("SCHEDULE", field("schedule")),
                    ("YOU MAY SET IT", field("maySetSchedule")),
                ],
                title=f"\n{p['namespace']}/{p['name']}: your choices",
            )
        )
        extra = {
            "may choose retention": choices["mayChooseRetention"],
            "own storages": _names(choices["ownStorages"]),
            "variables to fill in": choices["variables"],
        }
        parts.append("\n".join(f"  {k}: {cell(v)}" for k, v in extra.items()))
    return parts


@command("policies", short_help="backup policies a database may use: methods, impact, choices")
@click.option("--kind", required=True, help="KubeDB kind, e.g. Postgres")
@click.option("-n", "--namespace", required=True, help="the database's namespace")
@click.option("--cluster", help="cluster; may be left out when the gateway has one")
@client_options
def cli(*, session: Session, kind: str, namespace: str, cluster: str | None) -> int:
    """The backup policies a database of KIND in NAMESPACE may use: their methods, what
    each does to the database (availability, restarts) and what you may choose."""
    data = session.client.execute(QUERY, {"cluster": cluster, "ns": namespace, "kind": kind})
    emit(session.out, data, session.output, view)
    return 0


def register(commands: Any) -> None:
    passthrough(commands, cli)
