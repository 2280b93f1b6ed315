"""Where restored data comes from: exactly one of a snapshot, the latest one, or a point
in time; resolved to a named, restorable snapshot (or a checked point in time)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apis import objects
from apis.resources import ADDONS_KIND, REPOSITORIES, SNAPSHOTS
from resolvers import restores
from resolvers.restores import AppKey, Verdict
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.plan import ErrorCode, JSONDict, Plan, Store
from resolvers.writes.restore.inputs import LatestSnapshotInput, RestoreSourceInput

# Where a restoreToNewDatabase input's source sits, for the field of a refusal.
SOURCE_FIELD: tuple[str, ...] = ("source",)


@dataclass(frozen=True)
class Target:
    """Where the data goes: its cluster, kind and catalog version (None: unknown yet)."""

    cluster: str
    kind: str | None = None
    version: str | None = None


@dataclass
class Resolved:
    """A named snapshot that can be restored, and how."""

    cluster: str
    snapshot: JSONDict
    repository: JSONDict
    verdict: Verdict
    # Picked by `latest`, so the plan's summary names it.
    picked: bool = False

    @property
    def namespace(self) -> str:
        return objects.namespace_of(self.snapshot) or ""

    @property
    def name(self) -> str:
        return objects.name_of(self.snapshot)

    @property
    def app(self) -> AppKey:
        return restores.app_of(self.snapshot)

    @property
    def label(self) -> str:
        return restores.snapshot_label(self.snapshot)


def given_source(source: RestoreSourceInput, plan: Plan, *, field: Sequence[str]) -> str | None:
    """Which one of snapshot, latest and pointInTime was given; None (refused) unless one."""
    given = [
        name
        for name, value in (
            ("snapshot", source.snapshot),
            ("latest", source.latest),
            ("pointInTime", source.point_in_time),
        )
        if value is not None
    ]
    if len(given) != 1:
        plan.refuse(
            "INVALID_INPUT",
            "Give exactly one of snapshot, latest or pointInTime as the source"
            + (f" (got {', '.join(given)})." if given else "."),
            field=field,
        )
        return None
    return given[0]


def target_addon(store: Store, target: Target, snapshot: Mapping[str, Any]) -> JSONDict | None:
    """The Addon restoring the snapshot's kind in the target cluster."""
    kind = target.kind or restores.app_of(snapshot)[0]
    version = target.version or restores.snapshot_version(snapshot)
    name = restores.kind_addon_name(store, cluster=target.cluster, kind=kind, version=version)
    return store.get(target.cluster, ADDONS_KIND, None, name)


def _repository_of(
    store: Store, cluster: str, snapshot: Mapping[str, Any], plan: Plan, field: Sequence[str]
) -> JSONDict | None:
    ns = objects.namespace_of(snapshot) or ""
    name = objects.str_at(snapshot, "spec", "repository") or objects.labels_of(snapshot).get(
        "kubestash.com/repo-name"
    )
    repo = store.get(cluster, REPOSITORIES, ns, name) if name else None
    if repo is None:
        plan.refuse(
            "NOT_FOUND",
            f"The Repository of {restores.snapshot_label(snapshot)} was not found in cluster "
            f"{cluster}.",
            field=field,
        )
    return repo


def _judged(
    store: Store,
    *,
    cluster: str,
    snapshot: JSONDict,
    target: Target,
    method: str | None = None,
) -> Verdict:
    kind = restores.app_of(snapshot)[0]
    if target.kind and kind and kind != target.kind:
        return Verdict(
            code="SNAPSHOT_NOT_RESTORABLE",
            reason=f"{restores.snapshot_label(snapshot)} is a backup of a {kind}; it cannot "
            f"be restored into a {target.kind}.",
        )
    verdict = restores.judge(snapshot, addon=target_addon(store, target, snapshot), method=method)
    source_version = restores.snapshot_version(snapshot)
    if verdict.restorable and source_version and target.version:
        why = restores.version_fits(
            store,
            verdict=verdict,
            snapshot=snapshot,
            source=(cluster, source_version),
            target=(target.cluster, target.version),
        )
        if why is not None:
            verdict.data = None
            verdict.code = "SNAPSHOT_NOT_RESTORABLE"
            verdict.reason = why
    return verdict


def _refuse_verdict(plan: Plan, verdict: Verdict, field: Sequence[str]) -> None:
    code: ErrorCode = (
        "NO_RESTORE_TASK" if verdict.code == "NO_RESTORE_TASK" else "SNAPSHOT_NOT_RESTORABLE"
    )
    plan.refuse(code, verdict.reason or "The snapshot cannot be restored.", field=field)


