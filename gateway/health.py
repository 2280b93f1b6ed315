"""/healthz (the process answers) and /readyz (every reachable cluster is synced)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.services import Services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz(services: Callable[[], Services | None]) -> Callable[[Request], Awaitable[Response]]:
    """The readiness endpoint: 503 while starting or syncing, with each cluster's state."""

    async def endpoint(request: Request) -> Response:
        svc = services()
        if svc is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        ready = svc.ready()
        return JSONResponse(
            {
                "status": "ready" if ready else "syncing",
                "clusters": {
                    i.name: {
                        "reachable": i.reachable,
                        "synced": svc.cache.clusters[i.name].synced,
                        "error": i.error,
                    }
                    for i in svc.monitor.cluster_infos()
                },
            },
            status_code=200 if ready else 503,
        )

    return endpoint


def health_routes(services: Callable[[], Services | None]) -> list[Route]:
    return [Route("/healthz", healthz), Route("/readyz", readyz(services))]
