"""The client commands without a gateway: where the server and token come from, how
answers are printed, and which exit code each way out gives."""

from __future__ import annotations

import json
import stat
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from rich.console import Console

from cli.client import app
from cli.client.app import Session, run_click
from cli.client.changes import Change, run_change
from cli.client.config import DEFAULT_SERVER, Connection, resolve
from cli.client.exits import MEANINGS, CliError, Exit, exit_codes_help
from cli.client.refs import object_ref
from cli.client.render import emit, field, plan_view, serialize, table
from cli.client.transport import GraphQLClient
from cli.commands.apply import read_documents
from cli.main import main
from tests.helpers import free_port

# ------------------------------------------------------------------ config resolution


def config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"STASHQL_CONFIG": str(path)}


def test_flags_win_over_env_which_wins_over_the_config_file(tmp_path: Path) -> None:
    env = config(tmp_path, 'server = "file:1"\ntoken = "file-token"\n')
    found = resolve(server=None, token=None, token_from_kubeconfig=False, environ=env)
    assert (found.server, found.token) == ("http://file:1", "file-token")
    assert found.token_from == str(tmp_path / "config.toml")
    env |= {"STASHQL_SERVER": "https://env:2/graphql", "STASHQL_TOKEN": "env-token"}
    found = resolve(server=None, token=None, token_from_kubeconfig=False, environ=env)
    assert (found.server, found.token, found.token_from) == (
        "https://env:2",
        "env-token",
        "STASHQL_TOKEN",
    )
    found = resolve(server="flag:3/", token="flag-token", token_from_kubeconfig=False, environ=env)
    assert (found.server, found.token, found.server_from) == (
        "http://flag:3",
        "flag-token",
        "--server",
    )


def test_without_anything_the_server_is_the_serve_default_and_there_is_no_token(
    tmp_path: Path,
) -> None:
    found = resolve(server=None, token=None, token_from_kubeconfig=False, environ={"HOME": "/x"})
    assert found == Connection(DEFAULT_SERVER, None, "the default", None)
    from gateway.settings import Settings

    assert f"http://{Settings().host}:{Settings().port}" == DEFAULT_SERVER


def test_the_config_file_defaults_to_xdg_or_home(tmp_path: Path) -> None:
    (tmp_path / "stashql").mkdir()
    (tmp_path / "stashql" / "config.toml").write_text('token = "xdg"\n')
    found = resolve(
        server=None,
        token=None,
        token_from_kubeconfig=False,
        environ={"XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert found.token == "xdg"


@pytest.mark.parametrize(
    ("text", "message"),
    [("server = ", "not valid TOML"), ("token = 3\n", "token must be a string")],
)
def test_a_bad_config_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CliError) as raised:
        resolve(
            server=None, token=None, token_from_kubeconfig=False, environ=config(tmp_path, text)
        )
    assert raised.value.code == Exit.USAGE
    assert message in raised.value.message


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    env = {"STASHQL_CONFIG": str(tmp_path / "missing.toml")}
    with pytest.raises(CliError) as raised:
        resolve(server=None, token=None, token_from_kubeconfig=False, environ=env)
    assert raised.value.code == Exit.USAGE


def kubeconfig(tmp_path: Path, user: dict[str, Any]) -> dict[str, str]:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "current-context": "b",
                "contexts": [
                    {"name": "a", "context": {"user": "other"}},
                    {"name": "b", "context": {"user": "me"}},
                ],
                "users": [
                    {"name": "other", "user": {"token": "wrong"}},
                    {"name": "me", "user": user},
                ],
            }
        )
    )
    return {"KUBECONFIG": f"{path}:/elsewhere", "STASHQL_CONFIG": "/dev/null"}


def test_token_from_kubeconfig_static_and_file(tmp_path: Path) -> None:
    env = kubeconfig(tmp_path, {"token": "static"})
    found = resolve(server=None, token=None, token_from_kubeconfig=True, environ=env)
    assert (found.token, found.token_from) == ("static", "the kubeconfig")
    (tmp_path / "t").write_text("from-file\n")
    env = kubeconfig(tmp_path, {"tokenFile": str(tmp_path / "t")})
    assert resolve(server=None, token=None, token_from_kubeconfig=True, environ=env).token == (
        "from-file"
    )
    # The kubeconfig flag wins over the environment's token.
    env["STASHQL_TOKEN"] = "env"
    assert resolve(server=None, token=None, token_from_kubeconfig=True, environ=env).token == (
        "from-file"
    )


