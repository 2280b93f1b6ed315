"""StashQL: app assembly (Starlette + strawberry), lifespan and the ``stashql`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from auth.access import AccessReviewer, ViewerAccess
from auth.audit import AuditLog
from auth.gate import Authenticator, Gate, GateSettings, Identity, bearer, origin_allowed
from auth.tokenreview import TokenReviewer
from core.errors import GatewayError
from kube.config import ClusterConfig, ConfigError, load_in_cluster, load_kubeconfig
from resolvers.reads.context import RequestContext, Viewer
from resolvers.reads.graph import Graph
from schema.limits import Limits
from watchers.cache import Cache
from watchers.clusters import ClusterHandle, ClusterMonitor
from watchers.fanout import Hub

log = logging.getLogger("stashql")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Until the WebSocket `connection_init` is accepted, a connection acts as nobody.
NOBODY = Viewer(username="system:anonymous", groups=("system:unauthenticated",))

# The GraphiQL page, built from web/ by scripts/build-web: it loads nothing from the internet.
WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"

GRAPHIQL_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StashQL: GraphiQL is not built</title></head>
<body style="font-family: sans-serif; max-width: 42em; margin: 3em auto">
<h1>The GraphiQL page is not built</h1>
<p>StashQL serves GraphiQL from <code>web/dist</code>, which is built once from the npm
registry (Node.js &ge; 18 and npm are needed): run <code>./scripts/build-web</code> and
reload this page.</p>
<p>The API works without it: POST GraphQL requests to this address with the header
<code>Authorization: Bearer &lt;token&gt;</code>.</p>
</body></html>
"""


def graphiql_page(dist: Path = WEB_DIST) -> Response:
    index = dist / "index.html"
    if index.is_file():
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
    return HTMLResponse(GRAPHIQL_NOT_BUILT, status_code=503)


class GraphiQLAssets(StaticFiles):
    """web/dist/assets: 404 (not 500) while the page is not built; the names carry no hash,
    so browsers revalidate (a cheap 304) instead of keeping an old bundle after an upgrade."""

    async def check_config(self) -> None:
        return None

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


@dataclass
class Settings:
    kubeconfig: Path | None = None
    contexts: list[str] = field(default_factory=list)
    all_contexts: bool = False
    in_cluster: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    probe_interval: float = 30.0
    gate: GateSettings = field(default_factory=GateSettings)
    limits: Limits = field(default_factory=Limits)
    max_subscriptions_per_connection: int = 100


@dataclass
class Services:
    """Everything created in the lifespan and shared by all requests."""

    clusters: list[ClusterHandle]
    monitor: ClusterMonitor
    reviewer: TokenReviewer
    cache: Cache
    access: AccessReviewer
    hub: Hub
    audit: AuditLog = field(default_factory=AuditLog)
    started: bool = False

    def ready(self) -> bool:
        """Every reachable cluster's informers have listed once (and one is reachable:
        a gateway that can reach no cluster has nothing to serve)."""
        if not self.started:
            return False
        reachable = [i.name for i in self.monitor.cluster_infos() if i.reachable]
        return bool(reachable) and all(self.cache.clusters[n].synced for n in reachable)

    async def graph_for(self, viewer: Viewer) -> Graph:
        access = ViewerAccess(self.access, viewer, self.cache)
        await access.prepare()
        return Graph(self.cache, access)

    async def close(self) -> None:
        # Open subscriptions complete cleanly before the informers go away.
        self.hub.close()
        await asyncio.sleep(0)
        await self.cache.stop()
        await self.monitor.stop()
        for c in self.clusters:
            await c.client.close()
            await c.watch_client.close()


async def open_services(settings: Settings) -> Services:
    if settings.in_cluster:
        configs: list[ClusterConfig] = load_in_cluster()
    else:
        if settings.kubeconfig is None:
            raise ConfigError("pass --kubeconfig PATH (or --in-cluster)")
        configs = await load_kubeconfig(
            settings.kubeconfig, contexts=settings.contexts, all_contexts=settings.all_contexts
        )
    handles = [
        ClusterHandle(
            name=c.name,
            server=c.server,
            client=c.client(connection_limit=50, timeout=15),
            # Every open watch holds a pooled connection: keep them off the query pool.
            watch_client=c.client(connection_limit=100, timeout=30),
        )
        for c in configs
    ]
    monitor = ClusterMonitor(handles, interval=settings.probe_interval)
    # Tokens are reviewed by the first configured cluster (the one whose users call us).
    reviewer = TokenReviewer(handles[0].client)
    cache = Cache(handles)
    access = AccessReviewer({h.name: h.client for h in handles})
    return Services(
        clusters=handles,
        monitor=monitor,
        reviewer=reviewer,
        cache=cache,
        access=access,
        hub=Hub(cache),
    )


