"""Idempotency records: kept in Kubernetes, so that they hold on every replica and across
restarts.

One ConfigMap per (caller, key), in the gateway's own namespace on the cluster of the
plan's first change, named ``idem-<sha256(username NUL key)[:40]>``. It is made with a
plain POST as the gateway, so when two replicas race on one key etcd decides: the loser
gets 409, reads the winner's record and compares. The record holds

- ``caller``: sha256 of the username (the name says whose key it is without a lookup),
- ``input``: the digest of the mutation name and its canonical input (``input_digest``),
- ``state``: ``pending`` while the first call runs, ``done`` once it succeeded,
- ``result``: the refs of the objects the call made or changed, and its warnings.

Same key and input, ``done`` -> the first result is answered again (its objects read
back) and nothing changes; other input -> IDEMPOTENCY_KEY_REUSED; ``pending`` ->
CONFLICT (the first call is still running). A record older than its lifetime (24 h by
default) is ignored and replaced; so is a ``pending`` one older than the pending
lifetime, which only a gateway that died mid-call leaves behind. A refused call removes
its record, so that its key may be used again. Ages are measured from the record's
``creationTimestamp``, which the API server sets, so replicas need not agree on a clock.

The input digest is a SHA-256 of the whole input; it never stores the input itself
(which may hold credentials).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from apis.resources import CONFIG_MAPS, ResourceType
from core.times import parse_time
from kube.client import ApiError, KubeError, Unreachable
from resolvers.writes.plan import Action, Change, UserError, Warning, WarningCode
from resolvers.writes.wire import Wire

log = logging.getLogger("stashql.writes")

# Input fields that say how to run a mutation, not what it does.
NOT_INPUT = frozenset({"dryRun", "idempotencyKey"})
LABELS = {"app.kubernetes.io/managed-by": "stashql", "stashql.io/record": "idempotency"}


def input_digest(mutation: str, value: Mapping[str, Any]) -> str:
    """SHA-256 of the mutation name and its input as canonical JSON (sorted keys, no
    whitespace), ``dryRun`` and ``idempotencyKey`` left out."""
    canonical = json.dumps(
        {"mutation": mutation, "input": {k: v for k, v in value.items() if k not in NOT_INPUT}},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_name(username: str, key: str) -> str:
    digest = hashlib.sha256(f"{username}\0{key}".encode()).hexdigest()
    return f"idem-{digest[:40]}"


def _caller_hash(username: str) -> str:
    return hashlib.sha256(username.encode()).hexdigest()


@dataclass(frozen=True)
class Ref:
    """One object a recorded call made or changed (no body: bodies may hold secrets)."""

    action: Action
    cluster: str
    resource: ResourceType
    namespace: str | None
    name: str
    summary: str

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        return {
            "action": self.action,
            "cluster": self.cluster,
            "group": r.group,
            "version": r.version,
            "plural": r.plural,
            "kind": r.kind,
            "namespaced": r.namespaced,
            "statusSubresource": r.status_subresource,
            "namespace": self.namespace,
            "name": self.name,
            "summary": self.summary,
        }

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Ref:
        resource = ResourceType(
            group=d["group"],
            version=d["version"],
            plural=d["plural"],
            kind=d["kind"],
            namespaced=bool(d["namespaced"]),
            status_subresource=bool(d["statusSubresource"]),
        )
        action = cast(Action, d["action"])
        return Ref(action, d["cluster"], resource, d["namespace"], d["name"], d["summary"])

    @staticmethod
    def of(change: Change) -> Ref:
        return Ref(
            change.action,
            change.cluster,
            change.resource,
            change.namespace,
            change.name,
            change.summary,
        )


@dataclass(frozen=True)
class Claimed:
    """This call owns the key: it runs, then ``finish``es or ``release``s the record."""

    name: str
    uid: str
    # The record as created: finishing it is one PUT guarded by its resourceVersion.
    record: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """The key was used with this input and succeeded: answer its result again."""

    refs: list[Ref]
    warnings: list[Warning]


class IdempotencyRecords:
    """The records of one cluster's gateway namespace, for one write call."""

    def __init__(
        self,
        *,
        wire: Wire,
        cluster: str,
        namespace: str,
        lifetime: float,
        pending_lifetime: float,
        timeout: float,
    ) -> None:
        self._wire = wire
        self._cluster = cluster
        self._namespace = namespace
        self._lifetime = lifetime
        self._pending_lifetime = pending_lifetime
        self._timeout = timeout

    async def claim(
        self, *, username: str, key: str, mutation: str, digest: str
    ) -> Claimed | Replay | UserError:
        name = record_name(username, key)
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self._namespace, "labels": LABELS},
            "data": {
                "caller": _caller_hash(username),
                "mutation": mutation,
                "input": digest,
                "state": "pending",
                "time": _now().isoformat(timespec="seconds"),
            },
        }
        try:
            # Three rounds: create; on a stale record, delete it and create again; a
            # replica racing us for the same stale record makes us read its new one.
            for _ in range(3):
                try:
                    made = await self._send("POST", self._path(), body=body)
                    return Claimed(name, made["metadata"]["uid"], made)
                except ApiError as exc:
                    if exc.status != 409:
                        raise
                try:
                    found = await self._send("GET", self._path(name))
                except ApiError as exc:
                    if exc.status == 404:
                        continue  # removed since our POST: try again
                    raise
                if self._stale(found):
                    await self._remove(found)
                    continue
                return _compare(found, username=username, digest=digest)
        except KubeError as exc:
            log.warning("idempotency record %s on %s: %s", name, self._cluster, exc)
            why = "could not be reached" if isinstance(exc, Unreachable) else "refused"
            return UserError(
                "CLUSTER_UNAVAILABLE",
                f"Cluster {self._cluster} {why} to record the idempotency key; "
                "nothing was changed. Retry later.",
            )
        return UserError("CONFLICT", "Another call with this idempotency key is starting; retry.")

    async def peek(self, *, username: str, key: str, digest: str) -> Replay | UserError | None:
        """What a live record for this key says, without claiming it (None: no record).

        A retry is looked up before its input is planned again: planned on today's
        cluster, a create that succeeded the first time would now meet its own object.
        """
        try:
            found = await self._send("GET", self._path(record_name(username, key)))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        if self._stale(found):
            return None
        return _compare(found, username=username, digest=digest)

    async def finish(self, claimed: Claimed, *, refs: list[Ref], warnings: list[Warning]) -> None:
        """Mark the record done with what the call made (a PUT guarded by its version)."""
        found = dict(claimed.record)
        data = dict(found.get("data") or {})
        data["state"] = "done"
        data["time"] = _now().isoformat(timespec="seconds")
        data["result"] = json.dumps(
            {
                "changes": [r.to_json() for r in refs],
                "warnings": [{"code": w.code, "message": w.message} for w in warnings],
            },
            sort_keys=True,
        )
        found["data"] = data
        await self._send("PUT", self._path(claimed.name), body=found)

    async def release(self, claimed: Claimed) -> None:
        """Remove this call's record (the call was refused), so the key may be used again."""
        try:
            await self._send(
                "DELETE",
                self._path(claimed.name),
                body={"preconditions": {"uid": claimed.uid}},
            )
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise

    def _stale(self, record: Mapping[str, Any]) -> bool:
        created = parse_time(record.get("metadata", {}).get("creationTimestamp"))
        if created is None:
            return True
        age = (_now() - created).total_seconds()
        state = (record.get("data") or {}).get("state")
        return age > self._lifetime or (state != "done" and age > self._pending_lifetime)

    async def _remove(self, record: Mapping[str, Any]) -> None:
        meta = record["metadata"]
        try:
            await self._send(
                "DELETE",
                self._path(meta["name"]),
                body={
                    "preconditions": {
                        "uid": meta["uid"],
                        "resourceVersion": meta["resourceVersion"],
                    }
                },
            )
        except ApiError as exc:
            # 409: another replica replaced it first; 404: it is gone. Either way, retry.
            if exc.status not in (404, 409):
                raise

    def _path(self, name: str | None = None) -> str:
        return CONFIG_MAPS.path(namespace=self._namespace, name=name)

    async def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return await self._wire.as_gateway(
            self._cluster, method, path, timeout=self._timeout, **kwargs
        )


def _compare(record: Mapping[str, Any], *, username: str, digest: str) -> Replay | UserError:
    data = record.get("data") or {}
    if data.get("caller") != _caller_hash(username) or data.get("input") != digest:
        return UserError(
            "IDEMPOTENCY_KEY_REUSED",
            "This idempotency key was already used with a different input; "
            "use a new key for a new request.",
        )
    if data.get("state") != "done":
        return UserError(
            "CONFLICT", "The first call with this idempotency key is still running; retry."
        )
    result = json.loads(data.get("result") or "{}")
    return Replay(
        refs=[Ref.from_json(r) for r in result.get("changes", [])],
        warnings=[
            Warning(cast(WarningCode, w["code"]), w["message"]) for w in result.get("warnings", [])
        ],
    )


def _now() -> datetime:
    return datetime.now(UTC)
