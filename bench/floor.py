"""The floor for a first sync: a raw paged LIST of every snapshot, with plain HTTP.

Both clusters are listed at once (as the gateway's informers do), 500 objects a page,
and each page is only scanned for its continue token: what no client can do faster
against these API servers. The gateway's first sync is compared with it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from apis.resources import SNAPSHOTS
from bench.dataset import admin_client
from sandbox.controlplane import Sandbox


class _Meta(msgspec.Struct):
    resourceVersion: str = ""  # the API's field name
    _continue: str = msgspec.field(default="", name="continue")


class _Page(msgspec.Struct):
    metadata: _Meta
    items: list[msgspec.Raw] = []


_PAGE = msgspec.json.Decoder(_Page)


async def _list_one(sandbox: Sandbox, cluster: int, *, page_size: int) -> int:
    client = admin_client(sandbox, cluster, connection_limit=2)
    try:
        params: dict[str, str | int] = {"limit": page_size}
        count = 0
        while True:
            page: Any = await client.fetch(
                SNAPSHOTS.path(), params=params, timeout=120, decode=_PAGE.decode
            )
            count += len(page.items)
            if not page.metadata._continue:
                return count
            params = {"limit": page_size, "continue": page.metadata._continue}
    finally:
        await client.close()


async def raw_list(sandbox: Sandbox, *, expected: int, page_size: int = 500) -> float:
    """Seconds to list every snapshot of both clusters at once; checks the count."""
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_list_one(sandbox, i, page_size=page_size) for i in range(len(sandbox.clusters)))
    )
    took = time.perf_counter() - started
    if sum(counts) != expected:
        raise AssertionError(f"raw LIST found {sum(counts)} snapshots, expected {expected}")
    return took
