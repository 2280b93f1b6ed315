"""The backup buckets the sandbox clusters share, and KubeStash's sync of a Repository
from its bucket.

Real KubeStash keeps a Repository's Snapshots in its backend (bucket, prefix, path) and
a Repository made in another cluster on the same location finds them there. The sandbox
has no bucket, so :class:`Buckets` stands in for it: it sees every cluster's
Repositories and Snapshots and answers what lies at a location -- the Snapshots of the
Repositories, in any cluster, whose BackupStorage has the same provider and location
(bucket, prefix, endpoint...; credentials and tuning do not count) and whose
``spec.path`` is the same.

:func:`sync_repository` (run by the repository controller) copies into a Repository
the Snapshots found at its location in *other* clusters, as KubeStash would list them
from the bucket: same name and ``spec.snapshotID``, ``spec.repository`` and the
``kubestash.com/repo-name`` label naming the local Repository, owned by it, with the
source's status (kept up to date, so a copied log snapshot's window follows the
original's). Copies carry ``sim.stashql.io/synced-from: <cluster>/<namespace>/<name>``
and are never copied further. Guesses: a copy is not removed when its original is
(retention in another cluster does not reach back here); a name already taken by
another Snapshot is left alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from apis.objects import (
    annotations_of,
    dig,
    labels_of,
    mapping_at,
    name_of,
    str_at,
    text_at,
)
from apis.resources import BACKUP_STORAGES, REPOSITORIES, SNAPSHOTS
from kube.client import JSONDict
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import ns_of, owner, snapshot_labels

SYNCED_FROM = "sim.stashql.io/synced-from"
# Fields that say where the data is; credentials and tuning do not.
_NOT_LOCATION = frozenset({"secretName", "maxConnections", "insecureTLS"})

Location = tuple[str, tuple[tuple[str, str], ...], str]  # provider, where, path


def storage_location(storage: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A BackupStorage's location: provider and where in it."""
    backend = mapping_at(storage, "spec", "storage")
    provider = str(backend.get("provider") or "")
    where = mapping_at(backend, provider)
    return provider, tuple(sorted((k, str(v)) for k, v in where.items() if k not in _NOT_LOCATION))


class Buckets:
    """What lies in the buckets every cluster of one simulator writes to."""

    def __init__(self) -> None:
        self.clusters: list[Cluster] = []

    def location(self, cluster: Cluster, repo: Mapping[str, Any]) -> Location | None:
        ref = mapping_at(repo, "spec", "storageRef")
        name = text_at(ref, "name")
        if not name:
            return None
        storage = cluster.view(BACKUP_STORAGES, (str_at(ref, "namespace") or ns_of(repo), name))
        if storage is None:
            return None
        provider, where = storage_location(storage)
        path = text_at(repo, "spec", "path").strip("/")
        return (provider, where, path) if provider and path else None

    def snapshots_at(self, location: Location, *, besides: Cluster) -> list[tuple[str, JSONDict]]:
        """(cluster name, Snapshot) of the original Snapshots at ``location`` written by
        the clusters other than ``besides``."""
        found: list[tuple[str, JSONDict]] = []
        for other in self.clusters:
            if other is besides:
                continue
            for repo in other.items(REPOSITORIES):
                if self.location(other, repo) != location:
                    continue
                for snap in other.indexed(SNAPSHOTS, (ns_of(repo), name_of(repo))):
                    if not annotations_of(snap).get(SYNCED_FROM):
                        found.append((other.name, snap))
        return found


def _copy_of(source: Mapping[str, Any], repo: Mapping[str, Any], origin: str) -> JSONDict:
    spec = copy.deepcopy(dict(mapping_at(source, "spec")))
    spec["repository"] = name_of(repo)
    app = mapping_at(spec, "appRef")
    labels = {
        **labels_of(source),
        **snapshot_labels(
            repo=name_of(repo),
            kind=text_at(app, "kind"),
            namespace=text_at(app, "namespace"),
            name=text_at(app, "name"),
        ),
    }
    return {
        "metadata": {
            "name": name_of(source),
            "namespace": ns_of(repo),
            "labels": labels,
            "annotations": {**annotations_of(source), SYNCED_FROM: origin},
            "ownerReferences": [owner(repo)],
        },
        "spec": spec,
    }


async def sync_repository(cluster: Cluster, buckets: Buckets, repo: JSONDict) -> None:
    """Copy into ``repo`` the Snapshots other clusters wrote at its location."""
    location = buckets.location(cluster, repo)
    if location is None:
        return
    ns = ns_of(repo)
    local: Sequence[JSONDict] = cluster.indexed(SNAPSHOTS, (ns, name_of(repo)))
    have = {text_at(s, "spec", "snapshotID") for s in local} - {""}
    for origin_cluster, source in buckets.snapshots_at(location, besides=cluster):
        snapshot_id = text_at(source, "spec", "snapshotID")
        origin = f"{origin_cluster}/{ns_of(source)}/{name_of(source)}"
        existing = cluster.view(SNAPSHOTS, (ns, name_of(source)))
        if existing is None:
            if snapshot_id in have:
                continue  # the same backup under another name: already here
            existing = await cluster.create(SNAPSHOTS, _copy_of(source, repo, origin))
            if existing is None:
                continue
        if annotations_of(existing).get(SYNCED_FROM) != origin:
            continue  # a Snapshot of its own by that name
        status = dict(mapping_at(source, "status"))
        if status and dig(existing, "status") != status:

            def mutate(_: JSONDict, current: JSONDict, status: JSONDict = status) -> None:
                current.clear()
                current.update(copy.deepcopy(status))

            await cluster.update_status(SNAPSHOTS, (ns, name_of(source)), mutate=mutate)
