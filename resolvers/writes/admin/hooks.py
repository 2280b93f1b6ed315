"""createHookTemplate / updateHookTemplate (reference §1.10).

``action`` is a probe handler with exactly one of exec, httpGet, httpPost or tcpSocket.
The executor maps FUNCTION/POD/OPERATOR to KubeStash's Function/Pod/Operator; POD
takes a label selector in string form (checked with the Kubernetes grammar) and runs
in one selected pod (ExecuteOnOne) or, with onAllPods, in every one (ExecuteOnAll).
Functions are cluster-scoped objects the gateway does not cache, so a Function's
existence is left to KubeStash, which reports it when the hook runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apis import objects
from apis.resources import HOOK_TEMPLATES
from core.errors import InvalidInput
from core.selectors import parse_selector
from resolvers.writes.admin.common import (
    body,
    check_absent,
    check_name,
    check_place,
    lookup,
    unchanged,
    update_body,
)
from resolvers.writes.admin.inputs import (
    CreateHookTemplate,
    HookExecutor,
    HookParameter,
    UpdateHookTemplate,
)
from resolvers.writes.admin.usage import usage_policy, usage_text
from resolvers.writes.plan import Change, JSONDict, Plan, Store

HANDLERS = ("exec", "httpGet", "httpPost", "tcpSocket")
EXECUTORS = {"FUNCTION": "Function", "POD": "Pod", "OPERATOR": "Operator"}


def _action(plan: Plan, action: Any) -> JSONDict | None:
    if (
        isinstance(action, Mapping)
        and len(action) == 1
        and next(iter(action)) in HANDLERS
        and isinstance(next(iter(action.values())), Mapping)
    ):
        return dict(action)
    plan.refuse(
        "INVALID_INPUT",
        "action must be one probe handler: an object with exactly one of exec, httpGet, "
        'httpPost or tcpSocket, for example {"exec": {"command": ["/check.sh"]}}.',
        field=("action",),
    )
    return None


def _executor(plan: Plan, executor: HookExecutor) -> JSONDict | None:
    kind = EXECUTORS.get(executor.type)
    if kind is None:
        plan.refuse(
            "INVALID_INPUT",
            "executor.type must be FUNCTION, POD or OPERATOR.",
            field=("executor", "type"),
        )
        return None
    if kind != "Function" and executor.function is not None:
        plan.refuse(
            "INVALID_INPUT",
            f"executor.function applies only to FUNCTION, not {executor.type}.",
            field=("executor", "function"),
        )
        return None
    if kind != "Pod" and (executor.pod_selector is not None or executor.on_all_pods):
        plan.refuse(
            "INVALID_INPUT",
            f"executor.podSelector and onAllPods apply only to POD, not {executor.type}.",
            field=("executor", "podSelector"),
        )
        return None
    out: JSONDict = {"type": kind}
    if kind == "Function":
        if not executor.function:
            plan.refuse(
                "INVALID_INPUT",
                "executor FUNCTION needs executor.function, the name of a KubeStash Function.",
                field=("executor", "function"),
            )
            return None
        if not check_name(plan, executor.function, field=("executor", "function")):
            return None
        out["function"] = {"name": executor.function}
    elif kind == "Pod":
        if not executor.pod_selector or not executor.pod_selector.strip():
            plan.refuse(
                "INVALID_INPUT",
                "executor POD needs executor.podSelector, a label selector of the pods, for "
                "example app.kubernetes.io/instance=mydb.",
                field=("executor", "podSelector"),
            )
            return None
        try:
            parse_selector(executor.pod_selector)
        except InvalidInput as exc:
            plan.refuse(
                "INVALID_INPUT",
                f"executor.podSelector: {exc.message}.",
                field=("executor", "podSelector"),
            )
            return None
        out["pod"] = {
            "selector": executor.pod_selector,
            "strategy": "ExecuteOnAll" if executor.on_all_pods else "ExecuteOnOne",
        }
    return out


def _params(plan: Plan, params: Sequence[HookParameter]) -> list[JSONDict] | None:
    out: list[JSONDict] = []
    seen: set[str] = set()
    for i, p in enumerate(params):
        if not p.name or p.name in seen:
            plan.refuse(
                "INVALID_INPUT",
                f"params.{i}: every parameter needs a name of its own"
                + (f" ({p.name} is given twice)." if p.name else "."),
                field=("params", str(i), "name"),
            )
            return None
        seen.add(p.name)
        entry: JSONDict = {"name": p.name, "required": p.required}
        if p.usage is not None:
            entry["usage"] = p.usage
        if p.default is not None:
            entry["default"] = p.default
        out.append(entry)
    return out


def _where(executor: Mapping[str, Any]) -> str:
    kind = executor.get("type")
    if kind == "Function":
        return f"in a Job running Function {(executor.get('function') or {}).get('name')}"
    if kind == "Pod":
        pod = executor.get("pod") or {}
        which = "every pod" if pod.get("strategy") == "ExecuteOnAll" else "one pod"
        return f"in {which} matching {pod.get('selector')}"
    return "in the KubeStash operator"


def plan_create_hook_template(inp: CreateHookTemplate, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ok = check_place(plan, inp.namespace, inp.name)
    action = _action(plan, inp.action)
    executor = _executor(plan, inp.executor)
    params = _params(plan, inp.params) if inp.params is not None else None
    usage = usage_policy(plan, inp.usage) if inp.usage is not None else None
    if ok:
        check_absent(
            plan,
            store,
            cluster=cluster,
            resource=HOOK_TEMPLATES,
            namespace=inp.namespace,
            name=inp.name,
        )
    if plan.refused or executor is None:
        return plan
    spec: JSONDict = {"action": action, "executor": executor}
    if params:
        spec["params"] = params
    if usage is not None:
        spec["usagePolicy"] = usage
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=HOOK_TEMPLATES,
            namespace=inp.namespace,
            name=inp.name,
            summary=f"Create HookTemplate {inp.namespace}/{inp.name} that runs "
            f"{_where(executor)}, {usage_text(usage)}",
            body=body(HOOK_TEMPLATES, inp.namespace, inp.name, spec),
        )
    )
    return plan


def plan_update_hook_template(inp: UpdateHookTemplate, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.hook_template
    current = lookup(
        plan, store, ref, cluster=cluster, resource=HOOK_TEMPLATES, field=("hookTemplate",)
    )
    if current is None:
        return plan
    now = objects.mapping_at(current, "spec")
    spec: JSONDict = {
        k: now[k] for k in ("action", "executor", "params", "usagePolicy") if k in now
    }
    if inp.action is not None and (action := _action(plan, inp.action)) is not None:
        spec["action"] = action
    if inp.executor is not None and (executor := _executor(plan, inp.executor)) is not None:
        spec["executor"] = executor
    if inp.params is not None and (params := _params(plan, inp.params)) is not None:
        if params:
            spec["params"] = params
        else:
            spec.pop("params", None)
    if inp.usage is not None and (usage := usage_policy(plan, inp.usage)) is not None:
        spec["usagePolicy"] = usage
    if plan.refused:
        return plan
    dropped = "params" in now and "params" not in spec  # params: [] removes them
    if unchanged(current, spec, {}) and not dropped:
        plan.add(
            Change(
                action="NONE",
                cluster=cluster,
                resource=HOOK_TEMPLATES,
                namespace=ref.namespace,
                name=ref.name,
                summary=f"HookTemplate {ref.namespace}/{ref.name} is already as asked",
            )
        )
        return plan
    plan.add(
        Change(
            action="PATCH",
            cluster=cluster,
            resource=HOOK_TEMPLATES,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Update HookTemplate {ref.namespace}/{ref.name}: it runs "
            f"{_where(objects.mapping_at(spec, 'executor'))} from each hook's next run, "
            f"{usage_text(spec.get('usagePolicy'))}",
            body=update_body(HOOK_TEMPLATES, current, spec),
        )
    )
    return plan
