"""disableBackup, pauseBackup and resumeBackup.

disableBackup deletes the database's BackupConfigurations (not the one KubeDB made for
its archiver) and, with ``keepSnapshots: false``, their Repositories; a Repository's
``deletionPolicy`` decides whether its data goes too (WipeOut) or stays in the storage.
Continuous backup is turned off with ``spec.archiver.pause: true``, keeping the ref, so
KubeDB's implicit archiver choice never takes the database up again.

pauseBackup and resumeBackup set ``spec.paused`` on those configurations and
``spec.archiver.pause`` on the database; what is already as asked is planned NONE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from apis import objects
from apis.resources import BACKUP_CONFIGURATIONS, REPOSITORIES
from resolvers.writes.backup.common import (
    Database,
    PlanWithImpact,
    archiver_made,
    archiver_state,
    configurations_of,
    database_patch,
    find_database,
    ref_text,
    whole_body,
)
from resolvers.writes.backup.inputs import (
    DisableBackupInput,
    ObjectRefInput,
    PauseBackupInput,
    ResumeBackupInput,
)
from resolvers.writes.plan import Change, JSONDict, Plan, Store


def _setup(
    store: Store, cluster: str, ref: ObjectRefInput, plan: Plan
) -> tuple[Database, list[JSONDict], list[JSONDict]] | None:
    """The database, its user-managed configurations and the archiver's; None if refused."""
    db = find_database(store, cluster=cluster, ref=ref, plan=plan)
    if db is None:
        return None
    configs = configurations_of(store, cluster=cluster, db=db)
    own = [bc for bc in configs if not archiver_made(bc, db)]
    made = [bc for bc in configs if archiver_made(bc, db)]
    if not own and archiver_state(db).ref is None:
        plan.refuse(
            "BACKUP_NOT_ENABLED",
            f"Backup is not set up for {db.label}; there is nothing to change.",
            field=("database",),
        )
        return None
    return db, own, made


def _repository_names(configs: list[JSONDict]) -> list[str]:
    names: dict[str, None] = {}
    for bc in configs:
        for session in objects.mappings_at(bc, "spec", "sessions"):
            for repo in objects.mappings_at(session, "repositories"):
                if name := objects.str_at(repo, "name"):
                    names.setdefault(name, None)
    return list(names)


def _archiver_patch(db: Database, *, pause: bool, cluster: str) -> Change | None:
    state = archiver_state(db)
    if state.ref is None:
        return None
    what = f"continuous backup of {db.label} through {ref_text(state.ref)}"
    if state.paused == pause:
        return Change(
            action="NONE",
            cluster=cluster,
            resource=db.resource,
            namespace=db.namespace,
            name=db.name,
            summary=f"Leave {what} {'paused' if pause else 'running'}, as it already is.",
        )
    ref = {"namespace": state.ref[0], "name": state.ref[1]}
    return Change(
        action="PATCH",
        cluster=cluster,
        resource=db.resource,
        namespace=db.namespace,
        name=db.name,
        summary=f"{'Pause' if pause else 'Resume'} {what}.",
        body=database_patch(db, {"ref": ref, "pause": pause}),
    )


def plan_disable_backup(
    inp: DisableBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    del now
    result = PlanWithImpact()
    plan = result.plan
    found = _setup(store, cluster, inp.database, plan)
    if found is None:
        return result
    db, own, made = found
    for bc in own:
        name = objects.name_of(bc)
        plan.add(
            Change(
                action="DELETE",
                cluster=cluster,
                resource=BACKUP_CONFIGURATIONS,
                namespace=db.namespace,
                name=name,
                summary=f"Delete BackupConfiguration {db.namespace}/{name}, so scheduled "
                f"backups of {db.label} stop.",
                body=bc,
            )
        )
    archiver = _archiver_patch(db, pause=True, cluster=cluster)
    if archiver is not None:
        plan.add(archiver)
    repos = [
        repo
        for name in _repository_names(own + (made if archiver is not None else []))
        if (repo := store.get(cluster, REPOSITORIES, db.namespace, name)) is not None
    ]
    if inp.keep_snapshots:
        if repos:
            plan.warn(
                "SNAPSHOTS_KEPT",
                f"Repositories {_names(repos)} and their snapshots are kept and take space; "
                "with backup off no retention policy removes them.",
            )
        return result
    wiped = [r for r in repos if objects.str_at(r, "spec", "deletionPolicy") == "WipeOut"]
    for repo in repos:
        name = objects.name_of(repo)
        data = " and its backup data" if repo in wiped else "; its data stays in the storage"
        plan.add(
            Change(
                action="DELETE",
                cluster=cluster,
                resource=REPOSITORIES,
                namespace=db.namespace,
                name=name,
                summary=f"Delete Repository {db.namespace}/{name}{data}.",
                body=repo,
            )
        )
    if wiped:
        plan.warn(
            "BACKUP_DATA_DELETED",
            f"The backup data of repositories {_names(wiped)} is deleted from the storage "
            "and can no longer be restored.",
        )
    kept = [r for r in repos if r not in wiped]
    if kept:
        plan.warn(
            "SNAPSHOTS_KEPT",
            f"Repositories {_names(kept)} are deleted but their deletion policy keeps the "
            "backup data in the storage; no retention policy removes it.",
        )
    return result


def _names(repos: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(objects.name_of(r) for r in repos)


def _set_paused(ref: ObjectRefInput, *, store: Store, cluster: str, pause: bool) -> PlanWithImpact:
    result = PlanWithImpact()
    plan = result.plan
    found = _setup(store, cluster, ref, plan)
    if found is None:
        return result
    db, own, _made = found
    for bc in own:
        name = objects.name_of(bc)
        spec = dict(objects.mapping_at(bc, "spec"))
        if bool(spec.get("paused")) == pause:
            plan.add(
                Change(
                    action="NONE",
                    cluster=cluster,
                    resource=BACKUP_CONFIGURATIONS,
                    namespace=db.namespace,
                    name=name,
                    summary=f"Leave BackupConfiguration {db.namespace}/{name} "
                    f"{'paused' if pause else 'running'}, as it already is.",
                )
            )
            continue
        spec["paused"] = pause
        plan.add(
            Change(
                action="PATCH",
                cluster=cluster,
                resource=BACKUP_CONFIGURATIONS,
                namespace=db.namespace,
                name=name,
                summary=(
                    f"Pause BackupConfiguration {db.namespace}/{name}: no scheduled backup of "
                    f"{db.label} runs until resumeBackup."
                    if pause
                    else f"Resume BackupConfiguration {db.namespace}/{name}: backups of "
                    f"{db.label} run on schedule again."
                ),
                body=whole_body(bc, spec=spec),
            )
        )
    archiver = _archiver_patch(db, pause=pause, cluster=cluster)
    if archiver is not None:
        plan.add(archiver)
    return result


def plan_pause_backup(
    inp: PauseBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    del now
    return _set_paused(inp.database, store=store, cluster=cluster, pause=True)


def plan_resume_backup(
    inp: ResumeBackupInput, *, store: Store, cluster: str, now: datetime
) -> PlanWithImpact:
    del now
    return _set_paused(inp.database, store=store, cluster=cluster, pause=False)
