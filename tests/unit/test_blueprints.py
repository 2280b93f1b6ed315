"""Blueprint templates: the placeholder syntax, what a template leaves open, and its
expansion into a BackupConfiguration spec (``policy-encoding.md``)."""

from __future__ import annotations

from typing import Any

from apis import blueprints, objects
from apis.blueprints import Placeholder, Target, TemplateRef

Obj = dict[str, Any]

PG = Target(kind="Postgres", namespace="team-a", name="orders")


def policy(
    *,
    open_schedule: bool = True,
    own_storage: bool = False,
    choose_retention: bool = False,
    retention_default: bool = True,
) -> Obj:
    """A BackupBlueprint as createBackupPolicy writes it (policy-encoding.md), by hand."""
    storage: Obj = {"namespace": "backup-admin", "name": "shared"}
    if own_storage:
        storage = {"name": "${storage:=shared}", "namespace": "${storageNamespace:=backup-admin}"}
    retention: Obj = {"namespace": "backup-admin", "name": "keep-30d"}
    if choose_retention:
        retention = {
            "name": "${retentionPolicy:=keep-30d}" if retention_default else "${retentionPolicy}",
            "namespace": "${retentionPolicyNamespace:=backup-admin}",
        }

    def session(name: str, schedule: str, tasks: list[str]) -> Obj:
        return {
            "name": name,
            "scheduler": {"schedule": schedule, "jobTemplate": {}},
            "sessionHistoryLimit": 3,
            "repositories": [
                {
                    "name": f"${{targetName}}-{name}",
                    "backend": "default",
                    "directory": f"/${{targetNamespace}}/${{targetName}}/{name}",
                    "encryptionSecret": {"namespace": "backup-admin", "name": "gold-encryption"},
                }
            ],
            "addon": {"name": "${addon}", "tasks": [{"name": t} for t in tasks]},
        }

    return {
        "apiVersion": "core.kubestash.com/v1alpha1",
        "kind": "BackupBlueprint",
        "metadata": {
            "name": "gold",
            "namespace": "backup-admin",
            "labels": {"app.kubernetes.io/managed-by": "stashql"},
        },
        "spec": {
            "subjects": [{"apiVersion": "kubedb.com/v1", "kind": "Postgres"}],
            "usagePolicy": {"allowedNamespaces": {"from": "All"}},
            "backupConfigurationTemplate": {
                "backends": [
                    {"name": "default", "storageRef": storage, "retentionPolicy": retention}
                ],
                "sessions": [
                    session(
                        "daily",
                        "${schedule:=0 2 * * *}" if open_schedule else "0 2 * * *",
                        ["logical-backup", "manifest-backup"],
                    ),
                    session("snapshots", "0 */6 * * *", ["volume-snapshot", "manifest-backup"]),
                ],
            },
        },
    }


def test_placeholders_are_found_anywhere_with_their_defaults() -> None:
    found = blueprints.placeholders(
        {"a": ["${x}", {"b": "pre-${y:=0 2 * * *}-post ${x}"}], "c": 3, "d": "${z:=}"}
    )
    assert found == {
        "x": Placeholder("x", None),
        "y": Placeholder("y", "0 2 * * *"),
        "z": Placeholder("z", ""),
    }


def test_fill_uses_values_then_defaults_and_reports_what_is_missing() -> None:
    text, missing = blueprints.fill("${a}/${b:=two}/${c}", {"a": "one"})
    assert text == "one/two/${c}"
    assert missing == {"c"}
    assert blueprints.fill("${b:=two}", {"b": "given"}) == ("given", set())


def test_expand_copies_and_never_changes_the_template() -> None:
    template = {"list": ["${a}"], "n": 1}
    expanded, missing = blueprints.expand(template, {"a": "x"})
    assert expanded == {"list": ["x"], "n": 1}
    assert missing == set()
    assert template == {"list": ["${a}"], "n": 1}


def test_method_tasks_are_the_tasks_the_read_side_maps_back() -> None:
    for method, task in blueprints.METHOD_TASKS.items():
        assert objects.method_for_task(task) == method
    assert objects.method_for_task(blueprints.MANIFEST_TASK) == "MANIFEST"


def test_a_template_with_an_open_schedule_shows_its_default_and_fixed_ones_stay_fixed() -> None:
    template = blueprints.read_template(policy())
    daily, snapshots = template.sessions
    assert (daily.name, daily.methods, daily.schedule, daily.may_set_schedule) == (
        "daily",
        ("LOGICAL",),
        "0 2 * * *",
        True,
    )
    assert (snapshots.methods, snapshots.schedule, snapshots.may_set_schedule) == (
        ("VOLUME_SNAPSHOT",),
        "0 */6 * * *",
        False,
    )
    assert template.methods == ("LOGICAL", "VOLUME_SNAPSHOT")
    assert template.storage == TemplateRef(default=("backup-admin", "shared"), open=False)
    assert template.retention == TemplateRef(default=("backup-admin", "keep-30d"), open=False)
    assert template.variables == ()

    fixed = blueprints.read_template(policy(open_schedule=False))
    assert not fixed.sessions[0].may_set_schedule


