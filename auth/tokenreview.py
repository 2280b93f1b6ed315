"""Bearer tokens checked by the API server's TokenReview, cached briefly.

The cache key is a SHA-256 of the token, never the token itself, and an entry lives at
most ``ttl`` seconds and never past the token's own expiry (when the token is a JWT that
says so). The cache is bounded: keying by token means every rotation adds an entry, and
an unbounded map would grow forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

from core.errors import AuthUnavailable, Unauthenticated
from core.identity import Viewer
from kube.client import ApiError, KubeClient, Unreachable


@dataclass
class _Entry:
    viewer: Viewer | None
    expires: float


def _jwt_expiry(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


class TokenReviewer:
    def __init__(
        self,
        client: KubeClient,
        *,
        ttl: float = 30.0,
        negative_ttl: float = 5.0,
        max_entries: int = 10_000,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max = max_entries
        self._cache: OrderedDict[str, _Entry] = OrderedDict()

    async def authenticate(self, token: str) -> Viewer:
        if not token or len(token) > 16_384:
            raise Unauthenticated("a bearer token is required")
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        entry = self._cache.get(key)
        if entry and entry.expires > now:
            self._cache.move_to_end(key)
            if entry.viewer is None:
                raise Unauthenticated("the bearer token was not accepted")
            return entry.viewer
        viewer = await self._review(token)
        if viewer is None:
            expires = now + self._negative_ttl
        else:
            expires = now + self._ttl
            jwt_exp = _jwt_expiry(token)
            if jwt_exp is not None:
                expires = min(expires, jwt_exp)
        self._cache[key] = _Entry(viewer, expires)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        if viewer is None:
            raise Unauthenticated("the bearer token was not accepted")
        return viewer

    async def _review(self, token: str) -> Viewer | None:
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        try:
            result = await self._client.post(
                "/apis/authentication.k8s.io/v1/tokenreviews", body, timeout=10
            )
        except Unreachable as exc:
            raise AuthUnavailable(f"cannot check the token: {exc}") from exc
        except ApiError as exc:
            raise AuthUnavailable(f"cannot check the token: {exc.message}") from exc
        status = result.get("status") or {}
        if not status.get("authenticated"):
            return None
        user = status.get("user") or {}
        return Viewer(
            username=str(user.get("username", "")),
            groups=tuple(str(g) for g in user.get("groups") or ()),
            uid=user.get("uid"),
        )
