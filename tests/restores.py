"""Helpers of the restore tests: GraphQL documents of the restore side, seeding of a
restorable database, and the objects a restore could touch, as admin lists them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kube.manifests import Discovery, apply_manifest
from sandbox import objects as o
from sandbox.controlplane import Sandbox
from tests.helpers import Gateway, eventually, kube_http, seed

Obj = dict[str, Any]

OWN = "stashql-system"
COMMON = (
    "plan { action cluster kind namespace name summary } warnings { code message }"
    " userErrors { code message field }"
)
WORKFLOW = (
    "id phase resume pauseTraffic startedBy steps { kind state message }"
    " currentStep { kind state message } checks { hookTemplate { namespace name } state message }"
)
DATABASE = (
    f"id cluster namespace name phase traffic {{ state pausedBy reason maintenanceService }}"
    f" restoreWorkflow {{ {WORKFLOW} }}"
)
PAYLOADS = {
    "restoreDatabase": f"restore {{ {WORKFLOW} }} restoreSession {{ name }}",
    "restoreToNewDatabase": "database { id name namespace cluster } restoreSession { name }",
    "createDatabase": "database { id name namespace cluster } restoreSession { name }",
    "pauseDatabaseTraffic": "database { traffic { state pausedBy reason } }",
    "resumeDatabaseTraffic": f"database {{ traffic {{ state }} }} restore {{ {WORKFLOW} }}",
}

# What a restore may create or change, per kind, as namespaced collections.
CORE = "/apis/core.kubestash.com/v1alpha1/namespaces/{ns}/"
STORAGE = "/apis/storage.kubestash.com/v1alpha1/namespaces/{ns}/"
COLLECTIONS = {
    "Postgres": "/apis/kubedb.com/v1/namespaces/{ns}/postgreses",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "RestoreSession": CORE + "restoresessions",
    "BackupConfiguration": CORE + "backupconfigurations",
    "Repository": STORAGE + "repositories",
    "BackupStorage": STORAGE + "backupstorages",
}


async def mutate(
    gateway: Gateway, mutation: str, inp: Obj, *, user: str = "admin"
) -> dict[str, Any]:
    """The mutation's payload; a GraphQL error (not a userError) fails the test."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    doc = (
        f"mutation($i: {input_type}!) {{ {mutation}(input: $i) "
        f"{{ {COMMON} {PAYLOADS[mutation]} }} }}"
    )
    body = await gateway.query(doc, {"i": inp}, user=user)
    payload: dict[str, Any] = body["data"][mutation]
    return payload


async def database(gateway: Gateway, ref: Obj, *, user: str = "admin") -> dict[str, Any] | None:
    body = await gateway.query(
        f"query($r: ObjectRefInput!) {{ database(ref: $r) {{ {DATABASE} }} }}",
        {"r": ref},
        user=user,
    )
    found: dict[str, Any] | None = body["data"]["database"]
    return found


async def until_db(gateway: Gateway, ref: Obj, check: Any, *, timeout: float = 60) -> Obj:
    """The database as the gateway shows it, once ``check(db)`` holds."""

    async def probe() -> Obj | None:
        db = await database(gateway, ref)
        return db if db is not None and check(db) else None

    found: Obj = await eventually(probe, timeout=timeout, interval=0.3)
    return found


def workflow_phase(phase: str) -> Any:
    def check(db: Obj) -> bool:
        wf = db.get("restoreWorkflow")
        return wf is not None and wf["phase"] == phase

    return check


def states(workflow: Obj) -> dict[str, str]:
    return {s["kind"]: s["state"] for s in workflow["steps"]}


async def create(sandbox: Sandbox, *objects: Obj, cluster: int = 0) -> None:
    """Apply objects as admin, spec only: the simulator writes their status."""
    client = sandbox.client(cluster)
    discovery = Discovery(client)
    try:
        for obj in objects:
            body = copy.deepcopy(obj)
            body.pop("status", None)
            await apply_manifest(client, discovery, body, field_manager="stashql-tests")
    finally:
        await client.close()


async def restorable(
    sandbox: Sandbox,
    ns: str,
    name: str,
    *,
    cluster: int = 0,
    backup: bool = False,
    annotations: dict[str, str] | None = None,
    snapshot_phase: str = "Succeeded",
) -> tuple[Obj, Obj]:
    """A database (the simulator makes it Ready and gives it its Service), and a
    repository holding one snapshot of it (status as KubeStash writes it)."""
    db = o.database("Postgres", name, ns, phase=None, annotations=annotations)
    objects = [db]
    if backup:
        objects.append(
            o.backup_configuration(
                f"{name}-backup",
                db,
                storage=(ns, "s3"),
                retention=(ns, "keep"),
                schedule="0 0 1 1 *",
            )
        )
    await create(sandbox, *objects, cluster=cluster)
    repo = o.repository(db, f"{name}-repo", storage=(ns, "s3"), snapshots=1)
    snap = o.snapshot(
        f"{name}-snap",
        repo,
        session="seeded-run",
        taken=datetime.now(UTC) - timedelta(minutes=10),
        size="16 MiB",
        phase=snapshot_phase,
    )
    await seed(sandbox, [repo, snap], cluster=cluster)
    return db, snap


async def listing(sandbox: Sandbox, *, cluster: int, namespaces: list[str]) -> dict[str, str]:
    """Every object a restore may touch in ``namespaces`` and the workflow records, as
    admin lists them: ``"Kind ns/name"`` to what a change would alter -- its
    resourceVersion, or where it has a status the simulator keeps writing, its generation
    (spec) with its labels and annotations (where the traffic record lives)."""
    found: dict[str, str] = {}
    async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
        paths = [(k, p.format(ns=ns)) for ns in namespaces for k, p in COLLECTIONS.items()]
        paths.append(("ConfigMap", f"/api/v1/namespaces/{OWN}/configmaps"))
        for kind, path in paths:
            r = await admin.get(path)
            assert r.status_code == 200, r.text
            for item in r.json()["items"]:
                meta = item["metadata"]
                if "generation" in meta:
                    marks = {k: meta.get(k) for k in ("labels", "annotations")}
                    mark = f"{meta['generation']} {json.dumps(marks, sort_keys=True)}"
                else:
                    mark = meta["resourceVersion"]
                found[f"{kind} {meta.get('namespace')}/{meta['name']}"] = mark
    return found


async def admin_get(sandbox: Sandbox, path: str, *, cluster: int = 0) -> Obj | None:
    async with kube_http(sandbox, user="admin", cluster=cluster) as admin:
        r = await admin.get(path)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    found: Obj = r.json()
    return found
