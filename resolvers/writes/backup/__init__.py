"""Planners of the user's backup mutations: enableBackup, updateBackup, disableBackup,
pauseBackup, resumeBackup and triggerBackup.

Each is a pure function ``plan_<mutation>(input, *, store, cluster, now)`` returning a
``PlanWithImpact``: the ``plan.Plan`` the engine checks and applies as the caller, and
for enableBackup/updateBackup the ``BackupImpact`` reported even on dry runs. How a
BackupPolicy is expanded is ``policy-encoding.md``'s shared design; what a user may
choose is ``resolvers/choices.py``, shared with the read side.
"""

from resolvers.writes.backup.common import BackupImpact, PlanWithImpact
from resolvers.writes.backup.enable import plan_enable_backup, plan_update_backup
from resolvers.writes.backup.inputs import (
    BackupSetupInput,
    DisableBackupInput,
    EnableBackupInput,
    EncryptionInput,
    ObjectRefInput,
    PauseBackupInput,
    ResumeBackupInput,
    SessionScheduleInput,
    TriggerBackupInput,
    UpdateBackupInput,
)
from resolvers.writes.backup.lifecycle import (
    plan_disable_backup,
    plan_pause_backup,
    plan_resume_backup,
)
from resolvers.writes.backup.trigger import plan_trigger_backup

__all__ = [
    "BackupImpact",
    "BackupSetupInput",
    "DisableBackupInput",
    "EnableBackupInput",
    "EncryptionInput",
    "ObjectRefInput",
    "PauseBackupInput",
    "PlanWithImpact",
    "ResumeBackupInput",
    "SessionScheduleInput",
    "TriggerBackupInput",
    "UpdateBackupInput",
    "plan_disable_backup",
    "plan_enable_backup",
    "plan_pause_backup",
    "plan_resume_backup",
    "plan_trigger_backup",
    "plan_update_backup",
]
