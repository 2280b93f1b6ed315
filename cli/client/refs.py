"""Object references as typed on the command line: ``NAME`` or ``NAMESPACE/NAME``."""

from __future__ import annotations

from typing import Any

from cli.client.exits import CliError, Exit


def object_ref(
    text: str,
    *,
    namespace: str | None,
    cluster: str | None = None,
    kind: str | None = None,
    what: str = "database",
) -> dict[str, Any]:
    """An ObjectRefInput; the namespace comes from ``NAMESPACE/NAME`` or ``--namespace``."""
    ns, slash, name = text.rpartition("/")
    if slash and (not ns or "/" in ns):
        raise CliError(f"{what} {text!r}: write NAME or NAMESPACE/NAME", Exit.USAGE)
    if not name:
        raise CliError(f"{what} {text!r}: the name is empty", Exit.USAGE)
    ns = ns or namespace or ""
    if not ns:
        raise CliError(f"{what} {text!r}: give NAMESPACE/NAME or --namespace", Exit.USAGE)
    ref: dict[str, Any] = {"namespace": ns, "name": name}
    if cluster:
        ref["cluster"] = cluster
    if kind:
        ref["kind"] = kind
    return ref


def pairs(values: tuple[str, ...], *, flag: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict."""
    found: dict[str, str] = {}
    for value in values:
        key, eq, rest = value.partition("=")
        if not eq or not key:
            raise CliError(f"{flag} {value!r}: write KEY=VALUE", Exit.USAGE)
        found[key] = rest
    return found


def shown(ref: dict[str, Any]) -> str:
    cluster = f"{ref['cluster']}:" if ref.get("cluster") else ""
    return f"{cluster}{ref.get('namespace')}/{ref.get('name')}"
