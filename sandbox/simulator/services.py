"""KubeDB's Services for each database, and how they meet the gateway's traffic pause.

What it plays: every database that is not halted gets the Services KubeDB creates:

* ``<db>`` -- the primary Service, which applications connect to;
* ``<db>-pods`` -- the governing, headless Service of the database's StatefulSet;
* ``<db>-standby`` -- for Postgres, MySQL and MariaDB with ``spec.replicas`` > 1, the
  read replicas.

Each carries KubeDB's labels (``app.kubernetes.io/instance: <db>``,
``app.kubernetes.io/managed-by: kubedb.com``, ``app.kubernetes.io/name:
<plural>.kubedb.com``), selects pods by the same labels (plus ``kubedb.com/role:
primary``, or ``standby``, for Postgres, MySQL and MariaDB with more than one replica),
exposes the kind's port and is owned by the database (the garbage collector removes it
with the database). A halted database has its Services deleted, as KubeDB keeps only the
PVCs. The sandbox has no
kubelet, so the selectors select nothing, but they are real selectors on real objects.

The gateway pauses traffic by setting the primary Service's selector to
``{stashql.io/traffic: paused}`` and recording ``stashql.io/traffic-paused-at`` on the
database (``restore-design.md``). The real KubeDB would reconcile the selector back --
which is what the gateway reports as DRIFTED -- but the simulator leaves a paused
selector alone, so tests see a stable pause; the annotation
``sim.stashql.io/revert-traffic: "true"`` on the database makes it reconcile the selector
back as KubeDB would, for tests of DRIFTED. Services it did not make (no ``managed-by:
kubedb.com`` label, such as the gateway's ``<db>-maintenance``) are never touched.

Guesses where the reference is silent: port names (``primary``, ``standby``, ``db``);
kinds missing from :data:`PORTS` get no Services; only selector, ports and labels are
reconciled back, other edits are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apis.objects import annotations_of, dig, int_or, mapping_at, name_of
from apis.resources import SERVICES, ResourceType
from kube.client import JSONDict
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import ns_of, owner

PAUSED_SELECTOR = {"stashql.io/traffic": "paused"}
PAUSED_AT = "stashql.io/traffic-paused-at"
REVERT_TRAFFIC = "sim.stashql.io/revert-traffic"
MANAGED_BY = "app.kubernetes.io/managed-by"
KUBEDB_MANAGER = "kubedb.com"
ROLE = "kubedb.com/role"

# The port each kind's database listens on (KubeDB's defaults).
PORTS = {
    "Postgres": 5432,
    "MySQL": 3306,
    "MariaDB": 3306,
    "PerconaXtraDB": 3306,
    "MongoDB": 27017,
    "Redis": 6379,
    "RedisSentinel": 26379,
    "Elasticsearch": 9200,
    "Kafka": 9092,
    "Memcached": 11211,
    "PgBouncer": 5432,
    "ProxySQL": 6033,
    "MSSQLServer": 1433,
}
# Kinds with a primary and read replicas: their primary Service selects by role.
WITH_STANDBY = frozenset({"Postgres", "MySQL", "MariaDB"})


def database_labels(res: ResourceType, db: Mapping[str, Any]) -> dict[str, str]:
    """The labels KubeDB puts on a database's pods and Services."""
    return {
        "app.kubernetes.io/instance": name_of(db),
        MANAGED_BY: KUBEDB_MANAGER,
        "app.kubernetes.io/name": f"{res.plural}.{res.group}",
    }


