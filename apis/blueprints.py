"""BackupBlueprint templates, as StashQL reads and expands them (pure, no I/O).

A BackupPolicy is a KubeStash BackupBlueprint that the gateway expands itself into a
BackupConfiguration (``policy-encoding.md``). Its ``backupConfigurationTemplate`` holds
placeholders: ``${name}`` or ``${name:=default}`` (the default is the text after ``:=``
up to the closing brace). The gateway fills those naming the database, its addon, the
schedule, the storage and the retention policy (``GATEWAY_FILLED``); any other one is a
variable the user fills in.

Which choices a template leaves open is read from where its placeholders sit: a
session whose ``scheduler.schedule`` holds ``${schedule}`` may be scheduled by the
user, a backend whose ``storageRef.name`` holds ``${storage}`` may be replaced by the
user's own BackupStorage, and one whose ``retentionPolicy.name`` holds
``${retentionPolicy}`` lets the user choose the RetentionPolicy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apis import objects

# ``${name}`` or ``${name:=default}``; a default cannot contain ``}``.
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::=([^}]*))?\}")

TARGET_NAME = "targetName"
TARGET_NAMESPACE = "targetNamespace"
TARGET_KIND = "targetKind"
ADDON = "addon"
SCHEDULE = "schedule"
STORAGE = "storage"
STORAGE_NAMESPACE = "storageNamespace"
RETENTION = "retentionPolicy"
RETENTION_NAMESPACE = "retentionPolicyNamespace"

GATEWAY_FILLED = frozenset(
    {
        TARGET_NAME,
        TARGET_NAMESPACE,
        TARGET_KIND,
        ADDON,
        SCHEDULE,
        STORAGE,
        STORAGE_NAMESPACE,
        RETENTION,
        RETENTION_NAMESPACE,
    }
)

# The addon task each backup method runs (the inverse of ``objects.method_for_task`` on
# the generic task names). Every session also runs MANIFEST_TASK.
METHOD_TASKS = {
    "LOGICAL": "logical-backup",
    "PHYSICAL": "physical-backup",
    "VOLUME_SNAPSHOT": "volume-snapshot",
}
MANIFEST_TASK = "manifest-backup"
MANIFEST = "MANIFEST"


@dataclass(frozen=True)
class Placeholder:
    name: str
    default: str | None


def placeholders(value: object) -> dict[str, Placeholder]:
    """Every placeholder inside ``value`` (strings in nested mappings and lists), by name.

    A name used twice with different defaults keeps the first default found.
    """
    found: dict[str, Placeholder] = {}

    def walk(node: object) -> None:
        if isinstance(node, str):
            for match in PLACEHOLDER.finditer(node):
                name, default = match.group(1), match.group(2)
                if name not in found or (found[name].default is None and default is not None):
                    found[name] = Placeholder(name, default)
        elif isinstance(node, Mapping):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return dict(sorted(found.items()))


def fill(text: str, values: Mapping[str, str]) -> tuple[str, set[str]]:
    """``text`` with each placeholder replaced by its value, else its default.

    Placeholders with neither stay as written; their names are returned as missing.
    """
    missing: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if default is not None:
            return default
        missing.add(name)
        return match.group(0)

    return PLACEHOLDER.sub(replace, text), missing


def expand(value: Any, values: Mapping[str, str]) -> tuple[Any, set[str]]:
    """A copy of ``value`` with every string filled (see ``fill``), and the names missing."""
    missing: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            text, lacking = fill(node, values)
            missing.update(lacking)
            return text
        if isinstance(node, Mapping):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return copy.deepcopy(node)

    return walk(value), missing


def _default_text(text: str | None) -> str | None:
    """What ``text`` reads with no value given: defaults filled; None if one is missing."""
    if text is None:
        return None
    filled, missing = fill(text, {})
    return None if missing else filled


def _names(text: str | None) -> set[str]:
    return {m.group(1) for m in PLACEHOLDER.finditer(text or "")}


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class TemplateRef:
    """A backend's storageRef or retentionPolicy: what it names with nothing chosen."""

    # The default (or fixed) object, as (namespace, name); None when it has no default.
    default: tuple[str, str] | None
    # Whether the user may name another one.
    open: bool


@dataclass(frozen=True)
class SessionTemplate:
    name: str
    tasks: tuple[str, ...]
    # Data methods of its tasks, in enum order (MANIFEST runs in every session).
    methods: tuple[str, ...]
    # The schedule with nothing chosen (the fixed one, or the placeholder's default).
    schedule: str | None
    may_set_schedule: bool


@dataclass(frozen=True)
class BlueprintTemplate:
    sessions: tuple[SessionTemplate, ...]
    storage: TemplateRef | None
    retention: TemplateRef | None
    # Placeholders the user fills (not GATEWAY_FILLED), sorted, and their defaults.
    variables: tuple[str, ...]
    variable_defaults: Mapping[str, str] = field(default_factory=dict)

    def session(self, name: str) -> SessionTemplate | None:
        return next((s for s in self.sessions if s.name == name), None)

    @property
    def methods(self) -> tuple[str, ...]:
        """Every data method some session offers, in enum order."""
        offered = {m for s in self.sessions for m in s.methods}
        return tuple(m for m in objects.BACKUP_METHODS if m in offered)


