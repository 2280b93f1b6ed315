"""The RestoreSession that puts a snapshot's data into a database, and restoreDatabase's
data part (``plan_data_restore``), which the restore workflow's planner composes with
pausing traffic and backups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apis import objects
from apis.resources import ADDONS_KIND, HOOK_TEMPLATES, KUBEDB, RESTORE_SESSIONS
from resolvers.choices import usage_allows
from resolvers.restores import LOGICAL, kind_addon_name
from resolvers.writes.backup.common import GATEWAY, MANAGED_BY, Database
from resolvers.writes.plan import Change, JSONDict, Plan, Store
from resolvers.writes.restore.inputs import RestoreCheckInput, RestoreSourceInput
from resolvers.writes.restore.source import (
    Resolved,
    Target,
    given_source,
    latest_snapshot,
    named_snapshot,
)

# RestoreSession spec.manifestOptions keys per kind (reference §1.9); other kinds
# cannot have their auth Secret restored from a manifest.
MANIFEST_OPTION_KEYS = {
    "Postgres": "postgres",
    "MySQL": "mySQL",
    "MariaDB": "mariaDB",
    "MongoDB": "mongoDB",
    "Redis": "redis",
    "ClickHouse": "clickhouse",
    "ZooKeeper": "zooKeeper",
    "Singlestore": "singlestore",
    "MSSQLServer": "msSQLServer",
    "Druid": "druid",
    "RedisSentinel": "redisSentinel",
}


def session_name(database: str, now: datetime) -> str:
    return f"{database}-restore-{int(now.timestamp())}"


def auth_secret_name(database: str) -> str:
    return f"{database}-auth"


@dataclass(frozen=True)
class SessionSpec:
    """What one RestoreSession restores, from where, into what."""

    cluster: str
    namespace: str
    name: str
    target: tuple[str, str, str]  # kind, namespace, name of the database
    data_namespace: str
    repository: str
    snapshot: str
    encryption_secret: Mapping[str, Any] | None
    addon: str
    tasks: Sequence[str]
    components: Sequence[str] | None = None
    post_restore: Sequence[JSONDict] = ()
    manifest_options: Mapping[str, Any] | None = None


def session_change(spec: SessionSpec, *, summary: str) -> Change:
    kind, namespace, name = spec.target
    data_source: JSONDict = {
        "namespace": spec.data_namespace,
        "repository": spec.repository,
        "snapshot": spec.snapshot,
    }
    if spec.components:
        data_source["components"] = list(spec.components)
    if spec.encryption_secret:
        data_source["encryptionSecret"] = dict(spec.encryption_secret)
    body_spec: JSONDict = {
        "target": {"apiGroup": KUBEDB, "kind": kind, "namespace": namespace, "name": name},
        "dataSource": data_source,
        "addon": {"name": spec.addon, "tasks": [{"name": t} for t in spec.tasks]},
    }
    if spec.post_restore:
        body_spec["hooks"] = {"postRestore": [dict(h) for h in spec.post_restore]}
    if spec.manifest_options:
        body_spec["manifestOptions"] = dict(spec.manifest_options)
    return Change(
        action="CREATE",
        cluster=spec.cluster,
        resource=RESTORE_SESSIONS,
        namespace=spec.namespace,
        name=spec.name,
        summary=summary,
        body={
            "apiVersion": RESTORE_SESSIONS.api_version,
            "kind": RESTORE_SESSIONS.kind,
            "metadata": {
                "name": spec.name,
                "namespace": spec.namespace,
                "labels": {MANAGED_BY: GATEWAY},
            },
            "spec": body_spec,
        },
    )


def encryption_of(repository: Mapping[str, Any]) -> JSONDict | None:
    ref = objects.mapping_at(repository, "spec", "encryptionSecret")
    name = objects.str_at(ref, "name")
    if not name:
        return None
    return {
        "namespace": objects.str_at(ref, "namespace") or objects.namespace_of(repository),
        "name": name,
    }


def picked_text(resolved: Resolved) -> str:
    return " (the newest that can be restored)" if resolved.picked else ""


# ------------------------------------------------------------------ restoreDatabase's part


@dataclass
class DataRestore:
    """restoreDatabase's data part: the RestoreSession change (in ``plan``), with its
    warnings and errors, and what the workflow record needs."""

    plan: Plan = field(default_factory=Plan)
    session: str | None = None
    snapshot: tuple[str, str] | None = None
    repository: tuple[str, str] | None = None
    tasks: list[str] = field(default_factory=list)
    method: str | None = None

    @property
    def change(self) -> Change | None:
        return self.plan.changes[0] if self.plan.changes else None


def _hooks(
    store: Store,
    *,
    cluster: str,
    db: Database,
    checks: Sequence[RestoreCheckInput],
    plan: Plan,
) -> list[JSONDict]:
    hooks: list[JSONDict] = []
    for index, check in enumerate(checks):
        where = ("checks", str(index), "hookTemplate")
        ref = check.hook_template
        template = store.get(cluster, HOOK_TEMPLATES, ref.namespace, ref.name)
        if template is None:
            plan.refuse(
                "NOT_FOUND",
                f"HookTemplate {ref.namespace}/{ref.name} was not found in cluster {cluster}.",
                field=where,
            )
            continue
        if not usage_allows(store, cluster=cluster, obj=template, namespace=db.namespace):
            plan.refuse(
                "POLICY_NOT_ALLOWED",
                f"HookTemplate {ref.namespace}/{ref.name} may not be used from namespace "
                f"{db.namespace}.",
                field=where,
            )
            continue
        params = check.params
        if params is not None and not (
            isinstance(params, Mapping)
            and all(
                isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in params.items()
            )
        ):
            plan.refuse(
                "INVALID_INPUT",
                "Check params must be an object of names to text values.",
                field=("checks", str(index), "params"),
            )
            continue
        hook: JSONDict = {
            "name": f"check-{index}",
            "hookTemplate": {"namespace": ref.namespace, "name": ref.name},
            "executionPolicy": "OnSuccess",
        }
        if params:
            hook["params"] = {k: str(v) for k, v in params.items()}
        hooks.append(hook)
    return hooks


def plan_data_restore(
    db: Database,
    source: RestoreSourceInput,
    *,
    checks: Sequence[RestoreCheckInput] = (),
    tasks: Sequence[str] | None = None,
    store: Store,
    cluster: str,
    now: datetime,
) -> DataRestore:
    """The RestoreSession restoring ``source`` into the running database ``db``.

    The source is a snapshot or the latest one (a point in time goes only into a new
    database: RECOVERY_NOT_AVAILABLE); each check becomes a post-restore hook run once the
    data is in. ``tasks`` (experts only) replaces the chosen restore tasks.
    """
    result = DataRestore()
    plan = result.plan
    which = given_source(source, plan, field=("source",))
    if which is None:
        return result
    if which == "pointInTime":
        plan.refuse(
            "RECOVERY_NOT_AVAILABLE",
            f"A point in time can only be recovered into a new database; use "
            f"restoreToNewDatabase rather than restoring into {db.label}.",
            field=("source", "pointInTime"),
        )
        return result
    version = objects.str_at(db.raw, "spec", "version")
    target = Target(cluster=cluster, kind=db.kind, version=version)
    app = (db.kind, db.namespace, db.name)
    if source.snapshot is not None:
        resolved = named_snapshot(
            store,
            source.snapshot,
            default_cluster=cluster,
            target=target,
            plan=plan,
            field=("source", "snapshot"),
        )
    else:
        assert source.latest is not None
        resolved = latest_snapshot(
            store,
            source.latest,
            default_cluster=cluster,
            target=target,
            database=app,
            plan=plan,
            field=("source", "latest"),
        )
    hooks = _hooks(store, cluster=cluster, db=db, checks=checks, plan=plan)
    if resolved is None or plan.refused:
        return result
    if resolved.cluster != cluster:
        plan.refuse(
            "INVALID_INPUT",
            f"{resolved.label} is in cluster {resolved.cluster}; a running database is "
            "restored from its own cluster's backups (use restoreToNewDatabase).",
            field=("source",),
        )
        return result
    assert resolved.verdict.data is not None
    addon = kind_addon_name(store, cluster=cluster, kind=db.kind, version=version)
    chosen = [resolved.verdict.data.task]
    components: list[str] | None = [resolved.verdict.data.component]
    if tasks:
        offered = {
            n
            for t in objects.mappings_at(
                store.get(cluster, ADDONS_KIND, None, addon), "spec", "restoreTasks"
            )
            if (n := objects.str_at(t, "name"))
        }
        lacking = [t for t in tasks if t not in offered]
        if lacking:
            plan.refuse(
                "NO_RESTORE_TASK",
                f"Addon {addon} has no restore task {', '.join(lacking)}; it offers "
                f"{', '.join(sorted(offered)) or 'none'}.",
                field=("tasks",),
            )
            return result
        chosen, components = list(tasks), None
    name = session_name(db.name, now)
    spec = SessionSpec(
        cluster=cluster,
        namespace=db.namespace,
        name=name,
        target=app,
        data_namespace=resolved.namespace,
        repository=objects.name_of(resolved.repository),
        snapshot=resolved.name,
        encryption_secret=encryption_of(resolved.repository),
        addon=addon,
        tasks=chosen,
        components=components,
        post_restore=hooks,
    )
    checks_text = f", then run {len(hooks)} check{'s' if len(hooks) != 1 else ''}" if hooks else ""
    plan.add(
        session_change(
            spec,
            summary=f"Restore {resolved.label}{picked_text(resolved)} into {db.label} with "
            f"{', '.join(chosen)}{checks_text}.",
        )
    )
    if resolved.verdict.data.method == LOGICAL:
        plan.warn(
            "EXISTING_DATA_KEPT",
            f"The dump in {resolved.label} is replayed over the data in {db.label}; nothing "
            "there is removed first.",
        )
    result.session = name
    result.snapshot = (resolved.namespace, resolved.name)
    result.repository = (
        objects.namespace_of(resolved.repository) or "",
        objects.name_of(resolved.repository),
    )
    result.tasks = chosen
    result.method = resolved.verdict.data.method
    return result
