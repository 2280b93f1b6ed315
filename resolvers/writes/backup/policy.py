"""Backup with a BackupPolicy: the gateway expands the BackupBlueprint itself into the
database's BackupConfiguration, with the choices the blueprint leaves open.

The configuration carries the blueprint as its invoker (the ``kubestash.com/invoker-*``
labels KubeStash puts on configurations it generates), so the read side shows it set
up via the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis import blueprints, objects
from apis.blueprints import BlueprintTemplate, SessionTemplate
from apis.resources import BACKUP_BLUEPRINTS
from resolvers.choices import namespace_default_retention, usage_allows
from resolvers.reads.methods import method_infos
from resolvers.writes.backup.common import (
    INVOKER_KIND,
    INVOKER_NAME,
    INVOKER_NAMESPACE,
)
from resolvers.writes.backup.inputs import BackupSetupInput
from resolvers.writes.backup.parts import (
    Context,
    Setup,
    addon_tasks,
    applied_name,
    chosen_retention,
    chosen_storage,
    configuration_change,
    encryption,
    kind_addon,
    same_cluster,
    valid_schedule,
    variables_given,
    with_manifest,
)
from resolvers.writes.plan import JSONDict

# Where each gateway-filled placeholder comes from in the input, for error paths.
_FIELDS = {
    blueprints.SCHEDULE: ("backup", "schedule"),
    blueprints.STORAGE: ("backup", "storage"),
    blueprints.STORAGE_NAMESPACE: ("backup", "storage"),
    blueprints.RETENTION: ("backup", "retentionPolicy"),
    blueprints.RETENTION_NAMESPACE: ("backup", "retentionPolicy"),
}


def serves(blueprint: Mapping[str, Any], kind: str, addon: str) -> bool:
    """Whether the blueprint serves the kind: its subjects; without subjects, every
    session's addon is the kind's (or the ``${addon}`` placeholder)."""
    subjects = {
        str(s.get("kind")).lower()
        for s in objects.mappings_at(blueprint, "spec", "subjects")
        if s.get("kind")
    }
    if subjects:
        return kind.lower() in subjects
    sessions = objects.mappings_at(blueprint, "spec", "backupConfigurationTemplate", "sessions")
    names = {objects.str_at(s, "addon", "name") for s in sessions}
    return bool(names) and all(
        n is not None
        and (n == addon or blueprints.ADDON in {p for p in blueprints.placeholders(n)})
        for n in names
    )


def _blueprint(ctx: Context, setup: BackupSetupInput, addon: str) -> JSONDict | None:
    ref = setup.policy
    assert ref is not None
    path = ("backup", "policy")
    if not same_cluster(ctx, ref, path):
        return None
    found = ctx.store.get(ctx.cluster, BACKUP_BLUEPRINTS, ref.namespace, ref.name)
    if found is None:
        ctx.plan.refuse(
            "NOT_FOUND",
            f"BackupPolicy {ref.namespace}/{ref.name} was not found; pick one of the "
            "database's availableBackupPolicies.",
            field=path,
        )
        return None
    if not usage_allows(ctx.store, cluster=ctx.cluster, obj=found, namespace=ctx.db.namespace):
        ctx.plan.refuse(
            "POLICY_NOT_ALLOWED",
            f"BackupPolicy {ref.namespace}/{ref.name} may not be used from namespace "
            f"{ctx.db.namespace}; pick one of the database's availableBackupPolicies.",
            field=path,
        )
        return None
    if not serves(found, ctx.db.kind, addon):
        ctx.plan.refuse(
            "POLICY_NOT_ALLOWED",
            f"BackupPolicy {ref.namespace}/{ref.name} does not back up {ctx.db.kind} "
            "databases; pick one that does.",
            field=path,
        )
        return None
    return found


def _sessions(
    ctx: Context, template: BlueprintTemplate, methods: list[str] | None
) -> list[SessionTemplate]:
    """The sessions that run: those with a chosen method (all of them by default)."""
    if methods is None:
        return list(template.sessions)
    offered = set(template.methods)
    lacking = [m for m in methods if m not in offered]
    if lacking:
        have = ", ".join(template.methods) or "none"
        ctx.plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"The policy offers no {', '.join(lacking)} backup (it offers {have}); "
            "choose among its methods.",
            field=("backup", "methods"),
        )
        return []
    return [s for s in template.sessions if set(s.methods) & set(methods)]


def _schedules(
    ctx: Context,
    setup: BackupSetupInput,
    template: BlueprintTemplate,
    chosen: list[SessionTemplate],
) -> dict[str, str | None]:
    """Each running session's ``${schedule}`` value (None: the policy's default)."""
    plan = ctx.plan
    names = {s.name for s in chosen}
    per_session: dict[str, str] = {}
    path = ("backup", "sessionSchedules")
    for entry in setup.session_schedules or ():
        session = template.session(entry.session)
        if session is None:
            known = ", ".join(s.name for s in template.sessions)
            plan.refuse(
                "INVALID_INPUT",
                f"The policy has no session {entry.session}; its sessions are {known}.",
                field=path,
            )
        elif entry.session in per_session:
            plan.refuse("INVALID_INPUT", f"Session {entry.session} is scheduled twice.", field=path)
        elif entry.session not in names:
            plan.refuse(
                "INVALID_INPUT",
                f"Session {entry.session} does not run with the chosen methods; choose one of "
                "its methods or leave its schedule out.",
                field=path,
            )
        elif not session.may_set_schedule:
            plan.refuse(
                "INVALID_SCHEDULE",
                f"The policy fixes the schedule of session {entry.session} "
                f"('{session.schedule}'); leave it out.",
                field=path,
            )
        elif valid_schedule(entry.schedule, path, plan):
            per_session[entry.session] = entry.schedule
    if setup.schedule is not None:
        if not any(s.may_set_schedule for s in chosen):
            plan.refuse(
                "INVALID_SCHEDULE",
                "The policy fixes the schedule of every session that runs; leave the schedule out.",
                field=("backup", "schedule"),
            )
        else:
            valid_schedule(setup.schedule, ("backup", "schedule"), plan)
    schedules: dict[str, str | None] = {}
    for session in chosen:
        value = per_session.get(session.name)
        if value is None and session.may_set_schedule:
            value = setup.schedule
        if value is None and session.may_set_schedule and session.schedule is None:
            plan.refuse(
                "INVALID_SCHEDULE",
                f"The policy has no default schedule for session {session.name}; give one.",
                field=("backup", "schedule"),
            )
        schedules[session.name] = value
    return schedules


def _choices(ctx: Context, setup: BackupSetupInput, template: BlueprintTemplate) -> dict[str, str]:
    """Values of the storage and retention placeholders, from the user's choices."""
    values: dict[str, str] = {}
    ref = setup.retention_policy
    if ref is not None:
        if template.retention is None or not template.retention.open:
            ctx.plan.refuse(
                "RETENTION_NOT_ALLOWED",
                "The policy does not let users choose the retention policy; leave it out.",
                field=("backup", "retentionPolicy"),
            )
        elif (found := chosen_retention(ctx, ref)) is not None:
            values[blueprints.RETENTION] = objects.name_of(found)
            values[blueprints.RETENTION_NAMESPACE] = objects.namespace_of(found) or ""
    elif template.retention is not None and template.retention.default is None:
        # An open choice without a default: the namespace's default, as choices shows.
        found = namespace_default_retention(
            ctx.store, cluster=ctx.cluster, namespace=ctx.db.namespace
        )
        if found is not None:
            values[blueprints.RETENTION] = objects.name_of(found)
            values[blueprints.RETENTION_NAMESPACE] = objects.namespace_of(found) or ""
    ref = setup.storage
    if ref is not None:
        if template.storage is None or not template.storage.open:
            ctx.plan.refuse(
                "CUSTOM_STORAGE_NOT_ALLOWED",
                "The policy keeps backups on its own storage; leave the storage out.",
                field=("backup", "storage"),
            )
        elif (found := chosen_storage(ctx, ref)) is not None:
            values[blueprints.STORAGE] = objects.name_of(found)
            values[blueprints.STORAGE_NAMESPACE] = objects.namespace_of(found) or ""
    return values


