"""Restore workflows: the record model (``restore-design.md``, "Workflow record") and
the read side (``Database.restoreWorkflow``, ``restoreWorkflows``).

A workflow lives in a ConfigMap ``wf-<id>`` in the gateway's own namespace, written only
by the gateway's identity (so ``startedBy`` can be trusted), with the workflow as JSON
in ``data.workflow``. This module parses and serialises that JSON and says where a
workflow stands; it does no I/O. The controller (``resolvers/workflows``) moves the
steps; the read side lists the records the ConfigMap informer holds.

It lives on the read side because both sides need it and the read side may not depend
on the write side (an import-linter contract).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from apis import objects
from apis.resources import CONFIG_MAPS, KUBEDB, database_kind
from core.times import parse_time
from resolvers.reads.graph import Graph
from watchers.cache import Cache, ClusterProblem

STEP_KINDS = (
    "PAUSE_TRAFFIC",
    "PAUSE_BACKUPS",
    "RESTORE_DATA",
    "RUN_CHECKS",
    "AWAIT_RESUME",
    "RESUME_BACKUPS",
    "RESUME_TRAFFIC",
)
STEP_STATES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED")
PHASES = ("RUNNING", "AWAITING_RESUME", "SUCCEEDED", "FAILED")
RESUMES = ("AUTOMATIC", "AFTER_CHECKS", "MANUAL")
ACTIVE_PHASES = frozenset({"RUNNING", "AWAITING_RESUME"})

WORKFLOW_LABEL = "stashql.io/workflow"
KIND_LABEL = "stashql.io/database-kind"
NAMESPACE_LABEL = "stashql.io/database-namespace"
NAME_LABEL = "stashql.io/database-name"
MANAGED_BY = "app.kubernetes.io/managed-by"
DATA_KEY = "workflow"
PREFIX = "wf-"


def label_value(value: str) -> str:
    """A label-safe value: as is when it fits, else a prefix and a hash (63 characters)."""
    if len(value) <= 63:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[:46].rstrip('-._')}-{digest}"


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@dataclass(frozen=True)
class Ref:
    namespace: str
    name: str

    def json(self) -> dict[str, str]:
        return {"namespace": self.namespace, "name": self.name}

    @staticmethod
    def of(value: object) -> Ref | None:
        ns, name = objects.str_at(value, "namespace"), objects.str_at(value, "name")
        return Ref(ns or "", name) if name else None


@dataclass(frozen=True)
class DatabaseRef:
    kind: str
    namespace: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Step:
    kind: str
    state: str = "PENDING"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str | None = None

    @property
    def open(self) -> bool:
        return self.state in ("PENDING", "RUNNING")


@dataclass(frozen=True)
class Check:
    hook_template: Ref
    params: Mapping[str, Any] | None = None
    state: str = "PENDING"
    message: str | None = None


@dataclass(frozen=True)
class Workflow:
    id: str
    cluster: str
    database: DatabaseRef
    snapshot: Ref
    repository: Ref | None
    restore_session: str
    pause_traffic: bool
    resume: str
    started_by: str
    started_groups: tuple[str, ...]
    started_at: datetime
    phase: str = "RUNNING"
    steps: tuple[Step, ...] = ()
    checks: tuple[Check, ...] = ()
    tasks: tuple[str, ...] = ()
    paused_backups: tuple[Ref, ...] = ()
    finished_at: datetime | None = None
    generation: int = 0
    # The ConfigMap's resourceVersion it was read at (not serialised): every update is
    # a PUT guarded by it.
    resource_version: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        return PREFIX + self.id

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    def step(self, kind: str) -> Step:
        return next(s for s in self.steps if s.kind == kind)

    @property
    def current_step(self) -> Step | None:
        """The step running, waiting or failed; None when done."""
        failed = next((s for s in self.steps if s.state == "FAILED"), None)
        if failed is not None:
            return failed
        return next((s for s in self.steps if s.open), None)

    # -------------------------------------------------------------- transitions

    def with_step(
        self, kind: str, state: str, *, now: datetime, message: str | None = None
    ) -> Workflow:
        """The workflow with one step moved to ``state`` (times set as it starts or ends)."""
        steps = []
        for s in self.steps:
            if s.kind == kind:
                started = s.started_at or (now if state != "SKIPPED" else None)
                finished = now if state in ("SUCCEEDED", "FAILED", "SKIPPED") else None
                s = Step(kind, state, started, finished, message if message else s.message)
            steps.append(s)
        return replace(self, steps=tuple(steps), generation=self.generation + 1)

    def with_phase(self, phase: str, *, now: datetime) -> Workflow:
        finished = now if phase in ("SUCCEEDED", "FAILED") else None
        return replace(self, phase=phase, finished_at=finished, generation=self.generation + 1)

    def with_checks(self, checks: Sequence[Check]) -> Workflow:
        return replace(self, checks=tuple(checks), generation=self.generation + 1)

    # ------------------------------------------------------------ serialising

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cluster": self.cluster,
            "database": {
                "kind": self.database.kind,
                "namespace": self.database.namespace,
                "name": self.database.name,
            },
            "snapshot": self.snapshot.json(),
            "repository": self.repository.json() if self.repository else None,
            "restoreSession": self.restore_session,
            "tasks": list(self.tasks),
            "pauseTraffic": self.pause_traffic,
            "resume": self.resume,
            "checks": [
                {
                    "hookTemplate": c.hook_template.json(),
                    "params": dict(c.params) if c.params is not None else None,
                    "state": c.state,
                    "message": c.message,
                }
                for c in self.checks
            ],
            "startedBy": {"username": self.started_by, "groups": list(self.started_groups)},
            "startedAt": _time(self.started_at),
            "finishedAt": _time(self.finished_at),
            "phase": self.phase,
            "steps": [
                {
                    "kind": s.kind,
                    "state": s.state,
                    "startedAt": _time(s.started_at),
                    "finishedAt": _time(s.finished_at),
                    "message": s.message,
                }
                for s in self.steps
            ],
            "pausedBackups": [r.json() for r in self.paused_backups],
            "generation": self.generation,
        }

    def config_map(self, *, namespace: str) -> dict[str, Any]:
        """The record as the ConfigMap to create or PUT (with resourceVersion once read)."""
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": namespace,
            "labels": {
                MANAGED_BY: "stashql",
                WORKFLOW_LABEL: "true",
                KIND_LABEL: label_value(self.database.kind),
                NAMESPACE_LABEL: label_value(self.database.namespace),
                NAME_LABEL: label_value(self.database.name),
            },
        }
        if self.resource_version:
            metadata["resourceVersion"] = self.resource_version
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": {DATA_KEY: json.dumps(self.json(), sort_keys=True)},
        }


def new_steps(*, pause_traffic: bool, checks: bool, resume: str) -> tuple[Step, ...]:
    """The seven steps, SKIPPED where not part of this restore."""
    skipped = {
        "PAUSE_TRAFFIC": not pause_traffic,
        "RUN_CHECKS": not checks,
        "AWAIT_RESUME": resume != "MANUAL",
        "RESUME_TRAFFIC": not pause_traffic,
    }
    return tuple(Step(k, "SKIPPED" if skipped.get(k) else "PENDING") for k in STEP_KINDS)


def _enum(value: object, allowed: Sequence[str], default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


def parse_workflow(config_map: Mapping[str, Any]) -> Workflow | None:
    """The workflow a ConfigMap holds; None if it is not a readable record."""
    text = objects.str_at(config_map, "data", DATA_KEY)
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    db = objects.mapping_at(raw, "database")
    snapshot = Ref.of(raw.get("snapshot"))
    wid = objects.str_at(raw, "id")
    started_at = parse_time(raw.get("startedAt"))
    if not wid or not db.get("name") or snapshot is None or started_at is None:
        return None
    steps = {
        s.get("kind"): Step(
            kind=str(s.get("kind")),
            state=_enum(s.get("state"), STEP_STATES, "PENDING"),
            started_at=parse_time(s.get("startedAt")),
            finished_at=parse_time(s.get("finishedAt")),
            message=objects.str_at(s, "message"),
        )
        for s in objects.mappings_at(raw, "steps")
        if s.get("kind") in STEP_KINDS
    }
    checks = tuple(
        Check(
            hook_template=Ref.of(c.get("hookTemplate")) or Ref("", ""),
            params=c.get("params") if isinstance(c.get("params"), dict) else None,
            state=_enum(c.get("state"), STEP_STATES, "PENDING"),
            message=objects.str_at(c, "message"),
        )
        for c in objects.mappings_at(raw, "checks")
    )
    return Workflow(
        id=wid,
        cluster=objects.text_at(raw, "cluster"),
        database=DatabaseRef(
            kind=objects.text_at(db, "kind"),
            namespace=objects.text_at(db, "namespace"),
            name=objects.text_at(db, "name"),
        ),
        snapshot=snapshot,
        repository=Ref.of(raw.get("repository")),
        restore_session=objects.text_at(raw, "restoreSession"),
        pause_traffic=bool(raw.get("pauseTraffic")),
        resume=_enum(raw.get("resume"), RESUMES, "AUTOMATIC"),
        started_by=objects.text_at(raw, "startedBy", "username"),
        started_groups=tuple(
            str(g) for g in objects.list_at(raw, "startedBy", "groups") if isinstance(g, str)
        ),
        started_at=started_at,
        phase=_enum(raw.get("phase"), PHASES, "RUNNING"),
        steps=tuple(steps.get(k, Step(k, "SKIPPED")) for k in STEP_KINDS),
        checks=checks,
        tasks=tuple(str(t) for t in objects.list_at(raw, "tasks") if isinstance(t, str)),
        paused_backups=tuple(
            r for r in (Ref.of(p) for p in objects.mappings_at(raw, "pausedBackups")) if r
        ),
        finished_at=parse_time(raw.get("finishedAt")),
        generation=objects.int_or(raw, "generation", default=0),
        resource_version=objects.text_at(config_map, "metadata", "resourceVersion"),
    )


# ----------------------------------------------------------------- reading


def workflows_of(
    records: Iterable[Mapping[str, Any]], *, cluster: str | None = None
) -> list[Workflow]:
    """The readable workflows among ConfigMaps, newest first (ties by id)."""
    found = [w for w in (parse_workflow(r) for r in records) if w is not None]
    if cluster is not None:
        found = [w for w in found if w.cluster == cluster]
    return sorted(found, key=cursor_of, reverse=True)


def for_database(workflows: Iterable[Workflow], db: DatabaseRef) -> list[Workflow]:
    return [w for w in workflows if w.database == db]


def current_workflow(workflows: Iterable[Workflow], db: DatabaseRef) -> Workflow | None:
    """``Database.restoreWorkflow``: the running one, else the latest one."""
    mine = for_database(workflows, db)
    return next((w for w in mine if w.active), mine[0] if mine else None)


@dataclass(frozen=True)
class WorkflowFilter:
    clusters: Sequence[str] | None = None
    namespaces: Sequence[str] | None = None
    database: DatabaseRef | None = None
    database_kind_given: bool = False
    phases: Sequence[str] | None = None


def matching(
    workflows: Iterable[Workflow],
    flt: WorkflowFilter | None,
    *,
    visible: Callable[[Workflow], bool],
) -> list[Workflow]:
    """The workflows passing the filter and the viewer's access (may they see the database?)."""
    out = []
    for w in workflows:
        if flt is not None:
            if flt.clusters is not None and w.cluster not in flt.clusters:
                continue
            if flt.namespaces is not None and w.database.namespace not in flt.namespaces:
                continue
            if flt.phases is not None and w.phase not in flt.phases:
                continue
            d = flt.database
            if d is not None and (
                (d.namespace, d.name) != (w.database.namespace, w.database.name)
                or (flt.database_kind_given and d.kind.lower() != w.database.kind.lower())
            ):
                continue
        if visible(w):
            out.append(w)
    return out


