"""The write engine's pure parts: refusal messages, undo patches, digests, plan rules."""

from __future__ import annotations

import pytest

from apis.resources import RETENTION_POLICIES, SECRETS, ResourceType
from core.identity import Viewer
from kube.client import ApiError, Unreachable, extra_header
from resolvers.writes.engine import PlanError, Writer, WriteSettings, request_body
from resolvers.writes.idempotency import input_digest, record_name
from resolvers.writes.plan import Action, Change, Plan
from resolvers.writes.refusals import field_path, refusal
from resolvers.writes.undo import restore_patch


def rp(action: Action = "CREATE", name: str = "keep") -> Change:
    return Change(action, "c1", RETENTION_POLICIES, "team-a", name, "s", {"spec": {}})


def status(code: int, reason: str, message: str, **details: object) -> ApiError:
    body = {"kind": "Status", "code": code, "reason": reason, "message": message}
    if details:
        body["details"] = details
    return ApiError("c1", code, body)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("spec.sessions[0].scheduler.schedule", ("spec", "sessions", "0", "scheduler", "schedule")),
        ("spec.successfulSnapshots.last", ("spec", "successfulSnapshots", "last")),
        ("metadata.name", ("metadata", "name")),
        ("spec.a[1][2]", ("spec", "a", "1", "2")),
    ],
)
def test_field_paths(text: str, path: tuple[str, ...]) -> None:
    assert field_path(text) == path


def test_invalid_names_the_object_and_the_field() -> None:
    exc = status(
        422,
        "Invalid",
        'RetentionPolicy.storage.kubestash.com "keep" is invalid: ...',
        causes=[
            {
                "reason": "FieldValueTypeInvalid",
                "field": "spec.successfulSnapshots.last",
                "message": 'Invalid value: "string": must be integer',
            }
        ],
    )
    error = refusal(exc, rp())
    assert error.code == "INVALID_INPUT"
    assert error.field == ("spec", "successfulSnapshots", "last")
    assert "RetentionPolicy team-a/keep on cluster c1" in error.message
    assert "must be integer" in error.message


def test_a_secret_value_quoted_by_the_api_server_is_cut_out() -> None:
    secret = Change("CREATE", "c1", SECRETS, "team-a", "cred", "s", {"data": {"k": "hunter2"}})
    exc = status(
        422,
        "Invalid",
        'Secret "cred" is invalid: data[k]: Invalid value: "hunter2": bad',
        causes=[{"field": "data[k]", "message": 'Invalid value: "hunter2": bad'}],
    )
    error = refusal(exc, secret)
    assert "hunter2" not in error.message
    assert error.field == ("data", "k")


@pytest.mark.parametrize(
    ("exc", "action", "code"),
    [
        (status(403, "Forbidden", 'User "bob" cannot create'), "CREATE", "FORBIDDEN"),
        (status(404, "NotFound", "not found"), "PATCH", "NOT_FOUND"),
        (status(409, "AlreadyExists", "already exists"), "CREATE", "TARGET_EXISTS"),
        (status(409, "Conflict", "the object has been modified"), "PATCH", "CONFLICT"),
        (status(503, "ServiceUnavailable", "etcd down"), "CREATE", "CLUSTER_UNAVAILABLE"),
        (
            status(400, "BadRequest", 'admission webhook "v.kubedb.com" denied the request: no'),
            "CREATE",
            "ADMISSION_DENIED",
        ),
        (
            status(
                422,
                "Invalid",
                "x is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no",
            ),
            "CREATE",
            "ADMISSION_DENIED",
        ),
        (Unreachable("c1", "timed out", timeout=True), "DELETE", "CLUSTER_UNAVAILABLE"),
    ],
)
def test_refusal_codes(exc: Exception, action: Action, code: str) -> None:
    assert isinstance(exc, ApiError | Unreachable)
    error = refusal(exc, rp(action))
    assert error.code == code
    assert "keep" in error.message


