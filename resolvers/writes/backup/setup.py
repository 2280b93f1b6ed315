"""From a BackupSetupInput to what enableBackup and updateBackup write.

Three ways (``policy-encoding.md``): a BackupPolicy expanded into a BackupConfiguration
(``policy.py``), the user's own storage with one ``full-backup`` session (``own.py``),
or continuous backup through a KubeDB archiver (``continuous.py``). A check that fails
puts a user error in the plan, and the caller then plans nothing.
"""

from __future__ import annotations

from resolvers.reads.methods import CONTINUOUS
from resolvers.writes.backup.continuous import continuous_setup
from resolvers.writes.backup.inputs import BackupSetupInput
from resolvers.writes.backup.own import own_setup
from resolvers.writes.backup.parts import Context, Setup, data_methods
from resolvers.writes.backup.policy import policy_setup


def plan_setup(ctx: Context, setup: BackupSetupInput) -> Setup | None:
    """The changes of a setup, added to ``ctx.plan``; None if it refused."""
    methods = data_methods(setup, ctx.plan)
    if ctx.plan.refused:
        return None
    if methods is not None and CONTINUOUS in methods:
        return continuous_setup(ctx, setup, methods)
    if setup.archiver_policy is not None:
        ctx.plan.refuse(
            "INVALID_INPUT",
            "An archiver policy is for continuous backup; add CONTINUOUS to the methods or "
            "leave it out.",
            field=("backup", "archiverPolicy"),
        )
        return None
    if setup.policy is not None:
        return policy_setup(ctx, setup, methods)
    return own_setup(ctx, setup, methods)
