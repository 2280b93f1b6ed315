"""The `stashql` command's options: defaults and help come from the settings dataclasses,
and what is given on the command line reaches the settings the gateway runs with."""

from __future__ import annotations

import argparse
import pkgutil
from pathlib import Path

import pytest

import cli.commands
from auth.gate import GateSettings
from cli.commands.demo import DemoSettings
from cli.commands.sandbox import SandboxSettings
from cli.main import build_parser
from cli.options import SettingOptions
from core.settings import default_of, help_of
from gateway.limits import Limits
from gateway.settings import Settings


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def serve_settings(*argv: str) -> Settings:
    args = parse("serve", *argv)
    settings: Settings = args.options.settings(args, front_proxy_secret=None)
    return settings


def subparser(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def test_serve_without_options_runs_with_the_dataclasses_defaults() -> None:
    assert serve_settings() == Settings()


def test_demo_and_sandbox_without_options_use_their_dataclasses_defaults() -> None:
    args = parse("demo")
    assert args.options.build(args, DemoSettings) == DemoSettings()
    assert args.options.build(args, Settings) == Settings()
    args = parse("sandbox", "up", "--dir", "d")
    assert args.options.build(args, SandboxSettings) == SandboxSettings()


@pytest.mark.parametrize(
    "path", [("serve",), ("demo",), ("sandbox", "up")], ids=["serve", "demo", "sandbox-up"]
)
def test_each_option_shows_its_fields_default_and_help(path: tuple[str, ...]) -> None:
    parser = subparser(*path)
    options: SettingOptions = parser.get_default("options")
    text = " ".join(parser.format_help().split())  # as read, whatever the line breaks
    assert options.bound
    for bound in options.bound:
        action = next(a for a in parser._actions if a.dest == bound.dest)
        default = default_of(bound.owner, bound.name)
        flag = action.option_strings[0]
        if bound.repeatable:
            assert action.default is None, flag  # argparse appends to its default
            assert f"{help_of(bound.owner, bound.name)}" in text, flag
        elif flag.startswith("--no-"):
            assert action.default is default is True, flag
        else:
            assert action.default == default, flag
            shown = "" if default in (None, False) else f" (default: {default})"
            assert f"{help_of(bound.owner, bound.name)}{shown}" in text, flag


def test_serve_options_reach_the_settings(tmp_path: Path) -> None:
    settings = serve_settings(
        *("--kubeconfig", str(tmp_path / "k"), "--context", "prod", "--context", "staging"),
        *("--host", "0.0.0.0", "--port", "9000", "--max-depth", "7", "--max-aliases", "3"),
        *("--max-cost", "10", "--no-introspection", "--request-timeout", "2.5"),
        *("--max-body-bytes", "10", "--allowed-origin", "https://a", "--allowed-origin", "*"),
        *("--insecure-anonymous-as", "bob", "--max-subscriptions-per-connection", "4"),
    )
    assert settings == Settings(
        kubeconfig=tmp_path / "k",
        contexts=("prod", "staging"),
        host="0.0.0.0",
        port=9000,
        max_subscriptions_per_connection=4,
        limits=Limits(max_depth=7, max_aliases=3, max_cost=10, introspection=False),
        gate=GateSettings(
            max_body_bytes=10,
            request_timeout=2.5,
            anonymous_user="bob",
            allowed_origins=("https://a", "*"),
        ),
    )


def test_a_value_the_settings_refuse_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        serve_settings("--max-depth", "0")
    assert exited.value.code == 2
    assert "max_depth must be at least 1" in capsys.readouterr().err


def test_every_module_in_cli_commands_is_a_command() -> None:
    modules = {m.name for m in pkgutil.iter_modules(cli.commands.__path__)}
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    expected = {"apply", "backup", "databases", "demo", "policies", "restore", "resume"}
    expected |= {"sandbox", "schema", "serve", "snapshots", "wait"}
    assert set(action.choices) == modules == expected
