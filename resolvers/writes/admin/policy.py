"""createBackupPolicy / updateBackupPolicy: a BackupPolicy is a KubeStash
BackupBlueprint, encoded as ``shared/policy-encoding.md`` says (the gateway expands it
itself into BackupConfigurations at enableBackup).

Every session gets the ``manifest-backup`` task besides the tasks of its methods, and
the addon is the placeholder ``${addon}``, filled per database with its kind's addon.
A method is available when the addon of every kind the policy serves has its task
(METHOD_NOT_AVAILABLE otherwise), read from the Addon objects in the cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from apis import objects
from apis.resources import (
    BACKUP_BLUEPRINTS,
    BACKUP_CONFIGURATIONS,
    BACKUP_STORAGES,
    DATABASE_KINDS,
    KUBEDB,
)
from resolvers.reads.methods import LOGICAL, PHYSICAL, VOLUME_SNAPSHOT
from resolvers.writes.admin.common import (
    body,
    check_absent,
    check_name,
    check_place,
    check_schedule,
    encryption_ref,
    is_placeholder,
    kind_addon_tasks,
    lookup,
    names,
    placeholder_default,
    ref_text,
    retention_choice,
    unchanged,
    update_body,
)
from resolvers.writes.admin.inputs import (
    BackupPolicySession,
    CreateBackupPolicy,
    UpdateBackupPolicy,
)
from resolvers.writes.admin.usage import usage_policy, usage_text
from resolvers.writes.plan import Change, JSONDict, Plan, Store

MANIFEST_TASK = "manifest-backup"
BACKEND = "default"
INVOKER_NAME = "kubestash.com/invoker-name"
INVOKER_NAMESPACE = "kubestash.com/invoker-namespace"
# The task of each method a policy session may take (the addons' generic task names,
# whose methods ``apis.objects.method_for_task`` gives).
METHOD_TASKS: dict[str, str] = {
    method: task
    for task in ("logical-backup", "physical-backup", "volume-snapshot")
    if (method := objects.method_for_task(task))
}
SESSION_METHODS = (LOGICAL, PHYSICAL, VOLUME_SNAPSHOT)


def encryption_secret_name(policy: str) -> str:
    return f"{policy}-encryption"


def _canonical_kind(kind: str) -> str:
    known = next((d.kind for d in DATABASE_KINDS if d.kind.lower() == kind.lower()), None)
    return known or kind


def _check_kinds(plan: Plan, kinds: Sequence[str], *, field: str) -> list[str] | None:
    canonical = [_canonical_kind(k) for k in kinds]
    if not canonical:
        plan.refuse(
            "INVALID_INPUT",
            "databaseKinds is empty; name at least one KubeDB kind, for example Postgres.",
            field=(field,),
        )
        return None
    for i, kind in enumerate(canonical):
        if not kind or not kind[0].isupper() or not kind.isalnum():
            plan.refuse(
                "INVALID_INPUT",
                f"databaseKinds.{i} {kind!r} is not a KubeDB kind; use names such as "
                "Postgres or MongoDB.",
                field=(field, str(i)),
            )
            return None
    return list(dict.fromkeys(canonical))


def _check_sessions(plan: Plan, sessions: Sequence[BackupPolicySession]) -> bool:
    if not sessions:
        plan.refuse(
            "INVALID_INPUT",
            "sessions is empty; a policy needs at least one session.",
            field=("sessions",),
        )
        return False
    ok = True
    seen: set[str] = set()
    for i, s in enumerate(sessions):
        at = ("sessions", str(i))
        ok = check_name(plan, s.name, field=(*at, "name"), label=True) and ok
        if s.name in seen:
            plan.refuse(
                "INVALID_INPUT",
                f"Two sessions are called {s.name}; give each its own name.",
                field=(*at, "name"),
            )
            ok = False
        seen.add(s.name)
        ok = check_schedule(plan, s.schedule, field=(*at, "schedule")) and ok
        if not s.methods:
            plan.refuse(
                "INVALID_INPUT",
                f"Session {s.name} has no methods; give at least one.",
                field=(*at, "methods"),
            )
            ok = False
        for j, method in enumerate(s.methods):
            if method not in SESSION_METHODS:
                hint = (
                    "continuous backup is an ArchiverPolicy"
                    if method == "CONTINUOUS"
                    else "the manifest is backed up in every session already"
                    if method == "MANIFEST"
                    else "it is not a backup method"
                )
                plan.refuse(
                    "METHOD_NOT_AVAILABLE",
                    f"Session {s.name} cannot take {method}: {hint}. Use LOGICAL, PHYSICAL "
                    "or VOLUME_SNAPSHOT.",
                    field=(*at, "methods", str(j)),
                )
                ok = False
    return ok


def _check_methods(
    plan: Plan,
    store: Store,
    *,
    cluster: str,
    kinds: Sequence[str],
    sessions: Sequence[Any],
    sessions_given: bool = True,
) -> bool:
    """Every kind's addon has the tasks of every session (and manifest-backup). When the
    sessions are the policy's current ones, the kinds are at fault."""
    ok = True
    for kind in kinds:
        addons, tasks = kind_addon_tasks(store, cluster, kind)
        if not addons:
            plan.refuse(
                "METHOD_NOT_AVAILABLE",
                f"Cluster {cluster} has no KubeStash addon for {kind} (looked for "
                f"{kind.lower()}-addon and the addon its catalog names); install the KubeDB "
                "KubeStash catalog or leave the kind out.",
                field=("databaseKinds",),
            )
            ok = False
            continue
        for i, (name, methods) in enumerate(sessions):
            for j, method in enumerate(methods):
                task = METHOD_TASKS.get(method)
                if task is not None and task not in tasks:
                    plan.refuse(
                        "METHOD_NOT_AVAILABLE",
                        f"{names(addons)} offers no {task} task, so session {name} cannot "
                        f"take {method} for {kind}; choose another method or leave {kind} out.",
                        field=("sessions", str(i), "methods", str(j))
                        if sessions_given
                        else ("databaseKinds",),
                    )
                    ok = False
        if MANIFEST_TASK not in tasks:
            plan.refuse(
                "METHOD_NOT_AVAILABLE",
                f"{names(addons)} offers no {MANIFEST_TASK} task, which every policy "
                f"session runs; {kind} cannot be served by a BackupPolicy in this cluster.",
                field=("databaseKinds",),
            )
            ok = False
    return ok