def named_snapshot(
    store: Store,
    ref: ObjectRefInput,
    *,
    default_cluster: str,
    target: Target,
    plan: Plan,
    field: Sequence[str],
) -> Resolved | None:
    cluster = ref.cluster or default_cluster
    snapshot = store.get(cluster, SNAPSHOTS, ref.namespace, ref.name)
    if snapshot is None:
        plan.refuse(
            "NOT_FOUND",
            f"Snapshot {ref.namespace}/{ref.name} was not found in cluster {cluster}.",
            field=field,
        )
        return None
    verdict = _judged(store, cluster=cluster, snapshot=snapshot, target=target)
    if not verdict.restorable:
        _refuse_verdict(plan, verdict, field)
        return None
    repo = _repository_of(store, cluster, snapshot, plan, field)
    if repo is None:
        return None
    return Resolved(cluster=cluster, snapshot=snapshot, repository=repo, verdict=verdict)


def latest_snapshot(
    store: Store,
    latest: LatestSnapshotInput,
    *,
    default_cluster: str,
    target: Target,
    database: AppKey | None,
    plan: Plan,
    field: Sequence[str],
) -> Resolved | None:
    """The newest snapshot of a repository or a database that can be restored here."""
    if latest.repository is not None and latest.database is not None:
        plan.refuse(
            "INVALID_INPUT", "Give either a repository or a database, not both.", field=field
        )
        return None
    ref = latest.repository or latest.database
    cluster = (ref.cluster if ref is not None else None) or default_cluster
    if latest.repository is not None:
        r = latest.repository
        repo = store.get(cluster, REPOSITORIES, r.namespace, r.name)
        if repo is None:
            plan.refuse(
                "NOT_FOUND",
                f"Repository {r.namespace}/{r.name} was not found in cluster {cluster}.",
                field=(*field, "repository"),
            )
            return None
        candidates = restores.repository_snapshots(store, cluster=cluster, repo=repo)
        what = f"Repository {r.namespace}/{r.name}"
    else:
        if latest.database is not None:
            d = latest.database
            app = restores.find_app(
                store, cluster=cluster, kind=d.kind, namespace=d.namespace, name=d.name
            )
        elif database is not None:
            app = database
        else:
            plan.refuse("INVALID_INPUT", "Give a repository or a database.", field=field)
            return None
        candidates = restores.database_snapshots(store, cluster=cluster, app=app)
        what = f"{app[0] or 'Database'} {app[1]}/{app[2]}"
    first_reason: Verdict | None = None
    for snapshot in candidates:
        verdict = _judged(
            store, cluster=cluster, snapshot=snapshot, target=target, method=latest.method
        )
        if verdict.restorable:
            repo_found = _repository_of(store, cluster, snapshot, plan, field)
            if repo_found is None:
                return None
            return Resolved(cluster, snapshot, repo_found, verdict, picked=True)
        first_reason = first_reason or verdict
    method = f" {latest.method.lower().replace('_', ' ')}" if latest.method else ""
    newest = f" The newest: {first_reason.reason}" if first_reason and first_reason.reason else ""
    plan.refuse(
        "SNAPSHOT_NOT_RESTORABLE",
        f"{what} has no{method} snapshot that can be restored.{newest}",
        field=field,
    )
    return None


def resolve_snapshot(
    store: Store,
    source: RestoreSourceInput,
    *,
    which: str,
    default_cluster: str,
    target: Target,
    plan: Plan,
    field_root: tuple[str, ...],
) -> Resolved | None:
    """A named or the latest snapshot (``which``: the source's one field given), else
    None with the refusal in ``plan``."""
    if which == "snapshot":
        assert source.snapshot is not None
        return named_snapshot(
            store,
            source.snapshot,
            default_cluster=default_cluster,
            target=target,
            plan=plan,
            field=(*field_root, "snapshot"),
        )
    assert source.latest is not None
    return latest_snapshot(
        store,
        source.latest,
        default_cluster=default_cluster,
        target=target,
        database=None,
        plan=plan,
        field=(*field_root, "latest"),
    )


def source_cluster(source: RestoreSourceInput, default: str) -> str:
    """The cluster the source names, else ``default``."""
    ref = (
        source.snapshot
        or (source.latest.repository or source.latest.database if source.latest else None)
        or (source.point_in_time.database if source.point_in_time else None)
    )
    return (ref.cluster if ref is not None else None) or default
