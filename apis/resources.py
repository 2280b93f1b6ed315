"""Resource identity: the one place that says which API group, version, kind, plural and
scope each Kubernetes resource StashQL touches has.

The product's informers, its writes, the CRD generator, the simulator and the benchmark
all name resources through these constants, so a group or a plural is written once.
Facts from ``shared/reference/kubestash-kubedb-api.md`` (§1.0, §3, §4).

KubeDB kinds are many and vary between releases, so the gateway watches every kind of
the KubeDB groups it finds served (``WHOLE_GROUPS``) and learns their version and plural
from the CustomResourceDefinition; the kinds listed here are the ones code refers to by
name.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

# ---------------------------------------------------------------------------- groups

KUBEDB = "kubedb.com"
ARCHIVER = "archiver.kubedb.com"
CATALOG = "catalog.kubedb.com"
STORAGE = "storage.kubestash.com"
CORE = "core.kubestash.com"
ADDONS = "addons.kubestash.com"
V1ALPHA1 = "v1alpha1"

# Groups whose every kind is watched (each KubeDB kind is a database, and so on).
WHOLE_GROUPS = frozenset({KUBEDB, ARCHIVER, CATALOG})

# Preferred versions where a group serves several (KubeDB's v1 is the storage version).
PREFERRED_VERSIONS = ("v1", "v1alpha2", "v1alpha1")
# The versions kubedb.com serves its database kinds in, the storage version first.
KUBEDB_VERSIONS = ("v1", "v1alpha2")


def resource_path(
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path of a collection or object (core group when ``group`` is empty)."""
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{plural}"
    if name:
        base += f"/{quote(name, safe='')}"
    if subresource:
        base += f"/{subresource}"
    return base


@dataclass(frozen=True)
class ResourceType:
    """One Kubernetes resource: where it is served and how it is scoped."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    # Whether status is a subresource (written through /status) rather than part of
    # the object; KubeStash kinds without status (RetentionPolicy, ...) have none.
    status_subresource: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        """The collection path (all namespaces when ``namespace`` is None) or an object's."""
        return resource_path(
            group=self.group,
            version=self.version,
            plural=self.plural,
            namespace=namespace if self.namespaced else None,
            name=name,
        )

    def status_path(self, *, namespace: str | None, name: str) -> str:
        return self.path(namespace=namespace, name=name) + "/status"


def _kubestash(group: str, plural: str, kind: str, **kw: bool) -> ResourceType:
    return ResourceType(group=group, version=V1ALPHA1, plural=plural, kind=kind, **kw)


# ------------------------------------------------------------------- KubeStash kinds

BACKUP_STORAGES = _kubestash(STORAGE, "backupstorages", "BackupStorage", status_subresource=True)
REPOSITORIES = _kubestash(STORAGE, "repositories", "Repository", status_subresource=True)
SNAPSHOTS = _kubestash(STORAGE, "snapshots", "Snapshot", status_subresource=True)
RETENTION_POLICIES = _kubestash(STORAGE, "retentionpolicies", "RetentionPolicy")
BACKUP_CONFIGURATIONS = _kubestash(
    CORE, "backupconfigurations", "BackupConfiguration", status_subresource=True
)
BACKUP_SESSIONS = _kubestash(CORE, "backupsessions", "BackupSession", status_subresource=True)
BACKUP_BLUEPRINTS = _kubestash(CORE, "backupblueprints", "BackupBlueprint")
RESTORE_SESSIONS = _kubestash(CORE, "restoresessions", "RestoreSession", status_subresource=True)
HOOK_TEMPLATES = _kubestash(CORE, "hooktemplates", "HookTemplate")
BACKUP_BATCHES = _kubestash(CORE, "backupbatches", "BackupBatch", status_subresource=True)
# Upstream uses the singular as the plural for these two.
BACKUP_VERIFIERS = _kubestash(CORE, "backupverifier", "BackupVerifier")
BACKUP_VERIFICATION_SESSIONS = _kubestash(
    CORE, "backupverificationsession", "BackupVerificationSession", status_subresource=True
)
ADDONS_KIND = _kubestash(ADDONS, "addons", "Addon", namespaced=False)
FUNCTIONS = _kubestash(ADDONS, "functions", "Function", namespaced=False)

