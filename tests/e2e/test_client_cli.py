"""The client commands as a pipeline runs them: the real `stashql` in a subprocess,
against `stashql serve` in front of the two sandbox clusters."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import ensure_namespace, free_port, kube_http, seed

pytestmark = pytest.mark.sandbox

STASHQL = str(Path(sys.executable).with_name("stashql"))
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Scene:
    url: str
    ns: str
    admin_ns: str
    tokens: dict[str, str]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STASHQL_")}
    # No config file of the machine's user leaks into a test.
    env["STASHQL_CONFIG"] = os.devnull
    env.update(extra)
    return env


def stashql(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Ran:
    done = subprocess.run(
        [STASHQL, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=90,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Ran(done.returncode, done.stdout, done.stderr)


def as_user(scene: Scene, user: str, *args: str, **kwargs: Any) -> Ran:
    return stashql(*args, "--server", scene.url, "--token", scene.tokens[user], **kwargs)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def scene(sandbox: Sandbox, served: str) -> AsyncIterator[Scene]:
    uid = os.urandom(3).hex()
    ns, admin_ns = f"cli-{uid}", f"cli-{uid}-admin"
    async with kube_http(sandbox, user="admin") as admin:
        await ensure_namespace(admin, ns)
        await ensure_namespace(admin, admin_ns)
    storage, retention = (admin_ns, "s3"), (admin_ns, "keep-5")
    pg = o.database("Postgres", "pg", ns)
    backed = o.database("Postgres", "backed", ns)
    target = o.database("Postgres", "target", ns)
    repo = o.repository(pg, "pg-repo", storage=storage, snapshots=2)
    await seed(
        sandbox,
        [
            o.backup_storage("s3", admin_ns, scope="All", default=True),
            o.retention_policy("keep-5", admin_ns, scope="All", default=True),
            o.blueprint("pg-daily", admin_ns, storage=storage, retention=retention, scope="All"),
            o.addon(
                "postgres-addon",
                ("logical-backup", "physical-backup", "manifest-backup"),
                ("logical-backup-restore", "manifest-restore"),
            ),
            # The catalog version a database restored from these backups is created with.
            {
                "apiVersion": "catalog.kubedb.com/v1alpha1",
                "kind": "PostgresVersion",
                "metadata": {"name": "16.4"},
                "spec": {"version": "16.4"},
            },
            pg,
            o.database("MySQL", "my", ns, version="8.4.3", phase="NotReady"),
            backed,
            target,
            o.backup_configuration("backed-backup", backed, storage=storage, retention=retention),
            repo,
            o.snapshot("pg-old", repo, session="run-1", taken=NOW - timedelta(minutes=9)),
            o.snapshot(
                "pg-failed", repo, session="run-2", taken=NOW - timedelta(minutes=5), phase="Failed"
            ),
        ],
    )
    scene = Scene(served, ns, admin_ns, sandbox.tokens)
    # The gateway's informers are eventual: wait until it shows what was seeded.
    for _ in range(100):
        ran = as_user(scene, "admin", "snapshots", "-n", ns, "-o", "json")
        if ran.code == 0 and len(ran.json()["snapshots"]) == 2:
            break
        await asyncio.sleep(0.2)
    yield scene


def test_databases_lists_and_filters_as_json_table_and_yaml(scene: Scene) -> None:
    ran = as_user(scene, "admin", "databases", "-n", scene.ns, "-o", "json")
    assert ran.code == 0, ran.err
    assert {(d["name"], d["kind"], d["phase"]) for d in ran.json()["databases"]} == {
        ("pg", "Postgres", "READY"),
        ("backed", "Postgres", "READY"),
        ("target", "Postgres", "READY"),
        ("my", "MySQL", "NOT_READY"),
    }
    ran = as_user(scene, "admin", "databases", "-n", scene.ns, "--kind", "MySQL", "-o", "yaml")
    assert [d["name"] for d in yaml.safe_load(ran.out)["databases"]] == ["my"]
    ran = as_user(scene, "admin", "databases", "-n", scene.ns, "--phase", "ready")
    assert ran.code == 0
    assert "NAME" in ran.out
    assert " pg " in f" {ran.out} "
    assert "MySQL" not in ran.out


def test_a_reader_of_other_namespaces_sees_none_of_these(scene: Scene) -> None:
    ran = as_user(scene, "bob", "databases", "-n", scene.ns, "-o", "json")
    assert ran.code == 0
    assert ran.json()["databases"] == []


def test_snapshots_of_a_database_by_phase(scene: Scene) -> None:
    ran = as_user(scene, "admin", "snapshots", "--database", f"{scene.ns}/pg", "-o", "json")
    assert ran.code == 0, ran.err
    assert [s["name"] for s in ran.json()["snapshots"]] == ["pg-failed", "pg-old"]  # newest first
    ran = as_user(scene, "admin", "snapshots", "-n", scene.ns, "--phase", "FAILED", "-o", "json")
    assert [s["name"] for s in ran.json()["snapshots"]] == ["pg-failed"]


def test_policies_shows_methods_impact_and_choices(scene: Scene) -> None:
    if not has_field(scene, "BackupPolicy", "choices"):
        pytest.skip("the gateway has no BackupPolicy.choices yet (write.graphql is pending)")
    ran = as_user(scene, "admin", "policies", "--kind", "Postgres", "-n", scene.ns, "-o", "json")
    assert ran.code == 0, ran.err
    (policy,) = [p for p in ran.json()["backupPolicies"] if p["namespace"] == scene.admin_ns]
    assert policy["name"] == "pg-daily"
    assert {m["method"] for m in policy["methods"]} >= {"LOGICAL"}
    assert all(isinstance(m["mayRestartDatabase"], bool) for m in policy["methods"])
    assert all(m["availabilityImpact"] for m in policy["methods"])
    assert [s["name"] for s in policy["choices"]["sessions"]] == ["full-backup"]
    table = as_user(scene, "admin", "policies", "--kind", "Postgres", "-n", scene.ns)
    assert table.code == 0
    assert "pg-daily" in table.out
    assert "MAY RESTART" in table.out


def test_policies_without_its_required_flags_is_a_usage_error(scene: Scene) -> None:
    ran = as_user(scene, "admin", "policies", "--kind", "Postgres")
    assert ran.code == 2
    assert "--namespace" in ran.err


async def test_wait_returns_once_the_database_is_ready(sandbox: Sandbox, scene: Scene) -> None:
    db = o.database("Postgres", "pg-wait", scene.ns, phase="Provisioning")
    await seed(sandbox, [db])
    proc = await asyncio.create_subprocess_exec(
        *(STASHQL, "wait", f"{scene.ns}/pg-wait", "--for", "ready", "--timeout", "60"),
        *("--server", scene.url, "--token", scene.tokens["admin"], "-o", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    assert proc.stderr is not None
    # Off a terminal, progress is plain lines on stderr (stdout stays JSON): the first
    # state seen is the provisioning one, and the command keeps waiting.
    seen: list[str] = []
    while not any("phase PROVISIONING" in line for line in seen):
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert line, seen
        seen.append(line)
    await asyncio.sleep(0.5)
    assert proc.returncode is None
    await seed(sandbox, [o.database("Postgres", "pg-wait", scene.ns, phase="Ready")])
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, "".join(seen) + err.decode()
    assert json.loads(out)["database"]["phase"] == "READY"
    assert "phase READY" in err.decode()


def test_wait_for_a_database_that_never_comes_times_out_with_5(scene: Scene) -> None:
    ran = as_user(scene, "admin", "wait", "never", "-n", scene.ns, "--timeout", "1.5")
    assert ran.code == 5
    assert "timed out" in ran.err


def test_an_unreachable_gateway_is_6_without_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["databases"], ["wait", "x/y", "--timeout", "5"], ["backup", "pause", "x/y"]):
        ran = stashql(*args, "--server", url, "--token", "t")
        assert ran.code == 6, (args, ran.err)
        assert "cannot reach the gateway" in ran.err


def test_a_bad_token_is_7_over_http_and_websocket(scene: Scene) -> None:
    ran = stashql("databases", "--server", scene.url, "--token", "not-a-token")
    assert ran.code == 7
    assert "did not accept the token (from --token)" in ran.err
    ran = stashql("wait", "x/y", "--server", scene.url, "--token", "not-a-token")
    assert ran.code == 7
    ran = stashql("databases", "--server", scene.url)
    assert ran.code == 7
    assert "needs a token" in ran.err


@pytest.mark.parametrize(
    "args",
    [
        ["databases", "--bogus"],
        ["databases", "--limit", "zero"],
        ["wait"],
        ["wait", "pg", "--for", "sometime"],
        ["wait", "pg"],  # no namespace
        ["restore", "--snapshot", "s"],  # no target
        ["restore", "--database", "ns/pg"],  # no source
        ["backup", "enable"],
        ["backup", "fly", "ns/pg"],
        ["apply"],
        ["apply", "-f", "/does/not/exist.yaml"],
        ["snapshots", "--database", "a/b/c"],
    ],
)
def test_bad_flags_are_usage_errors_without_traceback(args: list[str]) -> None:
    # Refused before any request: the server named here does not even listen.
    ran = stashql(*args, "--server", f"http://127.0.0.1:{free_port()}", "--token", "t")
    assert ran.code == 2, (args, ran.out, ran.err)
    assert ran.err.strip()


def test_server_and_token_come_from_env_then_config_file(scene: Scene, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'server = "{scene.url}"\ntoken = "{scene.tokens["admin"]}"\n')
    ran = stashql("databases", "-n", scene.ns, "-o", "json", env=_env(STASHQL_CONFIG=str(config)))
    assert ran.code == 0, ran.err
    assert len(ran.json()["databases"]) >= 2
    # The environment wins over the file: bob's token sees nothing here.
    env = _env(STASHQL_CONFIG=str(config), STASHQL_TOKEN=scene.tokens["bob"])
    ran = stashql("databases", "-n", scene.ns, "-o", "json", env=env)
    assert ran.json()["databases"] == []
    # The flag wins over both.
    ran = stashql("databases", "--server", "http://127.0.0.1:1", env=env)
    assert ran.code == 6


def test_token_from_the_kubeconfig_current_context(
    sandbox: Sandbox, scene: Scene, tmp_path: Path
) -> None:
    config = yaml.safe_load(sandbox.admin_kubeconfig.read_text())
    assert any(u["user"].get("token") for u in config["users"])
    env = _env(KUBECONFIG=str(sandbox.admin_kubeconfig), STASHQL_SERVER=scene.url)
    ran = stashql("databases", "-n", scene.ns, "-o", "json", "--token-from-kubeconfig", env=env)
    assert ran.code == 0, ran.err
    assert {d["name"] for d in ran.json()["databases"]} >= {"pg", "my"}


# ------------------------------------------------------------------ changes


def has_field(scene: Scene, type_name: str, field_name: str) -> bool:
    """Whether the gateway's schema has the field (the write side lands in steps)."""
    r = httpx.post(
        scene.url + "/graphql",
        json={
            "query": "query($t: String!) { __type(name: $t) { fields { name } } }",
            "variables": {"t": type_name},
        },
        headers={"Authorization": f"Bearer {scene.tokens['admin']}"},
    )
    found = (r.json().get("data") or {}).get("__type") or {}
    return field_name in {f["name"] for f in found.get("fields") or []}


