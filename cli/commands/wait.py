"""``stashql wait``: until a database is READY, or set up with its backup."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from cli.client.app import Session, client_options, command, passthrough
from cli.client.progress import Progress
from cli.client.refs import object_ref, shown
from cli.client.render import emit, field, table
from cli.client.waiting import Target, wait_database, with_timeout


@command("wait", short_help="wait until a database is ready, or its setup (with backup) is")
@click.argument("database")
@click.option("-n", "--namespace", help="namespace, unless DATABASE is NAMESPACE/NAME")
@click.option("--cluster", help="cluster; any that has it if left out")
@click.option("--kind", help="KubeDB kind, e.g. Postgres")
@click.option(
    "--for",
    "target",
    type=click.Choice(["ready", "setup"]),
    default="ready",
    show_default=True,
    help="ready: phase READY; setup: setupStatus READY (the database and its backup), "
    "failing on FAILED",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True, help="seconds"
)
@client_options
def cli(
    *,
    session: Session,
    database: str,
    namespace: str | None,
    cluster: str | None,
    kind: str | None,
    target: Target,
    timeout: float,
) -> int:
    """Wait until DATABASE (NAME or NAMESPACE/NAME) is READY (--for ready) or its setup,
    backup included, is READY (--for setup). It may not exist yet: the wait covers its
    creation."""
    ref = object_ref(database, namespace=namespace, cluster=cluster, kind=kind)
    found = run_wait(session, ref, target=target, timeout=timeout)
    emit(
        session.out,
        {"database": found},
        session.output,
        lambda d: [
            table(
                [d["database"]],
                [
                    ("CLUSTER", field("cluster")),
                    ("NAMESPACE", field("namespace")),
                    ("NAME", field("name")),
                    ("KIND", field("kind")),
                    ("PHASE", field("phase")),
                    ("SETUP", field("setupStatus", "state")),
                ],
            )
        ],
    )
    return 0


def run_wait(
    session: Session, ref: dict[str, Any], *, target: Target, timeout: float
) -> dict[str, Any]:
    title = f"waiting for {shown(ref)} to be {'set up' if target == 'setup' else 'ready'}"
    client = session.client

    async def go() -> dict[str, Any]:
        with Progress(session.err, title=title, live=session.err.is_terminal) as progress:
            return await with_timeout(
                wait_database(client, ref, target=target, progress=progress),
                timeout=timeout,
                progress=progress,
            )

    return asyncio.run(go())


def register(commands: Any) -> None:
    passthrough(commands, cli)
