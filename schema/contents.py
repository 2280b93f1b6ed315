"""What a KubeStash Snapshot holds, read from its ``status.components``.

The manifest-backup task saves the database object, its auth Secret and the catalog
version, all in the ``manifest`` component: the catalog version is the gateway's
assumption, which the write contract states ("The database manifest, its auth Secret and
its catalog version are always backed up"). Data is in a dump, physical,
volume-snapshot or log component.
A component holds something once it succeeded; a log component (an archiver's
continuous ``wal``/``log`` shipping) keeps running while it holds logs, so running counts
there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from apis import objects

DB_VERSION_ANNOTATION = "kubedb.com/db-version"
MANIFEST_COMPONENT = "manifest"
_DATA_COMPONENTS = frozenset({"dump", "physical", "volumesnapshot"})
_LOG_COMPONENTS = frozenset({"wal", "log"})


@strawberry.type(description="What a snapshot holds besides, or instead of, data.")
class SnapshotContents:
    manifest: bool = strawberry.field(description="The database manifest.")
    auth_secret: bool = strawberry.field(description="The database's auth Secret.")
    catalog_version: bool = strawberry.field(
        description=(
            "The catalog version object (for example a custom PostgresVersion), "
            "to re-create it elsewhere."
        )
    )
    data: bool = strawberry.field(
        description="The database's data: a dump, physical files or volume snapshots."
    )
    version: str | None = strawberry.field(
        description="Catalog version of the database when it was backed up."
    )


def _is_log(name: str, component: Mapping[str, Any]) -> bool:
    # MongoDB names its log components per replica set or shard; logStats marks them all.
    return name in _LOG_COMPONENTS or isinstance(component.get("logStats"), Mapping)


def _holds_data(name: str, component: Mapping[str, Any]) -> bool:
    phase = objects.component_phase(component)
    if _is_log(name, component):
        return phase in ("RUNNING", "SUCCEEDED")
    is_data = name in _DATA_COMPONENTS or component.get("driver") == "VolumeSnapshotter"
    return is_data and phase == "SUCCEEDED"


def snapshot_contents(raw: objects.Raw) -> SnapshotContents:
    """The contents of the Snapshot ``raw``."""
    manifest = False
    data = False
    for name, component in objects.named_entries(raw, "status", "components"):
        if name == MANIFEST_COMPONENT:
            manifest = manifest or objects.component_phase(component) == "SUCCEEDED"
        elif _holds_data(name, component):
            data = True
    return SnapshotContents(
        manifest=manifest,
        auth_secret=manifest,
        catalog_version=manifest,
        data=data,
        version=objects.annotations_of(raw).get(DB_VERSION_ANNOTATION) or None,
    )