def _variables(
    ctx: Context, setup: BackupSetupInput, template: BlueprintTemplate
) -> dict[str, str]:
    given = variables_given(setup.variables, ctx.plan)
    if given is None:
        return {}
    path = ("backup", "variables")
    filled = sorted(n for n in given if n in blueprints.GATEWAY_FILLED)
    unknown = sorted(n for n in given if n not in template.variables and n not in filled)
    if filled:
        ctx.plan.refuse(
            "INVALID_INPUT",
            f"StashQL fills {', '.join(filled)} itself; leave them out of the variables.",
            field=path,
        )
    if unknown:
        known = ", ".join(template.variables) or "none"
        ctx.plan.refuse(
            "INVALID_INPUT",
            f"The policy has no variable {', '.join(unknown)} (its variables: {known}).",
            field=path,
        )
    return given


def _refuse_missing(ctx: Context, missing: dict[str, list[str]]) -> None:
    for name, sessions in missing.items():
        where = [s for s in sessions if s]
        if name in (blueprints.STORAGE, blueprints.STORAGE_NAMESPACE):
            message = "The policy names no storage; choose one of choices.ownStorages."
        elif name == blueprints.SCHEDULE:
            message = f"The policy has no default schedule for {', '.join(where)}; give one."
        else:
            message = f"The policy needs a value for variable {name}; give it in the variables."
        path = _FIELDS.get(name, ("backup", "variables"))
        if name == blueprints.SCHEDULE:
            ctx.plan.refuse("INVALID_SCHEDULE", message, field=path)
        else:
            ctx.plan.refuse("INVALID_INPUT", message, field=path)


