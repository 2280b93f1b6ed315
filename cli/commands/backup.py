"""``stashql backup``: turn a database's backup on, change it, off, pause, resume, run now."""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType

from cli.client.app import Session, client_options, group, passthrough
from cli.client.changes import Change, dry_run_option, run_change, yes_option
from cli.client.lookup import locate_database
from cli.client.refs import object_ref, pairs
from cli.client.render import field, table

IMPACT = """impact { unavailableDuringSetup
  methods { method availabilityImpact mayRestartDatabase performanceImpact recoverability } }
configuration { namespace name phase paused }"""


@group("backup", short_help="backup of a database: enable, update, disable, pause, resume, trigger")
def cli() -> None:
    """Turn a database's backup on (with a policy and the choices it leaves), change it,
    turn it off, pause and resume it, or run it now."""


def database_options(f: Any) -> Any:
    for option in reversed(
        [
            click.argument("database"),
            click.option("-n", "--namespace", help="namespace, unless DATABASE is NAMESPACE/NAME"),
            click.option("--cluster", help="cluster; may be left out when the gateway has one"),
            click.option("--kind", help="KubeDB kind, e.g. Postgres"),
        ]
    ):
        f = option(f)
    return f


def setup_options(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--policy", help="BackupPolicy (NAME or NAMESPACE/NAME; see `policies`)"),
            click.option(
                "--method",
                "methods",
                multiple=True,
                help="LOGICAL, PHYSICAL, VOLUME_SNAPSHOT or CONTINUOUS (repeatable); "
                "default: what the policy offers",
            ),
            click.option("--archiver-policy", help="ArchiverPolicy, for CONTINUOUS"),
            click.option("--schedule", help="cron schedule of each session you may schedule"),
            click.option(
                "--session-schedule",
                "session_schedules",
                multiple=True,
                metavar="SESSION=CRON",
                help="schedule of one session (repeatable)",
            ),
            click.option("--retention-policy", help="one the policy lets you choose"),
            click.option("--storage", help="your own BackupStorage, where the policy allows it"),
            click.option(
                "--encryption-secret", help="Secret with RESTIC_PASSWORD (own storage, no policy)"
            ),
            click.option(
                "--var",
                "variables",
                multiple=True,
                metavar="NAME=VALUE",
                help="a value for one of the policy's placeholders (repeatable)",
            ),
        ]
    ):
        f = option(f)
    return f


def _database(session: Session, kw: dict[str, Any]) -> dict[str, Any]:
    return locate_database(
        session.client,
        object_ref(
            kw.pop("database"),
            namespace=kw.pop("namespace"),
            cluster=kw.pop("cluster"),
            kind=kw.pop("kind"),
        ),
    )


def _setup(db: dict[str, Any], kw: dict[str, Any]) -> dict[str, Any]:
    def ref(text: str | None, what: str) -> dict[str, Any] | None:
        if not text:
            return None
        return object_ref(text, namespace=db["namespace"], cluster=db.get("cluster"), what=what)

    setup: dict[str, Any] = {
        "policy": ref(kw.pop("policy"), "--policy"),
        "methods": [m.upper() for m in kw.pop("methods")] or None,
        "archiverPolicy": ref(kw.pop("archiver_policy"), "--archiver-policy"),
        "schedule": kw.pop("schedule"),
        "sessionSchedules": [
            {"session": s, "schedule": c}
            for s, c in pairs(kw.pop("session_schedules"), flag="--session-schedule").items()
        ]
        or None,
        "retentionPolicy": ref(kw.pop("retention_policy"), "--retention-policy"),
        "storage": ref(kw.pop("storage"), "--storage"),
        "variables": pairs(kw.pop("variables"), flag="--var") or None,
    }
    secret = kw.pop("encryption_secret")
    if secret:
        setup["encryption"] = {"secret": ref(secret, "--encryption-secret")}
    return {k: v for k, v in setup.items() if v is not None}


def impact_view(payload: dict[str, Any]) -> list[RenderableType]:
    impact = payload.get("impact")
    if not impact:
        return []
    title = "Impact" + (
        ": the database is unavailable for a while during setup"
        if impact["unavailableDuringSetup"]
        else ": the database stays available during setup"
    )
    return [
        table(
            impact["methods"],
            [
                ("METHOD", field("method")),
                ("AVAILABILITY", field("availabilityImpact")),
                ("MAY RESTART", field("mayRestartDatabase")),
                ("LOAD", field("performanceImpact")),
                ("RESTORES", field("recoverability")),
            ],
            title=title,
        )
    ]


