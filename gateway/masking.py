"""What clients see of errors.

Domain errors (``core.errors.GatewayError``) and GraphQL's own validation errors keep
their message and carry a code in ``extensions``. Anything else is a bug: it is logged
with its traceback under a request id, and the client gets only that id, never a
traceback or an internal message. Refusals (limits, forbidden, bad input) are audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core.errors import GatewayError, refused
from resolvers.reads.context import RequestContext

log = logging.getLogger("stashql.errors")


def _code(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = context.request_id if isinstance(context, RequestContext) else ""
        cleaned: list[GraphQLError] = []
        for error in result.errors:
            original = error.original_error
            if isinstance(original, GatewayError):
                cleaned.append(
                    GraphQLError(
                        original.message,
                        nodes=error.nodes,
                        path=error.path,
                        extensions=original.extensions,
                    )
                )
            elif original is None:
                # Parse and validation errors: the client's own mistake, safe to show.
                extensions = dict(error.extensions or {})
                extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
                cleaned.append(
                    GraphQLError(
                        error.message, nodes=error.nodes, path=error.path, extensions=extensions
                    )
                )
            else:
                log.error(
                    "request %s: unexpected error at %s",
                    request_id,
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=original,
                )
                cleaned.append(
                    GraphQLError(
                        f"internal error; quote request id {request_id} when reporting it",
                        nodes=error.nodes,
                        path=error.path,
                        extensions={"code": "INTERNAL", "requestId": request_id},
                    )
                )
        result.errors = cleaned
        if isinstance(context, RequestContext) and context.audit is not None:
            for error in cleaned:
                code = _code(error)
                if refused(code):
                    context.audit.record(
                        event="graphql",
                        result="refused",
                        user=context.viewer.username,
                        groups=context.viewer.groups,
                        request_id=request_id,
                        operation=self.execution_context.operation_name,
                        detail=f"{code}: {error.message}",
                    )
