"""A raw-JSON client for one cluster.

Why not kubernetes-asyncio's generated API classes: deserializing into its models costs
about 25x ``json.loads``, it sends each header only once (impersonation needs several
``Impersonate-Group`` headers) and it has no read timeout by default. We keep its
kubeconfig/in-cluster loading (exec and OIDC plugins, token refresh) and talk to the API
server with one aiohttp session per client.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDict

JSONDict = dict[str, Any]
T = TypeVar("T")

# Every call has a deadline: an API server that hangs must not hang a GraphQL request.
DEFAULT_TIMEOUT = 15.0


class KubeError(Exception):
    """Base class for everything this package raises."""


class Unreachable(KubeError):
    """The API server could not be reached or did not answer in time."""

    def __init__(self, cluster: str, message: str, *, timeout: bool = False) -> None:
        super().__init__(f"cluster {cluster}: {message}")
        self.cluster = cluster
        self.timeout = timeout


class ApiError(KubeError):
    """The API server answered with a non-2xx status (a Kubernetes ``Status`` object)."""

    def __init__(self, cluster: str, status: int, body: JSONDict | None, text: str = "") -> None:
        self.cluster = cluster
        self.status = status
        self.body = body or {}
        self.reason = str(self.body.get("reason") or "")
        self.message = str(self.body.get("message") or text or f"HTTP {status}")
        super().__init__(f"cluster {cluster}: {status} {self.reason}: {self.message}")


TokenSource = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class Impersonation:
    """Who a write is made as: the API server enforces RBAC for this user, not for us."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str | None = None
    # The caller's extra attributes (TokenReview ``user.extra``), key -> values: webhook
    # authorizers and admission may decide on them, so they are passed on too.
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


def extra_header(key: str) -> str:
    """The header carrying one extra key: the key is percent-encoded (RFC 3986 unreserved
    characters kept), as the API server decodes it, so that keys such as
    ``authentication.kubernetes.io/pod-name`` survive as a header name."""
    return "Impersonate-Extra-" + quote(key, safe="-._~")


