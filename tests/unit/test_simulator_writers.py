"""The simulator writes status the way the operators do: conditions keep their
transition time while they hold, names stay within Kubernetes' limit, Go durations
read as the operators write them. And the readers it relies on in apis/objects.py
treat missing fields the way the simulator needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apis.objects import condition_in, condition_true, int_or, text_at
from sandbox.simulator.core import Conditions, duration_seconds, prune, valid_name

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    first = Conditions({}, now=T0)
    first.true("Ready", reason="AllReplicasReady", message="ready")
    later = Conditions({"conditions": first.items}, now=T0 + timedelta(minutes=5))
    later.true("Ready", reason="AllReplicasReady", message="still ready")
    assert later.items[0]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert later.items[0]["message"] == "still ready"
    later.false("Ready", reason="NotReady", message="down", severity="Error")
    assert later.items == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "NotReady",
            "message": "down",
            "severity": "Error",
            "lastTransitionTime": "2026-01-02T03:09:05Z",
        }
    ]


def test_editing_conditions_leaves_the_status_read_untouched() -> None:
    status = {"conditions": [{"type": "Halted", "status": "True"}]}
    conds = Conditions(status, now=T0)
    conds.drop("Halted")
    conds.true_all(("Provisioned", "Done", "ok"), ("Ready", "Done", "ok"))
    assert status == {"conditions": [{"type": "Halted", "status": "True"}]}
    assert [c["type"] for c in conds.items] == ["Provisioned", "Ready"]
    assert conds.holds("Ready")
    assert not conds.has("Halted")


def test_conditions_are_found_by_type_in_raw_lists() -> None:
    raw = [{"type": "Ready", "status": "True", "message": ""}, {"status": "True"}, "junk"]
    found = condition_in(raw, "Ready")
    assert found is not None
    assert found.message is None
    assert condition_true(raw, "Ready")
    assert not condition_true(raw, "Provisioned")
    assert condition_in(None, "Ready") is None


def test_missing_text_reads_empty_and_missing_numbers_read_their_default() -> None:
    obj = {"spec": {"limit": 0, "flag": True, "name": ""}}
    assert text_at(obj, "spec", "name") == ""
    assert text_at(obj, "spec", "missing") == ""
    assert int_or(obj, "spec", "limit", default=5) == 0
    assert int_or(obj, "spec", "flag", default=5) == 5
    assert int_or(obj, "spec", "missing", default=5) == 5


def test_names_are_cut_to_the_limit_keeping_the_timestamp_whole() -> None:
    name = valid_name("x" * 80, "1767323045")
    assert len(name) == 63
    assert name.endswith("-1767323045")
    assert valid_name("a-b-", "") == "a-b"


def test_go_durations_read_in_seconds_and_nonsense_reads_zero() -> None:
    assert duration_seconds("1h2m3.5s") == 3723.5
    assert duration_seconds("30m") == 1800
    assert duration_seconds("250ms") == 0.25
    assert duration_seconds("soon") == 0
    assert duration_seconds("") == 0


def test_none_values_are_pruned_before_server_side_apply() -> None:
    assert prune({"a": None, "b": [1, None, {"c": None}]}) == {"b": [1, {}]}
