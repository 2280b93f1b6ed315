"""Waiting over graphql-transport-ws: for a database to be READY (its phase) or set up
(``setupStatus``: the database and its backup), and for a restore workflow to end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from cli.client.exits import CliError, Exit
from cli.client.progress import Progress
from cli.client.refs import shown
from cli.client.transport import GraphQLClient

Target = Literal["ready", "setup"]
T = TypeVar("T")

_DATABASE_READY = """subscription($f: DatabaseFilter) { databaseEvents(filter: $f) {
  type ref { cluster namespace name kind } phase
  database { cluster namespace name kind version phase } } }"""

# setupState and setupStatus only where asked for: `--for ready` works on any gateway.
_DATABASE_SETUP = """subscription($f: DatabaseFilter) { databaseEvents(filter: $f) {
  type ref { cluster namespace name kind } phase setupState
  database { cluster namespace name kind version phase
    setupStatus { state reasons waitingFor { cluster kind namespace name } } } } }"""

_RESTORE = """subscription($f: RestoreWorkflowFilter) { restoreWorkflowEvents(filter: $f) {
  type workflowId
  workflow { id phase currentStep { kind state message } steps { kind state message } } } }"""


async def with_timeout(work: Awaitable[T], *, timeout: float, progress: Progress) -> T:
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise CliError(
            f"timed out after {timeout:g}s; last seen: {progress.status}", Exit.TIMED_OUT
        ) from None


def _database_filter(ref: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {"namespaces": [ref["namespace"]], "nameContains": ref["name"]}
    if ref.get("cluster"):
        f["clusters"] = [ref["cluster"]]
    if ref.get("kind"):
        f["kinds"] = [ref["kind"]]
    return f


async def wait_database(
    client: GraphQLClient, ref: dict[str, Any], *, target: Target, progress: Progress
) -> dict[str, Any]:
    """The database once it is there; FAILED (exit 4) if its setup fails or it is deleted."""
    progress.update(f"waiting for database {shown(ref)} to appear")
    query = _DATABASE_SETUP if target == "setup" else _DATABASE_READY
    cluster = ref.get("cluster")
    async for data in client.subscribe(query, {"f": _database_filter(ref)}):
        event = data.get("databaseEvents") or {}
        found = event.get("ref") or {}
        if found.get("name") != ref["name"] or found.get("namespace") != ref["namespace"]:
            continue  # nameContains also matches longer names
        if cluster and found.get("cluster") != cluster:
            continue
        cluster = found.get("cluster")
        if event.get("type") == "DELETED":
            raise CliError(f"database {shown(found)} was deleted", Exit.FAILED)
        database = event.get("database")
        if not database:
            continue
        phase = database.get("phase")
        if target == "ready":
            progress.update(f"{shown(found)}: phase {phase}")
            if phase == "READY":
                return dict(database)
            continue
        setup = database.get("setupStatus") or {}
        state = event.get("setupState") or setup.get("state")
        reasons = "; ".join(setup.get("reasons") or [])
        progress.update(
            f"{shown(found)}: phase {phase}, setup {state}" + (f": {reasons}" if reasons else "")
        )
        if state == "READY":
            return dict(database)
        if state == "FAILED":
            raise CliError(
                f"setup of {shown(found)} FAILED: {reasons or 'no reason given'}", Exit.FAILED
            )
    raise CliError("the gateway ended the subscription before the database was there")


async def wait_restore(
    client: GraphQLClient, ref: dict[str, Any], workflow_id: str, *, progress: Progress
) -> dict[str, Any]:
    """The restore workflow once it ended or waits for resume; FAILED (exit 4) if it failed."""
    progress.update(f"restoring into {shown(ref)}")
    database = {k: ref[k] for k in ("cluster", "namespace", "name") if ref.get(k)}
    async for data in client.subscribe(_RESTORE, {"f": {"database": database}}):
        event = data.get("restoreWorkflowEvents") or {}
        if event.get("workflowId") != workflow_id:
            continue
        workflow = event.get("workflow") or {}
        phase = workflow.get("phase")
        current = workflow.get("currentStep") or {}
        message = f": {current['message']}" if current.get("message") else ""
        step = f", step {current.get('kind')}{message}" if current else ""
        progress.update(
            f"restore {phase}{step}",
            [(s["kind"], s["state"]) for s in workflow.get("steps") or []],
        )
        if phase in ("SUCCEEDED", "AWAITING_RESUME"):
            return dict(workflow)
        if phase == "FAILED":
            raise CliError(
                f"the restore into {shown(ref)} FAILED{step}; traffic and backups stay paused "
                "until `stashql resume`",
                Exit.FAILED,
            )
    raise CliError("the gateway ended the subscription before the restore ended")
