"""Which GraphQL type stands for a cached object: by its API group and kind.

Each Kubernetes-backed type declares its ``API_GROUP`` and ``KIND`` (Database only its
group: every kind of kubedb.com is a Database); this module, which imports them all,
is the one place that maps (group, kind) to a type. A new type is added to ``TYPES``.
ArchiverPolicy, too, declares only its group: every kind of archiver.kubedb.com (a
PostgresArchiver, a MySQLArchiver...) is an ArchiverPolicy.
"""

from __future__ import annotations

from resolvers.reads.graph import Item
from schema.archivers import ArchiverPolicy
from schema.configurations import BackupConfiguration
from schema.hooks import HookTemplate
from schema.interfaces import Node
from schema.linked import BackupSession, Database, Repository, RestoreSession, Snapshot
from schema.policies import BackupPolicy
from schema.storage import BackupStorage, RetentionPolicy

TYPES: tuple[type[Node], ...] = (
    Database,
    Snapshot,
    Repository,
    RetentionPolicy,
    BackupStorage,
    BackupConfiguration,
    BackupSession,
    RestoreSession,
    BackupPolicy,
    ArchiverPolicy,
    HookTemplate,
)

_BY_KIND = {(t.API_GROUP, t.KIND): t for t in TYPES}


def wrap(item: Item | None) -> Node | None:
    """The GraphQL object for a cached item (None when missing or of no known type).

    A BackupStorage built here shows no location: only fields that decide the viewer's
    access to it (``BackupStorage.for_viewer``) may show one.
    """
    if item is None:
        return None
    group, kind = item.resource.group, item.resource.kind
    cls = _BY_KIND.get((group, kind)) or _BY_KIND.get((group, ""))
    return cls.from_item(item) if cls is not None else None
