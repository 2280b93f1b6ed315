"""The product schema keeps every promise of the shared contract.

A contract file is read as the "old" schema and the product as the "new" one:
graphql-core's breaking-change finder must report nothing, so every client written
against the contract keeps working.
"""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest
from graphql import BreakingChange, DangerousChange

import schema

CONTRACT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "contract"

# Dangerous (not breaking) changes we accept on purpose, by exact description. Each
# entry needs a reason; an unlisted dangerous change fails the test.
ACCEPTED_DANGEROUS: dict[str, str] = {}


def _contract_files() -> list[Path]:
    if not CONTRACT_DIR.is_dir():
        return []
    return sorted(CONTRACT_DIR.glob("*.graphql"))


def _readable(changes: list[BreakingChange] | list[DangerousChange]) -> str:
    return "\n".join(f"  - {change.type.name}: {change.description}" for change in changes)


def _breaking(contract_sdl: str, product: graphql.GraphQLSchema) -> list[BreakingChange]:
    return graphql.find_breaking_changes(graphql.build_schema(contract_sdl), product)


@pytest.fixture(scope="module")
def product() -> graphql.GraphQLSchema:
    return schema.build_schema()._schema


def test_contract_folder_has_files() -> None:
    # A missing contract must fail, not skip: otherwise the superset check silently
    # stops guarding the public API. The checkout is expected beside ../shared/.
    assert CONTRACT_DIR.is_dir(), f"no contract folder at {CONTRACT_DIR}: check out beside shared/"
    assert _contract_files(), f"no *.graphql files in {CONTRACT_DIR}"


@pytest.mark.parametrize("contract", _contract_files(), ids=lambda p: p.name)
def test_product_schema_breaks_nothing_in_the_contract(
    contract: Path, product: graphql.GraphQLSchema
) -> None:
    breaking = _breaking(contract.read_text(), product)
    assert not breaking, (
        f"the product schema breaks {len(breaking)} promise(s) of {contract.name}:\n"
        + _readable(breaking)
    )


@pytest.mark.parametrize("contract", _contract_files(), ids=lambda p: p.name)
def test_product_schema_has_no_dangerous_changes(
    contract: Path, product: graphql.GraphQLSchema
) -> None:
    old = graphql.build_schema(contract.read_text())
    dangerous = [
        change
        for change in graphql.find_dangerous_changes(old, product)
        if change.description not in ACCEPTED_DANGEROUS
    ]
    assert not dangerous, (
        f"unexpected dangerous changes against {contract.name} (fix them, or accept them "
        "with a reason in ACCEPTED_DANGEROUS):\n" + _readable(dangerous)
    )


def test_the_check_is_not_vacuous(product: graphql.GraphQLSchema) -> None:
    """A contract field the product lacks is reported, so a pass above means something."""
    contract = """
        type Query { viewer: Viewer! notInTheProduct: Int }
        type Viewer { username: String! groups: [String!]! }
    """
    breaking = _breaking(contract, product)
    assert len(breaking) == 1
    assert breaking[0].type is graphql.BreakingChangeType.FIELD_REMOVED
    assert "Query.notInTheProduct" in breaking[0].description


def test_printed_sdl_parses_and_rebuilds_the_same_schema() -> None:
    text = schema.sdl()
    rebuilt = graphql.build_schema(text)
    assert not graphql.find_breaking_changes(schema.build_schema()._schema, rebuilt)
    for name in ("Node", "Resource", "DateTime", "JSON", "Query", "Subscription"):
        assert rebuilt.get_type(name) is not None, name


def test_build_schema_returns_a_new_schema_each_time() -> None:
    assert schema.build_schema() is not schema.build_schema()
