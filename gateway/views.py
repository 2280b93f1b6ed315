"""The GraphQL view, over HTTP and WebSocket (graphql-transport-ws).

Over HTTP the gate (``auth.gate.Gate``) has identified the caller before the view runs:
the context carries the viewer and their graph. Over WebSocket the upgrade carries no
identity yet: the connection acts as nobody until its ``connection_init`` is accepted,
which checks the origin and the token in the payload (or the upgrade's headers).

Subscriptions with the same document, variables and viewer share one stream
(``SharedStreams``): access, filtering and the GraphQL execution and JSON encoding of each
event happen once, and each subscriber's connection only sends the shared bytes, framed
as its own graphql-transport-ws ``next`` message. Everything else (a resume token, an
operation that is not a subscription, a document that does not parse or validate, a
connection at its limit of subscriptions) takes strawberry's own path, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from auth.gate import Authenticator, Identity, bearer, origin_allowed
from core.errors import GatewayError
from core.identity import Viewer
from gateway.graphiql import graphiql_page
from gateway.services import Services
from gateway.settings import Settings
from resolvers.events.stream import Members
from resolvers.reads.context import RequestContext
from resolvers.reads.graph import Graph

LOGGER = logging.getLogger("stashql.subscriptions")

# Until the WebSocket `connection_init` is accepted, a connection acts as nobody.
NOBODY = Viewer(username="system:anonymous", groups=("system:unauthenticated",))


# A subscriber's queue of encoded events: one that falls this far behind gets a RESYNC.
MEMBER_QUEUE = 1000
# Parsed documents kept for deciding whether a subscription can be shared.
DOCUMENTS = 256


class _Member:
    """One subscriber of a shared stream: its operation id and its queue of payloads."""

    __slots__ = ("done", "failed", "lagging", "queue", "ready")

    def __init__(self) -> None:
        self.queue: deque[str] = deque()
        self.ready = asyncio.Event()
        self.lagging = False
        self.done = False  # the stream ended: complete the operation
        self.failed = False  # the stream could not start: take strawberry's own path

    def put(self, payload: str, channel: _Channel, *, targeted: bool) -> None:
        if targeted:
            self.lagging = False
        elif self.lagging:
            return  # its RESYNC is on the way; what it missed is covered by it
        if len(self.queue) >= MEMBER_QUEUE:
            self.queue.clear()
            self.lagging = True
            channel.resync(self)
            return
        self.queue.append(payload)
        self.ready.set()

    def end(self, *, failed: bool = False) -> None:
        self.failed = self.failed or failed
        self.done = True
        self.ready.set()


class _Channel(Members):
    """One shared stream: executed once, its encoded results handed to its members."""

    def __init__(self, streams: SharedStreams, key: tuple[str, ...]) -> None:
        super().__init__()
        self._streams = streams
        self._key = key
        self.all: set[_Member] = set()
        self.live: set[_Member] = set()
        self.task: asyncio.Task[None] | None = None
        self.finished = False
        # The encoded INITIAL events last rendered, and the stream state they stand for.
        self._initial: list[str] = []
        self._initial_state: int | None = None

    def replay(self, members: list[object], state: int) -> bool:
        if self._initial_state != state:
            self._initial_state = None
            self._initial = []
            return False
        for member in members:
            if isinstance(member, _Member) and member in self.all:
                for payload in self._initial:
                    member.put(payload, self, targeted=True)
        return True

    def recorded(self, state: int) -> None:
        # Kept only while it fits in a subscriber's queue (it is handed out at once).
        if len(self._initial) <= MEMBER_QUEUE:
            self._initial_state = state
        else:
            self._initial = []

    def promote(self, members: list[object]) -> None:
        self.live.update(m for m in members if isinstance(m, _Member) and m in self.all)

    def add(self, member: _Member) -> None:
        self.all.add(member)
        self.join(member)

    def remove(self, member: _Member) -> None:
        self.all.discard(member)
        self.live.discard(member)
        if not self.all and not self.finished:
            self.finished = True
            self._streams.forget(self._key, self)
            if self.task is not None:
                self.task.cancel()

    async def run(
        self, schema: Any, query: str, variables: dict[str, Any] | None, name: str | None, ctx: Any
    ) -> None:
        failed = False
        try:
            source = await schema.stream(
                query, variable_values=variables, context_value=ctx, operation_name=name
            )
            async with aclosing(source):
                async for result in source:
                    if isinstance(result, PreExecutionError) or not isinstance(
                        result, ExecutionResult
                    ):
                        failed = True  # each member gets strawberry's own answer
                        return
                    payload: dict[str, object] = {"data": result.data}
                    if result.errors:
                        payload["errors"] = [e.formatted for e in result.errors]
                    if result.extensions:
                        payload["extensions"] = result.extensions
                    encoded = json.dumps(payload, separators=(",", ":"))
                    targeted = self.current is not None
                    if self.recording is not None and len(self._initial) <= MEMBER_QUEUE:
                        self._initial.append(encoded)
                    targets = self.current if self.current is not None else list(self.live)
                    for member in targets:
                        if isinstance(member, _Member) and member in self.all:
                            member.put(encoded, self, targeted=targeted)
        except asyncio.CancelledError:
            raise
        except Exception:
            LOGGER.exception("a shared subscription stream failed")
        finally:
            if not self.finished:
                self.finished = True
                self._streams.forget(self._key, self)
            for member in list(self.all):
                member.end(failed=failed)


class SharedStreams:
    """The gateway's shared subscription streams, by (document, variables, viewer)."""

    def __init__(self) -> None:
        self._channels: dict[tuple[str, ...], _Channel] = {}
        self._documents: OrderedDict[str, DocumentNode | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._channels)

    def forget(self, key: tuple[str, ...], channel: _Channel) -> None:
        if self._channels.get(key) is channel:
            del self._channels[key]

    def _document(self, query: str) -> DocumentNode | None:
        if query in self._documents:
            self._documents.move_to_end(query)
            return self._documents[query]
        try:
            doc: DocumentNode | None = parse(query)
        except (GraphQLError, RecursionError):
            doc = None
        self._documents[query] = doc
        while len(self._documents) > DOCUMENTS:
            self._documents.popitem(last=False)
        return doc

    def shareable(
        self, query: object, variables: object, name: object, context: RequestContext
    ) -> bool:
        """A plain subscription to one root field, without a resume token, on a connection
        that may open another one."""
        if not isinstance(query, str) or len(query) > 100_000:
            return False
        if variables is not None and not isinstance(variables, dict):
            return False
        if name is not None and not isinstance(name, str):
            return False
        if context.hub is None or context.subscriptions >= context.max_subscriptions:
            return False
        doc = self._document(query)
        if doc is None:
            return False
        operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
        if name is not None:
            operations = [o for o in operations if o.name is not None and o.name.value == name]
        if len(operations) != 1 or len(doc.definitions) != 1:
            return False  # fragments or several operations: leave it to strawberry
        op = operations[0]
        if op.operation != OperationType.SUBSCRIPTION or len(op.selection_set.selections) != 1:
            return False
        field = op.selection_set.selections[0]
        if not isinstance(field, FieldNode) or field.directives:
            return False
        for arg in field.arguments or ():
            if arg.name.value != "resumeToken":
                continue
            value = arg.value
            if not isinstance(value, VariableNode):
                return False
            if (variables or {}).get(value.name.value) is not None:
                return False
            if any(
                v.variable.name.value == value.name.value and v.default_value is not None
                for v in op.variable_definitions or ()
            ):
                return False
        return True

    def join(
        self,
        schema: Any,
        query: str,
        variables: dict[str, Any] | None,
        name: str | None,
        context: RequestContext,
        member: _Member,
    ) -> _Channel:
        viewer = context.viewer
        key = (
            query,
            json.dumps(variables, sort_keys=True, separators=(",", ":")),
            name or "",
            viewer.username,
            viewer.uid or "",
            *sorted(viewer.groups),
        )
        channel = self._channels.get(key)
        if channel is None or channel.finished:
            channel = _Channel(self, key)
            self._channels[key] = channel
            shared = RequestContext(
                viewer=viewer,
                clusters=context.clusters,
                request_id=uuid.uuid4().hex,
                audit=context.audit,
                graph=context.graph,
                hub=context.hub,
                refresh_graph=context.refresh_graph,
                max_subscriptions=1,
            )
            shared.extensions["members"] = channel
            channel.task = asyncio.create_task(channel.run(schema, query, variables, name, shared))
        channel.add(member)
        return channel


class GatewayWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws, with shared streams for subscriptions that can share one."""

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        streams = getattr(self.view, "shared_streams", None)
        context = self.context
        if not isinstance(streams, SharedStreams) or not streams.shareable(
            operation.query, operation.variables, operation.operation_name, context
        ):
            await super().run_operation(operation)
            return
        member = _Member()
        context.subscriptions += 1
        channel = streams.join(
            self.schema,
            operation.query,
            operation.variables,
            operation.operation_name,
            context,
            member,
        )
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        ws = getattr(self.websocket, "ws", None)
        try:
            while True:
                if member.queue:
                    payload = member.queue.popleft()
                    if operation.completed or ws is None:
                        return
                    try:
                        await ws.send_text(prefix + payload + "}")
                    except Exception:  # the connection is gone: so is this
                        return
                elif member.done:
                    break
                else:
                    member.ready.clear()
                    await member.ready.wait()
        finally:
            channel.remove(member)
            context.subscriptions -= 1
        if member.failed:
            await super().run_operation(operation)
            return
        with contextlib.suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})


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
        self.shared_streams = SharedStreams()
        self.graphql_transport_ws_handler_class = GatewayWSHandler

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
        context.extensions.pop("upgrade_headers", None)  # read once, not kept per connection
        context.graph = await services.graph_for(identity.viewer, shared=True)
        context.hub = services.hub
        context.max_subscriptions = self._settings.max_subscriptions_per_connection
        viewer = identity.viewer

        async def refresh() -> Graph:
            return await services.graph_for(viewer, shared=True)

        context.refresh_graph = refresh