def test_open_storage_and_retention_and_other_placeholders_are_read_as_choices() -> None:
    raw = policy(own_storage=True, choose_retention=True, retention_default=False)
    raw["spec"]["backupConfigurationTemplate"]["sessions"][0]["addon"]["tasks"][0]["params"] = {
        "args": "--dbname=${database} ${extraArgs:=--clean}"
    }
    template = blueprints.read_template(raw)
    assert template.storage == TemplateRef(default=("backup-admin", "shared"), open=True)
    assert template.retention == TemplateRef(default=None, open=True)
    assert template.variables == ("database", "extraArgs")
    assert template.variable_defaults == {"extraArgs": "--clean"}


def test_expansion_without_choices_takes_the_defaults_and_names_the_database() -> None:
    expanded = blueprints.expand_configuration(
        policy(own_storage=True, choose_retention=True),
        target=PG,
        values={"addon": "postgres-addon"},
        schedules={"daily": None, "snapshots": None},
    )
    assert expanded.missing == {}
    spec = expanded.spec
    assert spec["target"] == {
        "apiGroup": "kubedb.com",
        "kind": "Postgres",
        "namespace": "team-a",
        "name": "orders",
    }
    assert spec["backends"] == [
        {
            "name": "default",
            "storageRef": {"name": "shared", "namespace": "backup-admin"},
            "retentionPolicy": {"name": "keep-30d", "namespace": "backup-admin"},
        }
    ]
    daily = spec["sessions"][0]
    assert daily["scheduler"]["schedule"] == "0 2 * * *"
    assert daily["repositories"][0]["name"] == "orders-daily"
    assert daily["repositories"][0]["directory"] == "/team-a/orders/daily"
    assert daily["addon"]["name"] == "postgres-addon"
    assert [s["name"] for s in spec["sessions"]] == ["daily", "snapshots"]


def test_expansion_with_choices_fills_them_and_keeps_only_the_chosen_sessions() -> None:
    expanded = blueprints.expand_configuration(
        policy(own_storage=True, choose_retention=True),
        target=PG,
        values={
            "addon": "postgres-addon",
            "storage": "mine",
            "storageNamespace": "team-a",
            "retentionPolicy": "keep-7d",
            "retentionPolicyNamespace": "team-a",
        },
        schedules={"daily": "30 1 * * *"},
    )
    spec = expanded.spec
    assert spec["backends"][0]["storageRef"] == {"name": "mine", "namespace": "team-a"}
    assert spec["backends"][0]["retentionPolicy"] == {"name": "keep-7d", "namespace": "team-a"}
    assert [s["name"] for s in spec["sessions"]] == ["daily"]
    assert spec["sessions"][0]["scheduler"]["schedule"] == "30 1 * * *"


def test_a_retention_placeholder_without_a_value_is_left_out_for_kubestash_to_default() -> None:
    expanded = blueprints.expand_configuration(
        policy(choose_retention=True, retention_default=False),
        target=PG,
        values={"addon": "postgres-addon"},
        schedules={"daily": None},
    )
    assert expanded.missing == {}
    assert "retentionPolicy" not in expanded.spec["backends"][0]


def test_missing_placeholders_are_reported_with_their_sessions() -> None:
    raw = policy()
    sessions = raw["spec"]["backupConfigurationTemplate"]["sessions"]
    sessions[0]["scheduler"]["schedule"] = "${schedule}"
    sessions[0]["addon"]["tasks"][0]["params"] = {"db": "${database}"}
    expanded = blueprints.expand_configuration(
        raw, target=PG, values={"addon": "postgres-addon"}, schedules={"daily": None}
    )
    assert expanded.missing == {"database": ["daily"], "schedule": ["daily"]}


def test_empty_reference_namespaces_mean_the_blueprints_own() -> None:
    raw = policy()
    backend = raw["spec"]["backupConfigurationTemplate"]["backends"][0]
    backend["storageRef"] = {"name": "shared"}
    expanded = blueprints.expand_configuration(
        raw, target=PG, values={"addon": "a"}, schedules={"daily": None}
    )
    assert expanded.spec["backends"][0]["storageRef"] == {
        "name": "shared",
        "namespace": "backup-admin",
    }
