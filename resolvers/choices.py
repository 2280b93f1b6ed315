"""What a user may decide when enabling backup with a BackupPolicy, from one namespace.

Shared by the read field ``BackupPolicy.choices`` and the enableBackup/updateBackup
planners, so what the wizard offers and what the mutation accepts are one rule. It
reads the cluster through ``ObjectSource``, the same shape as the planners'
``plan.Store``, declared here so the read side never imports the write side.

Usage policies (``spec.usagePolicy.allowedNamespaces``, also an archiver's
``spec.databases.namespaces``): ``All``, ``Same`` (the default) or ``Selector`` over
the namespace's labels. An unknown namespace or a malformed selector admits nothing:
these rules decide where backups go, so they fail closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from apis import objects
from apis.blueprints import BlueprintTemplate, SessionTemplate, read_template
from apis.resources import BACKUP_STORAGES, NAMESPACES, RETENTION_POLICIES, ResourceType
from core.selectors import selector_from_label_selector

JSONDict = dict[str, Any]


class ObjectSource(Protocol):
    """Objects of the gateway's cache (``plan.Store`` has this shape)."""

    def get(
        self, cluster: str, resource: ResourceType, namespace: str | None, name: str
    ) -> JSONDict | None: ...

    def list(
        self, cluster: str, resource: ResourceType, namespace: str | None = None
    ) -> list[JSONDict]: ...


def namespace_admitted(
    source: ObjectSource,
    *,
    cluster: str,
    allowed: Mapping[str, Any],
    home: str | None,
    namespace: str,
) -> bool:
    """Whether an ``allowedNamespaces`` rule of an object in ``home`` admits ``namespace``."""
    scope = allowed.get("from") or "Same"
    if scope == "All":
        return True
    if scope == "Same":
        return home == namespace
    if scope == "Selector":
        ns = source.get(cluster, NAMESPACES, None, namespace)
        selector = allowed.get("selector")
        if ns is None or not isinstance(selector, Mapping):
            return False
        return selector_from_label_selector(selector).matches(objects.labels_of(ns))
    return False


def usage_allows(
    source: ObjectSource, *, cluster: str, obj: Mapping[str, Any], namespace: str
) -> bool:
    """Whether a BackupBlueprint, BackupStorage or RetentionPolicy admits ``namespace``."""
    return namespace_admitted(
        source,
        cluster=cluster,
        allowed=objects.mapping_at(obj, "spec", "usagePolicy", "allowedNamespaces"),
        home=objects.namespace_of(obj),
        namespace=namespace,
    )


def _ordered(found: list[JSONDict], namespace: str) -> list[JSONDict]:
    """Defaults first, then the namespace's own, then by namespace and name."""
    return sorted(
        found,
        key=lambda o: (
            not objects.bool_at(o, "spec", "default"),
            objects.namespace_of(o) != namespace,
            objects.namespace_of(o) or "",
            objects.name_of(o),
        ),
    )


def usable(
    source: ObjectSource, *, cluster: str, resource: ResourceType, namespace: str
) -> list[JSONDict]:
    """Every object of ``resource`` usable from ``namespace``, defaults first."""
    found = [
        o
        for o in source.list(cluster, resource)
        if usage_allows(source, cluster=cluster, obj=o, namespace=namespace)
    ]
    return _ordered(found, namespace)


def namespace_default_retention(
    source: ObjectSource, *, cluster: str, namespace: str
) -> JSONDict | None:
    """The default RetentionPolicy for ``namespace``: its own first, else a usable one."""
    defaults = [
        o
        for o in usable(source, cluster=cluster, resource=RETENTION_POLICIES, namespace=namespace)
        if objects.bool_at(o, "spec", "default")
    ]
    return defaults[0] if defaults else None


@dataclass(frozen=True)
class BackupChoices:
    """``BackupPolicyChoices`` as plain data (the raw objects, unfiltered by the viewer)."""

    sessions: tuple[SessionTemplate, ...]
    may_choose_retention: bool
    retention_policies: list[JSONDict]
    may_use_own_storage: bool
    own_storages: list[JSONDict]
    variables: tuple[str, ...]


def policy_default_retention(
    source: ObjectSource,
    *,
    cluster: str,
    template: BlueprintTemplate,
    namespace: str,
) -> JSONDict | None:
    """The RetentionPolicy a user gets without choosing: the policy's, else the namespace's."""
    if template.retention is not None and template.retention.default is not None:
        ns, name = template.retention.default
        return source.get(cluster, RETENTION_POLICIES, ns, name)
    return namespace_default_retention(source, cluster=cluster, namespace=namespace)


def backup_choices(
    source: ObjectSource, *, cluster: str, blueprint: Mapping[str, Any], namespace: str
) -> BackupChoices:
    """What a database in ``namespace`` may choose when enabling backup with ``blueprint``."""
    template = read_template(blueprint)
    may_choose = template.retention is not None and template.retention.open
    if may_choose:
        retention = usable(
            source, cluster=cluster, resource=RETENTION_POLICIES, namespace=namespace
        )
    else:
        default = policy_default_retention(
            source, cluster=cluster, template=template, namespace=namespace
        )
        retention = [default] if default is not None else []
    may_own = template.storage is not None and template.storage.open
    storages = (
        usable(source, cluster=cluster, resource=BACKUP_STORAGES, namespace=namespace)
        if may_own
        else []
    )
    return BackupChoices(
        sessions=template.sessions,
        may_choose_retention=may_choose,
        retention_policies=retention,
        may_use_own_storage=may_own,
        own_storages=storages,
        variables=template.variables,
    )
