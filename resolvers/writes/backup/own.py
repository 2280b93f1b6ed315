"""Backup without a policy: the user's own BackupStorage and encryption, one
``full-backup`` session running the chosen methods (LOGICAL by default) and the
manifest backup, repository ``<db>-backup`` in directory ``/<namespace>/<db>``."""

from __future__ import annotations

from apis import objects
from apis.blueprints import METHOD_TASKS
from resolvers.choices import namespace_default_retention
from resolvers.reads.methods import method_infos
from resolvers.writes.backup.common import configuration_name
from resolvers.writes.backup.inputs import BackupSetupInput
from resolvers.writes.backup.parts import (
    BACKEND,
    OWN_SESSION,
    Context,
    Setup,
    addon_tasks,
    applied_name,
    chosen_retention,
    chosen_storage,
    configuration_change,
    encryption,
    kind_addon,
    valid_schedule,
    with_manifest,
)
from resolvers.writes.plan import JSONDict


def own_setup(ctx: Context, setup: BackupSetupInput, methods: list[str] | None) -> Setup | None:
    """No policy: the user's own storage, one ``full-backup`` session running the methods."""
    plan = ctx.plan
    if setup.variables:
        plan.refuse(
            "INVALID_INPUT",
            "Variables fill a BackupPolicy's placeholders; without a policy there are none.",
            field=("backup", "variables"),
        )
    schedule = setup.schedule
    path = ("backup", "schedule")
    for entry in setup.session_schedules or ():
        if entry.session != OWN_SESSION:
            plan.refuse(
                "INVALID_INPUT",
                f"Without a policy the only session is {OWN_SESSION}; there is no session "
                f"{entry.session}.",
                field=("backup", "sessionSchedules"),
            )
        else:
            schedule, path = entry.schedule, ("backup", "sessionSchedules")
    if schedule is None:
        plan.refuse(
            "INVALID_SCHEDULE",
            "Without a policy a schedule is needed; give a cron schedule such as '0 2 * * *'.",
            field=("backup", "schedule"),
        )
    elif not valid_schedule(schedule, path, plan):
        schedule = None
    storage = None
    if setup.storage is None:
        plan.refuse(
            "INVALID_INPUT",
            "Without a policy, name your own BackupStorage, or choose a BackupPolicy.",
            field=("backup", "storage"),
        )
    else:
        storage = chosen_storage(ctx, setup.storage)
    if setup.retention_policy is not None:
        retention = chosen_retention(ctx, setup.retention_policy)
    else:
        retention = namespace_default_retention(
            ctx.store, cluster=ctx.cluster, namespace=ctx.db.namespace
        )
    secret = encryption(ctx, setup.encryption)
    if setup.encryption is None and secret is None:
        plan.refuse(
            "INVALID_INPUT",
            "With your own storage, give the encryption: an existing Secret or a password.",
            field=("backup", "encryption"),
        )
    addon = kind_addon(ctx)
    offered = addon_tasks(ctx, addon)
    wanted = [METHOD_TASKS[m] for m in (methods or ["LOGICAL"])]
    lacking = [t for t in wanted if offered is not None and t not in offered]
    if lacking:
        plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"Addon {addon} has no {', '.join(lacking)} task for {ctx.db.kind}; choose among "
            "the methods it offers.",
            field=("backup", "methods"),
        )
    if plan.refused or storage is None or secret is None or schedule is None:
        return None
    backend: JSONDict = {
        "name": BACKEND,
        "storageRef": {
            "namespace": objects.namespace_of(storage),
            "name": objects.name_of(storage),
        },
    }
    if retention is not None:
        backend["retentionPolicy"] = {
            "namespace": objects.namespace_of(retention),
            "name": objects.name_of(retention),
        }
    tasks = with_manifest(wanted, offered)
    db = ctx.db
    session = {
        "name": OWN_SESSION,
        "scheduler": {"schedule": schedule, "jobTemplate": {}},
        "sessionHistoryLimit": 3,
        "repositories": [
            {
                "name": configuration_name(db),
                "backend": BACKEND,
                "directory": f"/{db.namespace}/{db.name}",
                "encryptionSecret": {"namespace": secret[0], "name": secret[1]},
            }
        ],
        "addon": {"name": addon, "tasks": [{"name": t} for t in tasks]},
    }
    spec = {"target": db.target.as_ref(), "backends": [backend], "sessions": [session]}
    where = f"{objects.namespace_of(storage)}/{objects.name_of(storage)}"
    verb = "Create" if ctx.existing is None else "Replace"
    change = configuration_change(
        ctx,
        spec=spec,
        labels={},
        summary=f"{verb} BackupConfiguration {db.namespace}/{applied_name(ctx)}: "
        f"{', '.join(tasks)} on schedule '{schedule}' to BackupStorage {where}.",
    )
    plan.add(change)
    return Setup(methods=method_infos(tasks))
