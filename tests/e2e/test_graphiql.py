"""The GraphiQL page is served by StashQL itself (web/dist) and loads nothing from the internet.

strawberry's ``render_graphql_ide`` (a GET on /graphql that asks for HTML) returns
web/dist/index.html instead of strawberry's own CDN-loaded page, and web/dist/assets is
mounted at /graphiql/assets (gateway/graphiql.py). web/dist is built by scripts/build-web.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from gateway.graphiql import assets_route, graphiql_page

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
ASSETS_PREFIX = "/graphiql/assets/"

# The page and its assets are served by gateway/graphiql.py's own code; the small app below puts
# them behind a stand-in gate and schema (the real gate needs TokenReview, and is
# tested against a real server in test_cli.py).


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class PageGraphQL(GraphQL[None, None]):
    """strawberry would render its own CDN-loaded GraphiQL: it renders ours instead."""

    def __init__(self, dist: Path) -> None:
        super().__init__(strawberry.Schema(Query))
        self.dist = dist

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(self.dist)


TOKEN = "t0ken"


class MiniGate:
    """Stands in for auth.gate.Gate: a browser's GET on /graphql needs no token (it gets the
    page), unless it carries a ``query``, which makes it an API call like any other."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        page = (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        )
        if page or request.headers.get("authorization") == f"Bearer {TOKEN}":
            await self.app(scope, receive, send)
            return
        await JSONResponse({"errors": [{"message": "token"}]}, status_code=401)(
            scope, receive, send
        )


def page_app(dist: Path) -> Starlette:
    return Starlette(
        routes=[
            Route("/graphql", MiniGate(PageGraphQL(dist)), methods=["GET", "POST"]),
            assets_route(dist),
        ]
    )


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built (or brought up to date) by scripts/build-web."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if (WEB_DIST / "index.html").is_file():
            return WEB_DIST
        pytest.skip(
            "web/dist is not built, and building it (scripts/build-web) needs Node.js >= 18 and npm"
        )
    subprocess.run([str(REPO / "scripts" / "build-web")], check=True, timeout=280)
    return WEB_DIST


@pytest_asyncio.fixture(loop_scope="session")
async def client(web_dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=page_app(web_dist))
    async with httpx.AsyncClient(transport=transport, base_url="http://stashql.test") as c:
        yield c


async def _page(client: httpx.AsyncClient) -> str:
    r = await client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


# ---------------------------------------------------------------------------- the page


async def test_graphql_serves_the_built_page_to_browsers(client: httpx.AsyncClient) -> None:
    html = await _page(client)
    assert "<title>StashQL</title>" in html
    assert '<script type="module" src="/graphiql/assets/app.js">' in html
    assert '<link rel="stylesheet" href="/graphiql/assets/app.css"' in html


async def test_a_browser_get_with_a_query_is_an_api_call(client: httpx.AsyncClient) -> None:
    params = {"query": "{ hello }"}
    r = await client.get("/graphql", params=params, headers={"Accept": "text/html"})
    assert r.status_code == 401
    auth = {"Accept": "text/html", "Authorization": f"Bearer {TOKEN}"}
    r = await client.get("/graphql", params=params, headers=auth)
    assert r.json() == {"data": {"hello": "world"}}


async def test_any_ide_request_gets_the_bundled_page(client: httpx.AsyncClient) -> None:
    auth = {"Accept": "*/*", "Authorization": f"Bearer {TOKEN}"}
    r = await client.get("/graphql", headers=auth)
    assert r.status_code == 200
    assert "/graphiql/assets/app.js" in r.text


async def test_page_references_only_local_urls(client: httpx.AsyncClient) -> None:
    html = await _page(client)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), html
    urls = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert urls, html
    for url in urls:
        assert url.startswith((ASSETS_PREFIX, "data:")), url
        if url.startswith(ASSETS_PREFIX):
            r = await client.get(url)
            assert r.status_code == 200, url


