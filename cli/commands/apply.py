"""``stashql apply``: KubeDB and KubeStash manifests (YAML or JSON, many per file, in any
order) through applyManifests; ``--wait`` until they are applied and the databases set up."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import RenderableType

from cli.client.app import Session, client_options, command, passthrough
from cli.client.changes import Change, dry_run_option, run_change, yes_option
from cli.client.exits import CliError, Exit
from cli.client.progress import Progress
from cli.client.render import field, table
from cli.client.waiting import wait_database, with_timeout

RESULTS = """results { index state reason object { cluster kind namespace name }
  waitingFor { kind namespace name } }"""

_SUFFIXES = (".yaml", ".yml", ".json")


def read_documents(sources: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every object in the files (a folder: its .yaml/.yml/.json files by name; ``-``:
    stdin), ``List`` kinds unpacked, empty documents skipped."""
    documents: list[dict[str, Any]] = []
    for source in sources:
        if source == "-":
            documents += _parse(sys.stdin.read(), "stdin")
            continue
        path = Path(source)
        files = (
            sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES) if path.is_dir() else [path]
        )
        for file in files:
            try:
                text = file.read_text()
            except OSError as exc:
                raise CliError(f"cannot read {file}: {exc.strerror}", Exit.USAGE) from None
            documents += _parse(text, str(file))
    if not documents:
        raise CliError("no objects in the files given", Exit.USAGE)
    return documents


def _parse(text: str, where: str) -> list[dict[str, Any]]:
    try:
        loaded = list(yaml.safe_load_all(text))  # JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise CliError(f"{where} is not valid YAML or JSON{line}", Exit.USAGE) from None
    found: list[dict[str, Any]] = []
    for doc in loaded:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise CliError(f"{where}: every document must be an object", Exit.USAGE)
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            found += [d for d in doc["items"] if isinstance(d, dict)]
        else:
            found.append(doc)
    # Dates and other YAML-only values as JSON would carry them.
    result: list[dict[str, Any]] = json.loads(json.dumps(found, default=str))
    return result


def _view(payload: dict[str, Any]) -> list[RenderableType]:
    results = payload.get("results") or []
    if not results:
        return []
    return [
        table(
            results,
            [
                ("#", field("index")),
                ("KIND", field("object", "kind")),
                ("NAMESPACE", field("object", "namespace")),
                ("NAME", field("object", "name")),
                ("STATE", field("state")),
                ("WAITING FOR", lambda r: _ref(r.get("waitingFor"))),
                ("REASON", field("reason")),
            ],
            title="Results",
        )
    ]


def _ref(ref: dict[str, Any] | None) -> str | None:
    if not ref:
        return None
    return f"{ref.get('kind')} {ref.get('namespace') or ''}/{ref.get('name')}".replace(" /", " ")


@command("apply", short_help="apply KubeDB/KubeStash manifests (YAML/JSON, any order)")
@click.option(
    "-f",
    "--filename",
    "sources",
    multiple=True,
    required=True,
    metavar="FILE|DIR|-",
    help="manifests: a file, a folder of .yaml/.yml/.json files, or - for stdin (repeatable)",
)
@click.option("--cluster", help="cluster; may be left out when the gateway has one")
@click.option(
    "--wait", is_flag=True, help="until every object is APPLIED and every database's setup is READY"
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="seconds, with --wait",
)
@dry_run_option
@yes_option
@client_options
def cli(
    *,
    session: Session,
    sources: tuple[str, ...],
    cluster: str | None,
    wait: bool,
    timeout: float,
    dry_run: bool,
    yes: bool,
) -> int:
    """Apply KubeDB and KubeStash objects (databases, storages, policies, configurations,
    and the Namespaces and Secrets they need), in any order: the gateway orders them. If
    any document is refused, none is applied."""
    documents = read_documents(sources)
    started = time.monotonic()
    inputs: dict[str, Any] = {"documents": documents}
    if cluster:
        inputs["cluster"] = cluster
    if wait and not dry_run:
        inputs["waitSeconds"] = int(timeout)
    change = Change(
        "applyManifests",
        "ApplyManifestsInput",
        inputs,
        selection=RESULTS,
        what=f"applying {len(documents)} objects",
    )
    code, payload = run_change(
        session, change, dry_run=dry_run, yes=yes, view=_view, timeout=(timeout if wait else 0) + 60
    )
    if code or payload is None or not wait:
        return code
    waiting = [r for r in payload["results"] if r["state"] == "WAITING"]
    if waiting:
        names = ", ".join(_ref(r.get("waitingFor")) or "?" for r in waiting)
        raise CliError(f"timed out: still waiting for {names}", Exit.TIMED_OUT)
    databases = [
        r["object"]
        for r, doc in zip(payload["results"], documents, strict=False)
        if r.get("object") and str(doc.get("apiVersion", "")).startswith("kubedb.com/")
    ]
    left = max(0.0, timeout - (time.monotonic() - started))
    return _wait_setup(session, databases, timeout=left)


def _wait_setup(session: Session, databases: list[dict[str, Any]], *, timeout: float) -> int:
    client = session.client

    async def go() -> int:
        deadline = time.monotonic() + timeout
        for db in databases:
            ref = {k: db[k] for k in ("cluster", "namespace", "name", "kind") if db.get(k)}
            with Progress(
                session.err,
                title=f"setting up {ref['namespace']}/{ref['name']}",
                live=session.err.is_terminal,
            ) as progress:
                await with_timeout(
                    wait_database(client, ref, target="setup", progress=progress),
                    timeout=max(0.0, deadline - time.monotonic()),
                    progress=progress,
                )
        return 0

    return asyncio.run(go())


def register(commands: Any) -> None:
    passthrough(commands, cli)
