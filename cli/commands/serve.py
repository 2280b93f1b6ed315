"""``stashql serve``: the GraphQL API for the clusters of a kubeconfig (or in-cluster).

Every option sets a field of ``gateway.settings.Settings`` or of the settings it holds
(``GateSettings``, ``Limits``), and takes its default and help from that field.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import uvicorn

from auth.gate import GateSettings
from cli.commands import Commands
from cli.options import SettingOptions
from gateway.limits import Limits
from gateway.settings import Settings
from kube.config import ConfigError, choose_contexts
from server import create_app

# How every StashQL server runs under uvicorn (serve, demo, tests).
# permessage-deflate off: its compressor state costs about 33 KiB per WebSocket and a
# compression pass per message; subscription events are small JSON, so with thousands of
# subscribers it cost more memory and delivery time than it saved bandwidth.
UVICORN_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False}


class ServeOptions(SettingOptions):
    """The options of ``stashql serve``, and the Settings they make."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser)
        self.add("--kubeconfig", Settings, "kubeconfig", convert=Path, metavar="PATH")
        self.add("--context", Settings, "contexts", metavar="NAME")
        self.add("--all-contexts", Settings, "all_contexts")
        self.add("--in-cluster", Settings, "in_cluster")
        self.add("--host", Settings, "host")
        self.add("--port", Settings, "port")
        self.add("--log-level", Settings, "log_level")
        self.add("--no-workflow-controller", Settings, "workflow_controller")
        self.add("--max-body-bytes", GateSettings, "max_body_bytes")
        self.add("--request-timeout", GateSettings, "request_timeout")
        self.add("--allowed-origin", GateSettings, "allowed_origins", metavar="URL")
        self.add("--max-subscriptions-per-connection", Settings, "max_subscriptions_per_connection")
        self.add("--max-depth", Limits, "max_depth")
        self.add("--max-aliases", Limits, "max_aliases")
        self.add("--max-cost", Limits, "max_cost")
        self.add("--no-introspection", Limits, "introspection", help="refuse __schema/__type")
        # The secret itself never goes on a command line (where `ps` shows it).
        parser.add_argument(
            "--front-proxy-secret-file",
            metavar="FILE",
            help="trust X-Remote-User/X-Remote-Group only on requests carrying the shared "
            "secret in this file (in X-Front-Proxy-Secret)",
        )
        self.add("--insecure-anonymous-as", GateSettings, "anonymous_user", metavar="USER")

    def settings(self, args: argparse.Namespace, *, front_proxy_secret: str | None) -> Settings:
        return self.build(
            args,
            Settings,
            gate=self.build(args, GateSettings, front_proxy_secret=front_proxy_secret),
            limits=self.build(args, Limits),
        )


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "serve", help="serve the GraphQL API for the clusters of a kubeconfig"
    )
    parser.set_defaults(run=run, options=ServeOptions(parser))


def _fail(message: str) -> int:
    print(f"stashql: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    options: ServeOptions = args.options
    secret = None
    if args.front_proxy_secret_file:
        try:
            secret = Path(args.front_proxy_secret_file).read_text().strip()
        except OSError as exc:
            return _fail(f"cannot read the front-proxy secret file: {exc.strerror}")
        if not secret:
            return _fail("the front-proxy secret file is empty")
    settings = options.settings(args, front_proxy_secret=secret)
    # Refuse a bad choice of clusters before listening, with one line instead of a
    # failed start-up (the credentials themselves are loaded when the app starts).
    try:
        if not settings.in_cluster:
            if settings.kubeconfig is None:
                raise ConfigError("pass --kubeconfig PATH (or --in-cluster)")
            choose_contexts(
                settings.kubeconfig,
                contexts=list(settings.contexts),
                all_contexts=settings.all_contexts,
            )
    except ConfigError as exc:
        return _fail(str(exc))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        **UVICORN_OPTIONS,
    )
    return 0
