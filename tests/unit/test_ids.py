"""Global IDs: opaque, URL-safe, round-trip exactly, and refuse garbage clearly."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace

import pytest

from core.errors import InvalidInput
from core.ids import MAX_ID_LENGTH, GlobalRef, decode_id, encode_id

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize(
    "ref",
    [
        GlobalRef(
            cluster="prod",
            api_group="storage.kubestash.com",
            kind="Snapshot",
            namespace="demo",
            name="pg-full-backup-1725533628",
        ),
        # Cluster-scoped object: no namespace.
        GlobalRef(
            cluster="prod",
            api_group="addons.kubestash.com",
            kind="Addon",
            namespace=None,
            name="postgres-addon",
        ),
        # Core group is the empty string.
        GlobalRef(cluster="c", api_group="", kind="Namespace", namespace=None, name="demo"),
        # EKS-style context names and odd characters survive.
        GlobalRef(
            cluster="arn:aws:eks:eu-west-1:123456789012:cluster/prod",
            api_group="kubedb.com",
            kind="Postgres",
            namespace="team-a",
            name="pg.with.dots",
        ),
        GlobalRef(
            cluster='kind "ünïcødé" / ? & = # %',
            api_group="kubedb.com",
            kind="MySQL",
            namespace="ns",
            name='quo"te\\back[slash],{}',
        ),
    ],
)
def test_ids_round_trip_and_are_url_safe(ref: GlobalRef) -> None:
    encoded = encode_id(
        cluster=ref.cluster,
        api_group=ref.api_group,
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
    )
    assert URL_SAFE.fullmatch(encoded)
    assert ref.encode() == encoded
    assert decode_id(encoded) == ref


def test_ids_differ_when_any_part_differs() -> None:
    base = GlobalRef(
        cluster="a", api_group="kubedb.com", kind="Postgres", namespace="ns", name="db"
    )
    variants = [
        base,
        replace(base, cluster="b"),
        replace(base, api_group="x.com"),
        replace(base, api_group=""),
        replace(base, kind="MySQL"),
        replace(base, namespace="other"),
        replace(base, namespace=None),
        replace(base, name="db2"),
    ]
    assert len({v.encode() for v in variants}) == len(variants)


def test_ids_do_not_show_their_contents_plainly() -> None:
    encoded = encode_id(
        cluster="prod", api_group="kubedb.com", kind="Postgres", namespace="ns", name="db"
    )
    assert "Postgres" not in encoded
    assert "=" not in encoded


@pytest.mark.parametrize("field", ["cluster", "kind", "name"])
def test_encoding_refuses_missing_parts(field: str) -> None:
    ref = replace(
        GlobalRef(cluster="c", api_group="g", kind="K", namespace="n", name="x"), **{field: ""}
    )
    with pytest.raises(ValueError, match="needs a cluster"):
        ref.encode()


def _b64(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not an id",
        "abc$%^",
        "a",  # one base64 character cannot decode
        "////",
        "YWJj",  # base64 of "abc": not JSON
        "_w",  # base64 of b"\xff": not UTF-8
        _b64({"cluster": "c"}),
        _b64([1, "c", "g", "K", "n"]),
        _b64([2, "c", "g", "K", "n", "x"]),
        _b64([True, "c", "g", "K", "n", "x"]),
        _b64([1, "", "g", "K", "n", "x"]),
        _b64([1, "c", None, "K", "n", "x"]),
        _b64([1, "c", "g", "", "n", "x"]),
        _b64([1, "c", "g", "K", "", "x"]),
        _b64([1, "c", "g", "K", "n", 7]),
        "A" * (MAX_ID_LENGTH + 1),
    ],
)
def test_garbage_ids_are_bad_user_input(garbage: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_id(garbage)
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    assert "is not a valid StashQL ID" in caught.value.message


def test_error_message_does_not_echo_huge_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_id("A" * (MAX_ID_LENGTH + 1))
    assert len(caught.value.message) < 200
