"""Domain errors: each carries a stable code that clients can branch on.

They are the only exceptions whose message reaches a client; anything else is masked
by the server and logged with a request id.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error whose message is safe to show to the caller."""

    code = "INTERNAL"

    def __init__(self, message: str, *, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = dict(extensions or {})

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.extra}


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class InvalidInput(GatewayError):
    code = "BAD_USER_INPUT"


class NotImplementedYet(GatewayError):
    """A contract field whose resolver is not built yet (see the README's status)."""

    code = "NOT_IMPLEMENTED"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not implemented yet in this version of StashQL; "
            "see the status section of the README"
        )
