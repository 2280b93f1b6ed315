"""What ``stashql serve`` runs with: the clusters, where to listen, and each concern's
own settings (``GateSettings``, ``Limits``, ``ConnectionSettings``, ``WriteSettings``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auth.gate import GateSettings
from core.settings import setting
from gateway.limits import Limits
from kube.config import ConnectionSettings
from resolvers.writes.engine import WriteSettings


@dataclass(frozen=True)
class Settings:
    """The gateway's settings; the ``stashql serve`` options map onto these fields."""

    # Which clusters: the contexts of a kubeconfig (the chosen ones, every one, or the
    # current one), or the pod's own service account. Nothing is guessed: without
    # --kubeconfig or --in-cluster the gateway refuses to start.
    kubeconfig: Path | None = setting(
        None, help="kubeconfig file (each chosen context is one cluster)"
    )
    contexts: tuple[str, ...] = setting((), help="a context to serve (repeatable)")
    all_contexts: bool = setting(False, help="serve every context")
    in_cluster: bool = setting(False, help="use the pod's service account")
    # Loopback: the gateway is reached through a proxy or a port-forward until it is
    # told to listen elsewhere.
    host: str = setting("127.0.0.1", help="address to listen on")
    port: int = setting(8080, help="port to listen on")
    # uvicorn's log level (the gateway's own logger logs at INFO).
    log_level: str = setting("info", help="uvicorn log level (debug, info, warning, error)")
    # Seconds between health probes of each cluster (/version and /apis): how soon the
    # `clusters` query notices an API server that went away or an operator installed.
    probe_interval: float = setting(30.0, help="seconds between health probes of a cluster")
    # One WebSocket may carry this many subscriptions; each holds a queue and a filter
    # in the hub, so a single client cannot make the gateway hold without bound.
    max_subscriptions_per_connection: int = setting(100, help="subscriptions per WebSocket")
    # Seconds between graphql-transport-ws pings on an idle WebSocket: below the idle
    # timeouts of common proxies (60 s), so quiet subscriptions stay open.
    keep_alive_interval: float = setting(15.0, help="seconds between WebSocket pings")
    # Every replica runs the restore workflows' controller, and the one holding a
    # cluster's Lease drives that cluster's workflows; a replica meant only for reads may
    # leave it out (the others drive the workflows all the same).
    workflow_controller: bool = setting(
        True, help="do not run the restore workflows' controller in this replica"
    )
    gate: GateSettings = field(default_factory=GateSettings)
    limits: Limits = field(default_factory=Limits)
    connections: ConnectionSettings = field(default_factory=ConnectionSettings)
    writes: WriteSettings = field(default_factory=WriteSettings)
