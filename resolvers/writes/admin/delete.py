"""deletePolicyObject: deletes a storage, retention policy, backup policy, hook template
or archiver policy; IN_USE while anything uses it (see ``users.py``).

A BackupPolicy is not in use by the BackupConfigurations made from it: they are
independent objects (the gateway expands the blueprint itself) and keep working without
it, so deleting one only stops new databases from using it. Secrets written beside an
object (credentials, encryption password) are kept: configurations made from a policy
still read its encryption Secret, and the gateway cannot tell a Secret it wrote from
one an admin named.
"""

from __future__ import annotations

from collections.abc import Callable

from apis import objects
from apis.resources import (
    BACKUP_BLUEPRINTS,
    BACKUP_STORAGES,
    HOOK_TEMPLATES,
    RETENTION_POLICIES,
    ResourceType,
)
from resolvers.writes.admin.archiver import find_archiver
from resolvers.writes.admin.common import lookup
from resolvers.writes.admin.inputs import DeletePolicyObject
from resolvers.writes.admin.users import (
    archiver_users,
    hook_users,
    in_use_message,
    retention_users,
    storage_users,
)
from resolvers.writes.plan import Change, Plan, Store

Users = Callable[[Store, str, tuple[str, str]], list[str]]

_KINDS: dict[str, tuple[ResourceType, Users | None]] = {
    "BACKUP_STORAGE": (BACKUP_STORAGES, storage_users),
    "RETENTION_POLICY": (RETENTION_POLICIES, retention_users),
    "BACKUP_POLICY": (BACKUP_BLUEPRINTS, None),
    "HOOK_TEMPLATE": (HOOK_TEMPLATES, hook_users),
}
_LABELS = {BACKUP_BLUEPRINTS.kind: "BackupPolicy (BackupBlueprint)"}


def plan_delete_policy_object(inp: DeletePolicyObject, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.object
    target = (ref.namespace, ref.name)
    if inp.kind == "ARCHIVER_POLICY":
        hit = find_archiver(plan, store, ref, cluster=cluster, field=("object",))
        if hit is None:
            return plan
        resource, current = hit
        db_kind = resource.kind.removesuffix("Archiver")
        users = archiver_users(store, cluster, db_kind, target)
        then = "point those databases at another archiver or disable their continuous backup first."
    elif inp.kind in _KINDS:
        resource, find_users = _KINDS[inp.kind]
        found = lookup(plan, store, ref, cluster=cluster, resource=resource, field=("object",))
        if found is None:
            return plan
        current = found
        users = find_users(store, cluster, target) if find_users else []
        then = "change or delete those first."
    else:
        return plan.refuse(
            "INVALID_INPUT",
            "kind must be BACKUP_STORAGE, RETENTION_POLICY, BACKUP_POLICY, HOOK_TEMPLATE or "
            "ARCHIVER_POLICY.",
            field=("kind",),
        )
    label = f"{_LABELS.get(resource.kind, resource.kind)} {ref.namespace}/{ref.name}"
    if users:
        return plan.refuse("IN_USE", in_use_message(label, users, then=then), field=("object",))
    wipes = (
        resource.kind == BACKUP_STORAGES.kind
        and objects.str_at(current, "spec", "deletionPolicy") == "WipeOut"
    )
    plan.add(
        Change(
            action="DELETE",
            cluster=cluster,
            resource=resource,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Delete {label}"
            + (" and the backup data in it (deletion policy WipeOut)" if wipes else ""),
            body=current,
        )
    )
    if wipes:
        plan.warn(
            "BACKUP_DATA_DELETED",
            f"{label} has deletion policy WipeOut: the backup data in its location is deleted "
            "with it and can no longer be restored.",
        )
    return plan
