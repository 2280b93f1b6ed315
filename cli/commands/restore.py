"""``stashql restore``: a backup into a running database, into a new one, or to a point in
time; ``--wait`` follows the restore step by step."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import click
from rich.console import RenderableType
from rich.text import Text

from cli.client.app import Session, client_options, command, passthrough
from cli.client.changes import Change, dry_run_option, run_change, yes_option
from cli.client.exits import CliError, Exit
from cli.client.lookup import locate_database
from cli.client.progress import Progress
from cli.client.refs import object_ref, shown
from cli.client.render import field, table
from cli.client.waiting import wait_database, wait_restore, with_timeout

INTO_RUNNING = """restore { id phase currentStep { kind state message } steps { kind state } }
restoreSession { namespace name phase }
database { cluster namespace name kind phase }"""

INTO_NEW = """database { cluster namespace name kind version phase }
restoreSession { namespace name phase }"""


def _source(
    *,
    snapshot: str | None,
    latest: bool,
    source: str | None,
    method: str | None,
    time: datetime | None,
    namespace: str | None,
    cluster: str | None,
    into: dict[str, Any] | None,
) -> dict[str, Any]:
    given = [bool(snapshot), latest, time is not None]
    if sum(given) != 1:
        raise CliError("give exactly one of --snapshot, --latest or --time", Exit.USAGE)
    if snapshot:
        ref = object_ref(snapshot, namespace=namespace, cluster=cluster, what="--snapshot")
        return {"snapshot": ref}
    src = (
        object_ref(source, namespace=namespace, cluster=cluster, what="--from") if source else None
    )
    if time is not None:
        if src is None:
            raise CliError("--time needs --from DATABASE (the source)", Exit.USAGE)
        when = time if time.tzinfo else time.astimezone()
        return {"pointInTime": {"database": src, "time": when.isoformat()}}
    if src is None and into is None:
        raise CliError("--latest into a new database needs --from DATABASE", Exit.USAGE)
    latest_input: dict[str, Any] = {"database": src} if src else {}
    if method:
        latest_input["method"] = method.upper()
    return {"latest": latest_input}


@command("restore", short_help="restore a backup into a running or a new database")
@click.option("--database", help="restore INTO this running database (NAME or NAMESPACE/NAME)")
@click.option("--new-name", help="restore into a NEW database of this name")
@click.option("--new-namespace", help="namespace of the new database (default: --namespace)")
@click.option("--new-cluster", help="cluster of the new database (default: the source's)")
@click.option("--storage-size", help="new database: storage size, e.g. 20Gi")
@click.option("--storage-class", help="new database: StorageClass")
@click.option("--version", "version", help="new database: catalog version instead of the saved one")
@click.option("--snapshot", help="source: this snapshot (NAME or NAMESPACE/NAME)")
@click.option("--latest", is_flag=True, help="source: the newest restorable snapshot")
@click.option("--from", "source", help="with --latest or --time: the source database")
@click.option("--method", help="with --latest: only snapshots taken with this method")
@click.option(
    "--time",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    help="source: this point in time of --from (continuous backup; new database only)",
)
@click.option("-n", "--namespace", help="namespace of names given without one")
@click.option("--cluster", help="cluster of the source and of --database")
@click.option(
    "--no-pause-traffic",
    is_flag=True,
    help="running database: let applications keep connecting (needs --resume automatic)",
)
@click.option(
    "--resume",
    "resume",
    type=click.Choice(["automatic", "after-checks", "manual"]),
    default="automatic",
    show_default=True,
    help="running database: when traffic resumes (manual: on `stashql resume`)",
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    metavar="HOOK",
    help="running database: a HookTemplate to run after the data is restored",
)
@click.option("--wait", is_flag=True, help="follow the restore until it ends")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=600.0,
    show_default=True,
    help="seconds, with --wait",
)
@dry_run_option
@yes_option
@client_options
def cli(*, session: Session, dry_run: bool, yes: bool, **kw: Any) -> int:
    """Restore a backup: into the running database --database (its data is replaced;
    applications are kept out meanwhile), or into a new database --new-name (possibly in
    another namespace or cluster). The source is --snapshot, --latest or a point in time
    (--time with --from)."""
    ns, cluster = kw["namespace"], kw["cluster"]
    if bool(kw["database"]) == bool(kw["new_name"]):
        raise CliError("give --database (restore into it) or --new-name (a new one)", Exit.USAGE)
    into = (
        object_ref(kw["database"], namespace=ns, cluster=cluster, what="--database")
        if kw["database"]
        else None
    )
    source = _source(
        snapshot=kw["snapshot"],
        latest=kw["latest"],
        source=kw["source"],
        method=kw["method"],
        time=kw["time"],
        namespace=ns,
        cluster=cluster,
        into=into,
    )
    # Only once the flags are known to be right: looking up asks the gateway.
    if into is not None:
        into = locate_database(session.client, into)
    for kind in ("latest", "pointInTime"):
        if (source.get(kind) or {}).get("database"):
            source[kind]["database"] = locate_database(session.client, source[kind]["database"])
    if into is not None:
        change = Change(
            "restoreDatabase",
            "RestoreDatabaseInput",
            {
                "database": into,
                "source": source,
                "pauseTraffic": not kw["no_pause_traffic"],
                "resume": kw["resume"].upper().replace("-", "_"),
                "checks": [
                    {"hookTemplate": object_ref(c, namespace=into["namespace"], what="--check")}
                    for c in kw["checks"]
                ]
                or None,
            },
            selection=INTO_RUNNING,
            destructive=True,
            what=f"replacing the data of {shown(into)}",
        )
    else:
        new_ns = kw["new_namespace"] or ns
        if not new_ns:
            raise CliError("give --new-namespace (or --namespace) for the new database", Exit.USAGE)
        inputs = {
            "source": source,
            "namespace": new_ns,
            "name": kw["new_name"],
            "cluster": kw["new_cluster"],
            "storageSize": kw["storage_size"],
            "storageClass": kw["storage_class"],
            "version": kw["version"],
        }
        change = Change(
            "restoreToNewDatabase",
            "RestoreToNewDatabaseInput",
            {k: v for k, v in inputs.items() if v is not None},
            selection=INTO_NEW,
            what=f"creating {new_ns}/{kw['new_name']} from a backup",
        )
    code, payload = run_change(session, change, dry_run=dry_run, yes=yes, view=_view)
    if code or payload is None or not kw["wait"]:
        return code
    return _follow(session, payload, into=into, timeout=kw["timeout"])


def _view(payload: dict[str, Any]) -> list[RenderableType]:
    parts: list[RenderableType] = []
    workflow = payload.get("restore")
    if workflow:
        parts.append(
            table(
                workflow.get("steps") or [],
                [("STEP", field("kind")), ("STATE", field("state"))],
                title=f"Restore {workflow['phase']}",
            )
        )
    db = payload.get("database")
    if db:
        parts.append(Text(f"Database {db['namespace']}/{db['name']}: {db['phase']}"))
    return parts


def _follow(
    session: Session, payload: dict[str, Any], *, into: dict[str, Any] | None, timeout: float
) -> int:
    client = session.client
    db = payload.get("database") or {}

    async def go() -> int:
        if into is not None:
            workflow = payload.get("restore") or {}
            ref = {**into, "cluster": db.get("cluster") or into.get("cluster")}
            with Progress(
                session.err, title=f"restoring {shown(ref)}", live=session.err.is_terminal
            ) as progress:
                done = await with_timeout(
                    wait_restore(client, ref, str(workflow.get("id")), progress=progress),
                    timeout=timeout,
                    progress=progress,
                )
            if done.get("phase") == "AWAITING_RESUME":
                session.err.print(
                    f"Data restored; applications connect again after `stashql resume "
                    f"{ref['namespace']}/{ref['name']}`.",
                    markup=False,
                )
            return 0
        ref = {k: db[k] for k in ("cluster", "namespace", "name", "kind") if db.get(k)}
        with Progress(
            session.err, title=f"restoring into new {shown(ref)}", live=session.err.is_terminal
        ) as progress:
            await with_timeout(
                wait_database(client, ref, target="ready", progress=progress),
                timeout=timeout,
                progress=progress,
            )
        return 0

    return asyncio.run(go())


def register(commands: Any) -> None:
    passthrough(commands, cli)
