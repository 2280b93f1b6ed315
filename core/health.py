"""Health of one configured cluster, as the `clusters` query shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    server: str
    reachable: bool
    server_version: str | None = None
    synced_at: datetime | None = None
    error: str | None = None
    kubedb_installed: bool = False
    kubestash_installed: bool = False