def test_token_from_a_kubeconfig_exec_plugin(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "print(json.dumps({'kind': 'ExecCredential', 'status': "
        "{'token': sys.argv[1] + '-' + os.environ['EXTRA'] + '-' + info['kind']}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    exec_spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": str(plugin),
        "args": ["minted"],
        "env": [{"name": "EXTRA", "value": "x"}],
    }
    env = kubeconfig(tmp_path, {"exec": exec_spec})
    found = resolve(server=None, token=None, token_from_kubeconfig=True, environ=env)
    assert found.token == "minted-x-ExecCredential"
    env = kubeconfig(tmp_path, {"exec": {"command": "/bin/false"}})
    with pytest.raises(CliError, match="exited with 1"):
        resolve(server=None, token=None, token_from_kubeconfig=True, environ=env)


def test_a_kubeconfig_user_without_a_token_and_two_token_flags_are_usage_errors(
    tmp_path: Path,
) -> None:
    env = kubeconfig(tmp_path, {"client-certificate": "c"})
    with pytest.raises(CliError) as raised:
        resolve(server=None, token=None, token_from_kubeconfig=True, environ=env)
    assert raised.value.code == Exit.USAGE
    assert "no bearer token" in raised.value.message
    with pytest.raises(CliError) as raised:
        resolve(server=None, token="t", token_from_kubeconfig=True, environ=env)
    assert raised.value.code == Exit.USAGE


def test_a_server_that_is_not_http_is_refused() -> None:
    with pytest.raises(CliError) as raised:
        resolve(server="ftp://x", token=None, token_from_kubeconfig=False, environ={})
    assert raised.value.code == Exit.USAGE


# ------------------------------------------------------------------ rendering

ROWS: list[dict[str, Any]] = [
    {
        "name": "pg",
        "phase": "READY",
        "backup": {"paused": False},
        "methods": ["LOGICAL", "PHYSICAL"],
    },
    {"name": "my", "phase": None, "backup": None, "methods": []},
]


def render(data: Any, output: Any, view: Any) -> str:
    console = Console(file=StringIO(), width=200)
    emit(console, data, output, view)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


def test_json_and_yaml_are_the_data_as_is() -> None:
    data = {"databases": ROWS}
    assert json.loads(render(data, "json", lambda d: [])) == data
    assert yaml.safe_load(render(data, "yaml", lambda d: [])) == data
    assert json.loads(serialize({"long": "x" * 500}, "json")) == {"long": "x" * 500}


def test_a_table_shows_missing_values_as_dash_and_lists_joined() -> None:
    columns = [
        ("NAME", field("name")),
        ("PAUSED", field("backup", "paused")),
        ("METHODS", field("methods")),
        ("PHASE", field("phase")),
    ]
    lines = render({}, "table", lambda d: [table(ROWS, columns)]).splitlines()
    assert lines[0].split() == ["NAME", "PAUSED", "METHODS", "PHASE"]
    assert lines[1].split() == ["pg", "no", "LOGICAL,", "PHYSICAL", "READY"]
    assert lines[2].split() == ["my", "-", "-", "-"]


def test_a_plan_shows_its_steps_warnings_and_refusals() -> None:
    payload = {
        "plan": [
            {
                "action": "PATCH",
                "cluster": "c1",
                "kind": "Postgres",
                "namespace": "a",
                "name": "pg",
                "summary": "pauses traffic",
            }
        ],
        "warnings": [{"code": "TRAFFIC_STOPPED", "message": "apps cannot connect"}],
        "userErrors": [{"code": "FORBIDDEN", "message": "no", "field": ["database", "name"]}],
    }
    text = render(payload, "table", plan_view)
    assert "PATCH" in text
    assert "pauses traffic" in text
    assert "warning TRAFFIC_STOPPED: apps cannot connect" in text
    assert "refused FORBIDDEN (at database.name): no" in text
    assert "nothing to change" in render({"plan": []}, "table", plan_view)
    # A refusal that planned nothing says why, not that all is in place.
    refused = {"plan": [], "userErrors": [{"code": "INVALID_INPUT", "message": "name it"}]}
    shown = render(refused, "table", plan_view)
    assert "nothing to change" not in shown
    assert "refused INVALID_INPUT: name it" in shown


# ------------------------------------------------------------------ exit codes