KUBESTASH_KINDS: tuple[ResourceType, ...] = (
    BACKUP_STORAGES,
    REPOSITORIES,
    SNAPSHOTS,
    RETENTION_POLICIES,
    BACKUP_CONFIGURATIONS,
    BACKUP_SESSIONS,
    BACKUP_BLUEPRINTS,
    RESTORE_SESSIONS,
    HOOK_TEMPLATES,
    BACKUP_BATCHES,
    BACKUP_VERIFIERS,
    BACKUP_VERIFICATION_SESSIONS,
    ADDONS_KIND,
    FUNCTIONS,
)

# Kinds of the KubeStash groups that the gateway watches (the rest it never reads).
WATCHED_KUBESTASH_KINDS = frozenset(
    (r.group, r.kind)
    for r in (
        BACKUP_STORAGES,
        REPOSITORIES,
        SNAPSHOTS,
        RETENTION_POLICIES,
        BACKUP_CONFIGURATIONS,
        BACKUP_SESSIONS,
        BACKUP_BLUEPRINTS,
        RESTORE_SESSIONS,
        HOOK_TEMPLATES,
        ADDONS_KIND,
    )
)


def watched(group: str, kind: str) -> bool:
    """Whether the gateway keeps an informer for this kind."""
    return group in WHOLE_GROUPS or (group, kind) in WATCHED_KUBESTASH_KINDS


def by_kind(group: str, kind: str) -> ResourceType | None:
    """The KubeStash resource of this group and kind, if it is one of ours."""
    for resource in KUBESTASH_KINDS:
        if (resource.group, resource.kind) == (group, kind):
            return resource
    return None


# ------------------------------------------------------------------------ KubeDB kinds


@dataclass(frozen=True)
class DatabaseKind:
    """A KubeDB database kind and the kinds that go with it."""

    kind: str
    plural: str
    short: str
    # Whether KubeDB has an archiver (continuous backup) for it.
    archiver: bool = False
    # Served versions, the storage version first.
    versions: tuple[str, ...] = KUBEDB_VERSIONS

    @property
    def resource(self) -> ResourceType:
        return ResourceType(
            group=KUBEDB,
            version=self.versions[0],
            plural=self.plural,
            kind=self.kind,
            status_subresource=True,
        )

    @property
    def version_kind(self) -> str:
        """Its catalog kind, for example PostgresVersion."""
        return f"{self.kind}Version"

    @property
    def archiver_kind(self) -> str | None:
        return f"{self.kind}Archiver" if self.archiver else None


# The database kinds the sandbox installs and the code names; any other KubeDB kind is
# still watched, read and shown as a database.
DATABASE_KINDS: tuple[DatabaseKind, ...] = (
    DatabaseKind("Postgres", "postgreses", "pg", archiver=True),
    DatabaseKind("MySQL", "mysqls", "my", archiver=True),
    DatabaseKind("MariaDB", "mariadbs", "md", archiver=True),
    DatabaseKind("MongoDB", "mongodbs", "mg", archiver=True),
    DatabaseKind("Redis", "redises", "rd"),
    DatabaseKind("Elasticsearch", "elasticsearches", "es"),
)


def database_kind(kind: str) -> DatabaseKind | None:
    return next((d for d in DATABASE_KINDS if d.kind == kind), None)


def catalog_version(kind: str) -> ResourceType:
    """The catalog resource of a database kind's versions (cluster-scoped)."""
    name = f"{kind}Version"
    return ResourceType(
        group=CATALOG, version=V1ALPHA1, plural=f"{name.lower()}s", kind=name, namespaced=False
    )


def archiver(kind: str) -> ResourceType:
    """The KubeDB archiver resource of a database kind, for example PostgresArchiver."""
    name = f"{kind}Archiver"
    return ResourceType(
        group=ARCHIVER,
        version=V1ALPHA1,
        plural=f"{name.lower()}s",
        kind=name,
        status_subresource=True,
    )


# -------------------------------------------------------------------- Kubernetes kinds

CRDS = ResourceType(
    group="apiextensions.k8s.io",
    version="v1",
    plural="customresourcedefinitions",
    kind="CustomResourceDefinition",
    namespaced=False,
)
NAMESPACES = ResourceType(
    group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False
)
SECRETS = ResourceType(group="", version="v1", plural="secrets", kind="Secret")
CONFIG_MAPS = ResourceType(group="", version="v1", plural="configmaps", kind="ConfigMap")
SERVICES = ResourceType(group="", version="v1", plural="services", kind="Service")
LEASES = ResourceType(group="coordination.k8s.io", version="v1", plural="leases", kind="Lease")
CONFIG_MAPS = ResourceType(group="", version="v1", plural="configmaps", kind="ConfigMap")