def desired_services(res: ResourceType, db: Mapping[str, Any]) -> list[JSONDict]:
    """The Services KubeDB keeps for ``db`` (none for kinds without a known port)."""
    kind = str(db.get("kind") or res.kind)
    port = PORTS.get(kind)
    if port is None:
        return []
    labels = database_labels(res, db)
    name, ns = name_of(db), ns_of(db)
    replicated = kind in WITH_STANDBY and int_or(db, "spec", "replicas", default=1) > 1

    def service(
        suffix: str, *, port_name: str, selector: dict[str, str], headless: bool = False
    ) -> JSONDict:
        spec: JSONDict = {
            "selector": selector,
            "ports": [{"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}],
        }
        if headless:
            spec.update({"clusterIP": "None", "publishNotReadyAddresses": True})
        else:
            spec["type"] = "ClusterIP"
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"{name}{suffix}",
                "namespace": ns,
                "labels": dict(labels),
                "ownerReferences": [owner(db)],
            },
            "spec": spec,
        }

    primary = {**labels, ROLE: "primary"} if replicated else dict(labels)
    out = [
        service("", port_name="primary", selector=primary),
        service("-pods", port_name="db", selector=dict(labels), headless=True),
    ]
    if replicated:
        out.append(service("-standby", port_name="standby", selector={**labels, ROLE: "standby"}))
    return out


def traffic_paused(db: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    """Whether the gateway paused traffic to ``db`` through its primary ``service``."""
    return dict(mapping_at(service, "spec", "selector")) == PAUSED_SELECTOR or bool(
        annotations_of(db).get(PAUSED_AT)
    )


class Services:
    """A follower of the database controller: the Services of each database."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def on_database(self, db: JSONDict) -> None:
        res = self.cluster.db_kinds.get(str(db.get("kind")))
        if res is None or self.cluster.informer(SERVICES) is None:
            return
        if dig(db, "metadata", "deletionTimestamp"):
            return  # the garbage collector follows the ownerReferences
        wanted = desired_services(res, db)
        ns = ns_of(db)
        if dig(db, "spec", "halted") is True:
            for svc in wanted:
                existing = self.cluster.view(SERVICES, (ns, name_of(svc)))
                if existing is not None and _ours(existing):
                    await self.cluster.delete(SERVICES, (ns, name_of(svc)))
            return
        for svc in wanted:
            existing = self.cluster.view(SERVICES, (ns, name_of(svc)))
            primary = name_of(svc) == name_of(db)
            if existing is None:
                if primary and annotations_of(db).get(PAUSED_AT):
                    continue  # traffic is paused: opening a Service now would undo it
                await self.cluster.create(SERVICES, svc)
                continue
            if not _ours(existing):
                continue
            await self._reconcile(db, svc, existing, primary=primary)

    async def _reconcile(
        self, db: JSONDict, svc: JSONDict, existing: JSONDict, *, primary: bool
    ) -> None:
        patch: JSONDict = {}
        labels = dict(mapping_at(existing, "metadata", "labels"))
        wanted_labels = dict(mapping_at(svc, "metadata", "labels"))
        if any(labels.get(k) != v for k, v in wanted_labels.items()):
            patch["metadata"] = {"labels": wanted_labels}
        spec: JSONDict = {}
        current = dict(mapping_at(existing, "spec", "selector"))
        selector = dict(mapping_at(svc, "spec", "selector"))
        revert = annotations_of(db).get(REVERT_TRAFFIC) == "true"
        if current != selector and (not primary or not traffic_paused(db, existing) or revert):
            # A merge patch merges maps: keys not wanted are removed with null.
            spec["selector"] = {**{k: None for k in current if k not in selector}, **selector}
        ports = [
            (p.get("name"), p.get("port"), p.get("protocol", "TCP"))
            for p in dig(existing, "spec", "ports") or []
        ]
        want_ports = [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]]
        if ports != want_ports:
            spec["ports"] = svc["spec"]["ports"]
        if spec:
            patch["spec"] = spec
        if patch:
            await self.cluster.patch(SERVICES, (ns_of(db), name_of(svc)), body=patch)


def _ours(service: Mapping[str, Any]) -> bool:
    return bool(dig(service, "metadata", "labels", MANAGED_BY) == KUBEDB_MANAGER)
