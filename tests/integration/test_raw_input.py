"""Whatever bytes arrive, the gateway answers with a typed error: never a 5xx or a traceback.

Raw request bodies of any bytes, encoding and content type go to `/graphql` over HTTP,
and raw frames of any text or bytes go over the WebSocket, against a real gateway in
its own process (hypothesis drives these tests synchronously).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from sandbox.controlplane import Sandbox

pytestmark = pytest.mark.sandbox

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "application/json; charset=latin-1",
        "application/json; charset=no-such-codec",
        "application/graphql",
        "application/graphql-response+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "text/plain",
        "",
        "\xff\xfe; charset=\xe9",
        "application/octet-stream",
    ]
)

BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"[]",
            b"[1, 2]",
            b'"query"',
            b"{}",
            b'{"query": null}',
            b'{"query": 1}',
            b'{"query": "{ viewer { username } }", "variables": []}',
            b'{"query": "{ viewer { username } }", "variables": "x"}',
            b'{"query": "{ viewer { username } }", "operationName": 5}',
            b'{"query": "{ viewer { username } }", "extensions": 5}',
            b'{"query": "\xff\xfe"}',
            b"\xef\xbb\xbf{}",
            b'{"query": "' + b"{" * 5000 + b'"}',
            b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{\r\n--x--\r\n',
            json.dumps(
                {
                    "query": "query($a: JSON) { viewer { username } }",
                    "variables": {"a": {"b": [1e308, -0.0]}},
                }
            ).encode(),
        ]
    ),
)

# Every answer must be small, typed JSON (or an empty 4xx), whatever was sent.
HTTP_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    text = response.text
    assert "Traceback" not in text
    assert 'File "' not in text
    if response.headers.get("content-type", "").startswith("application/json") and text:
        body: Any = response.json()
        for error in (body.get("errors") or []) if isinstance(body, dict) else []:
            assert error.get("extensions", {}).get("code"), error


@HTTP_SETTINGS
@given(body=BODIES, content_type=CONTENT_TYPES, method=st.sampled_from(["POST", "GET", "PUT"]))
def test_raw_http_bodies_of_any_bytes_get_a_typed_answer(
    served: str, sandbox: Sandbox, body: bytes, content_type: str, method: str
) -> None:
    headers = {b"Authorization": f"Bearer {sandbox.tokens['alice']}".encode()}
    if content_type:
        # As bytes: a header value may carry any visible octet, not only ASCII (HTTP
        # itself forbids only control characters, which no client can send).
        headers[b"Content-Type"] = content_type.encode("latin-1")
    with httpx.Client(timeout=60) as client:
        if method == "GET":
            # GET carries the document in the query string: send the bytes there.
            response = client.get(
                served + "/graphql",
                params={"query": body.decode("latin-1"), "variables": body.decode("latin-1")},
                headers=headers,
            )
        else:
            response = client.request(method, served + "/graphql", content=body, headers=headers)
    _assert_clean(response)


FRAMES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            "null",
            "[]",
            "{}",
            '{"type": 5}',
            '{"type": "subscribe"}',
            '{"type": "subscribe", "id": 1, "payload": 2}',
            '{"type": "subscribe", "id": "a", "payload": {"query": 5}}',
            '{"type": "subscribe", "id": "a", "payload": {"query": "subscription { nope }"}}',
            '{"type": "ping", "payload": "x"}',
            '{"type": "complete", "id": null}',
            '{"type": "connection_init", "payload": {"authorization": 5}}',
            '{"type": "connection_init"}',
        ]
    ),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(FRAMES, min_size=1, max_size=4), init_first=st.booleans())
def test_raw_websocket_frames_never_break_the_gateway(
    served: str, sandbox: Sandbox, frames: list[str | bytes], init_first: bool
) -> None:
    url = served.replace("http://", "ws://") + "/graphql"
    received: list[str | bytes] = []
    close_codes: list[int | None] = []
    with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=20, close_timeout=5
    ) as ws:
        if init_first:
            token = sandbox.tokens["alice"]
            ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
            )
            received.append(ws.recv(timeout=20))
        try:
            for frame in frames:
                ws.send(frame)
            while True:
                received.append(ws.recv(timeout=1))
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            # The protocol closes a connection that breaks it, with a 4xxx code (or a
            # normal close): never 1011, the server-error code.
            close_codes.append(closed.rcvd.code if closed.rcvd else None)
    assert 1011 not in close_codes
    for message in received:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        assert "Traceback" not in text
        assert 'File "' not in text
    # The gateway still serves afterwards.
    with httpx.Client(timeout=60) as client:
        ok = client.post(
            served + "/graphql",
            json={"query": "{ viewer { username } }"},
            headers={"Authorization": f"Bearer {sandbox.tokens['alice']}"},
        )
    assert ok.status_code == 200
    assert ok.json()["data"]["viewer"]["username"] == "alice"
