"""Between the GraphQL layer and the planners: inputs in, plans out.

``to_dataclass`` turns a strawberry input object into the plain frozen dataclass a
planner takes, matching fields by (Python) name, so the planners in ``resolvers/writes``
never see strawberry. ``payload`` builds any payload from a ``resolvers.writes.plan.Plan``;
``planned_changes``, ``warnings`` and ``user_errors`` are its parts. Secret values in a
planned object read ``<redacted>`` (``redacted``): a plan is shown to the caller, logged
and audited, and Secret data must never appear in any of them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types.base import has_object_definition

from resolvers.writes import plan as plans
from schema.mutations.conventions import (
    MutationPayload,
    MutationWarning,
    PlanAction,
    PlannedChange,
    UserError,
    UserErrorCode,
    WarningCode,
)
from schema.scalars import JSON

D = TypeVar("D")
P = TypeVar("P", bound=MutationPayload)

# Fields every mutation input has that the pipeline, not the planner, handles.
PIPELINE_FIELDS = frozenset({"dry_run", "idempotency_key"})

REDACTED = "<redacted>"
_SECRET_VALUE_FIELDS = ("data", "stringData")


# ------------------------------------------------------------------- inputs in


def to_dataclass(value: object, target: type[D], *, ignore: Iterable[str] = PIPELINE_FIELDS) -> D:
    """``value`` (a strawberry input object) as an instance of the dataclass ``target``.

    Fields are matched by Python name (``from_`` for GraphQL ``from``), recursively for
    nested inputs and lists; enums become their GraphQL value names, JSON stays as it is,
    and a field the client left out (``strawberry.UNSET``) takes the dataclass default, as
    does an explicit null where the dataclass field does not admit None.
    An input field the dataclass lacks is an error, not silently dropped (except the
    ``ignore`` names, at the top level only): a planner must see all the user asked for.
    """
    if not dataclasses.is_dataclass(target):
        raise TypeError(f"{target.__name__} is not a dataclass")
    if not has_object_definition(value):
        raise TypeError(f"{type(value).__name__} is not a strawberry input object")
    hints = typing.get_type_hints(target)
    target_fields = {f.name: f for f in dataclasses.fields(target)}
    given = {f.name for f in dataclasses.fields(value)}  # type: ignore[arg-type]
    unknown = given - set(target_fields) - set(ignore)
    if unknown:
        raise TypeError(
            f"{target.__name__} has no field for {', '.join(sorted(unknown))} "
            f"of {type(value).__name__}"
        )
    kwargs: dict[str, Any] = {}
    for name, f in target_fields.items():
        raw = getattr(value, name, strawberry.UNSET) if name in given else strawberry.UNSET
        if raw is None and not _admits_none(hints[name]):
            # An explicit null where the planner takes no None (`isDefault: null` on an
            # input whose contract default is false) means the default, not a crash.
            raw = strawberry.UNSET
        if raw is strawberry.UNSET:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise TypeError(f"{target.__name__}.{name} has no default and was not given")
            continue
        kwargs[name] = _convert(raw, hints[name], where=f"{target.__name__}.{name}")
    return target(**kwargs)


def _admits_none(hint: Any) -> bool:
    if hint is Any or hint is None or hint is type(None):
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return type(None) in typing.get_args(hint)
    return False


def _strip_optional(hint: Any) -> list[Any]:
    """The non-None members of a union hint (the hint itself if it is no union)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return [a for a in typing.get_args(hint) if a is not type(None)]
    return [hint]


def _convert(value: Any, hint: Any, *, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Enum):
        return enum_value_name(value)
    candidates = _strip_optional(hint)
    if has_object_definition(value):
        target = next(
            (c for c in candidates if isinstance(c, type) and dataclasses.is_dataclass(c)), None
        )
        if target is None:
            raise TypeError(f"{where}: an input object needs a dataclass, not {hint!r}")
        return to_dataclass(value, target, ignore=())
    if isinstance(value, list):
        for candidate in candidates:
            origin = typing.get_origin(candidate)
            # Planner inputs declare lists as list, tuple or Sequence (admin inputs).
            if origin in (list, tuple, Sequence):
                args = typing.get_args(candidate)
                item = args[0] if args else Any
                items = [_convert(v, item, where=where) for v in value]
                return tuple(items) if origin is tuple else items
        return [_convert(v, Any, where=where) for v in value]
    return value


def enum_value_name(member: Enum) -> str:
    """The GraphQL name of a strawberry enum member (its Python name unless renamed)."""
    definition = getattr(type(member), "__strawberry_definition__", None)
    for value in getattr(definition, "values", ()):
        if value.value == member.value:
            return str(value.name)
    return member.name


# ------------------------------------------------------------------- plans out


def redacted(body: Mapping[str, Any] | None, *, kind: str, api_version: str) -> JSON | None:
    """A planned object as it may be shown: a Secret's values read ``<redacted>``, keys kept."""
    if body is None:
        return None
    shown = dict(body)
    is_secret = kind == "Secret" and api_version == "v1"
    if is_secret or (body.get("kind") == "Secret" and body.get("apiVersion") == "v1"):
        for name in _SECRET_VALUE_FIELDS:
            values = body.get(name)
            if isinstance(values, Mapping):
                shown[name] = dict.fromkeys(values, REDACTED)
            elif values is not None:
                shown[name] = REDACTED
    return JSON(shown)


def planned_changes(changes: Iterable[plans.Change]) -> list[PlannedChange]:
    return [
        PlannedChange(
            action=PlanAction(change.action),
            cluster=change.cluster,
            api_version=change.api_version,
            kind=change.kind,
            namespace=change.namespace,
            name=change.name,
            summary=change.summary,
            object=redacted(change.body, kind=change.kind, api_version=change.api_version),
        )
        for change in changes
    ]


def warnings(found: Iterable[plans.Warning]) -> list[MutationWarning]:
    return [MutationWarning(code=WarningCode(w.code), message=w.message) for w in found]


def user_errors(found: Iterable[plans.UserError]) -> list[UserError]:
    return [
        UserError(
            code=UserErrorCode(e.code),
            message=e.message,
            field=list(e.field) if e.field is not None else None,
        )
        for e in found
    ]


def payload(cls: type[P], plan: plans.Plan, **fields: Any) -> P:
    """A ``cls`` payload with the plan's changes, warnings and errors, and ``fields``."""
    return cls(
        plan=planned_changes(plan.changes),
        warnings=warnings(plan.warnings),
        user_errors=user_errors(plan.errors),
        **fields,
    )
