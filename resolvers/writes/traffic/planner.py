"""pauseDatabaseTraffic and resumeDatabaseTraffic: the changes, as the caller.

Pausing (``restore-design.md``, "Pausing traffic"): the database gets the traffic record
(annotations, with the Service's original selector as JSON), its primary Service (named
like the database) a selector no pod matches, and a maintenance Service ``<db>-maintenance``
the original selector and ports, so the database shell, checks and backup and restore
jobs still reach it. Resuming puts the selector back exactly as recorded, removes the
record and deletes the maintenance Service (last: deletes cannot be undone).

Every part that is already as asked is planned NONE, so pausing or resuming twice
changes nothing, and a half-done pause (a gateway that died mid-way, a Service put back
by someone else: DRIFTED) is completed rather than refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apis import objects
from apis.resources import SERVICES
from resolvers.reads import traffic as record
from resolvers.writes.backup.common import Database, whole_body
from resolvers.writes.plan import Change, JSONDict, Plan, Store


def primary_service(store: Store, cluster: str, db: Database) -> JSONDict | None:
    return store.get(cluster, SERVICES, db.namespace, db.name)


def _annotated(db: Database, notes: Mapping[str, str | None]) -> JSONDict:
    """The database as an apply body with the traffic annotations set as given (None:
    left out, so the gateway's field manager gives it up and the API server drops it)."""
    spec = dict(objects.mapping_at(db.raw, "spec"))
    body = whole_body(db.raw, spec=spec)
    body["apiVersion"] = body["apiVersion"] or db.resource.api_version
    body["kind"] = body["kind"] or db.kind
    kept = {k: v for k, v in notes.items() if v is not None}
    if kept:
        body["metadata"]["annotations"] = kept
    return body


def _service_body(service: Mapping[str, Any], selector: Mapping[str, str]) -> JSONDict:
    metadata: JSONDict = {
        "name": objects.name_of(service),
        "namespace": objects.namespace_of(service),
    }
    version = objects.str_at(service, "metadata", "resourceVersion")
    if version:
        metadata["resourceVersion"] = version
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"selector": dict(selector)},
    }


def _maintenance_body(
    db: Database, service: Mapping[str, Any], selector: Mapping[str, str]
) -> JSONDict:
    ports = [
        {k: p[k] for k in ("name", "port", "targetPort", "protocol", "appProtocol") if k in p}
        for p in objects.mappings_at(service, "spec", "ports")
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": record.maintenance_name(db.name),
            "namespace": db.namespace,
            "labels": {
                record.MANAGED_BY: record.GATEWAY,
                "stashql.io/maintenance-for": db.name[:63],
            },
        },
        "spec": {"type": "ClusterIP", "selector": dict(selector), "ports": ports},
    }


