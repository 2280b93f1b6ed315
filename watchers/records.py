"""Decoding list and watch bodies straight into slim records (see ``apis.records``).

msgspec decodes the API server's JSON bytes into typed dicts built from a kind's shape:
fields outside the shape are skipped by the C decoder, never allocated. That keeps the
store small (and the heap unfragmented: a whole object decoded and then trimmed leaves
holes behind) and decodes faster than ``json.loads`` of the whole text. Strings that
repeat across objects are then interned, so a hundred thousand snapshots of one
namespace share one copy of its name, their labels and their phases.

An object that does not fit its shape's types (a field that should be an object is
not: the API server's validation makes this rare) is decoded generically and cut to
the shape in Python, so odd objects are kept as faithfully as the typed path keeps
good ones, and nothing is ever lost to a decoding error.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TypedDict

import msgspec

from apis.objects import LAST_APPLIED
from apis.records import KEEP, WHOLE, EachValue, Path, Shape, interned_for, shape_for, shared_for

JSONDict = dict[str, Any]

_intern = sys.intern
_STAR = "*"
_LEAF: dict[str, Any] = {}
# Distinct shared maps kept per kind (a repository's labels and database reference).
MAX_SHARED = 20_000


def _typed(shape: Shape, name: str) -> Any:
    """The msgspec type that decodes ``shape``: TypedDicts where fields are picked."""
    if shape is KEEP:
        return Any
    if isinstance(shape, EachValue):
        return dict[str, _typed(shape.shape, name + "Value")]  # type: ignore[misc]
    assert isinstance(shape, dict)
    fields = {key: _typed(sub, name + key[:1].upper() + key[1:]) for key, sub in shape.items()}
    return _typed_dict(name, fields)


def _typed_dict(name: str, fields: dict[str, Any]) -> Any:
    maker: Any = TypedDict  # built at run time from a shape, so typed loosely
    return maker(name, fields, total=False)


def project(value: Any, shape: Shape) -> Any:
    """``value`` cut to ``shape`` in Python (the fallback for objects the types refuse)."""
    if shape is KEEP or not isinstance(value, dict):
        return value
    if isinstance(shape, EachValue):
        return {key: project(sub, shape.shape) for key, sub in value.items()}
    assert isinstance(shape, dict)
    return {key: project(value[key], sub) for key, sub in shape.items() if key in value}


def _path_tree(paths: tuple[Path, ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node.setdefault(path[-1], _LEAF)
    return tree


def _intern_in(node: Any, tree: Mapping[str, Any]) -> Any:
    """Intern the strings of ``node`` that ``tree`` names; return the node to store."""
    if not isinstance(node, dict):
        return node
    star = tree.get(_STAR)
    if star is _LEAF:
        # Every key and string value of this map (labels, a reference's fields).
        return {
            _intern(k) if isinstance(k, str) else k: _intern(v) if isinstance(v, str) else v
            for k, v in node.items()
        }
    if star is not None:
        for key, sub in node.items():
            node[key] = _intern_in(sub, star)
        return node
    for key, sub_tree in tree.items():
        value = node.get(key)
        if value is None:
            continue
        if sub_tree is _LEAF:
            if isinstance(value, str):
                node[key] = _intern(value)
        else:
            node[key] = _intern_in(value, sub_tree)
    return node


class RecordCodec:
    """Decodes one kind's list pages and watch events into its records."""

    def __init__(self, group: str, kind: str, *, slim: bool = True) -> None:
        self.shape: dict[str, Shape] = shape_for(group, kind) if slim else WHOLE
        name = "".join(part[:1].upper() + part[1:] for part in (kind or "Object").split("."))
        record = _typed(self.shape, name)
        page = _typed_dict(name + "List", {"metadata": Any, "items": list[record]})  # type: ignore[valid-type]
        event = _typed_dict(name + "Event", {"type": str, "object": record})
        self._page: msgspec.json.Decoder[Any] = msgspec.json.Decoder(page)
        self._event: msgspec.json.Decoder[Any] = msgspec.json.Decoder(event)
        self._generic: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
        self._tree = _path_tree(interned_for(group, kind))
        self._shared_paths = shared_for(group, kind) if slim else ()
        # Canonical copies of shared maps, by content; bounded, so that labels unique to
        # each object cannot grow it without limit (past the bound, maps are not shared).
        self._shared: dict[tuple[tuple[Any, Any], ...], dict[str, Any]] = {}

    def record(self, obj: JSONDict) -> JSONDict:
        """An already decoded object (from a write's answer, a test) as a record."""
        return self._finish(project(obj, self.shape))

    def _finish(self, obj: Any) -> JSONDict:
        if not isinstance(obj, dict):
            return {}
        # The last applied configuration is a whole copy of the object (which may be large
        # or sensitive): no reader wants it.
        annotations = (obj.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
        record: JSONDict = _intern_in(obj, self._tree)
        for path in self._shared_paths:
            self._share(record, path)
        return record

    def _share(self, record: JSONDict, path: Path) -> None:
        parent: Any = record
        for step in path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            return
        value = parent.get(path[-1])
        if not isinstance(value, dict) or not value:
            return
        try:
            key = tuple(value.items())
            canonical = self._shared.get(key)
        except TypeError:  # a value that is not hashable (a list): keep this copy
            return
        if canonical is not None:
            parent[path[-1]] = canonical
        elif len(self._shared) < MAX_SHARED:
            self._shared[key] = value

    def page(self, body: bytes) -> tuple[JSONDict, list[JSONDict]]:
        """A list page: its metadata (resourceVersion, continue) and its records."""
        try:
            decoded = self._page.decode(body)
        except msgspec.ValidationError:
            raw = self._generic.decode(body)
            if not isinstance(raw, dict):
                raise ValueError("a list answer that is not a JSON object") from None
            decoded = {
                "metadata": raw.get("metadata"),
                "items": [project(i, self.shape) for i in raw.get("items") or []],
            }
        except msgspec.DecodeError as exc:
            raise ValueError(f"a list answer that is not JSON: {exc}") from None
        meta = decoded.get("metadata")
        items = decoded.get("items") or []
        return (meta if isinstance(meta, dict) else {}), [self._finish(i) for i in items]

    def event(self, line: bytes) -> JSONDict:
        """One watch event; ERROR events keep their Status object whole."""
        try:
            decoded = self._event.decode(line)
        except msgspec.ValidationError:
            decoded = self._generic.decode(line)
            if not isinstance(decoded, dict):
                raise ValueError("a watch event that is not a JSON object") from None
            if decoded.get("type") != "ERROR":
                decoded["object"] = project(decoded.get("object"), self.shape)
            return decoded
        except msgspec.DecodeError as exc:
            raise ValueError(f"a watch event that is not JSON: {exc}") from None
        if decoded.get("type") == "ERROR":
            # A Status, not an object of this kind: decode it again, whole.
            return self._generic.decode(line)  # type: ignore[no-any-return]
        obj = decoded.get("object")
        if isinstance(obj, dict):
            decoded["object"] = self._finish(obj)
        return decoded  # type: ignore[no-any-return]
