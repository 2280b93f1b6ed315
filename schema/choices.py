"""What a user may decide when enabling backup with a BackupPolicy.

Plain values: the resolver behind ``BackupPolicy.choices`` reads the blueprint's
placeholders and the usage policies of what it refers to, and fills these in.
"""

from __future__ import annotations

import strawberry

from schema.enums import BackupMethod
from schema.storage import BackupStorage, RetentionPolicy


@strawberry.type(description="One session of a policy, as a user choosing it sees it.")
class BackupPolicySessionChoice:
    name: str = strawberry.field(description="Session name.")
    methods: list[BackupMethod] = strawberry.field(
        description="Methods it takes; choosing any of them runs the session."
    )
    schedule: str | None = strawberry.field(
        description="Its schedule; the default where the user may set it."
    )
    may_set_schedule: bool = strawberry.field(description="Whether the user may set its schedule.")


@strawberry.type(
    description=(
        "What a user may decide when enabling backup with a policy, read from the policy's\n"
        "placeholders and the usage policies of what it refers to."
    )
)
class BackupPolicyChoices:
    sessions: list[BackupPolicySessionChoice] = strawberry.field(
        description="Its sessions, and whether each one's schedule is open."
    )
    may_choose_retention: bool = strawberry.field(
        description="Whether the user may pick the RetentionPolicy."
    )
    retention_policies: list[RetentionPolicy] = strawberry.field(
        description="RetentionPolicies the user may pick; only the default when there is no choice."
    )
    may_use_own_storage: bool = strawberry.field(
        description="Whether the user may keep the backups on their own BackupStorage."
    )
    own_storages: list[BackupStorage] = strawberry.field(
        description=(
            "Own storages that qualify: usable from the namespace, readable by the viewer; "
            "empty if not allowed."
        )
    )
    variables: list[str] = strawberry.field(
        description=(
            "Other placeholders the user must fill in; StashQL fills those naming the database."
        )
    )
