"""Which gateway to talk to, and with which token.

Each value is taken from the first place that has it: the flags (``--server``,
``--token``, ``--token-from-kubeconfig``), the environment (``STASHQL_SERVER``,
``STASHQL_TOKEN``), the config file (``$STASHQL_CONFIG``, else
``~/.config/stashql/config.toml``), and for the server the gateway's own default address.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cli.client.exits import CliError, Exit

# `stashql serve` listens here by default (gateway.settings.Settings host and port); a
# client on the same machine finds it without flags. Kept literal: importing the gateway's
# settings would load the whole server for every client command.
DEFAULT_SERVER = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Connection:
    """Where the gateway is, the token, and where each came from (for error messages)."""

    server: str
    token: str | None
    server_from: str
    token_from: str | None


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("STASHQL_CONFIG"):
        return Path(environ["STASHQL_CONFIG"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "stashql" / "config.toml"


def read_config(path: Path, *, required: bool) -> dict[str, Any]:
    """The config file's table; an empty one when it does not exist and was not asked for."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        if required:
            raise CliError(
                f"config file {path} (from STASHQL_CONFIG) does not exist", Exit.USAGE
            ) from None
        return {}
    except OSError as exc:
        raise CliError(f"cannot read config file {path}: {exc.strerror}", Exit.USAGE) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"config file {path} is not valid TOML: {exc}", Exit.USAGE) from None
    for key in ("server", "token"):
        if key in table and not isinstance(table[key], str):
            raise CliError(f"config file {path}: {key} must be a string", Exit.USAGE)
    return table


def normalize_server(url: str) -> str:
    """The gateway's base URL: a scheme is added if missing, a trailing /graphql dropped."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--server must be an http:// or https:// URL, not {url!r}", Exit.USAGE)
    return url.removesuffix("/graphql")


def resolve(
    *,
    server: str | None,
    token: str | None,
    token_from_kubeconfig: bool,
    environ: Mapping[str, str],
) -> Connection:
    """The connection from flags, then environment, then config file (see the module)."""
    path = config_path(environ)
    file = read_config(path, required=bool(environ.get("STASHQL_CONFIG")))
    if server:
        found_server, server_from = server, "--server"
    elif environ.get("STASHQL_SERVER"):
        found_server, server_from = environ["STASHQL_SERVER"], "STASHQL_SERVER"
    elif file.get("server"):
        found_server, server_from = file["server"], str(path)
    else:
        found_server, server_from = DEFAULT_SERVER, "the default"
    found_token: str | None
    if token and token_from_kubeconfig:
        raise CliError("give --token or --token-from-kubeconfig, not both", Exit.USAGE)
    if token:
        found_token, token_from = token, "--token"
    elif token_from_kubeconfig:
        found_token, token_from = kubeconfig_token(environ), "the kubeconfig"
    elif environ.get("STASHQL_TOKEN"):
        found_token, token_from = environ["STASHQL_TOKEN"], "STASHQL_TOKEN"
    elif file.get("token"):
        found_token, token_from = file["token"], str(path)
    else:
        found_token, token_from = None, None
    return Connection(
        server=normalize_server(found_server),
        token=found_token,
        server_from=server_from,
        token_from=token_from,
    )


def _kubeconfig_path(environ: Mapping[str, str]) -> Path:
    listed = [p for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return Path(listed[0]).expanduser()
    return Path(environ.get("HOME", "~")).expanduser() / ".kube" / "config"


def kubeconfig_token(environ: Mapping[str, str]) -> str:
    """The bearer token of the kubeconfig's current context: a static ``token``, a
    ``tokenFile``, or what an ``exec`` credential plugin prints (``status.token``)."""
    path = _kubeconfig_path(environ)
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise CliError(f"cannot read kubeconfig {path}: {exc.strerror}", Exit.USAGE) from None
    except yaml.YAMLError:
        raise CliError(f"kubeconfig {path} is not valid YAML", Exit.USAGE) from None
    current = config.get("current-context")
    context = _named(config.get("contexts"), current)
    if not current or context is None:
        raise CliError(f"kubeconfig {path} has no current context", Exit.USAGE)
    user_name = (context.get("context") or {}).get("user")
    user = (_named(config.get("users"), user_name) or {}).get("user") or {}
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        try:
            return Path(user["tokenFile"]).expanduser().read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read the kubeconfig's tokenFile: {exc.strerror}") from None
    if user.get("exec"):
        return _exec_token(user["exec"], environ)
    raise CliError(
        f"the kubeconfig's user {user_name!r} (context {current!r}) has no bearer token "
        "(token, tokenFile or exec)",
        Exit.USAGE,
    )


def _named(items: Any, name: Any) -> dict[str, Any] | None:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def _exec_token(spec: dict[str, Any], environ: Mapping[str, str]) -> str:
    """Runs the credential plugin as kubectl does (without cluster info) and reads its
    ExecCredential."""
    command = [str(spec.get("command", "")), *(str(a) for a in spec.get("args") or [])]
    env = dict(environ)
    env.update({str(e["name"]): str(e["value"]) for e in spec.get("env") or []})
    api_version = spec.get("apiVersion", "client.authentication.k8s.io/v1")
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    try:
        done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliError(f"the kubeconfig's exec plugin {command[0]!r} failed: {exc}") from None
    if done.returncode != 0:
        raise CliError(
            f"the kubeconfig's exec plugin {command[0]!r} exited with {done.returncode}: "
            + done.stderr.decode(errors="replace").strip()[:300]
        )
    try:
        token = json.loads(done.stdout)["status"]["token"]
    except (ValueError, KeyError, TypeError):
        raise CliError(
            f"the kubeconfig's exec plugin {command[0]!r} printed no status.token"
        ) from None
    return str(token)
