"""UsagePolicyInput → a KubeStash ``usagePolicy`` (and a KubeDB archiver's
``databases.namespaces``, which has the same ``from``/``selector`` shape).

``namespaces: [a, b]`` is shorthand for a selector on the ``kubernetes.io/metadata.name``
label, which Kubernetes puts on every namespace, so the object admits exactly those
namespaces by name. A usage input left out means the KubeStash default, Same, so
nothing is written for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from resolvers.writes.admin.common import check_label_selector, check_name
from resolvers.writes.admin.inputs import UsagePolicy
from resolvers.writes.plan import JSONDict, Plan

NAME_LABEL = "kubernetes.io/metadata.name"
_SCOPES = {"ALL": "All", "SAME": "Same", "SELECTOR": "Selector"}


def allowed_namespaces(plan: Plan, usage: UsagePolicy, *, field: Sequence[str]) -> JSONDict | None:
    """``{from, selector}`` for the input, or None (and a user error) if it is wrong."""
    scope = _SCOPES.get(usage.from_)
    if scope is None:
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)}.from must be ALL, SAME or SELECTOR, not {usage.from_!r}.",
            field=(*field, "from"),
        )
        return None
    given = usage.selector is not None, usage.namespaces is not None
    if scope != "Selector":
        if any(given):
            plan.refuse(
                "INVALID_INPUT",
                f"{'.'.join(field)}: selector and namespaces apply only with from: SELECTOR; "
                "leave them out or use SELECTOR.",
                field=field,
            )
            return None
        return {"from": scope}
    if all(given) or not any(given):
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)}: from: SELECTOR needs exactly one of selector (a label "
            "selector on namespaces) or namespaces (a list of names).",
            field=field,
        )
        return None
    if usage.selector is not None:
        if not check_label_selector(plan, usage.selector, field=(*field, "selector")):
            return None
        return {"from": scope, "selector": usage.selector}
    wanted = list(dict.fromkeys(usage.namespaces or ()))
    if not wanted:
        plan.refuse(
            "INVALID_INPUT",
            f"{'.'.join(field)}.namespaces is empty; name at least one namespace.",
            field=(*field, "namespaces"),
        )
        return None
    ok = True
    for i, ns in enumerate(wanted):
        ok = check_name(plan, ns, field=(*field, "namespaces", str(i)), label=True) and ok
    if not ok:
        return None
    selector = {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": wanted}]}
    return {"from": scope, "selector": selector}


def usage_policy(
    plan: Plan, usage: UsagePolicy, *, field: Sequence[str] = ("usage",)
) -> JSONDict | None:
    """The ``usagePolicy`` of a BackupStorage, RetentionPolicy, BackupBlueprint or
    HookTemplate."""
    allowed = allowed_namespaces(plan, usage, field=field)
    return None if allowed is None else {"allowedNamespaces": allowed}


def usage_text(policy: JSONDict | None) -> str:
    """How a summary says who may use the object."""
    allowed = (policy or {}).get("allowedNamespaces") or {}
    scope = allowed.get("from") or "Same"
    if scope == "All":
        return "usable from every namespace"
    if scope == "Same":
        return "usable from its own namespace"
    exprs = (allowed.get("selector") or {}).get("matchExpressions") or []
    if len(exprs) == 1 and exprs[0].get("key") == NAME_LABEL and exprs[0].get("operator") == "In":
        return f"usable from namespaces {', '.join(exprs[0].get('values') or [])}"
    return "usable from namespaces matching a selector"