def test_undo_restores_exactly_what_the_patch_touched() -> None:
    before = {
        "metadata": {"name": "p", "resourceVersion": "1", "labels": {"a": "1"}},
        "spec": {"max": "30d", "keep": {"last": 3}, "list": [1, 2]},
        "status": {"phase": "Old"},
    }
    after = {
        "metadata": {"name": "p", "resourceVersion": "2", "labels": {"a": "1", "b": "2"}},
        "spec": {"max": "90d", "keep": {"last": 3}, "list": [9], "default": True, "other": 1},
        "status": {"phase": "New"},
    }
    applied = {
        "metadata": {"name": "p", "labels": {"b": "2"}},
        "spec": {"max": "90d", "list": [9], "default": True},
    }
    assert restore_patch(before=before, after=after, applied=applied) == {
        "metadata": {"labels": {"b": None}},
        "spec": {"max": "30d", "list": [1, 2], "default": None},
    }
    assert restore_patch(before=before, after=before, applied=applied) == {}


def test_input_digest_is_canonical_and_ignores_how_to_run() -> None:
    one = input_digest("m", {"a": 1, "b": {"y": 2, "x": 1}, "dryRun": False})
    two = input_digest("m", {"b": {"x": 1, "y": 2}, "a": 1, "idempotencyKey": "k"})
    assert one == two
    assert input_digest("other", {"a": 1, "b": {"y": 2, "x": 1}}) != one
    assert input_digest("m", {"a": 2, "b": {"y": 2, "x": 1}}) != one


def test_record_names_are_per_caller_and_valid_configmap_names() -> None:
    name = record_name("alice", "key")
    assert name.startswith("idem-")
    assert len(name) == 45
    assert name != record_name("bob", "key")
    assert name != record_name("alic", "ekey")


def test_extra_keys_are_percent_encoded_header_names() -> None:
    assert extra_header("scopes") == "Impersonate-Extra-scopes"
    assert (
        extra_header("authentication.kubernetes.io/pod-name")
        == "Impersonate-Extra-authentication.kubernetes.io%2Fpod-name"
    )


async def test_a_write_after_a_delete_is_a_programming_error() -> None:
    plan = Plan(changes=[rp("DELETE", "old"), rp("CREATE", "new")])
    with pytest.raises(PlanError, match="deletes must come last"):
        await Writer(clients={}).run(
            plan,
            caller=Viewer("alice"),
            mutation="m",
            input_digest="d",
            dry_run=True,
            idempotency_key=None,
        )


async def test_a_refused_plan_sends_nothing() -> None:
    plan = Plan(changes=[rp()]).refuse("INVALID_SCHEDULE", "Bad schedule.", field=["schedule"])
    outcome = await Writer(clients={}).run(
        plan,
        caller=Viewer("alice"),
        mutation="m",
        input_digest="d",
        dry_run=False,
        idempotency_key="k",
    )
    assert [e.code for e in outcome.plan.errors] == ["INVALID_SCHEDULE"]
    assert outcome.round_trips == 0


async def test_too_many_changes_are_refused_before_anything_is_sent() -> None:
    plan = Plan(changes=[rp(name="a"), rp(name="b")])
    outcome = await Writer(clients={}, settings=WriteSettings(max_changes=1)).run(
        plan,
        caller=Viewer("alice"),
        mutation="m",
        input_digest="d",
        dry_run=False,
        idempotency_key=None,
    )
    assert [e.code for e in outcome.plan.errors] == ["INVALID_INPUT"]
    assert "at most 1" in outcome.plan.errors[0].message
    assert outcome.round_trips == 0


def test_status_is_never_sent_where_it_is_a_subresource() -> None:
    storage = ResourceType(
        group="storage.kubestash.com",
        version="v1alpha1",
        plural="backupstorages",
        kind="BackupStorage",
        status_subresource=True,
    )
    body = {"spec": {"default": True}, "status": {"phase": "Ready"}}
    sent = request_body(Change("CREATE", "c1", storage, "team-a", "s3", "s", body))
    assert "status" not in sent
    assert sent["metadata"] == {"name": "s3", "namespace": "team-a"}
    assert sent["apiVersion"] == "storage.kubestash.com/v1alpha1"
    assert sent["kind"] == "BackupStorage"
    # A kind whose status is part of the object keeps what the planner put there.
    plain = request_body(Change("CREATE", "c1", RETENTION_POLICIES, "team-a", "p", "s", body))
    assert plain["status"] == {"phase": "Ready"}
