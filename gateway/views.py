"""The GraphQL view, over HTTP and WebSocket (graphql-transport-ws).

Over HTTP the gate (``auth.gate.Gate``) has identified the caller before the view runs:
the context carries the viewer and their graph. Over WebSocket the upgrade carries no
identity yet: the connection acts as nobody until its ``connection_init`` is accepted,
which checks the origin and the token in the payload (or the upgrade's headers).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from auth.gate import Authenticator, Identity, bearer, origin_allowed
from core.errors import GatewayError
from core.identity import Viewer
from gateway.graphiql import graphiql_page
from gateway.services import Services
from gateway.settings import Settings
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph

# Until the WebSocket `connection_init` is accepted, a connection acts as nobody.
NOBODY = Viewer(username="system:anonymous", groups=("system:unauthenticated",))


class GatewayGraphQL(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        services: Callable[[], Services],
        authenticator: Authenticator,
        settings: Settings,
    ) -> None:
        super().__init__(schema, keep_alive=True, keep_alive_interval=settings.keep_alive_interval)
        # Our own per-connection cap answers with a typed error (TOO_MANY_SUBSCRIPTIONS);
        # strawberry's built-in one would answer without a code.
        self.max_subscriptions_per_connection = None
        self._services = services
        self._auth = authenticator
        self._settings = settings

    async def render_graphql_ide(self, request: Request) -> Response:
        # Ours, not strawberry's own GraphiQL, which loads React and GraphiQL from a CDN.
        return graphiql_page()

    def decode_json(self, data: str | bytes) -> object:
        # strawberry answers 400 for a body that is not JSON, but only for a
        # JSONDecodeError: bytes that are not UTF-8, or nesting deeper than the decoder
        # recurses, would escape as a 500. Both are the client's malformed body.
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise json.JSONDecodeError(
                f"not a JSON document ({type(exc).__name__})", "", 0
            ) from exc

    def parse_json(self, data: str | bytes) -> object:
        parsed = super().parse_json(data)
        # A request body (bytes; query-string values arrive as str) must be a JSON object
        # (or a list, which strawberry refuses as a batch): `null`, a number or a string
        # would otherwise reach code that expects an object, and answer 500.
        if isinstance(data, bytes) and not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object with a `query`.")
        return parsed

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        services = self._services()
        identity: Identity | None = (
            request.scope.get("state", {}).get("identity") if isinstance(request, Request) else None
        )
        context = RequestContext(
            viewer=identity.viewer if identity else NOBODY,
            clusters=services.monitor,
            request_id=identity.request_id if identity else uuid.uuid4().hex,
            audit=services.audit,
            writes=services.writes,
        )
        if isinstance(request, WebSocket):
            context.extensions["upgrade_headers"] = [
                (k.lower(), v) for k, v in request.headers.items()
            ]
        elif identity is not None:
            context.graph = await services.graph_for(identity.viewer)
        return context

    async def on_ws_connect(self, context: RequestContext) -> None:
        services = self._services()
        headers = context.extensions.get("upgrade_headers")
        upgrade = headers if isinstance(headers, list) else []
        if not origin_allowed(upgrade, self._settings.gate.allowed_origins):
            services.audit.record(
                event="websocket",
                result="refused",
                user=None,
                request_id=context.request_id,
                detail="origin not allowed",
            )
            raise ConnectionRejectionError({"message": "this origin may not open a connection"})
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = bearer(raw) if isinstance(raw, str) else None
        try:
            identity = await self._auth.identify(upgrade, token_override=token)
        except GatewayError as exc:
            services.audit.record(
                event="websocket",
                result="refused",
                user=None,
                request_id=context.request_id,
                detail=exc.message,
            )
            raise ConnectionRejectionError({"message": exc.message}) from exc
        context.viewer = identity.viewer
        context.graph = await services.graph_for(identity.viewer)
        context.hub = services.hub
        context.max_subscriptions = self._settings.max_subscriptions_per_connection
        viewer = identity.viewer

        async def refresh() -> Graph:
            return await services.graph_for(viewer)

        context.refresh_graph = refresh