def needs(scene: Scene, *mutations: str) -> None:
    for mutation in mutations:
        if not has_field(scene, "Mutation", mutation):
            pytest.skip(f"the gateway has no Mutation.{mutation} yet (write.graphql is pending)")


@pytest.fixture
def writes(scene: Scene) -> Scene:
    needs(scene, "enableBackup", "disableBackup", "pauseBackup", "resumeBackup", "triggerBackup")
    return scene


def test_backup_enable_dry_run_shows_plan_and_impact_and_changes_nothing(writes: Scene) -> None:
    ref = f"{writes.ns}/pg"
    ran = as_user(
        writes,
        "admin",
        "backup",
        "enable",
        ref,
        "--policy",
        f"{writes.admin_ns}/pg-daily",
        *("--schedule", "*/30 * * * *", "--var", "repoName=pg-daily-repo"),
        "--dry-run",
        "-o",
        "json",
    )
    assert ran.code == 0, ran.out + ran.err
    payload = ran.json()
    assert payload["userErrors"] == []
    assert payload["plan"]
    assert payload["impact"]["methods"]
    after = as_user(writes, "admin", "databases", "-n", writes.ns, "--name", "pg", "-o", "json")
    (pg,) = [d for d in after.json()["databases"] if d["name"] == "pg"]
    assert pg["backup"]["enabled"] is False


