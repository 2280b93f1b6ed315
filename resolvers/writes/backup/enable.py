"""enableBackup and updateBackup: set a database's backup up, or replace its setup whole.

Both expand the same BackupSetupInput (``setup.py``). updateBackup keeps the snapshots
taken: switching between a configuration and continuous backup deletes the gateway's
configuration (its repositories stay) or pauses the archiver (its data stays).
"""

from __future__ import annotations

from datetime import datetime

from apis import objects
from apis.resources import BACKUP_CONFIGURATIONS
from resolvers.writes.backup.common import (
    ArchiverState,
    Database,
    PlanWithImpact,
    archiver_state,
    configurations_of,
    database_patch,
    find_database,
    impact_of,
    own_configuration,
    ref_text,
)
from resolvers.writes.backup.inputs import EnableBackupInput, UpdateBackupInput
from resolvers.writes.backup.parts import Context, Setup
from resolvers.writes.backup.setup import plan_setup
from resolvers.writes.plan import Change, Plan, Store


def _warn(plan: Plan, db: Database, setup: Setup, *, new: bool) -> None:
    if any(m.text.may_restart_database for m in setup.methods):
        plan.warn(
            "DATABASE_UNAVAILABLE_DURING_SETUP",
            f"Turning on continuous backup may restart the pods of {db.label} once, so it "
            "is unavailable for a while.",
        )
    if new:
        plan.warn(
            "INITIAL_BACKUP_STARTS",
            f"A first backup of {db.label} starts as soon as the setup is ready, and loads "
            "the database while it runs.",
        )


def _refused(result: PlanWithImpact) -> PlanWithImpact:
    # A refused plan changes nothing: drop what was planned before the refusal.
    result.plan.changes.clear()
    result.impact = None
    return result


def plan_enable_backup(
    inp: EnableBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    del now  # every enableBackup plans the same whenever it runs
    result = PlanWithImpact()
    plan = result.plan
    db = find_database(store, cluster=cluster, ref=inp.database, plan=plan)
    if db is None:
        return result
    configs = configurations_of(store, cluster=cluster, db=db)
    state = archiver_state(db)
    if configs:
        names = ", ".join(objects.name_of(bc) for bc in configs)
        plan.refuse(
            "BACKUP_ALREADY_ENABLED",
            f"Backup is already set up for {db.label} (BackupConfiguration {names}); use "
            "updateBackup to change it.",
            field=("database",),
        )
        return result
    if state.active and state.ref is not None:
        plan.refuse(
            "BACKUP_ALREADY_ENABLED",
            f"{db.label} already has continuous backup through {ref_text(state.ref)}; use "
            "updateBackup to change it.",
            field=("database",),
        )
        return result
    setup = plan_setup(Context(store=store, cluster=cluster, db=db, plan=plan), inp.backup)
    if setup is None or plan.refused:
        return _refused(result)
    result.impact = impact_of(setup.methods)
    _warn(plan, db, setup, new=True)
    return result


def _switch_off_previous(
    plan: Plan,
    *,
    cluster: str,
    db: Database,
    setup: Setup,
    own: dict[str, object] | None,
    state: ArchiverState,
) -> None:
    if setup.continuous and own is not None:
        name = objects.name_of(own)
        plan.add(
            Change(
                action="DELETE",
                cluster=cluster,
                resource=BACKUP_CONFIGURATIONS,
                namespace=db.namespace,
                name=name,
                summary=f"Delete BackupConfiguration {db.namespace}/{name}; its repositories "
                "and snapshots are kept.",
                body=dict(own),
            )
        )
    if not setup.continuous and state.active and state.ref is not None:
        plan.add(
            Change(
                action="PATCH",
                cluster=cluster,
                resource=db.resource,
                namespace=db.namespace,
                name=db.name,
                summary=f"Pause continuous backup of {db.label} through "
                f"{ref_text(state.ref)}; its backups are kept.",
                body=database_patch(
                    db, {"ref": {"namespace": state.ref[0], "name": state.ref[1]}, "pause": True}
                ),
            )
        )


def plan_update_backup(
    inp: UpdateBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    del now
    result = PlanWithImpact()
    plan = result.plan
    db = find_database(store, cluster=cluster, ref=inp.database, plan=plan)
    if db is None:
        return result
    own = own_configuration(configurations_of(store, cluster=cluster, db=db), db)
    state = archiver_state(db)
    if own is None and state.ref is None:
        plan.refuse(
            "BACKUP_NOT_ENABLED",
            f"Backup is not set up for {db.label}; use enableBackup.",
            field=("database",),
        )
        return result
    ctx = Context(store=store, cluster=cluster, db=db, plan=plan, existing=own)
    setup = plan_setup(ctx, inp.backup)
    if setup is None or plan.refused:
        return _refused(result)
    _switch_off_previous(plan, cluster=cluster, db=db, setup=setup, own=own, state=state)
    result.impact = impact_of(setup.methods)
    new = (own is None) if not setup.continuous else not state.active
    _warn(plan, db, setup, new=new)
    return result
