"""Admin inputs and payloads for HookTemplates."""

from __future__ import annotations

import strawberry

from schema.hooks import HookExecutorType, HookTemplate
from schema.inputs import ObjectRefInput
from schema.mutations.conventions import (
    Payload,
    UsagePolicyInput,
    cluster_field,
    dry_run,
    idempotency_key,
    optional,
)
from schema.scalars import JSON


@strawberry.input(description="Where a hook runs.")
class HookExecutorInput:
    type: HookExecutorType = strawberry.field(description="The executor.")
    function: str | None = optional("FUNCTION: the Function's name.")
    pod_selector: str | None = optional(
        "POD: label selector of the pods, for example app.kubernetes.io/instance=mydb."
    )
    on_all_pods: bool | None = strawberry.field(
        default=False, description="POD: run in every selected pod, not just one."
    )


@strawberry.input(description="A parameter a hook takes.")
class HookParameterInput:
    name: str = strawberry.field(description="Parameter name.")
    usage: str | None = optional("What it is for.")
    required: bool | None = strawberry.field(
        default=False, description="Whether a value must be given."
    )
    default: str | None = optional("Value when none is given.")


@strawberry.input(
    description=(
        "Input of createHookTemplate: a reusable action, for example a check after a restore."
    )
)
class CreateHookTemplateInput:
    cluster: str | None = cluster_field()
    namespace: str = strawberry.field(description="Namespace of the new HookTemplate.")
    name: str = strawberry.field(description="Its name.")
    action: JSON = strawberry.field(
        description=(
            "A probe handler (exec, httpGet, httpPost or tcpSocket); the hook fails if it fails."
        )
    )
    executor: HookExecutorInput = strawberry.field(description="Where it runs.")
    params: list[HookParameterInput] | None = optional("Parameters users fill in.")
    usage: UsagePolicyInput | None = optional("Which namespaces may use it.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of createHookTemplate.")
class CreateHookTemplatePayload(Payload):
    hook_template: HookTemplate | None = strawberry.field(
        default=None, description="The new HookTemplate; null on a dry run or error."
    )


@strawberry.input(
    description=(
        "Input of updateHookTemplate; fields left null keep their value. "
        "Hooks use the new version from their next run."
    )
)
class UpdateHookTemplateInput:
    hook_template: ObjectRefInput = strawberry.field(description="The HookTemplate to change.")
    action: JSON | None = optional("New action.")
    executor: HookExecutorInput | None = optional("New executor.")
    params: list[HookParameterInput] | None = optional("New parameters, replacing the old ones.")
    usage: UsagePolicyInput | None = optional("New usage policy.")
    dry_run: bool | None = dry_run()
    idempotency_key: str | None = idempotency_key()


@strawberry.type(description="Result of updateHookTemplate.")
class UpdateHookTemplatePayload(Payload):
    hook_template: HookTemplate | None = strawberry.field(
        default=None, description="The changed HookTemplate; null on a dry run or error."
    )
