"""Pure readers over raw Kubernetes objects (the JSON dicts the informers store).

Every function here is synchronous, does no I/O and never raises on odd input: a
missing or mistyped field reads as None (or an empty collection), because one malformed
object must not fail a whole page. Field names are the upstream ones, copied from
``shared/reference/kubestash-kubedb-api.md``.

The GraphQL types in ``schema/`` call these; so will the resolvers that filter and sort
(by phase, by snapshot time), which is why they live here and not in ``schema/``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.times import parse_time

Raw = Mapping[str, Any]

# ---------------------------------------------------------------------------
# Generic access


def dig(raw: object, *path: str) -> Any:
    """The value at ``path`` inside nested mappings, or None if any step is missing."""
    current: Any = raw
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def str_at(raw: object, *path: str) -> str | None:
    """A non-empty string at ``path``; None for missing, empty or non-string values."""
    value = dig(raw, *path)
    return value if isinstance(value, str) and value else None


def text_at(raw: object, *path: str) -> str:
    """:func:`str_at` with ``""`` for missing: for keys and messages where absent and
    empty mean the same thing."""
    return str_at(raw, *path) or ""


def bool_at(raw: object, *path: str) -> bool | None:
    value = dig(raw, *path)
    return value if isinstance(value, bool) else None


def int_at(raw: object, *path: str) -> int | None:
    value = dig(raw, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def int_or(raw: object, *path: str, default: int) -> int:
    """The integer at ``path``, or ``default`` when it is missing or not an integer
    (an explicit 0 stays 0, which ``int_at(...) or default`` would lose)."""
    value = int_at(raw, *path)
    return default if value is None else value


def mapping_at(raw: object, *path: str) -> Mapping[str, Any]:
    value = dig(raw, *path)
    return value if isinstance(value, Mapping) else {}


def list_at(raw: object, *path: str) -> list[Any]:
    value = dig(raw, *path)
    return list(value) if isinstance(value, list) else []


def mappings_at(raw: object, *path: str) -> list[Mapping[str, Any]]:
    """The mapping entries of the list at ``path`` (other entries are skipped)."""
    return [item for item in list_at(raw, *path) if isinstance(item, Mapping)]


def named_entries(raw: object, *path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(key, value) pairs of the map at ``path``, sorted by key, skipping non-mappings.

    KubeStash keeps per-component status as a map (``status.components``); sorting makes
    the GraphQL list order stable whatever order the JSON had.
    """
    entries = mapping_at(raw, *path)
    for key in sorted(k for k in entries if isinstance(k, str)):
        value = entries[key]
        if isinstance(value, Mapping):
            yield key, value


# ---------------------------------------------------------------------------
# Metadata

# Informers already drop this annotation; dropping it again here keeps a whole copy of
# the last applied object (which may be large or sensitive) out of every response.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_HIDDEN_ANNOTATIONS = frozenset({LAST_APPLIED})


def name_of(raw: Raw) -> str:
    return str_at(raw, "metadata", "name") or ""


def namespace_of(raw: Raw) -> str | None:
    return str_at(raw, "metadata", "namespace")


def uid_of(raw: Raw) -> str:
    return str_at(raw, "metadata", "uid") or ""


def created_at(raw: Raw) -> datetime | None:
    return parse_time(dig(raw, "metadata", "creationTimestamp"))


def labels_of(raw: Raw) -> dict[str, str]:
    return _string_map(mapping_at(raw, "metadata", "labels"))


def annotations_of(raw: Raw) -> dict[str, str]:
    annotations = _string_map(mapping_at(raw, "metadata", "annotations"))
    return {k: v for k, v in annotations.items() if k not in _HIDDEN_ANNOTATIONS}


def _string_map(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in values.items() if isinstance(k, str) and isinstance(v, str)}


def api_group_of(raw: Raw) -> str | None:
    """The API group from ``apiVersion`` ("" for the core group), or None if absent."""
    api_version = str_at(raw, "apiVersion")
    if api_version is None:
        return None
    group, _, _version = api_version.rpartition("/")
    return group


def kind_of(raw: Raw) -> str | None:
    return str_at(raw, "kind")


