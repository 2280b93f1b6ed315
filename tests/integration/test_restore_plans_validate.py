"""What the restore planners write is accepted by a real API server as it stands.

Each planned object is sent the way the engine sends it (server-side apply, field manager
``stashql``, ``dryRun=All``) to the sandbox's kube-apiserver with the project's CRDs, as
admin, in the cluster the plan names: the server validates it against the CRD schema and
answers with the object it would store, which must keep every field planned (a
structural schema prunes what it does not declare, silently).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kube.client import KubeClient
from resolvers.writes.plan import Change
from resolvers.writes.restore import (
    CreateDatabaseInput,
    PointInTimeInput,
    RestoreCheckInput,
    RestoreSourceInput,
    RestoreToNewDatabaseInput,
    plan_create_database,
    plan_data_restore,
    plan_restore_to_new_database,
)
from sandbox.controlplane import Sandbox
from tests.integration.test_backup_plans_validate import contains
from tests.unit.test_backup_plans import CLUSTER, NOW
from tests.unit.test_restore_plans import (
    OTHER,
    SECRETS,
    T,
    catalog,
    orders,
    ref,
    restore_world,
)

pytestmark = pytest.mark.sandbox

INDEX = {CLUSTER: 0, OTHER: 1}


async def dry_run_all(sandbox: Sandbox, changes: list[Change]) -> list[dict[str, Any]]:
    """Every change, dry-run applied as admin in its cluster; the answers in order."""
    answers = []
    clients: dict[str, KubeClient] = {}
    try:
        for change in changes:
            assert change.action == "CREATE", change
            assert change.body is not None
            client = clients.get(change.cluster)
            if client is None:
                client = clients[change.cluster] = sandbox.client(INDEX[change.cluster])
            path = change.resource.path(namespace=change.namespace, name=change.name)
            answer = await client.apply(
                path, change.body, field_manager="stashql", params={"dryRun": "All"}
            )
            contains(answer, {k: v for k, v in change.body.items() if k != "metadata"})
            contains(answer["metadata"], change.body["metadata"])
            answers.append(answer)
    finally:
        for client in clients.values():
            await client.close()
    return answers


async def test_the_restore_session_of_a_data_restore_is_valid(sandbox: Sandbox) -> None:
    store = restore_world()
    result = plan_data_restore(
        orders(store),
        RestoreSourceInput(snapshot=ref("orders-dump")),
        checks=(RestoreCheckInput(hook_template=ref("row-count"), params={"table": "t"}),),
        store=store,
        cluster=CLUSTER,
        now=NOW,
    )
    assert not result.plan.errors
    (answer,) = await dry_run_all(sandbox, result.plan.changes)
    assert answer["spec"]["hooks"]["postRestore"][0]["executionPolicy"] == "OnSuccess"


async def test_a_new_database_filled_from_a_snapshot_is_valid(
    sandbox: Sandbox, unique: str
) -> None:
    store = restore_world()
    result = plan_create_database(
        CreateDatabaseInput(
            namespace="team-a",
            name=f"new-{unique}",
            kind="Postgres",
            version="16.4",
            storage_size="2Gi",
            storage_class="standard",
            labels={"tier": "gold"},
            init_from=RestoreSourceInput(snapshot=ref("orders-dump")),
        ),
        store=store,
        cluster=CLUSTER,
        now=NOW,
    )
    assert not result.plan.errors
    db, session = await dry_run_all(sandbox, result.plan.changes)
    assert db["spec"]["init"] == {"waitForInitialRestore": True}
    assert session["spec"]["manifestOptions"]["postgres"]["authSecretName"] == f"new-{unique}-auth"


async def test_a_point_in_time_database_is_valid(sandbox: Sandbox, unique: str) -> None:
    store = restore_world()
    result = plan_restore_to_new_database(
        RestoreToNewDatabaseInput(
            source=RestoreSourceInput(
                point_in_time=PointInTimeInput(database=ref("orders"), time=T - timedelta(hours=1))
            ),
            namespace="team-a",
            name=f"pit-{unique}",
        ),
        store=store,
        cluster=CLUSTER,
        now=NOW,
    )
    assert not result.plan.errors
    (db,) = await dry_run_all(sandbox, result.plan.changes)
    assert db["spec"]["init"]["archiver"]["fullDBRepository"]["name"] == "orders-full"


async def test_what_a_restore_across_clusters_creates_is_valid(
    sandbox: Sandbox, unique: str
) -> None:
    store = restore_world()
    # A catalog version of its own, so the dry run creates it rather than meeting one.
    version = f"16.4-{unique}"
    store.put(catalog("Postgres", version, "16.4"))
    result = plan_restore_to_new_database(
        RestoreToNewDatabaseInput(
            source=RestoreSourceInput(snapshot=ref("orders-dump")),
            cluster=OTHER,
            namespace="team-a",
            name=f"far-{unique}",
            version=version,
        ),
        store=store,
        cluster=CLUSTER,
        now=NOW,
        secrets=SECRETS,
    )
    assert not result.plan.errors, result.plan.errors
    assert [c.kind for c in result.plan.changes] == [
        "PostgresVersion",
        "Secret",
        "BackupStorage",
        "Secret",
        "Repository",
        "Postgres",
        "RestoreSession",
    ]
    answers = await dry_run_all(sandbox, result.plan.changes)
    assert answers[2]["spec"]["deletionPolicy"] == "Delete"
    assert answers[4]["spec"]["storageRef"] == {"namespace": "team-a", "name": "shared"}
