"""The write engine: one ``Plan`` checked, applied, undone on failure, and answered.

Every mutation calls ``Writer.run`` with the plan its planner made. The steps:

1. **check**: every CREATE, PATCH and DELETE goes to its cluster with ``dryRun=All`` as
   the caller (impersonating their user, groups and extra), so RBAC, admission and CRD
   validation decide; each refusal becomes a typed ``UserError`` (``refusals.py``).
   A dry run (``dry_run=True``) stops here.
2. **apply**, in plan order, as the caller: a CREATE is a POST, so that a name taken
   since the plan was made is TARGET_EXISTS rather than silently overwritten; a PATCH is
   a server-side apply (``force``) with the gateway's field manager, the object read
   first so that it can be put back; a DELETE is a delete. Bodies of resources with a
   status subresource are sent without ``status``: status belongs to the operators.
3. **undo**: if a step fails, what this call already did is undone in reverse order: what
   it created is deleted (only that very object, by uid), what it patched gets the
   previous values of exactly the fields the patch named (``undo.restore_patch``). So a
   user error always means nothing changed.

   **Rule: DELETEs come last.** A delete cannot be undone, so no write may follow one
   and nothing after a delete can fail and need undoing. A plan with a CREATE or PATCH
   after a DELETE is a programming error (``PlanError``), raised before anything is sent.
   Several DELETEs are all checked first, so one can fail after another went through
   only if the cluster changed in between; the error then says which object is gone
   (the one case where a user error follows a change, and it says so).

   The dry runs are sent together and do not see each other: a plan cannot create a
   namespace and an object in it in one call.
4. **answer** with the objects as the API server returned them from the apply (create
   and patch responses: what is stored, so no second read is needed), in plan order.

Idempotency (``idempotency.py``): with a key and not a dry run, the call first claims a
record in Kubernetes; a retry with the same key and input answers the first result.
Dry runs never create or consume a record.

Secret values are redacted (``redact.py``) in the plan and objects returned, every log
line and every audit entry. ``Outcome.round_trips`` counts the API-server requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apis.resources import CONFIG_MAPS, ResourceType
from auth.audit import AuditLog
from core.identity import Viewer
from kube.client import ApiError, KubeClient, KubeError
from resolvers.writes.idempotency import Claimed, IdempotencyRecords, Ref, Replay
from resolvers.writes.plan import Change, JSONDict, Plan, UserError
from resolvers.writes.redact import redact_object, redacted, redacted_plan
from resolvers.writes.refusals import describe, refusal
from resolvers.writes.undo import Done, undo_applied
from resolvers.writes.wire import Wire

log = logging.getLogger("stashql.writes")

WRITES = frozenset({"CREATE", "PATCH", "DELETE"})

# Run after every change applied, with the wire and the objects applied (plan order);
# a UserError undoes them all.
Finish = Callable[[Wire, list[JSONDict]], Awaitable[UserError | None]]


class PlanError(ValueError):
    """A planner produced a plan the engine must not run (a bug, not a user's mistake)."""


@dataclass(frozen=True)
class WriteSettings:
    """How the engine writes. Defaults are what production runs with."""

    # The field manager of every server-side apply: the gateway owns the fields it sets.
    field_manager: str = "stashql"
    # The gateway's own namespace, where idempotency records live.
    namespace: str = "stashql-system"
    # How long an idempotency key holds (the contract says at least 24 hours).
    record_lifetime: float = 24 * 3600.0
    # A record still pending after this long was left by a gateway that died mid-call.
    pending_lifetime: float = 300.0
    # Per-request deadlines (seconds) for the dry run, the apply/undo, and the records.
    check_timeout: float = 10.0
    apply_timeout: float = 15.0
    record_timeout: float = 5.0
    # More changes than this in one call is refused as INVALID_INPUT: applyManifests
    # takes up to 200 documents (ManifestSettings.max_documents), each one change.
    max_changes: int = 200


@dataclass
class Outcome:
    # As planned, bodies redacted, with the user errors appended when refused.
    plan: Plan
    # The objects after apply (CREATE and PATCH, plan order), Secrets redacted; empty on
    # a dry run or a refusal.
    objects: list[JSONDict] = field(default_factory=list)
    # Answered from an idempotency record: nothing was sent but reads.
    replayed: bool = False
    # API-server requests this call made (checks, applies, undo, reads, records).
    round_trips: int = 0

    @property
    def ok(self) -> bool:
        return not self.plan.errors


class Writer:
    """Runs plans against the clusters in ``clients`` (the gateway's own clients)."""

    def __init__(
        self,
        *,
        clients: Mapping[str, KubeClient],
        settings: WriteSettings | None = None,
        audit: AuditLog | None = None,
        between_check_and_apply: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._clients = clients
        self._settings = settings or WriteSettings()
        self._audit = audit
        # A test seam, not a mock: the tests change the real cluster in the window between
        # the check and the apply (as a concurrent user could) to make a later step fail.
        self._between = between_check_and_apply

    async def run(
        self,
        plan: Plan,
        *,
        caller: Viewer,
        mutation: str,
        input_digest: str,
        dry_run: bool,
        idempotency_key: str | None,
        request_id: str = "",
        finish: Finish | None = None,
    ) -> Outcome:
        writes = _validate(plan)
        out = Outcome(redacted_plan(plan))
        wire = self._wire(plan, caller)
        try:
            await self._run(
                out,
                plan,
                writes,
                wire=wire,
                caller=caller,
                mutation=mutation,
                digest=input_digest,
                dry_run=dry_run,
                key=idempotency_key,
                finish=finish,
            )
        finally:
            out.round_trips = wire.round_trips
            self._record(out, caller=caller, mutation=mutation, dry_run=dry_run, rid=request_id)
        return out

    @property
    def settings(self) -> WriteSettings:
        return self._settings

    def gateway_client(self, cluster: str) -> KubeClient | None:
        """The gateway's own client of ``cluster`` (for records in its own namespace)."""
        return self._clients.get(cluster)

    async def read_as_caller(
        self, *, cluster: str, caller: Viewer, resource: ResourceType, namespace: str, name: str
    ) -> JSONDict | UserError:
        """One object read *as the caller* (for what a plan must carry that the gateway
        itself may not read, such as a Secret to copy across clusters). Its values are
        never logged; a refusal is the user error the caller would get."""
        path = resource.path(namespace=namespace, name=name)
        change = Change("NONE", cluster, resource, namespace, name, f"Read {name}")
        wire = self._wire(Plan(changes=[change]), caller)
        try:
            return await wire.as_caller(cluster, "GET", path, timeout=self._settings.check_timeout)
        except KubeError as exc:
            return refusal(exc, change)

    async def replay(
        self,
        *,
        cluster: str,
        caller: Viewer,
        mutation: str,
        input_digest: str,
        idempotency_key: str,
        request_id: str = "",
    ) -> Outcome | None:
        """The answer of an earlier call with this key, or None when there is none.

        Called before planning a retry: the first call's result is returned (its objects
        read again) and nothing is planned or changed; the key with another input is
        IDEMPOTENCY_KEY_REUSED, and a first call still running is CONFLICT.
        """
        s = self._settings
        wire = Wire(clients=self._clients, caller={})
        if cluster in self._clients:
            wire = self._wire(
                Plan(changes=[Change("NONE", cluster, CONFIG_MAPS, s.namespace, "-", "")]), caller
            )
        records = IdempotencyRecords(
            wire=wire,
            cluster=cluster,
            namespace=s.namespace,
            lifetime=s.record_lifetime,
            pending_lifetime=s.pending_lifetime,
            timeout=s.record_timeout,
        )
        try:
            found = await records.peek(
                username=caller.username, key=idempotency_key, digest=input_digest
            )
        except KubeError as exc:
            log.warning("idempotency record on %s: %s", cluster, exc)
            return None  # the call itself will claim the key and report the cluster
        if found is None:
            return None
        out = Outcome(Plan())
        if isinstance(found, UserError):
            out.plan.errors.append(found)
        else:
            await self._replay(out, found, wire)
        out.round_trips = wire.round_trips
        self._record(out, caller=caller, mutation=mutation, dry_run=False, rid=request_id)
        return out

    async def _run(
        self,
        out: Outcome,
        plan: Plan,
        writes: list[Change],
        *,
        wire: Wire,
        caller: Viewer,
        mutation: str,
        digest: str,
        dry_run: bool,
        key: str | None,
        finish: Finish | None = None,
    ) -> None:
        s = self._settings
        if plan.refused or not plan.changes:
            return
        if len(writes) > s.max_changes:
            out.plan.refuse(
                "INVALID_INPUT",
                f"This call would write {len(writes)} objects; at most {s.max_changes} "
                "are allowed in one call. Split it.",
            )
            return
        records: IdempotencyRecords | None = None
        claimed: Claimed | None = None
        if key and not dry_run:
            records = IdempotencyRecords(
                wire=wire,
                cluster=plan.changes[0].cluster,
                namespace=s.namespace,
                lifetime=s.record_lifetime,
                pending_lifetime=s.pending_lifetime,
                timeout=s.record_timeout,
            )
            got = await records.claim(
                username=caller.username, key=key, mutation=mutation, digest=digest
            )
            if isinstance(got, UserError):
                out.plan.errors.append(got)
                return
            if isinstance(got, Replay):
                await self._replay(out, got, wire)
                return
            claimed = got
        succeeded = False
        try:
            errors = await self._check(wire, writes)
            out.plan.errors.extend(errors)
            if errors or dry_run:
                return
            if self._between is not None:
                await self._between()
            done, error = await self._apply(wire, writes)
            if error is not None:
                out.plan.errors.append(
                    await undo_applied(wire, done, error, timeout=self._settings.apply_timeout)
                )
                return
            if finish is not None:
                # A last step as the gateway (a restore's workflow record): if it fails,
                # the caller's changes are undone like any failed step.
                error = await finish(wire, [d.after for d in done])
                if error is not None:
                    out.plan.errors.append(
                        await undo_applied(wire, done, error, timeout=self._settings.apply_timeout)
                    )
                    return
            out.objects = [_shown(d.after) for d in done if d.change.action != "DELETE"]
            succeeded = True
        finally:
            # Also on an unexpected exception: a record is marked done only on success.
            if records is not None and claimed is not None:
                await self._settle(records, claimed, out, plan.changes, succeeded=succeeded)

    def _wire(self, plan: Plan, caller: Viewer) -> Wire:
        # Extra attributes, once the identity carries them (TokenReview's user.extra).
        extra: Mapping[str, tuple[str, ...] | list[str]] = getattr(caller, "extra", None) or {}
        clusters = {c.cluster for c in plan.changes}
        as_caller = {
            name: client.impersonating(caller.username, caller.groups, caller.uid, extra)
            for name, client in self._clients.items()
            if name in clusters
        }
        return Wire(clients=self._clients, caller=as_caller)

    # ------------------------------------------------------------------- check

    async def _check(self, wire: Wire, writes: list[Change]) -> list[UserError]:
        """Dry-run every write at once; the refusals, in plan order."""

        async def one(change: Change) -> UserError | None:
            try:
                await self._send(wire, change, dry_run=True)
            except KubeError as exc:
                return refusal(exc, change)
            return None

        results = await asyncio.gather(*(one(c) for c in writes))
        return [e for e in results if e is not None]

    async def _send(self, wire: Wire, change: Change, *, dry_run: bool) -> JSONDict:
        s = self._settings
        timeout = s.check_timeout if dry_run else s.apply_timeout
        params: dict[str, str] = {"dryRun": "All"} if dry_run else {}
        path = change.resource.path(namespace=change.namespace, name=change.name)
        if change.action == "DELETE":
            return await wire.as_caller(
                change.cluster, "DELETE", path, params=params, timeout=timeout
            )
        body = request_body(change)
        params["fieldManager"] = s.field_manager
        if change.action == "CREATE":
            collection = change.resource.path(namespace=change.namespace)
            return await wire.as_caller(
                change.cluster, "POST", collection, params=params, body=body, timeout=timeout
            )
        params["force"] = "true"
        return await wire.as_caller(
            change.cluster,
            "PATCH",
            path,
            params=params,
            body=body,
            content_type="application/apply-patch+yaml",
            timeout=timeout,
        )

    # ------------------------------------------------------------------- apply

    async def _apply(self, wire: Wire, writes: list[Change]) -> tuple[list[Done], UserError | None]:
        done: list[Done] = []
        for change in writes:
            try:
                before = None
                if change.action == "PATCH":
                    before = await wire.as_caller(
                        change.cluster,
                        "GET",
                        change.resource.path(namespace=change.namespace, name=change.name),
                        timeout=self._settings.apply_timeout,
                    )
                after = await self._send(wire, change, dry_run=False)
            except KubeError as exc:
                if change.action == "DELETE" and isinstance(exc, ApiError) and exc.status == 404:
                    # Gone since the check: what the plan wanted is so; nothing to undo.
                    log.info("DELETE %s: already gone", describe(change))
                    continue
                error = refusal(exc, change)  # its message is the redacted one
                log.info("%s %s refused at apply: %s", change.action, describe(change), error)
                return done, error
            log.info("%s %s: %s", change.action, describe(change), change.summary)
            log.debug("applied %s", json.dumps(redacted(change), sort_keys=True))
            done.append(Done(change, after, before, request_body(change) if before else None))
        return done, None

    # ------------------------------------------------------------- idempotency

    async def _replay(self, out: Outcome, replay: Replay, wire: Wire) -> None:
        """The first call's result: its changes (without bodies) and warnings, its objects
        read again."""
        out.replayed = True
        out.plan = Plan(
            changes=[
                Change(r.action, r.cluster, r.resource, r.namespace, r.name, r.summary)
                for r in replay.refs
            ],
            warnings=list(replay.warnings),
        )
        for ref in replay.refs:
            if ref.action not in ("CREATE", "PATCH"):
                continue  # as the first answer: only what was created or changed
            path = ref.resource.path(namespace=ref.namespace, name=ref.name)
            try:
                obj = await wire.as_caller(
                    ref.cluster, "GET", path, timeout=self._settings.apply_timeout
                )
            except ApiError as exc:
                if exc.status == 404:
                    continue  # deleted since the first call: nothing to show
                out.plan.errors.append(refusal(exc, out.plan.changes[replay.refs.index(ref)]))
                return
            except KubeError as exc:
                out.plan.errors.append(refusal(exc, out.plan.changes[replay.refs.index(ref)]))
                return
            out.objects.append(_shown(obj))

    async def _settle(
        self,
        records: IdempotencyRecords,
        claimed: Claimed,
        out: Outcome,
        changes: list[Change],
        *,
        succeeded: bool,
    ) -> None:
        try:
            if not succeeded:
                await records.release(claimed)
            else:
                refs = [Ref.of(c) for c in changes]
                await records.finish(claimed, refs=refs, warnings=out.plan.warnings)
        except KubeError as exc:
            # The objects are written; a retry with this key meets a pending record until
            # it expires, and is told to retry (CONFLICT), never applied twice.
            log.error("idempotency record %s not settled: %s", claimed.name, exc)

    # ------------------------------------------------------------------- audit

    def _record(
        self, out: Outcome, *, caller: Viewer, mutation: str, dry_run: bool, rid: str
    ) -> None:
        if out.replayed:
            result = "replayed"
        elif out.plan.errors:
            result = "refused"
        else:
            result = "dry-run" if dry_run else "ok"
        codes = [e.code for e in out.plan.errors]
        log.info("%s by %s: %s %s", mutation, caller.username, result, ",".join(codes))
        if self._audit is None:
            return
        self._audit.record(
            event="mutation",
            result=result,
            user=caller.username,
            groups=caller.groups,
            request_id=rid,
            operation=mutation,
            detail="; ".join(f"{e.code}: {e.message}" for e in out.plan.errors) or None,
            dryRun=dry_run,
            codes=codes,
            changes=[
                {k: v for k, v in redacted(c).items() if k != "object"} for c in out.plan.changes
            ],
            roundTrips=out.round_trips,
        )


def _validate(plan: Plan) -> list[Change]:
    """The plan's writes; PlanError if a write follows a DELETE (see the module's rule)."""
    writes = [c for c in plan.changes if c.action in WRITES]
    seen_delete = False
    for change in writes:
        if change.action == "DELETE":
            seen_delete = True
        elif seen_delete:
            raise PlanError(
                f"{change.action} {describe(change)} follows a DELETE: deletes must come last"
            )
        if change.action != "DELETE" and change.body is None:
            raise PlanError(f"{change.action} {describe(change)} has no body")
    return writes


def request_body(change: Change) -> JSONDict:
    """What is sent for a CREATE or PATCH: the body with its identity filled in, and
    without status where status is a subresource (the operators own it)."""
    body: JSONDict = dict(change.body or {})
    body["apiVersion"] = change.api_version
    body["kind"] = change.kind
    metadata: dict[str, Any] = dict(body.get("metadata") or {})
    metadata["name"] = change.name
    if change.resource.namespaced:
        metadata["namespace"] = change.namespace
    # No resourceVersion precondition: operators write status all the time, and each
    # status write moves the object's resourceVersion, so a precondition taken from the
    # cache would turn nearly every change to a live object into CONFLICT. A server-side
    # apply only sets the fields this call owns.
    metadata.pop("resourceVersion", None)
    body["metadata"] = metadata
    if change.resource.status_subresource:
        body.pop("status", None)
    return body


def _shown(obj: JSONDict) -> JSONDict:
    shown = redact_object(obj)
    return shown if shown is not None else {}
