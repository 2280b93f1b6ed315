"""KubeStash HookTemplates (core.kubestash.com): reusable hooks, such as restore checks."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

import strawberry

from apis import objects
from apis.resources import CORE
from schema.described import Described
from schema.enums import UsageScope

EXECUTOR_TYPES = ("FUNCTION", "POD", "OPERATOR")


@strawberry.enum(description="Where a hook runs.")
class HookExecutorType(Enum):
    FUNCTION = strawberry.enum_value(
        "FUNCTION", description="In a Job, with a KubeStash Function's image."
    )
    POD = strawberry.enum_value(
        "POD", description="Inside pods chosen by a selector, for example the database's pods."
    )
    OPERATOR = strawberry.enum_value("OPERATOR", description="In the KubeStash operator.")


@strawberry.type(description="A parameter a hook takes.")
class HookParameter:
    name: str = strawberry.field(description="Parameter name.")
    usage: str | None = strawberry.field(description="What it is for.")
    required: bool = strawberry.field(description="Whether a value must be given.")
    default: str | None = strawberry.field(description="Value when none is given.")


@strawberry.type(description="A reusable hook, for example a check run after a restore.")
class HookTemplate(Described):
    API_GROUP: ClassVar[str] = CORE
    KIND: ClassVar[str] = "HookTemplate"

    @strawberry.field(description="Where it runs.")
    def executor(self) -> HookExecutorType:
        # `spec.executor.type` (Function | Pod | Operator) is required upstream; an object
        # without a known one reads FUNCTION, the executor KubeStash documents first.
        value = objects.dig(self.raw, "spec", "executor", "type")
        return HookExecutorType(objects.enum_name(value, allowed=EXECUTOR_TYPES) or "FUNCTION")

    @strawberry.field(description="Parameters users fill in.")
    def params(self) -> list[HookParameter]:
        return [
            HookParameter(
                name=name,
                usage=objects.str_at(param, "usage"),
                required=objects.bool_at(param, "required") or False,
                default=objects.str_at(param, "default"),
            )
            for param in objects.mappings_at(self.raw, "spec", "params")
            if (name := objects.str_at(param, "name"))
        ]

    @strawberry.field(description="Which namespaces may use it.")
    def usage(self) -> UsageScope:
        return UsageScope(objects.usage_scope(self.raw))
