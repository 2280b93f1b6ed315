"""The door in front of /graphql: who is calling, and requests that are too big or slow.

Identities, in order:
1. a trusted front proxy's ``X-Remote-User``/``X-Remote-Group`` headers, only when the
   gateway is configured with the proxy's shared secret and the request carries it;
2. a bearer token, checked by TokenReview;
3. with ``--insecure-anonymous-as USER`` (local demos only), requests without a token
   act as that user. Everything the API server does not allow that user stays refused.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from auth.audit import AuditLog
from auth.tokenreview import TokenReviewer
from core.errors import AuthUnavailable, GatewayError, Unauthenticated
from core.identity import Viewer
from core.settings import setting

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROXY_SECRET_HEADER = "x-front-proxy-secret"


@dataclass(frozen=True)
class GateSettings:
    """What the gate lets through: request sizes and deadlines, and whom it trusts."""

    # Largest HTTP body read, in bytes, checked before and while it is received: a query
    # document is at most Limits.max_query_bytes, and 1 MB leaves room for its variables.
    max_body_bytes: int = setting(1_000_000, help="largest request body accepted, in bytes")
    # Seconds an HTTP request may take before it is answered 504 TIMEOUT. Queries read
    # the in-memory cache; what takes long is a reviewer (TokenReview,
    # SubjectAccessReview) that does not answer, or a very large query.
    request_timeout: float = setting(30.0, help="seconds a query may take")
    # The secret a front proxy sends in X-Front-Proxy-Secret; without one, identity
    # headers are never trusted (anyone could set them).
    front_proxy_secret: str | None = setting(
        None,
        help="trust X-Remote-User/X-Remote-Group only on requests carrying this shared "
        "secret in X-Front-Proxy-Secret",
    )
    # Off unless asked for: requests without credentials are refused (401).
    anonymous_user: str | None = setting(
        None, help="LOCAL DEMOS ONLY: requests without credentials act as USER"
    )
    # Origins allowed to open WebSockets besides the gateway's own (browsers send Origin;
    # CLIs usually do not, and are let through). "*" allows every origin.
    allowed_origins: tuple[str, ...] = setting(
        (),
        help="a browser origin allowed to open WebSockets besides the gateway's own (repeatable)",
    )


@dataclass
class Identity:
    """What the gate learnt about a request."""

    viewer: Viewer
    via: str  # token, front-proxy, anonymous
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _headers(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]


class Authenticator:
    def __init__(self, settings: GateSettings, reviewer: Callable[[], TokenReviewer]) -> None:
        self.settings = settings
        self._reviewer = reviewer
        if settings.anonymous_user:
            log.warning(
                "INSECURE: requests without credentials act as %r (--insecure-anonymous-as). "
                "Never use this outside a local demo.",
                settings.anonymous_user,
            )

    async def identify(
        self, headers: list[tuple[str, str]], *, token_override: str | None = None
    ) -> Identity:
        values: dict[str, list[str]] = {}
        for key, value in headers:
            values.setdefault(key, []).append(value)
        proxy_user = values.get("x-remote-user", [None])[0]
        if proxy_user is not None:
            secret = self.settings.front_proxy_secret
            presented = values.get(PROXY_SECRET_HEADER, [""])[0]
            if not secret or not hmac.compare_digest(secret.encode(), presented.encode()):
                # Never trust identity headers that anyone could set.
                raise Unauthenticated("front-proxy identity headers are not trusted here")
            groups = tuple(
                g.strip()
                for v in values.get("x-remote-group", [])
                for g in v.split(",")
                if g.strip()
            )
            return Identity(Viewer(username=proxy_user, groups=groups), via="front-proxy")
        token = token_override or bearer(values.get("authorization", [None])[0])
        if token is None:
            if self.settings.anonymous_user:
                return Identity(
                    Viewer(
                        username=self.settings.anonymous_user,
                        groups=("system:authenticated",),
                    ),
                    via="anonymous",
                )
            raise Unauthenticated(
                "a bearer token is required: send 'Authorization: Bearer <token>'"
            )
        return Identity(await self._reviewer().authenticate(token), via="token")


def json_error(
    status: int, code: str, message: str, *, request_id: str = ""
) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
    body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
    if request_id:
        body["errors"][0]["extensions"]["requestId"] = request_id
    headers = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="stashql"'))
    return body, headers


async def _send_json(
    send: Send, status: int, code: str, message: str, request_id: str = ""
) -> None:
    body, headers = json_error(status, code, message, request_id=request_id)
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})


class BodyTooLarge(Exception):
    pass


class Gate:
    """ASGI middleware for /graphql over HTTP: size limit, identity, deadline, audit."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, audit: AuditLog) -> None:
        self.app = app
        self.auth = authenticator
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        lookup = dict(headers)
        method = scope.get("method", "GET")
        if method == "GET" and "text/html" in lookup.get("accept", "") and not _has_query(scope):
            await self.app(scope, receive, send)  # the GraphiQL page: no data, no token
            return
        settings = self.auth.settings
        request_id = uuid.uuid4().hex
        length = lookup.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            self.audit.record(
                event="request",
                result="refused",
                user=None,
                request_id=request_id,
                detail=f"body of {length} bytes",
            )
            await _send_json(
                send,
                413,
                "REQUEST_TOO_LARGE",
                f"request bodies are limited to {settings.max_body_bytes} bytes",
                request_id,
            )
            return
        try:
            identity = await self.auth.identify(headers)
        except Unauthenticated as exc:
            self.audit.record(
                event="authentication",
                result="refused",
                user=None,
                request_id=request_id,
                detail=exc.message,
            )
            await _send_json(send, 401, exc.code, exc.message, request_id)
            return
        except AuthUnavailable as exc:
            await _send_json(send, 503, exc.code, exc.message, request_id)
            return
        except GatewayError as exc:
            await _send_json(send, 400, exc.code, exc.message, request_id)
            return
        identity.request_id = request_id
        scope.setdefault("state", {})["identity"] = identity

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > settings.max_body_bytes:
                    raise BodyTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(settings.request_timeout):
                await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(
                    send,
                    413,
                    "REQUEST_TOO_LARGE",
                    f"request bodies are limited to {settings.max_body_bytes} bytes",
                    request_id,
                )
        except TimeoutError:
            self.audit.record(
                event="request",
                result="timeout",
                user=identity.viewer.username,
                request_id=request_id,
            )
            if not started:
                await _send_json(
                    send,
                    504,
                    "TIMEOUT",
                    f"the request took longer than {settings.request_timeout:.0f} s; "
                    "ask for less (smaller pages, fewer fields)",
                    request_id,
                )


def _has_query(scope: Scope) -> bool:
    """A GET carrying a GraphQL document (``?query=``) is an API call whatever it
    accepts: strawberry would run it, so it needs credentials like any other."""
    raw = scope.get("query_string", b"")
    return "query" in parse_qs(raw.decode("latin-1"), keep_blank_values=True)


def origin_allowed(headers: list[tuple[str, str]], allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin on WebSocket upgrades; cross-site pages must not ride a user's
    session. Without Origin (CLIs, servers) there is no browser to protect."""
    values = dict(headers)
    origin = values.get("origin")
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    host = values.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