def _session(s: BackupPolicySession, secret: Mapping[str, str] | None, backend: str) -> JSONDict:
    schedule = f"${{schedule:={s.schedule}}}" if s.user_may_set_schedule else s.schedule
    repository: JSONDict = {
        "name": f"${{targetName}}-{s.name}",
        "backend": backend,
        "directory": f"/${{targetNamespace}}/${{targetName}}/{s.name}",
    }
    if secret is not None:
        repository["encryptionSecret"] = dict(secret)
    tasks = [{"name": METHOD_TASKS[m]} for m in dict.fromkeys(s.methods)]
    return {
        "name": s.name,
        "scheduler": {"schedule": schedule, "jobTemplate": {}},
        "sessionHistoryLimit": 3,
        "repositories": [repository],
        "addon": {"name": "${addon}", "tasks": [*tasks, {"name": MANIFEST_TASK}]},
    }


def _ref(namespace: str, name: str, *, open_as: str | None) -> JSONDict:
    """A backend reference; ``open_as`` makes it a placeholder the user may fill."""
    if open_as is None:
        return {"namespace": namespace, "name": name}
    return {
        "name": f"${{{open_as}:={name}}}",
        "namespace": f"${{{open_as}Namespace:={namespace}}}",
    }


def _backend(
    storage: tuple[str, str],
    retention: tuple[str, str] | None,
    *,
    name: str,
    own_storage: bool,
    choose_retention: bool,
) -> JSONDict:
    backend: JSONDict = {
        "name": name,
        "storageRef": _ref(*storage, open_as="storage" if own_storage else None),
    }
    if retention is not None:
        backend["retentionPolicy"] = _ref(
            *retention, open_as="retentionPolicy" if choose_retention else None
        )
    return backend


def _no_default_retention(plan: Plan, namespace: str) -> None:
    # The choice is a placeholder with the default as its value (policy-encoding.md):
    # without a default there is nothing to offer a user who does not choose.
    plan.refuse(
        "INVALID_INPUT",
        f"userMayChooseRetention needs a default RetentionPolicy: give retentionPolicy, or "
        f"make one RetentionPolicy the default of namespace {namespace}.",
        field=("retentionPolicy",),
    )


