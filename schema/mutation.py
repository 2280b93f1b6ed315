"""The Mutation root: every change StashQL makes, planned, checked and applied as the caller.

Each field converts its input to the planner's dataclass, runs the write pipeline
(``schema/mutations/calls.py`` → ``resolvers/writes/run.py``) and answers with the
payload's objects. The rules are the contract's (``contract/pending/write.graphql``).
"""

from __future__ import annotations

import strawberry

from schema.mutations.backup_root import BackupMutations
from schema.mutations.ci_root import ManifestMutations
from schema.mutations.policy_root import PolicyMutations
from schema.mutations.restore_root import RestoreMutations
from schema.mutations.traffic_root import TrafficMutations


@strawberry.type(
    description=(
        "Changes. Each is planned, checked by the API server as the caller (a dry run of "
        "every planned object: RBAC, admission, schema) and only then applied as the "
        "caller, so RBAC and the audit log see the real user. `dryRun: true` stops after "
        "the check, persists nothing and returns the full plan. `idempotencyKey`: a retry "
        "with the same key and input returns the first result and changes nothing; the "
        "same key with another input is refused with IDEMPOTENCY_KEY_REUSED. Keys belong "
        "to the caller, hold for at least 24 hours on every gateway replica and across "
        "restarts, and dry runs do not use them up."
    )
)
class Mutation(
    PolicyMutations, BackupMutations, RestoreMutations, TrafficMutations, ManifestMutations
):
    pass
