"""The restore types print as the pending contract states them, their inputs reach the
planners as the planners' dataclasses, and RestoreOptions pages restorable snapshots.

Everything runs through real GraphQL execution on a throwaway schema, since the Mutation
root and the Query field are wired elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphql
import strawberry

from resolvers import restores
from resolvers.writes import restore as planners
from resolvers.writes.backup import ObjectRefInput
from schema.mutations import convert
from schema.mutations import restore as types
from schema.restore_options import RestoreOptions
from tests.unit.test_backup_plans import CLUSTER
from tests.unit.test_contract import compare_pending, contract_in_force_sdl, pending_contract_sdl
from tests.unit.test_restore_plans import restore_world

RESTORE_TYPES = frozenset(
    {
        *("LatestSnapshotInput", "PointInTimeInput", "RestoreSourceInput"),
        *("CreateDatabaseInput", "CreateDatabasePayload", "TrafficResume"),
        *("RestoreCheckInput", "RestoreDatabaseInput", "RestoreToNewDatabaseInput"),
        *("RestoreToNewDatabasePayload", "RestoreOptions"),
    }
)


def _options() -> RestoreOptions:
    data = restores.database_restore_options(
        restore_world(), cluster=CLUSTER, kind="Postgres", namespace="team-a", name="orders"
    )
    return RestoreOptions.of(data)


@strawberry.type
class Query:
    @strawberry.field
    def restore_options(self) -> RestoreOptions:
        return _options()


def received_schema(received: list[object]) -> strawberry.Schema:
    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def create_database(self, input: types.CreateDatabaseInput) -> types.CreateDatabasePayload:
            received.append(convert.to_dataclass(input, planners.CreateDatabaseInput))
            return types.CreateDatabasePayload()

        @strawberry.mutation
        def restore_to_new_database(
            self, input: types.RestoreToNewDatabaseInput
        ) -> types.RestoreToNewDatabasePayload:
            received.append(convert.to_dataclass(input, planners.RestoreToNewDatabaseInput))
            return types.RestoreToNewDatabasePayload()

        @strawberry.mutation
        def restore_database(self, input: types.RestoreDatabaseInput) -> bool:
            received.append(convert.to_dataclass(input, planners.RestoreDatabaseInput))
            return True

    return strawberry.Schema(query=Query, mutation=Mutation)


def run(schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None) -> Any:
    result = schema.execute_sync(query, variable_values=variables)
    assert result.errors is None, result.errors
    return result.data


def test_the_restore_types_print_exactly_as_the_pending_contract_states_them() -> None:
    product = graphql.build_schema(received_schema([]).as_str())
    report = compare_pending(
        contract_sdl=contract_in_force_sdl(),
        pending_sdl=pending_contract_sdl(),
        product=product,
        only=RESTORE_TYPES,
    )
    assert report.mismatches == []
    assert report.missing == []
    assert report.extras == []
    assert report.descriptions == []


def test_the_inputs_reach_the_planners_as_their_dataclasses() -> None:
    received: list[object] = []
    schema = received_schema(received)
    run(
        schema,
        """mutation {
          createDatabase(input: {namespace: "team-a", name: "n", kind: "Postgres",
            version: "16.4", storageSize: "1Gi", labels: {tier: "gold"},
            initFrom: {latest: {repository: {namespace: "team-a", name: "r"}, method: PHYSICAL}}
          }) { userErrors { code } }
          restoreToNewDatabase(input: {namespace: "team-a", name: "m",
            source: {pointInTime: {database: {namespace: "team-a", name: "orders"},
                                   time: "2026-12-02T05:00:00Z"}}}) { userErrors { code } }
          restoreDatabase(input: {database: {namespace: "team-a", name: "orders"},
            source: {snapshot: {namespace: "team-a", name: "s"}}, resume: MANUAL,
            checks: [{hookTemplate: {namespace: "team-a", name: "row-count"}}]})
        }""",
    )
    create, to_new, into = received
    assert create == planners.CreateDatabaseInput(
        namespace="team-a",
        name="n",
        kind="Postgres",
        version="16.4",
        storage_size="1Gi",
        labels={"tier": "gold"},
        init_from=planners.RestoreSourceInput(
            latest=planners.LatestSnapshotInput(
                repository=ObjectRefInput(namespace="team-a", name="r"), method="PHYSICAL"
            )
        ),
    )
    assert isinstance(to_new, planners.RestoreToNewDatabaseInput)
    assert to_new.source.point_in_time == planners.PointInTimeInput(
        database=ObjectRefInput(namespace="team-a", name="orders"),
        time=datetime(2026, 12, 2, 5, tzinfo=UTC),
    )
    assert isinstance(into, planners.RestoreDatabaseInput)
    assert (into.pause_traffic, into.resume, into.tasks) == (True, "MANUAL", None)
    assert into.checks == (
        planners.RestoreCheckInput(
            hook_template=ObjectRefInput(namespace="team-a", name="row-count")
        ),
    )


def test_restore_options_page_the_restorable_snapshots_newest_first() -> None:
    data = run(
        received_schema([]),
        """{ restoreOptions {
              repositories { name }
              physicalSnapshots(first: 1) { nodes { name } pageInfo { hasNextPage } totalCount }
              logicalSnapshots { nodes { name } }
              recoveryWindow { start end }
        } }""",
    )
    options = data["restoreOptions"]
    assert [r["name"] for r in options["repositories"]] == [
        "orders-daily",
        "orders-full",
        "orders-manifest",
    ]
    assert options["physicalSnapshots"] == {
        "nodes": [{"name": "orders-phys"}],
        "pageInfo": {"hasNextPage": False},
        "totalCount": 1,
    }
    assert options["logicalSnapshots"] == {"nodes": [{"name": "orders-dump"}]}
    assert options["recoveryWindow"]["end"] == "2026-12-02T05:50:00+00:00"