def _subjects(kinds: Sequence[str]) -> list[JSONDict]:
    return [{"apiVersion": f"{KUBEDB}/v1", "kind": k} for k in kinds]


def _describe(spec: Mapping[str, Any]) -> str:
    kinds = [str(s.get("kind")) for s in spec.get("subjects") or []]
    template = spec.get("backupConfigurationTemplate") or {}
    sessions = [str(s.get("name")) for s in template.get("sessions") or []]
    backend = (template.get("backends") or [{}])[0]
    storage = backend.get("storageRef") or {}
    where = ref_text(
        placeholder_default(storage.get("namespace")), str(placeholder_default(storage.get("name")))
    )
    text = (
        f"for {names(kinds)} with session{'s' if len(sessions) != 1 else ''} {names(sessions)} "
        f"on BackupStorage {where}"
    )
    return f"{text}, {usage_text(spec.get('usagePolicy'))}"


def plan_create_backup_policy(inp: CreateBackupPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ok = check_place(plan, inp.namespace, inp.name)
    kinds = _check_kinds(plan, inp.database_kinds, field="databaseKinds")
    sessions_ok = _check_sessions(plan, inp.sessions)
    if kinds is not None and sessions_ok:
        _check_methods(
            plan,
            store,
            cluster=cluster,
            kinds=kinds,
            sessions=[(s.name, s.methods) for s in inp.sessions],
        )
    lookup(plan, store, inp.storage, cluster=cluster, resource=BACKUP_STORAGES, field=("storage",))
    retention = retention_choice(
        plan, store, inp.retention_policy, cluster=cluster, namespace=inp.namespace
    )
    secret_ref, secret = encryption_ref(
        plan,
        inp.encryption,
        cluster=cluster,
        namespace=inp.namespace,
        secret_name=encryption_secret_name(inp.name),
    )
    usage = usage_policy(plan, inp.usage) if inp.usage is not None else None
    if ok:
        check_absent(
            plan,
            store,
            cluster=cluster,
            resource=BACKUP_BLUEPRINTS,
            namespace=inp.namespace,
            name=inp.name,
        )
    if inp.user_may_choose_retention and retention is None and not plan.refused:
        _no_default_retention(plan, inp.namespace)
    if plan.refused or kinds is None:
        return plan
    spec: JSONDict = {"subjects": _subjects(kinds)}
    if usage is not None:
        spec["usagePolicy"] = usage
    spec["backupConfigurationTemplate"] = {
        "backends": [
            _backend(
                (inp.storage.namespace, inp.storage.name),
                retention,
                name=BACKEND,
                own_storage=inp.user_may_use_own_storage,
                choose_retention=inp.user_may_choose_retention,
            )
        ],
        "sessions": [_session(s, secret_ref, BACKEND) for s in inp.sessions],
    }
    if secret is not None:
        plan.add(secret)
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=BACKUP_BLUEPRINTS,
            namespace=inp.namespace,
            name=inp.name,
            summary=f"Create BackupPolicy (BackupBlueprint) {inp.namespace}/{inp.name} "
            + _describe(spec),
            body=body(BACKUP_BLUEPRINTS, inp.namespace, inp.name, spec),
        )
    )
    return plan


# ------------------------------------------------------------------------- update


def _current_methods(template: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (
            str(s.get("name")),
            [m for t in objects.addon_task_names(s) if (m := objects.method_for_task(t))],
        )
        for s in objects.mappings_at(template, "sessions")
    ]


def _current_secret(template: Mapping[str, Any]) -> JSONDict | None:
    for session in objects.mappings_at(template, "sessions"):
        for repo in objects.mappings_at(session, "repositories"):
            secret = objects.mapping_at(repo, "encryptionSecret")
            if secret.get("name"):
                return dict(secret)
    return None


def _fixed(ref: Mapping[str, Any], home: str) -> tuple[str, str] | None:
    name = placeholder_default(ref.get("name"))
    if not name:
        return None
    return (placeholder_default(ref.get("namespace")) or home, name)