# ---------------------------------------------------------------------------
# References


@dataclass(frozen=True)
class TypedRef:
    """A reference to another object (kmapi TypedObjectReference), namespace filled in."""

    api_group: str | None
    kind: str | None
    namespace: str | None
    name: str


def typed_ref(value: object, *, default_namespace: str | None) -> TypedRef | None:
    """A TypedObjectReference (``apiGroup``, ``kind``, ``namespace``, ``name``).

    KubeStash treats an empty namespace as "same namespace as the referring object".
    """
    name = str_at(value, "name")
    if name is None:
        return None
    return TypedRef(
        api_group=str_at(value, "apiGroup"),
        kind=str_at(value, "kind"),
        namespace=str_at(value, "namespace") or default_namespace,
        name=name,
    )


APP_REF_KIND_LABEL = "kubestash.com/app-ref-kind"
APP_REF_NAME_LABEL = "kubestash.com/app-ref-name"
APP_REF_NAMESPACE_LABEL = "kubestash.com/app-ref-namespace"
REPO_NAME_LABEL = "kubestash.com/repo-name"


def app_ref(raw: Raw) -> TypedRef | None:
    """The backed-up application of a Snapshot or Repository.

    ``spec.appRef`` first; Snapshots also carry ``kubestash.com/app-ref-*`` labels, used
    when the spec has no reference.
    """
    ref = typed_ref(dig(raw, "spec", "appRef"), default_namespace=namespace_of(raw))
    if ref is not None:
        return ref
    labels = labels_of(raw)
    name = labels.get(APP_REF_NAME_LABEL)
    if not name:
        return None
    return TypedRef(
        api_group=None,
        kind=labels.get(APP_REF_KIND_LABEL) or None,
        namespace=labels.get(APP_REF_NAMESPACE_LABEL) or namespace_of(raw),
        name=name,
    )


# ---------------------------------------------------------------------------
# Conditions


@dataclass(frozen=True)
class ConditionData:
    type: str
    status: str
    reason: str | None
    message: str | None
    last_transition_time: datetime | None


def conditions_of(raw: Raw) -> list[ConditionData]:
    """``status.conditions`` (kmapi/metav1 Condition); entries without a type are skipped."""
    return list(conditions_in(dig(raw, "status", "conditions")))


def conditions_in(value: object) -> Iterator[ConditionData]:
    if not isinstance(value, list):
        return
    for item in value:
        kind = str_at(item, "type")
        if kind is None:
            continue
        yield ConditionData(
            type=kind,
            status=str_at(item, "status") or "Unknown",
            reason=str_at(item, "reason"),
            message=str_at(item, "message"),
            last_transition_time=parse_time(dig(item, "lastTransitionTime")),
        )


def condition_in(value: object, kind: str) -> ConditionData | None:
    """The condition of type ``kind`` in a conditions list, or None if it has none."""
    return next((c for c in conditions_in(value) if c.type == kind), None)


def condition_true(value: object, kind: str) -> bool:
    """Whether a conditions list has the condition ``kind`` with status True."""
    condition = condition_in(value, kind)
    return condition is not None and condition.status == "True"


# ---------------------------------------------------------------------------
# Phases: Kubernetes CamelCase values -> GraphQL SCREAMING_SNAKE_CASE enum names.
# The tuples are the enums' members; schema/enums.py is tested against them.

DATABASE_PHASES = (
    "PROVISIONING",
    "DATA_RESTORING",
    "READY",
    "CRITICAL",
    "NOT_READY",
    "HALTED",
    "UNKNOWN",
)
SNAPSHOT_PHASES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
BACKUP_SESSION_PHASES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED")
RESTORE_SESSION_PHASES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "INVALID", "UNKNOWN")
SNAPSHOT_TYPES = ("FULL", "INCREMENTAL")
BACKUP_METHODS = ("LOGICAL", "PHYSICAL", "VOLUME_SNAPSHOT", "CONTINUOUS", "MANIFEST")
USAGE_SCOPES = ("ALL", "SAME", "SELECTOR")

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def screaming_snake(value: str) -> str:
    """``DataRestoring`` -> ``DATA_RESTORING``; ``NotReady`` -> ``NOT_READY``."""
    return _CAMEL_BOUNDARY.sub("_", value.strip()).replace("-", "_").replace(" ", "_").upper()