def test_a_reader_is_refused_with_3(writes: Scene) -> None:
    ran = as_user(
        writes,
        "bob",
        "backup",
        "enable",
        f"{writes.ns}/pg",
        "--policy",
        f"{writes.admin_ns}/pg-daily",
        "--yes",
        "-o",
        "json",
    )
    assert ran.code == 3, ran.out + ran.err
    assert ran.json()["userErrors"]
    ran = as_user(writes, "bob", "backup", "pause", f"{writes.ns}/backed")
    assert ran.code == 3
    assert "refused" in ran.out


def test_deleting_backup_data_off_a_terminal_needs_yes(writes: Scene) -> None:
    ref = f"{writes.ns}/backed"
    ran = as_user(writes, "admin", "backup", "disable", ref, "--delete-snapshots")
    assert ran.code == 2, ran.out + ran.err
    assert "--yes" in ran.err
    assert "Plan" in ran.err  # the plan was shown, then nothing done
    after = as_user(writes, "admin", "databases", "-n", writes.ns, "--name", "backed", "-o", "json")
    (db,) = [d for d in after.json()["databases"] if d["name"] == "backed"]
    assert db["backup"]["enabled"] is True


def test_backup_pause_then_resume(writes: Scene) -> None:
    ref = f"{writes.ns}/backed"
    ran = as_user(writes, "admin", "backup", "pause", ref, "--dry-run", "-o", "json")
    assert ran.code == 0, ran.out + ran.err
    assert ran.json()["userErrors"] == []
    assert as_user(writes, "admin", "backup", "pause", ref).code == 0
    for _ in range(50):
        listed = as_user(
            writes, "admin", "databases", "-n", writes.ns, "--name", "backed", "-o", "json"
        )
        (db,) = [d for d in listed.json()["databases"] if d["name"] == "backed"]
        if db["backup"]["paused"]:
            break
        time.sleep(0.2)
    assert db["backup"]["paused"] is True
    assert as_user(writes, "admin", "backup", "resume", ref, "-o", "json").code == 0
    ran = as_user(writes, "admin", "backup", "trigger", ref, "--dry-run", "-o", "json")
    assert ran.code == 0, ran.out + ran.err