def _run(session: Session, change: Change, *, dry_run: bool, yes: bool, view: Any = None) -> int:
    code, _ = run_change(
        session, change, dry_run=dry_run, yes=yes, **({"view": view} if view else {})
    )
    return code


@cli.command("enable", epilog=cli.epilog)
@database_options
@setup_options
@dry_run_option
@yes_option
@client_options
def enable(*, session: Session, dry_run: bool, yes: bool, **kw: Any) -> int:
    """Turn backup on for DATABASE; shows the plan and its impact (restarts, load) first."""
    db = _database(session, kw)
    change = Change(
        "enableBackup",
        "EnableBackupInput",
        {"database": db, "backup": _setup(db, kw)},
        selection=IMPACT,
        what="enabling backup",
    )
    return _run(session, change, dry_run=dry_run, yes=yes, view=impact_view)


@cli.command("update", epilog=cli.epilog)
@database_options
@setup_options
@dry_run_option
@yes_option
@client_options
def update(*, session: Session, dry_run: bool, yes: bool, **kw: Any) -> int:
    """Replace DATABASE's backup setup with the one given; snapshots taken are kept."""
    db = _database(session, kw)
    change = Change(
        "updateBackup",
        "UpdateBackupInput",
        {"database": db, "backup": _setup(db, kw)},
        selection=IMPACT,
        what="changing the backup",
    )
    return _run(session, change, dry_run=dry_run, yes=yes, view=impact_view)


@cli.command("disable", epilog=cli.epilog)
@database_options
@click.option(
    "--delete-snapshots",
    is_flag=True,
    help="also delete the repositories, snapshots and their data (cannot be undone)",
)
@dry_run_option
@yes_option
@client_options
def disable(
    *, session: Session, dry_run: bool, yes: bool, delete_snapshots: bool, **kw: Any
) -> int:
    """Turn DATABASE's backup off; its snapshots are kept (still restorable) unless
    --delete-snapshots."""
    change = Change(
        "disableBackup",
        "DisableBackupInput",
        {"database": _database(session, kw), "keepSnapshots": not delete_snapshots},
        destructive=delete_snapshots,
        what="deleting the backup data" if delete_snapshots else "disabling backup",
    )
    return _run(session, change, dry_run=dry_run, yes=yes)


def _simple(name: str, mutation: str, doc: str, what: str) -> None:
    @cli.command(name, epilog=cli.epilog, help=doc)
    @database_options
    @dry_run_option
    @yes_option
    @client_options
    def run(*, session: Session, dry_run: bool, yes: bool, **kw: Any) -> int:
        change = Change(
            mutation,
            mutation[0].upper() + mutation[1:] + "Input",
            {"database": _database(session, kw)},
            confirm=False,
            what=what,
        )
        return _run(session, change, dry_run=dry_run, yes=yes)


_simple(
    "pause", "pauseBackup", "Pause DATABASE's scheduled and continuous backups.", "pausing backups"
)
_simple(
    "resume",
    "resumeBackup",
    "Let DATABASE's paused backups run on schedule again.",
    "resuming backups",
)


@cli.command("trigger", epilog=cli.epilog)
@database_options
@click.option("--session", "sessions", multiple=True, help="only this session (repeatable)")
@dry_run_option
@yes_option
@client_options
def trigger(
    *, session: Session, dry_run: bool, yes: bool, sessions: tuple[str, ...], **kw: Any
) -> int:
    """Run DATABASE's backup now, outside its schedule."""
    change = Change(
        "triggerBackup",
        "TriggerBackupInput",
        {"database": _database(session, kw), "sessions": list(sessions) or None},
        selection="backupSessions { namespace name session phase }",
        confirm=False,
        what="running a backup now",
    )

    def view(payload: dict[str, Any]) -> list[RenderableType]:
        runs = payload.get("backupSessions") or []
        if not runs:
            return []
        return [
            table(
                runs,
                [
                    ("BACKUP SESSION", field("name")),
                    ("SESSION", field("session")),
                    ("PHASE", field("phase")),
                ],
            )
        ]

    return _run(session, change, dry_run=dry_run, yes=yes, view=view)


def register(commands: Any) -> None:
    passthrough(commands, cli)
