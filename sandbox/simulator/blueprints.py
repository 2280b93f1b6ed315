"""KubeStash's auto-backup: a BackupConfiguration for each database that asks for one.

What it plays: a database annotated ``blueprint.kubestash.com/name`` and
``blueprint.kubestash.com/namespace`` gets the BackupConfiguration ``appbinding-<db>``
from that BackupBlueprint's ``backupConfigurationTemplate``, every ``${var}`` filled from
the database's ``variables.kubestash.com/<var>`` annotations, when the blueprint's
``usagePolicy`` allows the database's namespace and its ``subjects`` (if any) include the
database's kind. ``blueprint.kubestash.com/session-names`` picks some of the sessions.

Only blueprints that a database's annotations name are ever expanded: a blueprint the
gateway writes for a BackupPolicy (and expands itself, as the caller) is left alone.

Guesses where the reference is silent: the configuration is generated once and never
re-synced from the blueprint; a missing blueprint is left for the gateway to report;
``${var:=default}`` takes the default without an annotation (envsubst's syntax, which
KubeStash's Function arguments use); a ``${var}`` with no annotation stays as it is.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from apis.objects import mapping_at, mappings_at, name_of, str_at, text_at
from apis.resources import BACKUP_BLUEPRINTS, BACKUP_CONFIGURATIONS, KUBEDB
from kube.client import JSONDict
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import ns_of

BLUEPRINT_NAME = "blueprint.kubestash.com/name"
BLUEPRINT_NAMESPACE = "blueprint.kubestash.com/namespace"
BLUEPRINT_SESSIONS = "blueprint.kubestash.com/session-names"
VARIABLE_PREFIX = "variables.kubestash.com/"

# Whatever stands between ``${`` and ``}`` is the variable's name, as KubeStash's
# substitution reads it (apis.objects.placeholders lists only well-formed names).
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class Blueprints:
    """Follows databases with blueprint annotations (a :class:`DatabaseFollower`)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def on_database(self, db: JSONDict) -> None:
        annotations = {str(k): str(v) for k, v in mapping_at(db, "metadata", "annotations").items()}
        bp_key = (annotations.get(BLUEPRINT_NAMESPACE), annotations.get(BLUEPRINT_NAME))
        if not bp_key[0] or not bp_key[1]:
            return
        bp = self.cluster.view(BACKUP_BLUEPRINTS, (bp_key[0], bp_key[1]))
        if bp is None:
            return  # the gateway reports the missing blueprint; KubeStash does nothing
        kind, ns, name = str(db.get("kind")), ns_of(db), name_of(db)
        subjects = mappings_at(bp, "spec", "subjects")
        if subjects and not any(str_at(s, "kind") == kind for s in subjects):
            return
        if not self.cluster.allowed(bp, ns):
            return
        variables = {
            k[len(VARIABLE_PREFIX) :]: v
            for k, v in annotations.items()
            if k.startswith(VARIABLE_PREFIX)
        }
        template = _substitute(
            copy.deepcopy(dict(mapping_at(bp, "spec", "backupConfigurationTemplate"))), variables
        )
        target_ns = str_at(template, "namespace") or ns
        bc_name = f"appbinding-{name}"
        if self.cluster.view(BACKUP_CONFIGURATIONS, (target_ns, bc_name)) is not None:
            return  # generated once, never re-synced from the blueprint
        sessions = mappings_at(template, "sessions")
        chosen = {
            s.strip() for s in annotations.get(BLUEPRINT_SESSIONS, "").split(",") if s.strip()
        }
        if chosen:
            sessions = [s for s in sessions if text_at(s, "name") in chosen]
        body: JSONDict = {
            "metadata": {
                "name": bc_name,
                "namespace": target_ns,
                "labels": {
                    "kubestash.com/invoker-name": name_of(bp),
                    "kubestash.com/invoker-namespace": ns_of(bp),
                },
            },
            "spec": {
                "target": {"apiGroup": KUBEDB, "kind": kind, "namespace": ns, "name": name},
                "backends": mappings_at(template, "backends"),
                "sessions": sessions,
            },
        }
        await self.cluster.create(BACKUP_CONFIGURATIONS, body)


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ``${name}`` placeholders in every string with the variable's value, and
    ``${name:=default}`` with the value or else the default."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: _fill(m, variables), value)
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def _fill(match: re.Match[str], variables: dict[str, str]) -> str:
    name, marker, default = match.group(1).partition(":=")
    if name in variables:
        return variables[name]
    return default if marker else match.group(0)