def raising(error: BaseException) -> click.Command:
    @click.command("boom")
    def boom() -> int:
        raise error

    return boom


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CliError("refused", Exit.REFUSED), 3),
        (CliError("failed", Exit.FAILED), 4),
        (CliError("late", Exit.TIMED_OUT), 5),
        (CliError("gone", Exit.UNREACHABLE), 6),
        (CliError("who", Exit.UNAUTHENTICATED), 7),
        (click.UsageError("bad"), 2),
        (click.BadParameter("bad"), 2),
        (click.Abort(), 1),
        (KeyboardInterrupt(), 1),  # click turns Ctrl-C into Abort
    ],
)
def test_each_way_out_is_its_exit_code_and_one_line(
    error: BaseException, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_click(raising(error), []) == code
    err = capsys.readouterr().err
    assert err.strip()
    assert "Traceback" not in err


def test_codes_are_distinct_and_in_every_help() -> None:
    assert len({int(e) for e in Exit}) == len(Exit)
    assert (Exit.USAGE, Exit.REFUSED, Exit.FAILED, Exit.TIMED_OUT, Exit.UNREACHABLE) == (
        2,
        3,
        4,
        5,
        6,
    )
    for text in ("3  the gateway refused", "5  the wait ended", "6  the gateway could not"):
        assert text in exit_codes_help()


def test_the_entry_point_returns_click_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["databases", "--bogus"]) == 2
    assert "No such option" in capsys.readouterr().err
    assert main(["backup", "--help"]) == 0
    out = capsys.readouterr().out
    assert "enable" in out
    assert "Exit codes:" in out


def test_an_unreachable_gateway_is_unreachable() -> None:
    client = GraphQLClient(
        Connection(f"http://127.0.0.1:{free_port()}", "t", "--server", "--token")
    )
    with pytest.raises(CliError) as raised:
        client.execute("{ viewer { username } }")
    assert raised.value.code == Exit.UNREACHABLE
    assert "(from --server)" in raised.value.message


class _Gateway(BaseHTTPRequestHandler):
    """Answers each POST with the next canned reply and keeps the requests; it stands
    in for the gateway only where what matters is what the CLI sends and does."""

    replies: list[tuple[int, Any]] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"body": body, "auth": self.headers.get("Authorization")})
        status, reply = self.replies.pop(0)
        raw = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    _Gateway.replies, _Gateway.seen = [], []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_401_is_unauthenticated_and_graphql_errors_are_errors(stub: str) -> None:
    client = GraphQLClient(Connection(stub, "bad", "--server", "STASHQL_TOKEN"))
    _Gateway.replies = [
        (401, {"errors": [{"message": "no"}]}),
        (200, {"errors": [{"message": "x"}]}),
    ]
    with pytest.raises(CliError) as raised:
        client.execute("{ a }")
    assert raised.value.code == Exit.UNAUTHENTICATED
    assert "(from STASHQL_TOKEN)" in raised.value.message
    with pytest.raises(CliError) as raised:
        client.execute("{ a }")
    assert raised.value.code == Exit.ERROR
    assert "x" in raised.value.message
    assert _Gateway.seen[0]["auth"] == "Bearer bad"


PAYLOAD: dict[str, Any] = {"plan": [], "warnings": [], "userErrors": []}


def session(stub: str, *, interactive: bool, output: Any = "table") -> Session:
    s = Session(
        stub, "t", False, output, out=Console(file=StringIO()), err=Console(file=StringIO())
    )
    s.__class__ = type("S", (Session,), {"interactive": property(lambda self: interactive)})
    return s


DISABLE = Change(
    "disableBackup",
    "DisableBackupInput",
    {"database": {"namespace": "a", "name": "pg"}, "keepSnapshots": False},
    destructive=True,
    what="deleting the backup data",
)


def test_a_destructive_change_off_a_terminal_needs_yes_and_changes_nothing(stub: str) -> None:
    _Gateway.replies = [(200, {"data": {"disableBackup": PAYLOAD}})]
    with pytest.raises(CliError) as raised:
        run_change(session(stub, interactive=False), DISABLE, dry_run=False, yes=False)
    assert raised.value.code == Exit.USAGE
    assert "--yes" in raised.value.message
    # Only the dry run was sent: the plan is shown, nothing is changed.
    assert [s["body"]["variables"]["input"]["dryRun"] for s in _Gateway.seen] == [True]


def test_yes_goes_ahead_in_one_call_with_an_idempotency_key(stub: str) -> None:
    _Gateway.replies = [(200, {"data": {"disableBackup": PAYLOAD}})]
    code, payload = run_change(session(stub, interactive=False), DISABLE, dry_run=False, yes=True)
    assert (code, payload) == (0, PAYLOAD)
    sent = _Gateway.seen[0]["body"]["variables"]["input"]
    assert sent["dryRun"] is False
    assert sent["keepSnapshots"] is False
    assert sent["idempotencyKey"]


