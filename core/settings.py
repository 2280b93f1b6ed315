"""Settings fields that carry their own command-line help.

Each concern has one frozen settings dataclass: ``kube.config.ConnectionSettings`` (pools
and deadlines towards the API servers), ``auth.gate.GateSettings`` (the door in front of
/graphql), ``gateway.limits.Limits`` (what one GraphQL document may ask for) and
``gateway.settings.Settings`` (what ``stashql serve`` runs with, holding the others).

A default is written once, on its field, with a comment saying why it is that value; the
``stashql`` command reads defaults and help texts from the fields (``cli/options.py``),
so the parser and the dataclasses can never disagree.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

HELP = "help"


def setting(default: T, *, help: str) -> T:
    """A dataclass field with ``default`` whose command-line help is ``help``."""
    field: T = dataclasses.field(default=default, metadata={HELP: help})
    return field


def _field(owner: type, name: str) -> dataclasses.Field[Any]:
    for f in dataclasses.fields(owner):
        if f.name == name:
            return f
    raise KeyError(f"{owner.__name__} has no setting {name!r}")


def default_of(owner: type, name: str) -> Any:
    """The default of ``owner.name`` (a settings dataclass's field)."""
    f = _field(owner, name)
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    if f.default is dataclasses.MISSING:
        raise KeyError(f"{owner.__name__}.{name} has no default")
    return f.default


def help_of(owner: type, name: str) -> str:
    """The help text of ``owner.name``, or "" when it has none."""
    text = _field(owner, name).metadata.get(HELP, "")
    return str(text)
