"""Mutation fields for restores into a running database and for its traffic:
restoreDatabase, pauseDatabaseTraffic, resumeDatabaseTraffic.

restoreDatabase plans in two parts: which snapshot and tasks restore the data
(``resolvers/writes/restore``, the same choice as for a new database), then the
workflow around it (``resolvers/workflows``: pause traffic and backups, the
RestoreSession, the steps that follow, and the workflow record the gateway keeps in its
own namespace). The gateway's workflow controller carries the later steps out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

import strawberry

from apis.resources import KUBEDB
from resolvers.reads.workflows import Workflow
from resolvers.workflows.records import Records
from resolvers.workflows.restore import (
    RestoreCheckInput,
    RestorePlan,
    RestoreWorkflowInput,
    plan_restore_database,
    run_restore,
)
from resolvers.workflows.resume import run_resume
from resolvers.writes import restore
from resolvers.writes.backup.common import Database as DatabaseObject
from resolvers.writes.backup.common import find_database
from resolvers.writes.backup.inputs import ObjectRefInput
from resolvers.writes.engine import Outcome
from resolvers.writes.idempotency import input_digest
from resolvers.writes.plan import Change, Plan, UserError
from resolvers.writes.run import Result, plain, resolve_cluster
from resolvers.writes.traffic import (
    PauseDatabaseTrafficInput,
    ResumeDatabaseTrafficInput,
    plan_pause_database_traffic,
    plan_resume_database_traffic,
)
from schema.info import Info, graph_of
from schema.linked import Database, RestoreSession, RestoreWorkflow
from schema.mutations import restore as restore_types
from schema.mutations import traffic as types
from schema.mutations.calls import answered, call, current, services_of
from schema.mutations.convert import payload, to_dataclass


def _refused(error: UserError) -> Result:
    return Result(Outcome(Plan(errors=[error])), None)


def _workflow(found: Workflow | None) -> RestoreWorkflow | None:
    return RestoreWorkflow.of(found) if found is not None else None


def _visible(info: Info, cluster: str, ref: Any) -> UserError | None:
    if graph_of(info).get(cluster, KUBEDB, ref.kind, ref.namespace, ref.name) is None:
        return UserError(
            "NOT_FOUND",
            f"{ref.kind or 'Database'} {ref.namespace}/{ref.name} does not exist in cluster "
            f"{cluster}, or you may not see it.",
            ("database",),
        )
    return None


def _checks(given: Sequence[restore.RestoreCheckInput] | None) -> tuple[RestoreCheckInput, ...]:
    return tuple(
        RestoreCheckInput(
            hook_template=ObjectRefInput(
                cluster=c.hook_template.cluster,
                kind=c.hook_template.kind,
                namespace=c.hook_template.namespace,
                name=c.hook_template.name,
            ),
            params=dict(c.params) if isinstance(c.params, dict) else None,
        )
        for c in given or ()
    )


def _plan_restore(
    inp: restore.RestoreDatabaseInput, *, info: Info, cluster: str
) -> RestorePlan | Plan:
    """The whole restoreDatabase plan, or the refused plan of its data part."""
    services = services_of(info)
    store, now = services.store, services.now()
    scratch = Plan()
    db = find_database(store, cluster=cluster, ref=_backup_ref(inp.database), plan=scratch)
    if db is None:
        return scratch
    data = restore.plan_data_restore(
        db,
        inp.source,
        checks=inp.checks or (),
        tasks=inp.tasks,
        store=store,
        cluster=cluster,
        now=now,
    )
    if data.plan.refused or data.snapshot is None or data.change is None:
        return data.plan
    session: Change = data.change

    def data_restore(target: DatabaseObject, plan: Plan) -> Change | None:
        del target
        plan.warnings.extend(data.plan.warnings)
        return session

    snapshot_ns, snapshot_name = data.snapshot
    repo = data.repository
    wf_input = RestoreWorkflowInput(
        database=_backup_ref(inp.database),
        snapshot=ObjectRefInput(namespace=snapshot_ns, name=snapshot_name),
        pause_traffic=inp.pause_traffic,
        resume=inp.resume,
        checks=_checks(inp.checks),
        repository=ObjectRefInput(namespace=repo[0], name=repo[1]) if repo else None,
        tasks=tuple(data.tasks),
        point_in_time=inp.source.point_in_time is not None,
    )
    return plan_restore_database(
        wf_input,
        store=store,
        cluster=cluster,
        caller=info.context.viewer,
        own_namespace=services.writer.settings.namespace,
        now=now,
        data_restore=data_restore,
    )


def _backup_ref(ref: Any) -> ObjectRefInput:
    return ObjectRefInput(
        cluster=ref.cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
    )


@strawberry.type
class TrafficMutations:
    @strawberry.mutation(
        description=(
            "Restores a backup into a running database. StashQL chooses the restore tasks "
            "from the snapshot's components and the installed addon; the user never names "
            "them. By default applications cannot connect while it runs, and traffic "
            "resumes as `resume` says; backups are paused meanwhile. If the restore or a "
            "check fails, traffic and backups stay paused. RESTORE_IN_PROGRESS while "
            "another restore into it runs."
        )
    )
    async def restore_database(
        self,
        info: Info,
        input: Annotated[
            restore_types.RestoreDatabaseInput,
            strawberry.argument(description="What to restore."),
        ],
    ) -> types.RestoreDatabasePayload:
        services = services_of(info)
        context = info.context
        inp = to_dataclass(input, restore.RestoreDatabaseInput)
        chosen = resolve_cluster(
            services.store.clusters(), given=None, refs=[input.database.cluster]
        )
        if isinstance(chosen, UserError):
            return payload(types.RestoreDatabasePayload, _refused(chosen).plan)
        hidden = _visible(info, chosen, input.database)
        if hidden is not None:
            return payload(types.RestoreDatabasePayload, _refused(hidden).plan)
        dry_run = bool(input.dry_run)
        key = input.idempotency_key or None
        digest = input_digest("restoreDatabase", plain(inp))
        if key and not dry_run:
            replayed = await services.writer.replay(
                cluster=chosen,
                caller=context.viewer,
                mutation="restoreDatabase",
                input_digest=digest,
                idempotency_key=key,
                request_id=context.request_id,
            )
            if replayed is not None:
                r = Result(replayed, chosen)
                return payload(
                    types.RestoreDatabasePayload,
                    r.plan,
                    restore_session=answered(r, RestoreSession),
                    database=current(info, r, input.database, Database),
                )
        planned = _plan_restore(inp, info=info, cluster=chosen)
        if isinstance(planned, Plan):
            return payload(types.RestoreDatabasePayload, planned)
        outcome, workflow = await run_restore(
            services.writer,
            planned,
            caller=context.viewer,
            own_namespace=services.writer.settings.namespace,
            input_digest=digest,
            dry_run=dry_run,
            idempotency_key=key,
            request_id=context.request_id,
        )
        r = Result(outcome, chosen, dry_run=dry_run)
        return payload(
            types.RestoreDatabasePayload,
            r.plan,
            restore=_workflow(workflow) if r.ok else None,
            restore_session=answered(r, RestoreSession),
            database=current(info, r, input.database, Database),
        )

    @strawberry.mutation(
        description=(
            "Stops application connections: the database's Service selects no pod, while a "
            "maintenance Service keeps reaching it for internal use (database shell, checks, "
            "backup and restore jobs). Recorded on the database (`Database.traffic`), so it "
            "is visible and lasts until resumeDatabaseTraffic. Pausing twice changes nothing."
        )
    )
    async def pause_database_traffic(
        self,
        info: Info,
        input: Annotated[
            types.PauseDatabaseTrafficInput, strawberry.argument(description="The database.")
        ],
    ) -> types.PauseDatabaseTrafficPayload:
        caller = info.context.viewer.username

        def planner(inp: Any, *, store: Any, cluster: str, now: Any) -> Any:
            return plan_pause_database_traffic(
                inp, store=store, cluster=cluster, caller=caller, now=now
            )

        r = await call(
            info,
            mutation="pauseDatabaseTraffic",
            given=input,
            target=PauseDatabaseTrafficInput,
            planner=planner,
            refs=[input.database],
            with_now=True,
            subject=(input.database, KUBEDB, None),
        )
        return payload(
            types.PauseDatabaseTrafficPayload,
            r.plan,
            database=current(info, r, input.database, Database),
        )

    @strawberry.mutation(
        description=(
            "Lets applications connect again, and completes a restore waiting for it, also a "
            "failed one. RESTORE_IN_PROGRESS while data is still being restored or checked."
        )
    )
    async def resume_database_traffic(
        self,
        info: Info,
        input: Annotated[
            types.ResumeDatabaseTrafficInput, strawberry.argument(description="The database.")
        ],
    ) -> types.ResumeDatabaseTrafficPayload:
        services = services_of(info)
        context = info.context
        inp = to_dataclass(input, ResumeDatabaseTrafficInput)
        chosen = resolve_cluster(
            services.store.clusters(), given=None, refs=[input.database.cluster]
        )
        if isinstance(chosen, UserError):
            return payload(types.ResumeDatabaseTrafficPayload, _refused(chosen).plan)
        hidden = _visible(info, chosen, input.database)
        if hidden is not None:
            return payload(types.ResumeDatabaseTrafficPayload, _refused(hidden).plan)
        namespace = services.writer.settings.namespace
        planned = plan_resume_database_traffic(
            replace(inp), store=services.store, cluster=chosen, own_namespace=namespace
        )
        client = services.writer.gateway_client(chosen)
        outcome, done = await run_resume(
            services.writer,
            planned,
            records=Records(client=client, namespace=namespace) if client else None,
            caller=context.viewer,
            input_digest=input_digest("resumeDatabaseTraffic", plain(inp)),
            dry_run=bool(input.dry_run),
            idempotency_key=input.idempotency_key or None,
            request_id=context.request_id,
        )
        r = Result(outcome, chosen, dry_run=bool(input.dry_run))
        return payload(
            types.ResumeDatabaseTrafficPayload,
            r.plan,
            database=current(info, r, input.database, Database),
            restore=_workflow(done) if r.ok and not r.dry_run else None,
        )