def enum_name(value: object, *, allowed: Collection[str]) -> str | None:
    """The enum member for a Kubernetes value, or None if it is missing or not one we know."""
    if not isinstance(value, str) or not value:
        return None
    name = screaming_snake(value)
    return name if name in allowed else None


def database_phase(raw: Raw) -> str:
    """KubeDB ``status.phase``; a missing or unknown value reads as UNKNOWN."""
    return enum_name(dig(raw, "status", "phase"), allowed=DATABASE_PHASES) or "UNKNOWN"


def snapshot_phase(raw: Raw) -> str:
    """Snapshot ``status.phase``. No status yet means KubeStash has not started: PENDING.

    The enum has no UNKNOWN member, so an unrecognised value also reads as PENDING.
    """
    return enum_name(dig(raw, "status", "phase"), allowed=SNAPSHOT_PHASES) or "PENDING"


def component_phase(component: Mapping[str, Any]) -> str | None:
    """A Snapshot component's ``phase`` (the field is nullable, so unknown is None)."""
    return enum_name(component.get("phase"), allowed=SNAPSHOT_PHASES)


def backup_session_phase(raw: Raw) -> str:
    """BackupSession ``status.phase``; missing or unrecognised reads as PENDING."""
    return enum_name(dig(raw, "status", "phase"), allowed=BACKUP_SESSION_PHASES) or "PENDING"


def restore_session_phase(raw: Raw) -> str:
    """RestoreSession ``status.phase``; missing is PENDING, unrecognised is UNKNOWN."""
    value = dig(raw, "status", "phase")
    if not isinstance(value, str) or not value:
        return "PENDING"
    return enum_name(value, allowed=RESTORE_SESSION_PHASES) or "UNKNOWN"


_SNAPSHOT_TYPES = {"FullBackup": "FULL", "IncrementalBackup": "INCREMENTAL"}


def snapshot_type(raw: Raw) -> str:
    """Snapshot ``spec.type`` (FullBackup | IncrementalBackup); anything else reads FULL."""
    value = dig(raw, "spec", "type")
    return _SNAPSHOT_TYPES.get(value, "FULL") if isinstance(value, str) else "FULL"


_USAGE_SCOPES = {"All": "ALL", "Same": "SAME", "Selector": "SELECTOR"}


def usage_scope(raw: Raw) -> str:
    """``spec.usagePolicy.allowedNamespaces.from`` (All | Selector | Same).

    KubeStash's default is Same (usable only from the object's own namespace), which is
    also the safe reading of an unknown value.
    """
    value = dig(raw, "spec", "usagePolicy", "allowedNamespaces", "from")
    return _USAGE_SCOPES.get(value, "SAME") if isinstance(value, str) else "SAME"


# ---------------------------------------------------------------------------
# Backup methods

# Well-known Snapshot component names (kubestash apis/constant.go; `log` is MySQL's
# log-shipping component, `wal` Postgres').
_COMPONENT_METHODS = {
    "dump": "LOGICAL",
    "physical": "PHYSICAL",
    "volumesnapshot": "VOLUME_SNAPSHOT",
    "manifest": "MANIFEST",
    "wal": "CONTINUOUS",
    "log": "CONTINUOUS",
}

# Addon backup task names (kubedb-kubestash-catalog addons).
_TASK_METHODS = {
    "logical-backup": "LOGICAL",
    "physical-backup": "PHYSICAL",
    "volume-snapshot": "VOLUME_SNAPSHOT",
    "manifest-backup": "MANIFEST",
}


def method_for_task(task: str) -> str | None:
    """The backup method an addon backup task implements, if it is a backup task.

    Besides the four generic names, addons have engine-specific dump tasks
    (``etcd-backup``, ``dashboard-backup``, ``*-metadata-storage-backup``): they export
    data through the engine, which is a logical backup.
    """
    known = _TASK_METHODS.get(task)
    if known is not None:
        return known
    name = task.lower()
    if "manifest" in name:
        return "MANIFEST"
    if "volume-snapshot" in name or "volumesnapshot" in name:
        return "VOLUME_SNAPSHOT"
    if "physical" in name:
        return "PHYSICAL"
    if name.endswith("-backup"):
        return "LOGICAL"
    return None


