"""KubeStash's pause of a database's backups while a RestoreSession restores it.

What it plays (the reference leaves open which backups and when they resume; these are
our choices): when a restore starts, every BackupConfiguration targeting the database is
paused for it and listed in the RestoreSession's ``status.pausedBackups``:

* one that is running is paused by us (``spec.paused: true``, and the annotation
  ``sim.stashql.io/paused-by-restore: <namespace>/<restore>`` saying so), and resumed by
  us when the restore ends (succeeded, failed or deleted while running);
* one that is already paused -- by its owner, or by the gateway's restore workflow,
  which pauses backups itself just before it creates the RestoreSession and resumes them
  itself when its workflow says so -- is only listed: whoever paused it resumes it.

The decision is made on a fresh GET, and our pause is a patch guarded by the
resourceVersion read, so a pause someone makes at the same moment is never taken for
ours (and never lifted by us). ``status.pausedBackups`` is cleared when the restore ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apis.objects import annotations_of, dig, name_of, str_at, text_at
from apis.resources import BACKUP_CONFIGURATIONS, CORE
from kube.client import JSONDict
from sandbox.simulator.cluster import Cluster
from sandbox.simulator.core import AppKey, ns_of

PAUSED_BY = "sim.stashql.io/paused-by-restore"
ATTEMPTS = 3


def _ref(key: tuple[str, str]) -> JSONDict:
    return {
        "apiGroup": CORE,
        "kind": BACKUP_CONFIGURATIONS.kind,
        "namespace": key[0],
        "name": key[1],
    }


def paused_by(bc: Mapping[str, Any]) -> str:
    """``<namespace>/<restore>`` of the restore that paused ``bc``; "" if none of ours."""
    return annotations_of(bc).get(PAUSED_BY, "")


async def pause_backups(
    cluster: Cluster, target: AppKey, *, restore: tuple[str, str]
) -> list[JSONDict]:
    """Pause the configurations of ``target`` for ``restore``: the pausedBackups list."""
    owner = f"{restore[0]}/{restore[1]}"
    listed: list[JSONDict] = []
    for bc in cluster.indexed(BACKUP_CONFIGURATIONS, target):
        key = (ns_of(bc), name_of(bc))
        for _ in range(ATTEMPTS):
            current = await cluster.fetch(BACKUP_CONFIGURATIONS, key)
            if current is None:
                break
            if dig(current, "spec", "paused") is True:
                listed.append(_ref(key))  # someone else's pause: listed, never lifted
                break
            body: JSONDict = {
                "metadata": {
                    "resourceVersion": text_at(current, "metadata", "resourceVersion"),
                    "annotations": {PAUSED_BY: owner},
                },
                "spec": {"paused": True},
            }
            if await cluster.patch(BACKUP_CONFIGURATIONS, key, body=body, conflict_ok=True):
                listed.append(_ref(key))
                break
    return listed


async def resume_backups(
    cluster: Cluster, refs: Iterable[Mapping[str, Any]], *, restore: tuple[str, str]
) -> bool:
    """Lift the pauses ``restore`` made (only those); False if one must be tried again."""
    owner = f"{restore[0]}/{restore[1]}"
    ok = True
    for ref in refs:
        if str_at(ref, "kind") != BACKUP_CONFIGURATIONS.kind:
            continue
        key = (text_at(ref, "namespace") or restore[0], text_at(ref, "name"))
        current = await cluster.fetch(BACKUP_CONFIGURATIONS, key)
        if current is None or paused_by(current) != owner:
            continue  # gone, or not our pause
        body: JSONDict = {
            "metadata": {
                "resourceVersion": text_at(current, "metadata", "resourceVersion"),
                "annotations": {PAUSED_BY: None},
            },
            "spec": {"paused": False},
        }
        done = await cluster.patch(BACKUP_CONFIGURATIONS, key, body=body, conflict_ok=True)
        ok = ok and done
    return ok
