"""Backup policies: KubeStash BackupBlueprints as a database of some kind may use them."""

from __future__ import annotations

from typing import Annotated, ClassVar, Self

import strawberry

from apis import objects
from resolvers.reads import offers, policies
from resolvers.reads.graph import Item
from resolvers.reads.methods import MethodInfo
from schema.choices import BackupPolicyChoices, BackupPolicySessionChoice
from schema.enums import BackupMethod, UsageScope
from schema.info import Info, graph_of
from schema.interfaces import Node, Resource
from schema.storage import BackupStorage, RetentionPolicy

_TEMPLATE = ("spec", "backupConfigurationTemplate")


@strawberry.type(description="A backup method an addon offers, and what it costs.")
class BackupMethodInfo:
    method: BackupMethod = strawberry.field(description="The method.")
    tasks: list[str] = strawberry.field(description="Addon task names, for example logical-backup.")
    availability_impact: str = strawberry.field(
        description="What the database's users notice while it runs."
    )
    performance_impact: str = strawberry.field(description="Load it puts on the database.")
    recoverability: str = strawberry.field(description="What can be restored from it.")
    may_restart_database: bool = strawberry.field(
        default=False,
        description=(
            "Whether setting it up may make the database briefly unavailable, "
            "for example a restart."
        ),
    )

    @classmethod
    def of(cls, info: MethodInfo) -> BackupMethodInfo:
        return cls(
            method=BackupMethod(info.method),
            tasks=list(info.tasks),
            availability_impact=info.text.availability,
            performance_impact=info.text.performance,
            recoverability=info.text.recoverability,
            may_restart_database=info.text.may_restart_database,
        )


@strawberry.type(description="One session a backup policy would set up.")
class BackupPolicySession:
    name: str = strawberry.field(description="Session name, for example full-backup.")
    schedule: str | None = strawberry.field(
        description="Cron schedule; may be a placeholder such as ${schedule}."
    )
    methods: list[BackupMethod] = strawberry.field(
        description="Backup methods of the session's addon tasks."
    )

    @classmethod
    def all_of(cls, raw: objects.Raw) -> list[BackupPolicySession]:
        """The named sessions of a blueprint's template."""
        result = []
        for session in objects.mappings_at(raw, *_TEMPLATE, "sessions"):
            name = objects.str_at(session, "name")
            if name is not None:
                tasks = objects.addon_task_names(session)
                result.append(
                    cls(
                        name=name,
                        schedule=objects.str_at(session, "scheduler", "schedule"),
                        methods=[BackupMethod(m) for m in objects.task_methods(tasks)],
                    )
                )
        return result


@strawberry.type(
    description=(
        "A BackupBlueprint that a database of the asked kind in the asked namespace may use."
    )
)
class BackupPolicy(Node, Resource):
    API_GROUP: ClassVar[str] = "core.kubestash.com"
    KIND: ClassVar[str] = "BackupBlueprint"

    # The namespace `backupPolicies` was asked about, which `choices` answers for when
    # no namespace is given; None where the policy was reached otherwise (node, a join).
    listed_for: strawberry.Private[str | None] = None

    @classmethod
    def listed(cls, item: Item, namespace: str) -> Self:
        """The policy as `backupPolicies(namespace:)` lists it."""
        return cls(raw=item.raw, cluster_name=item.cluster, listed_for=namespace)

    @strawberry.field(description="Backup methods its sessions use, with their trade-offs.")
    def methods(self) -> list[BackupMethodInfo]:
        return [BackupMethodInfo.of(m) for m in policies.blueprint_methods(self.item())]

    @strawberry.field(description="Sessions from `spec.backupConfigurationTemplate.sessions`.")
    def sessions(self) -> list[BackupPolicySession]:
        return BackupPolicySession.all_of(self.raw)

    @strawberry.field(description="The RetentionPolicy its backends use.")
    def retention_policy(self, info: Info) -> RetentionPolicy | None:
        # A policy summary: shown to whoever may use the blueprint, like the blueprint.
        return RetentionPolicy.maybe(policies.blueprint_retention(graph_of(info), self.item()))

    @strawberry.field(
        description=(
            "The BackupStorage it writes to, as a summary (name, provider); its `location` "
            "is null unless the viewer may read that BackupStorage."
        )
    )
    def storage(self, info: Info) -> BackupStorage | None:
        graph = graph_of(info)
        found = policies.blueprint_storage(graph, self.item())
        return BackupStorage.for_viewer(graph, found) if found is not None else None

    @strawberry.field(description="Which namespaces may use it (`spec.usagePolicy`).")
    def usage(self) -> UsageScope:
        return UsageScope(objects.usage_scope(self.raw))

    @strawberry.field(description="Placeholders the user fills in, for example schedule.")
    def variables(self) -> list[str]:
        return objects.placeholders(objects.dig(self.raw, *_TEMPLATE))

    @strawberry.field(description="What a user may set when enabling backup with it.")
    async def choices(
        self,
        info: Info,
        namespace: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "The database's namespace; null: the one it was listed for, else its own."
                )
            ),
        ] = strawberry.UNSET,  # the contract states no default
    ) -> BackupPolicyChoices:
        graph = graph_of(info)
        if namespace is None or namespace is strawberry.UNSET:
            namespace = self.listed_for or objects.namespace_of(self.raw) or ""
        found = await offers.policy_choices(graph, blueprint=self.item(), namespace=namespace)
        choices = found.found
        return BackupPolicyChoices(
            sessions=[
                BackupPolicySessionChoice(
                    name=s.name,
                    methods=[BackupMethod(m) for m in s.methods],
                    schedule=s.schedule,
                    may_set_schedule=s.may_set_schedule,
                )
                for s in choices.sessions
            ],
            may_choose_retention=choices.may_choose_retention,
            retention_policies=[RetentionPolicy.from_item(r) for r in found.retention_policies],
            may_use_own_storage=choices.may_use_own_storage,
            own_storages=[BackupStorage.for_viewer(graph, s) for s in found.own_storages],
            variables=list(choices.variables),
        )