def snapshot_methods(raw: Raw) -> list[str]:
    """How a Snapshot was taken, from its type, component names and drivers.

    An incremental Snapshot is the archiver's continuous log backup; a
    VolumeSnapshotter driver means volume snapshots whatever the component is called.
    """
    found: set[str] = set()
    if snapshot_type(raw) == "INCREMENTAL":
        found.add("CONTINUOUS")
    for name, component in named_entries(raw, "status", "components"):
        method = _COMPONENT_METHODS.get(name)
        if method is not None:
            found.add(method)
        if component.get("driver") == "VolumeSnapshotter":
            found.add("VOLUME_SNAPSHOT")
    return [m for m in BACKUP_METHODS if m in found]


def task_methods(tasks: Collection[str]) -> list[str]:
    """Backup methods of a list of addon task names, in enum order, without repeats."""
    found = {method_for_task(task) for task in tasks}
    return [m for m in BACKUP_METHODS if m in found]


def addon_task_names(session: Mapping[str, Any]) -> list[str]:
    """``addon.tasks[].name`` of one BackupConfiguration/BackupBlueprint session."""
    return [
        name for task in mappings_at(session, "addon", "tasks") if (name := str_at(task, "name"))
    ]


_PLACEHOLDER = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_.-]*)")


def placeholders(value: object) -> list[str]:
    """``${name}`` variables anywhere inside ``value``, sorted, without repeats.

    Sorted because the API server's JSON key order is not meaningful to a user.

    BackupBlueprints use them for values the user supplies through
    ``variables.kubestash.com/<name>`` annotations (for example ``${schedule}``).
    """
    seen: dict[str, None] = {}

    def walk(node: object) -> None:
        if isinstance(node, str):
            for match in _PLACEHOLDER.finditer(node):
                seen.setdefault(match.group(1), None)
        elif isinstance(node, Mapping):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return sorted(seen)


# ---------------------------------------------------------------------------
# Backup configuration sessions


@dataclass(frozen=True)
class ConfiguredSession:
    """One entry of a BackupConfiguration's ``spec.sessions`` joined with its status."""

    name: str
    schedule: str | None
    next_scheduled_at: datetime | None
    addon: str | None
    tasks: list[str]


def configured_sessions(raw: Raw) -> list[ConfiguredSession]:
    """``spec.sessions[]`` with ``status.sessions[].nextSchedule`` matched by name."""
    next_by_name: dict[str, datetime | None] = {}
    for entry in mappings_at(raw, "status", "sessions"):
        name = str_at(entry, "name")
        if name is not None:
            next_by_name[name] = parse_time(entry.get("nextSchedule"))
    sessions = []
    for session in mappings_at(raw, "spec", "sessions"):
        name = str_at(session, "name")
        if name is None:
            continue
        sessions.append(
            ConfiguredSession(
                name=name,
                schedule=str_at(session, "scheduler", "schedule"),
                next_scheduled_at=next_by_name.get(name),
                addon=str_at(session, "addon", "name"),
                tasks=addon_task_names(session),
            )
        )
    return sessions


# ---------------------------------------------------------------------------
# Restore progress


def percent(value: object) -> float | None:
    """A percentage written as a number or a string such as ``"42.5"`` or ``"42.5%"``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().removesuffix("%").strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    return min(max(number, 0.0), 100.0)


def restore_progress(raw: Raw) -> float | None:
    """Overall restore progress in percent.

    The mean of the components' ``progress.percentDone``; 100 once the session
    Succeeded; None while no component reports progress.
    """
    if restore_session_phase(raw) == "SUCCEEDED":
        return 100.0
    values = [
        p
        for _name, component in named_entries(raw, "status", "components")
        if (p := percent(dig(component, "progress", "percentDone"))) is not None
    ]
    if not values:
        return None
    return sum(values) / len(values)
