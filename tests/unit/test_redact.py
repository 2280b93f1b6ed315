"""Secret values read <redacted> wherever the write path shows a change or an object."""

from __future__ import annotations

import json
from typing import Any

from apis.objects import LAST_APPLIED
from apis.resources import RETENTION_POLICIES, SECRETS
from resolvers.writes.plan import Change, Plan
from resolvers.writes.redact import redact_object, redacted, redacted_plan

VALUE = "s3cr3t-value"


def secret_change(body: dict[str, Any]) -> Change:
    return Change("CREATE", "c1", SECRETS, "team-a", "cred", "Stores the credentials.", body)


def test_secret_values_are_redacted_and_keys_kept() -> None:
    body = {"data": {"a": "czNjcjN0"}, "stringData": {"b": VALUE}, "type": "Opaque"}
    shown = redacted(secret_change(body))
    assert shown["object"]["data"] == {"a": "<redacted>"}
    assert shown["object"]["stringData"] == {"b": "<redacted>"}
    assert shown["object"]["type"] == "Opaque"
    assert shown["kind"] == "Secret"
    assert shown["summary"] == "Stores the credentials."
    assert body["stringData"] == {"b": VALUE}, "the change itself is not modified"


def test_the_last_applied_annotation_of_a_secret_is_redacted() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "x", "annotations": {LAST_APPLIED: json.dumps({"data": VALUE})}},
    }
    shown = redact_object(obj)
    assert shown is not None
    assert VALUE not in json.dumps(shown)
    assert shown["metadata"]["name"] == "x"


def test_other_objects_are_left_as_they_are() -> None:
    body = {"spec": {"data": {"keep": "this"}}, "data": {"x": "y"}}
    change = Change("CREATE", "c1", RETENTION_POLICIES, "team-a", "p", "Adds it.", body)
    assert redacted(change)["object"] == body
    # A ConfigMap's data is not secret either.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"}}
    assert redact_object(cm) == cm


def test_a_redacted_plan_keeps_everything_but_the_values() -> None:
    plan = Plan(changes=[secret_change({"stringData": {"b": VALUE}})])
    plan.warn("SNAPSHOTS_KEPT", "Snapshots stay.")
    plan.refuse("FORBIDDEN", "No.")
    shown = redacted_plan(plan)
    assert VALUE not in repr(shown)
    assert shown.warnings == plan.warnings
    assert shown.errors == plan.errors
    assert shown.changes[0].name == "cred"
    assert plan.changes[0].body == {"stringData": {"b": VALUE}}
