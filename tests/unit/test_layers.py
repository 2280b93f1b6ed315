"""server.py sits between cli/ and gateway/ in the layers.

import-linter takes only packages as root packages, and server.py stays a module at the
top of the repository (where a newcomer looks for the app), so this test checks its
place in the layers the way lint-imports checks the packages'.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("gateway", "schema", "resolvers", "auth", "watchers", "kube", "apis", "core")
# What the app assembly may use: the layers below it and the web framework.
ALLOWED = {*PRODUCT, "starlette", "strawberry"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_server_imports_only_the_layers_below_it() -> None:
    imported = _imports(REPO / "server.py") - {"__future__"}
    outside = {name for name in imported if name not in sys.stdlib_module_names}
    assert outside <= ALLOWED, sorted(outside - ALLOWED)
    # The command line (and uvicorn, which runs the app) is above it; the sandbox is
    # test and demo tooling the product never uses.
    assert not imported & {"cli", "uvicorn", "sandbox", "kubernetes_asyncio", "aiohttp"}


def test_nothing_below_server_imports_it() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for package in PRODUCT
        for path in (REPO / package).rglob("*.py")
        if "server" in _imports(path)
    ]
    assert offenders == []
