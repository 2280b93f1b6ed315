"""Clusters from a kubeconfig (every context, or the chosen ones) or from in-cluster config.

kubernetes-asyncio does the credential work (tokens, client certificates, exec and OIDC
plugins with refresh); we turn each context into a :class:`KubeClient`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import kube_config as k8s_kube_config

from core.settings import setting
from kube.client import KubeClient


class ConfigError(Exception):
    """The kubeconfig cannot be used as asked (missing file, unknown context, ...)."""


@dataclass(frozen=True)
class ConnectionSettings:
    """The gateway's connections to each API server: two pools and their deadlines.

    Every open watch holds a pooled connection for minutes, so watches get a pool of their
    own and can never starve queries, token reviews and access reviews.
    """

    # Requests in flight at once to one API server outside the informers: TokenReviews,
    # SubjectAccessReviews, health probes. Past it requests wait in the pool instead of
    # flooding the API server (whose --max-requests-inflight is 400 for all its clients).
    query_connections: int = setting(50, help="connections per cluster for requests")
    # Deadline of one request; the health probes pass their own, shorter one.
    query_timeout: float = setting(15.0, help="seconds one request to a cluster may take")
    # The informers' LISTs and WATCHes: one connection per open watch (one per watched
    # resource: each KubeDB and KubeStash kind, CRDs, namespaces), and a re-list briefly
    # overlaps its watch; 100 leaves room for every kind the two projects define.
    watch_connections: int = setting(100, help="connections per cluster for watches")
    # Deadline to connect a watch; its stream then has the informer's read timeout, and
    # the informers' LISTs pass their own deadline.
    watch_timeout: float = setting(30.0, help="seconds to open a watch")
    # How often, at most, exec-plugin and OIDC credentials are checked for expiry; a
    # static token costs nothing.
    credential_refresh: float = setting(10.0, help="seconds between credential checks")


@dataclass(frozen=True)
class ClusterConfig:
    """One cluster the gateway talks to, named after its kubeconfig context."""

    name: str
    server: str
    configuration: Any  # kubernetes_asyncio Configuration
    # The kubeconfig loader, kept to refresh exec-plugin and OIDC credentials: the
    # library loads them once and, outside in-cluster config, never refreshes them.
    loader: Any = None

    def ssl_context(self) -> ssl.SSLContext | bool:
        cfg = self.configuration
        if not self.server.startswith("https"):
            return False
        ctx = (
            ssl.create_default_context(cafile=cfg.ssl_ca_cert)
            if cfg.ssl_ca_cert
            else (ssl.create_default_context())
        )
        if not cfg.verify_ssl:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cfg.cert_file and cfg.key_file:
            ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
        return ctx

    def client(
        self,
        *,
        connection_limit: int = ConnectionSettings.query_connections,
        timeout: float = ConnectionSettings.query_timeout,
        refresh_interval: float = ConnectionSettings.credential_refresh,
    ) -> KubeClient:
        cfg = self.configuration
        loader = self.loader
        last_refresh = [time.monotonic()]
        lock = asyncio.Lock()

        async def token() -> str | None:
            if (
                loader is not None
                and time.monotonic() - last_refresh[0] >= refresh_interval
                and _credential_expires(loader)
            ):
                async with lock:
                    if time.monotonic() - last_refresh[0] >= refresh_interval:
                        # Re-runs the exec plugin only when its credential has expired
                        # (or expires within the library's skew), and refreshes OIDC
                        # tokens; a static token costs nothing here.
                        await loader._load_authentication()
                        if hasattr(loader, "token"):
                            cfg.api_key["BearerToken"] = loader.token
                        last_refresh[0] = time.monotonic()
            # Calls the refresh hook (projected service-account tokens) when set.
            value: str | None = await cfg.get_api_key_with_prefix("BearerToken")
            if value is None and "authorization" in cfg.api_key:
                value = cfg.api_key["authorization"]
            return value

        return KubeClient(
            cluster=self.name,
            server=self.server,
            ssl_context=self.ssl_context(),
            token_source=token,
            connection_limit=connection_limit,
            timeout=timeout,
        )


def _credential_expires(loader: Any) -> bool:
    """Whether the context's credential can expire and should be re-checked.

    An exec plugin's credential without ``expirationTimestamp`` is valid until the
    server rejects it (the client-go contract); one with it is re-fetched once expired.
    OIDC tokens carry their own expiry, which the loader checks before refreshing.
    """
    user = getattr(loader, "_user", None)
    if user is None:
        return False
    if "exec" in user:
        expiry = getattr(loader, "exec_plugin_expiry", None)
        return expiry is not None and bool(k8s_kube_config._is_expired(expiry))
    return "auth-provider" in user


def choose_contexts(
    path: str | Path, *, contexts: list[str] | None = None, all_contexts: bool = False
) -> list[str]:
    """The contexts of ``path`` to serve: the chosen ones, every one, or the current one.

    Reads only the file (no credentials), so the command can refuse a bad choice at once.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"kubeconfig {path} does not exist")
    try:
        listed, current = k8s_config.list_kube_config_contexts(config_file=str(path))
    except Exception as exc:
        raise ConfigError(f"{path} is not a usable kubeconfig ({exc})") from exc
    names = [c["name"] for c in listed]
    if contexts:
        unknown = [c for c in contexts if c not in names]
        if unknown:
            raise ConfigError(
                f"context(s) {', '.join(unknown)} not in {path}; it has: {', '.join(names)}"
            )
        return list(contexts)
    if all_contexts:
        return names
    if current:
        return [current["name"]]
    raise ConfigError(f"{path} has no current context; pass --context or --all-contexts")


async def load_kubeconfig(
    path: str | Path, *, contexts: list[str] | None = None, all_contexts: bool = False
) -> list[ClusterConfig]:
    """Clusters for the chosen contexts, every context, or the current one."""
    path = Path(path).expanduser()
    chosen = choose_contexts(path, contexts=contexts, all_contexts=all_contexts)
    clusters = []
    for name in chosen:
        cfg = Configuration()
        loader = await k8s_config.load_kube_config(
            config_file=str(path), context=name, client_configuration=cfg, persist_config=False
        )
        clusters.append(
            ClusterConfig(name=name, server=str(cfg.host), configuration=cfg, loader=loader)
        )
    return clusters


def load_in_cluster(name: str = "in-cluster") -> list[ClusterConfig]:
    cfg = Configuration()
    k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
    return [ClusterConfig(name=name, server=str(cfg.host), configuration=cfg)]
