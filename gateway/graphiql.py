"""The GraphiQL page: web/dist/index.html on a browser's GET of /graphql, and its assets.

The page is built from web/ by scripts/build-web and loads nothing from the internet
(strawberry's own GraphiQL loads React and GraphiQL from a CDN).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
# Where the page's index.html expects its scripts and styles.
ASSETS_PATH = "/graphiql/assets"

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
    """The built page, or (503) a page that says how to build it."""
    index = dist / "index.html"
    if index.is_file():
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
    return HTMLResponse(GRAPHIQL_NOT_BUILT, status_code=503)


class GraphiQLAssets(StaticFiles):
    """web/dist/assets: 404 (not 500) while the page is not built; the names carry no hash,
    so browsers revalidate (a cheap 304) instead of keeping an old bundle after an upgrade."""

    def __init__(self, dist: Path = WEB_DIST) -> None:
        super().__init__(directory=dist / "assets", check_dir=False)

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


def assets_route(dist: Path = WEB_DIST) -> Mount:
    """The route that serves the page's scripts and styles."""
    return Mount(ASSETS_PATH, app=GraphiQLAssets(dist), name="graphiql-assets")
