"""The sandbox API servers' audit log: who changed what, as the API server saw it.

Each kube-apiserver of the sandbox is started with

- ``--audit-policy-file=<sandbox dir>/audit-policy.yaml``: the policy below. Level
  ``Metadata`` (user, impersonated user, verb, object reference, response code and the
  authorizer's decision; never a request or response body, so Secret data cannot reach
  the file) for every create, update, patch, delete and deletecollection; ``None`` for
  reads, for the API server's own loopback user (``system:apiserver``: bootstrap roles,
  APF configuration, its identity lease) and for Leases and Events, so the file holds
  only what people and the gateway did. ``RequestReceived`` is omitted: one line per
  request, written once the response is known.
- ``--audit-log-path=<sandbox dir>/logs/audit-<cluster>.log``, JSON lines
  (``--audit-log-format=json``).
- ``--audit-log-mode=blocking``: each event is written by the request's own goroutine
  right after the response is sent (no batching buffer), so a test that polls the file
  finds the event within milliseconds.
- ``--audit-log-maxsize=50`` (MB) and ``--audit-log-maxbackup=3``: rotated files are
  named ``audit-<cluster>-<timestamp>.log`` next to the live one; a benchmark seeding
  100k objects stays within 200 MB per cluster.

Flags: ``k8s.io/apiserver/pkg/server/options/audit.go`` (v0.36.3); policy format
``audit.k8s.io/v1`` ``Policy`` (rules match first to last; the first match decides).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

AUDIT_POLICY: dict[str, Any] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "users": ["system:apiserver"]},
        {
            "level": "None",
            "resources": [
                {"group": "coordination.k8s.io", "resources": ["leases"]},
                {"group": "", "resources": ["events"]},
                {"group": "events.k8s.io", "resources": ["events"]},
            ],
        },
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
        },
        {"level": "None"},
    ],
}
MAX_SIZE_MB = 50
MAX_BACKUPS = 3


def audit_log_path(logs: Path, cluster: str) -> Path:
    return logs / f"audit-{cluster}.log"


def write_audit_policy(path: Path) -> Path:
    path.write_text(yaml.safe_dump(AUDIT_POLICY, sort_keys=False))
    return path


def audit_args(*, policy: Path, log: Path) -> list[str]:
    return [
        f"--audit-policy-file={policy}",
        f"--audit-log-path={log}",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        f"--audit-log-maxsize={MAX_SIZE_MB}",
        f"--audit-log-maxbackup={MAX_BACKUPS}",
    ]


def _rotated(log: Path) -> list[Path]:
    # lumberjack names backups <stem>-<YYYY-MM-DDTHH-MM-SS.mmm><suffix>; they sort by time.
    pattern = re.compile(re.escape(log.stem) + r"-\d{4}-\d\d-\d\dT[\d.-]+" + re.escape(log.suffix))
    if not log.parent.is_dir():
        return []
    return sorted(p for p in log.parent.iterdir() if pattern.fullmatch(p.name))


def read_audit_events(log: Path) -> list[dict[str, Any]]:
    """Every event in the log and its rotated backups, oldest first."""
    events: list[dict[str, Any]] = []
    for path in [*_rotated(log), log]:
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                # The line the API server is writing right now; the next read has it whole.
                continue
            if isinstance(event, dict):
                events.append(event)
    return events
