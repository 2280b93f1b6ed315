"""The restore workflow's record model and step machine, without a cluster: what the
controller would record for a given record and world."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resolvers.reads.workflows import (
    Check,
    DatabaseRef,
    Ref,
    Workflow,
    WorkflowFilter,
    cursor_of,
    matching,
    new_steps,
    page,
    parse_workflow,
)
from resolvers.workflows.steps import advance, complete_resume
from sandbox import objects as o
from tests.unit.test_backup_plans import MemoryStore

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
CLUSTER = "prod"


def workflow(**kw: object) -> Workflow:
    base = Workflow(
        id="abc",
        cluster=CLUSTER,
        database=DatabaseRef("Postgres", "team-a", "pg"),
        snapshot=Ref("team-a", "snap"),
        repository=Ref("team-a", "repo"),
        restore_session="pg-restore-1",
        pause_traffic=True,
        resume="AUTOMATIC",
        started_by="alice",
        started_groups=("team-a-developers",),
        started_at=NOW,
        steps=new_steps(pause_traffic=True, checks=False, resume="AUTOMATIC"),
        paused_backups=(Ref("team-a", "pg-backup"),),
    )
    wf = base.with_step("PAUSE_TRAFFIC", "SUCCEEDED", now=NOW)
    wf = wf.with_step("PAUSE_BACKUPS", "SUCCEEDED", now=NOW)
    wf = wf.with_step("RESTORE_DATA", "RUNNING", now=NOW)
    from dataclasses import replace

    return replace(wf, **kw)  # type: ignore[arg-type]


def states(wf: Workflow) -> dict[str, str]:
    return {s.kind: s.state for s in wf.steps}


def test_a_record_reads_back_as_written() -> None:
    wf = workflow(checks=(Check(Ref("kubestash", "count"), {"min": "1"}),))
    cm = wf.config_map(namespace="stashql-system")
    assert cm["metadata"]["labels"]["stashql.io/workflow"] == "true"
    back = parse_workflow({**cm, "metadata": {**cm["metadata"], "resourceVersion": "9"}})
    assert back == wf
    assert back is not None
    assert back.resource_version == "9"
    assert parse_workflow({"data": {"workflow": "not json"}}) is None


def test_long_names_get_label_safe_values() -> None:
    wf = workflow(database=DatabaseRef("Postgres", "team-a", "p" * 80))
    labels = wf.config_map(namespace="x")["metadata"]["labels"]
    assert all(len(v) <= 63 for v in labels.values())


def test_restore_data_waits_then_succeeds_or_fails_with_the_reason() -> None:
    store = MemoryStore()
    db = o.database("Postgres", "pg", "team-a")
    rs = o.restore_session("pg-restore-1", db, repository="repo", phase="Running")
    store.put(rs, CLUSTER)
    assert advance(workflow(), store=store, now=NOW) is None
    rs["status"] = {"phase": "Failed", "components": {"dump": {"error": "disk full"}}}
    store.put(rs, CLUSTER)
    move = advance(workflow(), store=store, now=NOW)
    assert move is not None
    assert move.record is not None
    assert move.record.phase == "FAILED"
    assert "disk full" in (move.record.step("RESTORE_DATA").message or "")
    assert states(move.record)["RESUME_TRAFFIC"] == "PENDING"  # traffic stays paused


def test_a_missing_session_fails_only_after_a_grace_period() -> None:
    store = MemoryStore()
    assert advance(workflow(), store=store, now=NOW + timedelta(seconds=5)) is None
    move = advance(workflow(), store=store, now=NOW + timedelta(minutes=5))
    assert move is not None
    assert move.record is not None
    assert move.record.phase == "FAILED"


def test_manual_stops_at_await_resume_and_resume_completes_it() -> None:
    store = MemoryStore()
    wf = workflow(
        resume="MANUAL", steps=new_steps(pause_traffic=True, checks=False, resume="MANUAL")
    )
    wf = wf.with_step("PAUSE_TRAFFIC", "SUCCEEDED", now=NOW)
    wf = wf.with_step("PAUSE_BACKUPS", "SUCCEEDED", now=NOW)
    wf = wf.with_step("RESTORE_DATA", "SUCCEEDED", now=NOW)
    move = advance(wf, store=store, now=NOW)
    assert move is not None
    assert move.record is not None
    assert move.record.phase == "AWAITING_RESUME"
    assert advance(move.record, store=store, now=NOW) is None  # only a resume moves it
    done = complete_resume(move.record, by="alice", now=NOW)
    assert done.phase == "SUCCEEDED"
    assert all(s.state in ("SUCCEEDED", "SKIPPED") for s in done.steps)


def test_checks_fail_the_workflow_as_soon_as_one_fails() -> None:
    store = MemoryStore()
    db = o.database("Postgres", "pg", "team-a")
    rs = o.restore_session("pg-restore-1", db, repository="repo", phase="Succeeded")
    rs["status"]["hooks"] = {"postHooks": [{"name": "check-1", "phase": "Failed"}]}
    store.put(rs, CLUSTER)
    checks = (Check(Ref("k", "a")), Check(Ref("k", "b")))
    wf = workflow(
        resume="AFTER_CHECKS",
        checks=checks,
        steps=new_steps(pause_traffic=True, checks=True, resume="AFTER_CHECKS"),
    ).with_step("RESTORE_DATA", "SUCCEEDED", now=NOW)
    wf = wf.with_step("PAUSE_TRAFFIC", "SUCCEEDED", now=NOW)
    wf = wf.with_step("PAUSE_BACKUPS", "SUCCEEDED", now=NOW)
    move = advance(wf, store=store, now=NOW)
    assert move is not None
    assert move.record is not None
    assert move.record.phase == "FAILED"
    assert [c.state for c in move.record.checks] == ["RUNNING", "FAILED"]
    assert "k/b" in (move.record.step("RUN_CHECKS").message or "")


def test_resume_steps_are_marked_running_before_they_act() -> None:
    store = MemoryStore()
    wf = workflow().with_step("RESTORE_DATA", "SUCCEEDED", now=NOW)
    move = advance(wf, store=store, now=NOW)
    assert move is not None
    assert move.act is None
    assert move.record is not None
    assert move.record.step("RESUME_BACKUPS").state == "RUNNING"
    acting = advance(move.record, store=store, now=NOW)
    assert acting is not None
    assert acting.act is not None
    assert [c.action for c in acting.act.changes] == ["NONE"]


def test_listing_is_newest_first_with_keyset_cursors_and_filters() -> None:
    wfs = sorted(
        (workflow(id=f"w{i}", started_at=NOW + timedelta(minutes=i)) for i in range(5)),
        key=cursor_of,
        reverse=True,
    )
    first, more = page(wfs, first=2, after=None)
    assert [w.id for w in first] == ["w4", "w3"]
    assert more
    second, more = page(wfs, first=2, after=cursor_of(first[-1]))
    assert [w.id for w in second] == ["w2", "w1"]
    assert more
    failed = matching(wfs, WorkflowFilter(phases=["FAILED"]), visible=lambda w: True)
    assert failed == []
    hidden = matching(wfs, None, visible=lambda w: w.id != "w2")
    assert "w2" not in [w.id for w in hidden]


def test_an_event_names_the_step_that_moved() -> None:
    from resolvers.events.stream import Event
    from resolvers.events.workflows import WORKFLOWS, transition

    before = workflow().config_map(namespace="x")
    after = workflow().with_step("RESTORE_DATA", "SUCCEEDED", now=NOW).config_map(namespace="x")
    event = Event(
        type="UPDATED",
        cluster=CLUSTER,
        resource=None,
        namespace="x",
        name="wf-abc",
        item=None,
        previous_phase=WORKFLOWS.phase(before),
        phase=WORKFLOWS.phase(after),
        progress=None,
        at=NOW,
        resume_token="t",
    )
    moved = transition(event)
    assert (moved.step, moved.previous_state, moved.state) == (
        "RESTORE_DATA",
        "RUNNING",
        "SUCCEEDED",
    )
