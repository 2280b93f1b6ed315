"""Putting a patched object back: the JSON merge patch from the object after our apply to
the object before it, limited to the fields the apply body named.

Limiting it to the apply body's fields matters: whatever else differs between the two
reads (``status`` a controller wrote, another manager's labels, ``resourceVersion``) was
not changed by this call and must not be rolled back by it. A list is put back whole (a
merge patch cannot address list items), which is what the apply replaced anyway.
"""

from __future__ import annotations

from typing import Any

from resolvers.writes.plan import JSONDict

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
