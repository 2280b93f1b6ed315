"""Global object IDs: opaque, URL-safe strings that name one Kubernetes object anywhere.

An ID encodes (cluster, API group, kind, namespace, name), so ``Query.node(id:)`` can
refetch an object from the right cluster without a lookup table. Clients must treat IDs
as opaque; the leading version number lets the encoding change without breaking IDs
that clients have stored.

Encoding: the compact JSON array ``[1, cluster, apiGroup, kind, namespace|null, name]``
as UTF-8, then URL-safe base64 without padding. JSON (rather than a separator) keeps
cluster names from kubeconfig contexts safe whatever characters they contain (EKS
context names hold ``:`` and ``/``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from core.errors import InvalidInput

_VERSION = 1

# Longest plausible ID: name and group (253 each), namespace (63), kind (63) and a
# generous cluster name, JSON-quoted and base64-expanded. Anything longer is garbage,
# and refusing it early keeps hostile input from costing decode work.
MAX_ID_LENGTH = 4096

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class GlobalRef:
    """What a global ID names. ``api_group`` is ``""`` for the core group;
    ``namespace`` is None for cluster-scoped objects."""

    cluster: str
    api_group: str
    kind: str
    namespace: str | None
    name: str

    def encode(self) -> str:
        """This reference as an opaque global ID."""
        return encode_id(
            cluster=self.cluster,
            api_group=self.api_group,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
        )


def encode_id(*, cluster: str, api_group: str, kind: str, namespace: str | None, name: str) -> str:
    """The opaque global ID of one object.

    Raises ValueError for an empty cluster, kind or name: such an ID could never be
    decoded, so producing one is a bug in the caller.
    """
    if not cluster or not kind or not name:
        raise ValueError("a global ID needs a cluster, a kind and a name")
    payload = [_VERSION, cluster, api_group, kind, namespace, name]
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_id(value: str) -> GlobalRef:
    """The reference inside a global ID; InvalidInput if ``value`` is not one of ours."""
    if not isinstance(value, str) or not value:
        raise _invalid(value, "it is empty")
    if len(value) > MAX_ID_LENGTH:
        raise _invalid(value, "it is too long")
    if not _BASE64URL.fullmatch(value):
        raise _invalid(value, "it contains characters that never appear in IDs")
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = json.loads(data.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid(value, "it does not decode") from None
    if not isinstance(payload, list) or len(payload) != 6:
        raise _invalid(value, "it does not hold an object reference")
    version, cluster, api_group, kind, namespace, name = payload
    if version != _VERSION or isinstance(version, bool):
        raise _invalid(value, "it was made by an unknown ID format")
    if not (
        _non_empty_str(cluster)
        and isinstance(api_group, str)
        and _non_empty_str(kind)
        and (namespace is None or _non_empty_str(namespace))
        and _non_empty_str(name)
    ):
        raise _invalid(value, "it does not hold an object reference")
    return GlobalRef(
        cluster=cluster, api_group=api_group, kind=kind, namespace=namespace, name=name
    )


def _non_empty_str(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _invalid(value: object, why: str) -> InvalidInput:
    shown = value if isinstance(value, str) else type(value).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidInput(
        f"{shown!r} is not a valid StashQL ID ({why}); use an `id` returned by this API",
        extensions={"argument": "id"},
    )