def policy_setup(ctx: Context, setup: BackupSetupInput, methods: list[str] | None) -> Setup | None:
    addon = kind_addon(ctx)
    blueprint = _blueprint(ctx, setup, addon)
    if blueprint is None:
        return None
    template = blueprints.read_template(blueprint)
    chosen = _sessions(ctx, template, methods)
    if not chosen and not ctx.plan.refused:
        ctx.plan.refuse(
            "METHOD_NOT_AVAILABLE",
            "The policy has no backup session to run; ask its administrator to add one.",
            field=("backup", "policy"),
        )
    if ctx.plan.refused:
        return None
    schedules = _schedules(ctx, setup, template, chosen)
    values = {
        **_variables(ctx, setup, template),
        **_choices(ctx, setup, template),
        blueprints.ADDON: addon,
    }
    secret = encryption(ctx, setup.encryption) if setup.encryption is not None else None
    if ctx.plan.refused:
        return None
    expanded = blueprints.expand_configuration(
        blueprint, target=ctx.db.target, values=values, schedules=schedules
    )
    if expanded.missing:
        _refuse_missing(ctx, expanded.missing)
        return None
    offered = addon_tasks(ctx, addon)
    tasks: list[str] = []
    for session in expanded.spec["sessions"]:
        session_addon = session.setdefault("addon", {"name": addon})
        names = [t.get("name") for t in session_addon.get("tasks") or [] if isinstance(t, dict)]
        extra = [t for t in with_manifest([str(n) for n in names], offered) if t not in names]
        session_addon["tasks"] = [
            *(session_addon.get("tasks") or []),
            *({"name": t} for t in extra),
        ]
        tasks += [str(n) for n in names] + extra
        if secret is not None:
            # The user's own encryption replaces the policy's, for example with own storage.
            for repo in session.get("repositories") or []:
                repo["encryptionSecret"] = {"namespace": secret[0], "name": secret[1]}
    lacking = sorted({t for t in tasks if offered is not None and t not in offered})
    if lacking:
        ctx.plan.refuse(
            "METHOD_NOT_AVAILABLE",
            f"Addon {addon} has no {', '.join(lacking)} task for {ctx.db.kind}; choose "
            "methods whose sessions it can run.",
            field=("backup", "methods"),
        )
        return None
    ref = (objects.namespace_of(blueprint) or "", objects.name_of(blueprint))
    labels = {
        INVOKER_NAME: ref[1],
        INVOKER_NAMESPACE: ref[0],
        INVOKER_KIND: BACKUP_BLUEPRINTS.kind,
    }
    running = ", ".join(s["name"] for s in expanded.spec["sessions"])
    verb = "Create" if ctx.existing is None else "Replace"
    change = configuration_change(
        ctx,
        spec=expanded.spec,
        labels=labels,
        summary=f"{verb} BackupConfiguration {ctx.db.namespace}/{applied_name(ctx)} "
        f"from BackupPolicy {ref[0]}/{ref[1]}, running sessions {running}.",
    )
    ctx.plan.add(change)
    return Setup(methods=method_infos(tasks))