def test_restore_and_resume_are_refused_for_a_reader_and_guarded_off_a_terminal(
    writes: Scene,
) -> None:
    needs(writes, "restoreDatabase", "resumeDatabaseTraffic")
    args = ["restore", "--database", f"{writes.ns}/pg", "--snapshot", f"{writes.ns}/pg-old"]
    ran = as_user(writes, "bob", *args, "--yes", "-o", "json")
    assert ran.code == 3, ran.out + ran.err
    ran = as_user(writes, "admin", *args, "--dry-run", "-o", "json")
    assert ran.code in (0, 3), ran.err
    if ran.code == 0:  # the plan passed: going ahead still needs --yes here
        guarded = as_user(writes, "admin", *args)
        assert guarded.code == 2
        assert "--yes" in guarded.err
    ran = as_user(writes, "bob", "resume", f"{writes.ns}/pg", "--yes", "-o", "json")
    assert ran.code == 3, ran.out + ran.err


def test_a_restore_into_a_running_database_is_followed_and_resume_waits_for_it(
    writes: Scene,
) -> None:
    needs(writes, "restoreDatabase", "resumeDatabaseTraffic")
    into = f"{writes.ns}/target"
    # Applications keep connecting (there is no Service here to stop them on).
    args = ["restore", "--database", into, "--snapshot", f"{writes.ns}/pg-old"]
    args.append("--no-pause-traffic")
    # No operator runs the RestoreSession here: the restore starts, then the wait ends.
    ran = as_user(writes, "admin", *args, "--yes", "--wait", "--timeout", "5")
    assert ran.code == 5, ran.out + ran.err
    assert "restore RUNNING" in ran.err  # plain progress lines off a terminal
    ran = as_user(writes, "admin", "resume", into, "--yes", "-o", "json")
    assert ran.code == 3, ran.out + ran.err
    assert [e["code"] for e in ran.json()["userErrors"]] == ["RESTORE_IN_PROGRESS"]


