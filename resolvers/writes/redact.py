"""Secret values never leave the write path: one redaction used for every plan body the
engine returns, every object it answers with, every log line and every audit entry.

A v1 Secret keeps its keys (a user needs to see *which* keys a plan writes) but every
value of ``data`` and ``stringData`` reads ``<redacted>``. The last-applied annotation
that ``kubectl apply`` leaves on a Secret holds the whole object, values included, so it
is redacted too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from apis.objects import LAST_APPLIED
from resolvers.writes.plan import Change, JSONDict, Plan

REDACTED = "<redacted>"


def is_secret(obj: JSONDict | None, *, api_version: str = "", kind: str = "") -> bool:
    if obj is not None:
        api_version = str(obj.get("apiVersion") or api_version)
        kind = str(obj.get("kind") or kind)
    return api_version == "v1" and kind == "Secret"


def redact_object(
    obj: JSONDict | None, *, api_version: str = "", kind: str = ""
) -> JSONDict | None:
    """A copy of ``obj`` with Secret values replaced (other objects are returned as they are).

    ``api_version`` and ``kind`` say what the object is when its body does not (a plan
    body may leave them to the change).
    """
    if obj is None or not is_secret(obj, api_version=api_version, kind=kind):
        return obj
    out: JSONDict = dict(obj)
    for section in ("data", "stringData"):
        values = out.get(section)
        if isinstance(values, dict):
            out[section] = dict.fromkeys(values, REDACTED)
        elif values is not None:
            out[section] = REDACTED
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            out["metadata"] = {
                **metadata,
                "annotations": {**annotations, LAST_APPLIED: REDACTED},
            }
    return out


def redacted_change(change: Change) -> Change:
    """The same change with its body redacted."""
    body = redact_object(change.body, api_version=change.api_version, kind=change.kind)
    return change if body is change.body else dataclasses.replace(change, body=body)


def redacted(change: Change) -> dict[str, Any]:
    """A change as JSON (the contract's PlannedChange fields), Secret values redacted: what
    log lines and audit entries carry."""
    return {
        "action": change.action,
        "cluster": change.cluster,
        "apiVersion": change.api_version,
        "kind": change.kind,
        "namespace": change.namespace,
        "name": change.name,
        "summary": change.summary,
        "object": redact_object(change.body, api_version=change.api_version, kind=change.kind),
    }


def redacted_plan(plan: Plan) -> Plan:
    """A copy of the plan whose every change body is redacted (warnings and errors kept)."""
    return Plan(
        changes=[redacted_change(c) for c in plan.changes],
        warnings=list(plan.warnings),
        errors=list(plan.errors),
    )
