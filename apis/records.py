"""What the gateway keeps of each kind: the slim record's shape.

The informers store every watched object for the resolvers, indexes, filters and
redaction to read. Most kinds are few (the objects admins and users create), but
snapshots grow with every backup run, so their store dominates memory. A *shape* names
the fields kept; everything else is dropped while the JSON is decoded, so it is never
built at all. A record keeps the object's own nesting, so every reader in
``apis.objects`` and ``apis.links`` reads a record exactly as it read the whole object.

Shapes:
- ``KEEP``: the value as it is, whole;
- a ``dict`` of field name -> shape: an object with only those fields;
- ``EachValue(shape)``: a map whose every value has ``shape`` (``status.components``).

``INTERNED`` lists the paths whose strings repeat across objects (namespaces, phases,
label keys and values, repository names): records share one copy of each. A ``*`` in a
path stands for every key of a map.

No mutation changes a snapshot, and the restore planners read only fields of its
shape; the kinds that mutations change are kept whole (``WHOLE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from apis.resources import SNAPSHOTS


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


@dataclass(frozen=True)
class EachValue:
    """A map with any keys, each value of ``shape``."""

    shape: Shape


Shape = _Keep | EachValue | dict[str, "Shape"]

# ObjectMeta without managedFields and selfLink (managedFields is often half an object).
METADATA: Final[dict[str, Shape]] = {
    key: KEEP
    for key in (
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
    )
}

# Every kind: its metadata trimmed, the rest whole. Top-level fields of the kinds the
# gateway watches: spec/status (custom resources, Services, Namespaces, CRDs, Leases),
# data/binaryData/immutable (ConfigMaps).
WHOLE: Final[dict[str, Shape]] = {
    "apiVersion": KEEP,
    "kind": KEEP,
    "metadata": METADATA,
    "spec": KEEP,
    "status": KEEP,
    "data": KEEP,
    "binaryData": KEEP,
    "immutable": KEEP,
}

# A snapshot as the read side uses it: the Snapshot type's fields, the indexes
# (app-ref labels, spec.appRef, spec.repository), restore choices (type, session,
# components with their drivers, phases and log stats) and recovery windows.
# Dropped: spec.snapshotID, spec.deletionPolicy, status.lastUpdateTime,
# status.totalComponents and anything else no reader looks at.
SNAPSHOT: Final[dict[str, Shape]] = {
    "apiVersion": KEEP,
    "kind": KEEP,
    "metadata": METADATA,
    "spec": {
        key: KEEP for key in ("type", "repository", "session", "backupSession", "appRef", "version")
    },
    "status": {
        "phase": KEEP,
        "snapshotTime": KEEP,
        "size": KEEP,
        "integrity": KEEP,
        "verificationStatus": KEEP,
        "conditions": KEEP,
        "components": EachValue(
            {
                key: KEEP
                for key in (
                    "driver",
                    "phase",
                    "size",
                    "duration",
                    "error",
                    "path",
                    "integrity",
                    "progress",
                    "logStats",
                    "walSegments",
                    "volumeSnapshotterStats",
                )
            }
        ),
    },
}

Path = tuple[str, ...]

_COMMON_INTERNED: Final[tuple[Path, ...]] = (
    ("apiVersion",),
    ("kind",),
    ("metadata", "namespace"),
    ("metadata", "labels", "*"),
)

SNAPSHOT_INTERNED: Final[tuple[Path, ...]] = (
    *_COMMON_INTERNED,
    ("spec", "type"),
    ("spec", "repository"),
    ("spec", "session"),
    ("spec", "version"),
    ("spec", "appRef", "*"),
    ("status", "phase"),
    ("status", "verificationStatus"),
    ("status", "components", "*", "driver"),
    ("status", "components", "*", "phase"),
    ("status", "components", "*", "path"),
    ("status", "components", "*", "duration"),
)

# Maps of strings that are the same for every snapshot of one repository (its labels,
# its database reference): records share one copy of each. Only snapshots, which no
# mutation changes, share maps; a shared map must never be changed in place.
SNAPSHOT_SHARED: Final[tuple[Path, ...]] = (("metadata", "labels"), ("spec", "appRef"))


def shape_for(group: str, kind: str) -> dict[str, Shape]:
    if (group, kind) == (SNAPSHOTS.group, SNAPSHOTS.kind):
        return SNAPSHOT
    return WHOLE


def shared_for(group: str, kind: str) -> tuple[Path, ...]:
    if (group, kind) == (SNAPSHOTS.group, SNAPSHOTS.kind):
        return SNAPSHOT_SHARED
    return ()


def interned_for(group: str, kind: str) -> tuple[Path, ...]:
    if (group, kind) == (SNAPSHOTS.group, SNAPSHOTS.kind):
        return SNAPSHOT_INTERNED
    return _COMMON_INTERNED