def _now(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pause_changes(
    db: Database,
    *,
    store: Store,
    cluster: str,
    plan: Plan,
    by: str,
    reason: str | None,
    workflow: str | None,
    now: datetime,
) -> list[Change]:
    """The changes pausing the database's traffic (NONE where already so); [] if refused."""
    service = primary_service(store, cluster, db)
    if service is None:
        plan.refuse(
            "DATABASE_NOT_READY",
            f"{db.label} has no Service {db.namespace}/{db.name} yet, so there is no "
            "traffic to pause; wait until KubeDB has provisioned it.",
            field=("database",),
        )
        return []
    current = record.traffic_record(db.raw)
    live = record.service_selector(service)
    original = (current.selector if current else None) or (
        None if record.is_paused_selector(live) else live
    )
    if not original:
        plan.refuse(
            "DATABASE_NOT_READY",
            f"Service {db.namespace}/{db.name} selects no pods and no original selector is "
            "recorded, so traffic cannot be paused and later restored.",
            field=("database",),
        )
        return []
    changes: list[Change] = []
    if current is None:
        notes = {
            record.PAUSED_AT: _now(now),
            record.PAUSED_BY: by,
            record.REASON: reason,
            record.WORKFLOW: workflow,
            record.SELECTOR: json.dumps(original, sort_keys=True),
            record.MAINTENANCE: record.maintenance_name(db.name),
        }
        changes.append(
            Change(
                "PATCH",
                cluster,
                db.resource,
                db.namespace,
                db.name,
                f"Record on {db.label} that its traffic is paused"
                + (f" ({reason})" if reason else "")
                + ", with the Service's selector to put back.",
                _annotated(db, notes),
            )
        )
    else:
        changes.append(
            Change(
                "NONE",
                cluster,
                db.resource,
                db.namespace,
                db.name,
                f"{db.label} is already recorded as paused.",
            )
        )
    what = f"Service {db.namespace}/{db.name}"
    if record.is_paused_selector(live):
        changes.append(
            Change(
                "NONE", cluster, SERVICES, db.namespace, db.name, f"{what} already selects no pod."
            )
        )
    else:
        changes.append(
            Change(
                "PATCH",
                cluster,
                SERVICES,
                db.namespace,
                db.name,
                f"Point {what} at no pod, so applications cannot connect.",
                _service_body(service, record.PAUSED_SELECTOR),
            )
        )
    name = record.maintenance_name(db.name)
    if store.get(cluster, SERVICES, db.namespace, name) is None:
        changes.append(
            Change(
                "CREATE",
                cluster,
                SERVICES,
                db.namespace,
                name,
                f"Create Service {db.namespace}/{name}, still reaching the database for the "
                "database shell, checks, and backup and restore jobs.",
                _maintenance_body(db, service, original),
            )
        )
    else:
        changes.append(
            Change(
                "NONE",
                cluster,
                SERVICES,
                db.namespace,
                name,
                f"Maintenance Service {db.namespace}/{name} already exists.",
            )
        )
    return changes


def resume_changes(db: Database, *, store: Store, cluster: str, plan: Plan) -> list[Change]:
    """The changes letting applications connect again (NONE where already so).

    The maintenance Service's DELETE comes last in the list: callers append it after
    any other write (the engine's rule that deletes come last)."""
    current = record.traffic_record(db.raw)
    service = primary_service(store, cluster, db)
    changes: list[Change] = []
    what = f"Service {db.namespace}/{db.name}"
    if (
        current is not None
        and current.selector is None
        and service is not None
        and record.is_paused_selector(record.service_selector(service))
    ):
        plan.refuse(
            "INVALID_INPUT",
            f"The selector {what} had before the pause is not recorded on {db.label}; "
            "set the Service's spec.selector back by hand.",
            field=("database",),
        )
        return []
    if service is not None and current is not None and current.selector is not None:
        if record.service_selector(service) == current.selector:
            changes.append(
                Change(
                    "NONE",
                    cluster,
                    SERVICES,
                    db.namespace,
                    db.name,
                    f"{what} already selects the database's pods.",
                )
            )
        else:
            changes.append(
                Change(
                    "PATCH",
                    cluster,
                    SERVICES,
                    db.namespace,
                    db.name,
                    f"Point {what} at the database's pods again, so applications can connect.",
                    _service_body(service, current.selector),
                )
            )
    if current is not None:
        changes.append(
            Change(
                "PATCH",
                cluster,
                db.resource,
                db.namespace,
                db.name,
                f"Remove the traffic-paused record from {db.label}.",
                _annotated(db, {}),
            )
        )
    name = record.maintenance_name(db.name)
    maintenance = store.get(cluster, SERVICES, db.namespace, name)
    if (
        maintenance is not None
        and objects.labels_of(maintenance).get(record.MANAGED_BY) == record.GATEWAY
    ):
        changes.append(
            Change(
                "DELETE",
                cluster,
                SERVICES,
                db.namespace,
                name,
                f"Delete the maintenance Service {db.namespace}/{name}.",
                dict(maintenance),
            )
        )
    if not changes:
        changes.append(
            Change(
                "NONE",
                cluster,
                db.resource,
                db.namespace,
                db.name,
                f"Applications can already connect to {db.label}.",
            )
        )
    return changes
