"""What the API server's refusals mean to a user: a typed ``UserError`` with a sentence
they can act on.

The API server answers a refused write with a ``Status`` object; its HTTP code and
``reason`` say what kind of refusal it is and ``details.causes`` name the fields at
fault. An admission webhook's or a ValidatingAdmissionPolicy's denial comes with
several codes (403 or 422 most often) and is recognised by its message instead.
"""

from __future__ import annotations

import re

from kube.client import ApiError, KubeError, Unreachable
from resolvers.writes.plan import Change, UserError
from resolvers.writes.redact import is_secret

_WEBHOOK = re.compile(r'admission webhook "[^"]*" denied the request:?\s*(.*)', re.S)
_POLICY = re.compile(
    r"ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request:?\s*(.*)", re.S
)
# The API server quotes a rejected value; for a Secret that value may be a credential.
_QUOTED_VALUE = re.compile(r'Invalid value: ("(?:[^"\\]|\\.)*"|\S+)')
_VERBS = {"CREATE": "create", "PATCH": "change", "DELETE": "delete"}


def describe(change: Change) -> str:
    """``RetentionPolicy team-a/keep on cluster c1``: how messages name an object."""
    where = f"{change.namespace}/{change.name}" if change.namespace else change.name
    return f"{change.kind} {where} on cluster {change.cluster}"


def field_path(field: str) -> tuple[str, ...]:
    """``spec.sessions[0].scheduler.schedule`` -> ("spec", "sessions", "0", "scheduler", ...)."""
    parts: list[str] = []
    for piece in field.split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(i.rstrip("]") for i in indexes)
    return tuple(p for p in parts if p)


def refusal(exc: KubeError, change: Change) -> UserError:
    """The user error for one change the cluster refused (at the check or at the apply)."""
    what = describe(change)
    verb = _VERBS.get(change.action, "write")
    if isinstance(exc, Unreachable):
        why = "did not answer in time" if exc.timeout else "could not be reached"
        return UserError(
            "CLUSTER_UNAVAILABLE",
            f"Cluster {change.cluster} {why}, so {what} was not written; retry later.",
        )
    if not isinstance(exc, ApiError):
        return UserError("CLUSTER_UNAVAILABLE", f"Cluster {change.cluster} failed: {exc}; retry.")
    message = _clean(exc.message, change)
    denial = _WEBHOOK.search(message) or _POLICY.search(message)
    if denial:
        return UserError(
            "ADMISSION_DENIED",
            f"The cluster's admission control refused {what}: {denial.group(1).strip()}",
        )
    status = exc.status
    if status == 403:
        return UserError(
            "FORBIDDEN",
            f"You may not {verb} {what}; ask for access to it. The API server said: {message}",
        )
    if status == 404:
        missing = "its namespace" if change.action == "CREATE" else "it"
        return UserError(
            "NOT_FOUND", f"Could not {verb} {what}: {missing} does not exist ({message})."
        )
    if status == 409:
        if exc.reason == "AlreadyExists" and change.action == "CREATE":
            return UserError(
                "TARGET_EXISTS", f"{what} already exists; choose another name or change it instead."
            )
        return UserError("CONFLICT", f"{what} changed while this call ran; retry.")
    if status == 422 or status == 400:
        causes = _causes(exc)
        first = next((c for c in causes if c.get("field")), None)
        details = "; ".join(
            _clean(f"{c.get('field', '')}: {c.get('message', '')}".strip(": "), change)
            for c in causes
        )
        return UserError(
            "INVALID_INPUT",
            f"The cluster refused {what} as invalid: {details or message}",
            field_path(str(first["field"])) if first else None,
        )
    if status == 429 or status >= 500:
        return UserError(
            "CLUSTER_UNAVAILABLE",
            f"Cluster {change.cluster} could not take {what} now ({message}); retry later.",
        )
    return UserError("INVALID_INPUT", f"The cluster refused {what}: {message}")


def _causes(exc: ApiError) -> list[dict[str, object]]:
    details = exc.body.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    return [c for c in causes or [] if isinstance(c, dict)]


def _clean(message: str, change: Change) -> str:
    """The API server's message, with any quoted value of a Secret cut out."""
    if is_secret(change.body, api_version=change.api_version, kind=change.kind):
        return _QUOTED_VALUE.sub("Invalid value: <redacted>", message)
    return message