class GatewayGraphQL(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        services: Callable[[], Services],
        authenticator: Authenticator,
        settings: Settings,
    ) -> None:
        super().__init__(schema, keep_alive=True, keep_alive_interval=15)
        # Our own per-connection cap answers with a typed error (TOO_MANY_SUBSCRIPTIONS);
        # strawberry's built-in one would answer without a code.
        self.max_subscriptions_per_connection = None
        self._services = services
        self._auth = authenticator
        self._settings = settings

    async def render_graphql_ide(self, request: Request) -> Response:
        # Ours, not strawberry's own GraphiQL, which loads React and GraphiQL from a CDN.
        return graphiql_page()

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


def create_app(settings: Settings) -> Starlette:
    holder: dict[str, Services] = {}

    def services() -> Services:
        return holder["services"]

    from schema import build_schema
    from schema.errors import MaskUnexpectedErrors
    from schema.limits import limit_extensions

    schema = build_schema(
        extensions=[
            MaskUnexpectedErrors,
            *limit_extensions(settings.limits, clusters=lambda: len(services().clusters)),
        ]
    )
    authenticator = Authenticator(settings.gate, lambda: services().reviewer)
    graphql_app = GatewayGraphQL(schema, services, authenticator, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = await open_services(settings)
        holder["services"] = svc
        await svc.monitor.probe_all()
        svc.monitor.start()
        svc.cache.start()
        svc.started = True
        log.info(
            "serving %d cluster(s): %s", len(svc.clusters), ", ".join(c.name for c in svc.clusters)
        )
        try:
            yield
        finally:
            await svc.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        svc = holder.get("services")
        if svc is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        ready = svc.ready()
        infos = svc.monitor.cluster_infos()
        return JSONResponse(
            {
                "status": "ready" if ready else "syncing",
                "clusters": {
                    i.name: {
                        "reachable": i.reachable,
                        "synced": svc.cache.clusters[i.name].synced,
                        "error": i.error,
                    }
                    for i in infos
                },
            },
            status_code=200 if ready else 503,
        )

    guarded = Gate(graphql_app, authenticator, AuditLog())
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", guarded, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", guarded),
            Mount(
                "/graphiql/assets",
                app=GraphiQLAssets(directory=WEB_DIST / "assets", check_dir=False),
                name="graphiql-assets",
            ),
        ],
        lifespan=lifespan,
    )


# ---------------------------------------------------------------------------- CLI


def _cmd_schema(args: argparse.Namespace) -> int:
    from schema import sdl

    sys.stdout.write(sdl())
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    secret = None
    if args.front_proxy_secret_file:
        secret = Path(args.front_proxy_secret_file).read_text().strip()
        if not secret:
            print("stashql: the front-proxy secret file is empty", file=sys.stderr)
            return 2
    settings = Settings(
        kubeconfig=Path(args.kubeconfig) if args.kubeconfig else None,
        contexts=args.context or [],
        all_contexts=args.all_contexts,
        in_cluster=args.in_cluster,
        host=args.host,
        port=args.port,
        gate=GateSettings(
            max_body_bytes=args.max_body_bytes,
            request_timeout=args.request_timeout,
            front_proxy_secret=secret,
            anonymous_user=args.insecure_anonymous_as,
            allowed_origins=tuple(args.allowed_origin or ()),
        ),
        max_subscriptions_per_connection=args.max_subscriptions_per_connection,
        limits=Limits(
            max_depth=args.max_depth,
            max_aliases=args.max_aliases,
            max_cost=args.max_cost,
            introspection=not args.no_introspection,
        ),
    )
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"stashql: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=args.log_level, lifespan="on"
    )
    return 0


def _cmd_sandbox_build(args: argparse.Namespace) -> int:
    from sandbox.binaries import BuildError, ensure_binaries

    try:
        found = ensure_binaries()
    except BuildError as exc:
        print(f"stashql: {exc}", file=sys.stderr)
        return 1
    print(f"kube-apiserver: {found.kube_apiserver}\netcd: {found.etcd}")
    return 0


async def _wait_for_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _cmd_sandbox_up(args: argparse.Namespace) -> int:
    from sandbox.binaries import BuildError
    from sandbox.controlplane import SandboxError, start_sandbox

    async def run() -> int:
        try:
            sandbox = await start_sandbox(Path(args.dir), clusters=args.clusters)
        except (SandboxError, BuildError) as exc:
            print(f"stashql: {exc}", file=sys.stderr)
            return 1
        try:
            for c in sandbox.clusters:
                print(f"{c.name}: {c.server}", flush=True)
            print(f"kubeconfig (gateway): {sandbox.kubeconfig}", flush=True)
            print(f"kubeconfig (admin):   {sandbox.admin_kubeconfig}", flush=True)
            print(f"tokens: {sandbox.dir / 'tokens.json'}", flush=True)
            print("ready; stop with Ctrl-C", flush=True)
            await _wait_for_signal()
        finally:
            sandbox.stop()
        return 0

    return asyncio.run(run())