class KubeClient:
    """Raw JSON requests against one API server, with deadlines on every call."""

    def __init__(
        self,
        *,
        cluster: str,
        server: str,
        ssl_context: ssl.SSLContext | bool,
        token_source: TokenSource | None = None,
        client_cert: tuple[str, str] | None = None,
        connection_limit: int = 20,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.cluster = cluster
        self.server = server.rstrip("/")
        self._ssl = ssl_context
        if client_cert and isinstance(ssl_context, ssl.SSLContext):
            ssl_context.load_cert_chain(*client_cert)
        self._token_source = token_source
        self._timeout = timeout
        self._limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl)
            self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self._session

    def with_own_pool(self, *, connection_limit: int) -> KubeClient:
        """The same server, TLS and credentials, with a connection pool of its own.

        Every open watch holds a pooled connection for minutes: watches get their own
        pool so that they never starve requests.
        """
        return KubeClient(
            cluster=self.cluster,
            server=self.server,
            ssl_context=self._ssl,
            token_source=self._token_source,
            connection_limit=connection_limit,
            timeout=self._timeout,
        )

    def impersonating(
        self,
        user: str,
        groups: tuple[str, ...] = (),
        uid: str | None = None,
        extra: Mapping[str, tuple[str, ...] | list[str]] | None = None,
    ) -> ImpersonatingClient:
        extras = tuple(sorted((k, tuple(v)) for k, v in (extra or {}).items()))
        return ImpersonatingClient(
            self, Impersonation(user=user, groups=groups, uid=uid, extra=extras)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _headers(
        self, extra: Mapping[str, str] | None, impersonate: Impersonation | None
    ) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict({"Accept": "application/json"})
        if self._token_source is not None:
            token = await self._token_source()
            if token:
                headers["Authorization"] = (
                    token if token.lower().startswith("bearer ") else f"Bearer {token}"
                )
        if impersonate is not None:
            headers["Impersonate-User"] = impersonate.user
            for group in impersonate.groups:
                headers.add("Impersonate-Group", group)
            if impersonate.uid:
                headers["Impersonate-Uid"] = impersonate.uid
            for key, values in impersonate.extra:
                for value in values:
                    headers.add(extra_header(key), value)
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        impersonate: Impersonation | None = None,
        timeout: float | None = None,
    ) -> JSONDict:
        """Send one request and return the decoded JSON body; raise on non-2xx."""
        return await self._send(
            method,
            path,
            params=params,
            body=body,
            content_type=content_type,
            headers=headers,
            impersonate=impersonate,
            timeout=timeout,
            decode=_object_or_empty,
        )

    async def fetch(
        self,
        path: str,
        *,
        decode: Callable[[bytes], T],
        params: Mapping[str, str | int] | None = None,
        timeout: float | None = None,
    ) -> T:
        """GET ``path`` and turn the 2xx body's bytes into the answer with ``decode``
        (the informers decode list pages straight into their records)."""
        return await self._send("GET", path, params=params, timeout=timeout, decode=decode)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        decode: Callable[[bytes], T],
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        impersonate: Impersonation | None = None,
        timeout: float | None = None,
    ) -> T:
        hdrs = await self._headers(headers, impersonate)
        data = None
        if body is not None:
            hdrs["Content-Type"] = content_type
            data = json.dumps(body).encode()
        deadline = aiohttp.ClientTimeout(total=timeout or self._timeout)
        try:
            async with self._get_session().request(
                method,
                self.server + path,
                params=dict(params) if params else None,
                data=data,
                headers=hdrs,
                timeout=deadline,
            ) as resp:
                body_bytes = await resp.read()
                if resp.status >= 400:
                    text = body_bytes.decode("utf-8", "replace")
                    raise ApiError(self.cluster, resp.status, _decode(text), text[:500])
                return decode(body_bytes)
        except TimeoutError as exc:
            raise Unreachable(
                self.cluster, "the API server did not answer in time", timeout=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(self.cluster, f"{type(exc).__name__}: {exc}") from exc

    async def get(self, path: str, **kwargs: Any) -> JSONDict:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> JSONDict:
        return await self.request("POST", path, body=body, **kwargs)

    async def put(self, path: str, body: Any, **kwargs: Any) -> JSONDict:
        return await self.request("PUT", path, body=body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> JSONDict:
        return await self.request("DELETE", path, **kwargs)

    async def apply(
        self, path: str, body: JSONDict, *, field_manager: str, force: bool = True, **kwargs: Any
    ) -> JSONDict:
        """Server-side apply: idempotent create-or-update owned by ``field_manager``."""
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        params.update(kwargs.pop("params", {}) or {})
        return await self.request(
            "PATCH",
            path,
            body=body,
            content_type="application/apply-patch+yaml",
            params=params,
            **kwargs,
        )

    async def watch(
        self,
        path: str,
        *,
        params: Mapping[str, str | int],
        read_timeout: float,
        on_open: Callable[[], None] | None = None,
        decode: Callable[[bytes], JSONDict] = json.loads,
    ) -> AsyncIterator[JSONDict]:
        """Stream watch events (one JSON object per line).

        ``read_timeout`` bounds the silence between two lines: with bookmarks enabled the
        server sends something at least every minute or so, so a longer silence means a
        dead connection that TCP alone might not notice for a long time.
        """
        hdrs = await self._headers(None, None)
        deadline = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeout, sock_read=read_timeout
        )
        try:
            async with self._get_session().get(
                self.server + path, params=dict(params), headers=hdrs, timeout=deadline
            ) as resp:
                if resp.status >= 400:
                    text = await resp.text()
                    raise ApiError(self.cluster, resp.status, _decode(text), text[:500])
                if on_open is not None:
                    on_open()
                # One event per line; a line may span chunks (a CRD is often over
                # 100 KiB, beyond what aiohttp's readline allows), so split ourselves.
                buffer = bytearray()
                async for chunk in resp.content.iter_any():
                    buffer += chunk
                    start = 0
                    while (end := buffer.find(b"\n", start)) >= 0:
                        line = bytes(buffer[start:end])
                        start = end + 1
                        if line.strip():
                            yield decode(line)
                    del buffer[:start]
        except TimeoutError as exc:
            raise Unreachable(self.cluster, "watch went silent", timeout=True) from exc
        except aiohttp.ClientError as exc:
            raise Unreachable(self.cluster, f"{type(exc).__name__}: {exc}") from exc


class ImpersonatingClient:
    """The same API server, acting as someone else: every request carries
    ``Impersonate-User``, one ``Impersonate-Group`` header per group and one
    ``Impersonate-Extra-<key>`` header per extra value, so the API server authorizes (and
    audits) the real user, not the gateway."""

    def __init__(self, client: KubeClient, as_user: Impersonation) -> None:
        self._client = client
        self.as_user = as_user
        self.cluster = client.cluster

    async def request(self, method: str, path: str, **kwargs: Any) -> JSONDict:
        return await self._client.request(method, path, impersonate=self.as_user, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> JSONDict:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> JSONDict:
        return await self.request("POST", path, body=body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> JSONDict:
        return await self.request("DELETE", path, **kwargs)

    async def merge_patch(self, path: str, body: JSONDict, **kwargs: Any) -> JSONDict:
        """A JSON merge patch (RFC 7386): what undo uses to put previous values back."""
        return await self.request(
            "PATCH", path, body=body, content_type="application/merge-patch+json", **kwargs
        )

    async def apply(
        self,
        path: str,
        body: JSONDict,
        *,
        field_manager: str,
        dry_run: bool = False,
        force: bool = True,
    ) -> JSONDict:
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        return await self.request(
            "PATCH",
            path,
            body=body,
            content_type="application/apply-patch+yaml",
            params=params,
        )


def _object_or_empty(body: bytes) -> JSONDict:
    return _decode(body) or {}


def _decode(text: str | bytes) -> JSONDict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def wait_for(
    check: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.1, what: str
) -> None:
    """Poll ``check`` until it returns True or raise TimeoutError naming ``what``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        try:
            if await check():
                return
        except KubeError:
            pass
        if loop.time() > end:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)
