"""Errors a client may see: each carries a stable code that clients can branch on.

They are the only exceptions whose message reaches a client; anything else is masked
by the server and logged with a request id. Every code the gateway sends in
``extensions.code`` of a GraphQL error is a class here::

    GatewayError (INTERNAL)
    ├── Unauthenticated (UNAUTHENTICATED)          refusal
    ├── AuthUnavailable (AUTH_UNAVAILABLE)         the token reviewer did not answer
    ├── Forbidden (FORBIDDEN)                      refusal
    ├── NotFound (NOT_FOUND)
    ├── InvalidInput (BAD_USER_INPUT)
    ├── BadRequest (BAD_REQUEST)                   for example a subscription over HTTP
    ├── NotImplementedYet (NOT_IMPLEMENTED)
    └── LimitExceeded                              refusals: a limit said no
        ├── QueryTooLarge (QUERY_TOO_LARGE)
        ├── QueryTooDeep (QUERY_TOO_DEEP)
        ├── TooManyAliases (TOO_MANY_ALIASES)
        ├── QueryTooCostly (QUERY_TOO_COSTLY)
        ├── IntrospectionDisabled (INTROSPECTION_DISABLED)
        └── TooManySubscriptions (TOO_MANY_SUBSCRIPTIONS)

A *refusal* (``refusal = True``) is a request the gateway turned down on purpose; each
one is written to the audit log. Mutations report what they refuse as typed
``userErrors`` in their payload instead (see ``resolvers/writes``), not as these.

Per-cluster problems in ``clusterErrors`` (UNREACHABLE, TIMEOUT, FORBIDDEN,
NOT_INSTALLED) are data, not exceptions: a cluster that cannot answer never fails a
query.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """An error whose message is safe to show to the caller."""

    code: ClassVar[str] = "INTERNAL"
    # Whether the gateway refused the request on purpose (audited as "refused").
    refusal: ClassVar[bool] = False

    def __init__(self, message: str, *, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = dict(extensions or {})

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extra}


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"
    refusal = True


class AuthUnavailable(GatewayError):
    """The API server that checks tokens could not answer; retry later."""

    code = "AUTH_UNAVAILABLE"


class Forbidden(GatewayError):
    code = "FORBIDDEN"
    refusal = True


class NotFound(GatewayError):
    code = "NOT_FOUND"


class InvalidInput(GatewayError):
    code = "BAD_USER_INPUT"


class BadRequest(GatewayError):
    """The request cannot be served this way, for example a subscription over HTTP."""

    code = "BAD_REQUEST"


class NotImplementedYet(GatewayError):
    """A contract field whose resolver is not built yet (see the README's status)."""

    code = "NOT_IMPLEMENTED"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not implemented yet in this version of StashQL; "
            "see the status section of the README"
        )


class LimitExceeded(GatewayError):
    """A request over one of the gateway's limits (docs/security.md)."""

    refusal = True


class QueryTooLarge(LimitExceeded):
    code = "QUERY_TOO_LARGE"


class QueryTooDeep(LimitExceeded):
    code = "QUERY_TOO_DEEP"


class TooManyAliases(LimitExceeded):
    code = "TOO_MANY_ALIASES"


class QueryTooCostly(LimitExceeded):
    code = "QUERY_TOO_COSTLY"


class IntrospectionDisabled(LimitExceeded):
    code = "INTROSPECTION_DISABLED"


class TooManySubscriptions(LimitExceeded):
    code = "TOO_MANY_SUBSCRIPTIONS"


def _all_codes() -> dict[str, type[GatewayError]]:
    found: dict[str, type[GatewayError]] = {}
    pending: list[type[GatewayError]] = [GatewayError]
    while pending:
        cls = pending.pop()
        if cls is not LimitExceeded:
            found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def refused(code: str | None) -> bool:
    """Whether errors with this code are refusals (audited)."""
    cls = _all_codes().get(code or "")
    return cls is not None and cls.refusal
