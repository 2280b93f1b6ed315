"""What every controller of the simulator shares: settings, the clock, failure injection
and the small writers for the status the operators write.

Readers of raw objects come from :mod:`apis.objects` (and references from
:mod:`apis.links`); this module only adds what those do not have because it *writes*:
conditions that keep their ``lastTransitionTime`` while the status holds, owner
references, names cut to the Kubernetes limit, and bodies without ``None`` values.
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apis.links import typed_ref_key
from apis.objects import (
    ConditionData,
    condition_in,
    condition_true,
    mappings_at,
    name_of,
    namespace_of,
    str_at,
    text_at,
    uid_of,
)
from apis.resources import KUBEDB
from kube.client import JSONDict, KubeClient
from sandbox import objects as o

FIELD_MANAGER = "stashql-simulator"
FAIL_ANNOTATION = "simulator.stashql.dev/fail"
DB_VERSION = f"{KUBEDB}/db-version"  # the annotation KubeStash puts on Snapshots

CALL_TIMEOUT = 5.0  # every API call the simulator makes
MISSING_GRACE = 3.0  # how long a missing reference may be informer lag
MAX_ERRORS_KEPT = 100

SESSION_DONE = frozenset({"Succeeded", "Failed", "Skipped"})
RESTORE_DONE = frozenset({"Succeeded", "Failed", "Invalid", "Unknown"})

Raw = Mapping[str, Any]
AppKey = tuple[str, str, str]  # (kind, namespace, name) of a database


class Clock:
    """Real time, and simulated time running ``scale`` times faster from the start.

    Only schedules run on simulated time; every time written into an object is real.
    """

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.wall0 = datetime.now(UTC)
        self.mono0 = time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sim_now(self) -> datetime:
        return self.wall0 + timedelta(seconds=(time.monotonic() - self.mono0) * self.scale)

    def real_of(self, simulated: datetime) -> datetime:
        """The wall-clock time at which simulated time reaches ``simulated``."""
        return self.wall0 + (simulated - self.wall0) / self.scale


class Simulation:
    """The settings every controller reads, the clock, the dice and the error log.

    ``time_scale`` simulated seconds pass per real second (60: a ``*/5 * * * *`` schedule
    fires every 5 real seconds); ``step`` is the reconcile period in real seconds;
    ``fail_rate`` the probability that a backup, restore or log push fails; ``seed`` makes
    sizes, IDs and failures repeatable. ``namespace_filter`` limits which namespaces'
    objects are reconciled (lookups still see everything). ``clients`` names the
    clusters to play the operators on.
    """

    def __init__(
        self,
        clients: dict[str, KubeClient],
        *,
        time_scale: float = 60.0,
        step: float = 0.5,
        fail_rate: float = 0.0,
        seed: int | None = None,
        provision_delay: float = 1.0,
        backup_duration: float = 1.0,
        restore_duration: float = 3.0,
        max_snapshots_per_repository: int = 50,
        namespace_filter: Callable[[str], bool] | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if step <= 0:
            raise ValueError("step must be positive")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self.time_scale = time_scale
        self.step = step
        self.fail_rate = fail_rate
        self.provision_delay = provision_delay
        self.backup_duration = backup_duration
        self.restore_duration = restore_duration
        self.max_snapshots = max(1, max_snapshots_per_repository)
        self.namespace_filter = namespace_filter
        self.rng = random.Random(seed)
        self.clock = Clock(time_scale)
        self.errors: deque[str] = deque(maxlen=MAX_ERRORS_KEPT)
        self.clients = clients
        self.task_prefix = f"simulator {id(self):x} "
        self._running = False

    def wanted(self, namespace: str) -> bool:
        return self.namespace_filter is None or self.namespace_filter(namespace)

    def should_fail(self, what: str, *objects: Raw | None) -> bool:
        """Whether the next ``what`` (backup, restore, log) fails: annotation or fail_rate.

        The annotation ``simulator.stashql.dev/fail`` lists operations (``backup``,
        ``restore``, ``log``, comma-separated) that fail while it is present on any of
        ``objects``; otherwise each operation fails with probability ``fail_rate``.
        """
        if any(what in _fail_tokens(obj) for obj in objects):
            return True
        return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def injected(self, what: str, *objects: Raw | None) -> bool:
        """Whether the fail annotation on any of ``objects`` lists ``what`` (no dice)."""
        return any(what in _fail_tokens(obj) for obj in objects)

    def record_error(self, message: str) -> None:
        self.errors.append(message)


def _fail_tokens(obj: Raw | None) -> set[str]:
    raw = text_at(obj, "metadata", "annotations", FAIL_ANNOTATION)
    return {t.strip().lower() for t in raw.split(",") if t.strip()}


# --------------------------------------------------------------------------- reading


def ns_of(obj: Raw | None) -> str:
    """The namespace as informers key it: ``""`` for cluster-scoped objects."""
    return (namespace_of(obj) if obj is not None else None) or ""


def database_key(target: object, default_namespace: str) -> AppKey | None:
    """(kind, namespace, name) of a ``kubedb.com`` reference, None for anything else."""
    if str_at(target, "apiGroup") != KUBEDB:
        return None
    return typed_ref_key(target, default_namespace)


def deletion_policy(obj: Raw) -> str:
    """``spec.deletionPolicy`` as Snapshots and Repositories accept it (Delete by default)."""
    policy = str_at(obj, "spec", "deletionPolicy")
    return policy if policy in ("Delete", "WipeOut") else "Delete"


# --------------------------------------------------------------------------- writing


class Conditions:
    """A status's conditions being edited at one moment, ``now``.

    Starts from a copy (the status read stays untouched); ``lastTransitionTime`` only
    moves when a condition's status changes, as the operators' condition helpers do.
    """

    def __init__(self, status: Raw, *, now: datetime) -> None:
        self.items: list[JSONDict] = [
            copy.deepcopy(dict(c)) for c in mappings_at(status, "conditions")
        ]
        self.now = now

    def true(self, kind: str, *, reason: str, message: str, severity: str | None = None) -> None:
        self._set(kind, value="True", reason=reason, message=message, severity=severity)

    def true_all(self, *entries: tuple[str, str, str]) -> None:
        """Several conditions that hold: (type, reason, message) each."""
        for kind, reason, message in entries:
            self.true(kind, reason=reason, message=message)

    def false(self, kind: str, *, reason: str, message: str, severity: str | None = None) -> None:
        self._set(kind, value="False", reason=reason, message=message, severity=severity)

    def _set(
        self, kind: str, *, value: str, reason: str, message: str, severity: str | None
    ) -> None:
        existing = next((c for c in self.items if c.get("type") == kind), None)
        entry: JSONDict = {"type": kind, "status": value, "reason": reason, "message": message}
        if severity:
            entry["severity"] = severity
        if (
            existing is not None
            and existing.get("status") == value
            and existing.get("lastTransitionTime")
        ):
            entry["lastTransitionTime"] = existing["lastTransitionTime"]
        else:
            entry["lastTransitionTime"] = o.ts(self.now)
        if existing is not None:
            self.items[self.items.index(existing)] = entry
        else:
            self.items.append(entry)

    def drop(self, kind: str) -> None:
        self.items[:] = [c for c in self.items if c.get("type") != kind]

    def get(self, kind: str) -> ConditionData | None:
        return condition_in(self.items, kind)

    def has(self, kind: str) -> bool:
        return condition_in(self.items, kind) is not None

    def holds(self, kind: str) -> bool:
        return condition_true(self.items, kind)


def update_fields(status: JSONDict, fields: Mapping[str, Any]) -> None:
    """Set each field of ``fields`` in ``status``; a None value removes the field."""
    for key, value in fields.items():
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value


def prune(value: Any) -> Any:
    """Drop None values everywhere: server-side apply would read them as "remove"."""
    if isinstance(value, dict):
        return {k: prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune(v) for v in value if v is not None]
    return value


def owner(obj: Raw, *, controller: bool = True) -> JSONDict:
    """An ownerReference to ``obj``, so the garbage collector removes what we made."""
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": name_of(obj),
        "uid": uid_of(obj),
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def valid_name(prefix: str, suffix: str = "", limit: int = 63) -> str:
    """``prefix-suffix`` cut to ``limit`` characters, keeping the suffix whole."""
    if not suffix:
        return prefix[:limit].rstrip("-.")
    room = max(1, limit - len(suffix) - 1)
    return f"{prefix[:room].rstrip('-.')}-{suffix}"


def snapshot_labels(*, repo: str, kind: str, namespace: str, name: str) -> dict[str, str]:
    """The labels KubeStash puts on a Snapshot (the gateway's joins follow them)."""
    return {
        "kubestash.com/repo-name": repo,
        "kubestash.com/app-ref-kind": kind,
        "kubestash.com/app-ref-name": name,
        "kubestash.com/app-ref-namespace": namespace,
    }


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """Seconds in a Go duration such as ``30m`` or ``1h2m3.5s`` (0 if unreadable)."""
    if not text:
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return 0.0
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
