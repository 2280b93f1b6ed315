"""Planners of the database and restore mutations: createDatabase, restoreToNewDatabase,
and restoreDatabase's data part (``plan_data_restore``), which the restore workflow's
planner composes with pausing traffic and backups.

Each is a pure function of its input and a ``plan.Store``. Which snapshots can be
restored and with which tasks is ``resolvers/restores.py``, shared with the read side.
"""

from resolvers.writes.restore.data import DataRestore, plan_data_restore, session_name
from resolvers.writes.restore.inputs import (
    CreateDatabaseInput,
    LatestSnapshotInput,
    PointInTimeInput,
    RestoreCheckInput,
    RestoreDatabaseInput,
    RestoreSourceInput,
    RestoreToNewDatabaseInput,
    SecretData,
)
from resolvers.writes.restore.new import (
    NewDatabasePlan,
    plan_create_database,
    plan_restore_to_new_database,
)
from resolvers.writes.restore.transfer import secrets_needed, secrets_to_copy

__all__ = [
    "CreateDatabaseInput",
    "DataRestore",
    "LatestSnapshotInput",
    "NewDatabasePlan",
    "PointInTimeInput",
    "RestoreCheckInput",
    "RestoreDatabaseInput",
    "RestoreSourceInput",
    "RestoreToNewDatabaseInput",
    "SecretData",
    "plan_create_database",
    "plan_data_restore",
    "plan_restore_to_new_database",
    "secrets_needed",
    "secrets_to_copy",
    "session_name",
]
