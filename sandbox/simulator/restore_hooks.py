"""A RestoreSession's phase, derived as KubeStash derives it, and its post-restore hooks.

The phase (``restoresession_helpers.go``, reference §1.9): Invalid if ValidationPassed is
False; Failed if MetricsPushed, RestoreExecutorEnsured, PreRestoreHooksExecutionSucceeded
or PostRestoreHooksExecutionSucceeded is False, or RestoreIncomplete True, or a component
Failed; Pending while no component is reported; Succeeded once every component
Succeeded, the post-restore hooks (if any) succeeded and the metrics were pushed;
Running otherwise.

Hooks: each ``spec.hooks.postRestore[]`` entry runs after the data, in order, one
``hook_seconds`` each, reported in ``status.hooks.postHooks[] {name, phase}`` (Pending,
then Succeeded or Failed) and summed up in PostRestoreHooksExecutionSucceeded. Its
``executionPolicy`` (default Always) decides whether it runs: OnSuccess only after the
data restored, OnFailure only after it failed. A hook fails when its HookTemplate is
missing or does not admit the namespace, or when failure is injected: the HookTemplate
annotated ``sim.stashql.io/fail: "true"`` (or ``simulator.stashql.dev/fail`` listing
``hook``, also on the RestoreSession), or the entry's ``params`` holding
``fail: "true"``. A failed hook makes the RestoreSession Failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apis.objects import annotations_of, mapping_at, mappings_at, str_at, text_at
from apis.resources import HOOK_TEMPLATES
from sandbox import objects as o
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import ns_of

HOOK_FAIL = "sim.stashql.io/fail"
POST_HOOKS_CONDITION = "PostRestoreHooksExecutionSucceeded"
_MUST_HOLD = ("MetricsPushed", "RestoreExecutorEnsured", "PreRestoreHooksExecutionSucceeded")


def restore_phase(status: Mapping[str, Any], *, with_hooks: bool) -> str:
    """The RestoreSession phase its conditions and components say (module docstring)."""
    conds = mappings_at(status, "conditions")

    def state(kind: str) -> str | None:
        return o.condition_status(conds, kind)

    if state("ValidationPassed") == "False":
        return "Invalid"
    if (
        any(state(kind) == "False" for kind in (*_MUST_HOLD, POST_HOOKS_CONDITION))
        or state("RestoreIncomplete") == "True"
    ):
        return "Failed"
    components = mapping_at(status, "components")
    if not components:
        return "Pending"
    phases = {str_at(c, "phase") for c in components.values()}
    if "Failed" in phases:
        return "Failed"
    hooks_done = not with_hooks or state(POST_HOOKS_CONDITION) == "True"
    if phases == {"Succeeded"} and hooks_done and state("MetricsPushed") == "True":
        return "Succeeded"
    return "Running"


@dataclass(frozen=True)
class HookResult:
    name: str
    phase: str  # Pending, Succeeded, Failed
    message: str = ""


def post_hooks(rs: Mapping[str, Any], *, data_failed: bool) -> list[Mapping[str, Any]]:
    """The ``spec.hooks.postRestore`` entries that run after this data outcome."""
    chosen = []
    for hook in mappings_at(rs, "spec", "hooks", "postRestore"):
        policy = str_at(hook, "executionPolicy") or "Always"
        if policy == "Always" or (policy == "OnFailure") == data_failed:
            chosen.append(hook)
    return chosen


def hook_failure(cluster: Cluster, rs: Mapping[str, Any], hook: Mapping[str, Any]) -> str:
    """Why ``hook`` fails ("" if it succeeds)."""
    ref = mapping_at(hook, "hookTemplate")
    ns, name = str_at(ref, "namespace") or ns_of(rs), text_at(ref, "name")
    template = cluster.view(HOOK_TEMPLATES, (ns, name)) if name else None
    if template is None:
        return f"HookTemplate {ns}/{name} not found"
    if not cluster.allowed(template, ns_of(rs)):
        return f"HookTemplate {ns}/{name} is not allowed in namespace {ns_of(rs)}"
    params = mapping_at(hook, "params")
    injected = (
        str(params.get("fail", "")).lower() == "true"
        or annotations_of(template).get(HOOK_FAIL, "").lower() == "true"
        or cluster.sim.injected("hook", template, rs)
    )
    if injected:
        return (
            f"hook {text_at(hook, 'name')} ({ns}/{name}) failed: command terminated with "
            "exit code 1"
        )
    return ""


def run_hooks(
    cluster: Cluster,
    rs: Mapping[str, Any],
    hooks: list[Mapping[str, Any]],
    *,
    elapsed: float,
    hook_seconds: float,
) -> list[HookResult]:
    """Where each hook is ``elapsed`` seconds after the data: they run one after another."""
    out = []
    for index, hook in enumerate(hooks):
        name = text_at(hook, "name") or f"hook-{index}"
        if elapsed < (index + 1) * hook_seconds:
            out.append(HookResult(name, "Pending"))
            continue
        why = hook_failure(cluster, rs, hook)
        out.append(HookResult(name, "Failed" if why else "Succeeded", why))
    return out
