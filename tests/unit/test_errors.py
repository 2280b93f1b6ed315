"""What clients see of errors: one code per error class, refusals audited, and each
error's message reaching the client with its code through the gateway's masking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

import core.errors
from auth.audit import AuditLog
from core.errors import GatewayError, LimitExceeded, NotImplementedYet, refused
from gateway.masking import MaskUnexpectedErrors
from resolvers.reads.context import ClusterInfo, RequestContext, Viewer


def error_classes() -> list[type[GatewayError]]:
    """GatewayError and every class below it, as defined in core/errors.py."""
    found: list[type[GatewayError]] = []
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [c for c in found if c.__module__ == core.errors.__name__]


def coded() -> dict[str, type[GatewayError]]:
    """Each class that gives itself a code (the others only group classes)."""
    return {c.code: c for c in error_classes() if "code" in vars(c)}


# Decided here, so that a new error class (or a changed flag) is a choice someone makes.
REFUSALS = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "QUERY_TOO_LARGE",
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "QUERY_TOO_COSTLY",
    "INTROSPECTION_DISABLED",
    "TOO_MANY_SUBSCRIPTIONS",
}
NOT_REFUSALS = {
    "INTERNAL",
    "AUTH_UNAVAILABLE",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "BAD_REQUEST",
    "NOT_IMPLEMENTED",
}


def test_every_code_is_unique() -> None:
    with_code = [c for c in error_classes() if "code" in vars(c)]
    codes = [c.code for c in with_code]
    assert len(codes) == len(set(codes)), sorted(codes)
    # A class without a code of its own only groups others (LimitExceeded).
    for cls in error_classes():
        if "code" not in vars(cls):
            assert cls.__subclasses__(), f"{cls.__name__} has no code of its own"
    assert set(coded()) == REFUSALS | NOT_REFUSALS


def test_refusals_are_audited_and_other_errors_are_not() -> None:
    for code, cls in coded().items():
        assert refused(code) is (code in REFUSALS), cls.__name__
        assert cls.refusal is (code in REFUSALS), cls.__name__
    for cls in LimitExceeded.__subclasses__():
        assert refused(cls.code), cls.__name__
    assert not refused(None)
    assert not refused("NO_SUCH_CODE")


def make(cls: type[GatewayError]) -> GatewayError:
    if cls is NotImplementedYet:
        return NotImplementedYet("`fail`")
    return cls(f"{cls.__name__} says why", extensions={"hint": "look here"})


@strawberry.type
class Query:
    @strawberry.field
    def fail(self, code: str) -> str:
        raise make(coded()[code])

    @strawberry.field
    def crash(self) -> str:
        raise RuntimeError("secret internals /etc/stashql token=abc")


class RecordingAudit(AuditLog):
    """The audit log, keeping what it wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []

    def record(self, **entry: Any) -> dict[str, Any]:
        recorded = super().record(**entry)
        self.entries.append(recorded)
        return recorded


@dataclass
class NoClusters:
    def cluster_infos(self) -> list[ClusterInfo]:
        return []


async def execute(query: str, audit: AuditLog) -> dict[str, Any]:
    """``query`` against a tiny schema with the gateway's masking, as the client gets it."""
    target = strawberry.Schema(query=Query, extensions=[MaskUnexpectedErrors])
    context = RequestContext(
        viewer=Viewer(username="alice", groups=("dba",)),
        clusters=NoClusters(),
        request_id="req-1",
        audit=audit,
    )
    result = await target.execute(query, context_value=context, operation_name="Op")
    assert result.errors is not None
    (error,) = result.errors
    formatted: dict[str, Any] = dict(error.formatted)
    return formatted


@pytest.mark.parametrize("code", sorted(REFUSALS | NOT_REFUSALS))
async def test_each_errors_message_reaches_the_client_with_its_code(code: str) -> None:
    audit = RecordingAudit()
    error = await execute(f'query Op {{ fail(code: "{code}") }}', audit)
    expected = make(coded()[code])
    assert error["message"] == expected.message
    assert error["extensions"] == expected.extensions
    assert error["extensions"]["code"] == code
    assert error["path"] == ["fail"]
    if code in REFUSALS:
        (entry,) = audit.entries
        assert entry["result"] == "refused"
        assert entry["user"] == "alice"
        assert entry["operation"] == "Op"
        assert entry["detail"] == f"{code}: {expected.message}"
    else:
        assert audit.entries == []


async def test_anything_else_is_masked_with_a_request_id() -> None:
    audit = RecordingAudit()
    error = await execute("query Op { crash }", audit)
    assert error["message"] == "internal error; quote request id req-1 when reporting it"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-1"}
    assert "secret" not in str(error)
    assert audit.entries == []


async def test_a_validation_error_keeps_its_message_and_gets_a_code() -> None:
    audit = RecordingAudit()
    error = await execute("query Op { nope }", audit)
    assert "nope" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert audit.entries == []