def plan_update_backup_policy(inp: UpdateBackupPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.backup_policy
    current = lookup(
        plan, store, ref, cluster=cluster, resource=BACKUP_BLUEPRINTS, field=("backupPolicy",)
    )
    if current is None:
        return plan
    now = objects.mapping_at(current, "spec")
    spec: JSONDict = {
        k: copy.deepcopy(now[k])
        for k in ("subjects", "usagePolicy", "backupConfigurationTemplate")
        if k in now
    }
    template: JSONDict = spec.setdefault("backupConfigurationTemplate", {})

    kinds = [str(s.get("kind")) for s in objects.mappings_at(now, "subjects")]
    if inp.database_kinds is not None:
        new_kinds = _check_kinds(plan, inp.database_kinds, field="databaseKinds")
        if new_kinds is not None:
            kinds = new_kinds
            spec["subjects"] = _subjects(kinds)

    backends: list[JSONDict] = list(template.get("backends") or [])
    backend = dict(backends[0]) if backends else {"name": BACKEND}
    backend_name = str(backend.get("name") or BACKEND)
    if inp.sessions is not None and _check_sessions(plan, inp.sessions):
        secret = _current_secret(template)
        template["sessions"] = [_session(s, secret, backend_name) for s in inp.sessions]
        sessions = [(s.name, list(s.methods)) for s in inp.sessions]
    else:
        sessions = _current_methods(template)
    if not plan.refused and (inp.database_kinds is not None or inp.sessions is not None):
        _check_methods(
            plan,
            store,
            cluster=cluster,
            kinds=kinds,
            sessions=sessions,
            sessions_given=inp.sessions is not None,
        )

    storage_ref = objects.mapping_at(backend, "storageRef")
    storage = _fixed(storage_ref, ref.namespace)
    if inp.storage is not None and lookup(
        plan, store, inp.storage, cluster=cluster, resource=BACKUP_STORAGES, field=("storage",)
    ):
        storage = (inp.storage.namespace, inp.storage.name)
    own = (
        inp.user_may_use_own_storage
        if inp.user_may_use_own_storage is not None
        else is_placeholder(storage_ref.get("name"))
    )
    retention_ref = objects.mapping_at(backend, "retentionPolicy")
    retention = _fixed(retention_ref, ref.namespace)
    if inp.retention_policy is not None:
        retention = retention_choice(
            plan, store, inp.retention_policy, cluster=cluster, namespace=ref.namespace
        )
    choose = (
        inp.user_may_choose_retention
        if inp.user_may_choose_retention is not None
        else is_placeholder(retention_ref.get("name"))
    )
    if inp.usage is not None:
        usage = usage_policy(plan, inp.usage)
        if usage is not None:
            spec["usagePolicy"] = usage
    if choose and retention is None and not plan.refused:
        _no_default_retention(plan, ref.namespace)
    if plan.refused:
        return plan
    if storage is None:
        return plan.refuse(
            "INVALID_INPUT",
            f"BackupPolicy {ref.namespace}/{ref.name} names no storage; give storage.",
            field=("storage",),
        )
    new_backend = {
        **backend,
        **_backend(storage, retention, name=backend_name, own_storage=own, choose_retention=choose),
    }
    if retention is None:
        new_backend.pop("retentionPolicy", None)
    template["backends"] = [new_backend, *backends[1:]]

    if unchanged(current, spec, {}):
        plan.add(
            Change(
                action="NONE",
                cluster=cluster,
                resource=BACKUP_BLUEPRINTS,
                namespace=ref.namespace,
                name=ref.name,
                summary=f"BackupPolicy {ref.namespace}/{ref.name} is already as asked",
            )
        )
        return plan
    plan.add(
        Change(
            action="PATCH",
            cluster=cluster,
            resource=BACKUP_BLUEPRINTS,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Update BackupPolicy (BackupBlueprint) {ref.namespace}/{ref.name}: now "
            + _describe(spec),
            body=update_body(BACKUP_BLUEPRINTS, current, spec),
        )
    )
    made = [
        ref_text(objects.namespace_of(bc), objects.name_of(bc))
        for bc in store.list(cluster, BACKUP_CONFIGURATIONS)
        if objects.labels_of(bc).get(INVOKER_NAME) == ref.name
        and objects.labels_of(bc).get(INVOKER_NAMESPACE) == ref.namespace
    ]
    if made:
        plan.warn(
            "EXISTING_CONFIGURATIONS_UNCHANGED",
            f"The BackupConfigurations made from this policy keep their setup until "
            f"updateBackup is run for their databases: {names(made)}.",
        )
    return plan