def test_user_errors_are_refused_and_a_dry_run_stops_after_the_plan(stub: str) -> None:
    refused = {**PAYLOAD, "userErrors": [{"code": "FORBIDDEN", "message": "no", "field": None}]}
    _Gateway.replies = [
        (200, {"data": {"disableBackup": refused}}),
        (200, {"data": {"disableBackup": PAYLOAD}}),
    ]
    s = session(stub, interactive=False, output="json")
    assert run_change(s, DISABLE, dry_run=False, yes=True)[0] == Exit.REFUSED
    assert run_change(s, DISABLE, dry_run=True, yes=False) == (0, None)
    assert [x["body"]["variables"]["input"]["dryRun"] for x in _Gateway.seen] == [False, True]


def test_on_a_terminal_a_declined_prompt_changes_nothing(
    stub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Gateway.replies = [(200, {"data": {"disableBackup": PAYLOAD}})]
    monkeypatch.setattr(click, "confirm", lambda *a, **k: False)
    code, payload = run_change(session(stub, interactive=True), DISABLE, dry_run=False, yes=False)
    assert (code, payload) == (Exit.ERROR, None)
    assert len(_Gateway.seen) == 1


# ------------------------------------------------------------------ arguments


def test_object_refs_from_the_command_line() -> None:
    assert object_ref("a/pg", namespace=None) == {"namespace": "a", "name": "pg"}
    assert object_ref("pg", namespace="b", cluster="c", kind="Postgres") == {
        "namespace": "b",
        "name": "pg",
        "cluster": "c",
        "kind": "Postgres",
    }
    for bad in ("pg", "a/b/c", "/pg", "a/"):
        with pytest.raises(CliError) as raised:
            object_ref(bad, namespace=None)
        assert raised.value.code == Exit.USAGE


def test_apply_reads_yaml_and_json_documents_files_and_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b.yaml").write_text(
        "kind: A\n---\n---\nkind: List\nitems: [{kind: B}, {kind: C}]\n"
    )
    (tmp_path / "a.json").write_text('{"kind": "Z", "metadata": {"creationTimestamp": null}}')
    (tmp_path / "notes.txt").write_text("ignored")
    kinds = [d["kind"] for d in read_documents((str(tmp_path),))]
    assert kinds == ["Z", "A", "B", "C"]
    monkeypatch.setattr(sys, "stdin", StringIO("kind: S\n"))
    assert read_documents(("-",)) == [{"kind": "S"}]
    (tmp_path / "bad.yaml").write_text("kind: [\n")
    with pytest.raises(CliError) as raised:
        read_documents((str(tmp_path / "bad.yaml"),))
    assert raised.value.code == Exit.USAGE


def test_stdin_decides_interactivity() -> None:
    assert app.stdin_is_terminal() is sys.stdin.isatty()


def test_docs_cli_md_is_the_commands_own_help() -> None:
    from cli.client.helpdoc import render

    doc = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
    text = doc.read_text()
    assert render(text) == text, "run: uv run python -m cli.client.helpdoc docs/cli.md"
    plain = text.replace("`", "")
    for code, meaning in MEANINGS.items():
        assert f"| {int(code)} | {meaning} |" in plain


def test_a_database_named_without_cluster_is_looked_up(stub: str) -> None:
    from cli.client.lookup import locate_database

    client = GraphQLClient(Connection(stub, "t", "--server", "--token"))

    def answer(*nodes: tuple[str, str]) -> tuple[int, Any]:
        found = [{"cluster": c, "namespace": "a", "name": n, "kind": "Postgres"} for c, n in nodes]
        return 200, {"data": {"databases": {"nodes": found}}}

    _Gateway.replies = [
        answer(("c2", "pg"), ("c1", "pg-other")),
        answer(("c1", "pg"), ("c2", "pg")),
        answer(),
    ]
    ref = {"namespace": "a", "name": "pg"}
    assert locate_database(client, ref) == {**ref, "cluster": "c2"}
    with pytest.raises(CliError) as raised:
        locate_database(client, ref)
    assert raised.value.code == Exit.USAGE
    assert "c1, c2: pass --cluster" in raised.value.message
    assert locate_database(client, ref) == ref  # the gateway will say NOT_FOUND
    assert locate_database(client, {**ref, "cluster": "c9"})["cluster"] == "c9"
    assert len(_Gateway.seen) == 3  # a given cluster is not looked up
