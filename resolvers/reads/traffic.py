"""Application traffic to a database: the record on the database and what its Service does.

pauseDatabaseTraffic (and a restore that pauses traffic) writes, as the caller,
annotations on the database (``restore-design.md``, "Traffic record") and points the
database's primary Service at a selector that selects no pod. ``Database.traffic`` is
read from both: ACCEPTING without the record; PAUSED with the record and the Service
still selecting nothing; DRIFTED with the record while the Service selects the pods
again (someone changed it back), so the user knows to pause or resume.

The write side (``resolvers/writes/traffic``) uses the same keys and readers, so the
two can never disagree on what "paused" means.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apis import objects
from apis.resources import SERVICES
from core.times import parse_time
from watchers.cache import Cache

PAUSED_AT = "stashql.io/traffic-paused-at"
PAUSED_BY = "stashql.io/traffic-paused-by"
REASON = "stashql.io/traffic-reason"
WORKFLOW = "stashql.io/traffic-workflow"
SELECTOR = "stashql.io/traffic-selector"
MAINTENANCE = "stashql.io/maintenance-service"
ANNOTATIONS = (PAUSED_AT, PAUSED_BY, REASON, WORKFLOW, SELECTOR, MAINTENANCE)

# The selector a paused Service gets: no pod carries this label, so it selects none.
PAUSED_SELECTOR: dict[str, str] = {"stashql.io/traffic": "paused"}
MANAGED_BY = "app.kubernetes.io/managed-by"
GATEWAY = "stashql"


def maintenance_name(database: str) -> str:
    return f"{database}-maintenance"


@dataclass(frozen=True)
class TrafficRecord:
    """The annotations a pause left on the database."""

    paused_at: datetime | None
    paused_by: str | None
    reason: str | None
    workflow: str | None
    selector: dict[str, str] | None
    maintenance_service: str | None


def traffic_record(database: Mapping[str, Any]) -> TrafficRecord | None:
    """The pause recorded on the database, or None if traffic was never paused (or resumed)."""
    notes = objects.annotations_of(database)
    if PAUSED_AT not in notes and SELECTOR not in notes:
        return None
    return TrafficRecord(
        paused_at=parse_time(notes.get(PAUSED_AT)),
        paused_by=notes.get(PAUSED_BY) or None,
        reason=notes.get(REASON) or None,
        workflow=notes.get(WORKFLOW) or None,
        selector=parse_selector(notes.get(SELECTOR)),
        maintenance_service=notes.get(MAINTENANCE) or None,
    )


def parse_selector(text: str | None) -> dict[str, str] | None:
    """The saved original selector; None when absent or not a map of strings."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return None
    return dict(value)


def service_selector(service: Mapping[str, Any] | None) -> dict[str, str]:
    if service is None:
        return {}
    return {str(k): str(v) for k, v in objects.mapping_at(service, "spec", "selector").items()}


def is_paused_selector(selector: Mapping[str, str]) -> bool:
    return dict(selector) == PAUSED_SELECTOR


def traffic_state(database: Mapping[str, Any], service: Mapping[str, Any] | None) -> str:
    """ACCEPTING, PAUSED or DRIFTED (``TrafficState``)."""
    if traffic_record(database) is None:
        return "ACCEPTING"
    # A record whose Service is gone accepts no traffic either: nothing drifted back.
    if service is None or is_paused_selector(service_selector(service)):
        return "PAUSED"
    return "DRIFTED"


@dataclass(frozen=True)
class TrafficView:
    """``DatabaseTraffic`` before the GraphQL type: its state and the record's fields."""

    state: str
    paused_at: datetime | None = None
    paused_by: str | None = None
    reason: str | None = None
    workflow: str | None = None
    maintenance_service: str | None = None


def traffic_view(database: Mapping[str, Any], service: Mapping[str, Any] | None) -> TrafficView:
    record = traffic_record(database)
    if record is None:
        return TrafficView(state="ACCEPTING")
    return TrafficView(
        state=traffic_state(database, service),
        paused_at=record.paused_at,
        paused_by=record.paused_by,
        reason=record.reason,
        workflow=record.workflow,
        maintenance_service=record.maintenance_service,
    )


def database_traffic(cache: Cache, cluster: str, database: Mapping[str, Any]) -> TrafficView:
    """``Database.traffic`` of a database the viewer already sees. The Service is read
    from the gateway's cache whatever the viewer's access to Services: only the state
    derived from it is shown, never the Service itself."""
    handle = cache.clusters.get(cluster)
    informer = handle.informer(SERVICES.group, SERVICES.kind) if handle else None
    service = None
    if informer is not None:
        service = informer.get(objects.namespace_of(database), objects.name_of(database))
    return traffic_view(database, service)
