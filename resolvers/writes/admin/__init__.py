"""Planners of the admin mutations: the shared objects that users' backups rely on.

One module per object family, each a pure function ``plan_<mutation>(inp, *, store,
cluster) -> Plan`` over the input dataclasses of ``inputs.py``:

* ``storage.py``: createBackupStorage, updateBackupStorage (BackupStorage + credentials
  Secret)
* ``retention.py``: createRetentionPolicy, updateRetentionPolicy
* ``policy.py``: createBackupPolicy, updateBackupPolicy (a BackupBlueprint, as
  ``shared/policy-encoding.md`` encodes it)
* ``hooks.py``: createHookTemplate, updateHookTemplate
* ``archiver.py``: createArchiverPolicy, updateArchiverPolicy (the kind's KubeDB archiver)
* ``delete.py``: deletePolicyObject
* ``usage.py``: UsagePolicyInput → ``usagePolicy``; ``users.py``: who uses an object
  (IN_USE); ``common.py``: names, references, defaults, addons, bodies.

Creates are server-side apply bodies of the whole new object. Updates read the object
from the cache (NOT_FOUND if missing) and apply every spec field the gateway manages,
unchanged ones with their current values (an apply leaving out a field the same field
manager set would remove it); an update that changes nothing plans NONE. Secrets are
written with their values in the body, because the engine must send them; summaries
name keys only, and the engine redacts Secret values wherever a plan is shown.
"""

from resolvers.writes.admin.archiver import plan_create_archiver_policy, plan_update_archiver_policy
from resolvers.writes.admin.delete import plan_delete_policy_object
from resolvers.writes.admin.hooks import plan_create_hook_template, plan_update_hook_template
from resolvers.writes.admin.policy import plan_create_backup_policy, plan_update_backup_policy
from resolvers.writes.admin.retention import (
    plan_create_retention_policy,
    plan_update_retention_policy,
)
from resolvers.writes.admin.storage import plan_create_backup_storage, plan_update_backup_storage

# GraphQL mutation -> planner.
PLANNERS = {
    "createBackupStorage": plan_create_backup_storage,
    "updateBackupStorage": plan_update_backup_storage,
    "createRetentionPolicy": plan_create_retention_policy,
    "updateRetentionPolicy": plan_update_retention_policy,
    "createBackupPolicy": plan_create_backup_policy,
    "updateBackupPolicy": plan_update_backup_policy,
    "createHookTemplate": plan_create_hook_template,
    "updateHookTemplate": plan_update_hook_template,
    "createArchiverPolicy": plan_create_archiver_policy,
    "updateArchiverPolicy": plan_update_archiver_policy,
    "deletePolicyObject": plan_delete_policy_object,
}

__all__ = [
    "PLANNERS",
    "plan_create_archiver_policy",
    "plan_create_backup_policy",
    "plan_create_backup_storage",
    "plan_create_hook_template",
    "plan_create_retention_policy",
    "plan_delete_policy_object",
    "plan_update_archiver_policy",
    "plan_update_backup_policy",
    "plan_update_backup_storage",
    "plan_update_hook_template",
    "plan_update_retention_policy",
]