def cursor_of(w: Workflow) -> str:
    """A keyset cursor: the sort key, so a page continues right after it."""
    return f"{_time(w.started_at)}|{w.cluster}|{w.id}"


def page(
    workflows: Sequence[Workflow], *, first: int | None, after: str | None, max_first: int = 100
) -> tuple[list[Workflow], bool]:
    """One page of newest-first workflows after the cursor; and whether more follow."""
    start = 0
    if after:
        keys = [cursor_of(w) for w in workflows]
        # Keyset: continue after the cursor's key even if that workflow went away.
        start = next(
            (i for i, k in enumerate(keys) if _after(k, after)),
            len(workflows),
        )
    size = max(0, min(first if first is not None else 20, max_first))
    chunk = list(workflows[start : start + size])
    return chunk, start + size < len(workflows)


def _after(key: str, cursor: str) -> bool:
    # Newest first: a later item has a smaller (time, cluster, id) key.
    return tuple(key.split("|")) < tuple(cursor.split("|"))


# ----------------------------------------------------------- with the cache


def cached_workflows(cache: Cache, *, namespace: str = "stashql-system") -> list[Workflow]:
    """Every cluster's workflow records the gateway's informers hold, newest first."""
    found: list[Workflow] = []
    for name, cluster in cache.clusters.items():
        informer = cluster.informer(CONFIG_MAPS.group, CONFIG_MAPS.kind)
        if informer is None:
            continue
        records = [r for r in informer.items() if objects.namespace_of(r) == namespace]
        found.extend(workflows_of(records, cluster=name))
    return sorted(found, key=cursor_of, reverse=True)