def _template(blueprint: Mapping[str, Any]) -> Mapping[str, Any]:
    return objects.mapping_at(blueprint, "spec", "backupConfigurationTemplate")


def _backend_ref(blueprint: Mapping[str, Any], part: str, placeholder: str) -> TemplateRef | None:
    home = objects.namespace_of(blueprint) or ""
    for backend in objects.mappings_at(_template(blueprint), "backends"):
        ref = objects.mapping_at(backend, part)
        name = ref.get("name")
        if not isinstance(name, str) or not name:
            continue
        namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else ""
        default_name = _default_text(name)
        default_namespace = _default_text(namespace or "")
        default = None
        if default_name and default_namespace is not None:
            default = (default_namespace or home, default_name)
        return TemplateRef(default=default, open=placeholder in _names(name))
    return None


def read_template(blueprint: Mapping[str, Any]) -> BlueprintTemplate:
    """What a blueprint offers and leaves open (``BackupPolicy.choices`` reads this)."""
    template = _template(blueprint)
    sessions = []
    for raw in objects.mappings_at(template, "sessions"):
        name = objects.str_at(raw, "name")
        if name is None:
            continue
        tasks = tuple(objects.addon_task_names(raw))
        schedule = objects.str_at(raw, "scheduler", "schedule")
        sessions.append(
            SessionTemplate(
                name=name,
                tasks=tasks,
                methods=tuple(m for m in objects.task_methods(tasks) if m != MANIFEST),
                schedule=_default_text(schedule),
                may_set_schedule=SCHEDULE in _names(schedule),
            )
        )
    found = placeholders({k: v for k, v in template.items() if k in ("backends", "sessions")})
    variables = {n: p for n, p in found.items() if n not in GATEWAY_FILLED}
    return BlueprintTemplate(
        sessions=tuple(sessions),
        storage=_backend_ref(blueprint, "storageRef", STORAGE),
        retention=_backend_ref(blueprint, "retentionPolicy", RETENTION),
        variables=tuple(variables),
        variable_defaults={n: p.default for n, p in variables.items() if p.default is not None},
    )


# ---------------------------------------------------------------------------- expanding


@dataclass(frozen=True)
class Target:
    """The database a configuration backs up."""

    kind: str
    namespace: str
    name: str

    def as_ref(self) -> dict[str, str]:
        return {
            "apiGroup": "kubedb.com",
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


@dataclass(frozen=True)
class Expanded:
    """A BackupConfiguration spec expanded from a template, and the placeholders left."""

    spec: dict[str, Any]
    # Placeholders with neither value nor default, by name: the sessions they sit in
    # ("" for the backends).
    missing: dict[str, list[str]]


def _home_namespaces(node: Any, home: str) -> None:
    """Fill empty namespaces of object references with the blueprint's own namespace.

    In a blueprint an empty namespace means the blueprint's (as the read side reads
    it); in the configuration, written elsewhere, it would mean the database's.
    """
    if isinstance(node, dict):
        for key in ("storageRef", "retentionPolicy", "encryptionSecret"):
            ref = node.get(key)
            if isinstance(ref, dict) and ref.get("name") and not ref.get("namespace"):
                ref["namespace"] = home
        for item in node.values():
            _home_namespaces(item, home)
    elif isinstance(node, list):
        for item in node:
            _home_namespaces(item, home)


def expand_configuration(
    blueprint: Mapping[str, Any],
    *,
    target: Target,
    values: Mapping[str, str],
    schedules: Mapping[str, str | None],
) -> Expanded:
    """The BackupConfiguration spec for ``target``: its backends and the sessions named
    in ``schedules`` (template order), each with ``${schedule}`` set to its entry there
    (None: the template's default).

    ``values`` holds everything else; the target placeholders are added from ``target``.
    A retentionPolicy reference left without a name is dropped from its backend, so
    KubeStash uses a default one allowed for the namespace.
    """
    template = _template(blueprint)
    home = objects.namespace_of(blueprint) or target.namespace
    given = {
        **values,
        TARGET_NAME: target.name,
        TARGET_NAMESPACE: target.namespace,
        TARGET_KIND: target.kind,
    }
    missing: dict[str, list[str]] = {}

    backends, lacking = expand(objects.list_at(template, "backends"), given)
    for backend in backends:
        ref = backend.get("retentionPolicy") if isinstance(backend, dict) else None
        if isinstance(ref, dict) and PLACEHOLDER.search(str(ref.get("name") or "")):
            del backend["retentionPolicy"]
            lacking -= {RETENTION, RETENTION_NAMESPACE}
    for placeholder in lacking:
        missing.setdefault(placeholder, []).append("")

    sessions = []
    for raw in objects.mappings_at(template, "sessions"):
        name = objects.str_at(raw, "name")
        if name is None or name not in schedules:
            continue
        schedule = schedules[name]
        session_values = given if schedule is None else {**given, SCHEDULE: schedule}
        session, lacking = expand(raw, session_values)
        for placeholder in lacking:
            missing.setdefault(placeholder, []).append(name)
        sessions.append(session)

    spec: dict[str, Any] = {"target": target.as_ref()}
    if backends:
        spec["backends"] = backends
    spec["sessions"] = sessions
    _home_namespaces(spec, home)
    return Expanded(spec=spec, missing=dict(sorted(missing.items())))