def test_restore_into_a_new_database_plans_it_and_a_reader_is_refused(writes: Scene) -> None:
    needs(writes, "restoreToNewDatabase")
    args = ["restore", "--new-name", "copy", "-n", writes.ns, "--snapshot", f"{writes.ns}/pg-old"]
    ran = as_user(writes, "admin", *args, "--cluster", "sandbox-1", "--dry-run", "-o", "json")
    assert ran.code == 0, ran.out + ran.err
    plan = ran.json()["plan"]
    assert ("CREATE", "Postgres", "copy") in {(c["action"], c["kind"], c["name"]) for c in plan}
    listed = as_user(writes, "admin", "databases", "-n", writes.ns, "--name", "copy", "-o", "json")
    assert listed.json()["databases"] == []  # a dry run creates nothing
    ran = as_user(writes, "bob", *args, "--cluster", "sandbox-1", "--yes", "-o", "json")
    assert ran.code == 3, ran.out + ran.err
    assert ran.json()["userErrors"]


def test_apply_plans_applies_waits_and_refuses_other_kinds(writes: Scene, tmp_path: Path) -> None:
    needs(writes, "applyManifests")
    on = ("--cluster", "sandbox-1")
    first = o.database("Postgres", "applied", writes.ns, phase=None)
    second = o.database("Postgres", "applied-2", writes.ns, phase=None)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump_all([first, second]))
    ran = as_user(writes, "admin", "apply", "-f", str(tmp_path), *on, "--dry-run", "-o", "json")
    assert ran.code == 0, ran.out + ran.err
    assert [r["object"]["name"] for r in ran.json()["results"]] == ["applied", "applied-2"]
    listed = as_user(
        writes, "admin", "databases", "-n", writes.ns, "--name", "applied", "-o", "json"
    )
    assert listed.json()["databases"] == []  # a dry run applies nothing
    ran = as_user(writes, "admin", "apply", "-f", "-", *on, "-o", "json", stdin=json.dumps(first))
    assert ran.code == 0, ran.out + ran.err
    assert [r["state"] for r in ran.json()["results"]] == ["APPLIED"]
    # No operator runs here, so the database is never set up: the wait ends with 5.
    ran = as_user(
        writes,
        "admin",
        "apply",
        "-f",
        "-",
        *on,
        "--wait",
        "--timeout",
        "3",
        stdin=json.dumps(first),
    )
    assert ran.code == 5, ran.out + ran.err
    assert "timed out" in ran.err
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": writes.ns},
    }
    ran = as_user(
        writes, "admin", "apply", "-f", "-", *on, "-o", "json", stdin=json.dumps(config_map)
    )
    assert ran.code == 3, ran.out + ran.err
    assert ran.json()["results"][0]["state"] == "FAILED"


def test_wait_for_setup_fails_with_4_when_setup_fails(writes: Scene) -> None:
    if not has_field(writes, "DatabaseEvent", "setupState"):
        pytest.skip("the gateway has no DatabaseEvent.setupState yet")
    ran = as_user(writes, "admin", "wait", f"{writes.ns}/my", "--for", "setup", "--timeout", "30")
    assert ran.code == 4, ran.out + ran.err
    assert "FAILED" in ran.err


def test_stashql_help_lists_every_command_and_old_ones_still_work() -> None:
    ran = stashql("--help")
    assert ran.code == 0
    for name in ("serve", "schema", "sandbox", "demo", "policies", "databases", "snapshots"):
        assert name in ran.out
    for name in ("backup", "restore", "resume", "apply", "wait"):
        assert name in ran.out
    schema = stashql("schema")
    assert schema.code == 0
    assert "type Query" in schema.out
    ran = stashql("backup", "disable", "--help")
    assert ran.code == 0
    assert "Exit codes:" in ran.out
    assert "6  the gateway could not be reached" in ran.out
