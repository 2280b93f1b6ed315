"""StashQL's app: the gateway's parts (``gateway/``) and the schema assembled into one
Starlette application, with the lifespan that opens and closes the services.

The ``stashql`` command that runs it lives in ``cli/``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from auth.audit import AuditLog
from auth.gate import Authenticator, Gate
from gateway.documents import document_cache
from gateway.graphiql import assets_route
from gateway.health import health_routes
from gateway.limits import limit_extensions
from gateway.masking import MaskUnexpectedErrors
from gateway.services import Services, open_services
from gateway.settings import Settings
from gateway.views import GatewayGraphQL
from schema import build_schema

log = logging.getLogger("stashql")


def create_app(settings: Settings) -> Starlette:
    """The gateway for ``settings``; its services open when the app's lifespan starts."""
    holder: dict[str, Services] = {}

    def services() -> Services:
        return holder["services"]

    schema = build_schema(
        extensions=[
            MaskUnexpectedErrors,
            *limit_extensions(settings.limits, clusters=lambda: len(services().clusters)),
            # After the limits: they set the parser's options and check every request,
            # cached document or not (see gateway/documents.py).
            document_cache(),
        ]
    )
    authenticator = Authenticator(settings.gate, lambda: services().reviewer)
    graphql_app = GatewayGraphQL(
        schema, services=services, authenticator=authenticator, settings=settings
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = await open_services(settings)
        holder["services"] = svc
        await svc.start()
        log.info(
            "serving %d cluster(s): %s", len(svc.clusters), ", ".join(c.name for c in svc.clusters)
        )
        try:
            yield
        finally:
            await svc.close()

    guarded = Gate(graphql_app, authenticator, AuditLog())
    return Starlette(
        routes=[
            *health_routes(lambda: holder.get("services")),
            Route("/graphql", guarded, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", guarded),
            assets_route(),
        ],
        lifespan=lifespan,
    )


__all__ = ["Settings", "create_app"]
