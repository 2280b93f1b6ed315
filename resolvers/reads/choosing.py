"""``BackupPolicy.choices`` for one viewer: the planners' rule, then what the viewer sees.

What a database in a namespace may choose with a BackupBlueprint is decided by
``resolvers.choices.backup_choices``, the function enableBackup's planner applies, over
the whole cache. Of its answer the viewer is shown:

- the RetentionPolicies as every policy summary usable from a namespace (``shown``:
  the ``offers`` rule, so they are those ``retentionPolicies`` lists for the namespace);
- only the own BackupStorages the viewer may read (``readable``): an own storage is
  one the user picks as theirs, and its location is part of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apis.resources import BACKUP_STORAGES, RETENTION_POLICIES, ResourceType
from resolvers.choices import BackupChoices, JSONDict, backup_choices
from resolvers.reads.graph import Item
from resolvers.reads.summaries import GraphSource, Summaries


@dataclass(frozen=True)
class ViewerChoices:
    """What ``backup_choices`` found, and the objects of it this viewer is shown."""

    found: BackupChoices
    retention_policies: list[Item]
    own_storages: list[Item]


def _items(cluster: str, resource: ResourceType, raws: list[JSONDict]) -> list[Item]:
    return [Item(cluster, raw, resource) for raw in raws]


def choices_for(
    graph: Summaries,
    *,
    blueprint: Item,
    namespace: str,
    shown: Callable[[Item], bool],
    readable: Callable[[Item], bool],
) -> ViewerChoices:
    """What a database in ``namespace`` may choose with ``blueprint``, as this viewer sees it."""
    cluster = blueprint.cluster
    found = backup_choices(
        GraphSource(graph), cluster=cluster, blueprint=blueprint.raw, namespace=namespace
    )
    retention = _items(cluster, RETENTION_POLICIES, found.retention_policies)
    storages = _items(cluster, BACKUP_STORAGES, found.own_storages)
    return ViewerChoices(
        found=found,
        retention_policies=[r for r in retention if shown(r)],
        own_storages=[s for s in storages if readable(s)],
    )