def database_access(w: Workflow) -> tuple[str, str, str, str]:
    """The access decision (cluster, group, plural, namespace) that shows a workflow:
    reading its database (deleted ones by namespace)."""
    known = database_kind(w.database.kind)
    plural = known.resource.plural if known is not None else f"{w.database.kind.lower()}s"
    return (w.cluster, KUBEDB, plural, w.database.namespace)


def may_see(graph: Graph, w: Workflow) -> bool:
    """Whether the viewer may see the workflow's database."""
    return graph.access.allows(*database_access(w))


@dataclass(frozen=True)
class WorkflowPage:
    nodes: list[Workflow]
    has_next: bool
    total: int
    problems: list[ClusterProblem]


def restore_workflows(
    graph: Graph,
    flt: WorkflowFilter | None,
    *,
    first: int | None,
    after: str | None,
    namespace: str = "stashql-system",
) -> WorkflowPage:
    """``restoreWorkflows``: the viewer's workflows passing the filter, newest first."""
    found = matching(
        cached_workflows(graph.cache, namespace=namespace), flt, visible=lambda w: may_see(graph, w)
    )
    nodes, more = page(found, first=first, after=after)
    problems = []
    for name, cluster in graph.cache.clusters.items():
        if flt is not None and flt.clusters is not None and name not in flt.clusters:
            continue
        informer = cluster.informer(CONFIG_MAPS.group, CONFIG_MAPS.kind)
        problem = cluster.problem([informer] if informer is not None else [])
        if problem is not None:
            problems.append(problem)
    return WorkflowPage(nodes=nodes, has_next=more, total=len(found), problems=problems)


def database_workflow(graph: Graph, cluster: str, db: DatabaseRef) -> Workflow | None:
    """``Database.restoreWorkflow``: the running one, else the latest one."""
    mine = [w for w in cached_workflows(graph.cache) if w.cluster == cluster]
    return current_workflow(mine, db)
