"""createRetentionPolicy / updateRetentionPolicy (reference §1.5).

``maxRetentionPeriod`` follows KubeStash's duration format: units y, mo, w, d, h, m in
that order, each at most once, for example ``30d``, ``6mo`` or ``1y2mo3w4d5h6m``.
"""

from __future__ import annotations

import re

from apis import objects
from apis.resources import RETENTION_POLICIES
from resolvers.writes.admin.common import (
    body,
    check_absent,
    check_default,
    check_place,
    lookup,
    unchanged,
    update_body,
)
from resolvers.writes.admin.inputs import (
    CreateRetentionPolicy,
    RetentionCounts,
    UpdateRetentionPolicy,
)
from resolvers.writes.admin.usage import usage_policy, usage_text
from resolvers.writes.plan import Change, JSONDict, Plan, Store

_PERIOD = re.compile(r"^(\d+y)?(\d+mo)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?$")
_DEFAULTS = {"default": False, "failedSnapshots": {"last": 1}}
COUNT_FIELDS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")


def check_period(plan: Plan, value: str, *, field: tuple[str, ...]) -> bool:
    match = _PERIOD.match(value)
    if (
        value
        and match
        and any(int(g[:-2] if g.endswith("mo") else g[:-1]) for g in match.groups() if g)
    ):
        return True
    plan.refuse(
        "INVALID_INPUT",
        f"{'.'.join(field)} {value!r} is not a retention period: use units y, mo, w, d, h, m "
        "in that order, for example 30d, 6mo or 1y2mo3w4d5h6m.",
        field=field,
    )
    return False


def _counts(plan: Plan, counts: RetentionCounts) -> JSONDict | None:
    out: JSONDict = {}
    for name in COUNT_FIELDS:
        value = getattr(counts, name)
        if value is None:
            continue
        if value < 0:
            plan.refuse(
                "INVALID_INPUT",
                f"successfulSnapshots.{name} is {value}; give a count of 0 or more.",
                field=("successfulSnapshots", name),
            )
            return None
        out[name] = value
    return out


def _check_failed(plan: Plan, value: int) -> bool:
    if value >= 0:
        return True
    plan.refuse(
        "INVALID_INPUT",
        f"failedSnapshotsLast is {value}; give a count of 0 or more.",
        field=("failedSnapshotsLast",),
    )
    return False


def _keeps(spec: JSONDict) -> str:
    """``snapshots up to 30d old, the last 5, 7 daily and 1 failed one``."""
    parts = []
    if spec.get("maxRetentionPeriod"):
        parts.append(f"snapshots up to {spec['maxRetentionPeriod']} old")
    counts = spec.get("successfulSnapshots") or {}
    for name in COUNT_FIELDS:
        if name in counts:
            parts.append(f"the last {counts[name]}" if name == "last" else f"{counts[name]} {name}")
    failed = (spec.get("failedSnapshots") or {}).get("last", 1)
    parts.append(f"{failed} failed one{'' if failed == 1 else 's'}")
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]


def plan_create_retention_policy(inp: CreateRetentionPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ok = check_place(plan, inp.namespace, inp.name)
    if inp.max_retention_period is not None:
        check_period(plan, inp.max_retention_period, field=("maxRetentionPeriod",))
    counts = _counts(plan, inp.successful_snapshots) if inp.successful_snapshots else None
    _check_failed(plan, inp.failed_snapshots_last)
    usage = usage_policy(plan, inp.usage) if inp.usage is not None else None
    if ok:
        check_absent(
            plan,
            store,
            cluster=cluster,
            resource=RETENTION_POLICIES,
            namespace=inp.namespace,
            name=inp.name,
        )
    if inp.is_default:
        check_default(
            plan,
            store,
            cluster=cluster,
            resource=RETENTION_POLICIES,
            namespace=inp.namespace,
            name=inp.name,
            field=("isDefault",),
        )
    if plan.refused:
        return plan
    spec: JSONDict = {}
    if inp.max_retention_period is not None:
        spec["maxRetentionPeriod"] = inp.max_retention_period
    if counts:
        spec["successfulSnapshots"] = counts
    spec["failedSnapshots"] = {"last": inp.failed_snapshots_last}
    if usage is not None:
        spec["usagePolicy"] = usage
    spec["default"] = inp.is_default
    extra = "; the namespace default" if inp.is_default else ""
    plan.add(
        Change(
            action="CREATE",
            cluster=cluster,
            resource=RETENTION_POLICIES,
            namespace=inp.namespace,
            name=inp.name,
            summary=f"Create RetentionPolicy {inp.namespace}/{inp.name} keeping {_keeps(spec)}, "
            f"{usage_text(usage)}{extra}",
            body=body(RETENTION_POLICIES, inp.namespace, inp.name, spec),
        )
    )
    return plan


def plan_update_retention_policy(inp: UpdateRetentionPolicy, *, store: Store, cluster: str) -> Plan:
    plan = Plan()
    ref = inp.retention_policy
    current = lookup(
        plan,
        store,
        ref,
        cluster=cluster,
        resource=RETENTION_POLICIES,
        field=("retentionPolicy",),
    )
    if current is None:
        return plan
    now = objects.mapping_at(current, "spec")
    spec: JSONDict = {
        k: now[k]
        for k in (
            "maxRetentionPeriod",
            "successfulSnapshots",
            "failedSnapshots",
            "usagePolicy",
            "default",
        )
        if k in now
    }
    if inp.max_retention_period is not None and check_period(
        plan, inp.max_retention_period, field=("maxRetentionPeriod",)
    ):
        spec["maxRetentionPeriod"] = inp.max_retention_period
    if inp.successful_snapshots is not None:
        counts = _counts(plan, inp.successful_snapshots)
        if counts is not None:
            spec["successfulSnapshots"] = counts
    if inp.failed_snapshots_last is not None and _check_failed(plan, inp.failed_snapshots_last):
        spec["failedSnapshots"] = {"last": inp.failed_snapshots_last}
    if inp.usage is not None:
        usage = usage_policy(plan, inp.usage)
        if usage is not None:
            spec["usagePolicy"] = usage
    if inp.is_default is not None:
        if inp.is_default and not now.get("default"):
            check_default(
                plan,
                store,
                cluster=cluster,
                resource=RETENTION_POLICIES,
                namespace=ref.namespace,
                name=ref.name,
                field=("isDefault",),
            )
        spec["default"] = inp.is_default
    if plan.refused:
        return plan
    if not spec.get("successfulSnapshots"):
        spec.pop("successfulSnapshots", None)
    # Counts replaced by none at all drop the field, which ``unchanged`` cannot see.
    dropped = "successfulSnapshots" in now and "successfulSnapshots" not in spec
    same = unchanged(current, spec, _DEFAULTS) and not dropped
    if same:
        plan.add(
            Change(
                action="NONE",
                cluster=cluster,
                resource=RETENTION_POLICIES,
                namespace=ref.namespace,
                name=ref.name,
                summary=f"RetentionPolicy {ref.namespace}/{ref.name} is already as asked",
            )
        )
        return plan
    plan.add(
        Change(
            action="PATCH",
            cluster=cluster,
            resource=RETENTION_POLICIES,
            namespace=ref.namespace,
            name=ref.name,
            summary=f"Update RetentionPolicy {ref.namespace}/{ref.name} to keep {_keeps(spec)} "
            f"from each user's next backup, {usage_text(spec.get('usagePolicy'))}",
            body=update_body(RETENTION_POLICIES, current, spec),
        )
    )
    return plan