def _cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.binaries import BuildError
    from sandbox.controlplane import SandboxError, start_sandbox
    from sandbox.demo import seed_demo
    from sandbox.simulator import Simulator

    directory = Path(args.dir)

    async def run() -> int:
        print("[demo] starting a two-cluster sandbox (real etcd + kube-apiservers)", flush=True)
        try:
            sandbox = await start_sandbox(directory, clusters=2)
        except (SandboxError, BuildError) as exc:
            print(f"stashql: {exc}", file=sys.stderr)
            return 1
        clients = {c.name: sandbox.client(c.name, timeout=30) for c in sandbox.clusters}
        simulator = Simulator(clients, time_scale=args.time_scale, fail_rate=args.fail_rate)
        try:
            print("[demo] seeding databases, backup policies and storages", flush=True)
            await seed_demo(sandbox)
            await simulator.start()
            settings = Settings(
                kubeconfig=sandbox.kubeconfig, all_contexts=True, host=args.host, port=args.port
            )
            config = uvicorn.Config(
                create_app(settings), host=args.host, port=args.port, log_level="warning"
            )
            server = uvicorn.Server(config)
            serve = asyncio.create_task(server.serve())
            while not server.started and not serve.done():  # noqa: ASYNC110 - uvicorn has no event
                await asyncio.sleep(0.1)
            if serve.done():
                return 1
            url = f"http://{args.host}:{args.port}/graphql"
            print(f"\nStashQL demo is running.\n  GraphiQL: {url}\n", flush=True)
            print('  Tokens (paste into the headers as {"Authorization": "Bearer <token>"}):')
            for user, token in sandbox.tokens.items():
                print(f"    {user:6} {token}")
            print(
                "\n  admin sees everything; alice edits team-a; bob reads team-b."
                f"\n  Backups run on their schedules, {args.time_scale:g}x faster than real time."
                f"\n  Sandbox files (kubeconfigs, logs): {directory.resolve()}"
                "\n  Stop with Ctrl-C.",
                flush=True,
            )
            await serve
        finally:
            await simulator.stop()
            for client in clients.values():
                await client.close()
            sandbox.stop()
        return 0

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stashql", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the GraphQL API for the clusters of a kubeconfig")
    p.add_argument("--kubeconfig", help="kubeconfig file (each chosen context is one cluster)")
    p.add_argument("--context", action="append", help="a context to serve (repeatable)")
    p.add_argument("--all-contexts", action="store_true", help="serve every context")
    p.add_argument("--in-cluster", action="store_true", help="use the pod's service account")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--max-body-bytes", type=int, default=1_000_000, help="largest request body accepted"
    )
    p.add_argument("--request-timeout", type=float, default=30.0, help="seconds a query may take")
    p.add_argument(
        "--allowed-origin",
        action="append",
        help="a browser origin allowed to open WebSockets besides the gateway's own (repeatable)",
    )
    p.add_argument(
        "--max-subscriptions-per-connection", type=int, default=100, help="per WebSocket"
    )
    p.add_argument("--max-depth", type=int, default=12, help="deepest query accepted")
    p.add_argument("--max-aliases", type=int, default=50, help="aliased fields per query")
    p.add_argument(
        "--max-cost",
        type=int,
        default=50_000,
        help="largest query cost (fields x page sizes x clusters) accepted",
    )
    p.add_argument("--no-introspection", action="store_true", help="refuse __schema/__type")
    p.add_argument(
        "--front-proxy-secret-file",
        help="trust X-Remote-User/X-Remote-Group only on requests carrying this shared secret "
        "in X-Front-Proxy-Secret",
    )
    p.add_argument(
        "--insecure-anonymous-as",
        metavar="USER",
        help="LOCAL DEMOS ONLY: requests without credentials act as USER",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("demo", help="start a 2-cluster sandbox and the gateway in front of it")
    p.add_argument("--dir", default=".sandbox/demo", help="where the sandbox keeps its files")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--time-scale",
        type=float,
        default=60.0,
        help="simulated seconds per real second (60: a */10 schedule runs every 10 s)",
    )
    p.add_argument(
        "--fail-rate", type=float, default=0.1, help="share of backups that fail (0 to 1)"
    )
    p.set_defaults(func=_cmd_demo)

    sb = sub.add_parser("sandbox", help="the local control plane").add_subparsers(
        dest="sandbox_command", required=True
    )
    p = sb.add_parser("up", help="start etcd and N kube-apiservers; stop with SIGINT/SIGTERM")
    p.add_argument("--dir", required=True, help="folder for kubeconfigs, tokens, logs, data")
    p.add_argument("--clusters", type=int, default=2)
    p.set_defaults(func=_cmd_sandbox_up)
    p = sb.add_parser("build", help="build (or find) kube-apiserver and etcd")
    p.set_defaults(func=_cmd_sandbox_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Settings", "create_app", "json", "main"]
