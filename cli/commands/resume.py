"""``stashql resume``: let applications connect to a database again (after a restore)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from cli.client.app import Session, client_options, command, passthrough
from cli.client.changes import Change, dry_run_option, run_change, yes_option
from cli.client.lookup import locate_database
from cli.client.refs import object_ref, shown


@command("resume", short_help="let applications connect to a database again after a restore")
@click.argument("database")
@click.option("-n", "--namespace", help="namespace, unless DATABASE is NAMESPACE/NAME")
@click.option("--cluster", help="cluster; may be left out when the gateway has one")
@click.option("--kind", help="KubeDB kind, e.g. Postgres")
@dry_run_option
@yes_option
@client_options
def cli(
    *,
    session: Session,
    database: str,
    namespace: str | None,
    cluster: str | None,
    kind: str | None,
    dry_run: bool,
    yes: bool,
) -> int:
    """Let applications connect to DATABASE again, and complete a restore waiting for it
    (also a failed one: check the data first)."""
    ref = object_ref(database, namespace=namespace, cluster=cluster, kind=kind)
    ref = locate_database(session.client, ref)
    change = Change(
        "resumeDatabaseTraffic",
        "ResumeDatabaseTrafficInput",
        {"database": ref},
        # Not Database.traffic: what the payload says is enough, and it keeps the command
        # working on gateways that do not show traffic yet.
        selection="database { cluster namespace name phase } restore { id phase }",
        what=f"letting applications connect to {shown(ref)}",
    )

    def view(payload: dict[str, Any]) -> list[RenderableType]:
        if payload.get("userErrors") or not payload.get("database"):
            return []
        parts: list[RenderableType] = [Text(f"Applications can connect to {shown(ref)} again.")]
        restore = payload.get("restore")
        if restore:
            parts.append(Text(f"The restore waiting for it is now {restore['phase']}."))
        return parts

    code, _ = run_change(session, change, dry_run=dry_run, yes=yes, view=view)
    return code


def register(commands: Any) -> None:
    passthrough(commands, cli)
