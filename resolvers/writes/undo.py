"""Undoing what a call applied, when a later step of it fails (``engine.py``'s step 3).

What was created is deleted (only that very object, by uid). A patched object is put
back with the JSON merge patch from the object after our apply to the object before it,
limited to the fields the apply body named.

Limiting it to the apply body's fields matters: whatever else differs between the two
reads (``status`` a controller wrote, another manager's labels, ``resourceVersion``) was
not changed by this call and must not be rolled back by it. A list is put back whole (a
merge patch cannot address list items), which is what the apply replaced anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kube.client import ApiError, KubeError
from resolvers.writes.plan import Change, JSONDict, UserError
from resolvers.writes.refusals import describe, refusal
from resolvers.writes.wire import Wire

log = logging.getLogger("stashql.writes")

# Server-owned or identity fields: never part of what undo writes.
_SKIP_TOP = frozenset({"apiVersion", "kind", "status"})
_SKIP_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


def restore_patch(*, before: JSONDict, after: JSONDict, applied: JSONDict) -> JSONDict:
    """The merge patch that turns ``after`` back into ``before`` for the fields in ``applied``.

    Empty when the apply changed nothing.
    """
    patch: JSONDict = {}
    for key, value in applied.items():
        if key in _SKIP_TOP:
            continue
        skip = _SKIP_METADATA if key == "metadata" else frozenset()
        diff = _diff(before.get(key, _MISSING), after.get(key, _MISSING), value, skip)
        if diff is not _MISSING:
            patch[key] = diff
    return patch


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _diff(before: Any, after: Any, applied: Any, skip: frozenset[str]) -> Any:
    """The merge-patch value for one field, or _MISSING when nothing needs restoring."""
    if before == after:
        return _MISSING
    if before is _MISSING:
        return None  # the apply added it: a merge patch removes a field with null
    if isinstance(before, dict) and isinstance(after, dict) and isinstance(applied, dict):
        out: JSONDict = {}
        for key, value in applied.items():
            if key in skip:
                continue
            diff = _diff(before.get(key, _MISSING), after.get(key, _MISSING), value, frozenset())
            if diff is not _MISSING:
                out[key] = diff
        # An atomic map (a Service's spec.selector) is replaced whole by the apply: the
        # keys it dropped are not in the apply body, yet this call removed them.
        for key, value in before.items():
            if key not in skip and key not in applied and key not in after:
                out[key] = value
        return out or _MISSING
    return before


@dataclass
class Done:
    """One applied step, with what undoing it needs."""

    change: Change
    after: JSONDict
    before: JSONDict | None = None
    applied: JSONDict | None = None


async def undo_applied(
    wire: Wire, done: list[Done], error: UserError, *, timeout: float
) -> UserError:
    """Undo ``done`` in reverse, as the caller; the error to answer (saying so if
    undoing failed)."""
    failed: list[str] = []
    for step in reversed(done):
        change = step.change
        path = change.resource.path(namespace=change.namespace, name=change.name)
        if change.action == "DELETE":
            # Only a later DELETE can fail after one went through (deletes come last).
            log.error("cannot undo DELETE %s", describe(change))
            failed.append(f"{describe(change)} (it was deleted and cannot be put back)")
            continue
        try:
            if change.action == "CREATE":
                uid = step.after.get("metadata", {}).get("uid")
                await wire.as_caller(
                    change.cluster,
                    "DELETE",
                    path,
                    body={"preconditions": {"uid": uid}} if uid else None,
                    timeout=timeout,
                )
            elif change.action == "PATCH" and step.before and step.applied:
                patch = restore_patch(before=step.before, after=step.after, applied=step.applied)
                if patch:
                    await wire.as_caller(
                        change.cluster,
                        "PATCH",
                        path,
                        body=patch,
                        content_type="application/merge-patch+json",
                        timeout=timeout,
                    )
            log.info("undid %s %s", change.action, describe(change))
        except KubeError as exc:
            if isinstance(exc, ApiError) and exc.status == 404 and change.action == "CREATE":
                continue  # already gone
            why = refusal(exc, change).message  # redacted, unlike the raw answer
            log.error("could not undo %s %s: %s", change.action, describe(change), why)
            failed.append(f"{describe(change)} ({why})")
    if not failed:
        return error
    return UserError(
        error.code,
        f"{error.message} Undoing the earlier steps failed for {', '.join(failed)}; "
        "check those objects.",
        error.field,
    )
