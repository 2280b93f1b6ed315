"""Which of the kinds the simulator plays the operators for a cluster serves.

The KubeStash kinds are fixed (apis/resources.py); every kind served in ``kubedb.com``
is a database and every kind in ``archiver.kubedb.com`` an archiver, so those two
groups are listed from discovery, and asked again now and then, because a test or the
demo may install a database kind after the simulator started.
"""

from __future__ import annotations

from apis.objects import mappings_at, text_at
from apis.resources import (
    ADDONS_KIND,
    ARCHIVER,
    BACKUP_BLUEPRINTS,
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    BACKUP_STORAGES,
    HOOK_TEMPLATES,
    KUBEDB,
    KUBEDB_VERSIONS,
    NAMESPACES,
    REPOSITORIES,
    RESTORE_SESSIONS,
    RETENTION_POLICIES,
    SERVICES,
    SNAPSHOTS,
    V1ALPHA1,
    ResourceType,
)
from kube.client import ApiError, JSONDict, KubeClient
from sandbox.simulator.core import CALL_TIMEOUT

FIXED_RESOURCES = (
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    RESTORE_SESSIONS,
    BACKUP_BLUEPRINTS,
    REPOSITORIES,
    SNAPSHOTS,
    BACKUP_STORAGES,
    RETENTION_POLICIES,
    ADDONS_KIND,
    HOOK_TEMPLATES,
    NAMESPACES,
    SERVICES,
)


async def discover(
    client: KubeClient,
    *,
    databases: dict[str, ResourceType],
    archivers: dict[str, ResourceType],
) -> list[ResourceType]:
    """Every resource to watch; adds newly served kinds to ``databases``/``archivers``.

    A kind found once is kept (first version found wins), so its informer keeps
    running even if discovery briefly fails to list it.
    """
    served: dict[str, dict[str, JSONDict]] = {}

    async def resources(group: str, version: str) -> dict[str, JSONDict]:
        gv = f"{group}/{version}" if group else version
        if gv not in served:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                doc = await client.get(path, timeout=CALL_TIMEOUT)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                doc = {}
            served[gv] = {
                str(r.get("name")): dict(r)
                for r in mappings_at(doc, "resources")
                if "/" not in str(r.get("name"))  # subresources such as foos/status
            }
        return served[gv]

    wanted: list[ResourceType] = []
    for res in FIXED_RESOURCES:
        if res.plural in await resources(res.group, res.version):
            wanted.append(res)
    for group, versions, into in (
        (KUBEDB, KUBEDB_VERSIONS, databases),
        (ARCHIVER, (V1ALPHA1,), archivers),
    ):
        for version in versions:
            for plural, r in (await resources(group, version)).items():
                kind = text_at(r, "kind")
                if kind and kind not in into:
                    into[kind] = ResourceType(
                        group=group,
                        version=version,
                        plural=plural,
                        kind=kind,
                        namespaced=bool(r.get("namespaced", True)),
                        status_subresource=True,
                    )
        wanted.extend(into.values())
    return wanted
