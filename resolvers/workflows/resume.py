"""resumeDatabaseTraffic's runner: the caller's changes, then the completed record.

The plan (``resolvers/writes/traffic``) resumes traffic and the backups the waiting
restore paused, as the caller. Once that went through, the workflow it completes is
recorded done by the gateway, with a resourceVersion guard: on a conflict (the
controller wrote meanwhile) the record is read again and completed again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.identity import Viewer
from resolvers.reads.workflows import Workflow
from resolvers.workflows.records import Conflict, Records
from resolvers.workflows.steps import complete_resume
from resolvers.writes.engine import Outcome, Writer
from resolvers.writes.traffic import TrafficPlan


async def run_resume(
    writer: Writer,
    planned: TrafficPlan,
    *,
    records: Records | None,
    caller: Viewer,
    input_digest: str,
    dry_run: bool,
    idempotency_key: str | None,
    request_id: str = "",
    attempts: int = 5,
) -> tuple[Outcome, Workflow | None]:
    outcome = await writer.run(
        planned.plan,
        caller=caller,
        mutation="resumeDatabaseTraffic",
        input_digest=input_digest,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
    waiting = planned.completes
    if dry_run or not outcome.ok or waiting is None or records is None:
        return outcome, None
    for _ in range(attempts):
        current = await records.get(waiting.id)
        if current is None:
            return outcome, None
        done = complete_resume(current, by=caller.username, now=datetime.now(UTC))
        try:
            return outcome, await records.update(done)
        except Conflict:
            continue
    return outcome, None