async def test_assets_have_their_content_types(client: httpx.AsyncClient) -> None:
    js = await client.get(ASSETS_PREFIX + "app.js")
    assert js.status_code == 200
    assert js.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert len(js.content) > 100_000  # GraphiQL, React and graphql-js are in it
    assert js.headers["cache-control"] == "no-cache"
    again = await client.get(
        ASSETS_PREFIX + "app.js", headers={"If-None-Match": js.headers["etag"]}
    )
    assert again.status_code == 304
    css = await client.get(ASSETS_PREFIX + "app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].split(";")[0] == "text/css"
    missing = await client.get(ASSETS_PREFIX + "nope.js")
    assert missing.status_code == 404


# What a page uses to load code, styles or fonts, followed by a remote URL.
REMOTE_LOAD = re.compile(
    r"""(?:\bimport\s*\(|\bimportScripts\s*\(|\bnew\s+(?:Shared)?Worker\s*\(|\bsrc\s*[:=]\s*"""
    r"""|@import\s+(?:url\()?|\burl\()\s*["'`]?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
CDNS = re.compile(
    r"unpkg\.com|jsdelivr|cdnjs|fonts\.googleapis|fonts\.gstatic|esm\.sh|skypack", re.IGNORECASE
)


def test_bundle_loads_nothing_from_the_internet(web_dist: Path) -> None:
    for name in ("app.js", "app.css"):
        text = (web_dist / "assets" / name).read_text(encoding="utf-8")
        assert not CDNS.search(text), (name, CDNS.findall(text))
        hits = [text[max(m.start() - 60, 0) : m.end() + 60] for m in REMOTE_LOAD.finditer(text)]
        assert not hits, (name, hits)
    css = (web_dist / "assets" / "app.css").read_text(encoding="utf-8")
    # Fonts and images are inlined.
    for url in re.findall(r"url\(\s*[\"']?([^\"')]*)", css):
        assert url.startswith(("data:", "#")), url


async def test_graphql_still_answers_queries(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = await client.post("/graphql", json={"query": "{ hello }"}, headers=auth)
    assert r.status_code == 200
    assert r.json() == {"data": {"hello": "world"}}
    assert (await client.post("/graphql", json={"query": "{ hello }"})).status_code == 401


async def test_unbuilt_page_says_how_to_build_it(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=page_app(tmp_path / "dist"))
    async with httpx.AsyncClient(transport=transport, base_url="http://stashql.test") as c:
        r = await c.get("/graphql", headers={"Accept": "text/html"})
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        assert "./scripts/build-web" in r.text
        assert (await c.get(ASSETS_PREFIX + "app.js")).status_code == 404


# ------------------------------------------------------------------- a real browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _why_no_chromium() -> str:
    """Why Chromium is missing: scripts/test installs it as root with apt-get."""
    failed = os.environ.get("STASHQL_CHROMIUM_UNAVAILABLE")
    if failed:
        return f"Chromium is not installed: scripts/test tried and {failed}"
    if os.geteuid() != 0:
        return (
            f"Chromium is not installed, and scripts/test installs it only as root (this is "
            f"uid {os.geteuid()}): install the `chromium` package, then run the tests again"
        )
    if shutil.which("apt-get") is None:
        return (
            "Chromium is not installed, and this machine has no apt-get for scripts/test to "
            "install it with: install Chromium with its package manager"
        )
    return (
        "Chromium is not installed: ./scripts/test installs it "
        "(apt-get update && apt-get install -y chromium)"
    )


@pytest.fixture
def served(web_dist: Path) -> Iterator[str]:
    """The page app on a free loopback port, as a browser reaches it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(page_app(web_dist), lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "the page server stopped"
        assert time.monotonic() < deadline, "the page server did not start in 15 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def test_chromium_renders_graphiql_with_no_internet_access(served: str) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip(_why_no_chromium())
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                # Nothing but loopback can be reached: a fetch from a CDN would fail.
                "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1400,900",
                "--virtual-time-budget=8000",
                "--dump-dom",
                served,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": profile},
        )
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    # GraphiQL mounted: its container, our logo, and CodeMirror editors with the query in them.
    assert 'class="graphiql-container' in dom, dom[:3000]
    assert "StashQL" in dom
    assert dom.count('class="CodeMirror ') >= 2, dom[:3000]
    assert "databases" in dom
    assert "Loading GraphiQL" not in dom


def test_the_skip_says_why_chromium_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STASHQL_CHROMIUM_UNAVAILABLE", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "only as root (this is uid 1000)" in _why_no_chromium()
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "no apt-get" in _why_no_chromium()
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert "./scripts/test installs it" in _why_no_chromium()
    monkeypatch.setenv("STASHQL_CHROMIUM_UNAVAILABLE", "apt-get failed; see /tmp/log")
    assert _why_no_chromium().endswith("tried and apt-get failed; see /tmp/log")
